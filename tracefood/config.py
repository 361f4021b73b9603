"""Settings: one registry, one flow, one typed and checked result.

Every setting is declared once in :data:`SETTINGS` with its default, its help text (the
README's configuration table is checked against it by the tests) and the rule that turns the
raw value into a typed one. :func:`load` resolves the raw values (defaults -> instance file
``$TRACEFOOD_HOME/tracefood.toml`` -> ``TRACEFOOD_*`` -> overrides); :func:`load_settings`
checks them all at once into a frozen :class:`Settings`. The CLI and the web app both build
their :class:`tracefood.instance.Instance` from it, so a bad value stops a command or
``tracefood serve`` at start with one line naming the setting, and never reaches a request.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from limits import parse_many
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from tracefood.errors import InvalidParameter, TraceFoodError
from tracefood.labels.signing import canonical_base
from tracefood.labels.trust import DEFAULT_VALIDITY_HOURS, MAX_VALIDITY_HOURS
from tracefood.ledger.db import SQLITE_SYNCHRONOUS

ENV_PREFIX = "TRACEFOOD_"
INSTANCE_FILE = "tracefood.toml"
SECRET_FILE = "secret.key"  # noqa: S105 (a file name, not a secret)
PIN_FILE = "trusted-ledger.pub"
SEEN_TRUST_LISTS_FILE = "trust-lists-seen.json"  # the newest trust list seen per ledger key (no rollback)
DATABASES = ("sqlite", "postgresql")  # the engines tracefood.ledger.db configures
MAX_TRUST_LIST_HOURS = MAX_VALIDITY_HOURS  # a revoked key stays trusted offline at most this long
MAX_IDLE_MINUTES = 60 * 24 * 31  # a month, as long as the cookie itself lives


class SettingError(ValueError):
    """Raised by a setting's rule with the reason only; :func:`load_settings` adds the name."""


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise SettingError(f"must be text, got {type(value).__name__}")
    return value


def _optional(value: Any) -> str | None:
    return _text(value) or None  # "" means unset, as before


def _path(value: Any) -> Path:
    if not _text(value):
        raise SettingError("must be a path")
    return Path(value)


def _origin(value: Any) -> str:
    # C2SP signed-note key names: non-empty, printable, no spaces and no "+".
    name = _text(value)
    if not name or any(c == "+" or c.isspace() or not c.isprintable() for c in name):
        raise SettingError(f"must be a key name without spaces or '+', got {value!r}")
    return name


def _database_url(value: Any) -> str:
    url = _text(value)
    try:
        backend = make_url(url).get_backend_name()
    except ArgumentError as exc:
        raise SettingError(f"not a database URL: {exc}") from None
    if backend not in DATABASES:
        raise SettingError(f"unsupported database {backend!r}: use sqlite or postgresql")
    return url


def _synchronous(value: Any) -> str:
    sync = _text(value).upper()
    if sync not in SQLITE_SYNCHRONOUS:
        raise SettingError(f"must be one of {', '.join(SQLITE_SYNCHRONOUS)}, got {value!r}")
    return sync


def _public_url(value: Any) -> str:
    url = _text(value)
    try:
        canonical_base(url)  # the rule labels are signed with
    except TraceFoodError as exc:
        raise SettingError(exc.errors[0]["reason"] if exc.errors else exc.detail) from None
    return url


def _hours(value: Any) -> int:
    text = str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else None
    if text is None or not text.isdigit() or not 1 <= int(text) <= MAX_TRUST_LIST_HOURS:
        raise SettingError(f"must be a whole number of hours from 1 to {MAX_TRUST_LIST_HOURS}, got {value!r}")
    return int(text)


def _minutes(value: Any) -> int:
    text = str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else None
    if text is None or not text.isdigit() or not 1 <= int(text) <= MAX_IDLE_MINUTES:
        raise SettingError(f"must be a whole number of minutes from 1 to {MAX_IDLE_MINUTES}, got {value!r}")
    return int(text)


