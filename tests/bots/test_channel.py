"""Starting the bots: command menus per language, a bot without a token is off in one line,
and the ``[telegram]`` section is checked."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from aiohttp import web

from housedesk.bootstrap import App
from housedesk.channels.telegram import start_telegram
from housedesk.settings.config import ConfigError, load_settings
from housedesk.settings.telegram import TelegramSettings
from tests.bots.support import RESIDENT, STAFF, running_housedesk
from tests.fakes.botapi import BotApiServer


async def test_command_menus_are_set_per_language(app: App, botapi: BotApiServer) -> None:
    async with running_housedesk(app, botapi):
        resident_en = {c["command"]: c["description"] for c in botapi.commands(RESIDENT)}
        resident_ru = {c["command"]: c["description"] for c in botapi.commands(RESIDENT, "ru")}
        staff_ru = {c["command"]: c["description"] for c in botapi.commands(STAFF, "ru")}
        staff_zh = {c["command"]: c["description"] for c in botapi.commands(STAFF, "zh")}
        norwegian = [botapi.commands(RESIDENT, code) for code in ("nb", "no")]
    assert resident_en["my"] == "My requests" and resident_ru["my"] == "Мои заявки"
    assert list(resident_en) == ["start", "menu", "my", "lang", "cancel"]
    assert staff_ru["mine"] == "Мои открытые заявки"
    assert staff_zh["mine"] == "我的未完成工单"
    assert staff_zh["lang"] == "语言"
    assert norwegian[0] == norwegian[1] != botapi.commands(RESIDENT)  # apps send "nb"
    assert app.channel_states == {
        "resident_chat": "up (polling)",
        "staff_chat": "up (polling)",
    }


async def test_a_bot_without_a_token_is_off_in_one_line(
    app: App, botapi: BotApiServer, caplog: pytest.LogCaptureFixture
) -> None:
    botapi.add_bot(STAFF)
    caplog.set_level(logging.INFO, logger="housedesk")
    routes: list[web.RouteDef] = []
    settings = TelegramSettings(api_base=botapi.url, staff_token=STAFF, polling_timeout_s=1)
    channel = await start_telegram(app, settings, routes)
    await channel.stop()
    lines = [r.getMessage() for r in caplog.records if r.name == "housedesk"]
    assert "telegram: resident bot is off (no resident_token)" in lines
    assert "telegram: staff bot @housedesk_test_710000002_bot is up (polling)" in lines
    assert app.channel_states["resident_chat"] == "off"
    assert set(app.outbox.senders) == {"staff_chat"}
    assert routes == []


async def test_a_rejected_token_turns_that_bot_off(app: App, botapi: BotApiServer) -> None:
    settings = TelegramSettings(
        api_base=botapi.url,
        resident_token=RESIDENT,
        mode="webhook",
        webhook_url="https://desk.example",
        webhook_secret="s3cret",
    )
    routes: list[web.RouteDef] = []
    channel = await start_telegram(app, settings, routes)
    await channel.stop()
    assert app.channel_states["resident_chat"] == "off (token rejected)"
    assert routes == [] and not app.outbox.senders


@pytest.mark.parametrize(
    ("toml", "error"),
    [
        ('[telegram]\nmode = "webhook"\n', "webhook mode needs webhook_url and webhook_secret"),
        (
            '[telegram]\nmode = "webhook"\nwebhook_url = "https://d.example"\n'
            'webhook_secret = "no spaces please"\n',
            "bad value for telegram.webhook_secret",
        ),
        ('[telegram]\napi_base = "api.telegram.org"\n', "bad value for telegram.api_base"),
        (
            '[telegram]\nresident_tokn = "1:x"\n',
            "unknown configuration key: telegram.resident_tokn",
        ),
    ],
)
def test_bad_telegram_settings_name_the_key(tmp_path: Path, toml: str, error: str) -> None:
    config = tmp_path / "housedesk.toml"
    config.write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError, match=error):
        load_settings(config)


def test_tokens_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOUSEDESK_CONFIG", raising=False)
    monkeypatch.setenv("HOUSEDESK_TELEGRAM__RESIDENT_TOKEN", RESIDENT)
    settings = load_settings(None)
    assert settings.telegram.resident_token is not None
    assert settings.telegram.resident_token.get_secret_value() == RESIDENT
    assert RESIDENT not in repr(settings.telegram)
