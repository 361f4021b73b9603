"""The README documents every setting and every CLI command (datasette's test_docs habit)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tracefood.cli import main
from tracefood.config import SETTINGS, load

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", [s.name for s in SETTINGS])
def test_docs__every_setting_is_in_the_readme(name: str) -> None:
    assert f"`TRACEFOOD_{name}`" in README


@pytest.mark.parametrize("command", sorted(main.commands))
def test_docs__every_command_is_in_the_readme(command: str) -> None:
    assert f"`tracefood {command}" in README


def test_config__layers_defaults_file_environment_overrides(tmp_path: Path) -> None:
    (tmp_path / "tracefood.toml").write_text('ledger_origin = "from.file/ledger"\nsqlite_synchronous = "NORMAL"\n')
    env = {"TRACEFOOD_HOME": str(tmp_path), "TRACEFOOD_SQLITE_SYNCHRONOUS": "OFF"}
    settings = load(overrides={"SECRET_KEY": "s"}, environ=env)
    assert settings["LEDGER_ORIGIN"] == "from.file/ledger"
    assert settings["SQLITE_SYNCHRONOUS"] == "OFF"
    assert settings["SECRET_KEY"] == "s"
    assert settings["DATABASE_URL"] == f"sqlite:///{tmp_path / 'tracefood.db'}"
    assert settings["LEDGER_KEY_FILE"] == str(tmp_path / "ledger.key")


def test_config__unknown_setting_is_refused(tmp_path: Path) -> None:
    from tracefood.errors import InvalidParameter

    (tmp_path / "tracefood.toml").write_text('databse_url = "typo"\n')
    with pytest.raises(InvalidParameter, match="databse_url"):
        load(environ={"TRACEFOOD_HOME": str(tmp_path)})
