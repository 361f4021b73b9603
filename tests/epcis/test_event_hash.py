"""CBV 2.0 event hash ID against the reference vectors (RalphTro/epcis-event-hash-generator).

The vectors are read in place from ``VECTORS/epcis/event-hash`` (never copied): for every
``<name>.jsonld`` the computed pre-hash strings must equal ``<name>.prehashes`` and the hash IDs
``<name>.hashes``, one line per event in document order; every ``expected_equal-*.json`` file's
events must all hash identically.
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import VECTORS
from tracefood.epcis.canonical_ids import canonical_gs1_uri, constrain_digital_link, epc_uri_to_digital_link
from tracefood.epcis.digital_link import gs1_check_digit
from tracefood.epcis.event_hash import event_hash_id
from tracefood.epcis.prehash import format_number, namespaces_from_context, normalise_timestamp, prehash_string

HASH_DIR = VECTORS / "epcis" / "event-hash"
DOCUMENTS = sorted(HASH_DIR.glob("*.jsonld"))
EQUAL_SETS = sorted(HASH_DIR.glob("expected_equal-*.json"))

# Pre-hash lines of the upstream vectors that are wrong *in the vector files themselves*: each of
# them does not even hash to the matching line of ``<name>.hashes`` (checked by
# test_prehash_string__known_bad_vector_lines_are_inconsistent), while our computed hash IDs do
# match ``.hashes`` for these events. They are left out of the pre-hash comparison on purpose.
KNOWN_BAD_PREHASH_LINES: dict[str, dict[int, str]] = {
    # The only line is garbled: fragments of other lines are spliced into it ("epc=httpspc=...",
    # "epc=htt402/4012ps://...", "235=https://AB12"), so it is excluded from the parametrisation.
    "epcisDocWithAllGS1Keys": {0: "garbled line (spliced fragments), not a valid pre-hash string"},
    # Line 2 is a stale copy of another event (epcList 2017+2018, shipping, myField=myValue),
    # not the pre-hash of the second event (epcList 2018 only, receiving, myField2=myValue2).
    "epcisDocWithCustomSchemaInContext": {1: "stale line describing a different event"},
    # Line 2 is truncated in the middle of the bizTransaction value and lacks the "po" entry.
    "epcisDocWithDefaultSchemaInContext": {1: "truncated line (ends inside a bizTransaction value)"},
}


def _load(path: Path) -> tuple[list[dict[str, Any]], Any]:
    doc = json.loads(path.read_text(encoding="utf-8-sig"))
    body = doc["epcisBody"]
    events = body.get("eventList") or [body["event"]]
    return events, doc.get("@context")


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def _prehash_cases() -> list[Path]:
    """Documents with a ``.prehashes`` file and at least one trustworthy line."""
    cases = []
    for doc in DOCUMENTS:
        prehashes = doc.with_suffix(".prehashes")
        if not prehashes.is_file():
            continue  # upstream ships no pre-hashes for this document (hash IDs are still checked)
        bad = KNOWN_BAD_PREHASH_LINES.get(doc.stem, {})
        if len(bad) < len(_lines(prehashes)):
            cases.append(doc)
    return cases


def test_vectors__present() -> None:
    assert len(DOCUMENTS) >= 19, f"event hash vectors missing under {HASH_DIR}"
    assert EQUAL_SETS, f"expected_equal-*.json missing under {HASH_DIR}"


@pytest.mark.parametrize("document", _prehash_cases(), ids=lambda p: p.stem)
def test_prehash_string__vector(document: Path) -> None:
    events, context = _load(document)
    expected = _lines(document.with_suffix(".prehashes"))
    assert len(expected) == len(events)
    bad = KNOWN_BAD_PREHASH_LINES.get(document.stem, {})
    for index, (event, want) in enumerate(zip(events, expected, strict=True)):
        if index not in bad:
            assert prehash_string(event, context) == want, f"event {index}"


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.stem)
def test_event_hash_id__vector(document: Path) -> None:
    events, context = _load(document)
    expected = _lines(document.with_suffix(".hashes"))
    assert [event_hash_id(event, context) for event in events] == expected


@pytest.mark.parametrize("equal_set", EQUAL_SETS, ids=lambda p: p.stem)
def test_event_hash_id__expected_equal(equal_set: Path) -> None:
    events, context = _load(equal_set)
    assert len(events) > 1
    assert len({event_hash_id(event, context) for event in events}) == 1


@pytest.mark.parametrize(
    ("name", "index"),
    [(name, index) for name, lines in KNOWN_BAD_PREHASH_LINES.items() for index in lines],
    ids=lambda v: str(v),
)
def test_prehash_string__known_bad_vector_lines_are_inconsistent(name: str, index: int) -> None:
    """The excluded lines contradict the vectors' own hash IDs (which we do reproduce)."""
    line = _lines(HASH_DIR / f"{name}.prehashes")[index]
    want = _lines(HASH_DIR / f"{name}.hashes")[index]
    assert f"ni:///sha-256;{hashlib.sha256(line.encode()).hexdigest()}?ver=CBV2.0" != want
    events, context = _load(HASH_DIR / f"{name}.jsonld")
    assert event_hash_id(events[index], context) == want


# --- invariance and sensitivity ------------------------------------------------------------


def _sample() -> tuple[dict[str, Any], Any]:
    events, context = _load(HASH_DIR / "epcisDocWithVariousEventTypes.jsonld")
    event = next(e for e in events if e.get("quantityList"))
    return copy.deepcopy(event), context


