"""A deterministic synthetic supply chain for benchmarks and trace tests, loaded the public way.

Run from the repository root::

    python tools/synth.py --events 100000 --seed 1 --database sqlite:////tmp/synth.db --json summary.json

The world (``build_world(seed, size)``, registered by ``registry(seed, size)``): Québec and
Ontario farms (a farm site with a GLN or only a Québec premises number, 2-6 fields, 1-3 crops);
packers giving field lots their traceability lot codes (GTIN + lot) at initial_pack; processors
MIXING 2-3 case lots into salad-mix lots; distribution centres in Québec and in New York,
Vermont and Maine, each serving 3-5 stores of the retail chains; carriers; inspectors (CFIA,
FDA); the border agencies' four pairs of ports of entry (Lacolle/Champlain, Philipsburg/Highgate
Springs, Stanstead/Derby Line, Armstrong/Jackman). Ten field crops, their ten case products and
four mixes, all with GTINs and on the FDA Food Traceability List. It grows with the size:

=========  =====  ==========  =====  =======  ==========  ============  =================
events     days   lots a day  farms  packers  processors  DCs (QC+US)  chains / stores
=========  =====  ==========  =====  =======  ==========  ============  =================
10^4        10       125        22      4          3          4+4          8 / 28
10^5       100       125        22      4          3          4+4          8 / 28
10^6       330       444        42      8          5          7+7         14 / 59
=========  =====  ==========  =====  =======  ==========  ============  =================

Event mix at 10^5 (%): aggregate 18, disaggregate 18, ship 12, receive 12, harvest 12,
initial_pack 11, cool 7, transform 4, destroy 3, border_crossing 2, inspect 1.

One simulated day (from 2025-01-01, Eastern time; all events in the past), in ledger order, each
party's day in one consecutive chunk, every event after the objects it handles were ready:

1. carriers: containers shipped yesterday cross the border, departing at the Canadian port and
   arriving at the US one (customs entry, FAST lane or not); FDA examines ~6% at the port;
2. farms: harvest (fewer on Sundays and in winter), cool ~60%, truck the lots to their packer;
3. DCs: receive what is due, unload containers (reused later), unpack pallets and SPLIT each lot
   across 2-3 stores (one shipment per store); ~30% of lots leave a tail in reserve; ~12% of
   pallets are cross-docked whole to one store, 60% of them after a reserve lot is added to the
   pallet (a lot added to a pallet after the pallet was shipped); reserves older than 2 days go
   out as loose lines; emptied containers go back to their processor;
4. stores: receive (~10% a day late), unpack cross-docked pallets, destroy damaged cases (~3%)
   and part of what an inspector found non-conformant the day before;
5. packers: receive the farms' lots, initial_pack each (~15% two lots of one crop together),
   palletise (120 cases a pallet; lots span pallets) and ship: leafy greens ~70% to a processor,
   the rest to Québec DCs, delivered the next day;
6. processors: take back empty containers, receive and unpack packers' pallets, transform the 2-3
   oldest case lots into a mix lot (each input is used twice: 40-70%, then the rest less trim
   waste, destroyed), palletise (200 cases), load ~70% of the pallets into containers (2-6
   pallets, nested aggregation) for a US DC with a carrier, ship the rest to a Québec DC;
7. inspectors: CFIA and FDA inspect ~3% of the lines stores received (~12% non-conformant).

``generate(events, seed, truth)`` yields ``(party, role, [readable events])`` and stops at
exactly ``events`` events: any prefix of the stream is valid, so what was shipped and not
received at the cut stays in transit. Its memory is a few days' work (~90 MB RSS at 10^6); the
``Truth`` it fills grows with the ledger (~270 MB more at 10^6). Same seed and size give
byte-identical events, hence the same event hash IDs (``hash_ids`` computes them offline): only
``random.Random.random`` is used, whose sequence Python keeps stable across versions.

``Truth`` is the lineage created, by ledger position (``seq`` when loaded into an empty ledger):
lots, logistic units, transformation edges (initial_pack and transform), container membership
windows, late additions, shipments (expanded as the ``shipments`` projection expands them: a
container, its pallets, their lots) with their receipts; ``to_json`` dumps it. ``load`` registers
the world with ``Registry.create`` and records the events with ``EventStore.record``, one party's
consecutive events per call, at most 1,000.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import itertools
import json
import math
import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(REPO))

from tracefood.epcis.digital_link import gs1_check_digit  # noqa: E402
from tracefood.epcis.gs1_keys import lot_uri, sscc_uri  # noqa: E402
from tracefood.ledger import Ledger  # noqa: E402

EPOCH = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
"""Simulated day 0 is 2025-01-01 (Eastern time); times are seconds since this instant."""
LAST_DAY = 540  # 2026-06-24: the simulation must stay in the past
BATCH = 1_000

# -- seeded choices (only Random.random(): stable across Python versions) ------------------------


class Dice:
    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed).random

    def real(self) -> float:
        return self._random()

    def chance(self, p: float) -> bool:
        return self._random() < p

    def int(self, lo: int, hi: int) -> int:
        """An integer in [lo, hi]."""
        return lo + int(self._random() * (hi - lo + 1))

    def pick(self, items: list[Any] | tuple[Any, ...]) -> Any:
        return items[int(self._random() * len(items))]

    def shuffled(self, items: list[Any]) -> list[Any]:
        out = list(items)
        for i in range(len(out) - 1, 0, -1):
            j = int(self._random() * (i + 1))
            out[i], out[j] = out[j], out[i]
        return out


# -- time: Eastern wall clock, daylight saving time by the US/Canada rule ------------------------


def _nth_sunday(year: int, month: int, n: int) -> dt.date:
    first = dt.date(year, month, 1)
    return first + dt.timedelta(days=(6 - first.weekday()) % 7 + 7 * (n - 1))


@functools.lru_cache(maxsize=8)
def _dst_window(year: int) -> tuple[int, int]:
    """(start, end) of daylight saving time, in seconds since EPOCH (02:00 local each)."""
    start = dt.datetime.combine(_nth_sunday(year, 3, 2), dt.time(7), dt.UTC)
    end = dt.datetime.combine(_nth_sunday(year, 11, 1), dt.time(6), dt.UTC)
    return int((start - EPOCH).total_seconds()), int((end - EPOCH).total_seconds())


def _offset_hours(instant: int) -> int:
    year = (EPOCH + dt.timedelta(seconds=instant)).year
    start, end = _dst_window(year)
    return -4 if start <= instant < end else -5


def local(day: int, hour: float) -> int:
    """The instant of ``hour`` o'clock (Eastern) on simulated ``day``."""
    guess = day * 86_400 + int(hour * 3600) + 5 * 3600
    return guess - 3600 * (_offset_hours(guess) + 5)


def stamp(instant: int) -> str:
    offset = _offset_hours(instant)
    wall = EPOCH + dt.timedelta(seconds=instant, hours=offset)
    return f"{wall:%Y-%m-%dT%H:%M:%S}{offset:+03d}:00"


def local_date(instant: int) -> str:
    return stamp(instant)[:10]


