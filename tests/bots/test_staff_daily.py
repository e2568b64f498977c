"""The staff bot in daily use (issue #15): stale or foreign actions are refused with their
reason and change nothing, staff commands stay out of other groups, times are the
building's, help and menus follow the role, postponing reads like people talk, and managers
correct and merge tickets."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

from bots.staff.cards import example_moment, postpone_target
from core.actors import CLI, Actor
from core.directory.lookup import find_staff
from core.directory.residents import register_resident
from core.storage.models import (
    Building,
    Channel,
    ContactKind,
    EventType,
    OutboxMessage,
    Person,
    Role,
    Status,
    Ticket,
    TicketEvent,
    Unit,
)
from core.tickets.commands import NewTicket, RequesterHint
from housedesk.bootstrap import App
from housedesk.cli.main import build_parser
from tests.bots.support import (
    STAFF,
    TelegramUser,
    eventually,
    load_example_directory,
    running_housedesk,
    shown_text,
)
from tests.fakes.botapi import BotApiServer
from tests.fakes.botapi_updates import group_chat

TOKYO = ZoneInfo("Asia/Tokyo")


async def _ticket(app: App, title: str, resident: Person, *, category: str = "technical") -> int:
    result = await app.tickets.create(
        NewTicket(
            category=category,
            title=title,
            channel=Channel.CHAT,
            actor=Actor.of(resident),
            building="OAK",
            unit="12",
            requester_id=resident.id,
        )
    )
    return result.ticket.id


async def _state(app: App, ticket_id: int) -> tuple[object, ...]:
    """What a refused action must leave as it was: the ticket, its timeline, the ratings."""
    ticket = await app.tickets.get(ticket_id)
    events = (
        await TicketEvent.filter(ticket_id=ticket_id)
        .exclude(type__in=[EventType.NOTIFICATION_SENT, EventType.NOTIFICATION_FAILED])
        .count()
    )
    ratings = await app.operations.reports.ratings("month")
    assignee = ticket.assignee.name if ticket.assignee else None
    return ticket.status, assignee, ticket.rating, ticket.version, events, ratings


async def _alert(botapi: BotApiServer, count: int) -> str:
    """The text of the ``count``-th button answer of the staff bot."""
    calls = await eventually(
        lambda: (
            len(botapi.calls(STAFF, "answerCallbackQuery")) >= count
            and botapi.calls(STAFF, "answerCallbackQuery")
        )
    )
    return str(calls[count - 1].params.get("text", ""))


async def test_stale_and_foreign_actions_are_refused_and_change_nothing(
    app: App, botapi: BotApiServer
) -> None:
    await load_example_directory()
    tom, _ = await register_resident(5550001, "Tom", "OAK", "12")
    bob_person, olga_person = await find_staff("Bob Plumber"), await find_staff("Olga Electric")
    finished = await _ticket(app, "Dripping tap", tom)
    declined = await _ticket(app, "Loose handrail", tom)
    bobs = await _ticket(app, "Cold radiator", tom)
    moved = await _ticket(app, "Broken window", tom)
    async with running_housedesk(app, botapi):
        bob = TelegramUser.of(botapi, STAFF, 100003, "Bob")
        olga = TelegramUser.of(botapi, STAFF, 100005, "Olga", "ru")
        ivan = TelegramUser.of(botapi, STAFF, 100004, "Ivan", "ru")

        # Decline on the card of work that is done and rated 4 stars.
        await app.tickets.assign(finished, CLI, bob_person)
        card = await bob.sees("Dripping tap")
        await app.tickets.accept(finished, Actor.of(bob_person))
        await app.tickets.change_status(finished, Actor.of(bob_person), Status.DONE)
        await app.tickets.rate(finished, Actor.of(tom), 4)
        before = await _state(app, finished)
        bob.press_data(card, f"tk:decline:{finished}")
        assert await _alert(botapi, 1) == f"#{finished} is already done."
        assert await _state(app, finished) == before
        assert before[-1] and before[-1][0]["rated"] == 1  # type: ignore[index]

        # Accept after a decline.
        await app.tickets.assign(declined, CLI, bob_person)
        card = await bob.sees("Loose handrail")
        await app.tickets.decline(declined, Actor.of(bob_person), "Not my trade")
        before = await _state(app, declined)
        bob.press_data(card, f"tk:accept:{declined}")
        assert await _alert(botapi, 2) == f"You declined #{declined}; it waits for a new assignee."
        assert await _state(app, declined) == before

        # Done by a colleague who is not the assignee (Olga reads Russian).
        await app.tickets.assign(bobs, CLI, bob_person)
        await app.tickets.accept(bobs, Actor.of(bob_person))
        before = await _state(app, bobs)
        olga.press_data(olga.send("/mine"), f"tk:done:{bobs}")
        assert await _alert(botapi, 3) == f"Заявка #{bobs} теперь назначена другому сотруднику."
        assert await _state(app, bobs) == before

        # A note from a technician of another building.
        ivan.send(f"/note {bobs} Looked at it")
        refused = shown_text(await ivan.sees("не относится"))
        assert refused == f"Заявка #{bobs} не относится к вашим домам."
        assert await _state(app, bobs) == before

        # A reply to an old card after the work was given to someone else.
        await app.tickets.assign(moved, CLI, bob_person)
        card = await bob.sees("Broken window")
        await app.tickets.assign(moved, CLI, olga_person)
        await bob.sees(f"#{moved} has moved on to Olga Electric; you need not act on it.")
        before = await _state(app, moved)
        bob.send("I can come at five", reply_to_message_id=card["message_id"])
        refused = shown_text(await bob.sees("someone else"))
        assert refused == f"#{moved} is now assigned to someone else."
        assert await _state(app, moved) == before

    to_tom = await OutboxMessage.filter(recipient="5550001").values_list("payload", flat=True)
    assert not [p for p in to_tom if "five" in json.dumps(p)]
    said = " ".join(shown_text(m) for m in ivan.bot_messages())
    assert "Looked at it" not in said and "\n" not in said


async def test_staff_commands_say_nothing_useful_in_a_foreign_group(
    app: App, botapi: BotApiServer
) -> None:
    await load_example_directory()
    tom, _ = await register_resident(5550001, "Tom", "OAK", "12")
    ticket_id = await _ticket(app, "Water through the ceiling", tom)
    group = group_chat(-1009998887776, "Friends of Oak Court")
    async with running_housedesk(app, botapi):
        alice = TelegramUser.of(botapi, STAFF, 100001, "Alice", chat=group)
        alice.send(f"/ticket {ticket_id}")
        await alice.sees("This group is not a staff group; write to me in a private chat.")
        alice.send("/open")
        await alice.sees("This group is not a staff group")
        alice.send("good morning everyone")
        alice.press_data(alice.send("a message to press under"), f"tk:accept:{ticket_id}")
        assert "not a staff group" in await _alert(botapi, 1)

    said = [shown_text(m) for m in alice.bot_messages()]
    assert len(said) == 2 and not [s for s in said if "Water" in s or "Tom" in s]
    assert (await app.tickets.get(ticket_id)).assignee is None


async def test_a_tokyo_card_shows_tokyo_time_in_the_readers_language_and_both_deadlines(
    app: App, botapi: BotApiServer
) -> None:
    await load_example_directory()
    tokyo = await Building.create(
        code="TKY", name="Sakura Heights", timezone="Asia/Tokyo", language="en"
    )
    await Unit.create(building=tokyo, number="3")
    created = await app.tickets.create(
        NewTicket(
            category="emergency",
            title="Burst pipe",
            channel=Channel.CLI,
            actor=CLI,
            building="TKY",
            unit="3",
        )
    )
    ticket_id = created.ticket.id
    start = app.clock.now()  # 09:00 UTC is 18:00 in Tokyo

    def shown(minutes: int, lang: str) -> str:
        moment = start + timedelta(minutes=minutes)
        return format_datetime(moment, "d MMM, HH:mm", tzinfo=TOKYO, locale=lang)

    async with running_housedesk(app, botapi):
        olga = TelegramUser.of(botapi, STAFF, 100005, "Olga", "ru")
        alice = TelegramUser.of(botapi, STAFF, 100001, "Alice")
        await app.tickets.assign(ticket_id, CLI, await find_staff("Olga Electric"))
        card = shown_text(await olga.sees("Burst pipe"))
        alice.send(f"/ticket {ticket_id}")
        detail = shown_text(await alice.sees("Burst pipe"))

    assert f"Отреагировать до: {shown(30, 'ru')}" in card and "18:30" in card
    assert f"Выполнить до: {shown(4320, 'ru')}" in card and "28" in card
    assert "UTC" not in card
    assert "Respond by: 25 Nov, 18:30" in detail
    assert "Resolve by: 28 Nov, 18:00" in detail


async def test_help_and_command_menus_follow_the_role(app: App, botapi: BotApiServer) -> None:
    await load_example_directory()

    def menu(chat_id: int) -> dict[str, str]:
        scope = {"type": "chat", "chat_id": chat_id}
        return {c["command"]: c["description"] for c in botapi.commands(STAFF, scope=scope)}

    async with running_housedesk(app, botapi):
        bob = TelegramUser.of(botapi, STAFF, 100003, "Bob")
        alice = TelegramUser.of(botapi, STAFF, 100001, "Alice")
        dmitri = TelegramUser.of(botapi, STAFF, 100002, "Dmitri", "ru")
        bob.send("/help")
        technician = shown_text(await bob.sees("/mine"))
        alice.send("/start")
        manager = shown_text(await alice.sees("/mine"))
        dmitri.send("/help")
        dispatcher = shown_text(await dmitri.sees("/mine"))

        # Olga becomes a dispatcher in the directory and chooses English: her menu follows.
        olga = TelegramUser.of(botapi, STAFF, 100005, "Olga", "ru")
        olga.send("/mine")
        await olga.sees("")
        await eventually(lambda: "mine" in menu(100005), what="Olga's first menu")
        assert "assign" not in menu(100005) and menu(100005)["mine"] == "Мои открытые заявки"
        await Person.filter(name="Olga Electric").update(role=Role.DISPATCHER)
        olga.send("/mine")
        await eventually(lambda: "assign" in menu(100005), what="the dispatcher's menu")
        olga.send("/lang")
        olga.press(await olga.sees("Выберите язык"), "English")
        await olga.sees("I will speak English")
        await eventually(lambda: menu(100005)["mine"] == "My open work", what="an English menu")

    assert "/report" not in technician and "/assign" not in technician
    assert "/note: Internal note: /note 12 TEXT" in technician
    assert "/report: Report: /report week OAK" in manager and "/merge" in manager
    assert "/merge" in dispatcher and "/report" not in dispatcher
    assert "/mine: Мои открытые заявки" in dispatcher
    assert list(menu(100003)) == [
        "mine", "open", "ticket", "note", "desk", "lang", "cancel", "help"
    ]  # fmt: skip
    assert {"report", "ratings", "export", "edit", "merge"} <= set(menu(100001))
    assert "report" not in menu(100002) and menu(100002)["mine"] == "Мои открытые заявки"


def test_tomorrow_morning_at_night_is_the_coming_morning() -> None:
    london = ZoneInfo("Europe/London")
    friday_night = datetime(2026, 11, 27, 1, 15, tzinfo=london)
    assert postpone_target(friday_night, london, days=1) == datetime(
        2026, 11, 27, 9, 0, tzinfo=london
    )
    friday_noon = datetime(2026, 11, 27, 12, 0, tzinfo=london)
    assert postpone_target(friday_noon, london, days=1) == datetime(
        2026, 11, 28, 9, 0, tzinfo=london
    )
    now = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    assert example_moment(now, london, "en") == "2026-11-26 10:00"
    assert example_moment(now, london, "ru") == "26.11.2026 10:00"


async def test_postponing_in_russian_reads_russian_only(app: App, botapi: BotApiServer) -> None:
    await load_example_directory()
    lipa = await app.tickets.create(
        NewTicket(
            category="technical",
            title="Домофон",
            channel=Channel.CLI,
            actor=CLI,
            building="LIPA",
            unit="3",
        )
    )
    ticket_id = lipa.ticket.id
    async with running_housedesk(app, botapi):
        ivan = TelegramUser.of(botapi, STAFF, 100004, "Ivan", "ru")
        await app.tickets.assign(ticket_id, CLI, await find_staff("Ivan Slesar"))
        card = await ivan.sees("Домофон")
        ivan.press_data(card, f"tk:postpone:{ticket_id}")
        asked = shown_text(await ivan.sees("До какого времени"))
        ivan.send("01.11.2026 10:00")
        refused = shown_text(await ivan.sees("будущем"))
        ivan.send("завтра")
        unreadable = shown_text(await ivan.sees("Не удалось"))

    assert "например 26.11.2026 10:00" in asked
    assert refused == "Пожалуйста, выберите время в будущем."
    assert unreadable == "Не удалось распознать дату. Пример: 26.11.2026 10:00"
    assert (await app.tickets.get(ticket_id)).status == Status.NEW


async def test_a_manager_merges_a_duplicate_and_edits_a_ticket(
    app: App, botapi: BotApiServer
) -> None:
    await load_example_directory()
    tom, _ = await register_resident(5550001, "Tom", "OAK", "12")
    mia, _ = await register_resident(5550002, "Mia", "OAK", "14")
    survivor = await _ticket(app, "Leak from the roof", tom)
    duplicate = await _ticket(app, "Water in the stairwell", mia)
    async with running_housedesk(app, botapi):
        alice = TelegramUser.of(botapi, STAFF, 100001, "Alice")
        bob = TelegramUser.of(botapi, STAFF, 100003, "Bob")
        bob.send(f"/merge #{duplicate} #{survivor}")
        await bob.sees("Only managers and dispatchers can change or merge requests.")
        alice.send(f"/merge #{duplicate} #{survivor}")
        await alice.sees(f"#{duplicate} is closed as a duplicate of #{survivor}")
        alice.send(f"/edit #{survivor} building LIPA")
        await alice.sees(f"#{survivor} is changed: ЖК Липовый, flat 12, Technical problem.")
        alice.send(f"/edit #{survivor} category drain")
        await alice.sees(f"#{survivor} is changed: ЖК Липовый, flat 12, Drain blockage.")
        alice.send(f"/edit #{survivor} flat 999")
        await alice.sees("ЖК Липовый has no flat 999.")
        alice.send(f"/ticket #{survivor}")
        shown = await alice.sees(f"#{duplicate} was merged into this request")
        assert (
            f"· merged · Alice Manager: #{duplicate} was merged into this request;" in shown["text"]
        )
        await app.tickets.change_status(survivor, CLI, Status.DONE, note="Roof sealed")

    gone = await app.tickets.get(duplicate)
    assert (gone.status, gone.linked_to_id) == (Status.CLOSED, survivor)  # type: ignore[attr-defined]
    kept = await app.tickets.get(survivor)
    assert (kept.building.code, kept.unit.number, kept.category.code) == ("LIPA", "12", "drain")  # type: ignore[union-attr]
    assert kept.due_at == kept.created_at + timedelta(minutes=120)
    rows = await TicketEvent.filter(ticket_id=survivor, type=EventType.ROUTING).order_by("id")
    assert [r.data["decision"] for r in rows] == ["edit", "edit"]
    [merged] = await TicketEvent.filter(ticket_id=survivor, type=EventType.MERGED)
    assert (merged.data["merged"], merged.data["follower_id"]) == (duplicate, mia.id)
    to_mia = [
        json.dumps(p, ensure_ascii=False)
        for p in await OutboxMessage.filter(recipient="5550002").values_list("payload", flat=True)
    ]
    assert any("so we joined them: you will hear about" in p for p in to_mia)
    assert any(f"Your request #{survivor} is now: done." in p for p in to_mia)


async def test_tickets_edit_and_merge_from_the_cli(app: App) -> None:
    await load_example_directory()
    tom, _ = await register_resident(5550001, "Tom", "OAK", "12")
    first = await _ticket(app, "Leak", tom)
    second = await _ticket(app, "Leak again", tom)

    async def housedesk(*argv: str) -> int:
        args = build_parser().parse_args(list(argv))
        return int(await args.func(app, args))

    assert (
        await housedesk("tickets", "edit", str(first), "--unit", "31", "--category", "drain") == 0
    )
    assert await housedesk("tickets", "merge", str(second), str(first)) == 0
    ticket = await app.tickets.get(first)
    assert (ticket.unit.number, ticket.category.code) == ("31", "drain")  # type: ignore[union-attr]
    assert (await app.tickets.get(second)).status == Status.CLOSED
    edits = await TicketEvent.filter(ticket_id=first, type=EventType.ROUTING).count()
    assert edits == 1  # flat and category together
    assert await TicketEvent.filter(ticket_id=first, type=EventType.MERGED).count() == 1


async def test_a_mail_from_an_unknown_sender_is_offered_to_the_dispatchers(
    app: App, botapi: BotApiServer
) -> None:
    await load_example_directory()
    async with running_housedesk(app, botapi):
        dmitri = TelegramUser.of(botapi, STAFF, 100002, "Dmitri", "ru")
        created = await app.tickets.create(
            NewTicket(
                category="technical",
                title="No hot water",
                channel=Channel.EMAIL,
                actor=CLI,
                requester=RequesterHint(ContactKind.EMAIL, "stranger@example.org"),
            )
        )
        ticket_id = created.ticket.id
        offer = await dmitri.sees("дом неизвестен")
        dmitri.press(offer, "Oak Court")

        def edited() -> str:
            [now] = [m for m in dmitri.bot_messages() if m["message_id"] == offer["message_id"]]
            return shown_text(now) if "изменена" in shown_text(now) else ""

        done = await eventually(edited)

    assert shown_text(offer) == f"#{ticket_id} «No hot water»: дом неизвестен. Какой это дом?"
    labels = [b["text"] for row in offer["reply_markup"]["inline_keyboard"] for b in row]
    assert labels == ["ЖК Липовый", "Oak Court"]
    assert done == f"Заявка #{ticket_id} изменена: Oak Court, Техническая неисправность."
    assert (await Ticket.get(id=ticket_id).select_related("building")).building.code == "OAK"  # type: ignore[union-attr]
