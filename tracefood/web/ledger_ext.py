"""The instance as a Flask extension: one :class:`~tracefood.instance.Instance` per app.

The routes ask for what they need through the functions below (thin adapters over the
instance kept in ``app.extensions``); the instance opens the ledger and the label keys
lazily, once per app, by the same rules as the CLI.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app

from tracefood.config import Settings
from tracefood.errors import TraceFoodError
from tracefood.instance import Instance
from tracefood.labels.keystore import LabelKeys
from tracefood.ledger import Ledger, tree
from tracefood.ledger import db as ledger_db

_KEY = "tracefood"


def init_app(app: Flask, instance: Instance) -> None:
    app.extensions[_KEY] = instance


def get_instance() -> Instance:
    instance: Instance = current_app.extensions[_KEY]
    return instance


def get_settings() -> Settings:
    """The app's checked settings (``get_settings().trust_list_hours``...)."""
    return get_instance().settings


def get_ledger() -> Ledger:
    """The app's ledger; raises NotInitialised / LedgerKeyError with advice if unusable.

    Entries and proofs need no key: without one, only the routes that sign or publish the
    key answer 503 ("run tracefood init")."""
    return get_instance().ledger


def get_label_keys() -> LabelKeys:
    """The parties' label keys, unsealed with the instance's master key (503 with advice if
    there is none: ``tracefood init`` creates it)."""
    return get_instance().label_keys


def health() -> dict[str, Any]:
    try:
        ledger = get_ledger()
        with ledger_db.read_snapshot(ledger.engine) as conn:
            size = tree.size(conn)
    except TraceFoodError as exc:
        return {"status": "unavailable", "detail": exc.detail}
    except Exception as exc:  # health checks report, they do not crash
        return {"status": "unavailable", "detail": type(exc).__name__}
    return {"status": "ok", "ledger_size": size}


def close(app: Flask) -> None:
    """Dispose of the app's database connections (tests, shutdown)."""
    instance: Instance = app.extensions[_KEY]
    instance.close()
