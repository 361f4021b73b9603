"""The in-memory rows of the projections and the context each event is applied in.

Kept apart from the unit of work and the rules so that both, and the undo of corrected events,
share one vocabulary without importing one another.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tracefood.epcis.events import Obj

IN_TRANSIT = "in_transit"
RECEIVED = "received"
CORRECTED = "corrected"
"""A shipment whose shipping event was declared erroneous."""
HOLDING = ("recalled", "non_conformant", "damaged", "expired")
"""Dispositions that put a lot on hold (status ``on_hold``; ``recalled`` gives ``recalled``)."""


@dataclass
class LotState:
    id: int
    key: str
    kind: str
    gtin: str | None
    lot_code: str | None
    product_id: str | None
    uom: str | None
    status: str
    first_seq: int
    first_time: str
    tlc_source: str | None
    party_id: str | None
    new: bool = False
    dirty: bool = False


@dataclass
class ShipState:
    id: int
    ship_seq: int
    lot_id: int
    quantity: int | None
    from_location: str | None
    to_location: str | None
    from_party: str | None
    to_party: str | None
    carrier: str | None
    reference: str | None
    status: str
    received_seq: int | None = None
    new: bool = False
    dirty: bool = False


@dataclass
class LinkState:
    id: int
    kind: str
    parent_id: int
    child_id: int
    seq: int
    quantity: int | None
    removed_seq: int | None = None
    new: bool = False
    dirty: bool = False


Touched = list[tuple[Obj, LotState]]
"""The objects an event names, each with its lot (created if the event may create it)."""


@dataclass
class EventContext:
    """Who records the event and what the registry says about the places involved."""

    seq: int
    party_id: str | None
    strict: bool
    location_party: dict[str, str] = field(default_factory=dict)
    """location key -> operating party, for registered locations."""
    product_of_gtin: dict[str, str] = field(default_factory=dict)
    carrier_role: bool = False
    inspector: bool = False
    recall: bool = False
    """A recall, issued through the recall process: it names lots in anyone's custody."""
    check_access: bool = True
    """False when replaying the ledger (the events were checked when recorded)."""
    lenient: bool = False
    """An event of a lenient import: taking more than is on hand takes what there is."""
    notes: list[tuple[str, str, str]] = field(default_factory=list)
    """(pointer, value, reason) for what a lenient event was allowed to do."""
    hash_id: str | None = None
    """The event's hash ID: an error declaration undoes the event with the same one."""
    declared: bool = False
    """The ledger already holds an error declaration of this event: it changes nothing."""
