"""Voicemail sources (HTTP upload, drop folder) that hand each recording to an ingest callback."""
