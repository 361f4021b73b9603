"""C2SP signed notes and checkpoints: known answers from the Go checksum database and the
C2SP spec, round trips, and every way a checkpoint must be refused."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tests.conftest import VECTORS
from tracefood.errors import NoteError
from tracefood.ledger import note
from tracefood.ledger.note import Checkpoint, Signer, Verifier

KNOWN = json.loads((VECTORS / "signed-note" / "known-answers.json").read_text())["cases"]
ORIGIN = "example.com/ledger"
ROOT = bytes(range(32))


def known(field: str) -> list[Any]:
    return [pytest.param(c, id=c["name"]) for c in KNOWN if field in c]


# -- known answers ---------------------------------------------------------------------------


def test_known_answers__both_cases_present() -> None:
    assert [c["name"] for c in KNOWN] == ["go-sumdb-note", "c2sp-signed-note-example"]


@pytest.mark.parametrize("case", known("verifier_key"))
def test_verifier__parses_and_reencodes_known_key(case: dict[str, Any]) -> None:
    verifier = Verifier.parse(case["verifier_key"])
    assert verifier.encode() == case["verifier_key"]
    name, hex_id, _ = case["verifier_key"].split("+")
    assert verifier.name == name
    assert verifier.key_id.hex() == hex_id


@pytest.mark.parametrize("case", known("signer_key"))
def test_signer__parses_and_reencodes_known_key(case: dict[str, Any]) -> None:
    signer = Signer.parse(case["signer_key"])
    assert signer.encode() == case["signer_key"]
    assert signer.verifier.encode() == case["verifier_key"]


@pytest.mark.parametrize("case", known("signed_note"))
def test_open_note__verifies_known_note(case: dict[str, Any]) -> None:
    verifier = Verifier.parse(case["verifier_key"])
    assert note.open_note(case["signed_note"], verifier) == case["text"]
    text, sigs = note.split_note(case["signed_note"])
    assert text == case["text"]
    assert [(s.name, s.key_id) for s in sigs] == [(verifier.name, verifier.key_id)]


@pytest.mark.parametrize("case", known("signer_key"))
def test_signer_sign__reproduces_known_note_exactly(case: dict[str, Any]) -> None:
    # Ed25519 signatures are deterministic, so re-signing gives the very same bytes.
    assert Signer.parse(case["signer_key"]).sign(case["text"]) == case["signed_note"]


def test_open_note__known_note_refused_by_the_other_known_key() -> None:
    go, c2sp = KNOWN
    with pytest.raises(NoteError, match="not signed by"):
        note.open_note(go["signed_note"], Verifier.parse(c2sp["verifier_key"]))


@pytest.mark.parametrize("case", known("signed_note"))
def test_open_note__known_note_with_changed_text_is_refused(case: dict[str, Any]) -> None:
    forged = case["signed_note"].replace(case["text"], case["text"].replace(".", "!"), 1)
    assert forged != case["signed_note"]
    with pytest.raises(NoteError, match="does not verify"):
        note.open_note(forged, Verifier.parse(case["verifier_key"]))


GO_KEY = KNOWN[0]["verifier_key"]
GO_RAW = base64.b64decode(GO_KEY.split("+")[2])


def _key(name: str = "PeterNeumann", hex_id: str = "c74f20a3", raw: bytes = GO_RAW) -> str:
    return f"{name}+{hex_id}+{base64.b64encode(raw).decode()}"


@pytest.mark.parametrize(
    "key",
    [
        _key(hex_id="c74f20a4"),
        _key(hex_id="C74F20A3x"),
        _key(hex_id="zz4f20a3"),
        _key(raw=GO_RAW[1:]),
        _key(raw=b"\x02" + GO_RAW[1:]),
        _key(raw=GO_RAW + b"\x00"),
        _key(name="Peter Neumann"),
        _key(name=""),
        GO_KEY.rsplit("+", 1)[0],
        GO_KEY[:-1],
    ],
    ids=[
        "wrong-key-id",
        "long-key-id",
        "non-hex-key-id",
        "no-algorithm-byte",
        "other-algorithm",
        "long-key",
        "space-in-name",
        "empty-name",
        "no-key",
        "bad-base64",
    ],
)
def test_verifier__refuses_malformed_key(key: str) -> None:
    with pytest.raises(NoteError):
        Verifier.parse(key)


# -- checkpoints -----------------------------------------------------------------------------


@pytest.fixture
def signer() -> Signer:
    return Signer.generate(ORIGIN)


def signed(signer: Signer, size: int = 42, root: bytes = ROOT) -> str:
    return note.sign_checkpoint(Checkpoint(ORIGIN, size, root), signer)


def test_checkpoint__text_format(signer: Signer) -> None:
    cp = Checkpoint(ORIGIN, 42, ROOT)
    assert cp.text() == f"{ORIGIN}\n42\n{base64.b64encode(ROOT).decode()}\n"
    text, sigs = note.split_note(note.sign_checkpoint(cp, signer))
    assert text == cp.text()
    assert len(sigs) == 1
    assert sigs[0].name == ORIGIN
    assert sigs[0].key_id == note.key_id(ORIGIN, signer.verifier.public_key.public_bytes_raw())
    assert len(sigs[0].signature) == 64


@pytest.mark.parametrize("size", [0, 1, 42, 2**63 - 1])
def test_checkpoint__round_trip(signer: Signer, size: int) -> None:
    cp = Checkpoint(ORIGIN, size, ROOT)
    assert note.open_checkpoint(note.sign_checkpoint(cp, signer), signer.verifier) == cp


def test_checkpoint__round_trip_with_extension_lines(signer: Signer) -> None:
    cp = Checkpoint(ORIGIN, 7, ROOT, ("extension one", "extension two"))
    assert note.open_checkpoint(note.sign_checkpoint(cp, signer), signer.verifier) == cp


def test_checkpoint__round_trip_through_encoded_keys(signer: Signer) -> None:
    again = Signer.parse(signer.encode())
    verifier = Verifier.parse(signer.verifier.encode())
    assert note.open_checkpoint(signed(again), verifier) == Checkpoint(ORIGIN, 42, ROOT)


def test_checkpoint__cosigned_note_opens_with_either_key(signer: Signer) -> None:
    witness = Signer.generate("witness.example/w1")
    text = Checkpoint(ORIGIN, 42, ROOT).text()
    ours = signer.sign(text)
    theirs = witness.sign(text)
    both = ours + theirs.split("\n\n", 1)[1]
    assert note.open_checkpoint(both, signer.verifier) == Checkpoint(ORIGIN, 42, ROOT)
    assert note.open_note(both, witness.verifier) == text


def test_open_checkpoint__refuses_wrong_key(signer: Signer) -> None:
    same_name = Signer.generate(ORIGIN)
    with pytest.raises(NoteError, match="not signed by"):
        note.open_checkpoint(signed(signer), same_name.verifier)


def test_open_checkpoint__refuses_signature_by_another_key_under_our_key_id(signer: Signer) -> None:
    other = Signer.generate(ORIGIN)
    text, theirs = signed(other).split("\n\n")
    ours = signed(signer).split("\n\n")[1]
    raw = base64.b64decode(theirs.rsplit(" ", 1)[1])
    forged_blob = base64.b64encode(signer.verifier.key_id + raw[4:]).decode()
    forged = f"{text}\n\n{ours.rsplit(' ', 1)[0]} {forged_blob}\n"
    with pytest.raises(NoteError, match="does not verify"):
        note.open_checkpoint(forged, signer.verifier)


@pytest.mark.parametrize(
    ("old", "new"),
    [("\n42\n", "\n43\n"), (ORIGIN + "\n", ORIGIN + "x\n")],
    ids=["size", "origin"],
)
def test_open_checkpoint__refuses_modified_text(signer: Signer, old: str, new: str) -> None:
    good = signed(signer)
    forged = good.replace(old, new, 1)
    assert forged != good
    with pytest.raises(NoteError):
        note.open_checkpoint(forged, signer.verifier)


def test_open_checkpoint__refuses_modified_root(signer: Signer) -> None:
    good = signed(signer)
    forged = good.replace(base64.b64encode(ROOT).decode(), base64.b64encode(bytes(32)).decode())
    with pytest.raises(NoteError, match="does not verify"):
        note.open_checkpoint(forged, signer.verifier)


def _signature_blob(signed_note: str) -> str:
    return signed_note.rstrip("\n").rsplit(" ", 1)[1]


@pytest.mark.parametrize("byte", [0, 3, 4, 30, 67])
def test_open_checkpoint__refuses_modified_signature(signer: Signer, byte: int) -> None:
    good = signed(signer)
    blob = _signature_blob(good)
    raw = bytearray(base64.b64decode(blob))
    raw[byte] ^= 0x01
    forged = good.replace(blob, base64.b64encode(bytes(raw)).decode())
    with pytest.raises(NoteError):
        note.open_checkpoint(forged, signer.verifier)


@pytest.mark.parametrize("keep", [0, 4, 5, 36, 67])
def test_open_checkpoint__refuses_truncated_signature(signer: Signer, keep: int) -> None:
    good = signed(signer)
    blob = _signature_blob(good)
    short = base64.b64encode(base64.b64decode(blob)[:keep]).decode()
    with pytest.raises(NoteError):
        note.open_checkpoint(good.replace(blob, short), signer.verifier)


def test_open_checkpoint__refuses_signature_cut_mid_base64(signer: Signer) -> None:
    good = signed(signer)
    blob = _signature_blob(good)
    with pytest.raises(NoteError):
        note.open_checkpoint(good.replace(blob, blob[:-3]), signer.verifier)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda n: n.replace("\n\n", "\n", 1),  # missing blank line
        lambda n: n.replace("\n\n", "\n\n\n", 1),  # two blank lines
        lambda n: n.rstrip("\n"),  # no final newline
        lambda n: n.replace("\u2014 ", "- ", 1),  # hyphen instead of EM DASH
        lambda n: n.split("\n\n")[0] + "\n\n",  # no signature lines at all
    ],
    ids=["missing-blank-line", "extra-blank-line", "no-final-newline", "hyphen", "no-signatures"],
)
def test_open_checkpoint__refuses_malformed_note(signer: Signer, mangle: Any) -> None:
    with pytest.raises(NoteError):
        note.open_checkpoint(mangle(signed(signer)), signer.verifier)


def test_sign_checkpoint__refuses_origin_other_than_key_name(signer: Signer) -> None:
    with pytest.raises(NoteError, match="origin"):
        note.sign_checkpoint(Checkpoint("other.example/log", 1, ROOT), signer)


def test_open_checkpoint__refuses_wrong_origin(signer: Signer) -> None:
    # Signed by the right key, but the text names another log.
    forged = signer.sign(Checkpoint("other.example/log", 1, ROOT).text())
    with pytest.raises(NoteError, match="origin"):
        note.open_checkpoint(forged, signer.verifier)


ROOT_B64 = base64.b64encode(ROOT).decode()


@pytest.mark.parametrize(
    "size_line",
    [
        "012",
        "00",
        "+12",
        "-1",
        " 12",
        "12 ",
        "1_2",
        "1e3",
        "0x1f",
        "",
        "\u0661\u0662",  # ARABIC-INDIC DIGITS ONE TWO: str.isdigit() is True, int() gives 12
        "\u00b2",  # SUPERSCRIPT TWO: str.isdigit() is True, int() raises ValueError
    ],
)
def test_open_checkpoint__refuses_non_canonical_size(signer: Signer, size_line: str) -> None:
    text = f"{ORIGIN}\n{size_line}\n{ROOT_B64}\n"
    with pytest.raises(NoteError):
        Checkpoint.parse_text(text)
    with pytest.raises(NoteError):
        note.open_checkpoint(signer.sign(text), signer.verifier)


@pytest.mark.parametrize("root", [bytes(31), bytes(33), bytes(16)], ids=["31-bytes", "33-bytes", "16-bytes"])
def test_open_checkpoint__refuses_root_not_32_bytes(signer: Signer, root: bytes) -> None:
    text = f"{ORIGIN}\n1\n{base64.b64encode(root).decode()}\n"
    with pytest.raises(NoteError, match="SHA-256"):
        note.open_checkpoint(signer.sign(text), signer.verifier)


def test_open_checkpoint__refuses_root_not_base64(signer: Signer) -> None:
    text = f"{ORIGIN}\n1\n{ROOT_B64[:-2]}!!\n"
    with pytest.raises(NoteError, match="base64"):
        note.open_checkpoint(signer.sign(text), signer.verifier)


def test_open_checkpoint__refuses_missing_root_line(signer: Signer) -> None:
    with pytest.raises(NoteError):
        note.open_checkpoint(signer.sign(f"{ORIGIN}\n1\n"), signer.verifier)


@pytest.mark.parametrize("text", ["no newline", "a\n\nb\n", "tab\there\n"])
def test_signer_sign__refuses_text_that_is_not_a_note(signer: Signer, text: str) -> None:
    with pytest.raises(NoteError):
        signer.sign(text)
