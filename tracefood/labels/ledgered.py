"""Label keys and label issuances in the ledger: the tables are projections of its entries.

Every label key registration, rotation (a retirement), revocation and every issuance is a
ledger entry appended in the same transaction (``Ledger.write``) as its row in ``label_keys``
or ``label_issuances``, so the row and its entry land together or not at all. The entries hold
no personal information (no actor, no person's name), only what a verifier must trust:

``label-key/{kid}``             kind ``label-key``: ``{"kid", "party", "alg": "Ed25519", "x",
                                "valid_from"}`` (``x``: the raw public key, base64url)
``label-key-retirement/{kid}``  kind ``label-key-retirement``: ``{"kid", "party", "retired_at"}``
``label-key-revocation/{kid}``  kind ``label-key-revocation``: ``{"kid", "party", "revoked_at",
                                "reason"}``
``label-issuance/{serial}``     kind ``label-issuance``: ``{"serial", "subject", "kid", "party",
                                "sig_prefix", "sig_sha256", "issued_at"}`` (``serial``: the
                                ``label_issuances.seq``; the signature only as its first
                                characters, already public in the trust list, and a SHA-256:
                                the ledger never holds enough to reprint a label)

Times are UTC text to the microsecond, as the rows hold them. Entries written later for rows of
a database older than this rule (``tracefood label backfill``) say ``"backfilled": true``.

What a verifier trusts is the row *and* its entries: a key counts only when its registration
entry is in the ledger and matches its row (party, public key, algorithm, time), and it is
retired or revoked when either the entry or the row says so (a row "un-revoked" outside the
ledger stays revoked). An issuance counts only when its entry matches its row. Reading by entry
id keeps online verification to a few primary-key lookups; :func:`check` (run by ``tracefood
verify``) reports every row without a matching entry, and every entry without its row.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from tracefood import utc
from tracefood.chain.tables import label_issuances, label_keys, parties
from tracefood.labels.keys import b64url
from tracefood.labels.trust import SIG_PREFIX, KeyRecord
from tracefood.ledger import db
from tracefood.ledger.append import NewEntry, Write
from tracefood.ledger.canonical import loads
from tracefood.ledger.models import entries

KEY = "label-key"
RETIREMENT = "label-key-retirement"
REVOCATION = "label-key-revocation"
ISSUANCE = "label-issuance"
KINDS = (KEY, RETIREMENT, REVOCATION, ISSUANCE)
ALG = "Ed25519"
BACKFILLED = "backfilled"


def entry_id(kind: str, ident: object) -> str:
    return f"{kind}/{ident}"


def _time(moment: dt.datetime | None) -> str | None:
    return utc.text(moment, "us")


def _seconds(text: str | None) -> str | None:
    """A recorded time as the trust list and key listings print it (to the second)."""
    return None if text is None else text[:19] + "Z"


def signature_digest(signature: str) -> str:
    return b64url(hashlib.sha256(signature.encode("ascii")).digest())


# -- the entries a row stands for ------------------------------------------------------------


def key_entries(row: Any) -> dict[str, dict[str, Any]]:
    """The entries (id -> payload) a ``label_keys`` row stands for: its registration, and its
    retirement and revocation when the row records them."""
    kid, party = row.kid, row.party_id
    out = {
        entry_id(KEY, kid): {
            "kid": kid,
            "party": party,
            "alg": ALG,
            "x": b64url(bytes(row.public_key)),
            "valid_from": _time(row.created_at),
        }
    }
    if row.retired_at is not None:
        out[entry_id(RETIREMENT, kid)] = {"kid": kid, "party": party, "retired_at": _time(row.retired_at)}
    if row.revoked_at is not None:
        out[entry_id(REVOCATION, kid)] = {
            "kid": kid,
            "party": party,
            "revoked_at": _time(row.revoked_at),
            "reason": row.revoked_reason,
        }
    return out


def issuance_entry_payload(row: Any) -> tuple[str, dict[str, Any]]:
    """The entry (id, payload) a ``label_issuances`` row stands for."""
    signature = str(row.url).rsplit(".", 1)[-1]
    return entry_id(ISSUANCE, int(row.seq)), {
        "serial": int(row.seq),
        "subject": row.subject,
        "kid": row.kid,
        "party": row.party_id,
        "sig_prefix": signature[:SIG_PREFIX],
        "sig_sha256": signature_digest(signature),
        "issued_at": _time(row.at),
    }


def new_entry(ident: str, payload: Mapping[str, Any], *, backfilled: bool = False) -> NewEntry:
    body = dict(payload) | ({BACKFILLED: True} if backfilled else {})
    return NewEntry(body, ident, ident.split("/", 1)[0], str(payload["party"]))


def append_key_change(w: Write, kid: str, *kinds: str) -> None:
    """Append the entries of ``kinds`` for the key row ``kid`` as it now stands (call after
    writing the row, in the same :class:`Write`)."""
    row = w.conn.execute(select(label_keys).where(label_keys.c.kid == kid)).one()
    wanted = key_entries(row)
    w.append([new_entry(ident, wanted[ident]) for ident in (entry_id(kind, kid) for kind in kinds)])


def append_issuance(w: Write, serial: int) -> None:
    row = w.conn.execute(select(label_issuances).where(label_issuances.c.seq == serial)).one()
    w.append([new_entry(*issuance_entry_payload(row))])


# -- reading the entries back ----------------------------------------------------------------


@dataclass(frozen=True)
class Recorded:
    seq: int
    payload: dict[str, Any]

    @property
    def content(self) -> dict[str, Any]:
        """The payload as the row must match it (the backfill mark aside)."""
        return {k: v for k, v in self.payload.items() if k != BACKFILLED}


def _recorded(rows: Iterable[Any]) -> Iterator[tuple[str, Recorded]]:
    for r in rows:
        envelope = loads(bytes(r.body))
        if isinstance(envelope, dict) and envelope.get("kind") == r.entry_id.split("/", 1)[0]:
            yield r.entry_id, Recorded(int(r.seq), envelope.get("payload") or {})


def recorded(conn: Connection, ids: Iterable[str]) -> dict[str, Recorded]:
    """The label entries with these ids (an entry of another kind under such an id is not one)."""
    found: dict[str, Recorded] = {}
    for chunk in db.chunks(sorted(set(ids))):
        stmt = select(entries.c.seq, entries.c.entry_id, entries.c.body).where(entries.c.entry_id.in_(chunk))
        found.update(_recorded(conn.execute(stmt)))
    return found


def all_recorded(conn: Connection) -> dict[str, Recorded]:
    """Every label entry in the ledger (a scan: for verification, not for serving)."""
    found: dict[str, Recorded] = {}
    for kind in KINDS:
        stmt = select(entries.c.seq, entries.c.entry_id, entries.c.body).where(entries.c.entry_id.like(f"{kind}/%"))
        found.update(_recorded(conn.execute(stmt)))
    return found


# -- what a verifier trusts ------------------------------------------------------------------


def trusted_keys(conn: Connection, kids: Sequence[str] | None = None) -> list[KeyRecord]:
    """The label keys a verifier may trust: rows whose registration entry matches them, retired
    or revoked when either the ledger or the row says so. ``kids``: only these (None: all)."""
    stmt = (
        select(label_keys, parties.c.name)
        .join(parties, parties.c.id == label_keys.c.party_id, isouter=True)
        .order_by(label_keys.c.created_at, label_keys.c.kid)
    )
    if kids is not None:
        stmt = stmt.where(label_keys.c.kid.in_(list(kids)))
    rows = conn.execute(stmt).all()
    found = recorded(conn, (entry_id(kind, r.kid) for r in rows for kind in (KEY, RETIREMENT, REVOCATION)))
    out = []
    for row in rows:
        registration = found.get(entry_id(KEY, row.kid))
        if registration is None or registration.content != key_entries(row)[entry_id(KEY, row.kid)]:
            continue
        retired = found.get(entry_id(RETIREMENT, row.kid))
        revoked = found.get(entry_id(REVOCATION, row.kid))
        revoked_at = revoked.payload.get("revoked_at") if revoked else _time(row.revoked_at)
        reason = revoked.payload.get("reason") if revoked else row.revoked_reason
        out.append(
            KeyRecord(
                kid=row.kid,
                party_id=row.party_id,
                party_name=row.name or row.party_id,
                public_key=bytes(row.public_key),
                created_at=utc.text(row.created_at) or "",
                retired_at=_seconds(retired.payload.get("retired_at") if retired else _time(row.retired_at)),
                revoked_at=_seconds(revoked_at),
                revoked_reason=reason,
            )
        )
    return out


def trusted_issuances(conn: Connection, rows: Sequence[Any]) -> list[Any]:
    """The ``label_issuances`` rows whose entry is in the ledger and matches them, in order."""
    wanted = [issuance_entry_payload(r) for r in rows]
    found = recorded(conn, (ident for ident, _ in wanted))
    return [
        row
        for row, (ident, payload) in zip(rows, wanted, strict=True)
        if ident in found and found[ident].content == payload
    ]
