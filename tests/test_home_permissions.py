"""TRACEFOOD_HOME is 0700 and the files TraceFood writes there 0600 (issue 12): the database
holds contacts, token hashes and sealed keys. A home or SQLite database other users can read
stops any command, or the app, with one line naming the path and the chmod to run."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from tests.cli.test_cli import run
from tests.conftest import Database
from tracefood.config import load_settings
from tracefood.errors import LedgerKeyError
from tracefood.instance import Instance, sqlite_files
from tracefood.web import ledger_ext
from tracefood.web.app import create_app

KEYS = ("ledger.key", "label-master.key", "secret.key")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def url_for(database: Database) -> str | None:
    """PostgreSQL as given; SQLite in the home, where TraceFood puts it by default."""
    return None if database.kind == "sqlite" else database.url


def test_home__init_makes_a_private_home_and_files(database: Database, tmp_path: Path) -> None:
    home = tmp_path / "home"
    done = run(home, "init", url=url_for(database))
    assert done.returncode == 0, done.stderr
    assert mode(home) == 0o700
    written = [home / name for name in KEYS]
    if database.kind == "sqlite":
        files = [p for p in sqlite_files(f"sqlite:///{home / 'tracefood.db'}") if p.exists()]
        assert home / "tracefood.db" in files and home / "tracefood.db-writer" in files
        written += files
    assert all(p.exists() for p in written)
    every = list(home.iterdir())  # the keys, the database, the checkpoint kept beside the key...
    assert {p.name: oct(mode(p)) for p in every} == {p.name: oct(0o600) for p in every}


def test_home__the_app_keeps_its_database_private_while_serving(database: Database, tmp_path: Path) -> None:
    home = tmp_path / "home"
    assert run(home, "init", url=url_for(database)).returncode == 0
    settings = {"HOME": str(home)} | ({"DATABASE_URL": database.url} if database.kind == "postgresql" else {})
    app = create_app(settings)
    try:
        assert app.test_client().get("/healthz").status_code == 200
        files = [p for p in home.iterdir()]
        if database.kind == "sqlite":
            assert home / "tracefood.db-wal" in files and home / "tracefood.db-shm" in files  # open: WAL mode
        assert {p.name: oct(mode(p)) for p in files} == {p.name: oct(0o600) for p in files}
    finally:
        ledger_ext.close(app)


@pytest.mark.parametrize("home_mode", [0o750, 0o755, 0o701], ids=oct)
def test_home__a_shared_home_is_refused(database: Database, tmp_path: Path, home_mode: int) -> None:
    home = tmp_path / "home"
    assert run(home, "init", url=url_for(database)).returncode == 0
    home.chmod(home_mode)
    done = run(home, "verify", url=url_for(database))
    assert done.returncode == 1
    assert done.stderr.strip() == f"error: {home} (TRACEFOOD_HOME) is open to other users; run `chmod 700 {home}`"
    with pytest.raises(LedgerKeyError, match=f"chmod 700 {home}"):
        create_app({"HOME": str(home), "DATABASE_URL": database.url})
    home.chmod(0o700)
    assert run(home, "verify", url=url_for(database)).returncode == 0


@pytest.mark.parametrize("suffix", ["", "-wal", "-shm"])
def test_home__a_readable_sqlite_database_is_refused(tmp_path: Path, suffix: str) -> None:
    home = tmp_path / "home"
    assert run(home, "init").returncode == 0
    path = home / f"tracefood.db{suffix}"
    path.touch(mode=0o600)
    path.chmod(0o640)
    done = run(home, "verify")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip() == f"error: {path} is readable by other users; run `chmod 600 {path}`"
    with pytest.raises(LedgerKeyError, match=f"chmod 600 {path}"):
        Instance(load_settings(overrides={"HOME": str(home)}, environ={}))
