"""The dispatcher's desk: server-rendered pages under ``/desk`` on housedesk's HTTP server,
for the staff bot's Mini App and for an office browser (see :mod:`desk.app`)."""