class Clock:
    """One party's working time in a phase: each event a little after the previous one and
    never before the objects it handles were ready."""

    def __init__(self, dice: Dice, day: int, hour: float) -> None:
        self.dice = dice
        self.now = local(day, hour) + dice.int(0, 1800)

    def next(self, not_before: int = 0) -> int:
        self.now = max(self.now + self.dice.int(30, 180), not_before)
        return self.now


def event(kind: str, instant: int, where: Site, **fields: Any) -> dict[str, Any]:
    """A readable event; fields that are None or empty lists are left out."""
    out = {"kind": kind, "time": stamp(instant), "location": where.id}
    out.update((k, v) for k, v in fields.items() if v is not None and v != [])
    return out


# -- identifiers ------------------------------------------------------------------------------------


def _gs1(body: str) -> str:
    return body + gs1_check_digit(body)


def _gln(number: int, ref: int, country: str) -> str:
    return _gs1(f"0614{number:04d}{ref:04d}" if country == "US" else f"754{number:04d}{ref:05d}")


# -- the world --------------------------------------------------------------------------------------

CROPS = (
    # id, commodity, variety, leafy (processors mix it), kg per case, case description
    ("romaine", "lettuce", "romaine", True, 9, "Romaine hearts, case of 12"),
    ("green-leaf", "lettuce", "green leaf", True, 8, "Green leaf lettuce, case of 24"),
    ("red-leaf", "lettuce", "red leaf", True, 8, "Red leaf lettuce, case of 24"),
    ("spinach", "spinach", "baby leaf", True, 5, "Baby spinach, 5 kg case"),
    ("kale", "kale", "curly", True, 6, "Curly kale, case of 24 bunches"),
    ("arugula", "arugula", None, True, 4, "Arugula, 4 kg case"),
    ("cucumber", "cucumbers", "field", False, 11, "Field cucumbers, 11 kg case"),
    ("tomato", "tomatoes", "field", False, 11, "Field tomatoes, 11 kg case"),
    ("pepper", "peppers", "bell", False, 5, "Bell peppers, 5 kg case"),
    ("cilantro", "fresh herbs", "cilantro", False, 3, "Cilantro, case of 30 bunches"),
)
MIXES = (
    ("spring-mix", "Spring mix 6 x 312 g"),
    ("mesclun", "Mesclun 6 x 142 g"),
    ("power-greens", "Power greens 6 x 142 g"),
    ("caesar-kit", "Caesar salad kit 12 x 300 g"),
)
MIX_YIELD = 2  # mix cases per input case
PACK_PALLET, MIX_PALLET = 120, 200  # cases per pallet

SURNAMES = (
    *("Beauregard", "Hébert", "Lefort", "Gagnon", "Tremblay", "Côté", "Bouchard", "Gauthier", "Morin", "Lavoie"),
    *("Fortin", "Gagné", "Ouellet", "Pelletier", "Bélanger", "Lévesque", "Bergeron", "Leblanc", "Paquette"),
    *("Girard", "Simard", "Boucher", "Caron", "Beaulieu", "Cloutier", "Dubé", "Poirier", "Fournier", "Lapointe"),
)
FARM_WORDS = ("Ferme", "Jardins", "Potagers", "Maraîchers", "Ferme maraîchère")
QC_TOWNS = (
    ("Sherrington", "Montérégie"),
    ("Saint-Rémi", "Montérégie"),
    ("Sainte-Clotilde", "Montérégie"),
    ("Napierville", "Montérégie"),
    ("Saint-Michel", "Montérégie"),
    ("Mirabel", "Laurentides"),
    ("Sainte-Anne-des-Plaines", "Laurentides"),
    ("L'Assomption", "Lanaudière"),
    ("Lanoraie", "Lanaudière"),
    ("Neuville", "Capitale-Nationale"),
    ("Saint-Laurent-de-l'Île-d'Orléans", "Capitale-Nationale"),
    ("Saint-Damase", "Montérégie"),
)
ON_TOWNS = (("Bradford", "Ontario"), ("Leamington", "Ontario"), ("Kettleby", "Ontario"))
PROCESSOR_NAMES = ("Richelieu", "Yamaska", "Chaudière", "Saint-Laurent", "Outaouais", "Mauricie", "Beauce", "Estrie")
QC_DC_CITIES = ("Laval", "Lévis", "Sherbrooke", "Boucherville", "Trois-Rivières", "Gatineau", "Saguenay")
US_DC_CITIES = (
    ("Bronx", "New York"),
    ("Burlington", "Vermont"),
    ("Portland", "Maine"),
    ("Albany", "New York"),
    ("Rutland", "Vermont"),
    ("Syracuse", "New York"),
    ("Bangor", "Maine"),
    ("Plattsburgh", "New York"),
)
QC_CHAINS = (
    "Marché Boréal",
    "Épicerie Fleuve",
    "Supermarché Érable",
    "Fraîcheur Plus",
    "Provisions Nord",
    "Marché du Coin",
)
US_CHAINS = (
    "Adirondack Market",
    "Green Mountain Grocers",
    "Harbor Foods",
    "Empire Fresh",
    "Pine State Market",
    "Hudson Grocers",
)
CARRIERS = (
    "Transports Frontière",
    "Northway Freight",
    "Laurentian Reefer Lines",
    "Champlain Cold Chain",
    "Appalaches Express",
    "Great North Logistics",
)
PORTS = (
    # Canadian side, US side (US CBP port codes), US states served
    (
        ("lacolle", "Lacolle (St-Bernard-de-Lacolle)", "0427"),
        ("champlain", "Champlain-Rouses Point NY", "0712"),
        "New York",
    ),
    (("philipsburg", "Philipsburg", None), ("highgate-springs", "Highgate Springs VT", "0212"), "Vermont"),
    (("stanstead", "Stanstead (Route 55)", None), ("derby-line", "Derby Line VT", "0209"), "Vermont"),
    (("armstrong", "Armstrong", None), ("jackman", "Jackman ME", "0104"), "Maine"),
)


@dataclass(frozen=True)
class Site:
    """A registered location and the party operating it."""

    id: str
    party: str
    country: str
    region: str


@dataclass(frozen=True)
class Product:
    id: str
    gtin: str
    unit: str
    leafy: bool = False
    kg_per_case: int = 0


@dataclass(frozen=True)
class Farm:
    site: Site
    crops: tuple[str, ...]
    fields: int
    packer: int


@dataclass
class World:
    seed: int
    size: int
    lots_per_day: float
    days: int
    rows: list[tuple[str, dict[str, Any]]]
    roles: dict[str, str]
    numbers: dict[str, int]
    products: dict[str, Product]
    farms: list[Farm]
    packers: list[Site]
    processors: list[Site]
    qc_dcs: list[Site]
    us_dcs: list[Site]
    stores: dict[str, list[Site]]  # DC id -> the stores it serves
    chains: dict[str, list[Site]]  # chain party -> its stores
    carriers: list[str]
    ports: dict[str, list[tuple[Site, Site]]]  # US state -> (Canadian port, US port)

    def census(self) -> dict[str, int]:
        return {
            "farms": len(self.farms),
            "packers": len(self.packers),
            "processors": len(self.processors),
            "dcs_quebec": len(self.qc_dcs),
            "dcs_us": len(self.us_dcs),
            "retail_chains": len(self.chains),
            "stores": sum(len(s) for s in self.chains.values()),
            "carriers": len(self.carriers),
            "ports_of_entry": 2 * len(PORTS),
            "inspectors": 2,
            "products": len(self.products),
        }


