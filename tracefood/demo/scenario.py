"""The demo supply chain's events, stage by stage: romaine, green leaf and spinach from three
Montérégie farms, packed in Napierville, cut into salad mix in Saint-Jean-sur-Richelieu, shipped
in a sealed container across the border to a Bronx distribution centre and on to two stores,
then found non-conformant by an inspector (data for :mod:`tracefood.demo`; the registry they
name is :mod:`tracefood.demo.data`).

Each stage is one function returning its events in the order they happened; :func:`scenario`
puts the stages end to end.
"""

from __future__ import annotations

from typing import Any

from tracefood.demo.data import CONTAINER, CONTAMINATED, PALLET_MIX_1, PALLET_MIX_2, PALLET_ROMAINE

Event = tuple[str, dict[str, Any]]
"""(party, readable event)."""


def scenario() -> list[Event]:
    """(party, readable event) in the order they happened."""
    return [event for stage in _STAGES for event in stage()]


def _t(day: int, hm: str) -> str:
    return f"2026-08-{day:02d}T{hm}:00-04:00"


def _item(product: str, lot: str, quantity: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"product": product, "lot": lot}
    if quantity is not None:
        out["quantity"] = quantity
    return out


def _bol(number: str) -> dict[str, str]:
    """A bill of lading as a reference document."""
    return {"type": "bol", "number": number}


def _harvest() -> list[Event]:
    """Day 1 at the farms: three growers harvest, and the romaine is cooled in the field."""
    return [
        (
            "ferme-beauregard",
            {
                "kind": "harvest",
                "time": _t(12, "06:30"),
                "location": "beauregard-champ-3",
                "items": [_item("romaine-bulk", "RB-0812", "1200")],
                "field": "Champ 3, rangs 1-40",
            },
        ),
        (
            "ferme-beauregard",
            {
                "kind": "harvest",
                "time": _t(12, "09:00"),
                "location": "beauregard-champ-3",
                "items": [_item("cucumber-bulk", "CB-0812", "800")],
                "field": "Champ 3, serre 2",
            },
        ),
        (
            "potagers-hebert",
            {
                "kind": "harvest",
                "time": _t(12, "07:15"),
                "location": "hebert-saint-remi",
                "items": [_item("green-leaf-bulk", "HG-0812", "900")],
            },
        ),
        (
            "jardins-lefort",
            {
                "kind": "harvest",
                "time": _t(12, "07:45"),
                "location": "lefort-sainte-clotilde",
                "items": [_item("spinach-bulk", "LS-0812", "600")],
            },
        ),
        (
            "ferme-beauregard",
            {
                "kind": "cool",
                "time": _t(12, "08:10"),
                "location": "beauregard-champ-3",
                "items": [_item("romaine-bulk", "RB-0812")],
                "temperature": "2",
            },
        ),
    ]


def _farm_shipping() -> list[Event]:
    """Day 1: the farms ship their harvests to the packhouse, each under a bill of lading."""
    return [
        (
            "ferme-beauregard",
            {
                "kind": "ship",
                "time": _t(12, "11:00"),
                "location": "beauregard-champ-3",
                "to": "napierville-packhouse",
                "items": [_item("romaine-bulk", "RB-0812", "1200")],
                "reference": _bol("FB-2026-0412"),
            },
        ),
        (
            "potagers-hebert",
            {
                "kind": "ship",
                "time": _t(12, "11:30"),
                "location": "hebert-saint-remi",
                "to": "napierville-packhouse",
                "items": [_item("green-leaf-bulk", "HG-0812", "900")],
                "reference": _bol("PH-7781"),
            },
        ),
        (
            "jardins-lefort",
            {
                "kind": "ship",
                "time": _t(12, "12:00"),
                "location": "lefort-sainte-clotilde",
                "to": "napierville-packhouse",
                "items": [_item("spinach-bulk", "LS-0812", "600")],
                "reference": _bol("JL-0812-1"),
            },
        ),
    ]


def _packhouse_receiving() -> list[Event]:
    """Day 1: the packhouse receives the three shipments."""
    return [
        (
            "emballages-napierville",
            {
                "kind": "receive",
                "time": _t(12, "13:05"),
                "location": "napierville-packhouse",
                "from": "beauregard-champ-3",
                "items": [_item("romaine-bulk", "RB-0812", "1200")],
                "reference": _bol("FB-2026-0412"),
            },
        ),
        (
            "emballages-napierville",
            {
                "kind": "receive",
                "time": _t(12, "13:20"),
                "location": "napierville-packhouse",
                "from": "hebert-saint-remi",
                "items": [_item("green-leaf-bulk", "HG-0812", "900")],
                "reference": _bol("PH-7781"),
            },
        ),
        (
            "emballages-napierville",
            {
                "kind": "receive",
                "time": _t(12, "13:40"),
                "location": "napierville-packhouse",
                "from": "lefort-sainte-clotilde",
                "items": [_item("spinach-bulk", "LS-0812", "600")],
                "reference": _bol("JL-0812-1"),
            },
        ),
    ]


