"""Who reads a ledger entry's payload (issue 12): the public gets what checking the ledger needs
(index, entry id, leaf hash, the checkpoint it is under, the inclusion proof) and no payload; the
payload goes only to a token that may see the event it holds, by the EPCIS query's rule, and to
the roles that read every lot, who alone read entries that hold no event. Both engines."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.factories import World, harvest, ship
from tracefood.ledger import merkle
from tracefood.ledger.note import Verifier, open_checkpoint

PAYLOAD_KEYS = {"body", "entry"}


def b64d(value: str) -> bytes:
    return base64.b64decode(value, validate=True)


@pytest.fixture
def entries(served: tuple[FlaskClient, World]) -> tuple[FlaskClient, World, dict[str, int]]:
    """farm-a harvests A1 and ships it to the packer (BOL-1); farm-b harvests B1; one entry that
    holds no event."""
    client, world = served
    seqs = {
        "harvest": world.record("farm-a", harvest("A1", "800"))[0].seq,
        "ship": world.record("farm-a", ship("A1", "100", number="BOL-1"))[0].seq,
        "other": world.record("farm-b", harvest("B1", "5", location="field-b"))[0].seq,
        "not_event": world.ledger.append({"note": "not an event"}, entry_id="urn:test:not-event").seq,
    }
    return client, world, seqs


def _get(client: FlaskClient, world: World, who: str | None, seq: int) -> Any:
    headers = world.bearer(who) if who else {}
    response = client.get(f"/api/v1/ledger/entries/{seq}", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


@pytest.mark.parametrize(
    ("who", "harvest_shown", "ship_shown", "other_shown", "not_event_shown"),
    [
        (None, False, False, False, False),  # the public: hashes only
        ("farm-b", False, False, True, False),  # no part in A1: only its own harvest
        ("farm-a", True, True, False, False),  # recorded both A1 events
        ("packer", True, True, False, False),  # receiving A1: sees its whole history
        ("carrier", False, False, False, False),  # carries nothing here
        ("agency", True, True, True, True),  # an inspector reads every lot
        ("recall", True, True, True, True),
        ("admin-party", True, True, True, True),
    ],
)
def test_entry__payload_only_under_the_events_access_rule(
    entries: tuple[FlaskClient, World, dict[str, int]],
    who: str | None,
    harvest_shown: bool,
    ship_shown: bool,
    other_shown: bool,
    not_event_shown: bool,
) -> None:
    client, world, seqs = entries
    expected = {"harvest": harvest_shown, "ship": ship_shown, "other": other_shown, "not_event": not_event_shown}
    for name, shown in expected.items():
        response = _get(client, world, who, seqs[name])
        body = response.get_json()
        assert {"index", "entry_id", "leaf_hash", "checkpoint", "payload"} <= body.keys()
        assert body["index"] == seqs[name]
        assert body["payload"] == ("shown" if shown else "withheld"), (who, name)
        assert (body.keys() >= PAYLOAD_KEYS) is shown, (who, name, body.keys())
        text = response.get_data(as_text=True)
        if not shown:  # nothing of the business record leaks in any field
            assert "BOL-1" not in text and "quantity" not in text and "bizTransaction" not in text, (who, name)
        else:
            assert merkle.leaf_hash(b64d(body["body"])) == b64d(body["leaf_hash"])
            assert body["entry"]["seq"] == seqs[name]
        assert "private" in response.headers["Cache-Control"] and "Authorization" in response.headers["Vary"]


def test_entry__the_public_checks_inclusion_from_hashes(entries: tuple[FlaskClient, World, dict[str, int]]) -> None:
    client, world, seqs = entries
    verifier = Verifier.parse(client.get("/api/v1/ledger/key").get_data(as_text=True))
    checkpoint = open_checkpoint(client.get("/api/v1/ledger/checkpoint").get_data(as_text=True), verifier)
    for seq in seqs.values():
        body = _get(client, world, None, seq).get_json()
        assert body["checkpoint"]["size"] == checkpoint.size
        proof = client.get(body["checkpoint"]["inclusion_proof"]).get_json()
        assert proof["leaf_hash"] == body["leaf_hash"]
        merkle.verify_inclusion(
            seq, checkpoint.size, b64d(body["leaf_hash"]), [b64d(p) for p in proof["proof"]], checkpoint.root
        )


def test_entry__a_bad_token_is_401_not_a_quiet_public_answer(
    entries: tuple[FlaskClient, World, dict[str, int]],
) -> None:
    client, _, seqs = entries
    response = client.get(f"/api/v1/ledger/entries/{seqs['harvest']}", headers={"Authorization": "Bearer tf_x_y"})
    assert response.status_code == 401 and response.mimetype == "application/problem+json"
