"""The `tracefood` command as a user runs it: a real process, real databases."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.conftest import Database
from tracefood import schema
from tracefood.ledger import Ledger


def run(
    home: Path, *args: str, url: str | None = None, settings: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACEFOOD_")}
    env["TRACEFOOD_HOME"] = str(home)
    if url:
        env["TRACEFOOD_DATABASE_URL"] = url
    env |= settings or {}
    return subprocess.run(
        [sys.executable, "-m", "tracefood", *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_cli__init_is_idempotent_and_key_is_private(database: Database, tmp_path: Path) -> None:
    first = run(tmp_path, "init", url=database.url)
    assert first.returncode == 0, first.stderr
    assert f"schema empty -> {schema.head_revision()}" in first.stdout
    key = tmp_path / "ledger.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    key_text = key.read_text()
    second = run(tmp_path, "init", url=database.url)
    assert second.returncode == 0 and "up to date" in second.stdout and "(existing)" in second.stdout
    assert key.read_text() == key_text


def test_cli__verify_json_and_checkpoint(database: Database, tmp_path: Path) -> None:
    assert run(tmp_path, "init", url=database.url).returncode == 0
    ledger = Ledger.open(database.url, key_file=tmp_path / "ledger.key")
    ledger.append_batch([])
    for i in range(5):
        ledger.append({"n": i})
    ledger.close()
    cp = run(tmp_path, "checkpoint", url=database.url)
    assert cp.returncode == 0 and cp.stdout.splitlines()[1] == "5"
    (tmp_path / "held.txt").write_text(cp.stdout)
    result = run(tmp_path, "verify", "--json", "--against", str(tmp_path / "held.txt"), url=database.url)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"ok": True, "size": 5, "findings": [], "findings_complete": True}


def test_cli__verify_exits_1_with_findings(database: Database, tmp_path: Path) -> None:
    assert run(tmp_path, "init", url=database.url).returncode == 0
    # without the key, so no checkpoint is signed: the one finding is the changed entry (a
    # keyed ledger signs a checkpoint per append, and verify would name them inconsistent too)
    ledger = Ledger.open(database.url)
    for i in range(4):
        ledger.append({"n": i})
    with ledger.engine.begin() as conn:  # go around the application
        if database.kind == "postgresql":
            conn.execute(text("DROP TRIGGER ledger_entries_append_only ON ledger_entries"))
        else:
            conn.execute(text("DROP TRIGGER ledger_entries_no_update"))
        conn.execute(text("UPDATE ledger_entries SET body = :b WHERE seq = 2"), {"b": b'{"tampered":1}'})
    ledger.close()
    result = run(tmp_path, "verify", "--json", url=database.url)
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False and report["size"] == 4
    assert {(f["seq"], f["code"]) for f in report["findings"]} == {(2, "entry-malformed")}
    human = run(tmp_path, "verify", url=database.url)
    assert human.returncode == 1 and "2\tentry-malformed" in human.stdout


@pytest.mark.parametrize("content", [None, "", "garbage\n", "origin\n5\nAAAA\n\n— nobody AAAA\n"])
def test_cli__bad_checkpoint_file_is_one_line(tmp_path: Path, content: str | None) -> None:
    assert run(tmp_path, "init").returncode == 0
    path = tmp_path / "held.txt"
    if content is not None:
        path.write_text(content)
    result = run(tmp_path, "verify", "--against", str(path))
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr


def test_cli__uninitialised_database_says_run_init(tmp_path: Path) -> None:
    for command in (["verify"], ["checkpoint"]):
        result = run(tmp_path, *command)
        assert result.returncode == 1
        assert result.stderr.strip() == "error: the database has no ledger yet: run `tracefood init`"


def test_cli__bad_database_url_is_one_line(tmp_path: Path) -> None:
    result = run(tmp_path, "init", url="mysql://nobody@localhost/x")
    assert result.returncode == 1
    assert result.stderr.strip().startswith("error: TRACEFOOD_DATABASE_URL: unsupported database")


def test_cli__demo_loads_once(tmp_path: Path) -> None:
    first = run(tmp_path, "demo", "--no-serve")
    assert first.returncode == 0, first.stderr
    assert "events recorded, 0 already present" in first.stdout
    assert "tracefood-admin:admin" in first.stdout and "tf_" in first.stdout
    second = run(tmp_path, "demo", "--no-serve")
    assert "demo: 0 events recorded" in second.stdout
    # the tokens were created once and are printed again
    tokens = [line.split()[-1] for line in first.stdout.splitlines() if ":producer" in line]
    assert tokens and all(t in second.stdout for t in tokens)
    assert run(tmp_path, "verify").returncode == 0


def test_cli__init_keeps_the_session_secret(tmp_path: Path) -> None:
    first = run(tmp_path, "init")
    secret = tmp_path / "secret.key"
    assert first.returncode == 0 and f"session secret: {secret} (created)" in first.stdout
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    text = secret.read_text()
    second = run(tmp_path, "init")
    assert f"session secret: {secret} (existing)" in second.stdout and secret.read_text() == text
    given = run(tmp_path / "given", "init", settings={"TRACEFOOD_SECRET_KEY": "s" * 64})
    assert given.returncode == 0 and "session secret" not in given.stdout


@pytest.mark.parametrize(
    "command",
    [["init"], ["checkpoint"], ["trace", "X", "--direction", "back"], ["party", "list"], ["label", "keys"]],
)
def test_cli__bad_setting_stops_any_command_with_one_line(tmp_path: Path, command: list[str]) -> None:
    result = run(tmp_path, *command, settings={"TRACEFOOD_TRUST_LIST_HOURS": "3 days"})
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.strip() == (
        "error: TRACEFOOD_TRUST_LIST_HOURS: must be a whole number of hours from 1 to 72, "
        "got '3 days' (from the environment)"
    )
    assert not (tmp_path / "tracefood.db").exists()  # stopped before doing anything


def test_cli__help_works_with_a_bad_setting(tmp_path: Path) -> None:
    result = run(tmp_path, "label", "issue", "--help", settings={"TRACEFOOD_PUBLIC_URL": "nowhere"})
    assert result.returncode == 0 and "Usage:" in result.stdout
