"""A served app over a small registered world (tests.factories), on each engine."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from tests.conftest import Database
from tests.factories import World, build_world
from tracefood.ledger import Ledger
from tracefood.web import ledger_ext
from tracefood.web.app import create_app

LABEL_MASTER_KEY = base64.b64encode(bytes(range(32))).decode()


@pytest.fixture
def served(migrated: Database, key_file: Path, tmp_path: Path) -> Iterator[tuple[FlaskClient, World]]:
    """(test client, world with a token per party) on a fresh database."""
    ledger = Ledger.open(migrated.url, key_file=key_file)
    world = build_world(ledger, tokens=True)
    app = create_app(
        {
            "DATABASE_URL": migrated.url,
            "LEDGER_KEY_FILE": str(key_file),
            "SECRET_KEY": "t",
            "HOME": str(tmp_path),
            "LABEL_MASTER_KEY": LABEL_MASTER_KEY,
            "PUBLIC_URL": "http://localhost",
        }
    )
    yield app.test_client(), world
    ledger_ext.close(app)
    ledger.close()
