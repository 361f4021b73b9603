"""The custody rule (tracefood.chain.projections.custody) through the public store, both engines:
what the outside review of issue 12 saw accepted, each refused with the ledger unchanged, and a
wrongly set hold lifted by the party that set it, as a ledger event."""

from __future__ import annotations

import pytest

from tests.chain.test_corrections import declare_erroneous, same_after_replay
from tests.chain.test_events import on_hand
from tests.factories import World, epcis_document, gtin, harvest, receive, ship, t
from tracefood.chain import lots as lots_view
from tracefood.chain import recall_withdrawal, recalls, trace
from tracefood.chain.registry import Actor
from tracefood.epcis.gs1_keys import lot_uri
from tracefood.errors import Conflict, Forbidden, InvalidEntry

ROMAINE = gtin("0754000100011")
A1 = lot_uri(ROMAINE, "A1")


def _at(world: World, location: str) -> str:
    return str(world.registry.get("location", location)["uri"])


def _refused(world: World, party: str, event: dict[str, object], match: str) -> None:
    size = world.ledger.size()
    with pytest.raises(InvalidEntry, match=match):
        world.record(party, event)
    assert world.ledger.size() == size


def test_custody__another_partys_lot_code_is_not_harvested_again(shipped: World) -> None:
    """A readable harvest of farm-a's A1 at farm-b's own field would give farm-b custody, open
    trace and the EPCIS query of farm-a's events to it, and let it label A1."""
    _refused(shipped, "farm-b", harvest("A1", "5", location="field-b", day=4), "another party's lot")
    assert on_hand(shipped, A1) == {_at(shipped, "field-a"): "500", _at(shipped, "packhouse"): "300"}
    shipped.record("farm-a", harvest("A1", "5", day=4))  # its producer may add to it
    assert on_hand(shipped, A1)[_at(shipped, "field-a")] == "505"


def test_custody__a_transformation_cannot_output_an_existing_lot(shipped: World) -> None:
    shipped.record("farm-b", harvest("B1", "50", location="field-b"))
    transform = {"kind": "transform", "time": t(4), "location": "field-b",
                 "inputs": [{"product": "romaine", "lot": "B1", "quantity": "10"}],
                 "outputs": [{"product": "romaine", "lot": "A1", "quantity": "10"}]}  # fmt: skip
    _refused(shipped, "farm-b", transform, "another party's lot")
    document = epcis_document(
        {
            "type": "TransformationEvent",
            "eventTime": "2026-08-04T08:00:00-04:00",
            "eventTimeZoneOffset": "-04:00",
            "inputQuantityList": [{"epcClass": lot_uri(ROMAINE, "B1"), "quantity": 10, "uom": "KGM"}],
            "outputQuantityList": [{"epcClass": A1, "quantity": 10, "uom": "KGM"}],
        }
    )
    with pytest.raises(InvalidEntry, match="another party's lot"):
        shipped.store.capture(document, shipped.actor("farm-b"))
    back = trace.trace(shipped.ledger.engine, A1, "back")
    assert set(back["lots"]) == {A1}  # A1 does not trace back to farm-b's inputs


def test_custody__the_addressee_receives_only_what_was_shipped_to_it(shipped: World) -> None:
    shipped.record("farm-a", ship("A1", "100", to="dc-ny", day=4, number="BOL-2"))
    stray = receive("A1", "100", at="field-b", frm="field-a", day=5, number="BOL-2")
    _refused(shipped, "farm-b", stray, "not shipped to")
    shipped.record("dist", receive("A1", "100", at="dc-ny", frm="field-a", day=5, number="BOL-2"))
    assert on_hand(shipped, A1)[_at(shipped, "dc-ny")] == "100"


def test_custody__only_a_holder_destroys_and_a_whole_destruction_takes_only_its_stock(shipped: World) -> None:
    destroy = {"kind": "destroy", "time": t(4), "location": "field-b",
               "items": [{"product": "romaine", "lot": "A1", "quantity": "1"}]}  # fmt: skip
    _refused(shipped, "farm-b", destroy, "not in your custody")
    whole = epcis_document(
        {
            "type": "ObjectEvent",
            "eventTime": "2026-08-04T08:00:00-04:00",
            "eventTimeZoneOffset": "-04:00",
            "action": "DELETE",
            "bizStep": "destroying",
            "quantityList": [{"epcClass": A1}],
            "bizLocation": {"id": shipped.registry.get("location", "packhouse")["uri"]},
        }
    )
    shipped.store.capture(whole, shipped.actor("packer"))  # the packer destroys all it has
    detail = lots_view.lot_detail(shipped.ledger.engine, A1)
    assert detail["status"] != "destroyed"  # farm-a still has 500: A1 is not destroyed for it
    assert on_hand(shipped, A1) == {_at(shipped, "field-a"): "500"}
    assert same_after_replay(shipped)


def test_custody__a_hold_is_set_by_a_holder_or_an_inspector_and_lifted_by_who_set_it(shipped: World) -> None:
    failed = {"kind": "inspect", "time": t(4), "location": "packhouse", "result": "non_conformant",
              "items": [{"product": "romaine", "lot": "A1"}]}  # fmt: skip
    _refused(shipped, "farm-b", failed | {"location": "field-b"}, "only an inspector may hold it")
    (held,) = shipped.record("agency", failed)
    assert lots_view.lot_detail(shipped.ledger.engine, A1)["status"] == "on_hold"
    with pytest.raises(Exception, match="only agency"):  # the holder cannot lift the inspector's hold
        declare_erroneous(shipped, "packer", held.seq)
    declare_erroneous(shipped, "agency", held.seq)  # the inspector lifts it, as a ledger event
    assert lots_view.lot_detail(shipped.ledger.engine, A1)["status"] == "active"
    assert same_after_replay(shipped)


def test_custody__a_recall_issued_in_error_is_withdrawn_by_its_issuer(shipped: World) -> None:
    officer = shipped.actor("agency", "recall_officer")
    body = {"seeds": {"lots": [A1]}, "class": "II", "reason": "wrong lot keyed in"}
    opened = recalls.issue(shipped.ledger, body, officer)
    assert lots_view.lot_detail(shipped.ledger.engine, A1)["status"] == "recalled"
    size = shipped.ledger.size()
    with pytest.raises(Forbidden, match="only agency"):  # another party's officer cannot
        recall_withdrawal.withdraw(shipped.ledger, opened["id"], Actor("recall_officer", "dist", "x"), "no")
    with pytest.raises(InvalidEntry):
        recall_withdrawal.withdraw(shipped.ledger, opened["id"], officer, " ")
    assert shipped.ledger.size() == size
    withdrawn = recall_withdrawal.withdraw(shipped.ledger, opened["id"], officer, "the seed lot was mistyped")
    assert withdrawn["status"] == "closed" and shipped.ledger.size() == size + 1
    assert lots_view.lot_detail(shipped.ledger.engine, A1)["status"] == "active"
    with pytest.raises(Conflict):
        recall_withdrawal.withdraw(shipped.ledger, opened["id"], officer, "again")
    assert same_after_replay(shipped)