def _packing() -> list[Event]:
    """Day 2: initial packing at the packhouse, field bulk into cases."""
    return [
        (
            "emballages-napierville",
            {
                "kind": "initial_pack",
                "time": _t(13, "07:00"),
                "location": "napierville-packhouse",
                "inputs": [_item("romaine-bulk", "RB-0812", "1200")],
                "outputs": [_item("romaine-case", "NAP-26225-01", "300")],
            },
        ),
        (
            "emballages-napierville",
            {
                "kind": "initial_pack",
                "time": _t(13, "08:30"),
                "location": "napierville-packhouse",
                "inputs": [_item("green-leaf-bulk", "HG-0812", "900")],
                "outputs": [_item("greens-case", "NAP-26225-02", "180")],
            },
        ),
        (
            "emballages-napierville",
            {
                "kind": "initial_pack",
                "time": _t(13, "09:45"),
                "location": "napierville-packhouse",
                "inputs": [_item("spinach-bulk", "LS-0812", "600")],
                "outputs": [_item("greens-case", "NAP-26225-03", "120")],
            },
        ),
    ]


def _processing() -> list[Event]:
    """Days 2-3: greens to the processor, cut into salad mix (the contaminated lot among them)."""
    return [
        (
            "emballages-napierville",
            {
                "kind": "ship",
                "time": _t(13, "14:00"),
                "location": "napierville-packhouse",
                "to": "richelieu-plant",
                "items": [_item("greens-case", "NAP-26225-02", "180"), _item("greens-case", "NAP-26225-03", "120")],
                "reference": _bol("EN-55120"),
            },
        ),
        (
            "salades-richelieu",
            {
                "kind": "receive",
                "time": _t(13, "16:00"),
                "location": "richelieu-plant",
                "from": "napierville-packhouse",
                "items": [_item("greens-case", "NAP-26225-02", "180"), _item("greens-case", "NAP-26225-03", "120")],
                "reference": _bol("EN-55120"),
            },
        ),
        (
            "salades-richelieu",
            {
                "kind": "transform",
                "time": _t(14, "06:00"),
                "location": "richelieu-plant",
                "inputs": [_item("greens-case", "NAP-26225-02", "90")],
                "outputs": [_item("salad-mix-case", "SR-0815-A", "240")],
            },
        ),
        (
            "salades-richelieu",
            {
                "kind": "transform",
                "time": _t(14, "09:00"),
                "location": "richelieu-plant",
                "inputs": [_item("greens-case", "NAP-26225-02", "90"), _item("greens-case", "NAP-26225-03", "120")],
                "outputs": [_item("salad-mix-case", CONTAMINATED[1], "400")],
            },
        ),
    ]


def _romaine_pallet() -> list[Event]:
    """Day 3: the packhouse palletises the romaine cases and sends the pallet to the processor."""
    return [
        (
            "emballages-napierville",
            {
                "kind": "aggregate",
                "time": _t(14, "10:00"),
                "location": "napierville-packhouse",
                "parent": PALLET_ROMAINE,
                "items": [_item("romaine-case", "NAP-26225-01", "300")],
            },
        ),
        (
            "emballages-napierville",
            {
                "kind": "ship",
                "time": _t(14, "11:00"),
                "location": "napierville-packhouse",
                "to": "richelieu-plant",
                "containers": [PALLET_ROMAINE],
                "reference": _bol("EN-55131"),
            },
        ),
        (
            "salades-richelieu",
            {
                "kind": "receive",
                "time": _t(14, "12:30"),
                "location": "richelieu-plant",
                "from": "napierville-packhouse",
                "containers": [PALLET_ROMAINE],
                "reference": _bol("EN-55131"),
            },
        ),
    ]


