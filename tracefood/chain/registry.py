"""Who and where: parties, the locations they operate, products, API tokens and roles.

Every change goes through :class:`Registry`, which validates it, writes it and records it in the
append-only ``registry_audit`` table (who, when, before, after) in the same transaction. Tokens
are shown once at creation and stored only as SHA-256 hashes of their secret part; they are
compared with :func:`hmac.compare_digest`.
"""

from __future__ import annotations

import builtins
import datetime as dt
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, Table, insert, select, update

from tracefood import utc
from tracefood.chain import access
from tracefood.chain.tables import api_tokens, locations, parties, products, registry_audit, web_sessions
from tracefood.epcis.gs1_keys import check_gln, check_gtin, gln_uri
from tracefood.epcis.premises import check_premises
from tracefood.errors import Conflict, Forbidden, IdentifierError, InvalidEntry, NotFound, Unauthorised
from tracefood.ledger import db

ROLES = access.ROLES
"""producer: producers, packers, processors, distributors (they handle lots they hold)."""
LOCATION_KINDS = (
    "farm",
    "packhouse",
    "processor",
    "cold_storage",
    "warehouse",
    "distribution_centre",
    "retail",
    "port_of_entry",
    "other",
)

CONTACT_FIELDS = ("person", "email", "phone", "address")
SLUG = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
COUNTRY = re.compile(r"^[A-Z]{2}$")
UNIT = re.compile(r"^[A-Z0-9]{1,3}$")
TOKEN_PREFIX = "tf_"  # noqa: S105 (a public prefix, not a secret)


@dataclass(frozen=True)
class Actor:
    """Who is acting: a token's party and role, or the operator at the command line."""

    role: str
    party_id: str | None = None
    label: str = ""
    token_id: str | None = None

    @property
    def name(self) -> str:
        return f"{self.role}:{self.party_id or '-'}:{self.label}"[:120]

    def may_see_contact(self, party_id: str) -> bool:
        return self.role in access.SEES_EVERY_CONTACT or self.party_id == party_id


OPERATOR = Actor("admin", None, "cli")


# -- field checks: each returns the cleaned value or appends a finding -------------------------


class _Checker:
    def __init__(self, data: Mapping[str, Any], partial: bool) -> None:
        if not isinstance(data, Mapping):
            raise InvalidEntry("the body must be a JSON object", errors=[{"field": "/", "reason": "not an object"}])
        self.data = data
        self.partial = partial
        self.errors: list[dict[str, str]] = []
        self.out: dict[str, Any] = {}

    def field(self, name: str, check: Callable[[Any], Any], *, required: bool = True, nullable: bool = False) -> None:
        if name not in self.data:
            if required and not self.partial:
                self.errors.append({"field": name, "reason": "required"})
            return
        value = self.data[name]
        if value is None and nullable:
            self.out[name] = None
            return
        try:
            self.out[name] = check(value)
        except (ValueError, TypeError) as exc:
            self.errors.append({"field": name, "reason": str(exc) or "invalid"})

    def done(self, allowed: tuple[str, ...]) -> dict[str, Any]:
        for name in self.data:
            if name not in allowed:
                self.errors.append({"field": name, "reason": "unknown field"})
        if self.errors:
            raise InvalidEntry("; ".join(f"{e['field']}: {e['reason']}" for e in self.errors), errors=self.errors)
        return self.out


def text(limit: int) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise ValueError("must be a non-empty string")
        if len(value) > limit or not value.isprintable():
            raise ValueError(f"must be at most {limit} printable characters")
        return value.strip()

    return check


def slug(value: Any) -> str:
    if not isinstance(value, str) or not SLUG.match(value):
        raise ValueError("must be 1-64 of a-z, 0-9, '.', '_', '-', starting with a letter or digit")
    return value


def country(value: Any) -> str:
    if not isinstance(value, str) or not COUNTRY.match(value):
        raise ValueError("must be an ISO 3166-1 alpha-2 code such as CA or US")
    return value


