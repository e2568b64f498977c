"""What routing, corrections and delivery wrote on a ticket's timeline reads in the reader's
language: Dmitri (Russian) and Alice (Polish) look the request up with /ticket, Dmitri opens it
on the desk. Rows written before these words were codes still show their English text."""

from __future__ import annotations

import asyncio
import re
from datetime import date

from aiohttp.test_utils import TestClient, TestServer

from core.actors import Actor
from core.directory.desk_sessions import open_session
from core.storage.models import (
    Absence,
    Channel,
    ContactKind,
    EventType,
    OutboxMessage,
    OutboxStatus,
    Person,
    Ticket,
    TicketEvent,
)
from core.tickets.commands import NewTicket, RequesterHint
from housedesk.bootstrap import App
from housedesk.channels.http import build_http_app
from intake.voicemail.filing import UNTRANSCRIBED
from tests.bots.support import (
    STAFF,
    TelegramUser,
    eventually,
    load_example_directory,
    running_housedesk,
    shown_text,
)
from tests.conftest import START
from tests.core.ops_world import routed
from tests.fakes.botapi import BotApiServer

STRANGER = "stranger@example.org"
ENGLISH = (
    "Left in the dispatchers' queue",
    "the building is not known",
    "from keywords",
    "Corrected",
    "building: OAK",
    "Could not deliver",
    "routing",
)
"""What the same rows say in English."""
LATIN = re.compile(r"[A-Za-z]{3,}")


async def _history(user: TelegramUser, ref: int, heading: str) -> list[str]:
    """The rows of the history /ticket shows ``user``."""
    user.send(f"/ticket {ref}")
    shown = shown_text(await user.sees(heading))
    return shown.split(heading, 1)[1].strip().splitlines()


async def test_staff_read_the_timeline_in_their_language(app: App, botapi: BotApiServer) -> None:
    await load_example_directory()
    await Person.filter(name="Alice Manager").update(language="pl")
    routed(app.tickets)
    created = await app.tickets.create(
        NewTicket(
            category="technical",
            title="Flood in the kitchen",
            description="A burst pipe under the sink",
            channel=Channel.EMAIL,
            actor=Actor(label=STRANGER),
            requester=RequesterHint(ContactKind.EMAIL, STRANGER),
        )
    )
    ref = created.ticket.id
    alice = await Person.get(name="Alice Manager")
    await app.tickets.edit(ref, Actor.of(alice), building="OAK", unit="12")
    old = await app.tickets.record(ref, Actor.system("routing"), EventType.ROUTING, "Old words")
    bob = await Person.get(name="Bob Plumber")
    await app.tickets.assign(ref, Actor.of(alice), bob)
    cards = await OutboxMessage.filter(channel="staff_chat", status=OutboxStatus.PENDING)
    assert "100003" in {c.recipient for c in cards}  # Bob's card is among them
    botapi.add_bot(STAFF, username="oak_staff_bot")
    botapi.fail_next(STAFF, "sendMessage", "403", count=len(cards))  # each is refused
    async with running_housedesk(app, botapi):
        await eventually(
            lambda: TicketEvent.filter(ticket_id=ref, type=EventType.NOTIFICATION_FAILED).exists(),
            what="the card to Bob failed",
        )
        await asyncio.sleep(0.1)
        assert {c.status for c in await OutboxMessage.filter(id__in=[c.id for c in cards])} == {
            OutboxStatus.FAILED
        }
        dmitri = TelegramUser.of(botapi, STAFF, 100002, "Dmitri", "ru")
        russian = await _history(dmitri, ref, "История:")
        alice_chat = TelegramUser.of(botapi, STAFF, 100001, "Alice", "pl")
        polish = await _history(alice_chat, ref, "Historia:")

    said = "\n".join(russian)
    for words in (
        "Автоматическое распределение: Категория emergency по ключевым словам: flood, burst pipe",
        "Автоматическое распределение: Оставлена в очереди диспетчеров: дом неизвестен",
        "Alice Manager: Исправлено: дом: OAK, квартира: 12",
        "Не удалось доставить сообщение через бот для сотрудников получателю 100003",
        "Автоматическое распределение: Old words",  # written before: its text as it was
    ):
        assert words in said, (words, said)
    for words in ENGLISH:
        assert words not in said, (words, said)
    for line in russian[1:]:  # the first is the mail itself, in its sender's words
        rest = re.sub(r"emergency|flood|burst pipe|Alice Manager|OAK|Old words", "", line)
        rest = rest.split(" получателю ")[0]  # a chat id and Telegram's words for the refusal
        assert not LATIN.search(rest), line

    written = "\n".join(polish)
    for words in (
        "Automatyczny przydział: Pozostaje w kolejce dyspozytorów: budynek nie jest znany",
        "Alice Manager: Poprawiono: budynek: OAK, mieszkanie: 12",
        "Nie udało się dostarczyć wiadomości przez bota dla personelu do 100003",
    ):
        assert words in written, (words, written)

    await Ticket.filter(id=ref).update(needs_attention=f"{UNTRANSCRIBED}\nno model")  # as voicemail
    first, last = date(2026, 11, 20), date(2026, 11, 30)
    await Absence.create(person=bob, kind="vacation", starts=first, ends=last)
    signed = await open_session(await Person.get(name="Dmitri Dispatcher"), "link", START)
    async with TestClient(TestServer(build_http_app(app))) as client:
        client.session.cookie_jar.update_cookies({"housedesk_desk": signed.token})
        page = await (await client.get(f"/desk/tickets/{ref}")).text()
    for words in (
        "Оставлена в очереди диспетчеров: дом неизвестен",
        "Исправлено: дом: OAK, квартира: 12",
        "Категория emergency по ключевым словам: flood, burst pipe",
        "Расшифровки нет: прослушайте запись.\nno model",
        "Bob Plumber · 1 открытая заявка · отсутствует до 30 нояб.",
    ):
        assert words in page, words
    assert "Left in the dispatchers" not in page and old.text in page
