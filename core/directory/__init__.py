"""The directory: buildings, people and their contacts, categories, residents, staff invites."""
