"""Everything sent to Telegram goes through the outbox: 429s and 5xx lose nothing, a blocked
chat is marked (not retried forever) and unmarked when unblocked, and work resumes after a
restart, conversations included."""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from core.actors import CLI, Actor
from core.clock import FrozenClock
from core.directory.lookup import find_staff
from core.messaging.routes import Route
from core.storage.models import Channel, Contact, ContactKind, OutboxMessage, OutboxStatus, Ticket
from core.tickets.commands import NewAttachment, NewTicket
from housedesk.bootstrap import App
from presentation.views import ticket_detail
from tests.bots.support import (
    RESIDENT,
    STAFF,
    TelegramUser,
    button_data,
    eventually,
    load_example_directory,
    running_housedesk,
    start_report,
    timeline,
)
from tests.fakes.botapi import BotApiServer
from tests.fakes.botapi_updates import my_chat_member_update
from tests.telegram.support import png

REDIS_URL = "redis://127.0.0.1:6379/15"


async def _row(ticket: Ticket) -> OutboxMessage:
    row = (
        await OutboxMessage.filter(ticket=ticket, channel=Route.RESIDENT_CHAT)
        .order_by("-id")
        .first()
    )
    assert row is not None
    return row


async def test_a_429_and_a_500_lose_no_message(
    app: App, botapi: BotApiServer, clock: FrozenClock
) -> None:
    await load_example_directory()
    async with running_housedesk(app, botapi):
        resident = TelegramUser.of(botapi, RESIDENT, 5550001, "Mina")
        await start_report(resident, "OAK")
        botapi.fail_next(RESIDENT, "sendMessage", "429", retry_after=1)
        botapi.fail_next(RESIDENT, "sendMessage", "500")
        resident.send("The lift is stuck between floors")
        ticket = await eventually(
            lambda: Ticket.get_or_none(title="The lift is stuck between floors")
        )

        await eventually(lambda: _attempts(ticket, 1), what="the 429")
        assert "Retry in 1 seconds" in (await _row(ticket)).last_error
        clock.advance(timedelta(seconds=1))
        await eventually(lambda: _attempts(ticket, 2), what="the 500")
        clock.advance(timedelta(seconds=10))  # backoff after a 2nd failure: 5-10 s
        await resident.sees(f"Your request #{ticket.id} is registered")

        # The worker records the send after Telegram answered: wait for that commit.
        row = await eventually(lambda: _sent(ticket), what="the send recorded")
        assert (row.status, row.attempts) == (OutboxStatus.SENT, 3)
        faults = [c.fault for c in botapi.calls(RESIDENT, "sendMessage")][-3:]
        assert faults == ["429", "500", None]
        acks = [m for m in resident.bot_messages() if "is registered" in str(m.get("text"))]
        assert len(acks) == 1


async def _sent(ticket: Ticket) -> OutboxMessage | None:
    row = await _row(ticket)
    return row if row.status == OutboxStatus.SENT else None


async def _attempts(ticket: Ticket, n: int) -> bool:
    row = await _row(ticket)
    return row.attempts == n and row.locked_until is None


async def test_a_blocked_chat_is_marked_not_retried_and_unmarked_on_return(
    app: App, botapi: BotApiServer
) -> None:
    await load_example_directory()
    async with running_housedesk(app, botapi):
        resident = TelegramUser.of(botapi, RESIDENT, 5550001, "Mina")
        await start_report(resident, "OAK")
        botapi.fail_next(RESIDENT, "sendMessage", "403")
        resident.send("No hot water")
        ticket = await eventually(lambda: Ticket.get_or_none(title="No hot water"))
        await eventually(lambda: _contact_blocked(True), what="the chat marked blocked")
        row = await _row(ticket)
        assert (row.status, row.attempts) == (OutboxStatus.FAILED, 1)
        detail = ticket_detail(await app.tickets.detail(ticket.id))
        assert "notification_failed" in [e["type"] for e in timeline(detail)]

        # Unblocking sends my_chat_member "member"; replies reach the resident again.
        bot_user = {"id": 710000001, "is_bot": True, "first_name": "Oak"}
        botapi.add_update(
            RESIDENT,
            my_chat_member_update(
                resident.user, resident.chat, bot_user, old_status="kicked", new_status="member"
            ),
        )
        await eventually(lambda: _contact_blocked(False), what="the chat unmarked")
        bob = await find_staff("Bob Plumber")
        await app.tickets.reply(ticket.id, Actor.of(bob), "A plumber comes at 3pm")
        await resident.sees("A plumber comes at 3pm")

        # Blocking again is noticed from the update alone, before anything fails.
        botapi.add_update(RESIDENT, my_chat_member_update(resident.user, resident.chat, bot_user))
        await eventually(lambda: _contact_blocked(True), what="the chat marked again")


