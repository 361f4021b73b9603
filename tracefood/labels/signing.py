"""Signed QR labels: the label URL, its Ed25519 signature, and the verdict on a scanned label.

A label is an ordinary GS1 Digital Link URL served by TraceFood, signed in its fragment::

    https://{host}/01/{gtin14}/10/{lot}?{GS1 attributes}#1.{kid}.{signature}
    https://{host}/00/{sscc}#1.{kid}.{signature}

The issuing party signs the UTF-8 bytes of everything before the signature
(``https://...#1.{kid}.``) with its Ed25519 label key, so the key id and the version are
covered too. ``kid`` is 12 base64url characters derived from the public key, the signature is
86 base64url characters (64 bytes, no padding). Browsers never send the fragment to a server,
so the page verifies in the browser (WebCrypto) and asks the server for its verdict with the
full URL.

:func:`verify` gives the same verdict online (trust from the database, :mod:`~tracefood.labels.db_trust`) and
offline (trust from a signed trust list, :class:`~tracefood.labels.trust.TrustList`): the checks
run in one order and each failure has its own reason code, which pages translate and the CLI
prints. The label keys and their ids are in :mod:`tracefood.labels.keys`; what a verifier trusts
(key, subject and issuance records) and the trust list in :mod:`tracefood.labels.trust`.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from tracefood.epcis.digital_link import parse_digital_link
from tracefood.epcis.gs1_keys import GS1_RESOLVER, lot_uri, sscc_uri
from tracefood.errors import IdentifierError, LabelError
from tracefood.labels.keys import KID_LENGTH, b64url, b64url_decode
from tracefood.labels.trust import SIG_PREFIX, KeyRecord, SubjectRecord, Trust

__all__ = [
    "REASONS",
    "SIG_LENGTH",
    "VERSION",
    "LabelError",
    "LabelParts",
    "Refused",
    "Subject",
    "Verdict",
    "canonical_base",
    "check_attributes",
    "parse",
    "sign",
    "signed_message",
    "subject_of",
    "unsigned_url",
    "verify",
]

VERSION = "1"
SIG_LENGTH = 86  # base64url of 64 bytes, unpadded
_B64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


# -- reasons ------------------------------------------------------------------------------------

REASONS: dict[str, str] = {
    "genuine": "genuine label",
    "malformed": "not a TraceFood label URL",
    "unsigned": "the label carries no signature (nothing after '#')",
    "unknown_version": "unknown label version",
    "malformed_signature": "the signature part is not well formed",
    "truncated_signature": "the signature is truncated",
    "extra_characters": "the signature has extra characters",
    "unknown_key": "signed by a key this ledger does not know",
    "revoked_key": "signed with a revoked key",
    "gtin_changed": "the GTIN was changed after signing",
    "lot_changed": "the lot was changed after signing",
    "sscc_changed": "the SSCC was changed after signing",
    "tampered": "the label URL was changed after signing",
    "bad_signature": "the signature does not match the label",
    "unknown_subject": "the ledger has no such lot or logistic unit",
    "not_holder": "signed by a party that never held or produced this lot",
    "not_issued": "a valid signature that the ledger never recorded as issued",
}
"""Reason code -> English sentence. Every code but ``genuine`` means the label is refused."""


# -- the label URL --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Subject:
    """What a label names: a lot (GTIN + lot code) or a logistic unit (SSCC)."""

    key: str  # as ``lots.key``: https://id.gs1.org/01/{gtin}/10/{lot} or /00/{sscc}
    kind: str  # "lot" | "sscc"
    gtin: str | None = None
    lot: str | None = None
    sscc: str | None = None

    @property
    def path(self) -> str:
        return self.key[len(GS1_RESOLVER) :]

    def to_json(self) -> dict[str, Any]:
        return {"id": self.key, "kind": self.kind, "gtin": self.gtin, "lot": self.lot, "sscc": self.sscc}


def subject_of(key: str) -> Subject:
    """The label subject of a lot key (``lots.key``); LabelError if it cannot carry a label."""
    try:
        dl = parse_digital_link(key)
    except IdentifierError as exc:
        raise LabelError(
            f"{key} cannot carry a label: {exc.reason}", errors=[{"field": "id", "reason": exc.reason}]
        ) from None
    return _subject(dl.primary, dl.qualifiers)


def _subject(primary: tuple[str, str], qualifiers: Sequence[tuple[str, str]]) -> Subject:
    ai, value = primary
    if ai == "00" and not qualifiers:
        return Subject(sscc_uri(value), "sscc", sscc=value)
    if ai == "01" and len(qualifiers) == 1 and qualifiers[0][0] == "10":
        lot = qualifiers[0][1]
        return Subject(lot_uri(value, lot), "lot", gtin=value, lot=lot)
    reason = "labels name a lot (/01/{gtin}/10/{lot}) or a logistic unit (/00/{sscc})"
    raise LabelError(reason, errors=[{"field": "id", "reason": reason}])


_HOST = re.compile(r"[a-z0-9.-]+|[0-9a-f:.]+")  # ASCII names (browsers show IDNs as punycode) or IPv6
_BASE_PATH = re.compile(r"(/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)*")
_ATTRIBUTES = re.compile(
    r"[0-9]{2,4}=(?:[A-Za-z0-9._~-]|%[0-9A-F]{2})+(?:&[0-9]{2,4}=(?:[A-Za-z0-9._~-]|%[0-9A-F]{2})+)*"
)


def canonical_base(base_url: str) -> str:
    """The base URL as a browser writes it back in ``location.href`` (lower-case scheme and
    host, no default port, no trailing slash), or LabelError: the page verifies the signature
    over what the browser shows, so the signed text must already be in that form."""
    parts = urlsplit(base_url.strip())
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = -1
    host = parts.hostname or ""
    ok = (
        scheme in ("http", "https")
        and _HOST.fullmatch(host)
        and not host.endswith(".")
        and not parts.username
        and not parts.password
        and not parts.query
        and not parts.fragment
        and port != -1
        and _BASE_PATH.fullmatch(parts.path.rstrip("/"))
    )
    if not ok:
        reason = "must be http(s)://host[:port][/path] with a plain path, e.g. https://trace.example.qc.ca"
        raise LabelError(f"TRACEFOOD_PUBLIC_URL {base_url!r} {reason}",
                         errors=[{"field": "TRACEFOOD_PUBLIC_URL", "reason": reason}])  # fmt: skip
    netloc = host if ":" not in host else f"[{host}]"
    if port is not None and port != {"http": 80, "https": 443}[scheme]:
        netloc += f":{port}"
    return f"{scheme}://{netloc}{parts.path.rstrip('/')}"


def check_attributes(attributes: str) -> str:
    """GS1 query attributes as ``AI=value&AI=value``, in characters every browser keeps as they
    are (unreserved, or upper-case percent escapes)."""
    if attributes and not _ATTRIBUTES.fullmatch(attributes):
        reason = "AI=value pairs joined by &, values of letters, digits, - . _ ~ or %XX escapes"
        raise LabelError(f"attributes: {reason}", errors=[{"field": "attributes", "reason": reason}])
    return attributes


def unsigned_url(base_url: str, subject: Subject, attributes: str = "") -> str:
    """``{base}/01/{gtin}/10/{lot}`` (or ``/00/{sscc}``), with an optional GS1 query string."""
    url = canonical_base(base_url) + subject.path
    return f"{url}?{check_attributes(attributes)}" if attributes else url


def signed_message(unsigned: str, kid: str, version: str = VERSION) -> bytes:
    return f"{unsigned}#{version}.{kid}.".encode()


def sign(unsigned: str, kid: str, private_key: Ed25519PrivateKey) -> str:
    """The label URL: ``unsigned#1.{kid}.{signature}``."""
    return f"{unsigned}#{VERSION}.{kid}.{b64url(private_key.sign(signed_message(unsigned, kid)))}"


