"""The append path's fast envelope encoding equals RFC 8785 of the whole envelope."""

from __future__ import annotations

import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from tracefood.ledger.append import envelope_bytes
from tracefood.ledger.canonical import canonical_bytes

json_scalars = st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text()
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4),
    max_leaves=20,
)
printable = st.text(st.characters(categories=["L", "N", "P", "S", "Zs"]), min_size=1, max_size=40).filter(
    str.isprintable
)


@given(
    payload=st.dictionaries(st.text(), json_values, max_size=6),
    entry_id=printable,
    kind=printable,
    party=st.none() | printable,
    seq=st.integers(0, 2**53 - 1),
)
def test_envelope_bytes__equal_rfc8785(payload: dict, entry_id: str, kind: str, party: str | None, seq: int) -> None:
    envelope = {
        "v": 1,
        "seq": seq,
        "id": entry_id,
        "kind": kind,
        "party": party,
        "prev": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "recorded": "2026-11-28T00:00:00.000000Z",
        "payload": payload,
    }
    fast = envelope_bytes(envelope, canonical_bytes(payload))
    assert fast == canonical_bytes(envelope) == bytes(rfc8785.dumps(envelope))
