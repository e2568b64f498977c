"""The residents' building bot: registration, reports, their requests."""
