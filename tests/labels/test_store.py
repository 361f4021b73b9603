"""Signed labels in the core: keys sealed at rest, rotation and revocation, issuance by custody,
and one verdict for every forgery, given alike by the database (online) and by a signed trust
list (offline). The Digital Link table is read in place from ``VECTORS/digital-link-parse.json``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import secrets
from typing import Any

import pytest
from sqlalchemy import select, text, update

from tests.conftest import VECTORS
from tests.epcis.test_identifiers import DL_DEVIATIONS
from tests.factories import PALLET, World, build_world, gtin, harvest, receive, ship, t
from tests.labelkit import RECALL, forgeries, recall_document
from tracefood.chain import access, recalls
from tracefood.chain.registry import OPERATOR
from tracefood.chain.tables import label_issuances, label_keys
from tracefood.epcis.digital_link import element_string, parse_digital_link
from tracefood.epcis.gs1_keys import lot_uri
from tracefood.errors import Conflict, Forbidden, InvalidEntry, LabelError, LedgerKeyError, NotFound, TrustListError
from tracefood.labels import db_trust, issuance, keystore
from tracefood.labels import signing as labels
from tracefood.labels.keys import KID_LENGTH, b64url_decode
from tracefood.labels.keystore import LabelKeys
from tracefood.labels.trust import Trust, TrustList, build_trust_list
from tracefood.ledger import Ledger
from tracefood.ledger.note import Signer

BASE = "https://trace.example.qc.ca"
ROMAINE = gtin("0754000100011")
MIX = gtin("1754000100018")
LOT_A1 = f"https://id.gs1.org/01/{ROMAINE}/10/A1"


@pytest.fixture
def world(ledger: Ledger) -> World:
    w = build_world(ledger)
    w.record("farm-a", harvest("A1", "100"))
    w.record("farm-a", harvest("A2", "50", day=2))
    w.record("farm-a", ship("A1", "100"))
    w.record("packer", receive("A1", "100"))
    return w


@pytest.fixture
def keys(ledger: Ledger) -> LabelKeys:
    return LabelKeys(ledger, secrets.token_bytes(32))


def issue(world: World, keys: LabelKeys, lot: str = "A1", party: str = "farm-a", **kw: Any) -> str:
    ident = lot_uri(ROMAINE, lot)
    return issuance.issue(world.ledger, keys, ident, world.actor(party), BASE, **kw).url


def offline(world: World, **kw: Any) -> TrustList:
    note = db_trust.trust_list(world.ledger.engine, world.ledger.signer, base_url=BASE, hours=24, **kw)
    return TrustList.open(note, pinned=world.ledger.signer.verifier)


def both(world: World) -> list[tuple[str, Trust]]:
    return [("server", db_trust.DbTrust(world.ledger.engine)), ("trust-list", offline(world))]


# -- the label URL ------------------------------------------------------------------------------


def test_labels__url_shape_and_size(world: World, keys: LabelKeys) -> None:
    url = issue(world, keys)
    unsigned, fragment = url.split("#")
    assert unsigned == f"{BASE}/01/{ROMAINE}/10/A1"
    version, kid, signature = fragment.split(".")
    assert (version, len(kid), len(signature)) == ("1", KID_LENGTH, labels.SIG_LENGTH)
    # DESIGN.md: a typical label stays under ~200 characters
    assert len(url) < 200
    # the key id and version are signed too: Ed25519 over everything before the signature
    record = db_trust.DbTrust(world.ledger.engine).key(kid)
    assert record is not None and record.party_id == "farm-a"
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    Ed25519PublicKey.from_public_bytes(record.public_key).verify(
        b64url_decode(signature), f"{unsigned}#1.{kid}.".encode()
    )


def test_labels__lot_codes_are_percent_encoded_and_round_trip(world: World, keys: LabelKeys) -> None:
    world.record("farm-a", harvest("7/B&C", "5", day=4))
    url = issue(world, keys, lot="7/B&C")
    assert "/10/7%2FB%26C#" in url
    verdict = labels.verify(url, db_trust.DbTrust(world.ledger.engine))
    assert verdict.genuine and verdict.parts is not None and verdict.parts.subject.lot == "7/B&C"
    # GS1 lot codes are ASCII (AI 10, character set 82): other lots cannot carry a GS1 label
    world.record("farm-a", harvest("Été 7", "5", day=4))
    with pytest.raises(LabelError, match="cannot carry a label"):
        issue(world, keys, lot="Été 7")


def test_labels__sscc_label(world: World, keys: LabelKeys) -> None:
    world.record(
        "packer",
        {
            "kind": "aggregate",
            "time": t(4),
            "location": "packhouse",
            "parent": PALLET,
            "items": [{"product": "romaine", "lot": "A1", "quantity": "100"}],
        },
    )
    url = issuance.issue(world.ledger, keys, PALLET, world.actor("packer"), BASE).url
    assert url.startswith(f"{BASE}/00/{PALLET}#1.")
    for _, trust in both(world):
        assert labels.verify(url, trust).reason == "genuine"


def test_labels__attributes_are_signed_and_validated(world: World, keys: LabelKeys) -> None:
    url = issue(world, keys, attributes="17=261231")
    assert "/10/A1?17=261231#1." in url
    trust = db_trust.DbTrust(world.ledger.engine)
    assert labels.verify(url, trust).genuine
    assert labels.verify(url.replace("17=261231", "17=271231"), trust).reason == "tampered"
    with pytest.raises(LabelError, match="attributes"):
        issue(world, keys, attributes="17=261399")  # not a date


# -- issuance -------------------------------------------------------------------------------------


def test_labels__only_producers_and_holders_issue(world: World, keys: LabelKeys) -> None:
    assert issue(world, keys, party="packer")  # received A1: a holder
    with pytest.raises(Forbidden, match="never produced or held"):
        issue(world, keys, party="dist")
    with pytest.raises(Forbidden, match="cannot issue"):
        issuance.issue(world.ledger, keys, LOT_A1, world.actor("agency"), BASE)
    with pytest.raises(NotFound, match="no lot"):
        issue(world, keys, lot="NOPE")
    with pytest.raises(LabelError, match="labels name a GTIN lot or an SSCC"):
        issuance.issue(world.ledger, keys, "urn:tracefood:loc:field-a", world.actor("farm-a"), BASE)
    with pytest.raises(LabelError, match="error correction"):
        issue(world, keys, ec="X")
    # the operator signs for the lot's producer unless told otherwise, under the same rule
    assert issuance.issue(world.ledger, keys, LOT_A1, OPERATOR, BASE).party_id == "farm-a"
    with pytest.raises(Forbidden):
        issuance.issue(world.ledger, keys, LOT_A1, OPERATOR, BASE, party_id="dist")


def test_labels__every_issuance_is_recorded_and_append_only(world: World, keys: LabelKeys) -> None:
    url = issue(world, keys, ec="Q")
    (row,) = issuance.issuances(world.ledger.engine, subject=LOT_A1)
    assert (row["party"], row["url"], row["ec"], row["actor"]) == ("farm-a", url, "Q", "producer:farm-a:test")
    assert row["kid"] == url.split("#1.")[1][:KID_LENGTH]
    with world.ledger.engine.connect() as conn, pytest.raises(Exception, match=r"append-only|refused"):
        conn.execute(update(label_issuances).values(party_id="dist"))
        conn.commit()


# -- keys -----------------------------------------------------------------------------------------


def test_keys__private_keys_are_sealed(world: World, ledger: Ledger) -> None:
    master = secrets.token_bytes(32)
    keys = LabelKeys(ledger, master)
    url = issue(world, keys)
    kid = url.split("#1.")[1][:KID_LENGTH]
    private = keys._unsealed[kid]
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    seed = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    with ledger.engine.connect() as conn:
        sealed = conn.execute(select(label_keys.c.private_sealed).where(label_keys.c.kid == kid)).scalar_one()
    assert seed not in bytes(sealed)  # never in clear
    # another master key cannot open it, and a sealed key moved to another party does not open
    with pytest.raises(LedgerKeyError, match="does not open"):
        issue(world, LabelKeys(ledger, secrets.token_bytes(32)))
    other = LabelKeys(ledger, master)
    with pytest.raises(LedgerKeyError, match="does not open"):
        other._unseal(kid, "packer", bytes(sealed))


def test_keys__master_key_from_configuration_or_file(tmp_path: Any) -> None:
    path = tmp_path / "m.key"
    assert keystore.ensure_master(path) and not keystore.ensure_master(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert len(keystore.load_master(None, path)) == 32
    assert keystore.load_master("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", path) == bytes(range(32))
    with pytest.raises(LedgerKeyError, match="32 random bytes"):
        keystore.load_master("c2hvcnQ=", path)
    path.chmod(0o644)
    with pytest.raises(LedgerKeyError, match="readable by other users"):
        keystore.load_master(None, path)
    with pytest.raises(LedgerKeyError, match="tracefood init"):
        keystore.load_master(None, tmp_path / "missing.key")


def test_keys__rotation_keeps_old_labels_valid(world: World, keys: LabelKeys) -> None:
    old = issue(world, keys)
    made = keys.rotate("farm-a", world.actor("farm-a"))
    new = issue(world, keys, lot="A2")
    assert made["kid"] in new and made["kid"] not in old
    states = {k["kid"]: k["state"] for k in keys.list("farm-a")}
    assert sorted(states.values()) == ["active", "retired"]
    for _, trust in both(world):
        assert labels.verify(old, trust).genuine, "a rotated-out key still verifies what it signed"
        assert labels.verify(new, trust).genuine
    jwks = db_trust.jwks(world.ledger.engine)
    assert {k["kid"] for k in jwks["keys"]} == set(states)
    audit = world.registry.audit("label_key")
    assert [a["action"] for a in audit] == ["create", "retire", "create"]


def test_keys__revocation_stops_verification_with_the_reason(world: World, keys: LabelKeys) -> None:
    url = issue(world, keys)
    kid = url.split("#1.")[1][:KID_LENGTH]
    with pytest.raises(Forbidden):
        keys.revoke(kid, "stolen", world.actor("packer"))
    keys.revoke(kid, "laptop stolen", world.actor("farm-a"))
    for source, trust in both(world):
        verdict = labels.verify(url, trust, source=source)
        assert verdict.reason == "revoked_key" and "laptop stolen" in verdict.message
        assert not verdict.ok
    with pytest.raises(Conflict, match="already revoked"):
        keys.revoke(kid, "again", OPERATOR)
    assert kid not in {k["kid"] for k in db_trust.jwks(world.ledger.engine)["keys"]}
    # the next label gets a fresh key
    assert kid not in issue(world, keys, lot="A2")


# -- forgeries: one reason each, online and offline ---------------------------------------------


def test_forgeries__each_refused_with_its_own_reason_online_and_offline(world: World, keys: LabelKeys) -> None:
    cases = forgeries(world, keys, BASE)
    for source, trust in both(world):
        got = {name: labels.verify(url, trust, source=source).reason for name, (url, _) in cases.items()}
        assert got == {name: reason for name, (_, reason) in cases.items()}, source
    # each refusal says why in one line, and only the genuine label passes
    for name, (url, reason) in cases.items():
        verdict = labels.verify(url, db_trust.DbTrust(world.ledger.engine))
        assert verdict.ok == (reason == "genuine"), name
        assert ("\n" not in verdict.message and labels.REASONS[reason] in verdict.message) or verdict.genuine


def test_forgeries__never_issued_and_unknown_lot(world: World, keys: LabelKeys) -> None:
    """A holder's valid key used outside TraceFood (a leaked key), and a signed label for a lot
    the ledger never saw: both refused."""
    issue(world, keys)  # A1 has a genuine label
    kid, private = world.ledger.write(lambda w: keys.signing_key(w, "farm-a", OPERATOR))
    rogue = labels.sign(f"{BASE}/01/{ROMAINE}/10/A1?17=261231", kid, private)
    ghost = labels.sign(f"{BASE}/01/{ROMAINE}/10/GHOST", kid, private)
    unlabelled = labels.sign(f"{BASE}/01/{ROMAINE}/10/A2", kid, private)
    for source, trust in both(world):
        assert labels.verify(rogue, trust).reason == "not_issued"
        assert labels.verify(ghost, trust).reason == "unknown_subject"
        # the trust list carries only the lots that have labels (or are held or recalled)
        expected = "not_issued" if source == "server" else "unknown_subject"
        assert labels.verify(unlabelled, trust).reason == expected


def test_recall_status_comes_from_the_ledger_not_the_label(world: World, keys: LabelKeys) -> None:
    url = issue(world, keys)
    before = labels.verify(url, db_trust.DbTrust(world.ledger.engine))
    assert before.ok and before.status == "active"
    with pytest.raises(InvalidEntry, match="recall officer"):  # a producer cannot recall (issue 12)
        world.store.capture(
            recall_document(LOT_A1, world.registry.get("location", "packhouse")["uri"]), world.actor("packer")
        )
    assert labels.verify(url, db_trust.DbTrust(world.ledger.engine)).status == "active"
    recalls.issue(world.ledger, {"seeds": {"lots": [LOT_A1]}} | RECALL, world.actor("agency", "recall_officer"))
    for source, trust in both(world):
        verdict = labels.verify(url, trust, source=source)
        assert verdict.genuine and not verdict.ok and verdict.status == "recalled", source
        assert verdict.subject is not None and verdict.subject.recall is not None
        assert verdict.subject.recall["class"] == "I" and "Listeria" in verdict.message


# -- the trust list -----------------------------------------------------------------------------


def test_trust_list__signed_expiring_and_pinned(world: World, keys: LabelKeys) -> None:
    url = issue(world, keys)
    signer = world.ledger.signer
    note = db_trust.trust_list(world.ledger.engine, signer, base_url=BASE, hours=2)
    document = json.loads(note.split("\n\n")[0])
    assert document["issuer"] == signer.name and document["ledger_key"] == signer.verifier.encode()
    assert [k["kid"] for k in document["keys"]] == [url.split("#1.")[1][:12]]
    assert LOT_A1 in document["subjects"] and document["subjects"][LOT_A1]["custodians"] == ["farm-a", "packer"]
    assert TrustList.open(note, pinned=signer.verifier).key(document["keys"][0]["kid"]) is not None
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=3)
    with pytest.raises(TrustListError, match="expired"):
        TrustList.open(note, now=later)
    with pytest.raises(TrustListError, match="signature does not verify"):
        TrustList.open(note.replace('"status":"active"', '"status":"recalled"', 1))
    impostor = Signer.generate(signer.name)
    forged = build_trust_list(
        issuer=signer.name, base_url=BASE, ledger_key=impostor.verifier.encode(), keys=[], subjects=[], issued=[],
        signer=impostor, hours=1,
    )  # fmt: skip
    assert TrustList.open(forged)  # self-consistent, so only pinning catches it
    with pytest.raises(TrustListError, match="not the pinned key"):
        TrustList.open(forged, pinned=signer.verifier)
    with pytest.raises(TrustListError, match="not a TraceFood trust list"):
        TrustList.open("hello\n\n— x AAAA\n")


# -- GS1 Digital Link vectors -------------------------------------------------------------------

DL_CASES: list[dict[str, Any]] = json.loads((VECTORS / "digital-link-parse.json").read_text(encoding="utf-8"))["cases"]
FRAGMENT = "#1.AAAAAAAAAAAA." + "A" * 86


@pytest.mark.parametrize("case", DL_CASES, ids=[f"{i}" for i in range(len(DL_CASES))])
def test_digital_link_vectors__labels_read_what_the_parser_reads(case: dict[str, Any]) -> None:
    """Every vector URI read as a label: invalid ones are refused as malformed; valid ones name
    the label subject of their element string, or are refused because labels name only a GTIN
    lot (/01/{gtin}/10/{lot}) or an SSCC (/00/{sscc}) — by design."""
    uri = case["uri"].split("#")[0]
    try:
        parsed = parse_digital_link(uri)
    except Exception:
        parsed = None
    try:
        parts = labels.parse(uri + FRAGMENT)
    except labels.Refused as refused:
        assert refused.reason == "malformed"
        if parsed is not None:  # a valid Digital Link of another shape: refused by design
            shape = (parsed.primary[0], tuple(ai for ai, _ in parsed.qualifiers))
            assert shape not in ((("01"), ("10",)), ("00", ())), uri
        return
    assert parsed is not None
    assert case["valid"] or (case["uri"], case["valid"]) in DL_DEVIATIONS
    subject = parts.subject
    if subject.kind == "sscc":
        assert element_string(parsed, fnc1=True).startswith(f"^00{subject.sscc}")
    else:
        assert element_string(parsed, fnc1=True).startswith(f"^01{subject.gtin}10{subject.lot}")
    if case["valid"]:
        assert element_string(parsed, fnc1=True) == case["element_string"]


def test_digital_link_vectors__cover_both_label_shapes() -> None:
    shapes = set()
    for case in DL_CASES:
        with contextlib.suppress(labels.Refused):
            shapes.add(labels.parse(case["uri"].split("#")[0] + FRAGMENT).subject.kind)
    assert shapes == {"lot", "sscc"}


def test_database_never_holds_a_clear_private_key(world: World, ledger: Ledger) -> None:
    keys = LabelKeys(ledger, secrets.token_bytes(32))
    issue(world, keys)
    with ledger.engine.connect() as conn:
        columns = [c for c in label_keys.c if c.name != "private_sealed"]
        rows = conn.execute(select(*columns)).all()
        assert rows and all(len(bytes(r.public_key)) == 32 for r in rows)
        dump = " ".join(str(r) for r in conn.execute(text("SELECT * FROM label_keys")))
    seed = next(iter(keys._unsealed.values())).private_bytes_raw()
    assert seed.hex() not in dump and repr(seed) not in dump


# -- found in review --------------------------------------------------------------------------


def test_custody__naming_a_lot_is_not_holding_it(world: World, keys: LabelKeys) -> None:
    """A producer cannot record an observation of another party's lot (a cooling event at its own
    site), cannot label the lot, and its signature is refused."""
    cooling = {
        "kind": "cool",
        "time": t(3),
        "location": "field-b",
        "items": [{"product": "romaine", "lot": "A2", "quantity": "1"}],
    }
    with pytest.raises(InvalidEntry, match="not in your custody"):  # issue 12: not even an observation
        world.record("farm-b", cooling)
    with pytest.raises(Forbidden, match="never produced or held"):
        issue(world, keys, lot="A2", party="farm-b")
    issue(world, keys, lot="A2")  # farm-a's genuine label: A2 is in the trust list
    kid, private = world.ledger.write(lambda w: keys.signing_key(w, "farm-b", OPERATOR))
    forged = labels.sign(f"{BASE}/01/{ROMAINE}/10/A2", kid, private)
    for _, trust in both(world):
        assert labels.verify(forged, trust).reason == "not_holder"
    # receivers of a shipment hold it; senders held it
    with world.ledger.engine.connect() as conn:
        row = conn.execute(text("SELECT id, party_id FROM lots WHERE key = :k"), {"k": LOT_A1}).one()
        assert access.custodians(conn, row.id, row.party_id) == {"farm-a", "packer"}


@pytest.mark.parametrize(
    ("base", "printed"),
    [
        ("http://LocalHost:80/", "http://localhost"),
        ("HTTPS://Trace.Example.QC.ca:443", "https://trace.example.qc.ca"),
        ("https://trace.example.qc.ca:8443/tf/", "https://trace.example.qc.ca:8443/tf"),
    ],
)
def test_labels__base_url_is_signed_as_browsers_show_it(world: World, keys: LabelKeys, base: str, printed: str) -> None:
    url = issuance.issue(world.ledger, keys, LOT_A1, world.actor("farm-a"), base).url
    assert url.startswith(f"{printed}/01/{ROMAINE}/10/A1#1.")


@pytest.mark.parametrize(
    "base",
    ["ftp://x.ca", "https://x.ca.", "https://x.ca/./a", "https://user@x.ca", "https://x.ca/?q=1", "https://é.ca"],
)
def test_labels__unusable_base_urls_are_refused(world: World, keys: LabelKeys, base: str) -> None:
    with pytest.raises(LabelError, match="TRACEFOOD_PUBLIC_URL"):
        issuance.issue(world.ledger, keys, LOT_A1, world.actor("farm-a"), base)
    assert issuance.issuances(world.ledger.engine) == []


@pytest.mark.parametrize("attributes", ["x=a#b", "%", "?", "17=261231&&", "17=a'b", "17=%2f"])
def test_labels__attributes_browsers_would_rewrite_are_refused(world: World, keys: LabelKeys, attributes: str) -> None:
    with pytest.raises(LabelError, match="attributes"):
        issue(world, keys, attributes=attributes)
    assert issuance.issuances(world.ledger.engine) == []
