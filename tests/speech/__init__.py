"""Tests for audio decoding, Vosk transcription, model management and voicemail sources."""
