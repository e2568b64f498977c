"""The whole outage: while hot water is off in Oak Court, 100 residents report it within a
minute through Telegram, email and voicemail. Staff see one card for the incident, a few
residents who meant something else get tickets, everyone else is linked and got the
incident's text; resolving reaches each linked resident exactly once, and "still not
working" reopens one person's link as a ticket."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from email.message import EmailMessage

import pytest

from core.clock import FrozenClock
from core.directory.residents import register_resident
from core.messaging.message import OutgoingMessage
from core.storage.models import (
    Contact,
    ContactKind,
    IncidentLink,
    LinkStatus,
    OutboxMessage,
    Person,
    Role,
    Ticket,
    Unit,
)
from housedesk.bootstrap import App, bootstrap
from housedesk.settings.config import Settings
from intake.speech.transcriber import Transcript
from intake.voicemail.filing import FilingSettings, VoicemailFiler
from intake.voicemail.item import VoicemailItem
from tests.bots.support import (
    RESIDENT,
    STAFF,
    TelegramUser,
    eventually,
    load_example_directory,
    running_housedesk,
    shown_text,
)
from tests.fakes.botapi import BotApiServer

TELEGRAM, MAIL, VOICEMAIL = 69, 20, 10
SOMETHING_ELSE = 4
"""Telegram residents who say their problem is another one (each gets a ticket); one more,
Mina, chooses a topic from the menu first."""
MINA = 7_500_000
OAK_PHONE = "+44 20 7946 0101"
ALICE = 100001  # Alice Manager's Telegram id in the example directory
BOB = 100003  # Bob Plumber, the technician the incident's ticket is routed to


class SaysNoHotWater:
    """The speech service, for voicemails that all say the same."""

    async def transcribe(self, audio: bytes, language: str, filename: str) -> Transcript:
        return Transcript("there is no hot water again", 0.9, 3.0, language, "stub")


@pytest.fixture
def routed_app(db: str, settings: Settings, clock: FrozenClock) -> App:
    """Routing on (the incident's ticket becomes a technician's card); every From: believed."""
    operations = settings.operations.model_copy(update={"routing_enabled": True})
    email = settings.email.model_copy(update={"authentication": "none"})
    return bootstrap(
        settings.model_copy(update={"operations": operations, "email": email}), clock=clock
    )


def _mail(n: int) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Mailer {n} <mailer{n}@tenant.example>"
    msg["To"] = "help@oak.example"
    msg["Subject"] = "No hot water"
    msg["Message-ID"] = f"<outage-{n}@tenant.example>"
    msg["Date"] = "Wed, 25 Nov 2026 09:00:00 +0000"
    msg.set_content("There has been no hot water in my flat since this morning.")
    return msg.as_bytes()


async def _residents() -> tuple[list[int], list[Person], list[Person]]:
    """Telegram chat ids, mail residents and voicemail callers (who also use the bot), all
    in Oak Court's flats."""
    flats = [u.number for u in await Unit.filter(building__code="OAK").order_by("id")]
    chats = [7_000_000 + n for n in range(TELEGRAM)]
    for n, chat in enumerate(chats):
        await register_resident(chat, f"Chat {n}", "OAK", flats[n % len(flats)])
    await register_resident(MINA, "Mina", "OAK", "40")
    mailers, callers = [], []
    for n in range(MAIL):
        person, _ = await register_resident(8_000_000 + n, f"Mailer {n}", "OAK", flats[n])
        await Contact.filter(person=person).delete()  # reachable by mail only
        await Contact.create(
            person=person, kind=ContactKind.EMAIL, value=f"mailer{n}@tenant.example"
        )
        mailers.append(person)
    for n in range(VOICEMAIL):
        person, _ = await register_resident(9_000_000 + n, f"Caller {n}", "OAK", flats[n])
        await Contact.create(person=person, kind=ContactKind.PHONE, value=f"+4477009{n:05d}")
        callers.append(person)
    return chats, mailers, callers


def _card_of(botapi: BotApiServer, chat: int) -> str:
    """The incident's card in a staff chat, as it reads now."""
    texts = [shown_text(m) for m in botapi.messages(STAFF, chat)]
    return next(t for t in texts if "I1: Hot water is off" in t)


def _fixed(messages: list[dict]) -> list[dict]:
    return [m for m in messages if shown_text(m).startswith("Fixed: ")]


