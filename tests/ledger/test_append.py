"""Appending to the ledger, on SQLite and PostgreSQL: idempotency, atomic batches, the
envelope and hash chain, proof parameters, signed checkpoints, and the append-only triggers."""

from __future__ import annotations

import base64
import gc
import os
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from tracefood.errors import (
    Conflict,
    IntegrityError,
    InvalidEntry,
    InvalidParameter,
    LedgerKeyError,
    NotFound,
    NotInitialised,
)
from tracefood.ledger import Ledger, NewEntry, Write, merkle
from tracefood.ledger.canonical import canonical_bytes
from tracefood.ledger.models import checkpoints, entries, node_id, nodes
from tracefood.ledger.note import open_checkpoint

TABLES = ("ledger_entries", "ledger_nodes", "ledger_checkpoints")
ZERO_HASH_B64 = base64.b64encode(bytes(32)).decode()


def lots(start: int, count: int) -> list[NewEntry]:
    return [NewEntry({"lot": f"LOT-{i}", "kg": "12.5"}, entry_id=f"lot-{i}") for i in range(start, start + count)]


def row_counts(ledger: Ledger) -> tuple[int, int, int]:
    with ledger.engine.connect() as conn:
        return tuple(  # type: ignore[return-value]
            conn.execute(select(func.count()).select_from(t)).scalar_one() for t in (entries, nodes, checkpoints)
        )


def sql(ledger: Ledger, statement: str, **params: object) -> None:
    with ledger.engine.begin() as conn:
        conn.execute(text(statement), params)


def is_pg(ledger: Ledger) -> bool:
    return ledger.engine.dialect.name == "postgresql"


# -- idempotency -----------------------------------------------------------------------------


def test_append__same_id_and_payload_returns_the_same_receipt(ledger: Ledger) -> None:
    first = ledger.append({"lot": "A", "kg": "1"}, entry_id="e-1")
    ledger.append({"lot": "B"}, entry_id="e-2")
    again = ledger.append({"kg": "1", "lot": "A"}, entry_id="e-1")  # same content, other key order
    assert first.created
    assert not again.created
    assert (again.seq, again.entry_id, again.leaf_hash, again.recorded) == (
        first.seq,
        first.entry_id,
        first.leaf_hash,
        first.recorded,
    )
    assert ledger.size() == 2
    assert row_counts(ledger)[0] == 2


def test_append__without_id_is_idempotent_by_content(ledger: Ledger) -> None:
    first = ledger.append({"lot": "A"})
    again = ledger.append({"lot": "A"})
    other_kind = ledger.append({"lot": "A"}, kind="recall")
    assert first.entry_id.startswith("sha-256:")
    assert (again.seq, again.created) == (first.seq, False)
    assert other_kind.created and other_kind.seq == 1
    assert ledger.size() == 2


def test_append_batch__repeat_inside_one_batch_is_recorded_once(ledger: Ledger) -> None:
    receipts = ledger.append_batch([NewEntry({"a": 1}, "x"), NewEntry({"b": 2}, "y"), NewEntry({"a": 1}, "x")])
    assert [(r.seq, r.created) for r in receipts] == [(0, True), (1, True), (0, False)]
    assert receipts[2].leaf_hash == receipts[0].leaf_hash
    assert ledger.size() == 2


def test_append_batch__replaying_a_whole_batch_changes_nothing(ledger: Ledger) -> None:
    first = ledger.append_batch(lots(0, 5))
    counts = row_counts(ledger)
    again = ledger.append_batch(lots(0, 5))
    assert [(r.seq, r.leaf_hash, r.recorded) for r in again] == [(r.seq, r.leaf_hash, r.recorded) for r in first]
    assert not any(r.created for r in again)
    assert row_counts(ledger) == counts


@pytest.mark.parametrize(
    "clash",
    [
        NewEntry({"lot": "A", "kg": "2"}, "e-1"),  # other payload
        NewEntry({"lot": "A", "kg": "1"}, "e-1", kind="recall"),  # other kind
    ],
    ids=["payload", "kind"],
)
def test_append_batch__same_id_with_other_content_refuses_the_whole_batch(ledger: Ledger, clash: NewEntry) -> None:
    ledger.append({"lot": "A", "kg": "1"}, entry_id="e-1")
    counts = row_counts(ledger)
    with pytest.raises(Conflict) as info:
        ledger.append_batch([NewEntry({"lot": "new"}, "e-2"), clash, NewEntry({"lot": "new"}, "e-3")])
    assert info.value.errors == [{"field": "/1/entry_id", "reason": "already recorded with different content"}]
    assert info.value.status == 409
    assert ledger.size() == 1
    assert row_counts(ledger) == counts
    for entry_id in ("e-2", "e-3"):
        with pytest.raises(NotFound):
            ledger.entry_by_id(entry_id)


