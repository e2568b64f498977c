"""A resident's command menu: the bot's menu in their app's language, unless they chose
another one (then a menu of their chat's own, dropped again when they choose back)."""

from __future__ import annotations

from core.directory.residents import register_resident
from housedesk.bootstrap import App
from tests.bots.support import RESIDENT, TelegramUser, load_example_directory, running_housedesk
from tests.fakes.botapi import BotApiServer

CHAT = 5550002


def _chat_menu(botapi: BotApiServer) -> dict[str, str]:
    scope = {"type": "chat", "chat_id": CHAT}
    return {c["command"]: c["description"] for c in botapi.commands(RESIDENT, "", scope)}


def _menu_calls(botapi: BotApiServer) -> list[str]:
    return [
        call.method
        for call in botapi.calls(RESIDENT)
        if call.method.endswith("MyCommands") and str(CHAT) in str(call.params.get("scope"))
    ]


async def test_a_chat_has_a_menu_of_its_own_only_in_another_language(
    app: App, botapi: BotApiServer
) -> None:
    await load_example_directory()
    await register_resident(CHAT, "Pavel", "LIPA", "7", "ru")
    async with running_housedesk(app, botapi):
        pavel = TelegramUser.of(botapi, RESIDENT, CHAT, "Pavel", "ru-RU")
        pavel.send("/start")  # registered: straight to the menu
        await pavel.sees("Чем мы можем помочь?")
        pavel.send("/my")
        await pavel.sees("У вас пока нет заявок.")
        assert _menu_calls(botapi) == []  # his app shows the bot's Russian menu: no call

        pavel.send("/lang")
        pavel.press(await pavel.sees("Выберите язык:"), "English")
        await pavel.sees("I will speak English from now on.")
        await botapi.wait_for_call(
            RESIDENT, "setMyCommands", lambda call: str(CHAT) in str(call.params.get("scope"))
        )
        assert _chat_menu(botapi)["my"] == "My requests"

        pavel.send("/lang")
        pavel.press(await pavel.sees("Choose your language:"), "Русский")
        await pavel.sees("Русский")
        await botapi.wait_for_call(
            RESIDENT, "deleteMyCommands", lambda call: str(CHAT) in str(call.params.get("scope"))
        )
        assert _chat_menu(botapi) == {}  # the bot's Russian menu again
        assert _menu_calls(botapi) == ["setMyCommands", "deleteMyCommands"]
