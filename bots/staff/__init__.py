"""The staff bot: invite codes, assignment cards, commands for dispatchers and managers."""
