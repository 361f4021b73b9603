"""The instance: one rule per key file, objects made once, the session secret shared."""

from __future__ import annotations

import base64
import os
import stat
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import Database
from tracefood.config import load_settings
from tracefood.errors import LedgerKeyError
from tracefood.instance import Instance, ensure_secret
from tracefood.labels.keystore import ensure_master
from tracefood.ledger.keys import create_key


def instance_of(home: Path, **overrides: str) -> Instance:
    return Instance(load_settings(overrides={"HOME": str(home)} | overrides, environ={}))


def test_instance__ledger_with_its_key_when_the_file_exists(migrated: Database, tmp_path: Path) -> None:
    instance = instance_of(tmp_path, DATABASE_URL=migrated.url)
    try:
        assert instance.ledger.signer is None and instance.ledger is instance.ledger  # opened once
        with pytest.raises(LedgerKeyError, match=f"no ledger key at {tmp_path / 'ledger.key'}: run `tracefood init`"):
            instance.signing_ledger()
        keyless = instance.ledger
        signer = create_key(tmp_path / "ledger.key", "test.tracefood/ledger")
        assert instance.signing_ledger().verifier == signer.verifier  # reopened with the new key
        assert instance.ledger is not keyless and keyless.size() == 0  # retired, still usable by other threads
        instance.close()
        assert instance.ledger.verifier == signer.verifier
    finally:
        instance.close()


def test_instance__loose_ledger_key_is_refused(migrated: Database, key_file: Path) -> None:
    key_file.chmod(0o644)
    instance = instance_of(key_file.parent, DATABASE_URL=migrated.url)
    with pytest.raises(LedgerKeyError, match="readable by other users"):
        instance.check_ledger_key()
    with pytest.raises(LedgerKeyError, match="readable by other users"):
        _ = instance.ledger


def test_instance__label_keys_from_the_setting_or_the_file(migrated: Database, tmp_path: Path) -> None:
    with pytest.raises(LedgerKeyError, match="TRACEFOOD_LABEL_MASTER_KEY must be 32 random bytes"):
        instance_of(tmp_path, DATABASE_URL=migrated.url, LABEL_MASTER_KEY="c2hvcnQ=")  # checked at once
    instance = instance_of(tmp_path, DATABASE_URL=migrated.url)
    try:
        with pytest.raises(LedgerKeyError, match=r"no label master key .*run `tracefood init`"):
            _ = instance.label_keys
        ensure_master(tmp_path / "label-master.key")
        assert instance.label_keys is instance.label_keys
    finally:
        instance.close()
    given = base64.b64encode(bytes(32)).decode()
    other = instance_of(tmp_path / "elsewhere", DATABASE_URL=migrated.url, LABEL_MASTER_KEY=given)
    try:
        assert other.label_keys.list(None) == []
    finally:
        other.close()


def test_instance__trusted_ledger_key_order(tmp_path: Path) -> None:
    own = create_key(tmp_path / "ledger.key", "own.example/ledger").verifier
    pinned = create_key(tmp_path / "other.key", "pinned.example/ledger").verifier
    given = create_key(tmp_path / "given.key", "given.example/ledger").verifier
    instance = instance_of(tmp_path)
    assert instance.trusted_ledger_key() == own
    assert instance.pin_ledger_key(pinned.encode()) == tmp_path / "trusted-ledger.pub"
    assert instance.trusted_ledger_key() == pinned
    (tmp_path / "given.pub").write_text(given.encode() + "\n")
    assert instance_of(tmp_path, TRUSTED_LEDGER_KEY=str(tmp_path / "given.pub")).trusted_ledger_key() == given
    assert instance.trusted_ledger_key(own.encode()) == own
    assert instance_of(tmp_path / "bare").trusted_ledger_key() is None
    with pytest.raises(Exception, match="TRACEFOOD_TRUSTED_LEDGER_KEY"):
        instance_of(tmp_path, TRUSTED_LEDGER_KEY="not-a-key").trusted_ledger_key()


def test_instance__secret_key_is_made_once_and_private(tmp_path: Path) -> None:
    first = instance_of(tmp_path / "home").secret_key
    path = tmp_path / "home" / "secret.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and len(first) == 64
    assert instance_of(tmp_path / "home").secret_key == first
    assert instance_of(tmp_path / "home", SECRET_KEY="given").secret_key == "given"
    assert sorted(p.name for p in path.parent.iterdir()) == ["secret.key"]  # no temporary file left


def test_instance__loose_or_empty_secret_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "secret.key"
    ensure_secret(path)
    path.chmod(0o640)
    with pytest.raises(LedgerKeyError, match=f"{path} is readable by other users; run `chmod 600 {path}`"):
        _ = instance_of(tmp_path).secret_key
    path.write_text("")
    path.chmod(0o600)
    with pytest.raises(LedgerKeyError, match="not a session secret"):
        _ = instance_of(tmp_path).secret_key


def _secret_of(home: str) -> tuple[str, bool]:
    return ensure_secret(Path(home) / "secret.key")


def test_instance__racing_processes_agree_on_one_secret(tmp_path: Path) -> None:
    for attempt in range(5):
        home = tmp_path / str(attempt)
        with ProcessPoolExecutor(max_workers=4) as pool:
            results = list(pool.map(_secret_of, [str(home)] * 8))
        assert len({secret for secret, _ in results}) == 1
        assert sum(created for _, created in results) == 1
        assert os.listdir(home) == ["secret.key"]
