"""The CLI reports a change refused on a stale copy in the service's language, in one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.test_cli import EXAMPLE_CONFIG, _env

# The command runs as usual, but its ticket was changed meanwhile by someone else.
CHANGED_MEANWHILE = f"""
import sys
import housedesk.cli.main
from core.errors import StaleTicket

cli = sys.modules["housedesk.cli.main"]

async def changed_meanwhile(*args):
    raise StaleTicket(42)

cli._run = changed_meanwhile
sys.exit(cli.main(["--config", {str(EXAMPLE_CONFIG)!r}, "tickets", "list"]))
"""


@pytest.mark.parametrize(
    ("language", "said"),
    [
        ("en", "#42 was changed meanwhile by someone else; look again and retry."),
        ("ru", "#42 тем временем изменил кто-то другой; посмотрите ещё раз и повторите."),
    ],
)
def test_a_stale_change_is_one_line_in_the_service_language(
    language: str, said: str, tmp_path: Path
) -> None:
    result = subprocess.run(
        [sys.executable, "-c", CHANGED_MEANWHILE],
        cwd=tmp_path,
        env=_env(HOUSEDESK_SERVICE__DEFAULT_LANGUAGE=language),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr == f"housedesk: {said}\n"
