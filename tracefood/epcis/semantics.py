"""What GS1's EPCIS JSON Schema cannot say: CBV vocabulary terms, and rules across an event's fields.

The schema takes any URI as a bizStep or disposition, so a misspelt standard term passes it;
:func:`vocabulary_problem` holds values in GS1's own namespaces to the CBV term lists
(:mod:`tracefood.epcis.cbv`) and suggests the closest term. The schema's ``anyOf`` clauses
(an ObjectEvent names EPCs, quantities or sensor readings; a TransformationEvent has inputs
and outputs or a transformationID...) become the event rules below, one per event type, with a
reason a producer can act on instead of "is not valid under any of the given schemas".
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from typing import Any, Final

from tracefood.epcis import cbv
from tracefood.epcis.checks import Check, Findings, child_pointer, json_array, json_object, show
from tracefood.epcis.formats import is_uri

# Forms the official schema refuses for CBV values (vocab-other-uri): CBV 1.x URNs and the old
# ns.gs1.org namespace; for measurement / alert types (vocab-nonGS1WebVoc-uri): GS1 Web URIs.
_SCHEMA_REFUSED_CBV: Final = re.compile(r"urn:epcglobal:cbv|https?://ns\.gs1\.org/cbv/", re.IGNORECASE)
_SCHEMA_REFUSED_GS1: Final = re.compile(r"https?://(?:www\.)?gs1\.org/voc/", re.IGNORECASE)
_OLD_CBV_NAMESPACE: Final = re.compile(r"^https?://ns\.gs1\.org/cbv/", re.IGNORECASE)
_CBV_NAMESPACE: Final = re.compile(r"cbv:|https?://ref\.gs1\.org/cbv/", re.IGNORECASE)


def vocabulary_problem(kind: cbv.Kind, value: str) -> str | None:
    """Why ``value`` is not acceptable as a ``kind`` value in EPCIS 2.0 JSON; None if it is."""
    vocab = cbv.vocabulary(kind)
    if value in vocab.terms:
        return None
    short = cbv.normalise(kind, _OLD_CBV_NAMESPACE.sub("cbv:", value))  # the old namespace only to give a hint
    gs1_voc = vocab.curie_prefix == "gs1:"
    refused = (_SCHEMA_REFUSED_GS1 if gs1_voc else _SCHEMA_REFUSED_CBV).match(value) is not None
    if short is not None:
        return f"write the bare term {short!r}: EPCIS 2.0 JSON does not allow the form {value!r}" if refused else None
    ours = value.startswith("gs1:") if gs1_voc else _CBV_NAMESPACE.match(value) is not None
    if not (refused or ours) and is_uri(value):
        return None  # user vocabulary: an absolute URI outside GS1's namespaces
    reason = f"not a standard {vocab.label}: {show(value)}"
    if len(value) < 64 and (close := difflib.get_close_matches(value, vocab.terms, n=1, cutoff=0.75)):
        reason += f"; did you mean {close[0]!r}?"
    return reason if refused or ours else reason + "; other values must be absolute URIs in your own namespace"


def vocabulary_check(kind: cbv.Kind) -> Check:
    def check(value: object, at: str, out: Findings) -> None:
        if not isinstance(value, str):
            out.add(at, f"must be a string ({cbv.vocabulary(kind).label} or a URI), got {show(value)}")
        elif (problem := vocabulary_problem(kind, value)) is not None:
            out.add(at, problem)

    return check


_DISPOSITIONS = json_array(vocabulary_check("disposition"), min_items=1, unique=True)
_PERSISTENT_FIELDS = json_object("persistentDisposition", {"set": _DISPOSITIONS, "unset": _DISPOSITIONS}, extra="none")


def persistent_disposition(value: object, at: str, out: Findings) -> None:
    _PERSISTENT_FIELDS(value, at, out)
    if isinstance(value, dict) and "set" not in value and "unset" not in value:
        out.add(child_pointer(at, "set"), "persistentDisposition needs set or unset")


# --- rules across fields ---------------------------------------------------------------------

Rule = Callable[[dict[Any, Any], str, Findings], None]


def _nonempty(value: object) -> bool:
    return isinstance(value, list) and len(value) > 0


def object_event_rule(event: dict[Any, Any], at: str, out: Findings) -> None:
    quantities, sensors = _nonempty(event.get("quantityList")), _nonempty(event.get("sensorElementList"))
    if not ("epcList" in event or quantities or (sensors and "readPoint" in event)):
        need = "epcList, a non-empty quantityList, or sensorElementList + readPoint"
        out.add(child_pointer(at, "epcList"), f"ObjectEvent needs {need}")
    if "ilmd" in event and event.get("action") in ("OBSERVE", "DELETE"):
        out.add(child_pointer(at, "ilmd"), f"ilmd is only allowed when action is ADD, not {event['action']}")


def children_rule(epcs: str, quantities: str, min_epcs: int) -> Rule:
    def rule(event: dict[Any, Any], at: str, out: Findings) -> None:
        listed = isinstance(event.get(epcs), list) and len(event[epcs]) >= min_epcs
        if "action" in event and event["action"] != "DELETE" and not listed and not _nonempty(event.get(quantities)):
            need = f"a non-empty {epcs}" if min_epcs else epcs
            out.add(
                child_pointer(at, epcs),
                f"{event['type']} needs {need} or a non-empty {quantities} unless action is DELETE",
            )

    return rule


def transformation_rule(event: dict[Any, Any], at: str, out: Findings) -> None:
    inputs = _nonempty(event.get("inputEPCList")) or _nonempty(event.get("inputQuantityList"))
    outputs = _nonempty(event.get("outputEPCList")) or _nonempty(event.get("outputQuantityList"))
    if (inputs and outputs) or ((inputs or outputs) and "transformationID" in event):
        return
    if inputs or outputs:
        missing = "outputs" if inputs else "inputs"
        out.add(
            child_pointer(at, f"{missing[:-1]}EPCList"), f"TransformationEvent has no {missing} and no transformationID"
        )
    else:
        out.add(
            child_pointer(at, "inputEPCList"), "TransformationEvent needs inputs and/or outputs (EPC or quantity lists)"
        )
