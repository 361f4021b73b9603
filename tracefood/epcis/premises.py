"""Livestock premises: the site numbers that identify a farm outside GS1.

Animal traceability names the place an animal lives by a government premises number, not by a
GLN, so its check is kept apart from the GS1 keys (:mod:`tracefood.epcis.gs1_keys`); animal
identifiers will join it here.

Québec premises site numbers (Attestra, formerly Agri-Traçabilité Québec) have 7 digits: "chaque
site possède une carte de site à sept chiffres" (https://dairytrace.ca/fr/identification-des-sites/).
No check digit is published, so only the shape is checked.
"""

from __future__ import annotations

from tracefood.epcis.digital_link import _is_digits
from tracefood.errors import IdentifierError

__all__ = ["check_premises"]


def check_premises(value: str) -> str:
    """A Québec premises site number: exactly 7 digits (no check digit is published)."""
    if len(value) != 7 or not _is_digits(value):
        raise IdentifierError("premises site number must be exactly 7 digits", value)
    return value
