"""Registry, access and projection tables (the ledger's own tables are in ``models``).

The registry (parties, locations, products) and API tokens are ordinary mutable rows, but every
change to them is written to ``registry_audit``, which is append-only like the ledger. The
projections (events, lots, stock, lot links, lot history, shipments) are derived: they are
written in the same transaction as the ledger entry they come from and can be rebuilt from the
ledger alone (``tracefood verify --projections``).

Quantities are integers in micro-units (``quantity * 10**6``) of the lot's unit of measure:
exact on both engines, no floats, no Decimal round trips through SQLite. Times are UTC strings
``YYYY-MM-DDTHH:MM:SS.ffffffZ``, which sort correctly as text on both engines.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from tracefood.epcis.events import MICRO as MICRO  # re-exported: the projections' quantity scale
from tracefood.ledger.models import Base, SeqType

AUDITED_TABLES = ("registry_audit",)

Key = String(255)


class Party(Base):
    __tablename__ = "parties"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    gln: Mapped[str | None] = mapped_column(String(13), unique=True)
    country: Mapped[str] = mapped_column(String(2))
    contact: Mapped[dict[str, Any]] = mapped_column(JSON)
    """Personal information (person, email, phone, address): shown to the owning party,
    recall officers and admins only."""
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class Location(Base):
    __tablename__ = "locations"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    uri: Mapped[str] = mapped_column(Key, unique=True)
    """The identifier used in events: GLN Digital Link, or urn:tracefood:loc:{id}."""
    name: Mapped[str] = mapped_column(String(200))
    party_id: Mapped[str] = mapped_column(ForeignKey("parties.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    gln: Mapped[str | None] = mapped_column(String(13))
    premises: Mapped[str | None] = mapped_column(String(7))
    port_code: Mapped[str | None] = mapped_column(String(16))
    country: Mapped[str] = mapped_column(String(2))
    region: Mapped[str | None] = mapped_column(String(100))
    address: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class Product(Base):
    __tablename__ = "products"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    gtin: Mapped[str | None] = mapped_column(String(14), unique=True)
    description: Mapped[str] = mapped_column(String(200))
    commodity: Mapped[str] = mapped_column(String(100))
    variety: Mapped[str | None] = mapped_column(String(100))
    unit: Mapped[str] = mapped_column(String(8))
    ftl: Mapped[bool] = mapped_column(Boolean)
    """On the FDA Food Traceability List (FSMA 204 key data elements required)."""
    party_id: Mapped[str | None] = mapped_column(ForeignKey("parties.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    party_id: Mapped[str] = mapped_column(ForeignKey("parties.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(100))
    secret_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class WebSession(Base):
    """A signed-in browser: the cookie carries the raw id, the table only its SHA-256, so a copy
    of this table signs no one in. Signing out, revoking the token or idling past
    WEB_SESSION_IDLE_MINUTES ends it for good (``chain.sessions``)."""

    __tablename__ = "web_sessions"

    id_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    token_id: Mapped[str] = mapped_column(ForeignKey("api_tokens.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class AuditRecord(Base):
    """Append-only (triggers): who changed which registry row, when, from what to what."""

    __tablename__ = "registry_audit"

    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(120))
    entity: Mapped[str] = mapped_column(String(16))
    entity_id: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    __table_args__ = (Index("ix_registry_audit_entity", "entity", "entity_id"),)


# -- projections -------------------------------------------------------------------------------


class EventRow(Base):
    """One row per supply-chain event entry: its identities and the fields queries filter on."""

    __tablename__ = "events"

    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=False)
    event_id: Mapped[str] = mapped_column(Key, unique=True)
    hash_id: Mapped[str] = mapped_column(String(100))
    correction: Mapped[bool] = mapped_column(Boolean, index=True)
    """An EPCIS error declaration: same hash ID as the event it declares erroneous."""
    event_type: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str | None] = mapped_column(String(32))
    action: Mapped[str | None] = mapped_column(String(8))
    biz_step: Mapped[str | None] = mapped_column(String(100))
    disposition: Mapped[str | None] = mapped_column(String(100))
    event_time: Mapped[str] = mapped_column(String(32), index=True)
    recorded: Mapped[str] = mapped_column(String(32), index=True)
    party_id: Mapped[str | None] = mapped_column(String(64))
    read_point: Mapped[str | None] = mapped_column(Key)
    biz_location: Mapped[str | None] = mapped_column(Key)

    __table_args__ = (UniqueConstraint("hash_id", "correction"),)


class Lot(Base):
    """A traceable object: a lot (GTIN + lot), a serialised item, a logistic unit (SSCC)..."""

    __tablename__ = "lots"

    id: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=False)
    key: Mapped[str] = mapped_column(Key, unique=True)
    kind: Mapped[str] = mapped_column(String(8))
    gtin: Mapped[str | None] = mapped_column(String(14), index=True)
    lot_code: Mapped[str | None] = mapped_column(String(100))
    product_id: Mapped[str | None] = mapped_column(String(64))
    uom: Mapped[str | None] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16))
    first_seq: Mapped[int] = mapped_column(BigInteger)
    first_time: Mapped[str] = mapped_column(String(32))
    tlc_source: Mapped[str | None] = mapped_column(Key)
    """Where the traceability lot code was assigned (FSMA 204 'TLC source')."""
    party_id: Mapped[str | None] = mapped_column(String(64), index=True)
    """The party that first recorded it."""


class Stock(Base):
    """Quantity on hand of a lot at a location (micro-units)."""

    __tablename__ = "stock"

    lot_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("lots.id"), primary_key=True)
    location: Mapped[str] = mapped_column(Key, primary_key=True)
    party_id: Mapped[str | None] = mapped_column(String(64), index=True)
    quantity: Mapped[int] = mapped_column(BigInteger)


class LotLink(Base):
    """transform: input lot -> output lot; contains: container -> content (until removed)."""

    __tablename__ = "lot_links"

    id: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(12))
    parent_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("lots.id"), index=True)
    child_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("lots.id"), index=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[int | None] = mapped_column(BigInteger)
    removed_seq: Mapped[int | None] = mapped_column(BigInteger)


class StockMove(Base):
    """What one event did to stock: the change of a lot's quantity at a location (micro-units;
    taken < 0 < added), as it happened, clamps and first sightings included. An error
    declaration undoes exactly these."""

    __tablename__ = "stock_moves"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    lot_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("lots.id"), primary_key=True)
    location: Mapped[str] = mapped_column(Key, primary_key=True)
    delta: Mapped[int] = mapped_column(BigInteger)


class LotEvent(Base):
    """Custody and location history: every event that names a lot, with its role in it."""

    __tablename__ = "lot_events"

    lot_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("lots.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    role: Mapped[str] = mapped_column(String(8), primary_key=True)
    event_time: Mapped[str] = mapped_column(String(32))
    location: Mapped[str | None] = mapped_column(Key)
    party_id: Mapped[str | None] = mapped_column(String(64))
    quantity: Mapped[int | None] = mapped_column(BigInteger)

    __table_args__ = (
        Index("ix_lot_events_seq", "seq"),
        Index("ix_lot_events_lot_id_event_time", "lot_id", "event_time"),
    )


class Shipment(Base):
    """A lot (or logistic unit) shipped and not yet, or since, received."""

    __tablename__ = "shipments"

    id: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=False)
    ship_seq: Mapped[int] = mapped_column(BigInteger, index=True)
    lot_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("lots.id"), index=True)
    quantity: Mapped[int | None] = mapped_column(BigInteger)
    from_location: Mapped[str | None] = mapped_column(Key)
    to_location: Mapped[str | None] = mapped_column(Key)
    from_party: Mapped[str | None] = mapped_column(String(64))
    to_party: Mapped[str | None] = mapped_column(String(64))
    carrier: Mapped[str | None] = mapped_column(String(64))
    reference: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12))
    received_seq: Mapped[int | None] = mapped_column(BigInteger, index=True)


class LabelKey(Base):
    """A party's Ed25519 label-signing key. The private key is stored only encrypted
    (AES-256-GCM under the instance's label master key, bound to the key id and party)."""

    __tablename__ = "label_keys"

    kid: Mapped[str] = mapped_column(String(16), primary_key=True)
    party_id: Mapped[str] = mapped_column(ForeignKey("parties.id"), index=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    private_sealed: Mapped[bytes] = mapped_column(LargeBinary(128))
    """12-byte nonce || AES-256-GCM(seed) || tag."""
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    retired_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    """Rotated out: signs nothing new, still verifies the labels it signed."""
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_reason: Mapped[str | None] = mapped_column(String(200))


class LabelIssuance(Base):
    """Append-only (triggers): every label issued, by whom, when, with which key."""

    __tablename__ = "label_issuances"

    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(120))
    party_id: Mapped[str] = mapped_column(String(64))
    kid: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(Key, index=True)
    """The lot or logistic unit key (GS1 Digital Link form, as in ``lots.key``)."""
    sig_prefix: Mapped[str] = mapped_column(String(16), index=True)
    """The first 16 base64url characters of the signature (96 bits): finds what a tampered
    label was issued for."""
    url: Mapped[str] = mapped_column(Text)
    """The full label URL, signature included (nothing secret in it)."""
    ec: Mapped[str] = mapped_column(String(1))


class Recall(Base):
    """A recall: its class, reason and scope (the affected lots, computed by trace forward from
    its seeds), the ledger event that records it, and whether it is closed."""

    __tablename__ = "recalls"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    """The ledger entry of the recall event (disposition recalled on every affected lot)."""
    recall_class: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str] = mapped_column(String(500))
    hazard: Mapped[str | None] = mapped_column(String(200))
    instructions: Mapped[str | None] = mapped_column(String(500))
    seeds: Mapped[dict[str, Any]] = mapped_column(JSON)
    party_id: Mapped[str | None] = mapped_column(String(64))
    opened_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    opened_by: Mapped[str] = mapped_column(String(120))
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    closed_by: Mapped[str | None] = mapped_column(String(120))
    close_reason: Mapped[str | None] = mapped_column(String(500))


