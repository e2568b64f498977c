"""Tickets: the service that changes them, the workflow, commands, access rules, views."""
