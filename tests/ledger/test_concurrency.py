"""Several processes append at once; a process killed mid-batch leaves nothing half-written."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Database
from tracefood.ledger import Ledger, NewEntry

WORKER = Path(__file__).with_name("append_worker.py")
WRITERS = {"sqlite": 4, "postgresql": 8}
PER_WRITER = 500


def spawn(*args: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WORKER), *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
def test_append__concurrent_processes_make_one_chain(ledger: Ledger, migrated: Database, key_file: Path) -> None:
    writers = WRITERS[migrated.kind]
    procs = [spawn("single", migrated.url, key_file, w, PER_WRITER) for w in range(writers)]
    for proc in procs:
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err
    report = ledger.verify()
    assert report.ok, report.findings[:5]
    assert report.size == writers * PER_WRITER
    ids = {ledger.entry(i).entry_id for i in range(report.size)}
    assert ids == {f"w{w}-{i}" for w in range(writers) for i in range(PER_WRITER)}
    # each writer's own entries appear in the order it wrote them
    order = [ledger.entry(i).envelope["payload"] for i in range(report.size)]
    for w in range(writers):
        mine = [p["i"] for p in order if p["worker"] == w]
        assert mine == list(range(PER_WRITER))


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["hang-before-commit", "hang-after-insert"])
def test_append__killed_mid_batch_leaves_nothing(ledger: Ledger, migrated: Database, key_file: Path, mode: str) -> None:
    ledger.append_batch([NewEntry({"before": i}) for i in range(10)])
    proc = spawn(mode, migrated.url, key_file, 0, 2_000)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == "READY", proc.stderr.read() if proc.stderr else ""
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)  # reaps the process and closes its pipes
    # the killed writer's lock and transaction are gone: appending works and the batch is absent
    ledger.append({"after": 1})
    report = ledger.verify()
    assert report.ok, report.findings[:5]
    assert report.size == 11
    assert all(not ledger.entry(i).entry_id.startswith("crash-") for i in range(11))
