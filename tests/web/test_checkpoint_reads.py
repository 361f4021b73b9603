"""A public GET never writes (CONVENTIONS 18): the checkpoint route and the label scan page only
read the latest stored checkpoint, and every write that grows the tree has signed one that
covers it by the time it returns. Both engines."""

from __future__ import annotations

import threading

from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests.factories import World, harvest
from tests.labelkit import ROMAINE
from tracefood.ledger.models import checkpoints
from tracefood.ledger.note import open_checkpoint

SCAN = f"/01/{ROMAINE}/10/A1"


def stored_checkpoints(world: World) -> int:
    with world.ledger.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(checkpoints)).scalar_one())


def read_all(client: FlaskClient) -> tuple[int, int]:
    """(size of the served checkpoint, size of the scan page's checkpoint)."""
    note = client.get("/api/v1/ledger/checkpoint")
    assert note.status_code == 200, note.get_data(as_text=True)
    page = client.get(SCAN, headers={"Accept": "application/json"})
    assert page.status_code == 200, page.get_data(as_text=True)
    size = int(note.get_data(as_text=True).split("\n")[1])
    return size, int(page.get_json()["checkpoint"]["size"])


def test_checkpoint_reads__gets_add_no_checkpoint_and_see_every_append(served: tuple[FlaskClient, World]) -> None:
    client, world = served
    world.record("farm-a", harvest("A1", "100"))
    before = stored_checkpoints(world)
    for day in range(2, 6):
        for _ in range(5):
            served_size, page_size = read_all(client)
            assert served_size == page_size == world.ledger.size()  # the append covered itself
        world.record("farm-a", harvest(f"B{day}", "10", day=day))
    assert read_all(client) == (world.ledger.size(), world.ledger.size())
    assert stored_checkpoints(world) == before + 4  # one per growing write, none per GET
    signed = world.ledger.latest_checkpoint()
    assert signed is not None
    assert open_checkpoint(signed.note, world.ledger.verifier).root == world.ledger.root()[1]


def test_checkpoint_reads__gets_during_concurrent_appends_write_nothing(served: tuple[FlaskClient, World]) -> None:
    client, world = served
    world.record("farm-a", harvest("A1", "100"))
    before = stored_checkpoints(world)
    done = threading.Event()
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            for day in range(2, 12):
                world.record("farm-a", harvest(f"C{day}", "10", day=day))
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    reads = 0
    while not done.is_set() or reads < 10:
        served_size, page_size = read_all(client)
        assert 1 <= served_size <= world.ledger.size() and page_size >= 1
        reads += 1
    thread.join()
    assert not errors
    # Each of the ten writes signed once, the GETs signed nothing, and the last checkpoint
    # covers the whole tree.
    assert stored_checkpoints(world) == before + 10
    assert read_all(client) == (world.ledger.size(), world.ledger.size())
