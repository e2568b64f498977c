"""Tests of the Telegram Bot API stand-in and the outbox Telegram sender."""
