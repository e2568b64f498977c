"""Channels that turn outside input (email, voicemail, audio) into calls on the core."""