def _rate(value: Any) -> str:
    # The rate-limit notation of the `limits` library Flask-Limiter counts with.
    text = _text(value).strip()
    try:
        parsed = parse_many(text)
    except ValueError:
        parsed = []
    if not parsed:
        raise SettingError(f"must be a rate such as '10 per minute' or '5/second;100/hour', got {value!r}")
    return text


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    parse: Callable[[Any], Any] = _optional


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "HOME",
        None,
        "Instance folder holding the default SQLite database, the keys, the session secret and the "
        "optional tracefood.toml. Default: $XDG_DATA_HOME/tracefood (~/.local/share/tracefood).",
        _path,
    ),
    Setting(
        "DATABASE_URL",
        None,
        "SQLAlchemy URL of the ledger database. Default: sqlite:///$TRACEFOOD_HOME/tracefood.db. "
        "PostgreSQL: postgresql+psycopg://user@host/dbname.",
        _database_url,
    ),
    Setting(
        "LEDGER_KEY_FILE",
        None,
        "Path of the Ed25519 ledger signing key (C2SP signer-key text, mode 0600). "
        "Default: $TRACEFOOD_HOME/ledger.key.",
        _path,
    ),
    Setting(
        "LEDGER_ORIGIN",
        "tracefood.localhost/ledger",
        "Checkpoint origin line and key name, used when `tracefood init` creates the key; "
        "afterwards the key's own name is authoritative.",
        _origin,
    ),
    Setting(
        "SQLITE_SYNCHRONOUS",
        "FULL",
        "SQLite PRAGMA synchronous for the ledger file (FULL survives power loss; NORMAL is "
        "faster and survives process crashes).",
        _synchronous,
    ),
    Setting(
        "SECRET_KEY",
        None,
        "Flask secret key for sessions and CSRF tokens. If unset, kept in $TRACEFOOD_HOME/secret.key "
        "(mode 0600, created by `tracefood init` or at first start) so every worker shares it.",
    ),
    Setting(
        "PUBLIC_URL",
        "http://localhost:8000",
        "Base URL printed in label QR codes (scheme, host, port, optional path): where phones reach "
        "this TraceFood, e.g. https://trace.example.qc.ca.",
        _public_url,
    ),
    Setting(
        "LABEL_MASTER_KEY",
        None,
        "32 random bytes in base64 (openssl rand -base64 32) that seal the parties' label-signing keys "
        "in the database. If unset, the key file LABEL_MASTER_KEY_FILE is used.",
    ),
    Setting(
        "LABEL_MASTER_KEY_FILE",
        None,
        "Path of the label master key file (mode 0600, created by `tracefood init`). "
        "Default: $TRACEFOOD_HOME/label-master.key.",
        _path,
    ),
    Setting(
        "TRUSTED_LEDGER_KEY",
        None,
        "The ledger verifier key (text of /api/v1/ledger/key, or a file holding it) that offline "
        "`tracefood label verify --trust-list` and `trust-list fetch` pin the trust list to.",
    ),
    Setting(
        "TRUST_LIST_HOURS",
        str(DEFAULT_VALIDITY_HOURS),
        f"Validity of the signed trust list served at /api/v1/trust-list, in whole hours from 1 to "
        f"{MAX_VALIDITY_HOURS}. The trade-off: a list is a snapshot, so a label key revoked after a "
        "verifier fetched its list still verifies offline with that list until it expires (at most this "
        "long); a shorter window means offline verifiers must fetch more often. Offline verifiers refuse an "
        "expired list, one valid for more than "
        f"{MAX_VALIDITY_HOURS} hours, and one older than a list they already saw.",
        _hours,
    ),
    Setting(
        "WEB_SESSION_IDLE_MINUTES",
        "120",
        "A signed-in browser session ends after this many minutes without a page view (whole "
        "minutes); signing out or revoking the token ends it at once, on the server.",
        _minutes,
    ),
    Setting(
        "AUTH_RATE_LIMIT",
        "10 per minute",
        "Failed bearer tokens allowed per client address (e.g. '10 per minute', '5/second;50/hour'); "
        "past it every request with a token answers 429 with Retry-After until the window passes. "
        "Valid tokens are never counted.",
        _rate,
    ),
    Setting(
        "SIGN_IN_RATE_LIMIT",
        "10 per minute",
        "Failed sign-ins (POST /sign-in) allowed per client address; past it the sign-in form "
        "answers 429 with Retry-After until the window passes.",
        _rate,
    ),
)

