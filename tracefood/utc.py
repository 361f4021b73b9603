"""UTC times as text, written one way everywhere.

Ledger envelopes, EPCIS documents, labels, recalls and the registry all print times as
``YYYY-MM-DDTHH:MM:SS[.fff|.ffffff]Z``. They differ only in precision, so one function with a
precision argument writes them all; a naive datetime (SQLite gives stored times back without
their offset) is taken as UTC. Pure: used by every layer, imports nothing of TraceFood.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal, overload

Precision = Literal["s", "ms", "us"]


def now() -> dt.datetime:
    """The current time, timezone-aware UTC."""
    return dt.datetime.now(dt.UTC)


@overload
def text(moment: dt.datetime, precision: Precision = "s") -> str: ...
@overload
def text(moment: None, precision: Precision = "s") -> None: ...
def text(moment: dt.datetime | None, precision: Precision = "s") -> str | None:
    """``moment`` as ``2026-12-02T06:44:25Z`` (``s``), ``...25.123Z`` (``ms``, truncated) or
    ``...25.123456Z`` (``us``); None stays None."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    moment = moment.astimezone(dt.UTC)
    base = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if precision == "ms":
        return f"{base}.{moment.microsecond // 1000:03d}Z"
    if precision == "us":
        return f"{base}.{moment.microsecond:06d}Z"
    return base + "Z"