def test_append_batch__same_id_twice_in_one_batch_with_other_content_is_a_conflict(ledger: Ledger) -> None:
    with pytest.raises(Conflict) as info:
        ledger.append_batch([NewEntry({"a": 1}, "x"), NewEntry({"a": 2}, "x")])
    assert info.value.errors[0]["field"] == "/1/entry_id"
    assert ledger.size() == 0
    assert row_counts(ledger) == (0, 0, 0)


# -- atomic batches --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"lot": "X", "kg": 12.5}, "/2/payload/kg"),
        ({"lot": "X", "lines": [{"kg": "1"}, {"kg": 1e3}]}, "/2/payload/lines/1/kg"),
        ({"lot": "X", "count": 2**53}, "/2/payload/count"),
        ({"lot": "X", "by": {7: "key"}}, "/2/payload/by"),
    ],
    ids=["float", "nested-float", "big-int", "int-key"],
)
def test_append_batch__invalid_item_in_the_middle_writes_nothing(
    ledger: Ledger, bad: dict[str, Any], field: str
) -> None:
    ledger.append_batch(lots(0, 3))
    counts = row_counts(ledger)
    items = [*lots(3, 2), NewEntry(bad, "bad"), *lots(5, 2)]
    with pytest.raises(InvalidEntry) as info:
        ledger.append_batch(items)
    assert [e["field"] for e in info.value.errors] == [field]
    assert info.value.status == 422
    assert ledger.size() == 3
    assert row_counts(ledger) == counts


@pytest.mark.parametrize(
    ("item", "field"),
    [
        (NewEntry(["not", "an", "object"]), "/1/payload"),  # type: ignore[arg-type]
        (NewEntry({"a": 1}, entry_id=""), "/1/entry_id"),
        (NewEntry({"a": 1}, entry_id="x" * 256), "/1/entry_id"),
        (NewEntry({"a": 1}, entry_id="line\nbreak"), "/1/entry_id"),
        (NewEntry({"a": 1}, kind=""), "/1/kind"),
        (NewEntry({"a": 1}, party=1.5), "/1/party"),  # type: ignore[arg-type]
        (NewEntry({"a": 1}, party="tab\there"), "/1/party"),
        (NewEntry({"a": 1}, party="p" * 256), "/1/party"),
    ],
    ids=[
        "payload-not-object",
        "empty-id",
        "long-id",
        "unprintable-id",
        "empty-kind",
        "float-party",
        "unprintable-party",
        "long-party",
    ],
)
def test_append_batch__invalid_envelope_field_writes_nothing(ledger: Ledger, item: NewEntry, field: str) -> None:
    with pytest.raises(InvalidEntry) as info:
        ledger.append_batch([*lots(0, 1), item, *lots(1, 1)])
    assert [e["field"] for e in info.value.errors] == [field]
    assert row_counts(ledger) == (0, 0, 0)


@pytest.mark.parametrize(
    "payload",
    [
        {"lot": "X", "note": "\ud800"},
        {"\U0001f41f": "fish", "note": "\ud800"},  # a key above U+FFFF: the reference encoder
    ],
    ids=["fast-path", "reference-path"],
)
def test_append_batch__lone_surrogate_in_payload_is_an_invalid_entry(ledger: Ledger, payload: dict[str, str]) -> None:
    # A str that cannot be UTF-8 encoded must be refused like any other non-JSON value,
    # naming the field, and nothing written.
    with pytest.raises(InvalidEntry) as info:
        ledger.append_batch([*lots(0, 1), NewEntry(payload, "bad")])
    assert [e["field"] for e in info.value.errors] == ["/1/payload/note"]
    assert row_counts(ledger) == (0, 0, 0)


