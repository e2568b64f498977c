"""Speech: decoding voicemail audio to PCM and transcribing it offline with Vosk.

``decode`` turns PBX and messenger audio into 16 kHz mono PCM, ``models`` finds the
installed Vosk models per language, and ``transcriber`` runs recognition off the event loop.
"""
