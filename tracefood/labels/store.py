"""Label keys, label issuance and the ledger's trust in the database.

Each party signs its labels with its own Ed25519 key. Private keys are stored only sealed:
AES-256-GCM under the instance's 32-byte label master key, with the key id and party as
associated data (a sealed key copied to another row or party does not open). The master key
comes from configuration (``TRACEFOOD_LABEL_MASTER_KEY``) or from a key file given by path
(``TRACEFOOD_LABEL_MASTER_KEY_FILE``, created by ``tracefood init``, mode 0600).

Keys are rotated (the old key signs nothing new but still verifies what it signed) and revoked
(labels it signed stop verifying, with the reason). Every key change is in the registry audit
trail; every label issued is in the append-only ``label_issuances`` log.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import os
import secrets
import stat
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from sqlalchemy import Connection, Engine, func, insert, select, update

from tracefood import utc
from tracefood.chain import access
from tracefood.chain.access import custodians as custodians  # who may sign a lot's labels
from tracefood.chain.capture import stored_event
from tracefood.chain.registry import Actor, _audit
from tracefood.chain.tables import (
    events,
    label_issuances,
    label_keys,
    locations,
    lot_events,
    lot_links,
    lots,
    parties,
    products,
)
from tracefood.epcis.digital_link import parse_digital_link
from tracefood.epcis.identifiers import parse_lookup_id
from tracefood.errors import Conflict, Forbidden, IdentifierError, LabelError, LedgerKeyError, NotFound
from tracefood.labels import keys as label_keys_codec
from tracefood.labels import signing as labels
from tracefood.labels import trust
from tracefood.labels.signing import Subject
from tracefood.labels.trust import Issued, KeyRecord, SubjectRecord
from tracefood.ledger import db, tree
from tracefood.ledger.models import entries
from tracefood.ledger.note import Signer

MASTER_KEY_BYTES = 32
EC_LEVELS = ("L", "M", "Q", "H")


# -- the master key -------------------------------------------------------------------------------


def _decode_master(text: str, where: str) -> bytes:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != MASTER_KEY_BYTES:
        raise LedgerKeyError(f"{where} must be {MASTER_KEY_BYTES} random bytes in base64 (openssl rand -base64 32)")
    return raw


def load_master(value: str | None, path: Path) -> bytes:
    """The label master key from configuration, or else from the key file at ``path``."""
    if value:
        return _decode_master(value, "TRACEFOOD_LABEL_MASTER_KEY")
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise LedgerKeyError(f"no label master key at {path}: run `tracefood init`") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise LedgerKeyError(f"{path} is readable by other users; run `chmod 600 {path}`")
    return _decode_master(path.read_text(), str(path))


def ensure_master(path: Path) -> bool:
    """Create the master key file if absent (mode 0600); True if created."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as fh:
        fh.write(base64.b64encode(secrets.token_bytes(MASTER_KEY_BYTES)).decode() + "\n")
    return True


def _aad(kid: str, party_id: str) -> bytes:
    return f"tracefood label key\n{kid}\n{party_id}".encode()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# -- keys -----------------------------------------------------------------------------------------


