"""What a label verifier trusts, and the signed trust list that carries it offline.

:func:`tracefood.labels.signing.verify` asks a :class:`Trust` three questions: which key has
this key id (:class:`KeyRecord`, with its party and revocation), what is known of the label's
lot or logistic unit (:class:`SubjectRecord`: status, custodians, recall) and which labels
were issued with this signature prefix (:class:`Issued`). Online the answers come from the
database (:mod:`tracefood.labels.db_trust`); offline from a :class:`TrustList`, the same facts
exported by :func:`build_trust_list` as a C2SP signed note that the ledger key signs and that
expires, so a verifier without network access still reaches the server's verdict.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from tracefood import utc
from tracefood.errors import NoteError, TrustListError
from tracefood.labels.keys import b64url, b64url_decode
from tracefood.ledger.note import Signer, Verifier, open_note

__all__ = [
    "SIG_PREFIX",
    "TRUST_LIST_TYPE",
    "Issued",
    "KeyRecord",
    "SubjectRecord",
    "Trust",
    "TrustList",
    "TrustListError",
    "build_trust_list",
]

SIG_PREFIX = 16  # characters of the signature kept in the issuance log (96 bits)
TRUST_LIST_TYPE = "tracefood-trust-list"


@dataclass(frozen=True)
class KeyRecord:
    kid: str
    party_id: str
    party_name: str
    public_key: bytes
    created_at: str
    retired_at: str | None = None
    revoked_at: str | None = None
    revoked_reason: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "kid": self.kid,
            "party": self.party_id,
            "party_name": self.party_name,
            "x": b64url(self.public_key),
            "created_at": self.created_at,
            "retired_at": self.retired_at,
            "revoked_at": self.revoked_at,
            "revoked_reason": self.revoked_reason,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> KeyRecord:
        return cls(
            kid=str(data["kid"]),
            party_id=str(data["party"]),
            party_name=str(data.get("party_name") or data["party"]),
            public_key=b64url_decode(str(data["x"])),
            created_at=str(data["created_at"]),
            retired_at=data.get("retired_at"),
            revoked_at=data.get("revoked_at"),
            revoked_reason=data.get("revoked_reason"),
        )


@dataclass(frozen=True)
class SubjectRecord:
    """What the trust source knows of a label's subject."""

    key: str
    status: str  # active | on_hold | recalled | destroyed
    custodians: frozenset[str]  # parties that produced or held it
    recall: dict[str, Any] | None = None  # the hold or recall event: time, event id, class, reason
    info: dict[str, Any] = field(default_factory=dict)  # product, origin... (for display)


@dataclass(frozen=True)
class Issued:
    subject: str
    kid: str
    signature: str | None = None  # full signature where known (online); None offline


class Trust(Protocol):
    def key(self, kid: str) -> KeyRecord | None: ...

    def subject(self, key: str) -> SubjectRecord | None: ...

    def issued(self, sig_prefix: str) -> Sequence[Issued]: ...


# -- the signed trust list (offline verification) ---------------------------------------------


def build_trust_list(
    *,
    issuer: str,
    base_url: str,
    ledger_key: str,
    keys: Iterable[KeyRecord],
    subjects: Iterable[SubjectRecord],
    issued: Iterable[Issued],
    signer: Signer,
    hours: float,
    now: dt.datetime | None = None,
) -> str:
    """The trust list as a C2SP signed note: one line of canonical JSON, signed by the ledger."""
    moment = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    keys, subjects = list(keys), list(subjects)
    document = {
        "type": TRUST_LIST_TYPE,
        "version": 1,
        "issuer": issuer,
        "base_url": base_url,
        "ledger_key": ledger_key,
        "issued_at": utc.text(moment),
        "expires_at": utc.text(moment + dt.timedelta(hours=hours)),
        "keys": [k.to_json() for k in keys],
        "subjects": {
            s.key: {"status": s.status, "custodians": sorted(s.custodians), "recall": s.recall, "info": s.info}
            for s in subjects
        },
        "issued": [[i.signature[:SIG_PREFIX] if i.signature else "", i.kid, i.subject] for i in issued],
        # the same facts again as plain lists, for readers that want only these
        "revoked": [
            {"kid": k.kid, "party": k.party_id, "revoked_at": k.revoked_at, "reason": k.revoked_reason}
            for k in keys
            if k.revoked_at
        ],
        "recalled": [{"id": s.key, "recall": s.recall} for s in subjects if s.status == "recalled"],
        "on_hold": [{"id": s.key, "hold": s.recall} for s in subjects if s.status == "on_hold"],
    }
    body = orjson.dumps(document, option=orjson.OPT_SORT_KEYS).decode()
    return signer.sign(body + "\n")


class TrustList:
    """A verified trust list: the offline verifier's :class:`Trust`."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document
        self._keys = {k["kid"]: KeyRecord.from_json(k) for k in document["keys"]}
        self._issued: dict[str, list[Issued]] = {}
        for prefix, kid, subject in document["issued"]:
            self._issued.setdefault(prefix, []).append(Issued(subject, kid))

    @classmethod
    def open(cls, note: str, *, pinned: Verifier | None = None, now: dt.datetime | None = None) -> TrustList:
        """Check the note's signature (against ``pinned`` if given, else the ledger key named
        inside, which only proves integrity) and its expiry; TrustListError says why not."""
        try:
            body = note.split("\n\n", 1)[0]
            document = orjson.loads(body)
            named = Verifier.parse(str(document["ledger_key"]))
        except (orjson.JSONDecodeError, KeyError, TypeError, NoteError) as exc:
            raise TrustListError(f"not a TraceFood trust list: {exc}") from None
        if pinned is not None and pinned.encode() != named.encode():
            raise TrustListError(
                f"trust list is signed for ledger key {named.name}+{named.key_id.hex()}, not the pinned key"
            )
        try:
            open_note(note, pinned or named)
        except NoteError as exc:
            raise TrustListError(f"trust list signature does not verify: {exc}") from None
        if document.get("type") != TRUST_LIST_TYPE or document.get("version") != 1:
            raise TrustListError("not a version 1 TraceFood trust list")
        moment = utc.text(now or utc.now())
        if str(document["expires_at"]) <= moment:
            raise TrustListError(
                f"trust list expired at {document['expires_at']}: fetch a new one (tracefood trust-list fetch)"
            )
        return cls(document)

    def key(self, kid: str) -> KeyRecord | None:
        return self._keys.get(kid)

    def subject(self, key: str) -> SubjectRecord | None:
        data = self.document["subjects"].get(key)
        if data is None:
            return None
        return SubjectRecord(
            key, data["status"], frozenset(data["custodians"]), data.get("recall"), data.get("info") or {}
        )

    def issued(self, sig_prefix: str) -> Sequence[Issued]:
        return self._issued.get(sig_prefix, ())