def test_write__failing_work_after_the_append_rolls_the_batch_back(ledger: Ledger) -> None:
    ledger.append_batch(lots(0, 2))
    counts = row_counts(ledger)

    def projection(w: Write) -> None:
        assert [r.seq for r in w.append(lots(2, 2))] == [2, 3]
        w.conn.execute(text("SELECT 1"))  # the work's own statements share the transaction
        raise RuntimeError("projection failed")

    with pytest.raises(RuntimeError, match="projection failed"):
        ledger.write(projection)
    assert row_counts(ledger) == counts
    assert [r.seq for r in ledger.write(lambda w: w.append(lots(2, 2)))] == [2, 3]


def test_append_batch__entry_over_the_size_limit_writes_nothing(ledger: Ledger) -> None:
    with pytest.raises(InvalidEntry) as info:
        ledger.append_batch([*lots(0, 1), NewEntry({"blob": "x" * (1 << 20)}, "big")])
    assert info.value.errors == [{"field": "/1/payload", "reason": "too large"}]
    assert row_counts(ledger) == (0, 0, 0)


# -- the envelope and the hash chain ---------------------------------------------------------


def test_append__envelope_fields_and_prev_chain(ledger: Ledger) -> None:
    receipts = ledger.append_batch(lots(0, 3))
    receipts += [ledger.append({"lot": "single"}, entry_id="single", party="farm-7")]
    receipts += ledger.append_batch(lots(3, 2))
    assert [r.seq for r in receipts] == list(range(6))
    previous = bytes(32)
    for r in receipts:
        stored = ledger.entry(r.seq)
        env = stored.envelope
        assert set(env) == {"v", "seq", "id", "kind", "party", "prev", "recorded", "payload"}
        assert (env["v"], env["seq"], env["id"], env["kind"]) == (1, r.seq, r.entry_id, "event")
        assert env["prev"] == base64.b64encode(previous).decode()
        assert env["recorded"] == r.recorded
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", env["recorded"])
        assert stored.body == canonical_bytes(env)  # stored exactly as hashed
        assert stored.leaf_hash == r.leaf_hash == merkle.leaf_hash(stored.body)
        assert ledger.entry_by_id(r.entry_id) == stored
        previous = stored.leaf_hash
    assert ledger.entry(0).envelope["prev"] == ZERO_HASH_B64
    assert ledger.entry(3).envelope["party"] == "farm-7"
    assert ledger.entry(0).envelope["party"] is None
    assert ledger.entry(4).envelope["payload"] == {"lot": "LOT-3", "kg": "12.5"}
    assert len({r.recorded for r in receipts[:3]}) == 1  # one batch, one record time


def test_append__root_matches_the_leaves(ledger: Ledger) -> None:
    ledger.append_batch(lots(0, 7))
    leaves = [ledger.entry(i).leaf_hash for i in range(7)]
    for n in range(8):
        assert ledger.root(n) == (n, merkle.root_of(leaves[:n]))
    assert ledger.root() == (7, merkle.root_of(leaves))


def test_ledger__unknown_entry_is_not_found(ledger: Ledger) -> None:
    ledger.append_batch(lots(0, 2))
    with pytest.raises(NotFound):
        ledger.entry(2)
    with pytest.raises(NotFound):
        ledger.entry_by_id("nope")


# -- proof parameters ------------------------------------------------------------------------


@pytest.fixture
def five(ledger: Ledger) -> Ledger:
    ledger.append_batch(lots(0, 5))
    return ledger


def test_inclusion_proof__verifies_for_every_index(five: Ledger) -> None:
    for n in range(1, 6):
        for i in range(n):
            p = five.inclusion_proof(i, n)
            assert (p.index, p.size, p.leaf_hash) == (i, n, five.entry(i).leaf_hash)
            merkle.verify_inclusion(i, n, p.leaf_hash, p.path, five.root(n)[1])
    assert five.inclusion_proof(2).size == 5


def test_consistency_proof__verifies_for_every_pair(five: Ledger) -> None:
    for n in range(1, 6):
        for m in range(1, n + 1):
            c = five.consistency_proof(m, n)
            assert (c.first, c.second) == (m, n)
            assert (c.first_root, c.second_root) == (five.root(m)[1], five.root(n)[1])
            merkle.verify_consistency(m, n, c.path, c.first_root, c.second_root)
    assert five.consistency_proof(2).second == 5