def _reverse_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _reverse_keys(v) for k, v in reversed(list(value.items()))}
    if isinstance(value, list):
        return [_reverse_keys(v) for v in reversed(value)]
    return value


def test_event_hash_id__independent_of_key_and_list_order() -> None:
    event, context = _sample()
    assert event_hash_id(_reverse_keys(event), context) == event_hash_id(event, context)


def test_event_hash_id__ignores_event_id_and_record_time() -> None:
    event, context = _sample()
    base = event_hash_id(event, context)
    changed = dict(event, eventID="urn:uuid:00000000-0000-4000-8000-000000000000", recordTime="2030-01-01T00:00:00Z")
    assert event_hash_id(changed, context) == base
    stripped = {k: v for k, v in event.items() if k not in ("eventID", "recordTime")}
    assert event_hash_id(stripped, context) == base


def test_event_hash_id__changes_with_quantity() -> None:
    event, context = _sample()
    base = event_hash_id(event, context)
    changed = copy.deepcopy(event)
    changed["quantityList"][0]["quantity"] += 1
    assert event_hash_id(changed, context) != base


def test_event_hash_id__format() -> None:
    event, context = _sample()
    hash_id = event_hash_id(event, context)
    digest = hashlib.sha256(prehash_string(event, context).encode()).hexdigest()
    assert hash_id == f"ni:///sha-256;{digest}?ver=CBV2.0"


# --- helpers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("2023-02-02T11:04:03.1415Z", "2023-02-02T11:04:03.142Z"),
        ("2023-02-02T11:04:03.1414Z", "2023-02-02T11:04:03.141Z"),
        ("2020-12-31T23:59:59.9996Z", "2021-01-01T00:00:00.000Z"),
        ("2023-01-11T12:00:00+01:00", "2023-01-11T11:00:00.000Z"),
        ("2022-02-15T01:33:31.116000-06:00", "2022-02-15T07:33:31.116Z"),
        ("2023-03-27T11:30:00.0Z", "2023-03-27T11:30:00.000Z"),
    ],
)
def test_normalise_timestamp__utc_millis(raw: str, want: str) -> None:
    assert normalise_timestamp(raw) == want


@pytest.mark.parametrize(
    ("value", "want"), [(452.0, "452"), (0.3430, "0.343"), (26, "26"), (1e20, "100000000000000000000")]
)
def test_format_number__no_trailing_zeros(value: float, want: str) -> None:
    assert format_number(value) == want


@pytest.mark.parametrize(
    ("digits", "check"),
    [("0950600013435", "2"), ("0061414112345", "2"), ("401234500011", "5"), ("01234567891234567", "5")],
)
def test_gs1_check_digit__known_answers(digits: str, check: str) -> None:
    assert gs1_check_digit(digits) == check


@pytest.mark.parametrize(
    ("uri", "want"),
    [
        ("urn:epc:id:sgtin:4012345.011111.987", "https://id.gs1.org/01/04012345111118/21/987"),
        ("urn:epc:id:sscc:4012345.0000000333", "https://id.gs1.org/00/040123450000003338"),
        ("urn:epc:id:sgln:4012345.00011.0", "https://id.gs1.org/414/4012345000115"),
        ("urn:epc:id:sgln:4012345.00011.987", "https://id.gs1.org/414/4012345000115/254/987"),
        ("urn:epc:class:lgtin:4054739.099914.20160711", "https://id.gs1.org/01/04054739999148/10/20160711"),
        ("urn:epc:idpat:sgtin:4054739.099914.*", "https://id.gs1.org/01/04054739999148"),
        ("urn:epc:id:bic:CSQU3054383", None),
    ],
)
def test_epc_uri_to_digital_link__schemes(uri: str, want: str | None) -> None:
    assert epc_uri_to_digital_link(uri) == want


@pytest.mark.parametrize(
    ("uri", "want"),
    [
        ("https://example.com/gtin/09780345418913/21/765tz?abc=1", "https://id.gs1.org/01/09780345418913/21/765tz"),
        ("https://id.gs1.de/01/04012345999990/10/L1/21/XYZ", "https://id.gs1.org/01/04012345999990/21/XYZ"),
        ("https://id.example.com/253/4012345000054987", "https://id.gs1.org/253/4012345000054987"),
        ("https://accreditation-council.example.org/certificate/ABC12345", None),
    ],
)
def test_constrain_digital_link__canonical(uri: str, want: str | None) -> None:
    assert constrain_digital_link(uri) == want


def test_canonical_gs1_uri__cbv_urn_and_passthrough() -> None:
    assert canonical_gs1_uri("urn:epcglobal:cbv:bizstep:receiving") == "https://ref.gs1.org/cbv/BizStep-receiving"
    assert (
        canonical_gs1_uri("urn:epcglobal:cbv:bt:4012345000009:ASN1099") == "urn:epcglobal:cbv:bt:4012345000009:ASN1099"
    )
    assert canonical_gs1_uri(" geo:47.5,11.1 ") == "geo:47.5,11.1"


def test_namespaces_from_context__local_prefixes_and_defaults() -> None:
    found = namespaces_from_context(
        ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld", {"ex": "https://ex/"}]
    )
    assert found["ex"] == "https://ex/"
    assert found["cbvmda"] == "urn:epcglobal:cbv:mda:"
