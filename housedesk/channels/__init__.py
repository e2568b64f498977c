"""Channel wiring: how each channel (email, Telegram, voicemail, HTTP) is started for a process."""
