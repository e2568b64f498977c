"""Actions core offers become buttons whose callback data the bots' routers unpack, and back."""

from __future__ import annotations

from bots.callbacks import ResidentAction, TicketAction, pack_action
from bots.telegram_render import inline_keyboard
from core.messaging.message import Verb
from core.tickets.cards import assignment_actions, rating_actions


def test_assignment_card_buttons_round_trip() -> None:
    keyboard = inline_keyboard(assignment_actions(12, "en"))["inline_keyboard"]
    assert [[b["text"] for b in row] for row in keyboard] == [
        ["Accept", "Decline"],
        ["Postpone", "Done"],
    ]
    data = [button["callback_data"] for row in keyboard for button in row]
    assert data == ["tk:accept:12", "tk:decline:12", "tk:postpone:12", "tk:done:12"]
    unpacked = [TicketAction.unpack(item) for item in data]
    assert [(a.action, a.ticket_id) for a in unpacked] == [
        (verb, 12) for verb in (Verb.ACCEPT, Verb.DECLINE, Verb.POSTPONE, Verb.DONE)
    ]
    assert [a.pack() for a in unpacked] == data


def test_accepted_work_keeps_decline_postpone_and_done() -> None:
    keyboard = inline_keyboard(assignment_actions(12, "pl", accepted=True))["inline_keyboard"]
    assert [[b["callback_data"] for b in row] for row in keyboard] == [
        ["tk:decline:12", "tk:postpone:12"],
        ["tk:done:12"],
    ]


def test_rating_buttons_round_trip() -> None:
    rows = inline_keyboard(rating_actions(3, "ru"))["inline_keyboard"]
    assert [b["text"] for b in rows[0]] == ["★", "★★", "★★★", "★★★★", "★★★★★"]
    assert rows[1][0]["text"] == "Не исправлено"
    unpacked = [ResidentAction.unpack(b["callback_data"]) for row in rows for b in row]
    assert [(u.action, u.ticket_id, u.score) for u in unpacked] == [
        *[(Verb.RATE, 3, n) for n in range(1, 6)],
        (Verb.REOPEN, 3, 0),
    ]
    [[not_fixed]] = rating_actions(3, "ru")[1:]
    assert pack_action(not_fixed) == "rs:reopen:3:0"
    assert all(len(b["callback_data"].encode()) <= 64 for row in rows for b in row)
