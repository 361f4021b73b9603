"""Alembic environment: runs on a connection handed over by tracefood.schema, or on the
configured TRACEFOOD_DATABASE_URL when `alembic` is run by hand."""

from __future__ import annotations

from alembic import context

from tracefood import config as tf_config
from tracefood.chain import tables  # noqa: F401  (registers the registry and projection tables)
from tracefood.ledger import db
from tracefood.ledger.models import Base

target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    settings = tf_config.load_settings()
    engine = db.make_engine(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported: the triggers differ per engine")
run_migrations_online()
