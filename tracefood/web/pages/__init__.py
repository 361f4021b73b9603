"""The HTML pages, by audience: the site and producers, inspectors (label scans), recall officers."""
