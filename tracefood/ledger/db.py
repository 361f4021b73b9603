"""Engines and transactions: every SQLite/PostgreSQL difference of the ledger lives here.

Appends must be serialised or two writers read the same head and fork the chain. Measured
(DESIGN.md): PostgreSQL needs READ COMMITTED plus ``pg_advisory_xact_lock`` (REPEATABLE READ
reads a stale head); SQLite needs WAL and ``BEGIN IMMEDIATE`` (pysqlite's own deferred
transactions let writers interleave). Reads that compute proofs run in one snapshot:
REPEATABLE READ on PostgreSQL, a deferred transaction in WAL mode on SQLite.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final, TypeVar

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: SQLite's busy handler alone
    fcntl = None  # type: ignore[assignment]

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from tracefood.errors import InvalidParameter, NotInitialised

# One advisory lock per ledger database: a stable 63-bit number.
LOCK_KEY = int.from_bytes(hashlib.sha256(b"tracefood-ledger-append").digest()[:8], "big") >> 1

SQLITE_SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")
COPY_THRESHOLD = 50

IN_CHUNK: Final = 500
"""Values per ``IN (...)`` list. Each value is one bound parameter, and SQLite builds before
3.32 refuse a statement with more than 999 of them (SQLITE_MAX_VARIABLE_NUMBER); 500 leaves
room for the statement's other parameters and keeps PostgreSQL's plans for the list cheap."""

T = TypeVar("T")


def chunks(values: Sequence[T], size: int = IN_CHUNK) -> Iterator[Sequence[T]]:
    """``values`` in consecutive slices of at most ``size``, for one ``IN (...)`` statement each
    (none for an empty sequence). A slice of a list is a list, of a tuple a tuple."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def make_engine(url: str, *, sqlite_synchronous: str = "FULL", **kwargs: Any) -> Engine:
    """Create an engine configured for ledger work on SQLite or PostgreSQL."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise InvalidParameter("TRACEFOOD_DATABASE_URL", f"not a database URL: {exc}") from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        sync = sqlite_synchronous.upper()
        if sync not in SQLITE_SYNCHRONOUS:
            raise InvalidParameter("TRACEFOOD_SQLITE_SYNCHRONOUS", f"must be one of {SQLITE_SYNCHRONOUS}")
        if parsed.database and parsed.database != ":memory:":
            _private_file(Path(parsed.database).expanduser())
        engine = create_engine(parsed, **kwargs)
        _configure_sqlite(engine, sync)
        return engine
    if backend == "postgresql":
        # No pre-ping: it costs a round trip on every checkout (a fifth of a proof's latency).
        # After a server restart SQLAlchemy invalidates the whole pool on the first failed
        # statement, so one request fails (503) and the next ones reconnect.
        return create_engine(parsed, **kwargs)
    raise InvalidParameter("TRACEFOOD_DATABASE_URL", f"unsupported database {backend!r}: use sqlite or postgresql")


def _private_file(path: Path) -> None:
    """Create the database file empty with mode 0600 (its folder 0700 if made here) before
    SQLite opens it: SQLite would make it 0644, and its -wal and -shm files take its mode. The
    ledger database holds contacts, token hashes and sealed keys."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))  # no O_TRUNC: a racing worker's file stays


def _configure_sqlite(engine: Engine, synchronous: str) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (below)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA busy_timeout = 60000")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute(f"PRAGMA synchronous = {synchronous}")
        # A 1,000-entry batch dirties ~1,000 pages of the random-keyed entry-id index; with
        # SQLite's default (checkpoint every 1,000 WAL pages) nearly every batch paid for a
        # checkpoint. 16,000 pages (64 MiB of WAL) measured +20% batched appends at 4x10^5.
        cur.execute("PRAGMA wal_autocheckpoint = 16000")
        cur.execute("PRAGMA cache_size = -65536")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("tracefood_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def is_postgresql(conn_or_engine: Connection | Engine) -> bool:
    return conn_or_engine.dialect.name == "postgresql"


_LOCAL_WRITERS: dict[str, threading.Lock] = {}
_LOCAL_WRITERS_GUARD = threading.Lock()


def _local_writer_lock(engine: Engine) -> threading.Lock:
    key = str(engine.url.database)
    with _LOCAL_WRITERS_GUARD:
        return _LOCAL_WRITERS.setdefault(key, threading.Lock())


@contextmanager
def _sqlite_writer(engine: Engine) -> Iterator[None]:
    """Queue SQLite writers on locks that wake the next one at once.

    SQLite's own busy handler retries ``BEGIN IMMEDIATE`` after sleeps that grow to 100 ms;
    with two server processes appending, a writer slept through most of the other's commits
    (measured: single-event HTTP p95 94 ms, a third of a worker's time in BEGIN). Threads of one
    process queue on a lock; processes queue on an exclusive ``flock`` of ``<database>-writer``
    (POSIX). BEGIN IMMEDIATE then normally finds the database free; the busy handler remains
    the fallback for writers that do not take these locks.
    """
    database = engine.url.database
    with _local_writer_lock(engine):
        if fcntl is None or not database or database == ":memory:":
            yield
            return
        fd = os.open(f"{database}-writer", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the flock


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """One serialised write transaction: commits on success, rolls back on any exception."""
    if not is_postgresql(engine):
        with _sqlite_writer(engine), _write(engine) as conn:
            yield conn
        return
    with _write(engine) as conn:
        yield conn


@contextmanager
def _write(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn:
        # READ COMMITTED explicitly: under a server default of REPEATABLE READ the snapshot
        # would predate the advisory lock and writers would read a stale head.
        level = {"isolation_level": "READ COMMITTED"} if is_postgresql(conn) else {}
        conn.execution_options(tracefood_write=True, **level)
        with conn.begin():
            if is_postgresql(conn):
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_KEY})
            yield conn


@contextmanager
def read_snapshot(engine: Engine, *, single_statement: bool = False) -> Iterator[Connection]:
    """A read-only transaction that sees one consistent snapshot of the ledger.

    ``single_statement``: the caller's consistent read is one SQL statement, which is its own
    snapshot on PostgreSQL, so no BEGIN/ROLLBACK round trips are spent (proofs at a stated
    size: a third of their latency).
    """
    with engine.connect() as conn:
        if is_postgresql(conn):
            conn.execution_options(isolation_level="AUTOCOMMIT" if single_statement else "REPEATABLE READ")
        trans = conn.begin()
        try:
            yield conn
        finally:
            # Never commit reads: rolling back ends the snapshot without side effects.
            trans.rollback()


def insert_many(conn: Connection, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
    """executemany through the driver: the append path's rows are already plain ints/bytes/str,
    so SQLAlchemy's per-value type processing is pure overhead (a third of an append batch)."""
    if not rows:
        return
    if is_postgresql(conn) and len(rows) >= COPY_THRESHOLD:
        # COPY streams rows in one command: measured 3x fewer seconds than a pipelined
        # executemany for a 1,000-event batch's ~5,000 projection rows.
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        finally:
            cursor.close()
        return
    mark = "%s" if is_postgresql(conn) else "?"
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"
    conn.exec_driver_sql(sql, list(rows))


def require_schema(conn: Connection) -> None:
    """Raise :class:`NotInitialised` unless the ledger tables exist."""
    if not inspect(conn).has_table("ledger_entries"):
        raise NotInitialised("the database has no ledger yet: run `tracefood init`")
