"""The PBX's voice menu: what it should say to a caller (``GET /api/pbx/status``)."""
