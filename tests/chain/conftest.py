"""Fixtures shared by the chain tests."""

from __future__ import annotations

import pytest

from tests.factories import World, harvest, receive, ship


@pytest.fixture
def shipped(world: World) -> World:
    """farm-a harvested 800 of A1 and shipped 300 of it to the packer, who received it."""
    world.record("farm-a", harvest("A1", "800"))
    world.record("farm-a", ship("A1", "300"))
    world.record("packer", receive("A1", "300"))
    return world
