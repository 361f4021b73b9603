"""Issuing labels: sign a Digital Link for a lot or logistic unit with the signing party's key,
record the issuance in the append-only ``label_issuances`` log and, in the same transaction, as
a ledger entry (:mod:`tracefood.labels.ledgered`), and the text the label prints beside its QR
code (the same from the API and the CLI)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, insert, select

from tracefood import utc
from tracefood.chain import access
from tracefood.chain.access import custodians
from tracefood.chain.registry import Actor
from tracefood.chain.tables import label_issuances
from tracefood.epcis.digital_link import parse_digital_link
from tracefood.epcis.identifiers import parse_lookup_id
from tracefood.errors import Forbidden, IdentifierError, LabelError, NotFound
from tracefood.labels import ledgered, trust
from tracefood.labels import signing as labels
from tracefood.labels.keystore import LabelKeys
from tracefood.labels.printed import LabelText
from tracefood.labels.signing import Subject
from tracefood.labels.subjects import label_info, lot_row
from tracefood.ledger import Ledger, db
from tracefood.ledger.append import Write

EC_LEVELS = ("L", "M", "Q", "H")


@dataclass(frozen=True)
class IssuedLabel:
    url: str
    subject: Subject
    kid: str
    party_id: str
    ec: str
    info: dict[str, Any]
    seq: int

    def to_json(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "id": self.subject.key,
            "subject": self.subject.to_json(),
            "kid": self.kid,
            "party": self.party_id,
            "ec": self.ec,
            "issuance": self.seq,
            "info": self.info,
        }


def label_text(issued: IssuedLabel) -> LabelText:
    """The text printed beside the QR code: product, producer, lot or SSCC, pack date, origin."""
    info = issued.info
    origin = info.get("origin") or {}
    where = ", ".join(p for p in (origin.get("region"), origin.get("country")) if p) or None
    return LabelText(
        product=info.get("product") or issued.subject.gtin or "Logistic unit",
        producer=info.get("producer") or issued.party_id,
        lot=issued.subject.lot,
        gtin=issued.subject.gtin,
        sscc=issued.subject.sscc,
        pack_date=info.get("pack_date"),
        origin=where,
    )


def resolve_subject(identifier: str) -> Subject:
    """A lot or logistic unit id: an EPC URN, a Digital Link on any domain, a Digital Link path
    (``/01/{gtin}/10/{lot}``, ``/00/{sscc}``) or a bare 18-digit SSCC."""
    try:
        ident = parse_lookup_id(identifier)
    except IdentifierError as exc:
        raise LabelError(f"id: {exc.reason}", errors=[{"field": "id", "reason": exc.reason}]) from None
    if ident.kind not in ("lot", "sscc"):
        reason = f"a {ident.kind} cannot carry a label: labels name a GTIN lot or an SSCC"
        raise LabelError(reason, errors=[{"field": "id", "reason": reason}])
    return labels.subject_of(ident.key)


def issue(
    ledger: Ledger,
    keys: LabelKeys,
    identifier: str,
    actor: Actor,
    base_url: str,
    *,
    party_id: str | None = None,
    ec: str = "M",
    attributes: str = "",
) -> IssuedLabel:
    """Sign a label for a lot or logistic unit and record the issuance (who, when, which key).

    Only a party that produced or held the lot may label it; ``party_id`` (operator only)
    names the party signing, else the actor's party. The issuance row and its ledger entry
    are written in one ``Ledger.write``."""
    subject = resolve_subject(identifier)
    ec = (ec or "M").upper()
    if ec not in EC_LEVELS:
        raise LabelError(
            "ec: error correction must be L, M, Q or H", errors=[{"field": "ec", "reason": "L, M, Q or H"}]
        )
    if actor.role not in access.ISSUES_LABELS:
        raise Forbidden(f"a {actor.role} cannot issue labels")

    def work(w: Write) -> IssuedLabel:
        conn = w.conn
        row = lot_row(conn, subject.key)
        if row is None:
            raise NotFound(f"the ledger has no lot {subject.key}", errors=[{"field": "id", "reason": "unknown lot"}])
        signer = _signer(conn, row, subject, actor, party_id)
        unsigned = labels.unsigned_url(base_url, subject, attributes)
        try:
            parse_digital_link(unsigned)
        except IdentifierError as exc:
            where = "attributes" if attributes else "TRACEFOOD_PUBLIC_URL"
            raise LabelError(f"{where}: {exc.reason}", errors=[{"field": where, "reason": exc.reason}]) from None
        kid, private = keys.signing_key(w, signer, actor)
        url = labels.sign(unsigned, kid, private)
        signature = url.rsplit(".", 1)[1]
        seq = conn.execute(
            insert(label_issuances)
            .values(
                at=utc.now(),
                actor=actor.name,
                party_id=signer,
                kid=kid,
                subject=subject.key,
                sig_prefix=signature[: trust.SIG_PREFIX],
                url=url,
                ec=ec,
            )
            .returning(label_issuances.c.seq)
        ).scalar_one()
        ledgered.append_issuance(w, seq)
        return IssuedLabel(url, subject, kid, signer, ec, label_info(conn, row), seq)

    return ledger.write(work)


def _signer(conn: Connection, row: Any, subject: Subject, actor: Actor, party_id: str | None) -> str:
    """The party signing: ``party_id`` (operator only), else the actor's, else the producer's;
    only a producer or holder of the lot."""
    signer = party_id or actor.party_id or row.party_id
    if party_id and actor.role not in access.MANAGES_REGISTRY and party_id != actor.party_id:
        raise Forbidden(f"you sign for {actor.party_id}, not {party_id}")
    if not signer or signer not in custodians(conn, row.id, row.party_id):
        what = subject.lot or subject.sscc
        raise Forbidden(f"{signer} never produced or held {what}: only its producers and holders may label it")
    return str(signer)


def issuances(engine: Engine, *, subject: str | None = None, party_id: str | None = None) -> list[dict[str, Any]]:
    with db.read_snapshot(engine) as conn:
        stmt = select(label_issuances).order_by(label_issuances.c.seq)
        if subject is not None:
            stmt = stmt.where(label_issuances.c.subject == subject)
        if party_id is not None:
            stmt = stmt.where(label_issuances.c.party_id == party_id)
        return [
            {"seq": r.seq, "at": utc.text(r.at), "actor": r.actor, "party": r.party_id, "kid": r.kid,
             "id": r.subject, "url": r.url, "ec": r.ec}
            for r in conn.execute(stmt.limit(1000))
        ]  # fmt: skip
