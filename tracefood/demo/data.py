"""The demo supply chain's registry: parties, locations, products, API tokens and the logistic
units (data for :mod:`tracefood.demo`; the events are :mod:`tracefood.demo.scenario`)."""

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