class LabelKeys:
    """The parties' label keys in the database, unsealed on use with the master key."""

    def __init__(self, engine: Engine, master: bytes) -> None:
        self.engine = engine
        self._aead = AESGCM(master)
        self._unsealed: dict[str, Ed25519PrivateKey] = {}
        self._lock = threading.Lock()

    def _seal(self, kid: str, party_id: str, private: Ed25519PrivateKey) -> bytes:
        seed = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        nonce = secrets.token_bytes(12)
        return nonce + self._aead.encrypt(nonce, seed, _aad(kid, party_id))

    def _unseal(self, kid: str, party_id: str, sealed: bytes) -> Ed25519PrivateKey:
        with self._lock:
            cached = self._unsealed.get(kid)
            if cached is not None:
                return cached
            try:
                seed = self._aead.decrypt(sealed[:12], sealed[12:], _aad(kid, party_id))
            except InvalidTag:
                raise LedgerKeyError(
                    f"label key {kid} does not open with this master key (wrong TRACEFOOD_LABEL_MASTER_KEY?)"
                ) from None
            key = Ed25519PrivateKey.from_private_bytes(seed)
            self._unsealed[kid] = key
            return key

    def _create_in(self, conn: Connection, party_id: str, actor: Actor) -> dict[str, Any]:
        if conn.execute(select(parties.c.id).where(parties.c.id == party_id)).first() is None:
            raise NotFound(f"no party {party_id}", errors=[{"field": "party", "reason": "unknown party"}])
        private = Ed25519PrivateKey.generate()
        public = label_keys_codec.raw_public(private.public_key())
        kid = label_keys_codec.key_id(public)
        if conn.execute(select(label_keys.c.kid).where(label_keys.c.kid == kid)).first() is not None:
            raise Conflict(f"key id {kid} collides with an existing key; try again")  # 2^-72
        row = {
            "kid": kid,
            "party_id": party_id,
            "public_key": public,
            "private_sealed": self._seal(kid, party_id, private),
            "created_at": _now(),
        }
        conn.execute(insert(label_keys).values(**row))
        shown = {"kid": kid, "party": party_id, "x": label_keys_codec.b64url(public)}
        _audit(conn, actor, "label_key", kid, "create", None, shown)
        return self._json(conn, kid)

    def create(self, party_id: str, actor: Actor) -> dict[str, Any]:
        _may_manage(actor, party_id)
        with db.write_transaction(self.engine) as conn:
            return self._create_in(conn, party_id, actor)

    def rotate(self, party_id: str, actor: Actor) -> dict[str, Any]:
        """A new key for ``party_id``; its current keys are retired (they still verify)."""
        _may_manage(actor, party_id)
        with db.write_transaction(self.engine) as conn:
            current = [
                r.kid
                for r in conn.execute(
                    select(label_keys.c.kid).where(
                        label_keys.c.party_id == party_id,
                        label_keys.c.retired_at.is_(None),
                        label_keys.c.revoked_at.is_(None),
                    )
                )
            ]
            moment = _now()
            for kid in current:
                conn.execute(update(label_keys).where(label_keys.c.kid == kid).values(retired_at=moment))
                _audit(conn, actor, "label_key", kid, "retire", {"kid": kid}, {"kid": kid, "retired": True})
            return self._create_in(conn, party_id, actor)

    def revoke(self, kid: str, reason: str, actor: Actor) -> dict[str, Any]:
        """Labels signed with ``kid`` stop verifying, with ``reason``; a revocation is final."""
        reason = (reason or "").strip()
        if not reason or len(reason) > 200:
            raise LabelError("reason: say why the key is revoked (1 to 200 characters)",
                             errors=[{"field": "reason", "reason": "1 to 200 characters required"}])  # fmt: skip
        with db.write_transaction(self.engine) as conn:
            row = conn.execute(select(label_keys).where(label_keys.c.kid == kid)).first()
            if row is None:
                raise NotFound(f"no label key {kid}", errors=[{"field": "kid", "reason": "unknown key"}])
            _may_manage(actor, row.party_id)
            if row.revoked_at is not None:
                raise Conflict(f"label key {kid} was already revoked on {utc.text(row.revoked_at)}")
            conn.execute(
                update(label_keys).where(label_keys.c.kid == kid).values(revoked_at=_now(), revoked_reason=reason)
            )
            _audit(
                conn, actor, "label_key", kid, "revoke", {"kid": kid}, {"kid": kid, "revoked": True, "reason": reason}
            )
            with self._lock:
                self._unsealed.pop(kid, None)
            return self._json(conn, kid)

    def list(self, party_id: str | None = None) -> list[dict[str, Any]]:
        with db.read_snapshot(self.engine) as conn:
            stmt = select(label_keys.c.kid).order_by(label_keys.c.created_at, label_keys.c.kid)
            if party_id is not None:
                stmt = stmt.where(label_keys.c.party_id == party_id)
            return [self._json(conn, r.kid) for r in conn.execute(stmt)]

    def signing_key(self, conn: Connection, party_id: str, actor: Actor) -> tuple[str, Ed25519PrivateKey]:
        """The party's newest usable key, created on first use."""
        row = conn.execute(
            select(label_keys)
            .where(
                label_keys.c.party_id == party_id, label_keys.c.retired_at.is_(None), label_keys.c.revoked_at.is_(None)
            )
            .order_by(label_keys.c.created_at.desc())
        ).first()
        if row is None:
            kid = self._create_in(conn, party_id, actor)["kid"]
            row = conn.execute(select(label_keys).where(label_keys.c.kid == kid)).one()
        return row.kid, self._unseal(row.kid, row.party_id, row.private_sealed)

    @staticmethod
    def _json(conn: Connection, kid: str) -> dict[str, Any]:
        record = key_record(conn, kid)
        assert record is not None
        state = "revoked" if record.revoked_at else "retired" if record.retired_at else "active"
        return record.to_json() | {"state": state, "jwk": label_keys_codec.jwk(record.kid, record.public_key)}


