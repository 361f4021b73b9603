"""Tampering that goes around the application: raw SQL with the append-only triggers dropped.

Each scenario changes a 20-entry ledger the way an attacker with database access could, and
the verifier must name the change at the sequence number where it was made. Checkpoints:
one stored at size 10 and one held by the "auditor" at size 20.
"""

from __future__ import annotations

import base64
import collections
import os
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine, text

from tests.conftest import Database
from tracefood.ledger import Ledger, NewEntry, merkle
from tracefood.ledger.canonical import canonical_bytes, loads
from tracefood.ledger.models import node_id
from tracefood.ledger.verify import Report

ENTRY_CODES = {
    "entry-modified",
    "entry-deleted",
    "entry-inserted",
    "entries-reordered",
    "link-broken",
    "entry-malformed",
    "node-mismatch",
    "node-missing",
    "truncated",
}
TABLES = ("ledger_entries", "ledger_nodes", "ledger_checkpoints")


@dataclass
class World:
    ledger: Ledger
    engine: Engine
    held: str  # checkpoint note at size 20, kept outside the database

    def sql(self, statement: str, **params: object) -> None:
        with self.engine.begin() as conn:
            conn.execute(text(statement), params)

    def body(self, seq: int) -> dict:
        return loads(self.ledger.entry(seq).body)

    def leaf(self, seq: int) -> bytes:
        return self.ledger.entry(seq).leaf_hash

    def rewrite(self, seq: int, envelope: dict, *, fix_leaf: bool) -> None:
        body = canonical_bytes(envelope)
        if fix_leaf:
            self.sql(
                "UPDATE ledger_entries SET body = :b, leaf_hash = :h WHERE seq = :s",
                b=body,
                h=merkle.leaf_hash(body),
                s=seq,
            )
        else:
            self.sql("UPDATE ledger_entries SET body = :b WHERE seq = :s", b=body, s=seq)

    def move(self, where: str, delta: int) -> None:
        """Shift the stored seq of the selected rows by ``delta`` (two steps: no PK clash)."""
        self.sql(f"UPDATE ledger_entries SET seq = -(seq + :d) - 1 WHERE {where}", d=delta)
        self.sql("UPDATE ledger_entries SET seq = -seq - 1 WHERE seq < 0")

    def verify(self) -> Report:
        return self.ledger.verify([self.held])