@dataclass(frozen=True)
class LabelParts:
    url: str
    unsigned: str
    subject: Subject
    version: str
    kid: str
    signature: str  # base64url text, exactly SIG_LENGTH characters

    @property
    def message(self) -> bytes:
        return signed_message(self.unsigned, self.kid, self.version)


class Refused(Exception):
    """Internal: the first check a label fails, with its reason code and details."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


def parse(url: str) -> LabelParts:
    """Split a label URL into its parts; :class:`Refused` names the first problem."""
    if not isinstance(url, str) or not url:
        raise Refused("malformed", "empty")
    unsigned, hash_, fragment = url.partition("#")
    try:
        dl = parse_digital_link(unsigned)
        subject = _subject(dl.primary, dl.qualifiers)
    except IdentifierError as exc:
        raise Refused("malformed", exc.reason) from None
    except LabelError as exc:
        raise Refused("malformed", exc.detail) from None
    if not hash_ or not fragment:
        raise Refused("unsigned")
    version, dot, rest = fragment.partition(".")
    if version != VERSION:
        raise Refused("unknown_version", f"version {version[:10]!r}; this verifier reads version {VERSION}")
    kid, dot2, signature = rest.partition(".")
    if not dot or not dot2 or len(kid) != KID_LENGTH or not set(kid) <= _B64URL:
        raise Refused("malformed_signature", f"expected #{VERSION}.<{KID_LENGTH}-character key id>.<signature>")
    if len(signature) > SIG_LENGTH and set(signature[:SIG_LENGTH]) <= _B64URL:
        raise Refused("extra_characters", f"{len(signature) - SIG_LENGTH} characters after the signature")
    if not set(signature) <= _B64URL:
        bad = next(c for c in signature if c not in _B64URL)
        raise Refused("malformed_signature", f"unexpected {bad!r} in the signature")
    if len(signature) < SIG_LENGTH:
        raise Refused("truncated_signature", f"{len(signature)} of {SIG_LENGTH} characters")
    if b64url(b64url_decode(signature)) != signature:  # one text per signature: no malleable last character
        raise Refused("malformed_signature", "not canonical base64url")
    return LabelParts(url, unsigned, subject, version, kid, signature)


# -- the verdict --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    reason: str
    detail: str = ""
    parts: LabelParts | None = None
    issuer: KeyRecord | None = None
    subject: SubjectRecord | None = None
    source: str = "server"  # "server" or "trust-list"

    @property
    def genuine(self) -> bool:
        return self.reason == "genuine"

    @property
    def status(self) -> str | None:
        return self.subject.status if self.subject else None

    @property
    def ok(self) -> bool:
        """Genuine and not recalled: what the offline verifier's exit status 0 means."""
        return self.genuine and self.status != "recalled"

    @property
    def message(self) -> str:
        """One line for a person: the verdict and why."""
        if not self.genuine:
            text = f"REFUSED: {REASONS[self.reason]}"
            return f"{text} ({self.detail})" if self.detail else text
        assert self.parts is not None and self.issuer is not None
        what = self.parts.subject.lot or self.parts.subject.sscc
        text = f"GENUINE: {self.parts.subject.kind} {what} signed by {self.issuer.party_name} (key {self.issuer.kid})"
        if self.status == "recalled":
            return f"RECALLED: {text}{_recall_words(self.subject)}"
        if self.status == "on_hold":
            return f"{text}; ON HOLD{_recall_words(self.subject)}"
        if self.status == "destroyed":
            return f"{text}; the ledger records this lot as destroyed"
        return text

    def to_json(self) -> dict[str, Any]:
        return {
            "genuine": self.genuine,
            "ok": self.ok,
            "reason": self.reason,
            "message": self.message,
            "detail": self.detail or None,
            "source": self.source,
            "label": (
                {"url": self.parts.url, "version": self.parts.version, "kid": self.parts.kid} if self.parts else None
            ),
            "subject": self.parts.subject.to_json() if self.parts else None,
            "issuer": (
                {"party": self.issuer.party_id, "name": self.issuer.party_name, "kid": self.issuer.kid}
                if self.issuer
                else None
            ),
            "status": self.status,
            "recall": self.subject.recall if self.subject else None,
        }


