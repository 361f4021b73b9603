"""One TraceFood instance: the objects the settings describe, built once, by one set of rules.

The CLI and the web app both hold an :class:`Instance` built from checked
:class:`~tracefood.config.Settings`; neither opens a ledger or reads a key file itself, so the
rules below are written once:

- **Ledger key** (``LEDGER_KEY_FILE``): loaded when the file exists (and refused if other
  users can read it); without it entries and proofs still work and whatever must sign asks
  for :meth:`Instance.signing_ledger`, which says "no ledger key at ...: run `tracefood init`".
- **Label master key**: ``LABEL_MASTER_KEY`` when set (checked when the instance is built),
  else the file ``LABEL_MASTER_KEY_FILE`` (mode 0600), read when label keys are first needed.
- **Session secret**: ``SECRET_KEY`` when set, else ``$TRACEFOOD_HOME/secret.key`` (mode 0600),
  created atomically at first use so every worker process of one server signs alike.
- **Trusted ledger key**: ``--ledger-key``, else ``TRUSTED_LEDGER_KEY`` (text or file), else
  the key pinned by the first ``trust-list fetch``, else this instance's own ledger key.
- **Private files**: ``TRACEFOOD_HOME`` is made 0700 and what TraceFood writes in it 0600 (the
  SQLite database is created 0600 by ``ledger.db``, and SQLite gives its -wal and -shm files
  the database's mode). Building an instance refuses, in one line naming the path and the
  ``chmod`` to run, a home or SQLite database file that other users can read, as the key
  loaders refuse key files.

Objects are made lazily and once (the web app shares one instance across request threads).
This module sits between the front ends (web, cli) and the domain: it imports labels, chain,
ledger, config and errors, never web or cli.
"""

from __future__ import annotations

import os
import secrets
import stat
import threading
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from tracefood.config import Settings
from tracefood.errors import InvalidParameter, LedgerKeyError, NoteError
from tracefood.labels.keystore import LabelKeys, ensure_master, load_master
from tracefood.labels.trust import SeenLists, TrustList
from tracefood.ledger import Ledger, db
from tracefood.ledger.keys import ensure_key, load_key
from tracefood.ledger.note import Signer, Verifier

SECRET_BYTES = 32
SHARED = stat.S_IRWXG | stat.S_IRWXO
SQLITE_FILES = ("", "-wal", "-shm", "-journal", "-writer")
"""The SQLite database file and the files SQLite (or the write lock of ``ledger.db``) puts beside it."""


@dataclass(frozen=True)
class KeyFile:
    """A key file ``tracefood init`` made sure of: what it is, where, and whether it is new."""

    what: str
    path: Path
    created: bool