def _may_manage(actor: Actor, party_id: str) -> None:
    if actor.role not in access.MANAGES_REGISTRY and actor.party_id != party_id:
        raise Forbidden(f"only {party_id} or an admin can manage {party_id}'s label keys")


def key_record(conn: Connection, kid: str) -> KeyRecord | None:
    row = conn.execute(
        select(label_keys, parties.c.name)
        .join(parties, parties.c.id == label_keys.c.party_id)
        .where(label_keys.c.kid == kid)
    ).first()
    return _key_record(row) if row is not None else None


def _key_record(row: Any) -> KeyRecord:
    return KeyRecord(
        kid=row.kid,
        party_id=row.party_id,
        party_name=row.name,
        public_key=bytes(row.public_key),
        created_at=utc.text(row.created_at) or "",
        retired_at=utc.text(row.retired_at),
        revoked_at=utc.text(row.revoked_at),
        revoked_reason=row.revoked_reason,
    )


def all_keys(conn: Connection) -> list[KeyRecord]:
    rows = conn.execute(
        select(label_keys, parties.c.name)
        .join(parties, parties.c.id == label_keys.c.party_id)
        .order_by(label_keys.c.created_at, label_keys.c.kid)
    )
    return [_key_record(r) for r in rows]


# -- what a label names -----------------------------------------------------------------------


def _lot_row(conn: Connection, key: str) -> Any:
    return conn.execute(select(lots).where(lots.c.key == key)).first()


_HOLD = ("recalled", "on_hold")
_RANK = {"on_hold": 1, "recalled": 2}
_FLAGGED = ("recalled", "non_conformant", "damaged", "expired")  # as the projections set lots.status


def subject_record(conn: Connection, key: str) -> SubjectRecord | None:
    row = _lot_row(conn, key)
    if row is None:
        return None
    status = row.status
    recall = _flag_event(conn, row.id, status) if status in _HOLD else None
    if row.kind == "sscc":
        # a pallet or container is as recalled as the worst of what it holds now
        for content in conn.execute(
            select(lots.c.id, lots.c.key, lots.c.status)
            .join(lot_links, lot_links.c.child_id == lots.c.id)
            .where(lot_links.c.parent_id == row.id, lot_links.c.kind == "contains", lot_links.c.removed_seq.is_(None))
        ):
            if _RANK.get(content.status, 0) > _RANK.get(status, 0):
                status = content.status
                recall = (_flag_event(conn, content.id, content.status) or {}) | {"lot": content.key}
    return SubjectRecord(key, status, custodians(conn, row.id, row.party_id), recall, label_info(conn, row))


def _flag_event(conn: Connection, lot_id: int, status: str) -> dict[str, Any] | None:
    """The latest event that put the lot on hold or recalled it, with its class and reason."""
    wanted = ("recalled",) if status == "recalled" else _FLAGGED
    row = conn.execute(
        select(events.c.seq, events.c.event_id, events.c.event_time, events.c.disposition, events.c.party_id)
        .join(lot_events, lot_events.c.seq == events.c.seq)
        .where(lot_events.c.lot_id == lot_id, events.c.disposition.in_(wanted))
        .order_by(events.c.seq.desc())
        .limit(1)
    ).first()
    if row is None:
        return {"status": status}
    body = conn.execute(select(entries.c.body).where(entries.c.seq == row.seq)).scalar_one()
    _, event = stored_event(bytes(body))
    return {
        "status": status,
        "event_id": row.event_id,
        "seq": row.seq,
        "time": row.event_time,
        "by": row.party_id,
        "disposition": row.disposition,
        "recall_id": event.get("tf:recallId"),
        "class": event.get("tf:recallClass"),
        "reason": event.get("tf:reason") or event.get("tf:recallReason"),
        "action": event.get("tf:action"),
    }


def label_info(conn: Connection, row: Any) -> dict[str, Any]:
    """What a label prints and a scan shows: product, producer, pack date, origin."""
    product = None
    if row.product_id:
        product = conn.execute(select(products).where(products.c.id == row.product_id)).first()
    producer = None
    if row.party_id:
        producer = conn.execute(select(parties.c.name).where(parties.c.id == row.party_id)).scalar()
    first = conn.execute(
        select(lot_events.c.location, lot_events.c.event_time)
        .where(lot_events.c.lot_id == row.id)
        .order_by(lot_events.c.seq)
        .limit(1)
    ).first()
    origin_uri = row.tlc_source or (first.location if first else None)
    origin = None
    if origin_uri:
        place = conn.execute(select(locations).where(locations.c.uri == origin_uri)).first()
        if place is not None:
            origin = {"name": place.name, "region": place.region, "country": place.country}
    return {
        "product": product.description if product else None,
        "commodity": product.commodity if product else None,
        "variety": product.variety if product else None,
        "producer": producer,
        "producer_id": row.party_id,
        "pack_date": row.first_time[:10],
        "origin": origin,
        "unit": row.uom,
    }


