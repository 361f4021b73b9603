"""The signed trust list's window (issue 12): an older list is refused once a newer one was seen,
and no list is trusted for longer than MAX_VALIDITY_HOURS (the server's TRUST_LIST_HOURS, 24 by
default, is bounded by it), so a key revoked after a verifier fetched its list stays trusted
offline at most that long. On both engines: the lists are the server's own (db_trust), signed
at the times the scenario needs by the ledger key, as the server would have signed them then.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from flask.testing import FlaskClient

from tests.factories import World, build_world, harvest
from tests.labelkit import issue
from tests.web.conftest import make_app, served, web_world  # noqa: F401 (fixtures, used by name)
from tracefood import utc
from tracefood.chain.registry import OPERATOR
from tracefood.config import load_settings
from tracefood.errors import InvalidParameter, TrustListError
from tracefood.instance import Instance
from tracefood.labels import db_trust
from tracefood.labels import signing as labels
from tracefood.labels.keystore import LabelKeys
from tracefood.labels.trust import MAX_VALIDITY_HOURS, SeenLists, TrustList
from tracefood.ledger import Ledger
from tracefood.ledger.note import Signer

__all__ = ["served"]  # the served app fixture, from tests/web

BASE = "https://trace.example.qc.ca"


@pytest.fixture
def world(ledger: Ledger) -> World:
    w = build_world(ledger)
    w.record("farm-a", harvest("A1", "100"))
    return w


def signed_at(world: World, issued: dt.datetime, hours: float) -> str:
    """The server's trust list as of now, as the ledger key would have signed it at ``issued``."""
    signer: Signer = world.ledger.signer
    note = db_trust.trust_list(world.ledger.engine, signer, base_url=BASE, hours=1)
    document = orjson.loads(note.split("\n\n")[0])
    document["issued_at"] = utc.text(issued)
    document["expires_at"] = utc.text(issued + dt.timedelta(hours=hours))
    return signer.sign(orjson.dumps(document, option=orjson.OPT_SORT_KEYS).decode() + "\n")


def revoked_scenario(world: World) -> tuple[str, str, str]:
    """(label URL, the list fetched before its key was revoked, the list fetched after)."""
    keys = LabelKeys(world.ledger, secrets.token_bytes(32))
    url = issue(world, keys, BASE)
    now = utc.now()
    before = signed_at(world, now - dt.timedelta(hours=2), 24)
    keys.revoke(url.split("#1.")[1][:12], "printer stolen", OPERATOR)
    after = signed_at(world, now - dt.timedelta(hours=1), 24)
    return url, before, after


def test_trust_list__an_older_list_is_refused_after_a_newer_one(world: World) -> None:
    url, before, after = revoked_scenario(world)
    pinned = world.ledger.signer.verifier
    newer = TrustList.open(after, pinned=pinned)
    assert labels.verify(url, newer, source="trust-list").reason == "revoked_key"
    seen = SeenLists().with_list(newer)
    # the older list would still say "genuine": with what this verifier saw, it is refused
    assert labels.verify(url, TrustList.open(before, pinned=pinned), source="trust-list").ok
    with pytest.raises(TrustListError, match=r"older than one this verifier already saw.*rollback") as caught:
        TrustList.open(before, pinned=pinned, seen=seen)
    assert newer.issued_at in str(caught.value)
    # the same list again, or a newer one, is fine; the memory keeps the newest only
    assert TrustList.open(after, pinned=pinned, seen=seen)
    assert seen.with_list(TrustList.open(before, pinned=pinned)) is seen
    assert SeenLists.parse(seen.to_text()).newest(newer.ledger_key) == newer.issued_at
    # another ledger's lists are remembered apart
    assert SeenLists().with_list(newer).newest("other/ledger+00000000+AAAA") is None