def _recall_words(subject: SubjectRecord | None) -> str:
    recall = (subject.recall if subject else None) or {}
    bits = [f"class {recall['class']}" if recall.get("class") else "", recall.get("reason") or ""]
    words = ", ".join(b for b in bits if b)
    return f" ({words})" if words else ""


def verify(url: str, trust: Trust, *, source: str = "server") -> Verdict:
    """Check a scanned label URL against ``trust``; the first failed check is the reason."""
    try:
        parts = parse(url)
    except Refused as refused:
        return Verdict(refused.reason, refused.detail, source=source)
    key = trust.key(parts.kid)
    if key is None:
        return Verdict("unknown_key", f"key id {parts.kid}", parts, source=source)
    if key.revoked_at:
        why = f"key {key.kid} of {key.party_name} revoked on {key.revoked_at[:10]}"
        why += f": {key.revoked_reason}" if key.revoked_reason else ""
        return Verdict("revoked_key", why, parts, key, source=source)
    if not _signature_ok(key.public_key, parts):
        return _diagnose(parts, key, trust, source)
    subject = trust.subject(parts.subject.key)
    if subject is None:
        return Verdict("unknown_subject", parts.subject.key, parts, key, source=source)
    if key.party_id not in subject.custodians:
        detail = f"{key.party_name} never recorded {parts.subject.lot or parts.subject.sscc}"
        return Verdict("not_holder", detail, parts, key, subject, source=source)
    issued = trust.issued(parts.signature[:SIG_PREFIX])
    if not any(
        i.kid == parts.kid and i.subject == parts.subject.key and i.signature in (None, parts.signature) for i in issued
    ):
        return Verdict("not_issued", f"key {key.kid} of {key.party_name}", parts, key, subject, source=source)
    return Verdict("genuine", "", parts, key, subject, source=source)


