"""Stock moves: what each event did to stock, so that an error declaration undoes exactly that
(lenient clamps and first sightings included). A projection: ``tracefood verify --projections
--rebuild`` fills it for the events recorded before this revision.

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


def downgrade() -> None:
    op.drop_table("stock_moves")