def test_trust_list__past_its_window_or_too_long_is_refused(world: World) -> None:
    pinned = world.ledger.signer.verifier
    now = utc.now()
    expired = signed_at(world, now - dt.timedelta(hours=25), 24)
    with pytest.raises(TrustListError, match="expired at"):
        TrustList.open(expired, pinned=pinned)
    longest = signed_at(world, now - dt.timedelta(hours=1), MAX_VALIDITY_HOURS)
    assert TrustList.open(longest, pinned=pinned)
    too_long = signed_at(world, now - dt.timedelta(hours=1), MAX_VALIDITY_HOURS + 1)
    with pytest.raises(TrustListError, match=f"73 hours of validity, more than the {MAX_VALIDITY_HOURS}"):
        TrustList.open(too_long, pinned=pinned)
    future = signed_at(world, now + dt.timedelta(hours=1), 24)
    with pytest.raises(TrustListError, match="later than this computer's clock"):
        TrustList.open(future, pinned=pinned)


def test_trust_list__served_for_24_hours_by_default(served: tuple[FlaskClient, World]) -> None:
    client, _ = served
    document = json.loads(client.get("/api/v1/trust-list").get_data(as_text=True).split("\n\n")[0])
    issued = dt.datetime.fromisoformat(document["issued_at"])
    assert dt.datetime.fromisoformat(document["expires_at"]) - issued == dt.timedelta(hours=24)


def test_settings__trust_list_hours_bounded_by_the_window(tmp_path: Path) -> None:
    env = {"TRACEFOOD_HOME": str(tmp_path)}
    assert load_settings(environ=env).trust_list_hours == 24
    assert load_settings(environ=env | {"TRACEFOOD_TRUST_LIST_HOURS": "72"}).trust_list_hours == 72
    with pytest.raises(
        InvalidParameter, match="TRACEFOOD_TRUST_LIST_HOURS: must be a whole number of hours from 1 to 72"
    ):
        load_settings(environ=env | {"TRACEFOOD_TRUST_LIST_HOURS": "73"})


def test_instance__remembers_the_newest_list_in_its_home(world: World, tmp_path: Path) -> None:
    _, before, after = revoked_scenario(world)
    pinned = world.ledger.signer.verifier
    instance = Instance(load_settings(environ={"TRACEFOOD_HOME": str(tmp_path)}))
    instance.remember_trust_list(TrustList.open(after, pinned=pinned))
    path = tmp_path / "trust-lists-seen.json"
    assert path.stat().st_mode & 0o777 == 0o600
    instance.remember_trust_list(TrustList.open(before, pinned=pinned))  # older: the newest is kept
    with pytest.raises(TrustListError, match="rollback"):
        TrustList.open(before, pinned=pinned, seen=instance.seen_trust_lists())
    path.write_text("{not json")
    with pytest.raises(TrustListError, match="record of trust lists already seen is damaged"):
        instance.seen_trust_lists()


def test_cli__label_verify_refuses_an_older_trust_list(world: World, tmp_path: Path) -> None:
    url, before, after = revoked_scenario(world)
    key = tmp_path / "ledger.pub"
    key.write_text(world.ledger.signer.verifier.encode() + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACEFOOD_")}
    env |= {"TRACEFOOD_HOME": str(tmp_path / "border"), "TRACEFOOD_TRUSTED_LEDGER_KEY": str(key)}
    env |= {"TRACEFOOD_DATABASE_URL": "sqlite:////nonexistent/x.db"}  # offline: no database
    for name, note in (("before", before), ("after", after)):
        (tmp_path / f"{name}.txt").write_text(note)

    def verify(name: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "tracefood", "label", "verify", url, "--trust-list", str(tmp_path / name)]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)

    assert verify("before.txt").returncode == 0  # the stale list alone still says genuine
    revoked = verify("after.txt")
    assert revoked.returncode == 1 and "revoked" in revoked.stdout
    rolled_back = verify("before.txt")
    assert rolled_back.returncode == 1
    assert "older than one this verifier already saw" in rolled_back.stderr + rolled_back.stdout
