"""Typed SQLAlchemy tables of the ledger. Alembic (``migrations/``) builds them; never create_all.

``ledger_entries`` holds each entry's canonical bytes exactly as hashed; ``ledger_nodes`` every
completed perfect subtree above the leaves (level >= 1), so proofs read O(log n) rows;
``ledger_checkpoints`` every signed tree head the ledger has handed out. All three are
append-only, enforced by triggers created in the migration.
"""

from __future__ import annotations

import datetime as dt
from typing import cast

from sqlalchemy import BigInteger, DateTime, Integer, LargeBinary, MetaData, String, Table, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# INTEGER PRIMARY KEY is SQLite's rowid (64-bit); BIGINT elsewhere.
SeqType = BigInteger().with_variant(Integer(), "sqlite")

APPEND_ONLY_TABLES = ("ledger_entries", "ledger_nodes", "ledger_checkpoints")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Entry(Base):
    __tablename__ = "ledger_entries"

    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=False)
    entry_id: Mapped[str] = mapped_column(String(255), unique=True)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    body: Mapped[bytes] = mapped_column(LargeBinary)


class Node(Base):
    """A perfect subtree above the leaves, keyed by :func:`node_id`."""

    __tablename__ = "ledger_nodes"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


LEVEL_BITS = 6
MAX_LEAVES = 1 << 57  # node ids are 64-bit signed: (last leaf << 6) | level must fit


def node_id(level: int, index: int) -> int:
    """Key of node ``(level, index)``: (last leaf it covers << 6) | level.

    One integer key: lookups are a plain ``id IN (...)`` on the primary key on both engines
    (SQLite does not use an index for row-value IN lists), and key order is the order in
    which appends complete nodes, so the verifier streams them in a single pass.
    """
    return ((((index + 1) << level) - 1) << LEVEL_BITS) | level


def node_coord(key: int) -> tuple[int, int]:
    """Inverse of :func:`node_id`."""
    level = key & ((1 << LEVEL_BITS) - 1)
    return level, (((key >> LEVEL_BITS) + 1) >> level) - 1


class StoredCheckpoint(Base):
    __tablename__ = "ledger_checkpoints"

    size: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=False)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)
    signed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


entries = cast(Table, Entry.__table__)
nodes = cast(Table, Node.__table__)
checkpoints = cast(Table, StoredCheckpoint.__table__)
