"""Run the Alembic migrations from code (``tracefood init``, tests, CI's ``alembic check``).

The migrations folder is ``migrations/`` in the source tree and is installed as the package
``tracefood._migrations``; :func:`script_location` finds whichever is present.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine


def script_location() -> str:
    spec = importlib.util.find_spec("tracefood._migrations")
    if spec is not None and spec.submodule_search_locations:
        return str(next(iter(spec.submodule_search_locations)))
    source = Path(__file__).resolve().parent.parent / "migrations"
    if (source / "env.py").is_file():
        return str(source)
    raise RuntimeError("TraceFood's migrations folder is missing from this installation")


def _config(connection: object) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", script_location())
    cfg.attributes["connection"] = connection
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    with engine.begin() as conn:
        command.upgrade(_config(conn), revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    with engine.begin() as conn:
        command.downgrade(_config(conn), revision)


def check(engine: Engine) -> None:
    """Raise if the models and the migrations disagree (``alembic check``)."""
    with engine.begin() as conn:
        command.check(_config(conn))


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    cfg = Config()
    cfg.set_main_option("script_location", script_location())
    return ScriptDirectory.from_config(cfg).get_current_head()