def scale(size: int) -> tuple[int, float]:
    """(days, harvest lots a day) for a ledger of ``size`` events: 6 to 330 days, then larger days.

    Events per harvest lot fall as the chain grows (a shipment carries more lots): measured
    10.6 at 30 lots a day, 8.3 at 95, 7.3 at 290, which ``5.5 + 28 / sqrt(lots)`` fits."""
    days = int(min(330, max(6, size / 1000)))
    per_day = 8.0
    for _ in range(8):  # a fixed point: per_day * days * events_per_lot(per_day) = size
        per_day = max(8.0, size / (days * (5.5 + 28 / math.sqrt(per_day))))
    return days, per_day


def build_world(seed: int, size: int) -> World:
    dice = Dice(seed * 1_000_003 + 17)
    days, per_day = scale(size)
    root = math.sqrt(per_day)
    rows: list[tuple[str, dict[str, Any]]] = []
    roles: dict[str, str] = {}
    numbers: dict[str, int] = {}
    sites: Counter[str] = Counter()

    def party(pid: str, name: str, country: str, role: str | None, *, gln: bool = True) -> str:
        numbers[pid] = len(numbers) + 1
        row: dict[str, Any] = {"id": pid, "name": name, "country": country}
        if gln:
            row["gln"] = _gln(numbers[pid], 0, country)
        row["contact"] = {"email": f"traceability@{pid}.example", "phone": f"+1 450 555 {numbers[pid]:04d}"}
        rows.append(("party", row))
        if role:
            roles[pid] = role
        return pid

    def site(sid: str, pid: str, name: str, kind: str, country: str, region: str, **extra: Any) -> Site:
        row = {"id": sid, "name": name, "party": pid, "kind": kind, "country": country, "region": region}
        sites[pid] += 1
        if extra.pop("gln", True):
            row["gln"] = _gln(numbers[pid], sites[pid], country)
        row.update({k: v for k, v in extra.items() if v is not None})
        rows.append(("location", row))
        return Site(sid, pid, country, region)

    products: dict[str, Product] = {}

    def product(pid: str, desc: str, commodity: str, variety: str | None, unit: str, **kw: Any) -> None:
        body = ("0" if unit == "KGM" else "1") + f"75410{len(products) + 1:07d}"
        row: dict[str, Any] = {"id": pid, "gtin": _gs1(body), "description": desc, "commodity": commodity}
        row |= {"unit": unit, "ftl": True} | ({"variety": variety} if variety else {})
        rows.append(("product", row))
        products[pid] = Product(pid, row["gtin"], unit, **kw)

    for crop, commodity, variety, leafy, kg, case in CROPS:
        product(f"{crop}-bulk", f"{crop.replace('-', ' ').capitalize()}, field bulk", commodity, variety, "KGM")
        product(f"{crop}-case", case, commodity, variety, "CS", leafy=leafy, kg_per_case=kg)
    for mix, desc in MIXES:
        product(mix, desc, "fresh-cut salad mix", None, "CS")

    n_farms = max(6, round(2 * root))
    n_packers, n_processors = max(2, round(n_farms / 5)), max(2, round(n_farms / 8))
    n_dcs, n_chains = max(2, round(root / 3)), max(2, round(root / 3))
    packers: list[Site] = []
    for i in range(1, n_packers + 1):
        town, region = QC_TOWNS[(3 * i) % len(QC_TOWNS)]
        pid = party(f"pack-{i:02d}", f"Emballages {town}", "CA", "producer")
        packers.append(site(f"pack-{i:02d}-house", pid, f"Emballages {town}, station", "packhouse", "CA", region))
    farms: list[Farm] = []
    surnames = dice.shuffled(list(SURNAMES))
    for i in range(1, n_farms + 1):
        ontario = i % 7 == 0
        town, region = dice.pick(ON_TOWNS if ontario else QC_TOWNS)
        surname = surnames[(i - 1) % len(surnames)]
        if i > len(surnames):
            surname += f" {(i - 1) // len(surnames) + 1}"
        name = f"{surname} Farms" if ontario else f"{dice.pick(FARM_WORDS)} {surname}"
        has_gln = ontario or dice.chance(0.6)
        pid = party(f"farm-{i:03d}", name, "CA", "producer", gln=has_gln)
        where = site(
            f"farm-{i:03d}-site",
            pid,
            f"{name}, {town}",
            "farm",
            "CA",
            region,
            gln=has_gln,
            premises=None if ontario else f"2{400000 + 37 * i:06d}",
            address=f"{town} {'ON' if ontario else 'QC'}",
        )
        crops = tuple(dice.shuffled([c[0] for c in CROPS])[: dice.int(1, 3)])
        farms.append(Farm(where, crops, dice.int(2, 6), (i - 1) % n_packers))
    processors: list[Site] = []
    for i in range(1, n_processors + 1):
        river = PROCESSOR_NAMES[(i - 1) % len(PROCESSOR_NAMES)]
        pid = party(f"proc-{i:02d}", f"Salades {river}", "CA", "producer")
        processors.append(site(f"proc-{i:02d}-plant", pid, f"Salades {river}, usine", "processor", "CA", "Montérégie"))
    qc_dcs: list[Site] = []
    us_dcs: list[Site] = []
    for i in range(1, n_dcs + 1):
        city = QC_DC_CITIES[(i - 1) % len(QC_DC_CITIES)]
        pid = party(f"dcq-{i:02d}", f"Distribution {city}", "CA", "producer")
        qc_dcs.append(site(f"dcq-{i:02d}-dc", pid, f"Distribution {city}", "distribution_centre", "CA", "Québec"))
        city, state = US_DC_CITIES[(i - 1) % len(US_DC_CITIES)]
        pid = party(f"dcu-{i:02d}", f"{city} Produce Distributors", "US", "producer")
        us_dcs.append(site(f"dcu-{i:02d}-dc", pid, f"{city} Produce, DC", "distribution_centre", "US", state))
    chains: dict[str, list[Site]] = {}
    stores: dict[str, list[Site]] = {}
    for country, names, dcs in (("CA", QC_CHAINS, qc_dcs), ("US", US_CHAINS, us_dcs)):
        ids = []
        for k in range(n_chains):
            name = names[k % len(names)] + ("" if k < len(names) else f" {k // len(names) + 1}")
            ids.append(
                party(
                    f"{'rq' if country == 'CA' else 'ru'}-{k + 1:02d}", name, country, "producer", gln=dice.chance(0.5)
                )
            )
        for dc in dcs:  # each DC serves 3-5 stores of any chain in its region
            stores[dc.id] = []
            for _ in range(dice.int(3, 5)):
                chain = dice.pick(ids)
                n = len(chains.setdefault(chain, [])) + 1
                store = site(f"{chain}-s{n:02d}", chain, f"store {n}", "retail", country, dc.region, gln=False)
                chains[chain].append(store)
                stores[dc.id].append(store)
    carriers = []
    for k in range(max(2, round(root / 4))):
        carriers.append(party(f"carrier-{k + 1:02d}", CARRIERS[k % len(CARRIERS)], "CA", "carrier", gln=False))
    party("cbsa", "Canada Border Services Agency", "CA", None, gln=False)
    party("us-cbp", "U.S. Customs and Border Protection", "US", None, gln=False)
    party("acia-cfia", "Agence canadienne d'inspection des aliments / CFIA", "CA", "inspector", gln=False)
    party("us-fda", "U.S. Food and Drug Administration", "US", "inspector", gln=False)
    ports: dict[str, list[tuple[Site, Site]]] = {}
    for (ca_id, ca_name, ca_code), (us_id, us_name, us_code), state in PORTS:
        ca = site(f"port-{ca_id}", "cbsa", ca_name, "port_of_entry", "CA", "Québec", gln=False, port_code=ca_code)
        us = site(f"port-{us_id}", "us-cbp", us_name, "port_of_entry", "US", state, gln=False, port_code=us_code)
        ports.setdefault(state, []).append((ca, us))
    return World(
        seed=seed,
        size=size,
        lots_per_day=per_day,
        days=days,
        rows=rows,
        roles=roles,
        numbers=numbers,
        products=products,
        farms=farms,
        packers=packers,
        processors=processors,
        qc_dcs=qc_dcs,
        us_dcs=us_dcs,
        stores=stores,
        chains=chains,
        carriers=carriers,
        ports=ports,
    )


