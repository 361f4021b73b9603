"""The synthetic supply-chain generator (``tools/synth.py``): deterministic by seed, exact in size,
every event accepted by the public append path, and a ground truth the projections agree with."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from tracefood.chain.tables import MICRO, events, locations, lot_links, lots, shipments
from tracefood.epcis.readable import KINDS
from tracefood.ledger import Ledger

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
import synth  # a developer tool, imported from its folder

SIZE = 2_000


def _stream(events: int, seed: int) -> list[tuple[str, str, list[dict[str, Any]]]]:
    return list(synth.generate(events, seed))


def test_generate__same_seed_same_events_and_hash_ids() -> None:
    first = json.dumps(_stream(1_500, 1), sort_keys=True)
    assert json.dumps(_stream(1_500, 1), sort_keys=True) == first
    assert synth.hash_ids(1_500, 1) == synth.hash_ids(1_500, 1)
    assert len(set(synth.hash_ids(1_500, 1))) == 1_500


def test_generate__another_seed_differs() -> None:
    ones, twos = synth.hash_ids(1_500, 1), synth.hash_ids(1_500, 2)
    assert not set(ones) & set(twos)
    assert synth.registry(1, 1_500) != synth.registry(2, 1_500)


@pytest.mark.parametrize("size", [1_000, 2_000, 7_777])
def test_generate__exactly_the_size_asked(size: int) -> None:
    assert sum(len(chunk) for _, _, chunk in synth.generate(size, 3)) == size


def test_generate__every_kind_in_the_mix() -> None:
    truth = synth.Truth()
    for _ in synth.generate(SIZE, 1, truth):
        pass
    assert set(truth.kinds) == set(KINDS)
    assert all(truth.kinds[k] > 0 for k in KINDS), truth.kinds
    assert truth.late_additions, "no lot was added to a pallet after the pallet was shipped"
    assert truth.in_transit(), "nothing is left in transit"
    reused = Counter(m[0] for m in truth.memberships if truth.units[m[0]] == "container")
    assert any(n > 6 for n in reused.values()), "no container was loaded again"  # > one load of 2-6 pallets
    splits = Counter(
        key
        for s in truth.shipments
        if s["from_party"].startswith("dc")
        for key, qty in s["lines"]
        if qty is not None and "/10/" in key
    )
    assert max(splits.values()) >= 2, "no lot was split across customers"
    json.dumps(truth.to_json())


def test_generate__times_in_the_past_and_ordered_per_party() -> None:
    last: dict[str, str] = {}
    for party, _, chunk in synth.generate(SIZE, 1):
        times = [e["time"] for e in chunk]
        assert times == sorted(times), party  # one day's work: no daylight saving change inside
        last[party] = times[-1]
    assert max(last.values()) < "2025-02"
    assert synth.stamp(synth.local(180, 6.5)) == "2025-06-30T06:30:00-04:00"
    assert synth.stamp(synth.local(10, 6.5)) == "2025-01-11T06:30:00-05:00"


def test_batches__one_party_per_batch_and_bounded() -> None:
    stream = [("a", "producer", [{"n": i} for i in range(5)]), ("a", "producer", [{"n": 5}]), ("b", "carrier", [{}])]
    assert [(p, len(b)) for p, _, b in synth.batches(stream, 4)] == [("a", 4), ("a", 2), ("b", 1)]


def test_world__grows_with_size_and_stays_in_the_past() -> None:
    small, large = synth.build_world(1, 10_000), synth.build_world(1, 1_000_000)
    assert small.census()["farms"] < large.census()["farms"]
    assert large.days <= synth.LAST_DAY
    assert all(row["ftl"] and row["gtin"] for entity, row in large.rows if entity == "product")


# -- through the ledger, on SQLite and PostgreSQL ---------------------------------------------------


@pytest.fixture
def loaded(ledger: Ledger) -> tuple[Ledger, synth.Summary]:
    return ledger, synth.load(ledger, SIZE, 1)


def _rows(ledger: Ledger, stmt: Any) -> list[tuple[Any, ...]]:
    with ledger.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(stmt)]


def _micro(value: int | None) -> int | None:
    return None if value is None else value // MICRO


def test_load__every_event_accepted(loaded: tuple[Ledger, synth.Summary]) -> None:
    ledger, summary = loaded
    assert summary.events == SIZE and summary.first_seq == 0
    stored = _rows(ledger, select(events.c.hash_id).order_by(events.c.seq))
    assert [h for (h,) in stored] == synth.hash_ids(SIZE, 1)
    kinds = dict(_rows(ledger, select(events.c.kind, func.count()).group_by(events.c.kind)))
    assert kinds == dict(summary.truth.kinds)  # type: ignore[union-attr]
    assert all(kinds.get(k, 0) > 0 for k in KINDS)


def test_load__projections_agree_with_the_truth(loaded: tuple[Ledger, synth.Summary]) -> None:
    ledger, summary = loaded
    truth = summary.truth
    assert truth is not None
    counts = dict(_rows(ledger, select(lots.c.kind, func.count()).group_by(lots.c.kind)))
    assert counts == {"lot": len(truth.lots), "sscc": len(truth.units)}
    assert summary.lots == len(truth.lots)

    parent, child = aliased(lots), aliased(lots)
    linked = (
        select(parent.c.key, child.c.key, lot_links.c.quantity, lot_links.c.seq, lot_links.c.removed_seq)
        .join(parent, parent.c.id == lot_links.c.parent_id)
        .join(child, child.c.id == lot_links.c.child_id)
    )
    edges = _rows(ledger, linked.where(lot_links.c.kind == "transform"))
    assert sorted((p, c, _micro(q), s) for p, c, q, s, _ in edges) == sorted(
        (e[0], e[1], e[2], e[4]) for e in truth.edges
    )
    contains = _rows(ledger, linked.where(lot_links.c.kind == "contains"))
    assert sorted((p, c, _micro(q), s, r) for p, c, q, s, r in contains) == sorted(tuple(m) for m in truth.memberships)

    uri = dict(_rows(ledger, select(locations.c.id, locations.c.uri)))
    moving = _rows(
        ledger,
        select(
            shipments.c.ship_seq,
            lots.c.key,
            shipments.c.quantity,
            shipments.c.from_location,
            shipments.c.to_location,
            shipments.c.from_party,
            shipments.c.to_party,
            shipments.c.carrier,
        )
        .join(lots, lots.c.id == shipments.c.lot_id)
        .where(shipments.c.status == "in_transit"),
    )

    def parties(r: dict[str, Any]) -> tuple[str, str, str | None]:
        return r["from_party"], r["to_party"], r["carrier"]

    expected = [
        (r["seq"], r["object"], r["quantity"], uri[r["from_location"]], uri[r["to_location"]], *parties(r))
        for r in truth.in_transit()
    ]
    assert expected
    assert sorted((s, k, _micro(q), *rest) for s, k, q, *rest in moving) == sorted(expected)
