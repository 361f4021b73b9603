"""The ledger's Ed25519 signing key on disk: created once, private to its owner (mode 0600)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from tracefood.errors import LedgerKeyError, NoteError
from tracefood.ledger.note import Signer


def create_key(path: Path, origin: str) -> Signer:
    """Create a new key file at ``path``; refuse to overwrite an existing one."""
    try:
        signer = Signer.generate(origin)
    except NoteError as exc:
        raise LedgerKeyError(f"cannot create a key named {origin!r}: {exc}") from exc
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as exc:
        raise LedgerKeyError(f"{path} already exists; not overwriting a ledger key") from exc
    with os.fdopen(fd, "w") as fh:
        fh.write(signer.encode() + "\n")
    return signer


def load_key(path: Path) -> Signer:
    """Load a key file, refusing one that other users can read."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError as exc:
        raise LedgerKeyError(f"no ledger key at {path}: run `tracefood init`") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise LedgerKeyError(f"{path} is readable by other users; run `chmod 600 {path}`")
    try:
        return Signer.parse(path.read_text())
    except (NoteError, UnicodeDecodeError) as exc:
        raise LedgerKeyError(f"{path} is not a ledger key: {exc}") from exc


def ensure_key(path: Path, origin: str) -> tuple[Signer, bool]:
    """Load the key at ``path`` or create it; return (signer, created)."""
    if path.exists():
        return load_key(path), False
    return create_key(path, origin), True