def registry(seed: int, size: int) -> list[tuple[str, dict[str, Any]]]:
    """The registry rows (entity, row) of the world, in creation order (parties first)."""
    rows = build_world(seed, size).rows
    order = {"party": 0, "location": 1, "product": 2}
    return sorted(rows, key=lambda r: order[r[0]])


# -- ground truth -----------------------------------------------------------------------------------


@dataclass
class Truth:
    """The lineage the generator created. ``seq`` = position in the stream (from 0)."""

    lots: list[tuple[str, str, str, str, int]] = field(default_factory=list)  # key, product, party, how, seq
    units: dict[str, str] = field(default_factory=dict)  # SSCC key -> pallet | container
    edges: list[tuple[str, str, int, str, int]] = field(default_factory=list)  # input, output, qty used, kind, seq
    memberships: list[list[Any]] = field(default_factory=list)  # [parent, child, qty|None, added, removed|None]
    late_additions: list[tuple[str, str, int]] = field(default_factory=list)  # pallet, lot, seq
    shipments: list[dict[str, Any]] = field(default_factory=list)
    kinds: Counter[str] = field(default_factory=Counter)
    _open: dict[str, list[int]] = field(default_factory=dict, repr=False)
    _pending: dict[str, int] = field(default_factory=dict, repr=False)

    def lot(self, key: str, product: str, party: str, how: str, inputs: list[tuple[str, int]], seq: int) -> None:
        self.lots.append((key, product, party, how, seq))
        self.edges.extend((source, key, qty, how, seq) for source, qty in inputs)

    def added(self, parent: str, kind: str, children: list[tuple[str, int | None]], late: bool, seq: int) -> None:
        self.units.setdefault(parent, kind)
        for child, qty in children:
            self._open.setdefault(parent, []).append(len(self.memberships))
            self.memberships.append([parent, child, qty, seq, None])
            if late:
                self.late_additions.append((parent, child, seq))

    def removed(self, parent: str, seq: int) -> None:
        for index in self._open.pop(parent, []):
            self.memberships[index][4] = seq

    def shipped(self, number: str, head: dict[str, Any], lines: list[tuple[str, int | None]], seq: int) -> None:
        self._pending[number] = len(self.shipments)
        self.shipments.append({"number": number, "seq": seq, **head, "lines": lines, "received_seq": None})

    def received(self, number: str, seq: int) -> None:
        self.shipments[self._pending.pop(number)]["received_seq"] = seq

    def in_transit(self) -> list[dict[str, Any]]:
        """One row per object still in transit, as the ``shipments`` projection has them."""
        return [
            {k: v for k, v in s.items() if k not in ("lines", "received_seq")} | {"object": key, "quantity": qty}
            for s in self.shipments
            if s["received_seq"] is None
            for key, qty in s["lines"]
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "lots": [dict(zip(("key", "product", "party", "how", "seq"), r, strict=True)) for r in self.lots],
            "units": self.units,
            "edges": [dict(zip(("input", "output", "quantity", "kind", "seq"), r, strict=True)) for r in self.edges],
            "memberships": [
                dict(zip(("parent", "child", "quantity", "added_seq", "removed_seq"), r, strict=True))
                for r in self.memberships
            ],
            "late_additions": [dict(zip(("pallet", "lot", "seq"), r, strict=True)) for r in self.late_additions],
            "shipments": self.shipments,
            "in_transit": self.in_transit(),
            "kinds": dict(sorted(self.kinds.items())),
        }


# -- the simulation ---------------------------------------------------------------------------------


@dataclass(eq=False)
class Lot:
    product: Product
    code: str
    qty: int  # what its current holder has loose (not on a pallet)
    ready: int  # when it was last handled
    key: str = ""
    uses: int = 0

    def __post_init__(self) -> None:
        self.key = lot_uri(self.product.gtin, self.code)

    def item(self, qty: int | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"product": self.product.id, "lot": self.code}
        if qty is not None:
            out["quantity"] = str(qty)
        return out


@dataclass(eq=False)
class Unit:
    """A pallet (lines of lots) or a container (pallets), by SSCC."""

    sscc: str
    kind: str
    home: Site
    lines: list[tuple[Lot, int]] = field(default_factory=list)
    pallets: list[Unit] = field(default_factory=list)
    key: str = ""

    def __post_init__(self) -> None:
        self.key = sscc_uri(self.sscc)

    def moving(self) -> list[tuple[str, int | None]]:
        """What a shipment of this unit moves, in the order the projections expand it."""
        out: list[tuple[str, int | None]] = [(self.key, None)]
        for pallet in self.pallets:
            out.extend(pallet.moving())
        out.extend((lot.key, qty) for lot, qty in self.lines)
        return out


@dataclass(eq=False)
class Shipment:
    number: str
    sender: Site
    receiver: Site
    lines: list[tuple[Lot, int]]
    units: list[Unit]
    carrier: str | None
    ready: int  # earliest arrival
    due: int  # the day it is received
    crossed: bool = True


@dataclass
class Chunk:
    party: str
    role: str
    events: list[dict[str, Any]] = field(default_factory=list)
    effects: list[Callable[[int], None] | None] = field(default_factory=list)


