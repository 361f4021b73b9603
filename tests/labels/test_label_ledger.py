"""Label keys and issuances live in the ledger (issue 12): a key or an issuance written around the
application (plain SQL) is trusted by no verifier (API, trust list, JWKS) and ``tracefood verify``
names the row; the normal flow stays clean; a revocation is an entry that SQL cannot undo; older
databases are recorded once by ``tracefood label backfill``. Both engines, a served app, the
real ``tracefood`` command."""

from __future__ import annotations

import base64
import datetime as dt
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from flask.testing import FlaskClient
from sqlalchemy import select, text

from tests.cli.test_cli import run
from tests.conftest import Database
from tests.factories import World, harvest, receive, ship
from tests.labelkit import ROMAINE
from tests.web.conftest import LABEL_MASTER_KEY, make_app, served, web_world  # noqa: F401 (fixtures, used by name)
from tracefood.chain.registry import OPERATOR
from tracefood.epcis.gs1_keys import lot_uri
from tracefood.labels import db_trust, ledger_audit, ledgered
from tracefood.labels import signing as labels
from tracefood.labels.keys import key_id, raw_public
from tracefood.labels.keystore import LabelKeys
from tracefood.labels.trust import SIG_PREFIX, TrustList
from tracefood.ledger import db
from tracefood.ledger.canonical import loads
from tracefood.ledger.models import entries

BASE = "http://localhost"
A1 = lot_uri(ROMAINE, "A1")
A1_URL = f"{BASE}/01/{ROMAINE}/10/A1"


@pytest.fixture
def chain(served: tuple[FlaskClient, World]) -> tuple[FlaskClient, World]:  # noqa: F811 (the fixture)
    client, world = served
    world.record("farm-a", harvest("A1", "100"))
    world.record("farm-a", ship("A1", "100"))
    world.record("packer", receive("A1", "100"))
    return client, world


def app_keys(world: World) -> LabelKeys:
    return LabelKeys(world.ledger, base64.b64decode(LABEL_MASTER_KEY))


def issue(client: FlaskClient, world: World, who: str = "farm-a") -> str:
    response = client.post("/api/v1/labels", json={"id": A1}, headers=world.bearer(who))
    assert response.status_code == 201, response.get_json()
    return str(response.get_json()["url"])


def verdicts(client: FlaskClient, world: World, url: str) -> dict[str, str]:
    """The reason each verifier gives: the API, the core online, a freshly signed trust list.
    (The trust list is the one ``GET /api/v1/trust-list`` serves, made here: the route's cache
    is keyed by the app's ``id()``, which a later test's app may reuse.)"""
    api = client.post("/api/v1/labels/verify", json={"url": url}).get_json()
    return {
        "api": api["reason"],
        "server": labels.verify(url, db_trust.DbTrust(world.ledger.engine)).reason,
        "trust list": labels.verify(url, trust_list(world), source="trust-list").reason,
    }


def trust_list(world: World) -> TrustList:
    assert world.ledger.signer is not None
    note = db_trust.trust_list(world.ledger.engine, world.ledger.signer, base_url=BASE, hours=1)
    return TrustList.open(note, pinned=world.ledger.signer.verifier)


def everywhere(reason: str) -> dict[str, str]:
    return dict.fromkeys(("api", "server", "trust list"), reason)


def tracefood_verify(database: Database, home: Path) -> subprocess.CompletedProcess[str]:
    return run(home, "verify", url=database.url)


def label_entries(world: World) -> list[dict[str, Any]]:
    with world.ledger.engine.connect() as conn:
        rows = conn.execute(select(entries.c.body).order_by(entries.c.seq)).scalars()
        found = [loads(bytes(b)) for b in rows]
    return [e for e in found if e["kind"] in ledgered.KINDS]


def kid_of(url: str) -> str:
    return url.split("#1.")[1].split(".")[0]


