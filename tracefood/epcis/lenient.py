"""Importing EPCIS documents from other systems as they are, with a closed list of repairs.

Documents exported by other traceability systems (the GDST seafood test data, for one) carry
defects that a strict capture interface refuses, and a recall cannot wait for the sender to fix
them. ``tracefood import epcis --lenient`` takes such a document when every defect is one of
these, and nothing else:

``epcisHeader`` in an EPCISQueryDocument
    the EPCIS 2.0 JSON schema has no header there (EPCIS 1.2 XML did); it is ignored, as the
    master data of any document is.
an empty string as an optional event field (``transformationID``, ``eventID``, ``bizStep``, ``disposition``)
    the field is left out: "" is not a URI, and absent is what the sender meant.
an EPC URN with digits missing (``urn:epc:id:sscc:08600031303.0005``)
    kept as written and followed by identity (see
    :func:`~tracefood.epcis.identifiers.opaque_ident`): it meets itself in every event of
    the document, but never a correctly written SSCC, and no check digit is invented for it.
an ``eventID`` that names a different event
    (copied between events, in the document or already in the ledger): the event gets its
    CBV 2.0 hash ID as eventID instead, so every eventID names one event.
events out of order
    a document's events are applied in event-time order (document order among equal times, an
    event before its error declaration), so that an event is not refused as "before the lot
    existed" because the sender listed the lot's creation after it.
more consumed, shipped or destroyed than the ledger has on hand
    all that is on hand is taken, and the event says how much it asked for; stock never goes
    negative (``projections.EventContext.lenient``).

Everything else is checked exactly as in a strict capture: a document with any other problem
is refused whole. Each repair is a :class:`Repair`; the ones that change an event are stored in
its ledger entry (``repairs``, ``opaque_ids``), so the ledger says what was received and what
was made of it.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tracefood.epcis import cbv
from tracefood.epcis.events import facts
from tracefood.epcis.identifiers import opaque_ident
from tracefood.epcis.validate import document_events
from tracefood.errors import EventError

EMPTY_DROPPED = ("eventID", "transformationID", "bizStep", "disposition")


@dataclass(frozen=True)
class Repair:
    field: str
    """JSON pointer, in the document for a document's repairs, in the event for an event's."""
    was: Any
    reason: str

    def to_json(self, prefix: str = "") -> dict[str, Any]:
        return {"field": prefix + self.field, "was": self.was, "reason": self.reason}


def prepare(document: Any) -> tuple[Any, list[Repair], list[list[Repair]]]:
    """A copy of the document with the repairs that need no ledger made (the input is not
    changed): its own (``epcisHeader``), and each event's empty optional fields; returns it,
    the document's repairs and each event's. A document without an event list comes back as it
    is, for the strict checks to refuse."""
    repairs: list[Repair] = []
    if isinstance(document, Mapping) and document.get("type") == "EPCISQueryDocument" and "epcisHeader" in document:
        document = {k: v for k, v in document.items() if k != "epcisHeader"}
        repairs.append(Repair("/epcisHeader", "(header)", "ignored: an EPCIS 2.0 query document has no epcisHeader"))
    try:
        found = document_events(document)
    except ValueError:
        return document, repairs, []
    prepared = [_prepare_event(event) for event in found]
    fixed = copy.deepcopy(dict(document))
    body = fixed["epcisBody"]
    if fixed.get("type") == "EPCISQueryDocument":
        body = body["queryResults"]["resultsBody"]
    body["eventList"] = [event for event, _ in prepared]
    return fixed, repairs, [event_repairs for _, event_repairs in prepared]


def _prepare_event(event: Mapping[str, Any]) -> tuple[dict[str, Any], list[Repair]]:
    """A copy of one event with its empty optional fields left out."""
    fixed = copy.deepcopy(dict(event))
    repairs = []
    for name in EMPTY_DROPPED:
        if fixed.get(name) == "":
            del fixed[name]
            repairs.append(Repair(f"/{name}", "", "left out: an empty string is not a URI"))
    return fixed, repairs


def opaque_ids(event: Mapping[str, Any]) -> tuple[list[str], list[Repair]]:
    """The malformed EPC URNs of an event that are kept as written, with a repair for each
    place they appear; any other identifier problem is left for the strict checks."""
    kept: list[str] = []
    repairs: list[Repair] = []
    for _ in range(1000):  # one more id per round; an event names far fewer
        try:
            facts(event, kept)
        except EventError as exc:
            value = _at(event, exc.field)
            if not isinstance(value, str) or value in kept or opaque_ident(value) is None:
                break
            kept.append(value)
        else:
            break
    for pointer, value in _strings(event, ""):
        if value in kept:
            repairs.append(Repair(pointer, value, "kept as written and followed by identity: digits are missing"))
    return kept, repairs


def _at(event: Mapping[str, Any], pointer: str) -> Any:
    value: Any = event
    for part in pointer.strip("/").split("/"):
        if isinstance(value, Mapping):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    if isinstance(value, Mapping):  # readPoint, bizLocation, source and destination lists
        value = value.get("id")
    if isinstance(value, list):  # a source or destination list: its location entry is the one read
        value = next(
            (
                v.get("source", v.get("destination"))
                for v in value
                if isinstance(v, Mapping) and cbv.normalise("sourceDestType", v.get("type")) == "location"
            ),
            None,
        )
    return value


def _strings(value: Any, pointer: str) -> list[tuple[str, str]]:
    if isinstance(value, str):
        return [(pointer, value)]
    if isinstance(value, Mapping):
        return [found for k, v in value.items() for found in _strings(v, f"{pointer}/{k}")]
    if isinstance(value, list):
        return [found for i, v in enumerate(value) for found in _strings(v, f"{pointer}/{i}")]
    return []