_NAMES = {s.name for s in SETTINGS}


@dataclass(frozen=True)
class Settings:
    """Every setting, typed and checked; built only by :func:`load_settings`."""

    home: Path
    database_url: str
    ledger_key_file: Path
    ledger_origin: str
    sqlite_synchronous: str
    secret_key: str | None
    public_url: str
    label_master_key: str | None
    label_master_key_file: Path
    trusted_ledger_key: str | None
    trust_list_hours: int
    web_session_idle_minutes: int
    auth_rate_limit: str
    sign_in_rate_limit: str

    @property
    def secret_key_file(self) -> Path:
        """Where the session secret is kept when SECRET_KEY is unset."""
        return self.home / SECRET_FILE

    @property
    def pin_file(self) -> Path:
        """The ledger key pinned by the first ``trust-list fetch`` (trust on first use)."""
        return self.home / PIN_FILE

    @property
    def seen_trust_lists_file(self) -> Path:
        """The newest trust list seen per ledger key; an older one is refused (rollback)."""
        return self.home / SEEN_TRUST_LISTS_FILE

    def by_name(self) -> Mapping[str, Any]:
        """The typed values under their registry names (``PUBLIC_URL``...), read-only."""
        return MappingProxyType({s.name: getattr(self, s.name.lower()) for s in SETTINGS})


def default_of(name: str) -> Any:
    return next(s.default for s in SETTINGS if s.name == name)


def default_home() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "tracefood"


def load_settings(overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Resolve and check every setting; the first bad one raises InvalidParameter naming it."""
    values, sources = _resolve(overrides, environ)
    typed: dict[str, Any] = {}
    for setting in SETTINGS:
        value = values[setting.name]
        try:
            typed[setting.name.lower()] = None if value is None else setting.parse(value)
        except SettingError as exc:
            where = f" (from {sources[setting.name]})" if setting.name in sources else ""
            raise InvalidParameter(ENV_PREFIX + setting.name, f"{exc}{where}") from None
    return Settings(**typed)


def load(overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The raw values, unchecked (the flow only): use :func:`load_settings` to get them typed."""
    return _resolve(overrides, environ)[0]


def _resolve(
    overrides: Mapping[str, Any] | None, environ: Mapping[str, str] | None
) -> tuple[dict[str, Any], dict[str, str]]:
    """(values, where each value that is not a default came from); unknown names are errors."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {s.name: s.default for s in SETTINGS}
    sources: dict[str, str] = {}
    overrides = dict(overrides or {})
    home = Path(overrides.get("HOME") or env.get(ENV_PREFIX + "HOME") or default_home()).expanduser()
    instance = home / INSTANCE_FILE
    if instance.is_file():
        with instance.open("rb") as fh:
            try:
                data = tomllib.load(fh)
            except tomllib.TOMLDecodeError as exc:
                raise InvalidParameter(str(instance), f"not valid TOML: {exc}") from exc
        _layer(values, sources, _checked(data, str(instance)), str(instance))
    _layer(values, sources, {n: env[ENV_PREFIX + n] for n in _NAMES if ENV_PREFIX + n in env}, "the environment")
    _layer(values, sources, _checked(overrides, "overrides"), "overrides")
    values["HOME"] = str(home)
    if not values["DATABASE_URL"]:
        values["DATABASE_URL"] = f"sqlite:///{home / 'tracefood.db'}"
    if not values["LEDGER_KEY_FILE"]:
        values["LEDGER_KEY_FILE"] = str(home / "ledger.key")
    if not values["LABEL_MASTER_KEY_FILE"]:
        values["LABEL_MASTER_KEY_FILE"] = str(home / "label-master.key")
    return values, sources


def _layer(values: dict[str, Any], sources: dict[str, str], layer: Mapping[str, Any], where: str) -> None:
    values.update(layer)
    sources.update(dict.fromkeys(layer, where))


def _checked(data: Mapping[str, Any], where: str) -> dict[str, Any]:
    out = {}
    for key, value in data.items():
        name = key.upper().removeprefix(ENV_PREFIX)
        if name not in _NAMES:
            raise InvalidParameter(key, f"unknown setting in {where}")
        out[name] = value
    return out
