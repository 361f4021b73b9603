"""Group commit: concurrent writers share one transaction, each in a savepoint, on both engines."""

from __future__ import annotations

import threading
import time
from typing import Any

from sqlalchemy import event

from tests.factories import World, harvest, ship
from tracefood.chain.rebuild import rebuild
from tracefood.errors import InvalidEntry
from tracefood.ledger import Write
from tracefood.ledger.group_commit import group_for


def test_group_commit__queued_jobs_share_one_commit_and_fail_alone(world: World) -> None:
    """One job holds the leader's batch open; five requests queue behind it and then run as the
    next batch: one commit for all five, and the one that fails fails alone."""
    commits: list[int] = []
    event.listen(world.ledger.engine, "commit", lambda conn: commits.append(1))
    shared = group_for(world.ledger.engine, world.ledger._transaction)  # the group Ledger.write uses
    gate = threading.Event()
    results: dict[Any, Any] = {}

    def hold(w: Write) -> str:
        assert gate.wait(10)
        return "held"

    def job(i: int) -> None:
        try:
            # job 3 fails under the lock, inside its savepoint: it ships a lot nobody recorded
            event_ = ship(lot="NEVER") if i == 3 else harvest(lot=f"G{i}")
            results[i] = world.store.record(event_, world.actor("farm-a"))
        except InvalidEntry as exc:
            results[i] = exc

    holder = threading.Thread(target=lambda: results.__setitem__("hold", shared.run(hold)))
    holder.start()
    time.sleep(0.2)  # the holder leads a batch and waits inside it
    others = [threading.Thread(target=job, args=(i,)) for i in range(1, 6)]
    for t in others:
        t.start()
    deadline = time.monotonic() + 10
    while len(shared._queue) < 5 and time.monotonic() < deadline:  # all five are queued
        time.sleep(0.01)
    gate.set()
    for t in [holder, *others]:
        t.join()
    assert results["hold"] == "held"
    assert isinstance(results[3], InvalidEntry) and "unknown lot" in str(results[3].errors)
    assert [i for i in (1, 2, 4, 5) if isinstance(results[i], list)] == [1, 2, 4, 5]
    assert len(commits) == 2  # the holder's batch, then the four requests together
    assert world.ledger.size() == 4
    assert world.ledger.verify().ok
    assert rebuild(world.ledger.engine).ok


def test_group_commit__concurrent_requests_all_land_once(world: World) -> None:
    errors: list[BaseException] = []

    def worker(w: int) -> None:
        try:
            for i in range(15):
                lot = f"W{w}-{i}"
                world.record("farm-a", harvest(lot=lot))
                world.record("farm-a", ship(lot=lot, qty="40", number=f"B{w}-{i}"))
                world.record("farm-a", harvest(lot=lot))  # a retry: the existing receipt
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert world.ledger.size() == 6 * 15 * 2
    assert world.ledger.verify().ok
    assert rebuild(world.ledger.engine).ok
