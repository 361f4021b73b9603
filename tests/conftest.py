"""Shared fixtures: one real database per test, SQLite file or PostgreSQL, built by Alembic.

PostgreSQL comes from ``TRACEFOOD_TEST_POSTGRESQL_URL`` (default: the local ``test`` database
with trust auth). Each test gets its own schema (``search_path``), so tests never see each
other's rows. If PostgreSQL is unreachable the PostgreSQL half is skipped, unless
``TRACEFOOD_REQUIRE_POSTGRESQL=1`` (set by ``.ci/run``), which turns the skip into a failure.

``VECTORS`` is ``tests/vectors``: byte-identical copies of the external test vectors the tests
read (GS1, OpenEPCIS, transparency-dev, ...), each source and licence named in its ``NOTICE``.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from tests.factories import World, build_world
from tracefood import schema
from tracefood.ledger import Ledger, db, merkle
from tracefood.ledger.keys import create_key

# The third-party test vectors travel with the tests (tests/vectors, sources in its NOTICE), so a
# fresh clone runs the suite with nothing beside it; tests/test_vectors.py keeps them byte-exact.
VECTORS = Path(__file__).resolve().parent / "vectors"
PG_URL = os.environ.get("TRACEFOOD_TEST_POSTGRESQL_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REQUIRE_PG = os.environ.get("TRACEFOOD_REQUIRE_POSTGRESQL") == "1"
ENGINES = ("sqlite", "postgresql")


def _postgres_available() -> str | None:
    try:
        engine = create_engine(PG_URL)
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # any failure to reach the server means "not available"
        return f"{type(exc).__name__}: {exc}".splitlines()[0]


_PG_PROBLEM: str | bool | None = False  # False: not probed yet


def _require_postgres() -> None:
    global _PG_PROBLEM
    if _PG_PROBLEM is False:
        _PG_PROBLEM = _postgres_available()
    if _PG_PROBLEM:
        if REQUIRE_PG:
            pytest.fail(f"PostgreSQL is required (TRACEFOOD_REQUIRE_POSTGRESQL=1) but unreachable: {_PG_PROBLEM}")
        pytest.skip(f"PostgreSQL unreachable: {_PG_PROBLEM}")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "engines(*names): run only on these database engines")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect (not skip) the engine variants a test's ``engines`` marker excludes."""
    kept, dropped = [], []
    for item in items:
        marker = item.get_closest_marker("engines")
        engine = getattr(getattr(item, "callspec", None), "params", {}).get("database")
        (dropped if marker and engine and engine not in marker.args else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def all_nodes(leaves: list[bytes]) -> dict[merkle.Coord, bytes]:
    """Every perfect node of the tree over ``leaves`` (level 0 included), as a store holds them."""
    found: dict[merkle.Coord, bytes] = {(0, i): leaf for i, leaf in enumerate(leaves)}
    frontier = merkle.Frontier()
    for leaf in leaves:
        found.update(((level, idx), h) for level, idx, h in frontier.append(leaf))
    return found


@dataclass
class Database:
    """A fresh, empty database: ``url`` for engines and subprocesses, ``kind`` for reports."""

    kind: str
    url: str

    def engine(self, **kwargs: object) -> Engine:
        return db.make_engine(self.url, **kwargs)  # type: ignore[arg-type]


@pytest.fixture(params=ENGINES)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty database (no schema yet) on each engine."""
    if request.param == "sqlite":
        yield Database("sqlite", f"sqlite:///{tmp_path / 'ledger.db'}")
        return
    _require_postgres()
    name = "t_" + secrets.token_hex(6)
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {name}"))
    url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={name}"})
    try:
        yield Database("postgresql", url.render_as_string(hide_password=False))
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {name} CASCADE"))
        admin.dispose()


@pytest.fixture
def migrated(database: Database) -> Iterator[Database]:
    """The database with ``alembic upgrade head`` applied."""
    engine = database.engine()
    schema.upgrade(engine)
    engine.dispose()
    yield database


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "ledger.key"
    create_key(path, "test.tracefood/ledger")
    return path


@pytest.fixture
def ledger(migrated: Database, key_file: Path) -> Iterator[Ledger]:
    """An empty ledger with a signing key, on each engine."""
    opened = Ledger.open(migrated.url, key_file=key_file)
    yield opened
    opened.close()


@pytest.fixture
def world(ledger: Ledger) -> World:
    """The test supply-chain world (tests/factories.py) on an empty ledger, on each engine;
    a test module may define its own ``world`` with events already recorded."""
    return build_world(ledger)
