"""Alembic migrations: the only way the TraceFood schema is built (installed as tracefood._migrations)."""