def forge_rows(world: World, party: str) -> tuple[str, str]:
    """A database writer's forgery: a key row for ``party`` and an issuance row, both by plain
    SQL, and a label for A1 signed with that key. Returns (kid, label URL)."""
    private = Ed25519PrivateKey.generate()
    public = raw_public(private.public_key())
    kid = key_id(public)
    url = labels.sign(A1_URL, kid, private)
    signature = url.rsplit(".", 1)[1]
    now = dt.datetime.now(dt.UTC)
    with world.ledger.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO label_keys (kid, party_id, public_key, private_sealed, created_at) "
                "VALUES (:kid, :party, :public, :sealed, :at)"
            ),
            {"kid": kid, "party": party, "public": public, "sealed": b"\0" * 60, "at": now},
        )
        conn.execute(
            text(
                "INSERT INTO label_issuances (at, actor, party_id, kid, subject, sig_prefix, url, ec) "
                "VALUES (:at, 'nobody', :party, :kid, :subject, :prefix, :url, 'M')"
            ),
            {"at": now, "party": party, "kid": kid, "subject": A1, "prefix": signature[:SIG_PREFIX], "url": url},
        )
    return kid, url


# -- (a) rows written around the application -----------------------------------------------------


def test_label_ledger__a_key_and_issuance_inserted_by_sql_are_refused_and_reported(
    chain: tuple[FlaskClient, World], migrated: Database, tmp_path: Path
) -> None:
    client, world = chain
    genuine = issue(client, world)
    assert verdicts(client, world, genuine) == everywhere("genuine")
    kid, forged = forge_rows(world, "packer")  # packer holds A1: only the key is false
    assert verdicts(client, world, forged) == everywhere("unknown_key")
    assert trust_list(world).key(kid) is None
    assert kid not in json.dumps(client.get("/.well-known/jwks.json").get_json())
    assert verdicts(client, world, genuine) == everywhere("genuine")
    # the forged row is packer's newest key: issuing refuses it (409, never a 5xx) and appends nothing
    size = world.ledger.size()
    response = client.post("/api/v1/labels", json={"id": A1}, headers=world.bearer("packer"))
    assert response.status_code == 409 and "does not match the ledger" in json.dumps(response.get_json())
    assert world.ledger.size() == size
    result = tracefood_verify(migrated, tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"-\tlabel-row-unrecorded\tlabel_keys row kid={kid} (party packer): no ledger entry" in result.stdout
    assert "label-row-unrecorded\tlabel_issuances row 2 (" in result.stdout
    assert "2 finding(s)" in result.stderr
    report = json.loads(run(tmp_path, "verify", "--json", url=migrated.url).stdout)
    assert not report["ok"] and {f["code"] for f in report["findings"]} == {"label-row-unrecorded"}


def test_label_ledger__a_row_changed_by_sql_is_refused_and_reported(
    chain: tuple[FlaskClient, World], migrated: Database
) -> None:
    """A recorded key whose row gets another public key (the forger's) is no longer trusted."""
    client, world = chain
    genuine = issue(client, world)
    kid = kid_of(genuine)
    private = Ed25519PrivateKey.generate()
    with world.ledger.engine.begin() as conn:
        conn.execute(
            text("UPDATE label_keys SET public_key = :p WHERE kid = :kid"),
            {"p": raw_public(private.public_key()), "kid": kid},
        )
    forged = labels.sign(f"{A1_URL}?17=261231", kid, private)
    assert verdicts(client, world, forged) == everywhere("unknown_key")
    assert verdicts(client, world, genuine) == everywhere("unknown_key")
    with db.read_snapshot(world.ledger.engine) as conn:
        (finding,) = ledger_audit.check(conn)
    assert finding.code == "label-row-differs"
    assert finding.message.startswith(f"label_keys row kid={kid} (party farm-a): x (")


# -- (b) the normal flow -------------------------------------------------------------------------


def test_label_ledger__register_rotate_revoke_issue_is_recorded_and_verifies_clean(
    chain: tuple[FlaskClient, World], migrated: Database, tmp_path: Path
) -> None:
    client, world = chain
    keys = app_keys(world)
    first = issue(client, world)  # the key is registered on first use
    keys.rotate("farm-a", OPERATOR)
    second = issue(client, world)
    keys.revoke(kid_of(first), "printer stolen", OPERATOR)
    assert verdicts(client, world, first) == everywhere("revoked_key")
    assert verdicts(client, world, second) == everywhere("genuine")
    recorded = label_entries(world)
    assert [e["kind"] for e in recorded] == [
        "label-key", "label-issuance", "label-key-retirement", "label-key", "label-issuance", "label-key-revocation",
    ]  # fmt: skip
    old, new = kid_of(first), kid_of(second)
    assert [e["id"] for e in recorded] == [
        f"label-key/{old}", "label-issuance/1", f"label-key-retirement/{old}", f"label-key/{new}",
        "label-issuance/2", f"label-key-revocation/{old}",
    ]  # fmt: skip
    key, issued, retired, _, _, revoked = (e["payload"] for e in recorded)
    assert set(key) == {"kid", "party", "alg", "x", "valid_from"} and key["alg"] == "Ed25519"
    assert set(issued) == {"serial", "subject", "kid", "party", "sig_prefix", "sig_sha256", "issued_at"}
    assert issued["subject"] == A1 and issued["sig_prefix"] == first.rsplit(".", 1)[1][:SIG_PREFIX]
    assert first.rsplit(".", 1)[1] not in json.dumps(recorded)  # not enough to reprint a label
    assert set(retired) == {"kid", "party", "retired_at"}
    assert revoked | {"revoked_at": None} == {"kid": old, "party": "farm-a", "revoked_at": None,
                                              "reason": "printer stolen"}  # fmt: skip
    assert all(e["party"] == "farm-a" for e in recorded)
    assert "producer:farm-a" not in json.dumps(recorded)  # the actor (a person or token) stays out
    result = tracefood_verify(migrated, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("ok: ")


def test_label_ledger__row_and_entry_land_together_or_not_at_all(chain: tuple[FlaskClient, World]) -> None:
    """When the entry cannot be appended (its id taken by other content), the row is not written
    either: a 409, and neither the issuance nor the key created for it is left behind."""
    client, world = chain
    world.ledger.append({"squatter": True}, entry_id="label-issuance/1", kind="label-issuance", party="farm-b")
    size = world.ledger.size()
    response = client.post("/api/v1/labels", json={"id": A1}, headers=world.bearer("farm-a"))
    assert response.status_code == 409, response.get_json()
    assert world.ledger.size() == size
    with world.ledger.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM label_issuances")).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM label_keys")).scalar() == 0


