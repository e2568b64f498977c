"""The core pieces the bots lean on: Telegram payloads for files and buttons, staff groups,
who may accept, decline, postpone, rate and reopen, and messages taken in once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

import pytest

from core.actors import CLI, Actor
from core.directory.lookup import find_staff
from core.directory.residents import register_resident
from core.errors import AccessDenied, InvalidInput, InvalidTransition
from core.messaging.notifications import telegram_payloads, work_chat_of
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


def _files(*types: str) -> list[Attachment]:
    return [
        Attachment(sha256=f"{n:064x}", size=1, content_type=t, original_name=f"f{n}")
        for n, t in enumerate(types)
    ]


def test_payloads_put_text_buttons_and_files_where_telegram_allows() -> None:
    buttons = [[{"text": "Accept", "callback_data": "tk:accept:1"}]]
    [single] = telegram_payloads("Card", _files(PHOTO), buttons)
    assert (single["method"], single["caption"], single["reply_markup"]["inline_keyboard"]) == (
        "sendPhoto",
        "Card",
        buttons,
    )
    card, album = telegram_payloads("Card", _files(PHOTO, PHOTO), buttons)
    assert (card["method"], card["reply_markup"]["inline_keyboard"]) == ("sendMessage", buttons)
    assert album["method"] == "sendMediaGroup" and "caption" not in album
    [captioned] = telegram_payloads("Two photos", _files(PHOTO, PHOTO))
    assert (captioned["method"], captioned["caption"]) == ("sendMediaGroup", "Two photos")
    text, photo = telegram_payloads("x" * 1025, _files(PHOTO))
    assert (text["method"], photo["method"], "caption" in photo) == (
        "sendMessage",
        "sendPhoto",
        False,
    )
    photos, documents = telegram_payloads("Mixed", _files(PHOTO, "application/pdf", "image/heic"))
    assert [f["content_type"] for f in photos["files"]] == [PHOTO]
    assert photos["method"] == "sendPhoto" and photos["caption"] == "Mixed"
    assert documents["method"] == "sendMediaGroup" and len(documents["files"]) == 2
    eleven = telegram_payloads("Many", _files(*[PHOTO] * 11))
    assert [len(p.get("files", [])) for p in eleven] == [0, 10, 1]


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
    rows = cast(dict[str, Any], done.payload["reply_markup"])["inline_keyboard"]
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
    first = InboundRef("telegram_resident", "5550001:41")
    report = NewTicket(
        category="technical",
        title="Mould",
        channel=Channel.CHAT,
        actor=Actor.of(tom),
        building="OAK",
        unit="12",
        requester_id=tom.id,
        inbound=InboundRef("telegram_resident", "report:5550001:2026-11-25T09:00"),
    )
    created = await app.tickets.create(report, also_seen=[first])
    again = await app.tickets.create(report, also_seen=[InboundRef("telegram_resident", "x:1")])
    assert created.created and not again.created and again.ticket.id == created.ticket.id
    assert await app.tickets.reply(created.ticket.id, Actor.of(tom), "Mould", inbound=first) is None
    photo = NewAttachment("b" * 64, 3, PHOTO, "p.jpg")
    second = InboundRef("telegram_resident", "5550001:42")
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