_PUBLIC_KEYS: dict[bytes, Ed25519PublicKey] = {}


def _signature_ok(public_key: bytes, parts: LabelParts) -> bool:
    loaded = _PUBLIC_KEYS.get(public_key)
    if loaded is None:
        loaded = _PUBLIC_KEYS.setdefault(public_key, Ed25519PublicKey.from_public_bytes(public_key))
    try:
        signature = b64url_decode(parts.signature)
    except (binascii.Error, ValueError):
        return False
    try:
        loaded.verify(signature, parts.message)
    except InvalidSignature:
        return False
    return True


def _diagnose(parts: LabelParts, key: KeyRecord, trust: Trust, source: str) -> Verdict:
    """A signature that does not match: say what changed if the issuance log knows the label."""
    for issued in trust.issued(parts.signature[:SIG_PREFIX]):
        if issued.kid != parts.kid:
            continue
        original = subject_of(issued.subject)
        if original.key == parts.subject.key:
            return Verdict(
                "tampered", "issued for the same lot: another part of the URL changed", parts, key, source=source
            )
        if original.kind != parts.subject.kind:
            return Verdict("tampered", f"issued for {original.key}", parts, key, source=source)
        if original.kind == "sscc":
            return Verdict("sscc_changed", f"issued for SSCC {original.sscc}", parts, key, source=source)
        if original.gtin != parts.subject.gtin:
            return Verdict("gtin_changed", f"issued for GTIN {original.gtin}", parts, key, source=source)
        return Verdict("lot_changed", f"issued for lot {original.lot}", parts, key, source=source)
    return Verdict("bad_signature", f"key {key.kid} of {key.party_name}", parts, key, source=source)
