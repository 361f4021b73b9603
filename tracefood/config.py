"""Settings: one registry, one flow (defaults -> instance file -> ``TRACEFOOD_*`` -> overrides).

The CLI and the web app both call :func:`load`, so they always agree. Every setting is declared
in :data:`SETTINGS` with its default and help text; the README's configuration table is checked
against this registry by the tests.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tracefood.errors import InvalidParameter

ENV_PREFIX = "TRACEFOOD_"
INSTANCE_FILE = "tracefood.toml"


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "HOME",
        None,
        "Instance folder holding the default SQLite database, the ledger key and the optional "
        "tracefood.toml. Default: $XDG_DATA_HOME/tracefood (~/.local/share/tracefood).",
    ),
    Setting(
        "DATABASE_URL",
        None,
        "SQLAlchemy URL of the ledger database. Default: sqlite:///$TRACEFOOD_HOME/tracefood.db. "
        "PostgreSQL: postgresql+psycopg://user@host/dbname.",
    ),
    Setting(
        "LEDGER_KEY_FILE",
        None,
        "Path of the Ed25519 ledger signing key (C2SP signer-key text, mode 0600). "
        "Default: $TRACEFOOD_HOME/ledger.key.",
    ),
    Setting(
        "LEDGER_ORIGIN",
        "tracefood.localhost/ledger",
        "Checkpoint origin line and key name, used when `tracefood init` creates the key; "
        "afterwards the key's own name is authoritative.",
    ),
    Setting(
        "SQLITE_SYNCHRONOUS",
        "FULL",
        "SQLite PRAGMA synchronous for the ledger file (FULL survives power loss; NORMAL is "
        "faster and survives process crashes).",
    ),
    Setting("SECRET_KEY", None, "Flask secret key for sessions (random per process if unset)."),
    Setting(
        "PUBLIC_URL",
        "http://localhost:8000",
        "Base URL printed in label QR codes (scheme, host, port, optional path): where phones reach "
        "this TraceFood, e.g. https://trace.example.qc.ca.",
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
    ),
    Setting(
        "TRUSTED_LEDGER_KEY",
        None,
        "The ledger verifier key (text of /api/v1/ledger/key, or a file holding it) that offline "
        "`tracefood label verify --trust-list` and `trust-list fetch` pin the trust list to.",
    ),
    Setting(
        "TRUST_LIST_HOURS",
        "72",
        "Validity of the signed trust list served at /api/v1/trust-list, in hours (offline verifiers "
        "refuse an expired one).",
    ),
)

_NAMES = {s.name for s in SETTINGS}


def default_of(name: str) -> Any:
    return next(s.default for s in SETTINGS if s.name == name)


def default_home() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "tracefood"


def load(overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Resolve every setting; unknown names in the instance file or overrides are errors."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {s.name: s.default for s in SETTINGS}
    overrides = dict(overrides or {})
    home = Path(overrides.get("HOME") or env.get(ENV_PREFIX + "HOME") or default_home()).expanduser()
    instance = home / INSTANCE_FILE
    if instance.is_file():
        with instance.open("rb") as fh:
            try:
                data = tomllib.load(fh)
            except tomllib.TOMLDecodeError as exc:
                raise InvalidParameter(str(instance), f"not valid TOML: {exc}") from exc
        values.update(_checked(data, str(instance)))
    for name in _NAMES:
        if ENV_PREFIX + name in env:
            values[name] = env[ENV_PREFIX + name]
    values.update(_checked(overrides, "overrides"))
    values["HOME"] = str(home)
    if not values["DATABASE_URL"]:
        values["DATABASE_URL"] = f"sqlite:///{home / 'tracefood.db'}"
    if not values["LEDGER_KEY_FILE"]:
        values["LEDGER_KEY_FILE"] = str(home / "ledger.key")
    if not values["LABEL_MASTER_KEY_FILE"]:
        values["LABEL_MASTER_KEY_FILE"] = str(home / "label-master.key")
    return values


def _checked(data: Mapping[str, Any], where: str) -> dict[str, Any]:
    out = {}
    for key, value in data.items():
        name = key.upper().removeprefix(ENV_PREFIX)
        if name not in _NAMES:
            raise InvalidParameter(key, f"unknown setting in {where}")
        out[name] = value
    return out