@pytest.mark.parametrize(
    "call",
    [
        lambda lg: lg.inclusion_proof(0, 6),
        lambda lg: lg.inclusion_proof(5, 6),
        lambda lg: lg.consistency_proof(1, 6),
        lambda lg: lg.consistency_proof(6, 7),
        lambda lg: lg.root(6),
    ],
    ids=["inclusion-size", "inclusion-index-and-size", "consistency-to", "consistency-both", "root"],
)
def test_proofs__beyond_the_size_are_not_found(five: Ledger, call: Any) -> None:
    with pytest.raises(NotFound) as info:
        call(five)
    assert info.value.status == 404


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda lg: lg.inclusion_proof(-1), "index"),
        (lambda lg: lg.inclusion_proof(5), "index"),
        (lambda lg: lg.inclusion_proof(3, 3), "index"),
        (lambda lg: lg.inclusion_proof(0, 0), "index"),
        (lambda lg: lg.inclusion_proof(0, -1), "size"),
        (lambda lg: lg.consistency_proof(0, 5), "from"),
        (lambda lg: lg.consistency_proof(0), "from"),
        (lambda lg: lg.consistency_proof(-1, 3), "from"),
        (lambda lg: lg.consistency_proof(4, 3), "from"),
        (lambda lg: lg.consistency_proof(1, -1), "to"),
        (lambda lg: lg.root(-1), "size"),
    ],
    ids=[
        "inclusion-negative-index",
        "inclusion-index-at-size",
        "inclusion-index-at-given-size",
        "inclusion-empty-tree",
        "inclusion-negative-size",
        "consistency-from-zero",
        "consistency-from-zero-to-current",
        "consistency-negative-from",
        "consistency-from-after-to",
        "consistency-negative-to",
        "root-negative-size",
    ],
)
def test_proofs__bad_parameters_are_invalid(five: Ledger, call: Any, field: str) -> None:
    with pytest.raises(InvalidParameter) as info:
        call(five)
    assert [e["field"] for e in info.value.errors] == [field]
    assert info.value.status == 400


def test_inclusion_proof__empty_ledger_is_invalid_parameter(ledger: Ledger) -> None:
    with pytest.raises(InvalidParameter, match="empty"):
        ledger.inclusion_proof(0)


# -- checkpoints -----------------------------------------------------------------------------


def test_checkpoint__signed_and_verifiable(five: Ledger) -> None:
    signed = five.checkpoints.sign()
    cp = open_checkpoint(signed.note, five.verifier)
    assert cp == signed.checkpoint
    assert (cp.origin, cp.size, cp.root) == ("test.tracefood/ledger", 5, five.root()[1])
    assert five.latest_checkpoint() == signed


def test_checkpoint__same_checkpoint_while_the_tree_does_not_grow(five: Ledger) -> None:
    first = five.checkpoints.sign()
    five.append_batch(lots(0, 5))  # idempotent replay: no growth
    again = five.checkpoints.sign()
    assert again.note == first.note
    assert row_counts(five)[2] == 1


def test_checkpoint__new_one_after_appends_and_consistent_with_the_old(five: Ledger) -> None:
    old = five.checkpoints.sign()
    five.append_batch(lots(5, 3))
    new = five.checkpoints.sign()
    assert new.size == 8
    assert new.note != old.note
    assert five.latest_checkpoint() == new
    proof = five.consistency_proof(old.size, new.size)
    merkle.verify_consistency(old.size, new.size, proof.path, old.checkpoint.root, new.checkpoint.root)
    assert row_counts(five)[2] == 2


def test_checkpoint__of_the_empty_ledger_then_of_a_grown_one(ledger: Ledger) -> None:
    empty = ledger.checkpoints.sign()
    assert (empty.size, empty.checkpoint.root) == (0, merkle.EMPTY_ROOT)
    ledger.append_batch(lots(0, 2))
    assert ledger.checkpoints.sign().size == 2


def test_checkpoint__without_the_key_is_refused(five: Ledger) -> None:
    keyless = Ledger(five.engine)
    with pytest.raises(LedgerKeyError):
        keyless.checkpoints.sign()
    with pytest.raises(LedgerKeyError):
        _ = keyless.verifier


