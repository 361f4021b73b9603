"""The copied test vectors stay exactly what their sources published, and nothing slips in unnamed.

``tests/vectors`` holds byte-identical copies of third-party data (sources and licences in its
``NOTICE``). ``SHA256SUMS`` there lists every file with its digest, in ``sha256sum`` format so
``cd tests/vectors && sha256sum -c SHA256SUMS`` checks it by hand too. These tests fail when a
vector is edited (a line ending rewritten, a JSON file reformatted), removed, or added without a
line in ``SHA256SUMS`` (and so, by the rule written in NOTICE, without a named source).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from tests.conftest import VECTORS

SUMS = VECTORS / "SHA256SUMS"
# "<64 hex>  <path>" (text mode) or "<64 hex> *<path>" (binary mode), as sha256sum writes them.
LINE = re.compile(r"(?P<digest>[0-9a-f]{64}) [ *](?P<path>.+)")


def _listed() -> dict[str, str]:
    """The SHA256SUMS entries, relative path -> digest; malformed or repeated lines fail."""
    entries: dict[str, str] = {}
    for number, line in enumerate(SUMS.read_text(encoding="utf-8").splitlines(), start=1):
        match = LINE.fullmatch(line)
        assert match, f"SHA256SUMS line {number} is not '<sha256>  <path>': {line!r}"
        assert match["path"] not in entries, f"SHA256SUMS lists {match['path']} twice"
        entries[match["path"]] = match["digest"]
    return entries


LISTED = _listed()


def test_vectors__folder_is_the_one_beside_the_tests() -> None:
    """No environment variable or sibling checkout: a fresh clone has everything it needs."""
    assert Path(__file__).resolve().parent / "vectors" == VECTORS
    assert (VECTORS / "NOTICE").is_file()
    assert (VECTORS / "README.md").is_file()


@pytest.mark.parametrize("path", sorted(LISTED))
def test_vectors__listed_file_matches_its_checksum(path: str) -> None:
    file = VECTORS / path
    assert file.is_file(), f"{path} is listed in SHA256SUMS but missing"
    assert hashlib.sha256(file.read_bytes()).hexdigest() == LISTED[path], f"{path} differs from its source copy"


def test_vectors__every_file_is_listed() -> None:
    on_disk = {p.relative_to(VECTORS).as_posix() for p in VECTORS.rglob("*") if p.is_file()}
    unlisted = sorted(on_disk - set(LISTED) - {"SHA256SUMS"})
    assert not unlisted, f"files under tests/vectors missing from SHA256SUMS: {unlisted}"


def test_vectors__notice_names_every_top_level_source_folder() -> None:
    """Each copied folder (and loose file) appears in NOTICE, so every source is attributed."""
    notice = (VECTORS / "NOTICE").read_text(encoding="utf-8")
    folders = {"/".join(path.split("/")[:2]) for path in LISTED if path.count("/") >= 1}
    loose = {path for path in LISTED if "/" not in path} - {"NOTICE", "README.md"}
    missing = sorted(name for name in folders | loose if name not in notice)
    assert not missing, f"tests/vectors/NOTICE does not name: {missing}"
