"""Telegram: aiogram routers for the residents' and the staff bot, and outbox delivery."""
