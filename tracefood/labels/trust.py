"""What a label verifier trusts, and the signed trust list that carries it offline.

:func:`tracefood.labels.signing.verify` asks a :class:`Trust` three questions: which key has
this key id (:class:`KeyRecord`, with its party and revocation), what is known of the label's
lot or logistic unit (:class:`SubjectRecord`: status, custodians, recall) and which labels
were issued with this signature prefix (:class:`Issued`). Online the answers come from the
database (:mod:`tracefood.labels.db_trust`); offline from a :class:`TrustList`, the same facts
exported by :func:`build_trust_list` as a C2SP signed note that the ledger key signs and that
expires, so a verifier without network access still reaches the server's verdict.

A list is a snapshot: a key revoked after it was signed still verifies with it until it
expires. Two rules bound that window (issue 12). A list may be valid for at most
:data:`MAX_VALIDITY_HOURS` (the server's TRUST_LIST_HOURS, 24 by default, cannot exceed it and a
verifier refuses a list that claims more), so a revoked key stays trusted offline at most that
long after the revocation. And a verifier that has seen a list refuses any older one (its
``issued_at``) from the same ledger key: :class:`SeenLists` is that memory, pure here; the CLI
keeps it in ``$TRACEFOOD_HOME`` (``trust-list fetch`` and ``label verify --trust-list`` update it).
The scan page uses no trust list: it asks the server online, and remembers the ledger's
checkpoint on the device instead (``web/static/label.js``).
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
    "SeenLists",
    "SubjectRecord",
    "Trust",
    "TrustList",
    "TrustListError",
    "build_trust_list",
]

SIG_PREFIX = 16  # characters of the signature kept in the issuance log (96 bits)
TRUST_LIST_TYPE = "tracefood-trust-list"
# A revoked key stays trusted offline at most this long: the longest validity a server may give
# a list (TRUST_LIST_HOURS is bounded by it) and the longest a verifier accepts.
MAX_VALIDITY_HOURS = 72
DEFAULT_VALIDITY_HOURS = 24
CLOCK_SKEW = dt.timedelta(minutes=5)  # a list "issued" later than now by more than this is refused


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
    def open(
        cls,
        note: str,
        *,
        pinned: Verifier | None = None,
        now: dt.datetime | None = None,
        seen: SeenLists | None = None,
    ) -> TrustList:
        """Check the note's signature (against ``pinned`` if given, else the ledger key named
        inside, which only proves integrity), its window (at most :data:`MAX_VALIDITY_HOURS`,
        not expired, not issued in the future) and, given what this verifier has ``seen``, that
        it is not older than a list already seen; TrustListError says why not."""
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
        _check_window(document, now or utc.now(), (seen or SeenLists()).newest(str(document["ledger_key"])))
        return cls(document)

    @property
    def issued_at(self) -> str:
        return str(self.document["issued_at"])

    @property
    def ledger_key(self) -> str:
        return str(self.document["ledger_key"])

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


def _time(document: Mapping[str, Any], name: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(str(document[name]))
    except (KeyError, ValueError):
        raise TrustListError(f"trust list {name} is not a UTC time: {str(document.get(name))[:40]!r}") from None
    if moment.tzinfo is None:
        raise TrustListError(f"trust list {name} has no time zone: {document[name]!r}")
    return moment


def _check_window(document: Mapping[str, Any], now: dt.datetime, newest_seen: str | None) -> None:
    """Refuse a list whose validity is longer than allowed, issued in the future, older than
    one already seen (a rollback), or expired."""
    issued, expires = _time(document, "issued_at"), _time(document, "expires_at")
    if expires - issued > dt.timedelta(hours=MAX_VALIDITY_HOURS):
        hours = (expires - issued) / dt.timedelta(hours=1)
        raise TrustListError(
            f"trust list claims {hours:g} hours of validity, more than the {MAX_VALIDITY_HOURS} an offline "
            "verifier accepts (a revoked key would stay trusted that long)"
        )
    if issued > now + CLOCK_SKEW:
        raise TrustListError(f"trust list issued at {document['issued_at']}, later than this computer's clock")
    if newest_seen is not None and issued < dt.datetime.fromisoformat(newest_seen):
        raise TrustListError(
            f"trust list issued at {document['issued_at']} is older than one this verifier already saw "
            f"(issued at {newest_seen}): an older list is refused (rollback); fetch a current one "
            "(tracefood trust-list fetch)"
        )
    if expires <= now:
        raise TrustListError(
            f"trust list expired at {document['expires_at']}: fetch a new one (tracefood trust-list fetch)"
        )


class SeenLists:
    """What a verifier remembers of the trust lists it accepted: the newest ``issued_at`` per
    ledger key. Pure; its text form is what the CLI keeps in ``$TRACEFOOD_HOME``."""

    def __init__(self, newest: Mapping[str, str] | None = None) -> None:
        self._newest = dict(newest or {})

    @classmethod
    def parse(cls, text: str) -> SeenLists:
        """From :meth:`to_text`; text that is not that (a damaged file) is refused, not ignored:
        forgetting would let an older list in again."""
        try:
            data = orjson.loads(text)
            newest = {str(k): str(v) for k, v in data["newest_issued_at"].items()}
            for value in newest.values():
                dt.datetime.fromisoformat(value)
        except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError, ValueError) as exc:
            raise TrustListError(f"the record of trust lists already seen is damaged: {exc}") from None
        return cls(newest)

    def newest(self, ledger_key: str) -> str | None:
        return self._newest.get(ledger_key)

    def with_list(self, trust: TrustList) -> SeenLists:
        """These, with ``trust`` remembered if it is the newest of its ledger key."""
        known = self._newest.get(trust.ledger_key)
        if known is not None and dt.datetime.fromisoformat(known) >= dt.datetime.fromisoformat(trust.issued_at):
            return self
        return SeenLists(self._newest | {trust.ledger_key: trust.issued_at})

    def to_text(self) -> str:
        return orjson.dumps({"newest_issued_at": self._newest}, option=orjson.OPT_SORT_KEYS).decode() + "\n"
