"""Settings: typed and checked once, a bad value named with its reason and where it came from."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from tracefood.config import SETTINGS, Settings, load_settings
from tracefood.errors import InvalidParameter


def test_settings__typed_from_the_layers(tmp_path: Path) -> None:
    (tmp_path / "tracefood.toml").write_text("trust_list_hours = 24\nsqlite_synchronous = 'normal'\n")
    env = {"TRACEFOOD_HOME": str(tmp_path), "TRACEFOOD_PUBLIC_URL": "https://trace.example.qc.ca"}
    settings = load_settings(overrides={"LEDGER_ORIGIN": "farm.example/ledger"}, environ=env)
    assert settings.home == tmp_path and settings.ledger_key_file == tmp_path / "ledger.key"
    assert settings.label_master_key_file == tmp_path / "label-master.key"
    assert settings.database_url == f"sqlite:///{tmp_path / 'tracefood.db'}"
    assert settings.trust_list_hours == 24 and settings.sqlite_synchronous == "NORMAL"
    assert settings.public_url == "https://trace.example.qc.ca"
    assert settings.ledger_origin == "farm.example/ledger"
    assert settings.secret_key is None and settings.secret_key_file == tmp_path / "secret.key"
    assert settings.by_name()["TRUST_LIST_HOURS"] == 24


def test_settings__defaults_are_valid(tmp_path: Path) -> None:
    settings = load_settings(environ={"TRACEFOOD_HOME": str(tmp_path)})
    assert settings.trust_list_hours == 24 and settings.public_url == "http://localhost:8000"
    assert set(settings.by_name()) == {s.name for s in SETTINGS}


def test_settings__empty_text_means_unset(tmp_path: Path) -> None:
    env = {"TRACEFOOD_HOME": str(tmp_path), "TRACEFOOD_SECRET_KEY": "", "TRACEFOOD_DATABASE_URL": ""}
    settings = load_settings(environ=env)
    assert settings.secret_key is None and settings.database_url.startswith("sqlite:///")


def test_settings__are_frozen(tmp_path: Path) -> None:
    settings = load_settings(environ={"TRACEFOOD_HOME": str(tmp_path)})
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.trust_list_hours = 1  # type: ignore[misc]
    assert isinstance(settings, Settings)


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("TRUST_LIST_HOURS", "abc", "whole number of hours"),
        ("TRUST_LIST_HOURS", "0", "whole number of hours"),
        ("TRUST_LIST_HOURS", "1.5", "whole number of hours"),
        ("TRUST_LIST_HOURS", "-3", "whole number of hours"),
        ("TRUST_LIST_HOURS", "999999999", "whole number of hours"),
        ("PUBLIC_URL", "ftp://trace.example", "http(s)://host"),
        ("PUBLIC_URL", "https://trace.example/?q=1", "http(s)://host"),
        ("DATABASE_URL", "not a url", "not a database URL"),
        ("DATABASE_URL", "mysql://nobody@localhost/x", "unsupported database 'mysql'"),
        ("SQLITE_SYNCHRONOUS", "sometimes", "must be one of OFF, NORMAL, FULL, EXTRA"),
        ("LEDGER_ORIGIN", "my ledger", "key name"),
        ("LEDGER_ORIGIN", "a+b", "key name"),
    ],
)
def test_settings__bad_value_names_the_setting(tmp_path: Path, name: str, value: str, words: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        load_settings(environ={"TRACEFOOD_HOME": str(tmp_path), f"TRACEFOOD_{name}": value})
    detail = caught.value.detail
    assert detail.startswith(f"TRACEFOOD_{name}: ") and words in detail and "(from the environment)" in detail
    assert "\n" not in detail


def test_settings__bad_value_in_the_file_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "tracefood.toml").write_text("trust_list_hours = true\n")
    with pytest.raises(InvalidParameter, match=r"TRACEFOOD_TRUST_LIST_HOURS: .*tracefood\.toml"):
        load_settings(environ={"TRACEFOOD_HOME": str(tmp_path)})
    (tmp_path / "tracefood.toml").write_text("public_url = 8000\n")
    with pytest.raises(InvalidParameter, match="TRACEFOOD_PUBLIC_URL: must be text, got int"):
        load_settings(environ={"TRACEFOOD_HOME": str(tmp_path)})


def test_settings__overrides_win_and_are_named(tmp_path: Path) -> None:
    env = {"TRACEFOOD_HOME": str(tmp_path), "TRACEFOOD_TRUST_LIST_HOURS": "abc"}
    assert load_settings(overrides={"TRUST_LIST_HOURS": 5}, environ=env).trust_list_hours == 5
    with pytest.raises(InvalidParameter, match=r"\(from overrides\)"):
        load_settings(overrides={"TRUST_LIST_HOURS": "x"}, environ={"TRACEFOOD_HOME": str(tmp_path)})
