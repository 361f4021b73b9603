"""Recalls opened at the same time (issue 12): eight recalls by one officer at once all succeed,
with eight distinct ids R-YYYY-NNNN taken under the ledger's write lock (they were read before
it, so most of them answered 409 "try again"). Real SQLite file and PostgreSQL ledgers."""

from __future__ import annotations

import re
import threading
from typing import Any

from tests.factories import World, gtin, harvest
from tracefood.chain import recalls
from tracefood.chain.tables import recall_lots
from tracefood.chain.tables import recalls as recall_rows
from tracefood.epcis.gs1_keys import lot_uri
from tracefood.ledger import db

ROMAINE = gtin("0754000100011")
THREADS = 8


def test_issue__eight_at_once_all_succeed_with_distinct_ids(world: World) -> None:
    for n in range(THREADS):
        world.record("farm-a", harvest(f"C{n}", "10"))
    officer = world.actor("agency", "recall_officer")
    start = threading.Barrier(THREADS)
    results: dict[int, Any] = {}

    def open_one(n: int) -> None:
        body = {"seeds": {"lots": [lot_uri(ROMAINE, f"C{n}")]}, "class": "II", "reason": f"at once {n}"}
        start.wait()
        try:
            results[n] = recalls.issue(world.ledger, body, officer)
        except Exception as exc:
            results[n] = exc

    threads = [threading.Thread(target=open_one, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    failures = {n: r for n, r in results.items() if isinstance(r, Exception)}
    assert not failures, failures
    assert len(results) == THREADS
    ids = {r["id"] for r in results.values()}
    assert len(ids) == THREADS and all(re.fullmatch(r"R-\d{4}-\d{4}", i) for i in ids), ids
    for n, made in results.items():  # each recall is its own, with its own lot and event
        assert made["reason"] == f"at once {n}" and [lot["id"] for lot in made["lots"]] == [lot_uri(ROMAINE, f"C{n}")]
    assert len({r["ledger_seq"] for r in results.values()}) == THREADS
    with db.read_snapshot(world.ledger.engine) as conn:
        assert {r[0] for r in conn.execute(recall_rows.select().with_only_columns(recall_rows.c.id))} == ids
        assert conn.execute(recall_lots.select()).fetchall().__len__() == THREADS
    # the ids are the year's sequence, no gap
    year = next(iter(ids))[2:6]
    assert ids == {f"R-{year}-{k:04d}" for k in range(1, THREADS + 1)}
