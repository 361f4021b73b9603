"""Fixtures shared by the ledger tests (the database and ledger fixtures are in tests/conftest.py)."""

from __future__ import annotations

import pytest

from tests.factories import World, build_world
from tracefood.ledger import Ledger


@pytest.fixture
def world(ledger: Ledger) -> World:
    """The test supply-chain world (tests/factories.py) on an empty ledger, on each engine;
    a test module may define its own ``world`` with events already recorded."""
    return build_world(ledger)
