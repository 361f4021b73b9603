"""A full disk answers 507 Insufficient Storage, says so, and writes nothing (issue 12).

SQLite is filled for real: ``PRAGMA max_page_count`` on the app's connections caps the database
a few pages above its size, and (as root) a 2 MiB tmpfs holds the whole TRACEFOOD_HOME and is
filled with a file. PostgreSQL's disk cannot be filled from a test, so a trigger makes the
server itself raise its ``disk_full`` error (SQLSTATE 53100) on the ledger's insert: the same
error, from the real server, on the same path. Either way: 507 problem+json, the ledger unchanged
(size, checkpoint, a clean verify), GET /api/v1/ledger/checkpoint never 500, and once space is
back the same batch is recorded.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, event, text, update

from tests.conftest import Database
from tests.factories import World, build_world, epcis_document, harvest
from tests.web.conftest import LABEL_MASTER_KEY
from tests.web.test_pages import sign_in
from tracefood import schema
from tracefood.chain.tables import web_sessions
from tracefood.ledger import Ledger
from tracefood.ledger import db as ledger_db
from tracefood.ledger.keys import ensure_key
from tracefood.web import ledger_ext
from tracefood.web.app import create_app

PROBLEM = "application/problem+json"
BATCH = 300  # harvests: far more than a few free pages hold


def open_app(url: str, key_file: Path, home: Path) -> Flask:
    return create_app(
        {
            "DATABASE_URL": url,
            "LEDGER_KEY_FILE": str(key_file),
            "SECRET_KEY": "t",
            "HOME": str(home),
            "LABEL_MASTER_KEY": LABEL_MASTER_KEY,
        }
    )


def app_engine(app: Flask) -> Engine:
    return app.extensions["tracefood"].ledger.engine  # type: ignore[no-any-return]


def cap_sqlite(engine: Engine, extra_pages: int = 2) -> Callable[[], None]:
    """Cap the SQLite file at its size plus ``extra_pages`` on every connection; returns undo."""
    with engine.connect() as conn:
        limit = int(conn.execute(text("PRAGMA page_count")).scalar_one()) + extra_pages

    def cap(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.execute(f"PRAGMA max_page_count = {limit}")

    event.listen(engine, "connect", cap)
    engine.dispose()  # every connection from now on is capped

    def undo() -> None:
        event.remove(engine, "connect", cap)
        engine.dispose()

    return undo


def fill_postgresql(engine: Engine) -> Callable[[], None]:
    """The server raises disk_full (53100) on any insert into the ledger; returns undo."""
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE FUNCTION disk_full() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = 'disk_full'; "
                "END $$"
            )
        )
        conn.execute(
            text("CREATE TRIGGER disk_full BEFORE INSERT ON ledger_entries FOR EACH ROW EXECUTE FUNCTION disk_full()")
        )

    def undo() -> None:
        with engine.begin() as conn:
            conn.execute(text("DROP TRIGGER disk_full ON ledger_entries"))
            conn.execute(text("DROP FUNCTION disk_full()"))

    return undo


def batch(prefix: str) -> list[dict[str, Any]]:
    return [harvest(lot=f"{prefix}{i:05d}", qty="1") for i in range(BATCH)]


def capture_document(world: World, prefix: str) -> dict[str, Any]:
    where = world.registry.get("location", "packhouse")["uri"]
    gtin = world.registry.get("product", "romaine")["gtin"]
    return epcis_document(
        *(
            {
                "type": "ObjectEvent",
                "eventTime": "2026-08-01T08:00:00-04:00",
                "eventTimeZoneOffset": "-04:00",
                "action": "ADD",
                "bizStep": "commissioning",
                "readPoint": {"id": where},
                "bizLocation": {"id": where},
                "quantityList": [
                    {"epcClass": f"https://id.gs1.org/01/{gtin}/10/{prefix}{i:05d}", "quantity": 1, "uom": "KGM"}
                ],
            }
            for i in range(BATCH)
        )
    )


def state(client: FlaskClient, ledger: Ledger) -> tuple[int, str]:
    checkpoint = client.get("/api/v1/ledger/checkpoint")
    assert checkpoint.status_code == 200, checkpoint.get_data(as_text=True)
    return ledger.size(), checkpoint.get_data(as_text=True)


def assert_full(response: Any) -> None:
    __tracebackhide__ = True
    assert response.status_code == 507, response.get_data(as_text=True)[:500]
    assert response.mimetype == PROBLEM
    problem = response.get_json()
    assert problem["status"] == 507 and problem["type"].endswith("/storage-full")
    assert "storage is full" in problem["detail"] and "nothing was written" in problem["detail"]


def check_refused_then_recorded(app: Flask, world: World, fill: Callable[[], Callable[[], None]]) -> None:
    client, browser = app.test_client(), app.test_client()
    farm, packer = world.bearer("farm-a"), world.bearer("packer")
    assert sign_in(browser, world.tokens["farm-a"]).status_code == 303
    with world.ledger.engine.begin() as conn:  # the session is due to be noted as seen
        conn.execute(update(web_sessions).values(last_seen_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)))
    before = state(client, world.ledger)
    undo = fill()
    try:
        assert browser.get("/lots").status_code == 200  # a signed-in page is a read: it goes on
        assert_full(client.post("/api/v1/events", json=batch("FULL"), headers=farm))
        assert_full(client.post("/epcis/capture", json=capture_document(world, "CAP"), headers=packer))
        for _ in range(3):  # reads go on, and never answer 500
            assert client.get("/api/v1/ledger/checkpoint").status_code == 200
            assert client.get("/healthz").status_code == 200
    finally:
        undo()
    assert state(client, world.ledger) == before
    report = world.ledger.verify()
    assert report.ok, report.to_json()
    assert client.post("/api/v1/events", json=batch("FULL"), headers=farm).status_code == 201
    assert world.ledger.size() == before[0] + BATCH


@pytest.fixture
def served_world(migrated: Database, key_file: Path, tmp_path: Path) -> Iterator[tuple[Flask, World, Database]]:
    ledger = Ledger.open(migrated.url, key_file=key_file)
    world = build_world(ledger, tokens=True)
    ledger.checkpoints.sign()
    app = open_app(migrated.url, key_file, tmp_path)
    yield app, world, migrated
    ledger_ext.close(app)
    ledger.close()


def test_disk_full__a_batch_that_does_not_fit_answers_507(served_world: tuple[Flask, World, Database]) -> None:
    app, world, database = served_world
    engine = app_engine(app)
    if database.kind == "sqlite":
        check_refused_then_recorded(app, world, lambda: cap_sqlite(engine))
    else:
        check_refused_then_recorded(app, world, lambda: fill_postgresql(world.ledger.engine))


@pytest.fixture
def tmpfs_home(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", str(home)], check=True)
    try:
        yield home
    finally:
        subprocess.run(["umount", str(home)], check=True)


def test_disk_full__a_full_filesystem_under_sqlite_answers_507(tmpfs_home: Path) -> None:
    url = f"sqlite:///{tmpfs_home / 'tracefood.db'}"
    key_file = tmpfs_home / "ledger.key"
    engine = ledger_db.make_engine(url)
    schema.upgrade(engine)
    engine.dispose()
    ensure_key(key_file, "test.localhost/ledger")
    ledger = Ledger.open(url, key_file=key_file)
    world = build_world(ledger, tokens=True)
    ledger.checkpoints.sign()
    app = open_app(url, key_file, tmpfs_home)
    filler = tmpfs_home / "filler"

    def fill() -> Callable[[], None]:
        app.test_client().get("/api/v1/ledger/checkpoint")  # the app's connection is open (-wal, -shm)
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while os.write(fd, b"\0" * 4096):
                pass
        except OSError:
            pass  # no space left on the device
        finally:
            os.close(fd)
        return lambda: filler.unlink()

    try:
        check_refused_then_recorded(app, world, fill)
    finally:
        ledger_ext.close(app)
        ledger.close()
