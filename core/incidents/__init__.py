"""Incidents: an outage or planned shut-off that absorbs a building's flood of reports.

``queries`` reads what is active where; ``service`` is the one entry point that opens,
updates and resolves incidents (``lifecycle``) and links residents' reports to them
(``linking``), each change one transaction and one timeline event (``recorder``), telling
residents through ``news``; ``jobs`` is the scheduler's part.
"""
