"""The ledger as a Flask extension: opened once per app, lazily, from the app's settings."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from flask import Flask, current_app

from tracefood.errors import TraceFoodError
from tracefood.labels.store import LabelKeys, load_master
from tracefood.ledger import Ledger, tree
from tracefood.ledger import db as ledger_db

_KEY = "tracefood.ledger"


def init_app(app: Flask) -> None:
    app.extensions[_KEY] = {"ledger": None, "lock": threading.Lock(), "label_keys": None}

    @app.teardown_appcontext
    def _noop(_exc: BaseException | None) -> None:  # connections are returned per call
        return None


def get_ledger() -> Ledger:
    """The app's ledger; raises NotInitialised / LedgerKeyError with advice if unusable."""
    state = current_app.extensions[_KEY]
    if state["ledger"] is None:
        with state["lock"]:
            if state["ledger"] is None:
                s = current_app.config["TRACEFOOD"]
                # Entries and proofs need no key: without one, only the routes that sign
                # or publish the key answer 503 ("run tracefood init").
                key_file = s["LEDGER_KEY_FILE"] if Path(s["LEDGER_KEY_FILE"]).exists() else None
                state["ledger"] = Ledger.open(
                    s["DATABASE_URL"],
                    key_file=key_file,
                    sqlite_synchronous=s["SQLITE_SYNCHRONOUS"],
                )
    ledger: Ledger = state["ledger"]
    return ledger


def get_label_keys() -> LabelKeys:
    """The parties' label keys, unsealed with the instance's master key (503 with advice if
    there is none: ``tracefood init`` creates it)."""
    state = current_app.extensions[_KEY]
    if state["label_keys"] is None:
        ledger = get_ledger()
        s = current_app.config["TRACEFOOD"]
        master = load_master(s["LABEL_MASTER_KEY"], Path(s["LABEL_MASTER_KEY_FILE"]))
        with state["lock"]:
            if state["label_keys"] is None:
                state["label_keys"] = LabelKeys(ledger.engine, master)
    keys: LabelKeys = state["label_keys"]
    return keys


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
    state = app.extensions[_KEY]
    if state["ledger"] is not None:
        state["ledger"].close()
        state["ledger"] = None
