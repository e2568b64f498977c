"""The staff's day walked in all five languages through the Bot API stand-in: a dispatcher
assigns, a technician reads the card, accepts, looks the request up and finishes it, a
manager asks for help, ratings, a report and makes a mistake. No message or button a
member of staff sees in a non-English flow is its English original (names, numbers,
references and their own words aside), errors included, and every time is in the
building's zone (Tokyo) written the reader's way."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field

from bots.keyboards import LANGUAGE_NAMES
from core.actors import Actor
from core.directory.residents import register_resident
from core.storage.models import Building, Channel, Person
from core.tickets.commands import NewTicket
from housedesk.bootstrap import App
from tests.bots.support import (
    JSON,
    STAFF,
    TelegramUser,
    load_example_directory,
    running_housedesk,
    shown_text,
)
from tests.fakes.botapi import BotApiServer

TITLES = {
    "en": "Water is dripping from the ceiling",
    "ru": "С потолка капает вода",
    "pl": "Z sufitu kapie woda",
    "no": "Det drypper vann fra taket",
    "zh": "天花板在滴水",
}
RESPONSE_DUE = {
    "en": "26 Nov, 12:00",
    "ru": "26 нояб., 12:00",
    "pl": "26 lis, 12:00",
    "no": "26. nov., 12:00",
    "zh": "11月26日 12:00",
}
"""The first response's deadline on the building's clock (Tokyo), as each language writes it."""
NOTES = {
    "en": "Replaced the seal",
    "ru": "Заменил прокладку",
    "pl": "Wymieniono uszczelkę",
    "no": "Byttet pakningen",
    "zh": "更换了密封圈",
}
STAFF_NAMES = ("Alice Manager", "Dmitri Dispatcher", "Bob Plumber")
GIVEN = (*STAFF_NAMES, "Tom", "Oak Court", "OAK", "Telegram", "UTC", "abc")
"""Names of people, places, services and a zone, and what a person typed."""
COMMANDS = re.compile(r"/[a-z]+(?:[ ][A-Za-z0-9#]+)*")
"""A command with its example arguments (``/edit 12 building OAK``): syntax, not words."""
NOT_WORDS = re.compile(r"#\d+|[\W\d_]+")
LATIN = re.compile(r"[A-Za-z]{3,}")
"""English words in a Russian or Chinese line."""


def _words(text: str) -> str:
    """``text`` without what needs no translation: names, people's own words, commands,
    numbers, references, emoji and punctuation."""
    for given in (*GIVEN, *TITLES.values(), *NOTES.values(), *LANGUAGE_NAMES.values()):
        text = text.replace(given, " ")
    return NOT_WORDS.sub(" ", COMMANDS.sub(" ", text)).strip()


def _labels(message: JSON) -> list[str]:
    markup = message.get("reply_markup", {})
    return [b["text"] for row in markup.get("inline_keyboard", []) for b in row]


@dataclass
class Day:
    """What each member of staff read in one language's walk."""

    messages: dict[str, list[JSON]] = field(default_factory=dict)
    alerts: list[str] = field(default_factory=list)

    def texts(self) -> list[str]:
        shown = [shown_text(m) for ms in self.messages.values() for m in ms]
        return shown + self.alerts

    def labels(self) -> list[str]:
        return [label for ms in self.messages.values() for m in ms for label in _labels(m)]


