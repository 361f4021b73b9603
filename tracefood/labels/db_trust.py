"""The server's trust in the database: keys, lots and the issuance log as the online verifier
reads them, the signed trust list for offline verifiers, its change fingerprint, and the
published keys (JWKS).

Keys and issuances count only as the ledger records them (:mod:`tracefood.labels.ledgered`):
a key row or an issuance row written around the application, without its matching ledger
entry, is trusted by none of these, and a key the ledger records as revoked stays revoked
whatever its row says."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, func, select

from tracefood.chain.tables import label_issuances, label_keys, lots
from tracefood.labels import keys as label_keys_codec
from tracefood.labels import trust
from tracefood.labels.ledgered import trusted_issuances, trusted_keys
from tracefood.labels.subjects import HOLD_STATUSES, subject_record
from tracefood.labels.trust import Issued, KeyRecord, SubjectRecord
from tracefood.ledger import db, tree
from tracefood.ledger.note import Signer


class DbTrust:
    """The server's trust: keys, lots and the issuance log, read from the database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def key(self, kid: str) -> KeyRecord | None:
        with db.read_snapshot(self.engine) as conn:
            found = trusted_keys(conn, [kid])
        return found[0] if found else None

    def subject(self, key: str) -> SubjectRecord | None:
        with db.read_snapshot(self.engine) as conn:
            return subject_record(conn, key)

    def issued(self, sig_prefix: str) -> Sequence[Issued]:
        with db.read_snapshot(self.engine) as conn:
            rows = conn.execute(
                select(label_issuances)
                .where(label_issuances.c.sig_prefix == sig_prefix)
                .order_by(label_issuances.c.seq)
            ).all()
            return [Issued(r.subject, r.kid, r.url.rsplit(".", 1)[1]) for r in trusted_issuances(conn, rows)]


def trust_list(engine: Engine, signer: Signer, *, base_url: str, hours: float) -> str:
    """The signed trust list: every key the ledger records (with its state), every labelled or
    flagged lot, the issuance log as the ledger records it (signature prefixes)."""
    with db.read_snapshot(engine) as conn:
        keys = trusted_keys(conn)
        rows = trusted_issuances(conn, conn.execute(select(label_issuances).order_by(label_issuances.c.seq)).all())
        labelled = {r.subject for r in rows}
        flagged = {r[0] for r in conn.execute(select(lots.c.key).where(lots.c.status.in_(HOLD_STATUSES)))}
        subjects = [s for s in (subject_record(conn, k) for k in sorted(labelled | flagged)) if s is not None]
        issued = [Issued(r.subject, r.kid, r.url.rsplit(".", 1)[1]) for r in rows]
    return trust.build_trust_list(
        issuer=signer.name,
        base_url=base_url,
        ledger_key=signer.verifier.encode(),
        keys=keys,
        subjects=subjects,
        issued=issued,
        signer=signer,
        hours=hours,
    )


def trust_fingerprint(engine: Engine) -> tuple[int, ...]:
    """Changes whenever the trust list's content may change: a new entry (a recall, a hold),
    a label issued, a key created, rotated out or revoked."""
    with db.read_snapshot(engine) as conn:
        size = tree.size(conn)
        issued = conn.execute(select(func.max(label_issuances.c.seq))).scalar() or 0
        keys = conn.execute(
            select(func.count(), func.count(label_keys.c.retired_at), func.count(label_keys.c.revoked_at))
        ).one()
    return (size, issued, *keys)


def jwks(engine: Engine) -> dict[str, Any]:
    """Every label key that still verifies (active and retired, as the ledger records them;
    revoked keys are left out)."""
    with db.read_snapshot(engine) as conn:
        keys = trusted_keys(conn)
    return {
        "keys": [
            label_keys_codec.jwk(k.kid, k.public_key, tf_party=k.party_id, tf_party_name=k.party_name,
                       tf_created_at=k.created_at, tf_retired_at=k.retired_at)
            for k in keys
            if not k.revoked_at
        ]
    }  # fmt: skip
