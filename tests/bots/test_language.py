"""``/lang`` on the staff bot: staff choose their language, strangers are told to register."""

from __future__ import annotations

from housedesk.bootstrap import App
from tests.bots.support import (
    STAFF,
    TelegramUser,
    eventually,
    load_example_directory,
    running_housedesk,
)
from tests.fakes.botapi import BotApiServer


async def test_a_member_of_staff_switches_language_and_a_stranger_cannot(
    app: App, botapi: BotApiServer
) -> None:
    await load_example_directory()
    async with running_housedesk(app, botapi):
        alice = TelegramUser.of(botapi, STAFF, 100001, "Alice")
        alice.send("/lang")
        languages = await alice.sees("Choose your language:")
        alice.press(languages, "Русский")
        await alice.sees("Теперь я говорю на языке: Русский.")
        alice.send("/mine")
        await alice.sees("У вас нет открытых заявок.")

        stranger = TelegramUser.of(botapi, STAFF, 6660002, "Eve")
        stranger.send("/lang")
        languages = await stranger.sees("Choose your language:")
        stranger.press(languages, "Русский")
        alert = await eventually(
            lambda: [
                call.params
                for call in botapi.calls(STAFF, "answerCallbackQuery")
                if "Сначала зарегистрируйтесь" in call.params.get("text", "")
            ]
        )
        assert alert[0].get("show_alert")
        stranger.send("/mine")
        await stranger.sees("this bot is only for the staff")
