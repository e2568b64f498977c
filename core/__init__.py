"""housedesk domain core: models, ticket lifecycle, routing, deadlines, reports and the outbox.

Nothing in this package imports a bot, mail or speech library.
"""
