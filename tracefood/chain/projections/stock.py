"""A lot's quantity on hand at one location, and the rule for taking from it.

The entry is a slotted dataclass (it was a four-item list): the unit of work keeps one per
(lot, location) it has read or changed, and writes back only the changed ones.
"""

from __future__ import annotations

from dataclasses import dataclass

from tracefood.chain.projections.model import EventContext, LotState
from tracefood.epcis.events import Obj, format_micro
from tracefood.errors import EventError


@dataclass(slots=True)
class StockEntry:
    quantity: int
    party_id: str | None
    existed: bool
    """The row is in the database (written back with an UPDATE, not an INSERT)."""
    dirty: bool
    """Changed in this unit of work."""


def allowed_take(entry: StockEntry, lot: LotState, location: str, obj: Obj, ctx: EventContext, what: str) -> int:
    """How much of ``obj.quantity`` may be taken from ``entry``: the holder must be the
    recording party, and more than is on hand is refused (a lenient event takes what there is,
    and says so in ``ctx.notes``)."""
    assert obj.quantity is not None
    have = int(entry.quantity)
    if ctx.check_access and ctx.party_id is not None:
        holder = entry.party_id
        if holder is not None and holder != ctx.party_id:
            raise EventError(obj.pointer, f"{lot.key} at {location} is held by {holder}, not by you")
    wanted = obj.quantity
    if wanted > have and ctx.lenient:
        unit = f" {lot.uom}" if lot.uom else ""
        reason = f"more than the {format_micro(have)}{unit} on hand at {location}: all of it taken"
        ctx.notes.append((obj.pointer + "/quantity", format_micro(wanted) or "", reason))
        wanted = have
    if wanted > have:
        raise EventError(
            obj.pointer + "/quantity",
            f"cannot {what} {format_micro(wanted)}: only {format_micro(have)} "
            f"{lot.uom or ''} of {lot.key} on hand at {location}".replace("  ", " "),
        )
    return wanted