# -- issuing --------------------------------------------------------------------------------------


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
    engine: Engine,
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
    names the party signing, else the actor's party."""
    subject = resolve_subject(identifier)
    ec = (ec or "M").upper()
    if ec not in EC_LEVELS:
        raise LabelError(
            "ec: error correction must be L, M, Q or H", errors=[{"field": "ec", "reason": "L, M, Q or H"}]
        )
    if actor.role not in access.ISSUES_LABELS:
        raise Forbidden(f"a {actor.role} cannot issue labels")
    with db.write_transaction(engine) as conn:
        row = _lot_row(conn, subject.key)
        if row is None:
            raise NotFound(f"the ledger has no lot {subject.key}", errors=[{"field": "id", "reason": "unknown lot"}])
        signer = party_id or actor.party_id or row.party_id
        if party_id and actor.role not in access.MANAGES_REGISTRY and party_id != actor.party_id:
            raise Forbidden(f"you sign for {actor.party_id}, not {party_id}")
        if not signer or signer not in custodians(conn, row.id, row.party_id):
            what = subject.lot or subject.sscc
            raise Forbidden(f"{signer} never produced or held {what}: only its producers and holders may label it")
        unsigned = labels.unsigned_url(base_url, subject, attributes)
        try:
            parse_digital_link(unsigned)
        except IdentifierError as exc:
            where = "attributes" if attributes else "TRACEFOOD_PUBLIC_URL"
            raise LabelError(f"{where}: {exc.reason}", errors=[{"field": where, "reason": exc.reason}]) from None
        kid, private = keys.signing_key(conn, signer, actor)
        url = labels.sign(unsigned, kid, private)
        signature = url.rsplit(".", 1)[1]
        seq = conn.execute(
            insert(label_issuances)
            .values(
                at=_now(),
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
        info = label_info(conn, row)
    return IssuedLabel(url, subject, kid, signer, ec, info, seq)


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


# -- trust, online and for the trust list -------------------------------------------------------


class DbTrust:
    """The server's trust: keys, lots and the issuance log, read from the database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def key(self, kid: str) -> KeyRecord | None:
        with db.read_snapshot(self.engine) as conn:
            return key_record(conn, kid)

    def subject(self, key: str) -> SubjectRecord | None:
        with db.read_snapshot(self.engine) as conn:
            return subject_record(conn, key)

    def issued(self, sig_prefix: str) -> Sequence[Issued]:
        with db.read_snapshot(self.engine) as conn:
            rows = conn.execute(
                select(label_issuances.c.subject, label_issuances.c.kid, label_issuances.c.url).where(
                    label_issuances.c.sig_prefix == sig_prefix
                )
            )
            return [Issued(r.subject, r.kid, r.url.rsplit(".", 1)[1]) for r in rows]


def trust_list(engine: Engine, signer: Signer, *, base_url: str, hours: float) -> str:
    """The signed trust list: every key (with its state), every labelled or flagged lot, the
    issuance log (signature prefixes)."""
    with db.read_snapshot(engine) as conn:
        keys = all_keys(conn)
        labelled = {r[0] for r in conn.execute(select(label_issuances.c.subject).distinct())}
        flagged = {r[0] for r in conn.execute(select(lots.c.key).where(lots.c.status.in_(_HOLD)))}
        subjects = [s for s in (subject_record(conn, k) for k in sorted(labelled | flagged)) if s is not None]
        issued = [
            Issued(r.subject, r.kid, r.url.rsplit(".", 1)[1])
            for r in conn.execute(
                select(label_issuances.c.subject, label_issuances.c.kid, label_issuances.c.url).order_by(
                    label_issuances.c.seq
                )
            )
        ]
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
    """Every label key that still verifies (active and retired; revoked keys are left out)."""
    with db.read_snapshot(engine) as conn:
        keys = all_keys(conn)
    return {
        "keys": [
            label_keys_codec.jwk(k.kid, k.public_key, tf_party=k.party_id, tf_party_name=k.party_name,
                       tf_created_at=k.created_at, tf_retired_at=k.retired_at)
            for k in keys
            if not k.revoked_at
        ]
    }  # fmt: skip
