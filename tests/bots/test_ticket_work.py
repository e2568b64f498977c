"""The core pieces the bots lean on: staff groups, who may accept, decline, postpone, rate
and reopen, and messages taken in once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bots.telegram_render import render
from core.actors import CLI, Actor
from core.directory.lookup import find_staff
from core.directory.residents import register_resident
from core.errors import AccessDenied, InvalidInput, InvalidTransition
from core.messaging.message import OutgoingMessage
from core.messaging.notifications import work_chat_of
from core.storage.models import (
    Attachment,
    Building,
    Channel,
    OutboxMessage,
    Person,
    StaffChat,
    Status,
)
from core.tickets.commands import InboundRef, NewAttachment, NewTicket
from housedesk.bootstrap import App
from tests.bots.support import load_example_directory

PHOTO = "image/jpeg"


async def test_the_staff_group_is_the_most_specific(app: App) -> None:
    await load_example_directory()
    ticket = (
        await app.tickets.create(
            NewTicket(
                category="emergency", title="Leak", channel=Channel.CLI, actor=CLI, building="OAK"
            )
        )
    ).ticket
    assert await work_chat_of(ticket) is None
    oak = await Building.get(code="OAK")
    await StaffChat.create(chat_id=-1, title="Everyone at Oak", building=oak)
    await StaffChat.create(chat_id=-2, title="Plumbers anywhere", trade="plumbing")
    await StaffChat.create(chat_id=-3, title="Oak plumbers", building=oak, trade="plumbing")
    await StaffChat.create(chat_id=-4, title="Oak electricians", building=oak, trade="electrical")
    assert (await work_chat_of(ticket)).title == "Oak plumbers"  # type: ignore[union-attr]
    await StaffChat.filter(chat_id=-3).delete()
    assert (await work_chat_of(ticket)).title == "Plumbers anywhere"  # type: ignore[union-attr]
    await StaffChat.filter(chat_id=-2).delete()
    assert (await work_chat_of(ticket)).title == "Everyone at Oak"  # type: ignore[union-attr]


async def _world(app: App) -> tuple[int, Person, Person, Person]:
    await load_example_directory()
    tom, _ = await register_resident(5550001, "Tom", "OAK", "12")
    result = await app.tickets.create(
        NewTicket(
            category="technical",
            title="Door",
            channel=Channel.CHAT,
            actor=Actor.of(tom),
            building="OAK",
            unit="12",
            requester_id=tom.id,
        )
    )
    return result.ticket.id, tom, await find_staff("Bob Plumber"), await find_staff("Olga Electric")


async def test_accept_decline_and_postpone_belong_to_the_assignee(app: App) -> None:
    ticket_id, tom, bob, olga = await _world(app)
    await app.tickets.assign(ticket_id, CLI, bob)
    with pytest.raises(AccessDenied, match="assigned to Bob Plumber"):
        await app.tickets.accept(ticket_id, Actor.of(olga))
    with pytest.raises(AccessDenied):
        await app.tickets.accept(ticket_id, Actor.of(tom))
    await app.tickets.accept(ticket_id, Actor.of(olga), take_over=True)  # a group card
    ticket = await app.tickets.get(ticket_id)
    assert (ticket.assignee.name, ticket.status) == ("Olga Electric", Status.IN_PROGRESS)  # type: ignore[union-attr]
    with pytest.raises(InvalidInput, match="already yours"):
        await app.tickets.accept(ticket_id, Actor.of(olga))
    with pytest.raises(AccessDenied, match="not assigned to you"):
        await app.tickets.decline(ticket_id, Actor.of(bob), "busy")
    with pytest.raises(InvalidInput, match="future"):
        await app.tickets.postpone(ticket_id, Actor.of(olga), app.clock.now())
    later = app.clock.now() + timedelta(days=1)
    await app.tickets.postpone(ticket_id, Actor.of(olga), later)
    await app.tickets.postpone(ticket_id, Actor.of(olga), later + timedelta(hours=1))  # again
    await app.tickets.decline(ticket_id, Actor.of(olga), "Needs a plumber")
    ticket = await app.tickets.get(ticket_id)
    assert (ticket.assignee, ticket.status) == (None, Status.ON_HOLD)
    told = (
        await OutboxMessage.filter(ticket_id=ticket_id, recipient="100001").order_by("-id").first()
    )
    assert told is not None and "declined by Olga Electric: Needs a plumber" in str(
        told.payload["text"]
    )


async def test_residents_rate_and_reopen_only_their_own_finished_requests(app: App) -> None:
    ticket_id, tom, bob, _ = await _world(app)
    ann, _ = await register_resident(5550002, "Ann", "OAK", "13")
    with pytest.raises(AccessDenied):
        await app.tickets.change_status(ticket_id, Actor.of(tom), Status.DONE)
    await app.tickets.assign(ticket_id, CLI, bob)
    await app.tickets.change_status(ticket_id, Actor.of(bob), Status.DONE, note="Fixed")
    done = (
        await OutboxMessage.filter(ticket_id=ticket_id, recipient="5550001").order_by("-id").first()
    )
    assert done is not None
    [shown] = render(OutgoingMessage.from_payload(done.payload))
    assert shown.keyboard is not None and shown.text.startswith("Your request")
    rows = shown.keyboard["inline_keyboard"]
    assert [b["callback_data"] for b in rows[0]] == [
        f"rs:rate:{ticket_id}:{n}" for n in range(1, 6)
    ]
    with pytest.raises(AccessDenied):
        await app.tickets.rate(ticket_id, Actor.of(ann), 1)
    with pytest.raises(AccessDenied):
        await app.tickets.change_status(ticket_id, Actor.of(ann), Status.REOPENED)
    await app.tickets.rate(ticket_id, Actor.of(tom), 4)
    told = (
        await OutboxMessage.filter(ticket_id=ticket_id, recipient="100003").order_by("-id").first()
    )
    assert told is not None and "rated the work 4 of 5" in str(told.payload["text"])
    await app.tickets.change_status(ticket_id, Actor.of(tom), Status.REOPENED)
    with pytest.raises(InvalidTransition):
        await app.tickets.change_status(ticket_id, Actor.of(tom), Status.REOPENED)


async def test_messages_are_taken_in_once(app: App) -> None:
    ticket_id, tom, _, _ = await _world(app)
    first = InboundRef("resident_chat", "5550001:41")
    report = NewTicket(
        category="technical",
        title="Mould",
        channel=Channel.CHAT,
        actor=Actor.of(tom),
        building="OAK",
        unit="12",
        requester_id=tom.id,
        inbound=InboundRef("resident_chat", "report:5550001:2026-11-25T09:00"),
    )
    created = await app.tickets.create(report, also_seen=[first])
    again = await app.tickets.create(report, also_seen=[InboundRef("resident_chat", "x:1")])
    assert created.created and not again.created and again.ticket.id == created.ticket.id
    assert await app.tickets.reply(created.ticket.id, Actor.of(tom), "Mould", inbound=first) is None
    photo = NewAttachment("b" * 64, 3, PHOTO, "p.jpg")
    second = InboundRef("resident_chat", "5550001:42")
    assert await app.tickets.reply(
        created.ticket.id, Actor.of(tom), "", attachments=[photo], inbound=second
    )
    assert (
        await app.tickets.reply(
            created.ticket.id, Actor.of(tom), "", attachments=[photo], inbound=second
        )
        is None
    )
    assert await Attachment.filter(ticket_id=created.ticket.id).count() == 1
    assert ticket_id != created.ticket.id
