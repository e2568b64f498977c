"""``housedesk staff invite`` and ``housedesk building qr`` as an operator runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PIL import Image

from core.clock import SystemClock
from core.directory.invites import redeem_invite
from core.storage.db import close_db, migrate_db, open_db, sqlite_url
from housedesk.cli.telegram import bot_username
from housedesk.settings.telegram import TelegramSettings
from tests.bots.support import RESIDENT, load_example_directory
from tests.cli.test_cli import CWD_DATA
from tests.conftest import REPO
from tests.fakes.botapi import BotApiServer

CONFIG = REPO / "config.example.toml"


def housedesk(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOUSEDESK_")}
    env["PYTHONPATH"] = str(REPO)
    env["HOUSEDESK_TELEGRAM__RESIDENT_BOT_USERNAME"] = "oak_resident_bot"
    env["HOUSEDESK_TELEGRAM__STAFF_BOT_USERNAME"] = "@oak_staff_bot"
    env.update(CWD_DATA)
    return subprocess.run(
        [sys.executable, "-m", "housedesk.cli", "--config", str(CONFIG), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_invite_code_and_poster(tmp_path: Path) -> None:
    url = sqlite_url(f"sqlite://{tmp_path / 'data' / 'housedesk.sqlite3'}")
    await migrate_db(url)
    await open_db(url)
    await load_example_directory()
    await close_db()

    invite = housedesk(tmp_path, "staff", "invite", "Carol Accounts")
    assert invite.returncode == 0, invite.stderr
    code, explanation, link = invite.stdout.splitlines()
    assert "for Carol Accounts: valid once, for 48 hours" in explanation
    assert link == f"https://t.me/oak_staff_bot?start={code}"

    poster = housedesk(tmp_path, "building", "qr", "oak", "--out", "oak.png")
    assert poster.returncode == 0, poster.stderr
    assert poster.stdout.strip() == "wrote oak.png: https://t.me/oak_resident_bot?start=OAK"
    with Image.open(tmp_path / "oak.png") as image:
        assert (image.format, image.size) == ("PNG", (1240, 1754))

    unknown = housedesk(tmp_path, "building", "qr", "ELM")
    assert unknown.returncode == 1 and "unknown building 'ELM'" in unknown.stderr

    await open_db(url)
    try:
        carol = await redeem_invite(code, 424242, SystemClock())
    finally:
        await close_db()
    assert carol.name == "Carol Accounts"


async def test_the_bot_username_is_asked_from_telegram_when_not_configured(
    botapi: BotApiServer,
) -> None:
    botapi.add_bot(RESIDENT, username="lipa_home_bot")
    asked = TelegramSettings(api_base=botapi.url, resident_token=RESIDENT)
    assert await bot_username(asked, "resident") == "lipa_home_bot"
    assert await bot_username(asked, "staff") is None  # no token, no name
    wrong = TelegramSettings(api_base=botapi.url, resident_token="1:not-a-known-token")
    assert await bot_username(wrong, "resident") is None
