"""Outgoing messages: the outbox, its delivery contract, the notifications written to it."""
