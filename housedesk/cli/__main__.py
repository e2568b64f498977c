"""``python -m housedesk.cli``."""

from housedesk.cli.main import main

raise SystemExit(main())
