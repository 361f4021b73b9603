"""Signed QR labels: signing and verification (pure), the label key store, rendering."""
