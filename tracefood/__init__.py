"""TraceFood: a tamper-evident agri-food traceability ledger."""

__version__ = "0.1.0.dev0"
