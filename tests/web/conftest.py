"""A served app over a small registered world (tests.factories), on each engine."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import Database
from tests.factories import World, build_world
from tracefood.ledger import Ledger
from tracefood.web import ledger_ext
from tracefood.web.app import create_app

LABEL_MASTER_KEY = base64.b64encode(bytes(range(32))).decode()


@pytest.fixture
def web_world(migrated: Database, key_file: Path) -> Iterator[World]:
    """The world (a token per party) on a fresh database, for an app built with :func:`make_app`."""
    ledger = Ledger.open(migrated.url, key_file=key_file)
    yield build_world(ledger, tokens=True)
    ledger.close()


@pytest.fixture
def make_app(migrated: Database, key_file: Path, tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    """``make_app(**settings)``: the app on the test's database, with these settings on top of
    the test defaults (e.g. ``AUTH_RATE_LIMIT="3 per minute"``); closed after the test."""
    made: list[Flask] = []

    def make(**settings: str) -> Flask:
        base = {
            "DATABASE_URL": migrated.url,
            "LEDGER_KEY_FILE": str(key_file),
            "SECRET_KEY": "t",
            "HOME": str(tmp_path),
            "LABEL_MASTER_KEY": LABEL_MASTER_KEY,
            "PUBLIC_URL": "http://localhost",
        }
        made.append(create_app(base | settings))
        return made[-1]

    yield make
    for app in made:
        ledger_ext.close(app)


@pytest.fixture
def served(web_world: World, make_app: Callable[..., Flask]) -> tuple[FlaskClient, World]:
    """(test client, world with a token per party) on a fresh database."""
    return make_app().test_client(), web_world
