"""The demo supply chain's registry and events (data for :mod:`tracefood.demo`)."""

from __future__ import annotations

from typing import Any

from tracefood.epcis.identifiers import gs1_check_digit


def _gln(base12: str) -> str:
    return base12 + gs1_check_digit(base12)


def _gtin(base13: str) -> str:
    return base13 + gs1_check_digit(base13)


def _sscc(base17: str) -> str:
    return base17 + gs1_check_digit(base17)


QC = "Montérégie"
PARTIES: list[dict[str, Any]] = [
    {"id": "tracefood-admin", "name": "TraceFood Québec (registry)", "country": "CA"},
    {
        "id": "ferme-beauregard",
        "name": "Ferme Beauregard",
        "gln": _gln("754100000001"),
        "country": "CA",
        "contact": {
            "person": "Julie Beauregard",
            "email": "julie@fermebeauregard.example",
            "phone": "+1 450 555 0101",
            "address": "212 rang Saint-Paul, Sherrington QC J0L 2N0",
        },
    },
    {
        "id": "potagers-hebert",
        "name": "Potagers Hébert",
        "gln": _gln("754100000002"),
        "country": "CA",
        "contact": {"person": "Marc Hébert", "email": "marc@potagershebert.example", "phone": "+1 450 555 0102"},
    },
    {
        "id": "jardins-lefort",
        "name": "Jardins Lefort",
        "country": "CA",
        "contact": {"person": "Sophie Lefort", "email": "sophie@jardinslefort.example", "phone": "+1 450 555 0103"},
    },
    {
        "id": "emballages-napierville",
        "name": "Emballages Napierville",
        "gln": _gln("754100000003"),
        "country": "CA",
        "contact": {
            "person": "Luc Gagnon",
            "email": "qualite@emballages-napierville.example",
            "phone": "+1 450 555 0104",
        },
    },
    {
        "id": "salades-richelieu",
        "name": "Salades Richelieu",
        "gln": _gln("754100000004"),
        "country": "CA",
        "contact": {
            "person": "Nadia Tremblay",
            "email": "rappel@salades-richelieu.example",
            "phone": "+1 450 555 0105",
        },
    },
    {
        "id": "transports-frontiere",
        "name": "Transports Frontière",
        "country": "CA",
        "contact": {"person": "Dispatch", "email": "dispatch@transports-frontiere.example", "phone": "+1 514 555 0106"},
    },
    {
        "id": "hudson-valley-produce",
        "name": "Hudson Valley Produce Distributors",
        "gln": _gln("061414100001"),
        "country": "US",
        "contact": {
            "person": "Dana Russo",
            "email": "recalls@hvpd.example",
            "phone": "+1 718 555 0107",
            "address": "Hunts Point Terminal Market, Bronx NY 10474",
        },
    },
    {
        "id": "adirondack-market",
        "name": "Adirondack Market",
        "country": "US",
        "contact": {
            "person": "Store manager",
            "email": "manager@adirondack-market.example",
            "phone": "+1 518 555 0108",
        },
    },
    {
        "id": "greenpoint-grocers",
        "name": "Greenpoint Grocers",
        "country": "US",
        "contact": {
            "person": "Store manager",
            "email": "manager@greenpoint-grocers.example",
            "phone": "+1 718 555 0109",
        },
    },
    {"id": "cbsa", "name": "Canada Border Services Agency", "country": "CA"},
    {"id": "us-cbp", "name": "U.S. Customs and Border Protection", "country": "US"},
    {"id": "acia-cfia", "name": "Agence canadienne d'inspection des aliments / CFIA", "country": "CA"},
    {"id": "fda-recalls", "name": "U.S. FDA Office of Recalls (demo)", "country": "US"},
]
LOCATIONS: list[dict[str, Any]] = [
    {
        "id": "beauregard-champ-3",
        "name": "Ferme Beauregard, champ 3",
        "party": "ferme-beauregard",
        "kind": "farm",
        "gln": _gln("754100000101"),
        "premises": "2401873",
        "country": "CA",
        "region": QC,
        "address": "Sherrington QC",
    },
    {
        "id": "hebert-saint-remi",
        "name": "Potagers Hébert, Saint-Rémi",
        "party": "potagers-hebert",
        "kind": "farm",
        "gln": _gln("754100000102"),
        "premises": "2405519",
        "country": "CA",
        "region": QC,
        "address": "Saint-Rémi QC",
    },
    {
        "id": "lefort-sainte-clotilde",
        "name": "Jardins Lefort, Sainte-Clotilde",
        "party": "jardins-lefort",
        "kind": "farm",
        "premises": "2407736",
        "country": "CA",
        "region": QC,
        "address": "Sainte-Clotilde QC",
    },
    {
        "id": "napierville-packhouse",
        "name": "Emballages Napierville, station de lavage",
        "party": "emballages-napierville",
        "kind": "packhouse",
        "gln": _gln("754100000103"),
        "country": "CA",
        "region": QC,
        "address": "Saint-Cyprien-de-Napierville QC",
    },
    {
        "id": "richelieu-plant",
        "name": "Salades Richelieu, usine",
        "party": "salades-richelieu",
        "kind": "processor",
        "gln": _gln("754100000104"),
        "country": "CA",
        "region": QC,
        "address": "Saint-Jean-sur-Richelieu QC",
    },
    {
        "id": "port-lacolle",
        "name": "Lacolle (St-Bernard-de-Lacolle) port of entry",
        "party": "cbsa",
        "kind": "port_of_entry",
        "port_code": "0427",
        "country": "CA",
        "region": QC,
    },
    {
        "id": "port-champlain",
        "name": "Champlain NY port of entry",
        "party": "us-cbp",
        "kind": "port_of_entry",
        "port_code": "0712",
        "country": "US",
        "region": "New York",
    },
    {
        "id": "hvpd-hunts-point",
        "name": "Hudson Valley Produce, Hunts Point DC",
        "party": "hudson-valley-produce",
        "kind": "distribution_centre",
        "gln": _gln("061414100101"),
        "country": "US",
        "region": "New York",
        "address": "Bronx NY 10474",
    },
    {
        "id": "adirondack-plattsburgh",
        "name": "Adirondack Market, Plattsburgh",
        "party": "adirondack-market",
        "kind": "retail",
        "country": "US",
        "region": "New York",
        "address": "Plattsburgh NY",
    },
    {
        "id": "greenpoint-brooklyn",
        "name": "Greenpoint Grocers, Brooklyn",
        "party": "greenpoint-grocers",
        "kind": "retail",
        "country": "US",
        "region": "New York",
        "address": "Brooklyn NY",
    },
]
PRODUCTS: list[dict[str, Any]] = [
    {
        "id": "romaine-bulk",
        "gtin": _gtin("0754100100011"),
        "description": "Romaine lettuce, field bulk",
        "commodity": "lettuce",
        "variety": "romaine",
        "unit": "KGM",
        "ftl": True,
        "party": "ferme-beauregard",
    },
    {
        "id": "green-leaf-bulk",
        "gtin": _gtin("0754100100028"),
        "description": "Green leaf lettuce, field bulk",
        "commodity": "lettuce",
        "variety": "green leaf",
        "unit": "KGM",
        "ftl": True,
        "party": "potagers-hebert",
    },
    {
        "id": "spinach-bulk",
        "description": "Baby spinach, field bulk",
        "commodity": "spinach",
        "variety": "baby leaf",
        "unit": "KGM",
        "ftl": True,
        "party": "jardins-lefort",
    },
    {
        "id": "cucumber-bulk",
        "gtin": _gtin("0754100100035"),
        "description": "Field cucumbers, bulk",
        "commodity": "cucumbers",
        "unit": "KGM",
        "ftl": True,
        "party": "ferme-beauregard",
    },
    {
        "id": "romaine-case",
        "gtin": _gtin("1754100300017"),
        "description": "Romaine hearts, case of 12",
        "commodity": "lettuce",
        "variety": "romaine",
        "unit": "CS",
        "ftl": True,
        "party": "emballages-napierville",
    },
    {
        "id": "greens-case",
        "gtin": _gtin("1754100300024"),
        "description": "Washed leafy greens, 5 kg case",
        "commodity": "leafy greens",
        "unit": "CS",
        "ftl": True,
        "party": "emballages-napierville",
    },
    {
        "id": "salad-mix-case",
        "gtin": _gtin("1754100400014"),
        "description": "Mesclun Richelieu 6 x 312 g",
        "commodity": "fresh-cut salad mix",
        "unit": "CS",
        "ftl": True,
        "party": "salades-richelieu",
    },
]
TOKENS = [
    ("ferme-beauregard", "producer"),
    ("potagers-hebert", "producer"),
    ("jardins-lefort", "producer"),
    ("emballages-napierville", "producer"),
    ("salades-richelieu", "producer"),
    ("transports-frontiere", "carrier"),
    ("hudson-valley-produce", "producer"),
    ("adirondack-market", "producer"),
    ("greenpoint-grocers", "producer"),
    ("acia-cfia", "inspector"),
    ("fda-recalls", "recall_officer"),
    ("tracefood-admin", "admin"),
]
PALLET_ROMAINE = _sscc("07541000000000011")
PALLET_MIX_1 = _sscc("07541000000000028")
PALLET_MIX_2 = _sscc("07541000000000035")
CONTAINER = _sscc("07541000000000042")
CONTAMINATED = ("salad-mix-case", "SR-0815-B")


