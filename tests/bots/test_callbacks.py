"""Button payloads the core writes unpack into the bots' typed callbacks, and back."""

from __future__ import annotations

from bots.callbacks import CardAction, FeedbackAction, ResidentAction, TicketAction
from core.messaging.notifications import feedback_button, ticket_button
from core.storage.models import Ticket
from core.tickets.service import assignment_buttons, rating_buttons


def test_assignment_card_buttons_round_trip() -> None:
    ticket = Ticket(id=12, language="en")
    data = [button["callback_data"] for row in assignment_buttons(ticket, "en") for button in row]
    assert data == ["tk:accept:12", "tk:decline:12", "tk:postpone:12", "tk:done:12"]
    unpacked = [TicketAction.unpack(item) for item in data]
    assert [(a.action, a.ticket_id) for a in unpacked] == [(action, 12) for action in CardAction]
    assert [a.pack() for a in unpacked] == data
    assert (
        ticket_button("x", "done", 7)["callback_data"]
        == TicketAction(action=CardAction.DONE, ticket_id=7).pack()
    )


def test_rating_buttons_round_trip() -> None:
    ticket = Ticket(id=3, language="ru")
    rows = rating_buttons(ticket)
    assert [b["text"] for b in rows[0]] == ["★", "★★", "★★★", "★★★★", "★★★★★"]
    assert rows[1][0]["text"] == "Не исправлено"
    unpacked = [ResidentAction.unpack(b["callback_data"]) for row in rows for b in row]
    assert [(u.action, u.ticket_id, u.score) for u in unpacked] == [
        *[(FeedbackAction.RATE, 3, n) for n in range(1, 6)],
        (FeedbackAction.REOPEN, 3, 0),
    ]
    assert (
        feedback_button("x", "rate", 3, 4)["callback_data"]
        == ResidentAction(action=FeedbackAction.RATE, ticket_id=3, score=4).pack()
    )
