"""Alembic builds the schema on both engines; models and migrations agree; down and up again."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import DatabaseError

from tests.conftest import Database
from tracefood import schema
from tracefood.ledger.models import APPEND_ONLY_TABLES


def test_migrations__upgrade_downgrade_upgrade_and_check(database: Database) -> None:
    engine = database.engine()
    try:
        schema.upgrade(engine)
        assert schema.current_revision(engine) == schema.head_revision()
        schema.check(engine)  # raises if autogenerate would find a difference
        schema.downgrade(engine)
        assert schema.current_revision(engine) is None
        with engine.connect() as conn:
            assert not set(APPEND_ONLY_TABLES) & set(inspect(conn).get_table_names())
        schema.upgrade(engine)
        schema.check(engine)
        # the triggers are back after the round trip
        with pytest.raises(DatabaseError, match="append-only"), engine.begin() as conn:
            conn.execute(text("INSERT INTO ledger_nodes (id, hash) VALUES (1, :h)"), {"h": b"x" * 32})
            conn.execute(text("DELETE FROM ledger_nodes"))
    finally:
        engine.dispose()
