"""Group commit: concurrent writers of one process share a transaction, each in a savepoint.

Every append must hold the ledger's write lock until its transaction is durable (one fsync with
SQLite's ``synchronous=FULL``, one WAL flush on PostgreSQL), so single-event requests are bound
by the commit, not by their work. Here the first thread to arrive becomes the leader: it takes
every job queued so far (its own included), runs each in a SAVEPOINT of one write transaction,
and commits once. A job that fails rolls back to its savepoint and gets its own error; the
others are unaffected. Results are handed out only after the commit, so a receipt is never
returned for something that did not land. Followers wait for the leader and, if their job was
not in its batch, lead the next one.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import Engine

T = TypeVar("T")
MAX_JOBS = 64


class Unit(Protocol):
    """A write transaction jobs run in (``append.Write``): each job in a savepoint of it."""

    def savepoint(self) -> AbstractContextManager[None]: ...


U = TypeVar("U", bound=Unit)


@dataclass
class _Job(Generic[U, T]):
    work: Callable[[U], T]
    result: T | None = None
    error: BaseException | None = None
    done: bool = False


class GroupCommit(Generic[U]):
    def __init__(self, begin: Callable[[], AbstractContextManager[U]]) -> None:
        # A weak reference when ``begin`` is a bound method (Ledger._transaction): the registry
        # of groups is keyed weakly by engine, and a strong reference back would keep it alive.
        self._begin: Callable[[], Callable[[], AbstractContextManager[U]] | None]
        if hasattr(begin, "__self__"):
            self._begin = weakref.WeakMethod(begin)
        else:
            self._begin = lambda: begin
        self._leader = threading.Lock()
        self._queue_lock = threading.Lock()
        self._queue: list[_Job[U, Any]] = []

    def run(self, work: Callable[[U], T]) -> T:
        """Run ``work(unit)`` inside a write transaction (possibly shared) and return its result
        once that transaction has committed; re-raise what ``work`` or the commit raised."""
        job: _Job[U, T] = _Job(work)
        with self._queue_lock:
            self._queue.append(job)
        while not job.done:
            with self._leader:
                if job.done:
                    break
                with self._queue_lock:
                    batch, self._queue = self._queue[:MAX_JOBS], self._queue[MAX_JOBS:]
                self._run(batch)
        if job.error is not None:
            raise job.error
        return job.result  # type: ignore[return-value]

    def _run(self, batch: list[_Job[U, Any]]) -> None:
        begin = self._begin()
        try:
            if begin is None:
                raise RuntimeError("the ledger of this group commit was closed")
            with begin() as unit:
                for job in batch:
                    try:
                        with unit.savepoint():
                            job.result = job.work(unit)
                    except Exception as exc:  # the job's own failure: its savepoint is rolled back
                        job.error = exc
        except BaseException as exc:  # the transaction itself failed: nothing landed
            for job in batch:
                if job.error is None:
                    job.result, job.error = None, exc
            if not isinstance(exc, Exception):
                raise
        finally:
            for job in batch:
                job.done = True


_GROUPS: weakref.WeakKeyDictionary[Engine, GroupCommit[Any]] = weakref.WeakKeyDictionary()
_GROUPS_LOCK = threading.Lock()


def group_for(engine: Engine, begin: Callable[[], AbstractContextManager[U]]) -> GroupCommit[U]:
    """The process-wide group committer of one database."""
    with _GROUPS_LOCK:
        found = _GROUPS.get(engine)
        if found is None:
            found = _GROUPS[engine] = GroupCommit(begin)
        return found
