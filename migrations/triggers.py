"""Trigger helpers shared by the migrations (one place for the dialect difference)."""

from __future__ import annotations

from alembic import op


def append_only(table: str) -> None:
    """The same triggers as the ledger tables (0001): UPDATE, DELETE (and TRUNCATE) refused."""
    if op.get_bind().dialect.name == "postgresql":
        # tracefood_append_only() was created by 0001.
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION tracefood_append_only()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION tracefood_append_only()"
        )
        return
    for action in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, 'TraceFood: {action} on {table} is refused: "
            "the audit trail is append-only'); END"
        )
