"""The parties' label signing keys in the database, sealed under the instance's master key.

Each party signs its labels with its own Ed25519 key. Private keys are stored only sealed:
AES-256-GCM under the instance's 32-byte label master key, with the key id and party as
associated data (a sealed key copied to another row or party does not open). The master key
comes from configuration (``TRACEFOOD_LABEL_MASTER_KEY``) or from a key file given by path
(``TRACEFOOD_LABEL_MASTER_KEY_FILE``, created by ``tracefood init``, mode 0600).

Keys are rotated (the old key signs nothing new but still verifies what it signed) and revoked
(labels it signed stop verifying, with the reason). Every key change is a ledger entry written
in the same transaction as the row (:mod:`tracefood.labels.ledgered`), and in the registry
audit trail.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
import stat
import threading
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from sqlalchemy import Connection, insert, select, update

from tracefood import utc
from tracefood.chain import access
from tracefood.chain.registry import Actor, _audit
from tracefood.chain.tables import label_keys, parties
from tracefood.errors import Conflict, LabelError, LedgerKeyError, NotFound
from tracefood.labels import keys as label_keys_codec
from tracefood.labels import ledgered
from tracefood.labels.trust import KeyRecord
from tracefood.ledger import Ledger, db
from tracefood.ledger.append import Write

MASTER_KEY_BYTES = 32


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
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as fh:
        fh.write(base64.b64encode(secrets.token_bytes(MASTER_KEY_BYTES)).decode() + "\n")
    return True


def _aad(kid: str, party_id: str) -> bytes:
    return f"tracefood label key\n{kid}\n{party_id}".encode()


class LabelKeys:
    """The parties' label keys in the database, unsealed on use with the master key."""

    def __init__(self, ledger: Ledger, master: bytes) -> None:
        # A ledger, not an engine: key changes are ledger entries written with their rows.
        self.ledger = ledger
        self.engine = ledger.engine
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

    def _create_in(self, w: Write, party_id: str, actor: Actor) -> dict[str, Any]:
        conn = w.conn
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
            "created_at": utc.now(),
        }
        conn.execute(insert(label_keys).values(**row))
        ledgered.append_key_change(w, kid, ledgered.KEY)
        shown = {"kid": kid, "party": party_id, "x": label_keys_codec.b64url(public)}
        _audit(conn, actor, "label_key", kid, "create", None, shown)
        return self._json(conn, kid)

    def create(self, party_id: str, actor: Actor) -> dict[str, Any]:
        access.may_manage_party(actor, party_id, "label keys")
        return self.ledger.write(lambda w: self._create_in(w, party_id, actor))

    def rotate(self, party_id: str, actor: Actor) -> dict[str, Any]:
        """A new key for ``party_id``; its current keys are retired (they still verify)."""
        access.may_manage_party(actor, party_id, "label keys")
        return self.ledger.write(lambda w: self._rotate_in(w, party_id, actor))

    def _rotate_in(self, w: Write, party_id: str, actor: Actor) -> dict[str, Any]:
        current = w.conn.execute(
            select(label_keys.c.kid).where(
                label_keys.c.party_id == party_id, label_keys.c.retired_at.is_(None), label_keys.c.revoked_at.is_(None)
            )
        ).scalars()
        moment = utc.now()
        for kid in list(current):
            w.conn.execute(update(label_keys).where(label_keys.c.kid == kid).values(retired_at=moment))
            ledgered.append_key_change(w, kid, ledgered.RETIREMENT)
            _audit(w.conn, actor, "label_key", kid, "retire", {"kid": kid}, {"kid": kid, "retired": True})
        return self._create_in(w, party_id, actor)

    def revoke(self, kid: str, reason: str, actor: Actor) -> dict[str, Any]:
        """Labels signed with ``kid`` stop verifying, with ``reason``; a revocation is final."""
        reason = (reason or "").strip()
        if not reason or len(reason) > 200:
            raise LabelError("reason: say why the key is revoked (1 to 200 characters)",
                             errors=[{"field": "reason", "reason": "1 to 200 characters required"}])  # fmt: skip
        return self.ledger.write(lambda w: self._revoke_in(w, kid, reason, actor))

    def _revoke_in(self, w: Write, kid: str, reason: str, actor: Actor) -> dict[str, Any]:
        conn = w.conn
        row = conn.execute(select(label_keys).where(label_keys.c.kid == kid)).first()
        if row is None:
            raise NotFound(f"no label key {kid}", errors=[{"field": "kid", "reason": "unknown key"}])
        access.may_manage_party(actor, row.party_id, "label keys")
        earlier = ledgered.recorded(conn, [ledgered.entry_id(ledgered.REVOCATION, kid)])
        if row.revoked_at is not None or earlier:
            when = utc.text(row.revoked_at) or next(iter(earlier.values())).payload.get("revoked_at")
            raise Conflict(f"label key {kid} was already revoked on {when}")
        conn.execute(
            update(label_keys).where(label_keys.c.kid == kid).values(revoked_at=utc.now(), revoked_reason=reason)
        )
        ledgered.append_key_change(w, kid, ledgered.REVOCATION)
        _audit(conn, actor, "label_key", kid, "revoke", {"kid": kid}, {"kid": kid, "revoked": True, "reason": reason})
        with self._lock:
            self._unsealed.pop(kid, None)
        return self._json(conn, kid)

    def list(self, party_id: str | None = None) -> list[dict[str, Any]]:
        with db.read_snapshot(self.engine) as conn:
            stmt = select(label_keys.c.kid).order_by(label_keys.c.created_at, label_keys.c.kid)
            if party_id is not None:
                stmt = stmt.where(label_keys.c.party_id == party_id)
            return [self._json(conn, r.kid) for r in conn.execute(stmt)]

    def signing_key(self, w: Write, party_id: str, actor: Actor) -> tuple[str, Ed25519PrivateKey]:
        """The party's newest usable key, created on first use; refused when the ledger does
        not record it as usable (it would sign labels that no verifier accepts)."""
        conn = w.conn
        row = conn.execute(
            select(label_keys)
            .where(
                label_keys.c.party_id == party_id, label_keys.c.retired_at.is_(None), label_keys.c.revoked_at.is_(None)
            )
            .order_by(label_keys.c.created_at.desc())
        ).first()
        if row is None:
            kid = self._create_in(w, party_id, actor)["kid"]
            row = conn.execute(select(label_keys).where(label_keys.c.kid == kid)).one()
        trusted = ledgered.trusted_keys(conn, [row.kid])
        if not trusted or trusted[0].retired_at or trusted[0].revoked_at:
            raise Conflict(
                f"label key {row.kid} of {party_id} is not usable as the ledger records it: run `tracefood verify` "
                "(keys from before label history was kept in the ledger: `tracefood label backfill`)",
                errors=[{"field": "party", "reason": f"label key {row.kid} does not match the ledger"}],
            )
        return row.kid, self._unseal(row.kid, row.party_id, row.private_sealed)

    @staticmethod
    def _json(conn: Connection, kid: str) -> dict[str, Any]:
        record = key_record(conn, kid)
        assert record is not None
        state = "revoked" if record.revoked_at else "retired" if record.retired_at else "active"
        return record.to_json() | {"state": state, "jwk": label_keys_codec.jwk(record.kid, record.public_key)}


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