async def test_a_hundred_reports_of_one_outage(
    routed_app: App, botapi: BotApiServer, clock: FrozenClock
) -> None:
    app = routed_app
    await load_example_directory()
    chats, _mailers, callers = await _residents()
    voicemail = VoicemailFiler(
        app.tickets,
        app.blobs,
        SaysNoHotWater(),  # type: ignore[arg-type]
        FilingSettings(),
        categorize=app.operations.classifier.categorize,
        incidents=app.incidents,
    )
    async with running_housedesk(app, botapi):
        alice = TelegramUser.of(botapi, STAFF, ALICE, "Alice")
        alice.send(
            "/incident open OAK technical 14:00 #water Hot water is off; the plumber is on site."
        )
        await alice.sees("I1 opened")
        [incident_ticket] = await Ticket.all()
        assert incident_ticket.title == "I1: Hot water is off; the plumber is on site."

        people = [TelegramUser.of(botapi, RESIDENT, chat, f"Chat {chat}") for chat in chats]
        for person in people:
            person.send("No hot water!")
        for n in range(MAIL):
            assert (await app.mail_gateway(_mail(n))).note == "linked to incident I1"
        for n in range(len(callers)):
            caller_phone = f"+4477009{n:05d}"
            item = VoicemailItem(
                b"RIFF", "vm.wav", "audio/wav", caller_phone, OAK_PHONE, "http", f"vm-{n}"
            )
            assert (await voicemail(item)).note == "linked to incident I1"

        notices = await asyncio.gather(*(p.sees("Hot water is off", timeout=30) for p in people))
        for n, (person, notice) in enumerate(zip(people, notices, strict=True)):
            assert "Expected back by 25 Nov, 14:00" in shown_text(notice)
            person.press(notice, "Something else" if n < SOMETHING_ELSE else "my problem too")
        others = people[:SOMETHING_ELSE]
        menus = await asyncio.gather(*(p.sees("What is it about?", timeout=30) for p in others))
        for person, menu in zip(others, menus, strict=True):
            person.press(menu, "Technical")
        await asyncio.gather(*(p.sees("is registered", timeout=30) for p in others))

        mina = TelegramUser.of(botapi, RESIDENT, MINA, "Mina")  # starts a report from the menu
        mina.send("/menu")
        mina.press(await mina.sees("How can we help?"), "Technical")
        mina.press(await mina.sees("Hot water is off"), "Something else")
        await mina.sees("Describe the problem")
        mina.send("The lift is stuck on floor 3")
        await mina.sees("is registered: The lift is stuck on floor 3", timeout=15)

        joined = people[SOMETHING_ELSE:]
        await eventually(
            lambda: IncidentLink.filter(status=LinkStatus.LINKED).count(),
            timeout=30,
        )
        await eventually(
            lambda: all(
                "is linked to this outage" in shown_text(p.bot_messages()[-1]) for p in joined
            ),
            timeout=30,
            what="every joined resident's notice confirms the link",
        )
        assert await IncidentLink.filter(status=LinkStatus.LINKED).count() == 95
        assert await Ticket.all().count() == 2 + SOMETHING_ELSE  # the incident's and the others'

        caller_chats = [
            TelegramUser.of(botapi, RESIDENT, 9_000_000 + n, f"C{n}") for n in range(VOICEMAIL)
        ]
        await asyncio.gather(*(c.sees("Your report is linked", timeout=30) for c in caller_chats))
        mail_rows = await OutboxMessage.filter(channel="email").order_by("id")
        mailed = {r.recipient: OutgoingMessage.from_payload(r.payload) for r in mail_rows}
        assert sorted(mailed) == sorted(f"mailer{n}@tenant.example" for n in range(MAIL))
        assert all(m.text.startswith("⚠️ Hot water is off") and m.answers for m in mailed.values())

        # staff: one card for the incident, however many reported it
        bob = TelegramUser.of(botapi, STAFF, BOB, "Bob")
        await bob.sees("I1: Hot water is off")
        staff_chats = await Contact.filter(
            kind=ContactKind.CHAT, person__role__not=Role.RESIDENT
        ).values_list("value", flat=True)
        staff_texts = [
            shown_text(m) for chat in staff_chats for m in botapi.messages(STAFF, int(chat))
        ]
        assert sum("I1: Hot water is off" in t for t in staff_texts) == 1

        # the card says how many it affects, kept current by a few edits, not new messages
        clock.advance(timedelta(minutes=1))  # edits of one card are 30 s apart
        await eventually(
            lambda: _card_of(botapi, BOB).endswith("👥 95 residents affected"),
            timeout=30,
            what="Bob's card counting everyone linked",
        )
        edits = [c for c in botapi.calls(STAFF, "editMessageText") if c.params["chat_id"] == BOB]
        assert 1 <= len(edits) <= 4

        alice.send("/incident")
        listed = await alice.sees("I1 · OAK · Hot water is off")
        assert "95 reports (chat 65, email 20, voicemail 10)" in shown_text(listed)
        alice.send("/incident resolve I1")
        await alice.sees("I1 resolved; 95 residents told.")
        alice.press(listed, "Resolve I1")  # the list is stale now: nothing changes
        await eventually(
            lambda: any(
                call.params.get("text") == "I1 is already resolved."
                for call in botapi.calls(STAFF, "answerCallbackQuery")
            ),
            what="the stale button's refusal",
        )
        await asyncio.gather(
            *(p.sees("Fixed: Hot water is off", timeout=30) for p in [*joined, *caller_chats])
        )
        await asyncio.sleep(0.3)  # nothing more arrives
        assert all(len(_fixed(p.bot_messages())) == 1 for p in [*joined, *caller_chats])
        assert all(_fixed(p.bot_messages()) == [] for p in [*others, mina])
        mail_texts = [
            OutgoingMessage.from_payload(r.payload).text
            for r in await OutboxMessage.filter(channel="email")
        ]
        assert sum(t.startswith("Fixed: ") for t in mail_texts) == MAIL

        # one resident says it still does not work: their own link becomes a ticket
        last = joined[-1]
        last.press(_fixed(last.bot_messages())[0], "Still not working")
        await last.sees("is registered", timeout=15)
        assert await Ticket.all().count() == 3 + SOMETHING_ELSE
        assert await IncidentLink.filter(status=LinkStatus.REOPENED).count() == 1
