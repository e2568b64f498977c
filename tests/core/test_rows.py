"""core.storage.rows: the row and the instance are what ``Model.create`` would make, and
``from_row`` builds what a query builds."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

import pytest
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core.errors import InvalidInput
from core.storage.models import (
    Channel,
    EventType,
    MessageRef,
    OutboxMessage,
    Person,
    Status,
    Ticket,
    TicketEvent,
)
from core.storage.rawsql import fetch, stored_time
from core.storage.rows import from_row, insert, insert_later, insert_pair
from tests.core import factories

pytestmark = pytest.mark.usefixtures("db")

NOW = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)


async def _ticket(**values: object) -> Ticket:
    oak = await factories.building()
    technical = await factories.category()
    return await insert(
        Ticket,
        building=oak,
        category=technical,
        channel=Channel.EMAIL,
        title="Leak under the sink",
        created_at=NOW,
        updated_at=NOW,
        **values,
    )


async def test_the_row_reads_back_as_written() -> None:
    ticket = await _ticket(description="water on the floor", verified=True)
    stored = await Ticket.get(id=ticket.id).prefetch_related("building", "category")
    assert stored.title == "Leak under the sink"
    assert stored.description == "water on the floor"
    assert stored.status is Status.NEW  # the declared default
    assert stored.channel is Channel.EMAIL
    assert stored.created_at == NOW
    assert stored.building.code == "OAK"
    assert stored.category.code == "technical"
    assert stored.requester_id is None  # type: ignore[attr-defined]


async def test_the_instance_carries_its_id_values_and_related_objects() -> None:
    ticket = await _ticket()
    assert ticket.id is not None and ticket.pk == ticket.id
    assert ticket.status is Status.NEW
    assert ticket.building.code == "OAK"  # kept, as create keeps it: no query needed
    assert ticket.requester is None
    assert ticket.ref.startswith("#")
    event = await insert(
        TicketEvent,
        ticket=ticket,
        type=EventType.CREATED,
        public=True,
        data={"channel": "email"},
        at=NOW,
    )
    assert event.ticket is ticket
    assert event.data == {"channel": "email"}
    assert event.type is EventType.CREATED
    assert (await TicketEvent.get(id=event.id)).data == {"channel": "email"}


async def test_a_relation_given_by_id_is_fetched_when_asked_for() -> None:
    ticket = await _ticket()
    row = await insert(
        OutboxMessage,
        ticket_id=ticket.id,
        channel="email",
        recipient="tom@oak.example",
        payload={"subject": "hi"},
        idempotency_key="k1",
        next_attempt_at=NOW,
        created_at=NOW,
    )
    assert (await row.ticket).id == ticket.id


async def test_the_instance_saves_changes_like_any_other() -> None:
    ticket = await _ticket()
    ticket.title = "Leak fixed?"
    await ticket.save(update_fields=["title"])
    assert (await Ticket.get(id=ticket.id)).title == "Leak fixed?"


async def test_a_unique_violation_is_an_integrity_error_and_rolls_back() -> None:
    ticket = await _ticket()
    values = {
        "ticket": ticket,
        "channel": "email",
        "recipient": "tom@oak.example",
        "payload": {},
        "idempotency_key": "same",
        "next_attempt_at": NOW,
        "created_at": NOW,
    }
    await insert(OutboxMessage, **values)
    with pytest.raises(IntegrityError):
        async with in_transaction():
            await insert(OutboxMessage, **{**values, "recipient": "other@oak.example"})
    assert await OutboxMessage.filter(idempotency_key="same").count() == 1


async def test_a_row_written_later_is_committed_or_rolled_back_with_its_transaction() -> None:
    ticket = await _ticket()
    async with in_transaction():
        await insert_later(
            MessageRef, channel="email", external_id="<a@x>", ticket=ticket, created_at=NOW
        )
    with pytest.raises(RuntimeError):
        async with in_transaction():
            await insert_later(MessageRef, channel="email", external_id="<b@x>", created_at=NOW)
            raise RuntimeError("boom")
    with pytest.raises(IntegrityError):
        async with in_transaction():
            await insert_later(MessageRef, channel="email", external_id="<a@x>", created_at=NOW)
    await insert_later(MessageRef, channel="email", external_id="<c@x>", created_at=NOW)
    stored = await MessageRef.all().order_by("id")
    assert [(r.external_id, r.ticket_id) for r in stored] == [("<a@x>", ticket.id), ("<c@x>", None)]  # type: ignore[attr-defined]
    with pytest.raises(InvalidInput, match="external_id is 400 characters long"):  # checked now
        await insert_later(MessageRef, channel="email", external_id="x" * 400, created_at=NOW)


async def test_a_misspelt_field_or_an_auto_stamped_model_is_refused() -> None:
    with pytest.raises(TypeError, match="no field tittle"):
        await _ticket(tittle="typo")
    with pytest.raises(TypeError, match="auto_now"):
        await insert(Person, name="Tom")


@pytest.mark.parametrize("in_a_transaction", [False, True])
async def test_a_pair_is_a_row_and_its_child_pointing_to_it(in_a_transaction: bool) -> None:
    oak = await factories.building()
    technical = await factories.category()
    async with in_transaction() if in_a_transaction else contextlib.nullcontext():
        ticket, event = await insert_pair(
            Ticket,
            {
                "building": oak,
                "category": technical,
                "channel": Channel.CHAT,
                "title": "No heating",
                "created_at": NOW,
                "updated_at": NOW,
            },
            TicketEvent,
            {"type": EventType.CREATED, "public": True, "text": "cold", "at": NOW},
        )
    assert event.ticket is ticket
    assert ticket.building is oak
    stored = await TicketEvent.get(id=event.id).prefetch_related("ticket")
    assert stored.ticket.id == ticket.id
    assert stored.ticket.title == "No heating"
    assert stored.text == "cold"
    assert [e.id for e in await TicketEvent.filter(ticket_id=ticket.id)] == [event.id]


async def test_a_failing_pair_leaves_neither_row() -> None:
    oak = await factories.building()
    technical = await factories.category()
    values = {"category": technical, "channel": Channel.EMAIL, "title": "t", "created_at": NOW}
    with pytest.raises(IntegrityError):
        async with in_transaction():
            await insert_pair(
                Ticket,
                {**values, "building": oak, "updated_at": NOW},
                TicketEvent,
                {"type": EventType.CREATED, "at": None},  # the event's time is required
            )
    assert await Ticket.all().count() == 0


async def test_a_text_longer_than_its_column_is_refused_on_every_database() -> None:
    """SQLite would store it and PostgreSQL refuse it: both refuse it here, naming the field."""
    with pytest.raises(InvalidInput, match=r"MessageRef\.external_id is 400 characters long"):
        await insert(MessageRef, channel="email", external_id="x" * 400, created_at=NOW)
    assert await MessageRef.all().count() == 0
    fits = await insert(MessageRef, channel="email", external_id="x" * 255, created_at=NOW)
    assert (await MessageRef.get(id=fits.id)).external_id == "x" * 255


async def test_a_pair_with_a_title_too_long_writes_neither_row() -> None:
    oak = await factories.building()
    technical = await factories.category()
    with pytest.raises(InvalidInput, match=r"Ticket\.title is 301 characters long, at most 300"):
        await insert_pair(
            Ticket,
            {
                "building": oak,
                "category": technical,
                "channel": Channel.EMAIL,
                "title": "t" * 301,
                "created_at": NOW,
                "updated_at": NOW,
            },
            TicketEvent,
            {"type": EventType.CREATED, "at": NOW},
        )
    assert await Ticket.all().count() == 0 and await TicketEvent.all().count() == 0


async def test_from_row_builds_what_a_query_builds() -> None:
    ticket = await _ticket(description="water on the floor", verified=True)
    [row] = await fetch('SELECT * FROM "ticket" WHERE "id" = :id', id=ticket.id)
    built = from_row(Ticket, row)
    read = await Ticket.get(id=ticket.id)
    assert dict(built) == dict(read)
    assert built.status is Status.NEW and built.channel is Channel.EMAIL
    assert built.created_at == NOW and built.created_at.tzinfo is not None
    assert built.verified is True
    built.title = "Leak fixed?"
    await built.save(update_fields=["title"])
    assert (await Ticket.get(id=ticket.id)).title == "Leak fixed?"


@pytest.mark.parametrize(
    "stored",
    [
        "2026-12-04 21:07:09.123456+00:00",  # as tortoise writes it on SQLite
        "2026-12-04 21:07:09+00:00",
        "2026-12-04T23:07:09+02:00",
        "2026-12-04 21:07:09",  # naive: taken as UTC
        datetime(2026, 12, 4, 21, 7, 9, tzinfo=UTC),  # as asyncpg returns it
        datetime(2026, 12, 4, 22, 7, 9).astimezone(),
        None,
    ],
)
def test_a_time_column_reads_as_tortoise_reads_it(stored: str | datetime | None) -> None:
    field = Ticket._meta.fields_map["due_at"]
    mine, theirs = stored_time(stored), field.to_python_value(stored)
    assert mine == theirs
    if mine is not None:
        assert mine.utcoffset() == theirs.utcoffset() and mine.tzname() == "UTC"