async def _contact_blocked(blocked: bool) -> bool:
    contact = await Contact.get(kind=ContactKind.CHAT, value="5550001")
    return contact.blocked is blocked


@pytest.mark.parametrize("storage", ["database", "redis"])
async def test_work_resumes_after_a_restart(app: App, botapi: BotApiServer, storage: str) -> None:
    await load_example_directory()
    redis_url = await _redis_or_skip() if storage == "redis" else None
    user_id = 5550001 if storage == "database" else 5_000_000 + secrets.randbelow(10**6)
    resident = TelegramUser.of(botapi, RESIDENT, user_id, "Mina")
    async with running_housedesk(app, botapi, redis_url=redis_url):
        await start_report(resident, "OAK")  # the resident is mid-report at the deploy

    resident.send("Radiator in the bedroom is cold")  # while housedesk is down
    async with running_housedesk(app, botapi, "webhook", redis_url=redis_url):
        ticket = await eventually(
            lambda: Ticket.get_or_none(title="Radiator in the bedroom is cold")
        )
        await resident.sees(f"Your request #{ticket.id} is registered")

    bob = await find_staff("Bob Plumber")
    await app.tickets.assign(ticket.id, Actor.of(bob), bob)  # the card waits in the outbox
    technician = TelegramUser.of(botapi, STAFF, 100003, "Bob")
    async with running_housedesk(app, botapi, redis_url=redis_url):
        await technician.sees("Radiator in the bedroom is cold")


async def _redis_or_skip() -> str:
    client = Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except (OSError, RedisConnectionError) as exc:
        pytest.skip(f"Redis at {REDIS_URL} is unreachable: {exc}")
    finally:
        await client.aclose()
    return REDIS_URL


async def test_a_long_report_reaches_the_technician_whole_and_a_failed_part_is_not_repeated(
    app: App, botapi: BotApiServer, clock: FrozenClock
) -> None:
    """A 4,090-character report makes a card longer than Telegram allows: it arrives as two
    texts (buttons on the second), then the photo; the photo failing once is retried alone."""
    await load_example_directory()
    report = " ".join(f"Line {n}: water drips from the ceiling lamp." for n in range(100))[:4090]
    photo = await app.blobs.put(png(8, 6))
    async with running_housedesk(app, botapi):
        ticket = (
            await app.tickets.create(
                NewTicket(
                    category="technical",
                    title="Leak over the lamp",
                    channel=Channel.CLI,
                    actor=CLI,
                    building="OAK",
                    description=report,
                    attachments=[NewAttachment(photo.sha256, photo.size, "image/png", "lamp.png")],
                    acknowledge=False,
                )
            )
        ).ticket
        botapi.fail_next(STAFF, "sendPhoto", "500")
        await app.tickets.assign(ticket.id, CLI, await find_staff("Bob Plumber"))
        card = await OutboxMessage.get(ticket=ticket, channel=Route.STAFF_CHAT)
        await eventually(lambda: _progress(card.id, 2), what="the two texts, then the failure")
        clock.advance(timedelta(seconds=10))  # the backoff after a first failure: 2.5-5 s
        await eventually(lambda: _status(card.id, OutboxStatus.SENT), what="the retry")

        shown = botapi.messages(STAFF, int(card.recipient))
        texts = [str(m["text"]) for m in shown if "text" in m]
        assert len(texts) == 2 and all(len(t) <= 4096 for t in texts)
        assert report.split()[-1] in texts[1] and report.split()[0] in texts[0]
        assert " ".join(" ".join(texts).split()).count(" ".join(report.split())) == 1
        assert ["reply_markup" in m for m in shown] == [False, True, False]
        assert button_data(shown[1], "Accept") == f"tk:accept:{ticket.id}"
        assert "photo" in shown[2]
        assert [c.fault for c in botapi.calls(STAFF, "sendPhoto")] == ["500", None]


async def _progress(row_id: int, parts: int) -> bool:
    row = await OutboxMessage.get(id=row_id)
    return row.progress == parts and row.attempts == 1 and row.locked_until is None


async def _status(row_id: int, status: OutboxStatus) -> bool:
    return (await OutboxMessage.get(id=row_id)).status == status