class Instance:
    """The ledger, the label keys, the session secret and the trusted key of one instance."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        if settings.label_master_key:  # a bad value stops the start, as any bad setting
            load_master(settings.label_master_key, settings.label_master_key_file)
        check_private(settings)
        self._lock = threading.Lock()
        self._ledger: Ledger | None = None
        self._retired: list[Ledger] = []  # replaced while in use: disposed by close()
        self._label_keys: LabelKeys | None = None
        self._secret: str | None = None

    # -- the ledger ----------------------------------------------------------------------------

    def private_home(self) -> Path:
        """TRACEFOOD_HOME, made (mode 0700) if missing: called before anything is written there."""
        home = self.settings.home
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        return home

    def new_engine(self) -> Engine:
        """An engine of its own (the caller disposes of it), with this instance's options."""
        self.private_home()
        return db.make_engine(self.settings.database_url, sqlite_synchronous=self.settings.sqlite_synchronous)

    @property
    def ledger(self) -> Ledger:
        """The ledger, opened on first use: with its key when the key file exists."""
        ledger = self._ledger
        if ledger is None:
            with self._lock:
                ledger = self._ledger
                if ledger is None:
                    ledger = self._ledger = self._open_ledger()
        return ledger

    def _open_ledger(self) -> Ledger:
        self.private_home()
        key = self.settings.ledger_key_file
        return Ledger.open(
            self.settings.database_url,
            key_file=key if key.exists() else None,
            sqlite_synchronous=self.settings.sqlite_synchronous,
        )

    def signing_ledger(self) -> Ledger:
        """The ledger, which must hold its key (checkpoints, verifying with the key).

        If the key file appeared after the ledger was opened (a server started before `tracefood
        init`), a ledger with the key takes its place; the keyless one is only retired, not
        closed, because other request threads may still be using it (``close`` disposes it)."""
        ledger = self.ledger
        if ledger.signer is None:
            load_key(self.settings.ledger_key_file)  # says why: missing, readable by others, ...
            with self._lock:
                current = self._ledger
                if current is None or current.signer is None:
                    if current is not None:
                        self._retired.append(current)
                    current = self._ledger = self._open_ledger()
                ledger = current
        return ledger

    def ledger_signer(self) -> Signer:
        """The ledger's signing key, for what the ledger signs besides checkpoints (the trust list)."""
        signer = self.signing_ledger().signer
        if signer is None:  # signing_ledger() has refused a missing or unusable key already
            raise LedgerKeyError(f"no ledger key at {self.settings.ledger_key_file}: run `tracefood init`")
        return signer

    def check_ledger_key(self) -> None:
        """Refuse now, not at the first request, a key file that exists but cannot be used."""
        if self.settings.ledger_key_file.exists():
            load_key(self.settings.ledger_key_file)

    # -- label keys ----------------------------------------------------------------------------

    @property
    def label_keys(self) -> LabelKeys:
        """The parties' label keys, unsealed with the master key (LedgerKeyError with advice
        when there is none: ``tracefood init`` creates it)."""
        keys = self._label_keys
        if keys is None:
            ledger = self.ledger
            master = load_master(self.settings.label_master_key, self.settings.label_master_key_file)
            with self._lock:
                keys = self._label_keys
                if keys is None:
                    keys = self._label_keys = LabelKeys(ledger, master)
        return keys

    # -- the session secret --------------------------------------------------------------------

    @property
    def secret_key(self) -> str:
        """SECRET_KEY, or the secret kept in ``$TRACEFOOD_HOME/secret.key`` (made if missing)."""
        if self._secret is None:
            if not self.settings.secret_key:
                self.private_home()
            self._secret = self.settings.secret_key or ensure_secret(self.settings.secret_key_file)[0]
        return self._secret

    # -- the trusted ledger key ----------------------------------------------------------------

    def trusted_ledger_key(self, explicit: str | None = None) -> Verifier | None:
        """The ledger key a trust list must be signed with, from the first of: ``explicit``
        (``--ledger-key``), TRUSTED_LEDGER_KEY (text or file), the key pinned by the first
        ``trust-list fetch`` (trust on first use), this instance's own ledger key."""
        value, where = explicit, "--ledger-key"
        if not value and self.settings.trusted_ledger_key:
            value, where = self.settings.trusted_ledger_key, "TRACEFOOD_TRUSTED_LEDGER_KEY"
        if not value and self.settings.pin_file.is_file():
            value, where = str(self.settings.pin_file), str(self.settings.pin_file)
        if not value:
            try:
                return load_key(self.settings.ledger_key_file).verifier
            except LedgerKeyError:
                return None
        text = Path(value).read_text() if Path(value).is_file() else value
        try:
            return Verifier.parse(text.strip())
        except NoteError as exc:
            raise InvalidParameter(where, str(exc)) from None

    def pin_ledger_key(self, verifier: str) -> Path:
        """Keep the ledger key a first ``trust-list fetch`` saw; later lists must carry it."""
        path = self.settings.pin_file
        self.private_home()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(verifier + "\n")
        return path

    def seen_trust_lists(self) -> SeenLists:
        """The newest trust list this verifier accepted, per ledger key (none seen: empty)."""
        path = self.settings.seen_trust_lists_file
        if not path.is_file():
            return SeenLists()
        return SeenLists.parse(path.read_text(encoding="utf-8"))

    def remember_trust_list(self, trust: TrustList) -> None:
        """Remember ``trust`` if it is the newest of its ledger key, so an older list is refused
        later (atomic replace; 0600 like the other files of the home)."""
        seen = self.seen_trust_lists()
        newer = seen.with_list(trust)
        if newer is seen:
            return
        path = self.settings.seen_trust_lists_file
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(newer.to_text())
        os.replace(tmp, path)

    # -- init and shutdown ---------------------------------------------------------------------

    def ensure_ledger_key(self, origin: str | None = None) -> tuple[Signer, bool]:
        """Load or create the ledger key; (signer, created)."""
        self.private_home()
        return ensure_key(self.settings.ledger_key_file, origin or self.settings.ledger_origin)

    def ensure_other_keys(self) -> list[KeyFile]:
        """Create the label master key and the session secret files the settings do not replace."""
        made = []
        self.private_home()
        if not self.settings.label_master_key:
            path = self.settings.label_master_key_file
            made.append(KeyFile("label master key", path, ensure_master(path)))
        if not self.settings.secret_key:
            path = self.settings.secret_key_file
            made.append(KeyFile("session secret", path, ensure_secret(path)[1]))
        return made

    def close(self) -> None:
        """Dispose of the database connections; the ledger opens again on next use."""
        with self._lock:
            ledger, self._ledger, self._label_keys = self._ledger, None, None
            retired, self._retired = self._retired, []
        for old in [*retired, ledger]:
            if old is not None:
                old.close()


def check_private(settings: Settings) -> None:
    """Refuse a TRACEFOOD_HOME, or an SQLite database file (and the files beside it), that other
    users can read or write: the database holds contacts, token hashes and sealed keys."""
    home = settings.home
    if home.is_dir() and home.stat().st_mode & SHARED:
        raise LedgerKeyError(f"{home} (TRACEFOOD_HOME) is open to other users; run `chmod 700 {home}`")
    for path in sqlite_files(settings.database_url):
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            continue
        if mode & SHARED:
            raise LedgerKeyError(f"{path} is readable by other users; run `chmod 600 {path}`")


def sqlite_files(url: str) -> list[Path]:
    """The files of an SQLite database URL (none for PostgreSQL or an in-memory database)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return []
    database = Path(parsed.database).expanduser()
    return [database.with_name(database.name + suffix) for suffix in SQLITE_FILES]


def ensure_secret(path: Path) -> tuple[str, bool]:
    """The session secret kept at ``path``, created if missing; (secret, created).

    Workers of one server may start together: the file is written whole under a temporary
    name and linked into place, which fails if it exists (as O_EXCL does), so every process
    reads the one secret that won and none reads a half-written file.
    """
    created = False
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(SECRET_BYTES) + "\n")
            try:
                os.link(tmp, path)
                created = True
            except FileExistsError:
                pass  # another process won the race: use its secret
        finally:
            tmp.unlink(missing_ok=True)
    return read_secret(path), created


def read_secret(path: Path) -> str:
    """The secret at ``path``, refusing a file other users can read, like the other keys."""
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise LedgerKeyError(f"{path} is readable by other users; run `chmod 600 {path}`")
    try:
        secret = path.read_text(encoding="utf-8").strip()
    except UnicodeDecodeError:
        secret = ""
    if len(secret) < SECRET_BYTES:
        raise LedgerKeyError(f"{path} is not a session secret (under {SECRET_BYTES} characters): remove it")
    return secret