def _t(day: int, hm: str) -> str:
    return f"2026-08-{day:02d}T{hm}:00-04:00"


def _item(product: str, lot: str, quantity: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"product": product, "lot": lot}
    if quantity is not None:
        out["quantity"] = quantity
    return out


def scenario() -> list[tuple[str, dict[str, Any]]]:
    """(party, readable event) in the order they happened."""
    bol = {"type": "bol"}
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
        (
            "ferme-beauregard",
            {
                "kind": "ship",
                "time": _t(12, "11:00"),
                "location": "beauregard-champ-3",
                "to": "napierville-packhouse",
                "items": [_item("romaine-bulk", "RB-0812", "1200")],
                "reference": bol | {"number": "FB-2026-0412"},
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
                "reference": bol | {"number": "PH-7781"},
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
                "reference": bol | {"number": "JL-0812-1"},
            },
        ),
        (
            "emballages-napierville",
            {
                "kind": "receive",
                "time": _t(12, "13:05"),
                "location": "napierville-packhouse",
                "from": "beauregard-champ-3",
                "items": [_item("romaine-bulk", "RB-0812", "1200")],
                "reference": bol | {"number": "FB-2026-0412"},
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
                "reference": bol | {"number": "PH-7781"},
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
                "reference": bol | {"number": "JL-0812-1"},
            },
        ),
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
        (
            "emballages-napierville",
            {
                "kind": "ship",
                "time": _t(13, "14:00"),
                "location": "napierville-packhouse",
                "to": "richelieu-plant",
                "items": [_item("greens-case", "NAP-26225-02", "180"), _item("greens-case", "NAP-26225-03", "120")],
                "reference": bol | {"number": "EN-55120"},
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
                "reference": bol | {"number": "EN-55120"},
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
                "reference": bol | {"number": "EN-55131"},
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
                "reference": bol | {"number": "EN-55131"},
            },
        ),
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
        (
            "salades-richelieu",
            {
                "kind": "ship",
                "time": _t(14, "17:00"),
                "location": "richelieu-plant",
                "to": "hvpd-hunts-point",
                "carrier": "transports-frontiere",
                "containers": [CONTAINER],
                "reference": bol | {"number": "SR-BOL-20260814"},
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
        (
            "hudson-valley-produce",
            {
                "kind": "receive",
                "time": _t(15, "02:30"),
                "location": "hvpd-hunts-point",
                "from": "richelieu-plant",
                "containers": [CONTAINER],
                "reference": bol | {"number": "SR-BOL-20260814"},
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
        (
            "hudson-valley-produce",
            {
                "kind": "ship",
                "time": _t(15, "06:00"),
                "location": "hvpd-hunts-point",
                "to": "adirondack-plattsburgh",
                "items": [_item("salad-mix-case", CONTAMINATED[1], "150")],
                "reference": bol | {"number": "HV-99120"},
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
                "reference": bol | {"number": "HV-99121"},
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
                "reference": bol | {"number": "HV-99120"},
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
                "reference": bol | {"number": "HV-99121"},
            },
        ),
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