@pytest.mark.parametrize(
    ("signed_size", "grown_size", "node"),
    [
        (5, 8, (2, 0)),  # the frontier at 5 (and the proof 5 -> 8) carries the node over leaves 0..3
        (8, 11, (3, 0)),  # the new root is built on the node that was the signed root
    ],
    ids=["node-in-proof", "node-in-new-root"],
)
def test_checkpoint__refuses_to_sign_a_tree_inconsistent_with_the_last_checkpoint(
    ledger: Ledger, signed_size: int, grown_size: int, node: tuple[int, int]
) -> None:
    # The append that grows the tree signs its checkpoint: tampering with a node the last
    # checkpoint covers makes that append refuse to sign, and so land nothing.
    ledger.append_batch(lots(0, signed_size))
    signed = ledger.checkpoints.sign()
    if is_pg(ledger):
        sql(ledger, "DROP TRIGGER ledger_nodes_append_only ON ledger_nodes")
    else:
        sql(ledger, "DROP TRIGGER ledger_nodes_no_update")
    level, idx = node
    sql(ledger, "UPDATE ledger_nodes SET hash = :h WHERE id = :id", h=os.urandom(32), id=node_id(level, idx))
    with pytest.raises(IntegrityError, match=f"not consistent with the checkpoint of size {signed_size}"):
        ledger.append_batch(lots(signed_size, grown_size - signed_size))
    assert ledger.latest_checkpoint() == signed
    assert row_counts(ledger)[2] == 1
    assert ledger.size() == signed_size


def test_checkpoint__refuses_to_sign_when_entries_were_removed(five: Ledger) -> None:
    five.checkpoints.sign()
    if is_pg(five):
        sql(five, "DROP TRIGGER ledger_entries_append_only ON ledger_entries")
    else:
        sql(five, "DROP TRIGGER ledger_entries_no_delete")
    sql(five, "DELETE FROM ledger_entries WHERE seq >= 3")
    with pytest.raises(IntegrityError, match="removed"):
        five.checkpoints.sign()


# -- append-only triggers --------------------------------------------------------------------

MUTATIONS = {
    "ledger_entries": ("UPDATE ledger_entries SET body = body", "DELETE FROM ledger_entries WHERE seq = 0"),
    "ledger_nodes": ("UPDATE ledger_nodes SET hash = hash", "DELETE FROM ledger_nodes WHERE id > 0"),
    "ledger_checkpoints": ("UPDATE ledger_checkpoints SET note = note", "DELETE FROM ledger_checkpoints"),
}


@pytest.mark.parametrize("table", TABLES)
@pytest.mark.parametrize("action", ["UPDATE", "DELETE"])
def test_triggers__refuse_update_and_delete(five: Ledger, table: str, action: str) -> None:
    five.checkpoints.sign()
    counts = row_counts(five)
    assert all(counts)
    before = snapshot(five)
    statement = MUTATIONS[table][0 if action == "UPDATE" else 1]
    with pytest.raises(DBAPIError, match="append-only"):
        sql(five, statement)
    assert row_counts(five) == counts
    assert snapshot(five) == before


@pytest.mark.engines("postgresql")  # SQLite has no TRUNCATE (DELETE without WHERE is covered above)
@pytest.mark.parametrize("table", TABLES)
def test_triggers__refuse_truncate_on_postgresql(five: Ledger, table: str) -> None:
    assert is_pg(five)
    five.checkpoints.sign()
    counts = row_counts(five)
    with pytest.raises(DBAPIError, match="append-only"):
        sql(five, f"TRUNCATE {table}")
    assert row_counts(five) == counts


def test_triggers__allow_appends(five: Ledger) -> None:
    # The triggers forbid changes, not inserts: the ledger itself keeps working.
    five.checkpoints.sign()
    five.append_batch(lots(5, 4))
    assert five.checkpoints.sign().size == 9


def snapshot(ledger: Ledger) -> list[Any]:
    with ledger.engine.connect() as conn:
        return [
            [tuple(row) for row in conn.execute(select(t).order_by(*t.primary_key.columns))]
            for t in (entries, nodes, checkpoints)
        ]


def test_ledger__opening_an_uninitialised_database_is_refused_without_leaking(database: Any, key_file: Path) -> None:
    with pytest.raises(NotInitialised):
        Ledger.open(database.url, key_file=key_file)
    # The engine Ledger.open made is unreachable now; a connection it left open would be
    # reported here ("connection was deleted while still open") rather than in a later test.
    gc.collect()


def test_ledger__opening_with_a_missing_key_is_refused_without_leaking(migrated: Any, tmp_path: Path) -> None:
    with pytest.raises(LedgerKeyError):
        Ledger.open(migrated.url, key_file=tmp_path / "missing.key")
    gc.collect()
