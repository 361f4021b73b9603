"""Lots, stock, lot links, custody history and shipments, kept in step with the ledger.

The projections are written in the same transaction as each ledger append (capture) and
rebuilt from the ledger alone (rebuild), through the same code:

- :mod:`.unit`: the unit of work, the rows one transaction reads, changes and writes back;
- :mod:`.rules`: one small rule per kind of event (commission, ship, receive, transform,
  aggregate, disaggregate, destroy, transport, observe), chosen from a table, and the hold and
  history every event gets;
- :mod:`.undo`: the undo of an event declared erroneous, from the stock moves it recorded;
- :mod:`.model` and :mod:`.stock`: the in-memory rows.
"""

from __future__ import annotations

from tracefood.chain.projections.model import CORRECTED, HOLDING, IN_TRANSIT, RECEIVED, EventContext
from tracefood.chain.projections.rules import apply_event
from tracefood.chain.projections.unit import UnitOfWork, rows_of

__all__ = [
    "CORRECTED",
    "HOLDING",
    "IN_TRANSIT",
    "RECEIVED",
    "EventContext",
    "UnitOfWork",
    "apply_event",
    "rows_of",
]
