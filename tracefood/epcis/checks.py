"""The building blocks the EPCIS validator is written in: JSON structure checks that report.

:mod:`tracefood.epcis.validate` restates GS1's EPCIS JSON Schema as small checks, composed from
these: a :data:`Check` looks at one value at an RFC 6901 pointer and appends a :class:`Finding`
for each problem to :class:`Findings` instead of raising, so producers see every problem at once.
:func:`expect`, :func:`json_array` and :func:`json_object` build checks the way the schema nests
``type``, ``items``, ``properties`` and ``required``; the formats (``uri``, ``date-time``) are
always enforced (:mod:`tracefood.epcis.formats`). What the schema cannot say (CBV vocabulary,
rules across fields) is in :mod:`tracefood.epcis.semantics`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from tracefood.epcis.formats import is_date_time, is_uri

MAX_FINDINGS: Final = 100


@dataclass(frozen=True)
class Finding:
    """One problem: where (RFC 6901 pointer into the document) and what, for a human."""

    field: str
    reason: str


class Findings(list[Finding]):
    def add(self, field: str, reason: str) -> None:
        self.append(Finding(field, reason))

    def result(self) -> list[Finding]:
        """At most MAX_FINDINGS findings, then one saying how many more there were."""
        more = [Finding("", f"{len(self) - MAX_FINDINGS} more findings not shown")] if len(self) > MAX_FINDINGS else []
        return self[:MAX_FINDINGS] + more


Check = Callable[[object, str, Findings], None]


def show(value: object) -> str:
    if isinstance(value, str):
        return repr(value if len(value) <= 80 else value[:77] + "...")
    if isinstance(value, float | Decimal) and not is_number(value):
        return f"{value} (JSON has no NaN or Infinity)"
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return "a number"
    names = {dict: "an object", list: "an array", bool: "a boolean", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def child_pointer(pointer: str, key: object) -> str:
    return f"{pointer}/{str(key).replace('~', '~0').replace('/', '~1')}"


def anything(value: object, at: str, out: Findings) -> None:
    pass


def expect(test: Callable[[Any], object], what: str) -> Check:
    """A check that ``test(value)`` holds; the finding says the value must be ``what``."""

    def check(value: object, at: str, out: Findings) -> None:
        if not test(value):
            out.add(at, f"must be {what}, got {show(value)}")

    return check


def is_number(value: object) -> bool:
    """JSON numbers as parsed by json (int, float) or with parse_float=Decimal, as the web layer does."""
    if isinstance(value, Decimal):
        return value.is_finite()
    if isinstance(value, bool):
        return False
    # an int is always finite (and may be too large to become a float: never convert it)
    return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))


MAX_DEPTH: Final = 64
"""How deeply a document may nest objects and arrays. EPCIS 2.0 events need about ten levels
(sensor reports inside sensor elements inside an event inside the body); the rest is room for
extensions. Deeper input is refused before any recursive code (the event hash, the checks) sees it."""


def too_deep(value: object, limit: int = MAX_DEPTH) -> str | None:
    """The JSON pointer of the first place nested deeper than ``limit`` levels, or None.
    Iterative, so it cannot itself run out of stack."""
    stack: list[tuple[object, str, int]] = [(value, "", 0)]
    while stack:
        node, at, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth >= limit:
                return at or "/"
            items = node.items() if isinstance(node, dict) else enumerate(node)
            stack.extend((child, f"{at}/{key}", depth + 1) for key, child in items)
    return None


def pattern(regex: str, what: str) -> Check:
    compiled = re.compile(regex)
    return expect(lambda value: isinstance(value, str) and compiled.fullmatch(value), what)


a_string = expect(lambda value: isinstance(value, str), "a string")
a_uri = expect(is_uri, "an absolute URI (like urn:epc:id:sgtin:... or https://...)")
a_date_time = expect(is_date_time, "an RFC 3339 date-time with offset (like 2026-07-22T06:45:00+02:00)")
a_number = expect(is_number, "a number")


def same(check: Check, names: str) -> dict[str, Check]:
    return dict.fromkeys(names.split(), check)


def _freeze(value: object) -> object:
    """A hashable stand-in with JSON equality (1 == 1.0, but true != 1)."""
    if isinstance(value, bool | str) or value is None:
        return (type(value).__name__, value)
    if isinstance(value, int | float | Decimal):
        return ("number", value)
    if isinstance(value, list):
        return ("array", tuple(_freeze(item) for item in value))
    if isinstance(value, dict):
        return ("object", frozenset((key, _freeze(item)) for key, item in value.items()))
    return ("other", id(value))


def check_unique(items: list[Any], at: str, out: Findings) -> None:
    seen: dict[object, int] = {}
    for index, item in enumerate(items):
        try:
            key = _freeze(item)
        except RecursionError:  # absurdly deep nesting: skip rather than crash
            continue
        if key in seen:
            out.add(child_pointer(at, index), f"duplicate of item {seen[key]}")
        seen.setdefault(key, index)


def json_array(item: Check, *, min_items: int = 0, unique: bool = False) -> Check:
    def check(value: object, at: str, out: Findings) -> None:
        if not isinstance(value, list):
            out.add(at, f"must be an array, got {show(value)}")
            return
        if len(value) < min_items:
            out.add(at, f"must have at least {min_items} item{'s' if min_items > 1 else ''}")
        for index, element in enumerate(value):
            item(element, child_pointer(at, index), out)
        if unique:
            check_unique(value, at, out)

    return check


Spec = tuple[Mapping[str, Check], tuple[str, ...], str]  # fields, required, extra
_NAMESPACED: Final = "extension fields must be namespaced (prefix:name or an absolute URI)"
_MISSING_HINTS: Final = {
    "@context": " (e.g. 'https://ref.gs1.org/standards/epcis/epcis-context.jsonld')",
    "eventTimeZoneOffset": " (e.g. '+02:00')",
    "action": " (ADD, OBSERVE or DELETE)",
}


def check_fields(what: str, value: dict[Any, Any], at: str, out: Findings, spec: Spec) -> None:
    """Check an object's known fields, that the required ones are there, and its other keys
    per ``extra``: allowed ("any"), "namespaced" (keys are URIs) or "none"."""
    fields, required, extra = spec
    for key, element in value.items():
        check = fields.get(key) if isinstance(key, str) else None
        if check is not None:
            check(element, child_pointer(at, key), out)
        elif extra == "none":
            out.add(child_pointer(at, key), f"unknown field {key!r} in {what} (allowed: {', '.join(fields)})")
        elif extra == "namespaced" and not is_uri(key):
            out.add(child_pointer(at, key), f"unknown field {key!r} in {what}; {_NAMESPACED}")
    for key in required:
        if key not in value:
            out.add(child_pointer(at, key), f"required field missing{_MISSING_HINTS.get(key, '')}")


def json_object(what: str, fields: Mapping[str, Check], required: str = "", *, extra: str = "namespaced") -> Check:
    """An object with known ``fields`` and the space-separated ``required`` ones."""
    spec = (fields, tuple(required.split()), extra)

    def check(value: object, at: str, out: Findings) -> None:
        if isinstance(value, dict):
            check_fields(what, value, at, out, spec)
        else:
            out.add(at, f"{what} must be an object, got {show(value)}")

    return check