class Simulation:
    def __init__(self, world: World, truth: Truth | None) -> None:
        self.w = world
        self.dice = Dice(world.seed)
        self.truth = truth
        self.serial: Counter[str] = Counter()
        self.inbound: dict[str, list[Shipment]] = {}  # receiving location id -> shipments
        self.crossings: list[Shipment] = []
        self.stock: dict[str, list[Lot]] = {p.id: [] for p in world.processors}  # processors' case lots
        self.pool: dict[str, list[Unit]] = {p.id: [] for p in world.processors}  # empty containers
        self.reserve: dict[str, list[tuple[Lot, int, int]]] = {}  # DC id -> (lot, qty, day)
        self.held: list[tuple[str, Site, Lot, list[int]]] = []  # today's store receipts: chain, store, lot, [qty]
        self.to_destroy: dict[str, list[tuple[Site, Lot, list[int]]]] = {}
        self.crossed_today: list[tuple[Shipment, Site]] = []  # and the US port it entered by
        self.chunk = Chunk("", "")
        self.day = 0

    # -- emitting ---------------------------------------------------------------------------------

    def emit(self, event: dict[str, Any], effect: Callable[..., None] | None = None, *args: Any) -> None:
        self.chunk.events.append(event)
        self.chunk.effects.append(functools.partial(effect, *args) if effect and self.truth else None)

    def fx(self, name: str) -> Callable[..., None] | None:
        return getattr(self.truth, name) if self.truth else None

    def begin(self, party: str, hour: float) -> Clock:
        self.chunk = Chunk(party, self.w.roles[party])
        return Clock(self.dice, self.day, hour)

    def next_id(self, party: str, what: str) -> int:
        self.serial[party + what] += 1
        return self.serial[party + what]

    def lot_code(self, prefix: str, party: str, instant: int) -> str:
        return (
            f"{prefix}{self.w.numbers[party]:03d}-{stamp(instant)[2:10].replace('-', '')}-{self.next_id(party, 'lot')}"
        )

    def new_unit(self, kind: str, site: Site) -> Unit:
        serial = self.next_id(site.party, "sscc")
        return Unit(_gs1(f"{1 if kind == 'pallet' else 3}754{self.w.numbers[site.party]:04d}{serial:09d}"), kind, site)

    # -- event builders ---------------------------------------------------------------------------

    def ship(
        self,
        clock: Clock,
        sender: Site,
        receiver: Site,
        lines: list[tuple[Lot, int]],
        units: list[Unit],
        *,
        carrier: str | None,
        travel: tuple[int, int],
        due: int,
    ) -> Shipment:
        ready = max([lot.ready for lot, _ in lines] + [0])
        t = clock.next(ready)
        number = f"BOL-{self.w.numbers[sender.party]:03d}-{self.next_id(sender.party, 'bol'):06d}"
        items = [lot.item(q) for lot, q in lines]
        reference = {"type": "bol", "number": number}
        shipped = event(
            "ship",
            t,
            sender,
            to=receiver.id,
            items=items,
            containers=[u.sscc for u in units],
            carrier=carrier,
            reference=reference,
        )
        moved = [m for u in units for m in u.moving()] + [(lot.key, q) for lot, q in lines]
        head: dict[str, str | None] = {"from_location": sender.id, "to_location": receiver.id}
        head |= {"from_party": sender.party, "to_party": receiver.party, "carrier": carrier}
        self.emit(shipped, self.fx("shipped"), number, head, moved)
        for lot, _ in lines:
            lot.ready = t
        sh = Shipment(number, sender, receiver, lines, units, carrier, t + 60 * self.dice.int(*travel), due)
        self.inbound.setdefault(receiver.id, []).append(sh)
        return sh

    def receive(self, clock: Clock, sh: Shipment) -> int:
        t = clock.next(sh.ready)
        items, containers = [lot.item(q) for lot, q in sh.lines], [u.sscc for u in sh.units]
        reference = {"type": "bol", "number": sh.number}
        received = event("receive", t, sh.receiver, items=items, containers=containers, reference=reference)
        self.emit(received | {"from": sh.sender.id}, self.fx("received"), sh.number)
        for lot, _ in sh.lines:
            lot.ready = t
        return t

    def aggregate(
        self,
        clock: Clock,
        where: Site,
        unit: Unit,
        *,
        late: bool = False,
        lines: list[tuple[Lot, int]] | None = None,
        pallets: list[Unit] | None = None,
    ) -> None:
        lines, pallets = lines or [], pallets or []
        t = clock.next(max([lot.ready for lot, _ in lines] + [0]))
        loading = {}
        if pallets:
            seal = f"SEAL-{self.w.numbers[where.party]:03d}-{self.next_id(where.party, 'seal'):06d}"
            loading = {"containers": [p.sscc for p in pallets], "step": "loading", "seal": seal}
        added = event("aggregate", t, where, parent=unit.sscc, items=[lot.item(q) for lot, q in lines], **loading)
        children = [(lot.key, q) for lot, q in lines] + [(p.key, None) for p in pallets]
        self.emit(added, self.fx("added"), unit.key, unit.kind, children, late)
        unit.lines.extend(lines)
        unit.pallets.extend(pallets)

    def disaggregate(self, clock: Clock, where: Site, unit: Unit, not_before: int) -> None:
        t = clock.next(not_before)
        step = "unloading" if unit.kind == "container" else None
        self.emit(event("disaggregate", t, where, parent=unit.sscc, step=step), self.fx("removed"), unit.key)
        for lot, _ in unit.lines:
            lot.ready = max(lot.ready, t)

    def destroy(self, clock: Clock, where: Site, lot: Lot, qty: int, reason: str, not_before: int = 0) -> None:
        t = clock.next(max(lot.ready, not_before))
        self.emit(event("destroy", t, where, items=[lot.item(qty)], reason=reason))

    def new_lot(self, made: dict[str, Any], lot: Lot, party: str, inputs: Iterable[tuple[Lot, int]] = ()) -> None:
        used = [(x.key, q) for x, q in inputs]
        self.emit(made, self.fx("lot"), lot.key, lot.product.id, party, made["kind"], used)

    def split(self, total: int, parts: int) -> list[int]:
        cuts = sorted({self.dice.int(1, total - 1) for _ in range(parts - 1)}) if total > parts else []
        bounds = [0, *cuts, total]
        return [b - a for a, b in itertools.pairwise(bounds) if b > a]

    # -- one day ----------------------------------------------------------------------------------

    def run_day(self, day: int) -> Iterator[Chunk]:
        self.day = day
        phases = (
            self.carriers,
            self.port_exams,
            self.farms,
            self.dcs,
            self.stores,
            self.packers,
            self.processors,
            self.inspectors,
        )
        for phase in phases:
            for chunk in phase():
                if chunk.events:
                    yield chunk

    def due(self, site: Site) -> list[Shipment]:
        waiting = self.inbound.get(site.id, [])
        now = [s for s in waiting if s.due <= self.day and s.crossed]
        self.inbound[site.id] = [s for s in waiting if not (s.due <= self.day and s.crossed)]
        return now

    def carriers(self) -> Iterator[Chunk]:
        today = [s for s in self.crossings if s.due <= self.day]
        self.crossings = [s for s in self.crossings if s.due > self.day]
        self.crossed_today = []
        for carrier in self.w.carriers:
            clock = self.begin(carrier, 3.5)
            for sh in (s for s in today if s.carrier == carrier):
                ca, us = self.dice.pick(self.w.ports[sh.receiver.region])
                box = sh.units[0].sscc
                t = clock.next(sh.ready)
                self.emit(event("border_crossing", t, ca, direction="departing", containers=[box], carrier=carrier))
                t = clock.next(t + 60 * self.dice.int(10, 40))
                entry = f"{self.dice.pick(('TF3', 'NW8', 'LRL', 'CCC'))}-{self.dice.int(0, 9_999_999):07d}-{t % 10}"
                fast = self.dice.chance(0.6)
                arriving = event("border_crossing", t, us, direction="arriving", containers=[box], carrier=carrier)
                self.emit(arriving | {"customs_entry": entry, "fast_lane": fast})
                sh.crossed, sh.ready = True, t + 60 * self.dice.int(60, 240)
                self.crossed_today.append((sh, us))
            yield self.chunk

    def port_exams(self) -> Iterator[Chunk]:
        clock = self.begin("us-fda", 5.0)
        for sh, port in self.crossed_today:
            if self.dice.chance(0.06):
                t = clock.next(sh.ready - 3000)  # 10 minutes or more after its arrival
                temp = f"{self.dice.int(10, 40) / 10:.1f}"
                exam = event("inspect", t, port, containers=[sh.units[0].sscc], result="conformant", temperature=temp)
                self.emit(exam)
                sh.ready = max(sh.ready, t + 1800)
        yield self.chunk

    def farms(self) -> Iterator[Chunk]:
        w, dice = self.w, self.dice
        month = (EPOCH + dt.timedelta(days=self.day)).month
        season = 1.3 if 6 <= month <= 10 else (0.7 if month in (12, 1, 2, 3) else 1.0)
        weekday = (EPOCH + dt.timedelta(days=self.day)).weekday()
        mean = w.lots_per_day / len(w.farms) * season * (0.3 if weekday == 6 else 1.1)
        for farm in w.farms:
            here = farm.site
            clock = self.begin(here.party, 5.5)
            lots: list[Lot] = []
            for _ in range(int(mean + dice.real())):
                t = clock.next()
                crop = w.products[dice.pick(farm.crops) + "-bulk"]
                lot = Lot(crop, self.lot_code("F", here.party, t), 10 * dice.int(20, 100), t)
                field_name = f"{'Field' if here.region == 'Ontario' else 'Champ'} {dice.int(1, farm.fields)}"
                items, date = [lot.item(lot.qty)], local_date(t)
                self.new_lot(
                    event("harvest", t, here, items=items, field=field_name, harvest_date=date), lot, here.party
                )
                if dice.chance(0.6):
                    t = clock.next()
                    temp = f"{dice.int(10, 40) / 10:.1f}"
                    self.emit(event("cool", t, here, items=[lot.item()], temperature=temp))
                    lot.ready = t
                lots.append(lot)
            if lots:
                packer = w.packers[farm.packer if dice.chance(0.85) else dice.int(0, len(w.packers) - 1)]
                self.ship(
                    clock,
                    here,
                    packer,
                    [(lot, lot.qty) for lot in lots],
                    [],
                    carrier=None,
                    travel=(30, 120),
                    due=self.day,
                )
            yield self.chunk

    def packers(self) -> Iterator[Chunk]:
        w, dice = self.w, self.dice
        for n, house in enumerate(w.packers):
            clock = self.begin(house.party, 12.0)
            fresh: list[Lot] = []
            for sh in self.due(house):
                self.receive(clock, sh)
                fresh.extend(lot for lot, _ in sh.lines)
            cases: list[Lot] = []
            while fresh:
                inputs = [fresh.pop(0)]
                twin = next((x for x in fresh if x.product is inputs[0].product), None)
                if twin is not None and dice.chance(0.15):  # two field lots of one crop, one case lot
                    fresh.remove(twin)
                    inputs.append(twin)
                case = w.products[inputs[0].product.id.replace("-bulk", "-case")]
                t = clock.next(max(x.ready for x in inputs))
                out = Lot(
                    case, self.lot_code("P", house.party, t), max(1, sum(x.qty for x in inputs) // case.kg_per_case), t
                )
                inputs_used = [x.item(x.qty) for x in inputs]
                packed = event("initial_pack", t, house, inputs=inputs_used, outputs=[out.item(out.qty)])
                self.new_lot(packed, out, house.party, [(x, x.qty) for x in inputs])
                cases.append(out)
            routes: dict[Site, list[Lot]] = {}
            for lot in cases:
                if lot.product.leafy and dice.chance(0.7):
                    usual = w.processors[n % len(w.processors)]
                    dest = usual if dice.chance(0.8) else dice.pick(w.processors)
                else:
                    dest = dice.pick(w.qc_dcs)
                routes.setdefault(dest, []).append(lot)
            for dest, lots in routes.items():
                pallets = self.palletise(clock, house, lots, PACK_PALLET)
                carrier = dice.pick(w.carriers) if dice.chance(0.5) else None
                self.ship(clock, house, dest, [], pallets, carrier=carrier, travel=(60, 240), due=self.day + 1)
            yield self.chunk

    def palletise(self, clock: Clock, where: Site, lots: list[Lot], cap: int) -> list[Unit]:
        """Stack the lots' whole quantities on pallets of ``cap`` cases (a lot may span pallets)."""
        pallets: list[Unit] = []
        lines: list[tuple[Lot, int]] = []
        room = cap
        for lot in lots:
            left = lot.qty
            while left:
                take = min(left, room)
                lines.append((lot, take))
                left, room = left - take, room - take
                if room == 0:
                    pallets.append(self.new_unit("pallet", where))
                    self.aggregate(clock, where, pallets[-1], lines=lines)
                    lines, room = [], cap
        if lines:
            pallets.append(self.new_unit("pallet", where))
            self.aggregate(clock, where, pallets[-1], lines=lines)
        return pallets

    def processors(self) -> Iterator[Chunk]:
        w, dice = self.w, self.dice
        for plant in w.processors:
            clock = self.begin(plant.party, 13.0)
            stock, pool = self.stock[plant.id], self.pool[plant.id]
            arrived: dict[Lot, None] = {}
            for sh in self.due(plant):
                t = self.receive(clock, sh)
                for unit in sh.units:
                    if unit.kind == "container":  # back empty from a US DC
                        pool.append(unit)
                        continue
                    self.disaggregate(clock, plant, unit, t)
                    arrived.update((lot, None) for lot, _ in unit.lines)
                    unit.lines = []
            stock.extend(arrived)
            made: list[Lot] = []
            while len(stock) >= 2:
                made.append(self.transform(clock, plant, stock))
            us: list[Unit] = []
            qc: list[Unit] = []
            for pallet in self.palletise(clock, plant, made, MIX_PALLET):
                (us if dice.chance(0.7) else qc).append(pallet)
            while us:
                size = dice.int(2, 6)
                load, us = us[:size], us[size:]
                box = pool.pop(0) if pool else self.new_unit("container", plant)
                self.aggregate(clock, plant, box, pallets=load)
                dest = dice.pick(w.us_dcs)
                sh = self.ship(
                    clock, plant, dest, [], [box], carrier=dice.pick(w.carriers), travel=(600, 720), due=self.day + 1
                )
                sh.crossed = False
                self.crossings.append(sh)
            if qc:
                carrier = dice.pick(w.carriers) if dice.chance(0.5) else None
                self.ship(
                    clock, plant, dice.pick(w.qc_dcs), [], qc, carrier=carrier, travel=(120, 360), due=self.day + 1
                )
            yield self.chunk

    def transform(self, clock: Clock, plant: Site, stock: list[Lot]) -> Lot:
        """Mix the 2-3 oldest case lots into a new mix lot. A lot's first use takes 40-70% of it
        (the lot goes to the back of the queue), its second use the rest less trim waste."""
        dice = self.dice
        k = 3 if len(stock) >= 3 and dice.chance(0.5) else 2
        inputs = stock[:k]
        del stock[:k]
        used: list[tuple[Lot, int]] = []
        waste: list[tuple[Lot, int]] = []
        for lot in inputs:
            if lot.uses == 0 and lot.qty >= 4:
                q = max(1, lot.qty * dice.int(40, 70) // 100)
                lot.uses = 1
                stock.append(lot)
            else:
                q = lot.qty
                if q >= 10 and dice.chance(0.4):
                    waste.append((lot, max(1, q * dice.int(2, 8) // 100)))
                    q -= waste[-1][1]
            lot.qty -= q
            used.append((lot, q))
        mix = self.w.products[dice.pick(MIXES)[0]]
        t = clock.next(max(lot.ready for lot in inputs))
        out = Lot(mix, self.lot_code("X", plant.party, t), MIX_YIELD * sum(q for _, q in used), t)
        mixed = event("transform", t, plant, inputs=[lot.item(q) for lot, q in used], outputs=[out.item(out.qty)])
        self.new_lot(mixed, out, plant.party, used)
        for lot in inputs:
            lot.ready = t
        for lot, q in waste:
            self.destroy(clock, plant, lot, q, "trim waste")
            lot.qty = 0
        return out

    def dcs(self) -> Iterator[Chunk]:
        w, dice = self.w, self.dice
        for dc in w.qc_dcs + w.us_dcs:
            clock = self.begin(dc.party, 7.5)
            stores = w.stores[dc.id]
            reserve = self.reserve.setdefault(dc.id, [])
            loose: dict[Lot, int] = {}
            cross: list[Unit] = []
            empties: list[tuple[Unit, str | None]] = []
            for sh in self.due(dc):
                t = self.receive(clock, sh)
                for unit in sh.units:
                    pallets = [unit]
                    if unit.kind == "container":
                        self.disaggregate(clock, dc, unit, t)
                        pallets, unit.pallets = unit.pallets, []
                        empties.append((unit, sh.carrier))
                    for pallet in pallets:
                        if dice.chance(0.12):  # cross-docked whole to one store
                            cross.append(pallet)
                            continue
                        self.disaggregate(clock, dc, pallet, t)
                        for lot, q in pallet.lines:
                            loose[lot] = loose.get(lot, 0) + q
                        pallet.lines = []
            for pallet in cross:
                if reserve and dice.chance(0.6):  # a lot added to a pallet after the pallet was shipped
                    lot, q, _ = reserve.pop(0)
                    self.aggregate(clock, dc, pallet, late=True, lines=[(lot, q)])
                self.to_store(clock, dc, dice.pick(stores), [], [pallet])
            orders: dict[Site, dict[Lot, int]] = {}
            for lot, q in loose.items():
                keep = q * dice.int(5, 15) // 100 if q >= 10 and dice.chance(0.3) else 0
                if keep:
                    reserve.append((lot, keep, self.day))
                parts = self.split(q - keep, min(len(stores), dice.int(2, 3)))
                for part, store in zip(parts, dice.shuffled(stores), strict=False):
                    order = orders.setdefault(store, {})
                    order[lot] = order.get(lot, 0) + part
            for lot, q, since in [r for r in reserve if self.day - r[2] >= 2]:
                reserve.remove((lot, q, since))
                order = orders.setdefault(dice.pick(stores), {})
                order[lot] = order.get(lot, 0) + q
            for store, order in orders.items():
                self.to_store(clock, dc, store, list(order.items()), [])
            for box, carrier in empties:
                self.ship(
                    clock,
                    dc,
                    box.home,
                    [],
                    [box],
                    carrier=carrier or dice.pick(w.carriers),
                    travel=(600, 900),
                    due=self.day + 1,
                )
            yield self.chunk

    def to_store(self, clock: Clock, dc: Site, store: Site, lines: list[tuple[Lot, int]], units: list[Unit]) -> None:
        carrier = self.dice.pick(self.w.carriers) if self.dice.chance(0.3) else None
        late = 1 if self.dice.chance(0.1) else 0
        self.ship(clock, dc, store, lines, units, carrier=carrier, travel=(60, 180), due=self.day + late)

    def stores(self) -> Iterator[Chunk]:
        dice = self.dice
        for chain, sites in self.w.chains.items():
            clock = self.begin(chain, 11.0)
            for store in sites:
                for sh in self.due(store):
                    t = self.receive(clock, sh)
                    lines = list(sh.lines)
                    for pallet in sh.units:
                        self.disaggregate(clock, store, pallet, t)
                        lines.extend(pallet.lines)
                        pallet.lines = []
                    for lot, q in lines:
                        held = [q]
                        if q >= 4 and dice.chance(0.03):
                            held[0] -= max(1, q // 10)
                            self.destroy(clock, store, lot, q - held[0], "damaged in transit", t)
                        self.held.append((chain, store, lot, held))
            for store, lot, held in self.to_destroy.pop(chain, []):
                if held[0] >= 2:  # part of what the inspector found; the rest stays on hold
                    n = dice.int(1, held[0] - 1)
                    held[0] -= n
                    self.destroy(clock, store, lot, n, "non-conformant: temperature abuse")
            yield self.chunk

    def inspectors(self) -> Iterator[Chunk]:
        held, self.held = self.held, []
        dice = self.dice
        for inspector, country in (("acia-cfia", "CA"), ("us-fda", "US")):
            clock = self.begin(inspector, 14.5)
            for chain, store, lot, qty in held:
                if store.country != country or not dice.chance(0.03):
                    continue
                bad = dice.chance(0.12)
                temp = dice.int(70, 110) if bad else dice.int(10, 45)
                t = clock.next(lot.ready)
                result, temperature = "non_conformant" if bad else "conformant", f"{temp / 10:.1f}"
                self.emit(event("inspect", t, store, items=[lot.item()], result=result, temperature=temperature))
                if bad:
                    self.to_destroy.setdefault(chain, []).append((store, lot, qty))
            yield self.chunk


# -- the stream, the loader -------------------------------------------------------------------------

Stream = Iterator[tuple[str, str, list[dict[str, Any]]]]


def generate(events: int, seed: int, truth: Truth | None = None) -> Stream:
    """``(party, role, readable events)`` chunks, ``events`` events in all, in ledger order.

    ``truth``, if given, is filled as the events are yielded (``seq`` counts from 0)."""
    sim = Simulation(build_world(seed, events), truth)
    seq, day = 0, 0
    while seq < events:
        if day > LAST_DAY:
            raise ValueError(
                f"{events:,} events do not fit before day {LAST_DAY}: the simulation would reach the future"
            )
        for chunk in sim.run_day(day):
            take = chunk.events[: events - seq]
            if truth is not None:
                for i, event in enumerate(take):
                    truth.kinds[event["kind"]] += 1
                    effect = chunk.effects[i]
                    if effect is not None:
                        effect(seq + i)
            seq += len(take)
            yield chunk.party, chunk.role, take
            if seq >= events:
                return
        day += 1


def batches(stream: Iterable[tuple[str, str, list[dict[str, Any]]]], size: int = BATCH) -> Stream:
    """Consecutive chunks of one party joined, then cut into batches of at most ``size`` events."""
    who, role = "", ""
    buf: list[dict[str, Any]] = []
    for party, party_role, events in stream:
        if buf and (who, role) != (party, party_role):
            yield who, role, buf
            buf = []
        who, role = party, party_role
        buf.extend(events)
        while len(buf) >= size:
            yield who, role, buf[:size]
            buf = buf[size:]
    if buf:
        yield who, role, buf


@dataclass
class Summary:
    events: int
    lots: int
    containers: int
    parties: int
    seconds: float
    events_per_s: float
    truth: Truth | None
    record_seconds: float = 0.0
    batches: int = 0
    first_seq: int = 0
    world: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out = {k: v for k, v in vars(self).items() if k != "truth"}
        out["record_events_per_s"] = self.events / self.record_seconds if self.record_seconds else None
        if self.truth is not None:
            out["kinds"] = dict(sorted(self.truth.kinds.items()))
            out["in_transit_shipments"] = sum(1 for s in self.truth.shipments if s["received_seq"] is None)
            out["transform_edges"] = len(self.truth.edges)
            out["late_additions"] = len(self.truth.late_additions)
        return out


def load(
    ledger: Ledger,
    events: int,
    seed: int,
    progress: Callable[[int, int], None] | None = None,
    *,
    batch: int = BATCH,
    keep_truth: bool = True,
) -> Summary:
    """Register the world and record ``events`` events through ``EventStore.record``."""
    from tracefood.chain.capture import EventStore
    from tracefood.chain.registry import OPERATOR, Actor, Registry

    world = build_world(seed, events)
    reg = Registry(ledger.engine)
    for entity, row in registry(seed, events):
        reg.create(entity, row, OPERATOR)
    store = EventStore(ledger)
    truth = Truth() if keep_truth else None
    started = time.perf_counter()
    recording, count, calls, first = 0.0, 0, 0, None
    for party, role, chunk in batches(generate(events, seed, truth), batch):
        t0 = time.perf_counter()
        receipts = store.record(chunk, Actor(role, party, "synth"))
        recording += time.perf_counter() - t0
        if sum(r.created for r in receipts) != len(chunk):
            raise RuntimeError(
                f"{party}: some of {len(chunk)} events were already in the ledger (not a fresh database?)"
            )
        first = receipts[0].seq if first is None else first
        count, calls = count + len(chunk), calls + 1
        if progress is not None:
            progress(count, events)
    seconds = time.perf_counter() - started
    return Summary(
        events=count,
        lots=len(truth.lots) if truth else 0,
        containers=sum(1 for k in truth.units.values() if k == "container") if truth else 0,
        parties=sum(1 for e, _ in world.rows if e == "party"),
        seconds=seconds,
        events_per_s=count / seconds if seconds else 0.0,
        truth=truth,
        record_seconds=recording,
        batches=calls,
        first_seq=first or 0,
        world=world.census() | {"days": world.days, "lots_per_day": round(world.lots_per_day, 1)},
    )


def hash_ids(events: int, seed: int) -> list[str]:
    """The CBV 2.0 event hash IDs of the stream, computed offline as ``EventStore.record`` does."""
    from tracefood.chain.registry import location_uri
    from tracefood.epcis import readable
    from tracefood.epcis.event_hash import event_hash_id

    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for entity, row in registry(seed, events):
        row = dict(row)
        if entity == "location":
            row |= {"party_id": row["party"], "uri": location_uri(row["id"], row.get("gln"))}
        rows[(entity, row["id"])] = row

    def lookup(entity: str, key: str) -> dict[str, Any] | None:
        return rows.get((entity, key))

    return [
        event_hash_id(readable.to_epcis(item, lookup, party), readable.CONTEXT)
        for party, _, chunk in generate(events, seed)
        for item in chunk
    ]


# -- command line -----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--events", type=int, default=10_000, help="events to generate (default 10,000)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--database", required=True, help="SQLAlchemy URL of a fresh database (sqlite:///x.db)")
    p.add_argument("--json", type=Path, help="write the summary (counts, rate, event mix) here")
    p.add_argument("--truth", type=Path, help="write the ground truth (lineage, shipments) here")
    p.add_argument("--batch", type=int, default=BATCH, help="events per record call (default 1,000)")
    p.add_argument("--key", type=Path, help="ledger signing key file (optional)")
    args = p.parse_args(argv)

    from sqlalchemy import func, select

    from tracefood import schema
    from tracefood.chain.tables import parties
    from tracefood.ledger import db

    engine = db.make_engine(args.database)
    try:
        schema.upgrade(engine)
        with engine.connect() as conn:
            if conn.execute(select(func.count()).select_from(parties)).scalar():
                print(f"{args.database} already has a registry: give a fresh database", file=sys.stderr)
                return 2
    finally:
        engine.dispose()
    step, shown = max(1, args.events // 10), [0]

    def progress(done: int, total: int) -> None:
        if done // step > shown[0] or done == total:
            shown[0] = done // step
            print(f"[{time.strftime('%H:%M:%S')}] {done:,}/{total:,} events", file=sys.stderr, flush=True)

    ledger = Ledger.open(args.database, args.key)
    try:
        summary = load(ledger, args.events, args.seed, progress, batch=args.batch)
    finally:
        ledger.close()
    report = summary.to_json()
    for name in (
        "events",
        "lots",
        "containers",
        "parties",
        "batches",
        "seconds",
        "events_per_s",
        "record_seconds",
        "record_events_per_s",
        "in_transit_shipments",
        "transform_edges",
        "late_additions",
    ):
        value = report.get(name)
        shown_value = f"{value:,.1f}" if isinstance(value, float) else ("-" if value is None else f"{value:,}")
        print(f"{name:>22}  {shown_value}")
    print(f"{'world':>22}  {json.dumps(report['world'])}")
    print(f"{'kinds':>22}  {json.dumps(report.get('kinds', {}))}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    if args.truth and summary.truth is not None:
        args.truth.parent.mkdir(parents=True, exist_ok=True)
        args.truth.write_text(json.dumps(summary.truth.to_json()) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
