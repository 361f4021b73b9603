"""The GS1 standards, pure (no SQLAlchemy): identifiers, Digital Link, CBV, EPCIS validation,
the CBV event hash ID, readable events -> EPCIS, lenient repairs of other systems' documents.
"""
