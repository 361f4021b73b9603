"""Labels for tests: a world whose lot A1 (romaine, farm-a) can be labelled, and one label URL
per forgery with the reason every verifier (core, API, page, CLI, browser) must give."""

from __future__ import annotations

from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.factories import World, gtin
from tracefood.chain.registry import OPERATOR
from tracefood.epcis.gs1_keys import lot_uri
from tracefood.labels import issuance
from tracefood.labels import signing as labels
from tracefood.labels.keys import KID_LENGTH
from tracefood.labels.keystore import LabelKeys

ROMAINE = gtin("0754000100011")
MIX = gtin("1754000100018")


def recall_document(lot: str, read_point: str, *, time: str = "2026-08-06T09:00:00-04:00") -> dict[str, Any]:
    """An EPCIS document recalling ``lot`` (class I, Listeria), as a producer's system sends it:
    refused since issue 12 (recalls come from recall officers through the recall process)."""
    event = {
        "type": "ObjectEvent",
        "eventTime": time,
        "eventTimeZoneOffset": time[-6:],
        "action": "OBSERVE",
        "quantityList": [{"epcClass": lot}],
        "bizStep": "holding",
        "disposition": "recalled",
        "readPoint": {"id": read_point},
        "tf:recallId": "R-2026-001",
        "tf:recallClass": "I",
        "tf:reason": "Listeria monocytogenes",
    }
    return {
        "@context": [
            "https://ref.gs1.org/standards/epcis/epcis-context.jsonld",
            {"tf": "https://tracefood.org/epcis/"},
        ],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-08-06T00:00:00Z",
        "epcisBody": {"eventList": [event]},
    }


RECALL = {"class": "I", "reason": "Listeria monocytogenes", "instructions": "Return to the packer."}
"""A recall's body for ``POST /api/v1/recalls`` without its seeds: ``{"seeds": {"lots": [lot]}} | RECALL``."""


def issue(world: World, keys: LabelKeys, base: str, lot: str = "A1", party: str = "farm-a") -> str:
    return issuance.issue(world.ledger, keys, lot_uri(ROMAINE, lot), world.actor(party), base).url


def forgeries(world: World, keys: LabelKeys, base: str) -> dict[str, tuple[str, str]]:
    """forgery name -> (label URL, expected reason). The world holds farm-a's lots A1 and A2."""
    good = issue(world, keys, base)
    unsigned, fragment = good.split("#")
    version = fragment.split(".")[0]
    stranger = Ed25519PrivateKey.generate()
    unknown = labels.sign(unsigned, "ZZZZZZZZZZZZ", stranger)
    # a valid key of a party that never held A1
    dist_kid, dist_private = world.ledger.write(lambda w: keys.signing_key(w, "dist", OPERATOR))
    other_party = labels.sign(unsigned, dist_kid, dist_private)
    revoked_url = issue(world, keys, base, lot="A2")
    keys.rotate("farm-a", OPERATOR)
    keys.revoke(revoked_url.split("#1.")[1][:12], "compromised", OPERATOR)
    fresh = issue(world, keys, base)  # farm-a's new key
    fresh_kid = fresh.split("#1.")[1][:KID_LENGTH]
    return {
        "lot changed": (fresh.replace("/10/A1#", "/10/A2#"), "lot_changed"),
        "GTIN changed": (fresh.replace(ROMAINE, MIX), "gtin_changed"),
        "unknown key": (unknown, "unknown_key"),
        "revoked key": (revoked_url, "revoked_key"),
        "another party's key": (other_party, "not_holder"),
        "truncated signature": (fresh[:-10], "truncated_signature"),
        "unknown version": (fresh.replace("#1.", "#2."), "unknown_version"),
        "extra characters": (fresh + "A", "extra_characters"),
        "no signature": (fresh.split("#")[0], "unsigned"),
        "not a label": (f"{base}/01/12345678901234/10/A1#1.x.y", "malformed"),
        "bad signature": (f"{unsigned}#{version}.{fresh_kid}.{'A' * 85}A", "bad_signature"),
        "genuine": (fresh, "genuine"),
    }