class RecallLot(Base):
    __tablename__ = "recall_lots"

    recall_id: Mapped[str] = mapped_column(ForeignKey("recalls.id"), primary_key=True)
    lot_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("lots.id"), primary_key=True, index=True)
    seed: Mapped[bool] = mapped_column(Boolean)


class RecallAck(Base):
    """A holder's acknowledgement of a recall (effectiveness checks)."""

    __tablename__ = "recall_acks"

    recall_id: Mapped[str] = mapped_column(ForeignKey("recalls.id"), primary_key=True)
    party_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    by: Mapped[str] = mapped_column(String(120))
    note: Mapped[str | None] = mapped_column(String(500))


parties = cast(Table, Party.__table__)
locations = cast(Table, Location.__table__)
products = cast(Table, Product.__table__)
api_tokens = cast(Table, ApiToken.__table__)
registry_audit = cast(Table, AuditRecord.__table__)
web_sessions = cast(Table, WebSession.__table__)
events = cast(Table, EventRow.__table__)
lots = cast(Table, Lot.__table__)
stock = cast(Table, Stock.__table__)
lot_links = cast(Table, LotLink.__table__)
lot_events = cast(Table, LotEvent.__table__)
shipments = cast(Table, Shipment.__table__)
label_keys = cast(Table, LabelKey.__table__)
label_issuances = cast(Table, LabelIssuance.__table__)
recalls = cast(Table, Recall.__table__)
recall_lots = cast(Table, RecallLot.__table__)
recall_acks = cast(Table, RecallAck.__table__)
stock_moves = cast(Table, StockMove.__table__)

PROJECTION_TABLES = (stock_moves, shipments, lot_events, lot_links, stock, lots, events)
"""In deletion order (children first), for a rebuild."""
