"""The demo supply chain and its data (``tracefood demo``)."""
