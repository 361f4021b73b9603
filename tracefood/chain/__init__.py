"""The supply-chain domain on the database: registry, access, capture, projections, rebuild,
lots, trace, recalls, records, the EPCIS query and export.
"""
