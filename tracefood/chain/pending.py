"""A batch of events on its way into the ledger: what capture knows of each event as it goes
through the steps of :mod:`tracefood.chain.capture`, the receipt it ends with, and how the
errors found on the way are raised (all at once, each with its place in the caller's document)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tracefood.chain.registry import Actor
from tracefood.epcis import lenient as lenient_import
from tracefood.epcis import readable
from tracefood.epcis.events import Facts
from tracefood.errors import EventError, InvalidEntry
from tracefood.ledger.append import b64

MAX_ERRORS = 200


@dataclass(frozen=True)
class EventReceipt:
    seq: int
    event_id: str
    hash_id: str
    leaf_hash: bytes
    recorded: str
    created: bool
    party: str | None = field(default=None, compare=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "event_id": self.event_id,
            "hash_id": self.hash_id,
            "leaf_hash": b64(self.leaf_hash),
            "recorded": self.recorded,
            "created": self.created,
        }


@dataclass
class Pending:
    pointer: str
    event: dict[str, Any]
    context: Any
    kind: str | None
    source: str
    hash_id: str = ""
    facts: Facts | None = None
    lenient: bool = False
    opaque: tuple[str, ...] = ()
    repairs: list[lenient_import.Repair] = field(default_factory=list)

    def field(self, pointer: str) -> str:
        """Where an error inside the EPCIS event is, in the caller's own document."""
        inner = readable.readable_field(pointer) if self.source == "api" else pointer
        return self.pointer + inner

    @property
    def entry_id(self) -> str:
        assert self.facts is not None
        return self.hash_id + ("#correction" if self.facts.correction else "")


@dataclass(frozen=True)
class Batch:
    """Events checked and identified, with their registry facts: ready for :meth:`EventStore.commit_in`."""

    pending: list[Pending]
    actor: Actor
    strict: bool
    registry: tuple[dict[str, str], dict[str, str]]


def raise_invalid(errors: list[dict[str, str]], what: str) -> None:
    if errors:
        shown = errors[:MAX_ERRORS]
        summary = "; ".join(f"{e['field']}: {e['reason']}" for e in shown[:5])
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        raise InvalidEntry(f"{what}: {summary}{more}", errors=shown)


def error_list(excs: Sequence[BaseException], pointer: str) -> list[dict[str, str]]:
    return [
        {"field": pointer + e.field, "reason": e.reason}
        if isinstance(e, EventError)
        else {"field": pointer, "reason": str(e)}
        for e in excs
    ]
