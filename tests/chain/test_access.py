"""The one rule for who may see a lot (tracefood.chain.access): every role against every part a
party can have in a lot, on both engines, from events recorded through the public store."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from tests.chain.test_corrections import declare_erroneous
from tests.factories import World, gtin, harvest, receive, ship, t
from tracefood.chain import access, query
from tracefood.chain.registry import Actor
from tracefood.chain.tables import lots
from tracefood.epcis.gs1_keys import lot_uri
from tracefood.errors import Forbidden, InvalidParameter, NotFound, TraceFoodError

ROMAINE = gtin("0754000100011")
A1, P1, T1 = (lot_uri(ROMAINE, code) for code in ("A1", "P1", "T1"))

RELATIONS: dict[str, tuple[str, str]] = {
    "produced": ("farm-a", P1),  # harvested it, never moved it
    "shipped": ("farm-a", A1),  # harvested and shipped all of it: its stock row is at zero
    "held": ("packer", A1),  # received 100, shipped 40, holds 60
    "received": ("dist", A1),  # received the packer's 40
    "receiving": ("dist", T1),  # a shipment of T1 is on its way to dist
    "carried": ("carrier", A1),  # named carrier of farm-a's shipment
    "observed": ("agency", A1),  # inspected A1 at the packhouse: not a part in it
    "unrelated": ("farm-b", P1),
}
GRANTING = {"produced", "shipped", "held", "received", "receiving", "carried"}


@pytest.fixture
def chain(world: World) -> World:
    world.record("farm-a", harvest("A1", "100"))
    world.record("farm-a", harvest("P1", "10"))
    world.record("farm-a", harvest("T1", "10"))
    world.record("farm-a", ship("A1", "100") | {"carrier": "carrier"})
    world.record("packer", receive("A1", "100"))
    world.record("agency", {"kind": "inspect", "time": t(3, "09:00"), "location": "packhouse", "result": "conformant",
                            "items": [{"product": "romaine", "lot": "A1"}]})  # fmt: skip
    world.record("packer", ship("A1", "40", frm="packhouse", to="dc-ny", day=4, number="BOL-2"))
    world.record("dist", receive("A1", "40", at="dc-ny", frm="packhouse", day=5, number="BOL-2"))
    world.record("farm-a", ship("T1", "10", to="dc-ny", day=4, number="BOL-3"))
    return world


def _row(world: World, key: str) -> Any:
    with world.ledger.engine.connect() as conn:
        return conn.execute(select(lots).where(lots.c.key == key)).one()


def _listed(world: World, actor: Actor) -> set[str]:
    condition = access.visible_lots(actor)
    stmt = select(lots.c.key) if condition is None else select(lots.c.key).where(condition)
    with world.ledger.engine.connect() as conn:
        return set(conn.execute(stmt).scalars())


@pytest.mark.parametrize("role", access.ROLES)
@pytest.mark.parametrize("relation", list(RELATIONS))
def test_access__role_by_part_in_the_lot(chain: World, role: str, relation: str) -> None:
    party, key = RELATIONS[relation]
    actor = Actor(role, party, "test")
    expected = role in access.READS_EVERY_LOT or relation in GRANTING
    row = _row(chain, key)
    with chain.ledger.engine.connect() as conn:
        assert access.may_see_lot(conn, actor, row) is expected
        if expected:
            assert access.resolve_lot(conn, key, actor).id == row.id
        else:
            with pytest.raises(NotFound):  # as unknown: no existence oracle (issue 12)
                access.resolve_lot(conn, key, actor)
    # the SQL form (EPCIS query, lists) says the same as the one-lot check
    assert (key in _listed(chain, actor)) is expected


def test_access__a_party_sees_exactly_the_lots_it_has_a_part_in(chain: World) -> None:
    seen = {party: _listed(chain, chain.actor(party)) for party in ("farm-a", "packer", "dist", "carrier", "farm-b")}
    assert seen == {
        "farm-a": {A1, P1, T1},
        "packer": {A1},
        "dist": {A1, T1},
        "carrier": {A1},
        "farm-b": set(),
    }
    for reader in ("agency", "admin-party"):
        assert access.visible_lots(chain.actor(reader)) is None
    assert _listed(chain, Actor("producer", None, "no party")) == set()
    with chain.ledger.engine.connect() as conn:
        assert not access.may_see_lot(conn, None, _row(chain, A1))  # no token: the public label page only


def test_access__a_shipment_declared_erroneous_gives_no_part(world: World) -> None:
    """A shipment recorded by mistake and declared erroneous never happened: neither the party it
    was addressed to nor its carrier sees the lot through it (the sender still does)."""
    c1 = lot_uri(ROMAINE, "C1")
    world.record("farm-a", harvest("C1", "10"))
    (sent,) = world.record("farm-a", ship("C1", "10", to="dc-ny", number="BOL-9") | {"carrier": "carrier"})
    declare_erroneous(world, "farm-a", sent.seq)
    row = _row(world, c1)
    with world.ledger.engine.connect() as conn:
        assert access.may_see_lot(conn, world.actor("farm-a"), row)
        for party in ("dist", "carrier"):
            assert not access.may_see_lot(conn, world.actor(party), row)
            assert c1 not in _listed(world, world.actor(party))


def test_access__labelling_is_narrower_than_seeing(chain: World) -> None:
    """Custodians sign labels: neither the carrier nor a party the lot is still travelling to."""
    with chain.ledger.engine.connect() as conn:
        a1, t1 = _row(chain, A1), _row(chain, T1)
        assert access.custodians(conn, a1.id, a1.party_id) == {"farm-a", "packer", "dist"}
        assert access.custodians(conn, t1.id, t1.party_id) == {"farm-a"}
        for party, key in (("carrier", A1), ("dist", T1)):
            assert access.may_see_lot(conn, chain.actor(party), _row(chain, key))


@pytest.mark.parametrize(
    ("identifier", "error", "status"),
    [
        ("not an id", InvalidParameter, 400),
        ("urn:epc:class:lgtin:754000.0100011", InvalidParameter, 400),
        (lot_uri(ROMAINE, "NOPE"), NotFound, 404),
        ("urn:epc:id:sscc:754000.00000000099", NotFound, 404),
    ],
)
def test_resolve_lot__malformed_is_400_unknown_is_404(
    chain: World, identifier: str, error: type[TraceFoodError], status: int
) -> None:
    with chain.ledger.engine.connect() as conn, pytest.raises(error) as caught:
        access.resolve_lot(conn, identifier, chain.actor("farm-a"))
    assert caught.value.status == status
    assert caught.value.errors[0]["field"] == "id"


def test_resolve_lot__every_spelling_of_one_lot(chain: World) -> None:
    with chain.ledger.engine.connect() as conn:
        for spelling in (A1, f" {A1} ", "urn:epc:class:lgtin:754000.0100011.A1", f"/01/{ROMAINE}/10/A1"):
            assert access.resolve_lot(conn, spelling).key == A1, spelling


def test_resolve_lot__a_lot_not_seen_is_answered_as_unknown(chain: World) -> None:
    """Issue 12: a lot the caller may not see and a lot the ledger does not have get the same 404,
    detail and errors alike (only the key differs), so GTIN and lot codes cannot be enumerated."""
    unknown = A1.replace("/10/A1", "/10/NOPE")
    answers = []
    for key in (A1, unknown):
        with chain.ledger.engine.connect() as conn, pytest.raises(NotFound) as caught:
            access.resolve_lot(conn, key, chain.actor("farm-b"), field="seeds")
        answers.append((caught.value.status, caught.value.detail.replace(key, "KEY"), caught.value.errors))
    assert answers[0] == answers[1]
    assert answers[0][0] == 404 and answers[0][2] == [{"field": "seeds", "reason": "unknown"}]


def test_access__listing_lots_is_for_ones_own_party(chain: World) -> None:
    assert access.may_list_party(chain.actor("farm-a"), None) == "farm-a"
    assert access.may_list_party(chain.actor("farm-a"), "farm-a") == "farm-a"
    assert access.may_list_party(chain.actor("agency"), None) is None
    assert access.may_list_party(chain.actor("admin-party"), "farm-b") == "farm-b"
    for actor, party in ((chain.actor("farm-a"), "farm-b"), (Actor("carrier", None, "x"), None)):
        with pytest.raises(Forbidden):
            access.may_list_party(actor, party)


def test_access__role_sets_name_known_roles_once() -> None:
    sets = (access.READS_EVERY_LOT, access.RUNS_RECALLS, access.SEES_EVERY_CONTACT, access.MANAGES_REGISTRY,
            access.ISSUES_LABELS, access.RECORDS_EVENTS, access.RECORDS_ON_FORMS)  # fmt: skip
    for roles in sets:
        assert set(roles) <= set(access.ROLES) and len(set(roles)) == len(roles)
    assert set(access.RUNS_RECALLS) <= set(access.READS_EVERY_LOT)
    assert not set(access.READS_EVERY_LOT) & {"producer", "carrier"}


def test_query_known_keys__a_lot_not_seen_is_unknown_to_the_epcis_query(chain: World) -> None:
    """Issue 12: the EPCIS query accepts an id it cannot parse (a lenient import's) only if the
    ledger has it; for a caller that may not see the lot, it is as unknown (a 400 like any)."""
    unknown = lot_uri(ROMAINE, "NOPE")
    assert [query.known_keys(chain.ledger.engine, chain.actor("farm-b"))(k) for k in (P1, unknown)] == [False, False]
    assert [query.known_keys(chain.ledger.engine, chain.actor("farm-a"))(k) for k in (P1, unknown)] == [True, False]
    assert [query.known_keys(chain.ledger.engine, chain.actor("agency"))(k) for k in (P1, unknown)] == [True, False]
