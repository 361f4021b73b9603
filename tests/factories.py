"""A small supply-chain world for tests: two farms, a packer, a carrier, a distributor across
the border, an inspector, a recall officer and an admin; built through the public registry."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tracefood.chain.capture import EventStore
from tracefood.chain.registry import OPERATOR, Actor, Registry
from tracefood.epcis.identifiers import gs1_check_digit
from tracefood.ledger import Ledger


def gln(base12: str) -> str:
    return base12 + gs1_check_digit(base12)


def gtin(base13: str) -> str:
    return base13 + gs1_check_digit(base13)


def sscc(base17: str) -> str:
    return base17 + gs1_check_digit(base17)


PARTIES = [
    {
        "id": "farm-a",
        "name": "Ferme A",
        "gln": gln("754000000001"),
        "country": "CA",
        "contact": {"person": "Alice Ferme", "email": "alice@farm-a.example", "phone": "+1 450 555 0001"},
    },
    {"id": "farm-b", "name": "Ferme B", "country": "CA", "contact": {"email": "bob@farm-b.example"}},
    {
        "id": "packer",
        "name": "Emballeur",
        "gln": gln("754000000002"),
        "country": "CA",
        "contact": {"email": "qa@packer.example"},
    },
    {"id": "carrier", "name": "Transporteur", "country": "CA"},
    {"id": "dist", "name": "NY Distributor", "country": "US", "contact": {"email": "recalls@dist.example"}},
    {"id": "agency", "name": "Inspection agency", "country": "CA"},
    {"id": "admin-party", "name": "Registry", "country": "CA"},
]
LOCATIONS = [
    {
        "id": "field-a",
        "name": "Field A",
        "party": "farm-a",
        "kind": "farm",
        "gln": gln("754000000101"),
        "premises": "1234567",
        "country": "CA",
        "region": "Montérégie",
    },
    {"id": "field-b", "name": "Field B", "party": "farm-b", "kind": "farm", "country": "CA"},
    {
        "id": "packhouse",
        "name": "Packhouse",
        "party": "packer",
        "kind": "packhouse",
        "gln": gln("754000000102"),
        "country": "CA",
    },
    {
        "id": "lacolle",
        "name": "Lacolle",
        "party": "agency",
        "kind": "port_of_entry",
        "port_code": "0427",
        "country": "CA",
    },
    {"id": "dc-ny", "name": "DC New York", "party": "dist", "kind": "distribution_centre", "country": "US"},
]
PRODUCTS = [
    {
        "id": "romaine",
        "gtin": gtin("0754000100011"),
        "description": "Romaine",
        "commodity": "lettuce",
        "variety": "romaine",
        "unit": "KGM",
        "ftl": True,
    },
    {"id": "spinach", "description": "Spinach", "commodity": "spinach", "unit": "KGM", "ftl": True},
    {
        "id": "mix",
        "gtin": gtin("1754000100018"),
        "description": "Salad mix",
        "commodity": "salad mix",
        "unit": "CS",
        "ftl": True,
    },
]
ROLES = {
    "farm-a": "producer",
    "farm-b": "producer",
    "packer": "producer",
    "carrier": "carrier",
    "dist": "producer",
    "agency": "inspector",
    "admin-party": "admin",
}
PALLET = sscc("07540000000000011")


@dataclass
class World:
    ledger: Ledger
    registry: Registry
    store: EventStore
    tokens: dict[str, str] = field(default_factory=dict)

    def actor(self, party: str, role: str | None = None) -> Actor:
        return Actor(role or ROLES[party], party, "test")

    def bearer(self, party: str) -> dict[str, str]:
        """The Authorization header of a party's token (``build_world(..., tokens=True)``)."""
        return {"Authorization": f"Bearer {self.tokens[party]}"}

    def record(self, party: str, event: Any) -> Any:
        return self.store.record(event, self.actor(party))


def build_world(ledger: Ledger, *, tokens: bool = False) -> World:
    registry = Registry(ledger.engine)
    for entity, rows in (("party", PARTIES), ("location", LOCATIONS), ("product", PRODUCTS)):
        for row in rows:
            registry.create(entity, row, OPERATOR)
    world = World(ledger, registry, EventStore(ledger))
    if tokens:
        for party, role in ROLES.items():
            world.tokens[party], _ = registry.create_token(party, role, OPERATOR)
        world.tokens["recall"], _ = registry.create_token("agency", "recall_officer", OPERATOR)
    return world


def t(day: int, hm: str = "08:00") -> str:
    return f"2026-08-{day:02d}T{hm}:00-04:00"


def harvest(
    lot: str = "A1", qty: str = "100", product: str = "romaine", location: str = "field-a", day: int = 1
) -> dict[str, Any]:
    return {
        "kind": "harvest",
        "time": t(day),
        "location": location,
        "items": [{"product": product, "lot": lot, "quantity": qty}],
    }


def ship(
    lot: str = "A1",
    qty: str = "100",
    *,
    frm: str = "field-a",
    to: str = "packhouse",
    day: int = 2,
    product: str = "romaine",
    number: str = "BOL-1",
) -> dict[str, Any]:
    return {
        "kind": "ship",
        "time": t(day),
        "location": frm,
        "to": to,
        "items": [{"product": product, "lot": lot, "quantity": qty}],
        "reference": {"type": "bol", "number": number},
    }


def receive(
    lot: str = "A1",
    qty: str = "100",
    *,
    at: str = "packhouse",
    frm: str = "field-a",
    day: int = 3,
    product: str = "romaine",
    number: str = "BOL-1",
) -> dict[str, Any]:
    return {
        "kind": "receive",
        "time": t(day),
        "location": at,
        "from": frm,
        "items": [{"product": product, "lot": lot, "quantity": qty}],
        "reference": {"type": "bol", "number": number},
    }


def epcis_document(*events: dict[str, Any]) -> dict[str, Any]:
    """An EPCIS 2.0 capture document around ``events``."""
    return {
        "@context": ["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-08-01T00:00:00Z",
        "epcisBody": {"eventList": list(events)},
    }
