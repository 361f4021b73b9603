"""The JSON API (``/api/v1``) and the EPCIS 2.0 interface (``/epcis``), one blueprint per concern."""
