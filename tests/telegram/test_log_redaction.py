"""No bot token, webhook secret or password reaches a log line, at any level."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiogram.exceptions import TelegramServerError
from telegram.error import InvalidToken

from bots.telegram_sender import TelegramSender
from core.storage.blobs.local import LocalBlobStore
from housedesk.logs import RedactSecrets, install_redaction
from tests.conftest import REPO
from tests.fakes.botapi import BotApiServer
from tests.telegram.support import RESIDENT_BOT_TOKEN, STAFF_BOT_TOKEN, aiogram_bot

TOKEN = RESIDENT_BOT_TOKEN
UNKNOWN_TOKEN = "799999999:AAunknownTokenNobodyConfiguredForTests_1"


@pytest.fixture
def captured(caplog: pytest.LogCaptureFixture) -> Iterator[io.StringIO]:
    """Everything logged at DEBUG and above, formatted with tracebacks, redacted as in `run`."""
    caplog.set_level(logging.DEBUG)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    redactor = RedactSecrets([TOKEN, STAFF_BOT_TOKEN, "hook-secret_42"])
    install_redaction(redactor)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        for other in root.handlers:
            other.removeFilter(redactor)


async def test_the_sender_and_the_bots_never_log_a_token(
    botapi: BotApiServer, tmp_path: Path, captured: io.StringIO
) -> None:
    botapi.add_bot(TOKEN)
    blobs = LocalBlobStore(tmp_path / "blobs")
    async with TelegramSender(TOKEN, botapi.url, blobs):  # getMe through httpx
        pass
    with pytest.raises(InvalidToken):
        await TelegramSender(UNKNOWN_TOKEN, botapi.url, blobs).start()
    botapi.fail_next(TOKEN, "sendMessage", "500")
    bot = aiogram_bot(botapi, TOKEN)
    try:
        with pytest.raises(TelegramServerError):
            await bot.send_message(5550001, "Your request #1 is in")
    finally:
        await bot.session.close()
    try:
        raise RuntimeError(f"failed: {botapi.url}/bot{UNKNOWN_TOKEN}/getMe")
    except RuntimeError:
        logging.getLogger("housedesk").exception("request to %s", f"{botapi.url}/bot{TOKEN}/x")
    logging.getLogger("housedesk").info(
        "database at postgres://desk:pa55word@db:5432/desk, hook secret_token=hook-secret_42"
    )

    text = captured.getvalue()
    assert "HTTP Request: POST" in text  # httpx did log the requests, masked
    assert "bot710000001:***/getMe" in text and "bot799999999:***/getMe" in text
    assert "Traceback" in text and "bot799999999:***/getMe" in text.split("Traceback")[1]
    assert "postgres://desk:***@db:5432" in text and "secret_token=***" in text
    for secret in (TOKEN, UNKNOWN_TOKEN, "AAresidentBotTokenForTestsOnly", "pa55word"):
        assert secret not in text
    assert "hook-secret_42" not in text


def test_the_process_keeps_its_files_private(tmp_path: Path) -> None:
    config = tmp_path / "housedesk.toml"
    config.write_text(
        f'[database]\nurl = "sqlite://{tmp_path}/data/desk.sqlite3"\n'
        f'[storage]\ndata_dir = "{tmp_path}/data"\n'
    )
    env = {**os.environ, "HOUSEDESK_TELEGRAM__RESIDENT_TOKEN": TOKEN}
    env.pop("HOUSEDESK_CONFIG", None)
    subprocess.run(
        [sys.executable, "-m", "housedesk.cli", "--config", str(config), "init"],
        cwd=REPO,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert (tmp_path / "data").stat().st_mode & 0o777 == 0o700
    database = tmp_path / "data" / "desk.sqlite3"
    assert database.stat().st_mode & 0o777 == 0o600
