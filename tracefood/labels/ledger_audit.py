"""The label tables checked against their ledger entries (``tracefood verify``), and the one-off
backfill that records the rows of a database older than that rule (``tracefood label backfill``).

See :mod:`tracefood.labels.ledgered` for the entries. A row without its entry, a row that
differs from it, and an entry without its row are findings, named by table and row: somebody
wrote the label tables around the application.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, select

from tracefood.chain.tables import label_issuances, label_keys
from tracefood.labels.ledgered import (
    KEY,
    RETIREMENT,
    REVOCATION,
    Recorded,
    all_recorded,
    issuance_entry_payload,
    key_entries,
    new_entry,
)
from tracefood.ledger import Ledger
from tracefood.ledger.append import NewEntry, Write
from tracefood.ledger.verify import Finding

UNRECORDED = "label-row-unrecorded"
DIFFERS = "label-row-differs"
WITHOUT_ROW = "label-entry-without-row"
_WHAT = {KEY: "registration", RETIREMENT: "retirement", REVOCATION: "revocation"}


def check(conn: Connection) -> list[Finding]:
    """Every label row without a matching ledger entry, and every label entry without its row."""
    everything = all_recorded(conn)
    findings: list[Finding] = []
    seen: set[str] = set()
    keys_by_kid: dict[str, Any] = {}
    for row in conn.execute(select(label_keys).order_by(label_keys.c.created_at, label_keys.c.kid)):
        keys_by_kid[row.kid] = row
        expected = key_entries(row)
        seen.update(expected)
        findings.extend(_key_findings(row, expected, everything))
    for row in conn.execute(select(label_issuances).order_by(label_issuances.c.seq)):
        ident, payload = issuance_entry_payload(row)
        seen.add(ident)
        name = f"label_issuances row {row.seq} ({row.subject}, key {row.kid}, party {row.party_id})"
        got = everything.get(ident)
        if got is None:
            findings.append(Finding(None, UNRECORDED, f"{name}: no ledger entry records this issuance: "
                                    "it was written outside the ledger"))  # fmt: skip
        elif got.content != payload:
            findings.append(
                Finding(got.seq, DIFFERS, f"{name}: {_fields(payload, got)} differ from ledger entry {got.seq}")
            )
    for ident, got in sorted(everything.items(), key=lambda item: item[1].seq):
        if ident not in seen:
            findings.append(_without_row(ident, got, keys_by_kid))
    return findings


def _key_findings(
    row: Any, expected: Mapping[str, dict[str, Any]], everything: Mapping[str, Recorded]
) -> list[Finding]:
    name = f"label_keys row kid={row.kid} (party {row.party_id})"
    out = []
    for ident, payload in expected.items():
        kind = ident.split("/", 1)[0]
        got = everything.get(ident)
        if got is None and kind == KEY:
            out.append(Finding(None, UNRECORDED, f"{name}: no ledger entry records this key: "
                               "it was written outside the ledger"))  # fmt: skip
        elif got is None:
            out.append(Finding(None, DIFFERS, f"{name}: the row records a {_WHAT[kind]} that the ledger does not"))
        elif got.content != payload:
            what = f"{_fields(payload, got)} differ from ledger entry {got.seq} ({_WHAT[kind]})"
            out.append(Finding(got.seq, DIFFERS, f"{name}: {what}"))
    return out


def _without_row(ident: str, got: Recorded, keys_by_kid: Mapping[str, Any]) -> Finding:
    kind, ident_tail = ident.split("/", 1)
    row = keys_by_kid.get(ident_tail) if kind in (RETIREMENT, REVOCATION) else None
    if row is not None:  # the key's row is there, without the retirement or revocation
        when = got.payload.get("revoked_at" if kind == REVOCATION else "retired_at")
        return Finding(
            got.seq,
            DIFFERS,
            f"label_keys row kid={row.kid} (party {row.party_id}): ledger entry {got.seq} records its "
            f"{_WHAT[kind]} on {when}, but the row does not: it was changed outside the ledger",
        )
    table = "label_issuances" if kind not in _WHAT else "label_keys"
    return Finding(got.seq, WITHOUT_ROW, f"ledger entry {got.seq} ({kind} {ident_tail}) has no row in {table}")


def _fields(payload: Mapping[str, Any], got: Recorded) -> str:
    names = sorted(k for k in payload.keys() | got.content.keys() if payload.get(k) != got.content.get(k))
    return ", ".join(f"{k} ({payload.get(k)!r} in the row, {got.content.get(k)!r} in the ledger)" for k in names)


def backfill(ledger: Ledger) -> list[str]:
    """Record, once, the label rows of a database written before label history went into the
    ledger: one entry (marked ``backfilled``) per row or state the ledger lacks. A row whose
    entry exists but differs is left alone (``tracefood verify`` reports it). Returns one line
    per entry appended."""

    def work(w: Write) -> list[str]:
        have = all_recorded(w.conn)
        items: list[NewEntry] = []
        for row in w.conn.execute(select(label_keys).order_by(label_keys.c.created_at, label_keys.c.kid)):
            for ident, payload in key_entries(row).items():
                if ident not in have:
                    items.append(new_entry(ident, payload, backfilled=True))
        for row in w.conn.execute(select(label_issuances).order_by(label_issuances.c.seq)):
            ident, payload = issuance_entry_payload(row)
            if ident not in have:
                items.append(new_entry(ident, payload, backfilled=True))
        receipts = w.append(items) if items else []
        return [f"{r.seq}\t{r.entry_id}" for r in receipts]

    return ledger.write(work)