def _gs1(check: Callable[[str], str]) -> Callable[[Any], str]:
    def wrapped(value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError("must be a string of digits")
        try:
            return check(value)
        except IdentifierError as exc:
            raise ValueError(exc.reason) from exc

    return wrapped


def choice(options: tuple[str, ...]) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if value not in options:
            raise ValueError(f"must be one of {', '.join(options)}")
        return str(value)

    return check


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def unit(value: Any) -> str:
    if not isinstance(value, str) or not UNIT.match(value):
        raise ValueError("must be a UN/ECE Recommendation 20 unit code such as KGM, LBR or CS")
    return value


def contact(value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise ValueError("must be an object with person, email, phone, address")
    out: dict[str, str] = {}
    for key, item in value.items():
        if key not in CONTACT_FIELDS:
            raise ValueError(f"unknown contact field {key!r} (allowed: {', '.join(CONTACT_FIELDS)})")
        out[key] = text(300)(item)
    return out


# -- the registry --------------------------------------------------------------------------------


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _plain(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (utc.text(v, "us") if isinstance(v, dt.datetime) else v) for k, v in row.items()}


def _audit(conn: Connection, actor: Actor, entity: str, entity_id: str, action: str, before: Any, after: Any) -> None:
    conn.execute(
        insert(registry_audit).values(
            at=_now(),
            actor=actor.name,
            entity=entity,
            entity_id=entity_id,
            action=action,
            before=_plain(before) if before else None,
            after=_plain(after) if after else None,
        )
    )


_FIELDS: dict[str, tuple[str, ...]] = {
    "party": ("id", "name", "gln", "country", "contact"),
    "location": ("id", "name", "party", "kind", "gln", "premises", "port_code", "country", "region", "address"),
    "product": ("id", "gtin", "description", "commodity", "variety", "unit", "ftl", "party"),
}
_TABLES: dict[str, Table] = {"party": parties, "location": locations, "product": products}


def _clean(entity: str, data: Mapping[str, Any], partial: bool) -> dict[str, Any]:
    c = _Checker(data, partial)
    if not partial:
        c.field("id", slug)
    if entity == "party":
        c.field("name", text(200))
        c.field("gln", _gs1(check_gln), required=False, nullable=True)
        c.field("country", country)
        c.field("contact", contact, required=False)
    elif entity == "location":
        c.field("name", text(200))
        c.field("party", slug)
        c.field("kind", choice(LOCATION_KINDS))
        c.field("gln", _gs1(check_gln), required=False, nullable=True)
        c.field("premises", _gs1(check_premises), required=False, nullable=True)
        c.field("port_code", text(16), required=False, nullable=True)
        c.field("country", country)
        c.field("region", text(100), required=False, nullable=True)
        c.field("address", text(300), required=False, nullable=True)
    else:
        c.field("gtin", _gs1(check_gtin), required=False, nullable=True)
        c.field("description", text(200))
        c.field("commodity", text(100))
        c.field("variety", text(100), required=False, nullable=True)
        c.field("unit", unit)
        c.field("ftl", boolean)
        c.field("party", slug, required=False, nullable=True)
    out = c.done(_FIELDS[entity] if not partial else tuple(f for f in _FIELDS[entity] if f != "id"))
    if "party" in out:
        out["party_id"] = out.pop("party")
    return out


def location_uri(location_id: str, gln: str | None) -> str:
    return gln_uri(gln) if gln else f"urn:tracefood:loc:{location_id}"


def public_view(entity: str, row: Mapping[str, Any], actor: Actor | None) -> dict[str, Any]:
    """A registry row as the API shows it to ``actor`` (contact details only to those allowed)."""
    out = _plain(row)
    if "party_id" in out:
        out["party"] = out.pop("party_id")
    if entity == "party" and (actor is None or not actor.may_see_contact(str(row["id"]))):
        out.pop("contact", None)
    return out


@dataclass
class Registry:
    engine: Engine

    def get(self, entity: str, entity_id: str) -> dict[str, Any]:
        table = _TABLES[entity]
        with db.read_snapshot(self.engine, single_statement=True) as conn:
            row = conn.execute(select(table).where(table.c.id == entity_id)).mappings().first()
        if row is None:
            raise NotFound(f"no {entity} {entity_id!r}", errors=[{"field": "id", "reason": "unknown"}])
        return dict(row)

    def list(self, entity: str, *, party_id: str | None = None) -> builtins.list[dict[str, Any]]:
        table = _TABLES[entity]
        stmt = select(table).order_by(table.c.id)
        if party_id is not None and "party_id" in table.c:
            stmt = stmt.where(table.c.party_id == party_id)
        with db.read_snapshot(self.engine, single_statement=True) as conn:
            return [dict(r) for r in conn.execute(stmt).mappings()]

    def create(self, entity: str, data: Mapping[str, Any], actor: Actor) -> dict[str, Any]:
        values = _clean(entity, data, partial=False)
        table = _TABLES[entity]
        now = _now()
        values.update(created_at=now, updated_at=now)
        if entity == "party":
            values.setdefault("contact", {})
        with db.write_transaction(self.engine) as conn:
            self._authorise(conn, entity, values, actor)
            if conn.execute(select(table.c.id).where(table.c.id == values["id"])).first():
                raise Conflict(f"{entity} {values['id']!r} already exists", errors=[{"field": "id", "reason": "taken"}])
            self._check_refs(conn, entity, values, values["id"])
            if entity == "location":
                values["uri"] = location_uri(values["id"], values.get("gln"))
            conn.execute(insert(table).values(**values))
            row = dict(conn.execute(select(table).where(table.c.id == values["id"])).mappings().one())
            _audit(conn, actor, entity, values["id"], "create", None, row)
        return row

    def update(self, entity: str, entity_id: str, data: Mapping[str, Any], actor: Actor) -> dict[str, Any]:
        values = _clean(entity, data, partial=True)
        table = _TABLES[entity]
        with db.write_transaction(self.engine) as conn:
            before = conn.execute(select(table).where(table.c.id == entity_id)).mappings().first()
            if before is None:
                raise NotFound(f"no {entity} {entity_id!r}", errors=[{"field": "id", "reason": "unknown"}])
            self._authorise(conn, entity, {**before, **values}, actor)
            if entity == "location" and "gln" in values and values["gln"] != before["gln"]:
                raise Conflict(
                    "a location's GLN cannot change once events may name it; register a new location",
                    errors=[{"field": "gln", "reason": "immutable"}],
                )
            if entity == "product" and "gtin" in values and values["gtin"] != before["gtin"]:
                raise Conflict(
                    "a product's GTIN cannot change once lots may carry it; register a new product",
                    errors=[{"field": "gtin", "reason": "immutable"}],
                )
            self._check_refs(conn, entity, values, entity_id)
            values["updated_at"] = _now()
            conn.execute(update(table).where(table.c.id == entity_id).values(**values))
            after = dict(conn.execute(select(table).where(table.c.id == entity_id)).mappings().one())
            _audit(conn, actor, entity, entity_id, "update", before, after)
        return after

    def audit(self, entity: str | None = None, entity_id: str | None = None) -> builtins.list[dict[str, Any]]:
        stmt = select(registry_audit).order_by(registry_audit.c.seq)
        if entity:
            stmt = stmt.where(registry_audit.c.entity == entity)
        if entity_id:
            stmt = stmt.where(registry_audit.c.entity_id == entity_id)
        with db.read_snapshot(self.engine, single_statement=True) as conn:
            return [_plain(dict(r)) for r in conn.execute(stmt).mappings()]

    @staticmethod
    def _authorise(conn: Connection, entity: str, values: Mapping[str, Any], actor: Actor) -> None:
        if actor.role in access.MANAGES_REGISTRY:
            return
        # A party keeps its own record, its locations' details and its products up to date
        # only through an admin: the registry is what access control rests on.
        raise Forbidden(f"only an admin can change the registry (you are {actor.role})")

    @staticmethod
    def _check_refs(conn: Connection, entity: str, values: Mapping[str, Any], own_id: str) -> None:
        party = values.get("party_id")
        if party is not None and not conn.execute(select(parties.c.id).where(parties.c.id == party)).first():
            raise InvalidEntry(f"unknown party {party!r}", errors=[{"field": "party", "reason": "unknown party"}])
        for col, field in (("gln", "gln"), ("gtin", "gtin")):
            table = _TABLES[entity]
            value = values.get(col)
            if value and col in table.c:
                clash = conn.execute(select(table.c.id).where(table.c[col] == value)).first()
                if clash and clash.id != own_id:
                    raise Conflict(
                        f"{field} {value} is already registered to {entity} {clash.id!r}",
                        errors=[{"field": field, "reason": "already registered"}],
                    )

    # -- tokens --------------------------------------------------------------------------------

    def create_token(self, party_id: str, role: str, actor: Actor, label: str = "") -> tuple[str, dict[str, Any]]:
        """Create a token; returns (the secret token, shown once, and its stored record)."""
        if role not in ROLES:
            raise InvalidEntry(
                f"unknown role {role!r}", errors=[{"field": "role", "reason": f"one of {', '.join(ROLES)}"}]
            )
        if actor.role not in access.MANAGES_REGISTRY:
            raise Forbidden("only an admin can create tokens")
        if len(label) > 100 or not label.isprintable():
            raise InvalidEntry(
                "label must be at most 100 printable characters", errors=[{"field": "label", "reason": "invalid"}]
            )
        token_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        row = {
            "id": token_id,
            "party_id": party_id,
            "role": role,
            "label": label,
            "secret_hash": _secret_hash(secret),
            "created_at": _now(),
            "revoked_at": None,
        }
        with db.write_transaction(self.engine) as conn:
            if not conn.execute(select(parties.c.id).where(parties.c.id == party_id)).first():
                raise InvalidEntry(
                    f"unknown party {party_id!r}", errors=[{"field": "party", "reason": "unknown party"}]
                )
            conn.execute(insert(api_tokens).values(**row))
            shown = {k: v for k, v in row.items() if k != "secret_hash"}
            _audit(conn, actor, "token", token_id, "create", None, shown)
        return f"{TOKEN_PREFIX}{token_id}_{secret}", shown

    def revoke_token(self, token_id: str, actor: Actor) -> None:
        if actor.role not in access.MANAGES_REGISTRY:
            raise Forbidden("only an admin can revoke tokens")
        now = _now()
        with db.write_transaction(self.engine) as conn:
            done = conn.execute(
                update(api_tokens)
                .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            if done.rowcount != 1:
                raise NotFound(f"no active token {token_id!r}", errors=[{"field": "id", "reason": "unknown"}])
            # Its browser sessions end with it (chain.sessions), not merely fail the next check.
            conn.execute(
                update(web_sessions)
                .where(web_sessions.c.token_id == token_id, web_sessions.c.ended_at.is_(None))
                .values(ended_at=now)
            )
            _audit(conn, actor, "token", token_id, "revoke", {"id": token_id}, {"id": token_id, "revoked": True})

    def authenticate(self, token: str) -> Actor:
        """The actor a bearer token stands for; :class:`Unauthorised` otherwise."""
        match = re.fullmatch(r"tf_([0-9a-f]{16})_([A-Za-z0-9_-]{20,100})", token.strip())
        if match is None:
            raise Unauthorised("malformed token", errors=[{"field": "Authorization", "reason": "malformed token"}])
        token_id, secret = match.groups()
        with db.read_snapshot(self.engine, single_statement=True) as conn:
            row = conn.execute(select(api_tokens).where(api_tokens.c.id == token_id)).mappings().first()
        expected = row["secret_hash"] if row is not None else bytes(32)
        ok = hmac.compare_digest(_secret_hash(secret), bytes(expected))
        if row is None or not ok or row["revoked_at"] is not None:
            raise Unauthorised(
                "unknown or revoked token", errors=[{"field": "Authorization", "reason": "invalid token"}]
            )
        return Actor(row["role"], row["party_id"], row["label"] or token_id, token_id)

    def tokens(self, party_id: str | None = None) -> builtins.list[dict[str, Any]]:
        stmt = select(api_tokens).order_by(api_tokens.c.created_at)
        if party_id:
            stmt = stmt.where(api_tokens.c.party_id == party_id)
        with db.read_snapshot(self.engine, single_statement=True) as conn:
            return [_plain({k: v for k, v in r.items() if k != "secret_hash"}) for r in conn.execute(stmt).mappings()]


def _secret_hash(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()