# -- (c) a revocation is an entry ----------------------------------------------------------------


def test_label_ledger__a_key_unrevoked_by_sql_stays_revoked_and_is_reported(
    chain: tuple[FlaskClient, World], migrated: Database, tmp_path: Path
) -> None:
    client, world = chain
    keys = app_keys(world)
    url = issue(client, world)
    kid = kid_of(url)
    keys.revoke(kid, "compromised", OPERATOR)
    (revocation,) = [e for e in label_entries(world) if e["kind"] == "label-key-revocation"]
    assert revocation["id"] == f"label-key-revocation/{kid}" and revocation["payload"]["reason"] == "compromised"
    with world.ledger.engine.begin() as conn:
        conn.execute(text("UPDATE label_keys SET revoked_at = NULL, revoked_reason = NULL WHERE kid = :k"), {"k": kid})
    assert verdicts(client, world, url) == everywhere("revoked_key")
    with pytest.raises(Exception, match="already revoked"):
        keys.revoke(kid, "again", OPERATOR)
    result = tracefood_verify(migrated, tmp_path)
    assert result.returncode == 1
    line = next(x for x in result.stdout.splitlines() if "label-row-differs" in x)
    assert line.startswith(f"{revocation['seq']}\tlabel-row-differs\tlabel_keys row kid={kid} (party farm-a): ")
    assert "records its revocation" in line and "the row does not" in line


# -- an older database -----------------------------------------------------------------------------


def test_label_ledger__backfill_records_older_rows_once(
    chain: tuple[FlaskClient, World], migrated: Database, tmp_path: Path
) -> None:
    """Rows from before labels were in the ledger (written here without entries, as an older
    TraceFood did) are recorded by `tracefood label backfill`, marked as such, once."""
    client, world = chain
    kid, url = forge_rows(world, "farm-a")
    assert verdicts(client, world, url) == everywhere("unknown_key")
    assert tracefood_verify(migrated, tmp_path).returncode == 1
    done = run(tmp_path, "label", "backfill", url=migrated.url)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].endswith(f"\tlabel-key/{kid}") and "2 label entries recorded" in done.stderr
    assert all(e["payload"]["backfilled"] is True for e in label_entries(world))
    assert verdicts(client, world, url) == everywhere("genuine")
    assert tracefood_verify(migrated, tmp_path).returncode == 0
    again = run(tmp_path, "label", "backfill", url=migrated.url)
    assert again.returncode == 0 and again.stdout == "" and "0 label entries recorded" in again.stderr
