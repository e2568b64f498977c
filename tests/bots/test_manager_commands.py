"""A manager in the staff bot: report and chart, overdue, load, ratings, XLSX, announcements."""

from __future__ import annotations

import io
from datetime import timedelta

from openpyxl import load_workbook

from core.clock import FrozenClock
from core.storage.models import OutboxMessage
from housedesk.bootstrap import App
from tests.bots.support import (
    RESIDENT,
    STAFF,
    TelegramUser,
    button_data,
    eventually,
    load_example_directory,
    running_housedesk,
    shown_text,
    start_report,
)
from tests.fakes.botapi import BotApiServer
from tests.telegram.support import png


async def test_manager_reports_export_and_announce(
    app: App, botapi: BotApiServer, clock: FrozenClock
) -> None:
    await load_example_directory()
    async with running_housedesk(app, botapi):
        resident = TelegramUser.of(botapi, RESIDENT, 5550001, "Mina")
        alice = TelegramUser.of(botapi, STAFF, 100001, "Alice")
        bob = TelegramUser.of(botapi, STAFF, 100003, "Bob")
        await start_report(resident, "OAK")
        resident.send("Radiator is cold")
        await resident.sees("is registered: Radiator is cold")
        clock.advance(timedelta(days=2))  # past the technical category's deadlines

        alice.send("/report week")
        summary = await alice.sees("1")
        assert "Technical" in str(summary.get("text"))
        await eventually(
            lambda: botapi.calls(STAFF, "sendPhoto"), what="the report chart as a photo"
        )
        [chart] = botapi.calls(STAFF, "sendPhoto")
        assert next(iter(chart.files.values())).data.startswith(b"\x89PNG")

        alice.send("/overdue")
        await alice.sees("Overdue tickets: 1")
        alice.send("/load OAK")
        await alice.sees("Bob Plumber: 0 open tickets, 0 overdue")
        alice.send("/ratings")
        await alice.sees("Nothing to show.")

        alice.send("/export week")
        await eventually(lambda: botapi.calls(STAFF, "sendDocument"), what="the XLSX export")
        [export] = botapi.calls(STAFF, "sendDocument")
        workbook = load_workbook(io.BytesIO(next(iter(export.files.values())).data))
        cells = [c.value for row in workbook["Tickets"].iter_rows() for c in row]
        assert "Radiator is cold" in cells

        alice.send("/announce OAK Water is off on Friday 10:00-14:00")
        preview = await alice.sees("To OAK: it will reach 2 residents (1 by Telegram, 1 by email")
        bob.press_data(preview, button_data(preview, "Send to 2 residents"))
        await eventually(lambda: _alerted(botapi, "Only Alice Manager can send or cancel"))
        alice.press(preview, "Send to 2 residents")
        await alice.sees("Sent: 2 messages are on their way.")
        alice.press(preview, "Send to 2 residents")  # a second tap sends nothing more
        await eventually(lambda: _alerted(botapi, "is already sent."))
        notice = png(8, 8, "blue")
        alice.send(
            photo_file_id=botapi.add_file(STAFF, notice, file_path="photos/notice.png"),
            caption="/announce emergency all The lift is serviced on Monday",
        )
        preview = await alice.sees("🚨 Emergency announcement")
        assert "To All buildings: it will reach 2 residents" in shown_text(preview)
        alice.press(preview, "Send to 2 residents")
        await alice.sees("Sent: 2 messages are on their way.")
        await resident.sees_where(
            lambda m: "The lift is serviced on Monday" in shown_text(m) and "photo" in m,
            "the announcement with its photo",
            timeout=10,
        )
        [upload] = [c for c in botapi.calls(RESIDENT, "sendPhoto") if c.files]
        assert next(iter(upload.files.values())).data == notice  # re-uploaded by the other bot

        bob.send("/report")
        await bob.sees("Sorry, you cannot do that.")

    queued = [row for row in await OutboxMessage.all() if "Water is off" in str(row.payload)]
    assert {row.channel for row in queued} == {"resident_chat", "email"}


def _alerted(botapi: BotApiServer, fragment: str) -> bool:
    """Whether a staff bot's button answer (an alert) says ``fragment``."""
    answers = botapi.calls(STAFF, "answerCallbackQuery")
    return any(fragment in str(call.params.get("text")) for call in answers)
