"""The ``housedesk`` command line."""

from housedesk.cli.main import main

__all__ = ["main"]
