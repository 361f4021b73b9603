"""C2SP signed notes and checkpoints with Ed25519 keys (c2sp.org/signed-note, tlog-checkpoint).

A checkpoint is the text ``<origin>\\n<size>\\n<base64 root>\\n`` signed as a note: a blank line,
then one line per signature ``— <key name> <base64(key id || signature)>``. The key id is the
first four bytes of SHA-256(name || "\\n" || 0x01 || public key). Keys travel in the Go
``sumdb/note`` text forms so that any C2SP tool can read them:
verifier ``<name>+<hex id>+<base64(0x01 || public key)>``, signer
``PRIVATE+KEY+<name>+<hex id>+<base64(0x01 || seed)>``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tracefood.errors import NoteError

ALG_ED25519 = 0x01
SIG_PREFIX = "\u2014 "  # EM DASH, space
MAX_SIGNATURES = 100
MAX_TREE_SIZE = 2**63 - 1
_DECIMAL = re.compile(r"0|[1-9][0-9]*", re.ASCII)


def _b64decode(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise NoteError(f"{what} is not valid base64") from exc


def _valid_name(name: str) -> bool:
    return bool(name) and all(c.isprintable() and not c.isspace() and c != "+" for c in name)


def key_id(name: str, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([ALG_ED25519]) + public_key).digest()[:4]


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


@dataclass(frozen=True)
class Verifier:
    name: str
    key_id: bytes
    public_key: Ed25519PublicKey

    @classmethod
    def parse(cls, text: str) -> Verifier:
        parts = text.strip().split("+", 2)
        if len(parts) != 3 or not _valid_name(parts[0]) or len(parts[1]) != 8:
            raise NoteError("verifier key must look like name+hexid+base64key")
        name, hex_id, b64 = parts
        raw = _b64decode(b64, "verifier key")
        if len(raw) != 33 or raw[0] != ALG_ED25519:
            raise NoteError("verifier key is not an Ed25519 key")
        try:
            kid = bytes.fromhex(hex_id)
        except ValueError as exc:
            raise NoteError("verifier key id is not hex") from exc
        if kid != key_id(name, raw[1:]):
            raise NoteError("verifier key id does not match the key")
        return cls(name, kid, Ed25519PublicKey.from_public_bytes(raw[1:]))

    def encode(self) -> str:
        raw = bytes([ALG_ED25519]) + _raw_public(self.public_key)
        return f"{self.name}+{self.key_id.hex()}+{base64.b64encode(raw).decode()}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            self.public_key.verify(signature, message)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class Signer:
    name: str
    private_key: Ed25519PrivateKey

    @classmethod
    def generate(cls, name: str) -> Signer:
        if not _valid_name(name):
            raise NoteError(f"key name {name!r} must be printable, without spaces or '+'")
        return cls(name, Ed25519PrivateKey.generate())

    @classmethod
    def parse(cls, text: str) -> Signer:
        parts = text.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"] or not _valid_name(parts[2]):
            raise NoteError("signer key must look like PRIVATE+KEY+name+hexid+base64key")
        raw = _b64decode(parts[4], "signer key")
        if len(raw) != 33 or raw[0] != ALG_ED25519:
            raise NoteError("signer key is not an Ed25519 key")
        signer = cls(parts[2], Ed25519PrivateKey.from_private_bytes(raw[1:]))
        if signer.verifier.key_id.hex() != parts[3].lower():
            raise NoteError("signer key id does not match the key")
        return signer

    def encode(self) -> str:
        from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

        seed = self.private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        raw = base64.b64encode(bytes([ALG_ED25519]) + seed).decode()
        return f"PRIVATE+KEY+{self.name}+{self.verifier.key_id.hex()}+{raw}"

    @property
    def verifier(self) -> Verifier:
        pub = self.private_key.public_key()
        return Verifier(self.name, key_id(self.name, _raw_public(pub)), pub)

    def sign(self, text: str) -> str:
        """Sign ``text`` (which must end in a newline) and return the whole signed note."""
        _check_text(text)
        sig = self.private_key.sign(text.encode())
        blob = base64.b64encode(self.verifier.key_id + sig).decode()
        return f"{text}\n{SIG_PREFIX}{self.name} {blob}\n"


def _check_text(text: str) -> None:
    if not text.endswith("\n") or "\n\n" in text or any((not c.isprintable() and c != "\n") for c in text):
        raise NoteError("note text must be printable lines ending in a newline, with no blank line")


@dataclass(frozen=True)
class Signature:
    name: str
    key_id: bytes
    signature: bytes


def split_note(note: str) -> tuple[str, list[Signature]]:
    """Split a signed note into its text and its signature lines (unverified)."""
    text, sep, sigs = note.rpartition("\n\n")
    if not sep or not note.endswith("\n"):
        raise NoteError("not a signed note: no blank line before the signatures")
    text += "\n"
    _check_text(text)
    found: list[Signature] = []
    for line in sigs.splitlines():
        if not line.startswith(SIG_PREFIX):
            raise NoteError("malformed signature line")
        name, _, blob = line[len(SIG_PREFIX) :].partition(" ")
        raw = _b64decode(blob, "signature")
        if not _valid_name(name) or len(raw) < 5:
            raise NoteError("malformed signature line")
        found.append(Signature(name, raw[:4], raw[4:]))
    if not found or len(found) > MAX_SIGNATURES:
        raise NoteError("signed note has no signature lines")
    return text, found


def open_note(note: str, verifier: Verifier) -> str:
    """Return the note's text if ``verifier`` signed it; raise :class:`NoteError` otherwise."""
    text, sigs = split_note(note)
    for sig in sigs:
        if sig.name == verifier.name and sig.key_id == verifier.key_id:
            if verifier.verify(text.encode(), sig.signature):
                return text
            raise NoteError(f"signature by {verifier.name} does not verify")
    raise NoteError(f"note is not signed by {verifier.name}+{verifier.key_id.hex()}")


@dataclass(frozen=True)
class Checkpoint:
    """A tree head: origin, size and root hash (c2sp.org/tlog-checkpoint)."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def text(self) -> str:
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode(), *self.extensions]
        return "\n".join(lines) + "\n"

    @classmethod
    def parse_text(cls, text: str) -> Checkpoint:
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "":
            raise NoteError("checkpoint must have origin, size and root lines")
        origin, size_line, root_line, *extensions = lines[:-1]
        if not origin or not _DECIMAL.fullmatch(size_line) or int(size_line) > MAX_TREE_SIZE:
            raise NoteError("checkpoint size line is not a canonical decimal number")
        root = _b64decode(root_line, "checkpoint root")
        if len(root) != 32:
            raise NoteError("checkpoint root is not a SHA-256 hash")
        return cls(origin, int(size_line), root, tuple(extensions))


def sign_checkpoint(checkpoint: Checkpoint, signer: Signer) -> str:
    if checkpoint.origin != signer.name:
        raise NoteError("checkpoint origin must be the signing key's name")
    return signer.sign(checkpoint.text())


def open_checkpoint(note: str, verifier: Verifier) -> Checkpoint:
    """Verify a signed checkpoint and return it."""
    checkpoint = Checkpoint.parse_text(open_note(note, verifier))
    if checkpoint.origin != verifier.name:
        raise NoteError(f"checkpoint origin {checkpoint.origin!r} is not {verifier.name!r}")
    return checkpoint
