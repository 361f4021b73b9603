"""The wheel holds the whole package: setup.cfg's explicit lists agree with the source tree.

setup.cfg names every package and every data pattern by hand, so a new sub-package or template
folder that nobody adds there is silently left out of ``pip install .`` while the editable
install used by the test suite still finds it. These tests compare the lists with the tree;
``tools/check_install.sh`` (run by ``.ci/run``) then proves a real non-editable install works.
"""

from __future__ import annotations

import configparser
import fnmatch
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONFIG = configparser.ConfigParser()
CONFIG.read(ROOT / "setup.cfg", encoding="utf-8")


def _lines(section: str, key: str) -> list[str]:
    """A setup.cfg list value: one item per line (or comma-separated), blanks dropped."""
    raw = CONFIG.get(section, key, fallback="")
    return [item.strip() for line in raw.splitlines() for item in line.split(",") if item.strip()]


def _mapping(section: str, key: str) -> dict[str, str]:
    """A setup.cfg ``name = value`` list (``package_dir``), as a dict."""
    pairs = (line.split("=", 1) for line in _lines(section, key))
    return {name.strip(): value.strip() for name, value in pairs}


PACKAGES = set(_lines("options", "packages"))
PACKAGE_DIR = _mapping("options", "package_dir")
PACKAGE_DATA = {name: _lines("options.package_data", name) for name in CONFIG.options("options.package_data")}
# Source folder -> the package it installs as: tracefood/ as itself, plus package_dir remaps
# (migrations/ installs as tracefood._migrations).
SOURCES = {ROOT / "tracefood": "tracefood"} | {ROOT / path: name for name, path in PACKAGE_DIR.items()}


def _package_of(folder: Path) -> str:
    """The dotted package name a source folder installs as."""
    for source, name in SOURCES.items():
        if folder == source or source in folder.parents:
            return ".".join([name, *folder.relative_to(source).parts])
    raise AssertionError(f"{folder} is not under a packaged source folder")


def _folders(source: Path) -> list[Path]:
    return sorted(p for p in [source, *source.rglob("*")] if p.is_dir() and p.name != "__pycache__")


def _data_files(folder: Path) -> list[Path]:
    """The non-Python files of one folder (what ``package_data`` must name)."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix not in {".py", ".pyc"})


def _packaged(file: Path) -> bool:
    patterns = PACKAGE_DATA.get(_package_of(file.parent), [])
    return any(fnmatch.fnmatchcase(file.name, pattern) for pattern in patterns)


def test_packages__every_folder_with_an_init_is_listed() -> None:
    folders = [p.parent for p in (ROOT / "tracefood").rglob("__init__.py") if "__pycache__" not in p.parts]
    missing = sorted(_package_of(folder) for folder in folders if _package_of(folder) not in PACKAGES)
    assert not missing, f"setup.cfg [options] packages misses: {missing}"


def test_packages__every_folder_with_python_code_is_listed() -> None:
    """Namespace folders too (migrations/versions has no __init__.py but must ship)."""
    folders = [f for source in SOURCES for f in _folders(source) if any(f.glob("*.py"))]
    missing = sorted(_package_of(folder) for folder in folders if _package_of(folder) not in PACKAGES)
    assert not missing, f"setup.cfg [options] packages misses: {missing}"


def test_packages__every_listed_package_exists() -> None:
    """A stale name in the list breaks the build; catch it here with a clear message."""
    known = {_package_of(folder) for source in SOURCES for folder in _folders(source)}
    assert sorted(PACKAGES - known) == []


@pytest.mark.parametrize("folder", ["templates", "static"])
def test_package_data__web_assets_match_the_patterns(folder: str) -> None:
    files = _data_files(ROOT / "tracefood" / "web" / folder)
    assert files, f"no files under tracefood/web/{folder}"
    unpackaged = sorted(str(p.relative_to(ROOT)) for p in files if not _packaged(p))
    assert not unpackaged, f"setup.cfg [options.package_data] does not ship: {unpackaged}"


def test_package_data__py_typed_is_listed() -> None:
    assert (ROOT / "tracefood" / "py.typed").is_file()
    assert _packaged(ROOT / "tracefood" / "py.typed")


def test_package_data__every_data_file_in_a_package_is_shipped() -> None:
    """The same rule for every package folder (openapi.json, the migration template, ...)."""
    files = [f for source in SOURCES for folder in _folders(source) for f in _data_files(folder)]
    unpackaged = sorted(str(p.relative_to(ROOT)) for p in files if not _packaged(p))
    assert not unpackaged, f"setup.cfg [options.package_data] does not ship: {unpackaged}"
