"""The demo supply chain: Montérégie leafy greens followed from the field to New York retailers.

Three farms harvest romaine, green leaf lettuce, spinach and cucumbers (all on the FDA Food
Traceability List); a Napierville packer assigns traceability lot codes; a Saint-Jean processor
mixes lots into a salad mix; pallets are loaded into a sealed container that a carrier drives
across the border at Lacolle / Champlain (NY); a Bronx distributor ships on to two retailers;
one spinach-derived salad lot later fails a laboratory test.

Everything goes through the public code paths (the registry, API tokens and the event store
that the REST API uses), never SQL. Event times are fixed, so the event hash IDs are too:
loading twice appends nothing the second time. Tokens are created once and kept in
``demo-tokens.json`` (mode 0600) in TRACEFOOD_HOME so the demo can print them again.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tracefood.chain.capture import EventStore
from tracefood.chain.registry import OPERATOR, Actor, Registry
from tracefood.demo.data import LOCATIONS, PARTIES, PRODUCTS, TOKENS
from tracefood.demo.scenario import scenario
from tracefood.errors import Conflict
from tracefood.labels import issuance
from tracefood.labels.keystore import LabelKeys
from tracefood.ledger import Ledger

DEMO_LABELS = (
    ("https://id.gs1.org/01/17541004000141/10/SR-0815-A", "salad mix lot, active"),
    ("https://id.gs1.org/01/17541004000141/10/SR-0815-B", "salad mix lot, on hold after a failed test"),
    ("https://id.gs1.org/01/07541001000116/10/RB-0812", "romaine harvest lot"),
    ("https://id.gs1.org/00/075410000000000421", "the sealed container that crossed at Lacolle"),
)


def demo_labels(ledger: Ledger, keys: LabelKeys, base_url: str) -> list[tuple[str, str]]:
    """A label for a few demo lots (issued once per base URL; later runs reuse them)."""
    out = []
    for lot, what in DEMO_LABELS:
        earlier = [
            i["url"] for i in issuance.issuances(ledger.engine, subject=lot) if i["url"].startswith(base_url + "/")
        ]
        url = earlier[0] if earlier else issuance.issue(ledger, keys, lot, OPERATOR, base_url).url
        out.append((url, what))
    return out


@dataclass(frozen=True)
class DemoResult:
    appended: int
    existing: int
    tokens: dict[str, str]


def _ensure(registry: Registry, entity: str, rows: list[dict[str, Any]]) -> None:
    for row in rows:
        with contextlib.suppress(Conflict):  # already loaded by an earlier run
            registry.create(entity, row, OPERATOR)


def _tokens(registry: Registry, home: Path) -> dict[str, str]:
    path = home / "demo-tokens.json"
    known: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    for party, role in TOKENS:
        name = f"{party}:{role}"
        if name not in known:
            known[name], _ = registry.create_token(party, role, OPERATOR, label=f"demo {role}")
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(known, out, indent=2)
    return known


def load_demo(ledger: Ledger, home: Path) -> DemoResult:
    registry = Registry(ledger.engine)
    _ensure(registry, "party", PARTIES)
    _ensure(registry, "location", LOCATIONS)
    _ensure(registry, "product", PRODUCTS)
    tokens = _tokens(registry, home)
    store = EventStore(ledger)
    roles = dict(TOKENS)
    created = existing = 0
    for party, event in scenario():
        (receipt,) = store.record(event, Actor(roles[party], party, "demo"))
        created += receipt.created
        existing += not receipt.created
    return DemoResult(created, existing, tokens)