def drop_triggers(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in TABLES:
            if engine.dialect.name == "postgresql":
                conn.execute(text(f"DROP TRIGGER {table}_append_only ON {table}"))
                conn.execute(text(f"DROP TRIGGER {table}_no_truncate ON {table}"))
            else:
                conn.execute(text(f"DROP TRIGGER {table}_no_update"))
                conn.execute(text(f"DROP TRIGGER {table}_no_delete"))


@pytest.fixture
def world(ledger: Ledger) -> World:
    ledger.append_batch([NewEntry({"lot": f"LOT-{i}", "kg": 100 + i}) for i in range(10)])  # signs size 10
    ledger.append_batch([NewEntry({"lot": f"LOT-{i}", "kg": 100 + i}) for i in range(10, 20)])  # and 20
    held = ledger.checkpoints.sign().note
    drop_triggers(ledger.engine)
    return World(ledger, ledger.engine, held)


def entry_findings(report: Report) -> set[tuple[int | None, str]]:
    return {(f.seq, f.code) for f in report.findings if f.code in ENTRY_CODES}


def modify_payload(w: World) -> None:
    env = w.body(7)
    env["payload"]["kg"] = 999
    w.rewrite(7, env, fix_leaf=False)


def modify_payload_and_leaf(w: World) -> None:
    env = w.body(7)
    env["payload"]["kg"] = 999
    w.rewrite(7, env, fix_leaf=True)


def modify_leaf_column(w: World) -> None:
    w.sql("UPDATE ledger_entries SET leaf_hash = :h WHERE seq = 7", h=os.urandom(32))


def garble_bytes(w: World) -> None:
    w.sql("UPDATE ledger_entries SET body = :b WHERE seq = 7", b=b"not json")


def delete_entry(w: World) -> None:
    w.sql("DELETE FROM ledger_entries WHERE seq = 7")


def delete_run_after_last_checkpoint(w: World) -> None:
    w.sql("DELETE FROM ledger_checkpoints WHERE size = 20")
    w.sql("DELETE FROM ledger_entries WHERE seq >= 12 AND seq <= 16")


def delete_first_entries(w: World) -> None:
    w.sql("DELETE FROM ledger_entries WHERE seq < 5")


def string_sequence_number(w: World) -> None:
    env = w.body(7)
    env["seq"] = "7"
    w.rewrite(7, env, fix_leaf=True)


def delete_and_renumber(w: World) -> None:
    w.sql("DELETE FROM ledger_entries WHERE seq = 7")
    w.move("seq > 7", -1)


def insert_entry(w: World) -> None:
    forged = w.body(7)
    forged["payload"] = {"lot": "FORGED", "kg": 1}
    forged["id"] = "forged"
    body = canonical_bytes(forged)  # claims seq 7 and links to entry 6, like the genuine one
    w.move("seq >= 7", +1)
    w.sql(
        "INSERT INTO ledger_entries (seq, entry_id, leaf_hash, body) VALUES (7, 'forged', :h, :b)",
        h=merkle.leaf_hash(body),
        b=body,
    )


def swap_entries(w: World) -> None:
    w.sql("UPDATE ledger_entries SET seq = -1 WHERE seq = 7")
    w.sql("UPDATE ledger_entries SET seq = 7 WHERE seq = 8")
    w.sql("UPDATE ledger_entries SET seq = 8 WHERE seq = -1")


def break_link(w: World) -> None:
    env = w.body(7)
    env["prev"] = base64.b64encode(os.urandom(32)).decode()
    w.rewrite(7, env, fix_leaf=True)


def break_link_naively(w: World) -> None:
    env = w.body(7)
    env["prev"] = base64.b64encode(os.urandom(32)).decode()
    w.rewrite(7, env, fix_leaf=False)


def corrupt_node(w: World) -> None:
    w.sql("UPDATE ledger_nodes SET hash = :h WHERE id = :id", h=os.urandom(32), id=node_id(2, 1))


def delete_node(w: World) -> None:
    w.sql("DELETE FROM ledger_nodes WHERE id = :id", id=node_id(1, 3))


def truncate(w: World) -> None:
    w.sql("DELETE FROM ledger_checkpoints WHERE size > 15")
    w.sql("DELETE FROM ledger_nodes")  # nodes are rebuilt below so only the truncation shows
    w.sql("DELETE FROM ledger_entries WHERE seq >= 15")
    rebuild_nodes(w.engine)


def rewrite_tail(w: World, start: int, end: int) -> None:
    """A careful attacker: replace entries ``start..`` and recompute every hash above them."""
    w.sql("DELETE FROM ledger_nodes")
    w.sql("DELETE FROM ledger_entries WHERE seq >= :s", s=start)
    rebuild_nodes(w.engine)
    # through the database, without the signing key (the keyed ledger would refuse to sign
    # the fork, and so to append it: see the test below)
    Ledger(w.engine).append_batch([NewEntry({"lot": f"REWRITTEN-{i}", "kg": 1}) for i in range(start, end)])


def rebuild_nodes(engine: Engine) -> None:
    """Recompute and store every Merkle node over the entries left (what an attacker does)."""
    with engine.begin() as conn:
        leaves = [bytes(h) for (h,) in conn.execute(text("SELECT leaf_hash FROM ledger_entries ORDER BY seq"))]
        frontier = merkle.Frontier()
        for leaf in leaves:
            for level, idx, value in frontier.append(leaf):
                conn.execute(
                    text("INSERT INTO ledger_nodes (id, hash) VALUES (:id, :h)"),
                    {"id": node_id(level, idx), "h": value},
                )


SCENARIOS: dict[str, tuple[Callable[[World], None], int, str]] = {
    "modified-bytes": (modify_payload, 7, "entry-modified"),
    "modified-bytes-and-leaf-hash": (modify_payload_and_leaf, 7, "entry-modified"),
    "modified-leaf-hash-column": (modify_leaf_column, 7, "entry-modified"),
    "garbled-bytes": (garble_bytes, 7, "entry-malformed"),
    "deleted": (delete_entry, 7, "entry-deleted"),
    "deleted-and-renumbered": (delete_and_renumber, 7, "entry-deleted"),
    "deleted-run": (delete_run_after_last_checkpoint, 12, "entry-deleted"),
    "deleted-first-entries": (delete_first_entries, 0, "entry-deleted"),
    "non-integer-sequence-number": (string_sequence_number, 7, "entry-malformed"),
    "inserted": (insert_entry, 7, "entry-inserted"),
    "reordered": (swap_entries, 7, "entries-reordered"),
    "broken-link": (break_link, 7, "link-broken"),
    "broken-link-naive": (break_link_naively, 7, "link-broken"),
    "wrong-node": (corrupt_node, 7, "node-mismatch"),
    "missing-node": (delete_node, 7, "node-missing"),
    "truncated-below-held-checkpoint": (truncate, 15, "truncated"),
}


def test_verify__clean_ledger_has_no_findings(world: World) -> None:
    report = world.verify()
    assert report.ok, report.findings
    assert report.size == 20
    assert report.checkpoints_checked == 4  # stored 10, stored 20, held 20, kept beside the key 20


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_verify__tampering_is_named_at_its_sequence_number(world: World, name: str) -> None:
    tamper, seq, code = SCENARIOS[name]
    tamper(world)
    report = world.verify()
    assert not report.ok
    assert entry_findings(report) == {(seq, code)}, report.findings


def test_verify__bad_checkpoint_signature(world: World) -> None:
    note = world.held
    _, _, sig_line = note.rpartition("\n\n")
    blob = sig_line.split(" ")[-1].strip()
    raw = bytearray(base64.b64decode(blob))
    raw[10] ^= 0x01
    forged = note.replace(blob, base64.b64encode(bytes(raw)).decode())
    world.sql("UPDATE ledger_checkpoints SET note = :n WHERE size = 20", n=forged)
    report = world.verify()
    assert [(f.code, f.seq) for f in report.findings] == [("checkpoint-signature", None)]
    assert "stored checkpoint of size 20" in report.findings[0].message


def test_verify__checkpoint_inconsistent_with_rewritten_history(world: World) -> None:
    # A careful attacker rewrites entries 12.. and every hash above them consistently;
    # only the checkpoints signed earlier can tell.
    world.sql("DELETE FROM ledger_checkpoints WHERE size = 20")
    rewrite_tail(world, 12, 20)
    report = world.verify()
    assert entry_findings(report) == set()
    # the held checkpoint and the one kept beside the key both catch it
    assert [(f.seq, f.code) for f in report.findings] == [(10, "checkpoint-inconsistent")] * 2
    assert "between entries 10 and 19" in report.findings[0].message


def test_verify__checkpoint_from_another_ledger_is_refused(world: World, tmp_path) -> None:
    from tracefood.ledger.keys import create_key
    from tracefood.ledger.note import Checkpoint, sign_checkpoint

    other = create_key(tmp_path / "other.key", world.ledger.origin)
    size, root = world.ledger.root()
    note = sign_checkpoint(Checkpoint(other.name, size, root), other)
    report = world.ledger.verify([note])
    assert [(f.seq, f.code) for f in report.findings] == [(None, "checkpoint-signature")]


def test_verify__massive_damage_is_reported_bounded(ledger: Ledger) -> None:
    from tracefood.ledger.verify import MAX_FINDINGS

    ledger.append_batch([NewEntry({"n": i}) for i in range(MAX_FINDINGS + 200)])
    drop_triggers(ledger.engine)
    with ledger.engine.begin() as conn:  # every entry's bytes rewritten
        conn.execute(
            text("UPDATE ledger_entries SET body = body || CAST(' ' AS BLOB)")
            if ledger.engine.dialect.name == "sqlite"
            else text("UPDATE ledger_entries SET body = body || '\\x20'::bytea")
        )
    report = ledger.verify()
    assert not report.ok and not report.complete
    assert len(report.findings) == MAX_FINDINGS
    assert report.to_json()["findings_complete"] is False
    assert {f.code for f in report.findings} == {"entry-modified"}, collections.Counter(f.code for f in report.findings)


def test_checkpoint__a_tampered_stored_checkpoint_is_not_handed_out(world: World) -> None:
    from tracefood.errors import IntegrityError

    forged = world.held.replace("\n20\n", "\n21\n")
    world.sql("UPDATE ledger_checkpoints SET note = :n WHERE size = 20", n=forged)
    with pytest.raises(IntegrityError, match="does not verify"):
        world.ledger.checkpoints.sign()
    with pytest.raises(IntegrityError, match="does not verify"):  # nor to a reader
        world.ledger.latest_checkpoint()


def test_checkpoint__refuses_to_sign_a_fork_after_checkpoint_rows_are_deleted(world: World) -> None:
    from tracefood.errors import IntegrityError

    # the attacker removes every checkpoint from the database and rewrites the tail
    world.sql("DELETE FROM ledger_checkpoints")
    rewrite_tail(world, 12, 21)
    with pytest.raises(IntegrityError, match="not consistent with the checkpoint of size 20"):
        world.ledger.checkpoints.sign()
    with pytest.raises(IntegrityError, match="not consistent with the checkpoint of size 20"):
        world.ledger.append({"lot": "AFTER-THE-FORK"})  # the writer's path refuses it too
    # and the checkpoint kept beside the key is checked by a plain verify, without --against
    report = world.ledger.verify()
    assert [(f.seq, f.code) for f in report.findings] == [(0, "checkpoint-inconsistent")]


def test_verify__auditor_with_only_the_public_key(world: World, migrated: Database) -> None:
    auditor = Ledger.open(migrated.url)  # no signing key
    try:
        report = auditor.verify([world.held], verifier=world.ledger.verifier)
    finally:
        auditor.close()
    assert report.ok and report.checkpoints_checked == 3
