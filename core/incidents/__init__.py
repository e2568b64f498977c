"""Incidents: an outage or planned shut-off that absorbs a building's flood of reports.

``queries`` reads what is active where; ``service`` opens, updates and resolves incidents
and links residents' reports to them (one transaction and one timeline event per change).
"""
