"""Stock moves: what each event did to stock, so that an error declaration undoes exactly that
(lenient clamps and first sightings included). A projection: ``tracefood verify --projections
--rebuild`` fills it for the events recorded before this revision. And an index on a lot's
history by time (lot_events (lot_id, event_time)): a trace reads a container's events between
a lot's loading and unloading.

Revision ID: 0006_stock_moves
Revises: 0005_indexes
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_stock_moves"
down_revision = "0005_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stock_moves",
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("lot_id", sa.BigInteger(), nullable=False),
        sa.Column("location", sa.String(length=255), nullable=False),
        sa.Column("delta", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["lot_id"], ["lots.id"], name=op.f("fk_stock_moves_lot_id_lots")),
        sa.PrimaryKeyConstraint("seq", "lot_id", "location", name=op.f("pk_stock_moves")),
    )
    with op.batch_alter_table("lot_events", schema=None) as batch_op:
        batch_op.create_index("ix_lot_events_lot_id_event_time", ["lot_id", "event_time"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("lot_events", schema=None) as batch_op:
        batch_op.drop_index("ix_lot_events_lot_id_event_time")
    op.drop_table("stock_moves")