def _loading() -> list[Event]:
    """Day 3: the processor palletises the salad mix and loads three pallets into one container."""
    return [
        (
            "salades-richelieu",
            {
                "kind": "aggregate",
                "time": _t(14, "15:00"),
                "location": "richelieu-plant",
                "parent": PALLET_MIX_1,
                "items": [_item("salad-mix-case", "SR-0815-A", "240")],
            },
        ),
        (
            "salades-richelieu",
            {
                "kind": "aggregate",
                "time": _t(14, "15:20"),
                "location": "richelieu-plant",
                "parent": PALLET_MIX_2,
                "items": [_item("salad-mix-case", CONTAMINATED[1], "400")],
            },
        ),
        (
            "salades-richelieu",
            {
                "kind": "aggregate",
                "time": _t(14, "16:00"),
                "location": "richelieu-plant",
                "parent": CONTAINER,
                "containers": [PALLET_MIX_1, PALLET_MIX_2, PALLET_ROMAINE],
                "step": "loading",
                "seal": "SEAL-QC-448812",
            },
        ),
    ]


def _border() -> list[Event]:
    """Day 3: the container leaves for New York and crosses the border (Lacolle, then Champlain)."""
    return [
        (
            "salades-richelieu",
            {
                "kind": "ship",
                "time": _t(14, "17:00"),
                "location": "richelieu-plant",
                "to": "hvpd-hunts-point",
                "carrier": "transports-frontiere",
                "containers": [CONTAINER],
                "reference": _bol("SR-BOL-20260814"),
            },
        ),
        (
            "transports-frontiere",
            {
                "kind": "border_crossing",
                "time": _t(14, "18:40"),
                "location": "port-lacolle",
                "direction": "departing",
                "containers": [CONTAINER],
            },
        ),
        (
            "transports-frontiere",
            {
                "kind": "border_crossing",
                "time": _t(14, "19:05"),
                "location": "port-champlain",
                "direction": "arriving",
                "containers": [CONTAINER],
                "customs_entry": "ABC-1234567-8",
                "fast_lane": True,
            },
        ),
    ]


def _distribution() -> list[Event]:
    """Day 4: the distribution centre receives the container and unloads it and a pallet."""
    return [
        (
            "hudson-valley-produce",
            {
                "kind": "receive",
                "time": _t(15, "02:30"),
                "location": "hvpd-hunts-point",
                "from": "richelieu-plant",
                "containers": [CONTAINER],
                "reference": _bol("SR-BOL-20260814"),
            },
        ),
        (
            "hudson-valley-produce",
            {
                "kind": "disaggregate",
                "time": _t(15, "03:00"),
                "location": "hvpd-hunts-point",
                "parent": CONTAINER,
                "step": "unloading",
            },
        ),
        (
            "hudson-valley-produce",
            {"kind": "disaggregate", "time": _t(15, "03:20"), "location": "hvpd-hunts-point", "parent": PALLET_MIX_2},
        ),
    ]


def _retail() -> list[Event]:
    """Day 4: the contaminated lot goes on to two stores, which receive it."""
    return [
        (
            "hudson-valley-produce",
            {
                "kind": "ship",
                "time": _t(15, "06:00"),
                "location": "hvpd-hunts-point",
                "to": "adirondack-plattsburgh",
                "items": [_item("salad-mix-case", CONTAMINATED[1], "150")],
                "reference": _bol("HV-99120"),
            },
        ),
        (
            "hudson-valley-produce",
            {
                "kind": "ship",
                "time": _t(15, "06:30"),
                "location": "hvpd-hunts-point",
                "to": "greenpoint-brooklyn",
                "items": [_item("salad-mix-case", CONTAMINATED[1], "200")],
                "reference": _bol("HV-99121"),
            },
        ),
        (
            "adirondack-market",
            {
                "kind": "receive",
                "time": _t(15, "11:00"),
                "location": "adirondack-plattsburgh",
                "from": "hvpd-hunts-point",
                "items": [_item("salad-mix-case", CONTAMINATED[1], "150")],
                "reference": _bol("HV-99120"),
            },
        ),
        (
            "greenpoint-grocers",
            {
                "kind": "receive",
                "time": _t(15, "09:40"),
                "location": "greenpoint-brooklyn",
                "from": "hvpd-hunts-point",
                "items": [_item("salad-mix-case", CONTAMINATED[1], "200")],
                "reference": _bol("HV-99121"),
            },
        ),
    ]


def _inspection() -> list[Event]:
    """Day 6: the CFIA inspects the lot at the processor and finds it non-conformant."""
    return [
        (
            "acia-cfia",
            {
                "kind": "inspect",
                "time": _t(17, "10:00"),
                "location": "richelieu-plant",
                "items": [_item("salad-mix-case", CONTAMINATED[1])],
                "result": "non_conformant",
            },
        ),
    ]


_STAGES = (
    _harvest,
    _farm_shipping,
    _packhouse_receiving,
    _packing,
    _processing,
    _romaine_pallet,
    _loading,
    _border,
    _distribution,
    _retail,
    _inspection,
)