async def _walk(app: App, botapi: BotApiServer, tom: Person, language: str) -> Day:
    await Person.filter(name__in=STAFF_NAMES).update(language=language)
    created = await app.tickets.create(
        NewTicket(
            category="technical",
            title=TITLES[language],
            channel=Channel.CHAT,
            actor=Actor.of(tom),
            building="OAK",
            unit="12",
            requester_id=tom.id,
        )
    )
    ticket = created.ticket
    ref = ticket.id
    staff = {
        "alice": TelegramUser.of(botapi, STAFF, 100001, "Alice", language),
        "dmitri": TelegramUser.of(botapi, STAFF, 100002, "Dmitri", language),
        "bob": TelegramUser.of(botapi, STAFF, 100003, "Bob", language),
    }
    before = {name: len(user.bot_messages()) for name, user in staff.items()}
    alerts_before = len(botapi.calls(STAFF, "answerCallbackQuery"))
    alice, dmitri, bob = staff["alice"], staff["dmitri"], staff["bob"]

    dmitri.send("/help")
    dmitri.send("/assign")  # usage error
    await _settle(dmitri, before["dmitri"] + 2)
    dmitri.send(f"/assign {ref} Bob Plumber")
    await _settle(dmitri, before["dmitri"] + 3)
    card = await bob.sees_where(lambda m: TITLES[language] in shown_text(m) and _labels(m))
    expected = RESPONSE_DUE[language]
    assert expected in shown_text(card), (expected, shown_text(card))
    bob.send("/help")
    bob.send("/ticket abc")  # not a number
    bob.send("/report week")  # not a technician's command
    await _settle(bob, before["bob"] + 4)
    bob.press(card, _labels(card)[0])  # accept
    await _alerts(botapi, alerts_before + 1)
    bob.send(f"/ticket {ref}")
    shown = await bob.sees(TITLES[language])
    assert expected in shown_text(shown)
    bob.press(card, _labels(card)[-1])  # done
    await _settle(bob, before["bob"] + 6)
    bob.send(NOTES[language])
    await _settle(bob, before["bob"] + 7)

    alice.send("/help")
    alice.send("/ratings")
    alice.send(f"/merge {ref} {ref}")  # a request cannot be merged into itself
    alice.send(f"/ticket {ref}")
    alice.send("/report week")
    await _settle(alice, before["alice"] + 6)  # the report is a text and a chart
    await asyncio.sleep(0.3)  # anything sent after the last answer is compared too
    return Day(
        messages={name: user.bot_messages()[before[name] :] for name, user in staff.items()},
        alerts=[
            str(c.params.get("text", ""))
            for c in botapi.calls(STAFF, "answerCallbackQuery")[alerts_before:]
        ],
    )


async def _settle(user: TelegramUser, count: int) -> None:
    """Wait until ``user``'s chat holds ``count`` bot messages."""
    for _ in range(250):
        if len(user.bot_messages()) >= count:
            return
        await asyncio.sleep(0.02)
    shown = [shown_text(m)[:60] for m in user.bot_messages()[-4:]]
    raise AssertionError(f"{user.user['first_name']} saw fewer than {count} messages: {shown}")


async def _alerts(botapi: BotApiServer, count: int) -> None:
    for _ in range(250):
        if len(botapi.calls(STAFF, "answerCallbackQuery")) >= count:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the button was not answered")


async def test_the_staff_day_in_every_language(app: App, botapi: BotApiServer) -> None:
    await load_example_directory()
    await Building.filter(code="OAK").update(timezone="Asia/Tokyo")
    tom, _ = await register_resident(5550001, "Tom", "OAK", "12")
    async with running_housedesk(app, botapi):
        days = {language: await _walk(app, botapi, tom, language) for language in TITLES}
    english = days.pop("en")
    assert len(english.texts()) >= 15, english.texts()
    english_lines = {_words(line) for text in english.texts() for line in text.splitlines()}
    english_labels = {label for label in english.labels() if _words(label)}
    untranslated = []
    for language, day in days.items():
        for persona, messages in day.messages.items():
            assert len(messages) == len(english.messages[persona]), (language, persona)
        for text in day.texts():
            for line in text.splitlines():
                words = _words(line)
                if words and words in english_lines:
                    untranslated.append(f"{language}: {line!r}")
                elif language in ("ru", "zh") and LATIN.search(words):
                    untranslated.append(f"{language}: {LATIN.findall(words)} in {line!r}")
        untranslated += [
            f"{language}: button {label!r}" for label in day.labels() if label in english_labels
        ]
    assert untranslated == [], "\n".join(untranslated)
