"""A resident's first report walked in all five languages through the Bot API stand-in:
no message or button the bot shows in a non-English flow is its English original (names,
numbers, references, language names and emoji aside), and the emergency instructions come
in the resident's language."""

from __future__ import annotations

import asyncio
import re
import tomllib

from bots.keyboards import LANGUAGE_NAMES
from core.i18n import gettext
from housedesk.bootstrap import App
from tests.bots.support import (
    EXAMPLE_DIRECTORY,
    JSON,
    RESIDENT,
    TelegramUser,
    load_example_directory,
    running_housedesk,
    shown_text,
)
from tests.fakes.botapi import BotApiServer

REPORTS = {
    "en": "Water is dripping from the ceiling",
    "ru": "С потолка капает вода",
    "pl": "Z sufitu kapie woda",
    "no": "Det drypper vann fra taket",
    "zh": "天花板在滴水",
}
OAK = next(
    b for b in tomllib.loads(EXAMPLE_DIRECTORY.read_text())["buildings"] if b["code"] == "OAK"
)
INSTRUCTIONS: dict[str, str] = OAK["emergency_instructions"]
NOT_WORDS = re.compile(r"#\d+|[\W\d_]+")


def _words(text: str) -> str:
    """``text`` without what needs no translation: names, the resident's own words, the
    building's instructions, numbers, references, emoji and punctuation."""
    for given in (OAK["name"], OAK["duty_phone"], *REPORTS.values(), *INSTRUCTIONS.values()):
        text = text.replace(given, " ")
    for name in LANGUAGE_NAMES.values():
        text = text.replace(name, " ")
    return NOT_WORDS.sub(" ", text).strip()


def _labels(message: JSON) -> list[str]:
    markup = message.get("reply_markup", {})
    rows = markup.get("inline_keyboard", []) + markup.get("keyboard", [])
    return [button["text"] for row in rows for button in row]


async def _first_report(botapi: BotApiServer, user_id: int, language: str) -> list[JSON]:
    """Start, register, choose the language, open the menu, report an emergency: every
    message the bot sent, in order."""
    resident = TelegramUser.of(botapi, RESIDENT, user_id, "Mina", language)
    resident.send("/start OAK")
    await resident.sees("Oak Court")
    resident.send("12")
    await resident.sees("12")
    resident.send("/lang")
    choice = await resident.sees_where(lambda m: "English" in _labels(m), "the languages")
    resident.press(choice, LANGUAGE_NAMES[language])
    await resident.sees(LANGUAGE_NAMES[language])
    resident.send("/menu")
    menu = await resident.sees(gettext(language, "How can we help?"))
    resident.press(menu, gettext(language, "🚨 Emergency"))
    instructions = await resident.sees(gettext(language, "🚨 What to do right now:"))
    assert INSTRUCTIONS[language] in shown_text(instructions)
    await resident.sees_where(lambda m: not _labels(m), "the request for a description")
    resident.send(REPORTS[language])
    await resident.sees(REPORTS[language])
    await asyncio.sleep(0.3)  # anything sent after the acknowledgement is compared too
    return resident.bot_messages()


async def test_a_first_report_in_every_language(app: App, botapi: BotApiServer) -> None:
    await load_example_directory()
    async with running_housedesk(app, botapi):
        flows = {
            language: await _first_report(botapi, 5560000 + n, language)
            for n, language in enumerate(REPORTS)
        }
    english = flows.pop("en")
    assert len(english) >= 8, [shown_text(m) for m in english]
    untranslated = []
    for language, messages in flows.items():
        assert len(messages) == len(english), language
        for original, shown in zip(english, messages, strict=True):
            if _words(shown_text(original)) and _words(shown_text(shown)) == _words(
                shown_text(original)
            ):
                untranslated.append(f"{language}: {shown_text(shown)!r}")
            for label, english_label in zip(_labels(shown), _labels(original), strict=True):
                if _words(english_label) and label == english_label:
                    untranslated.append(f"{language}: button {label!r}")
    assert untranslated == [], "\n".join(untranslated)
