"""The /announce line and what its sender reads before and after the button (no bot needed)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bots.staff.announcing import outcome_text, parse_announce, preview_text
from core.errors import InvalidInput
from core.operations.announcements import AnnounceResult
from core.operations.audience import Scope
from core.storage.models import AnnouncementStatus


def test_the_line_names_kind_building_scope_time_incident_and_text() -> None:
    draft = parse_announce(
        "emergency OAK entrance=2 floor=3,4 flats=1-3,7 at=2026-12-01T18:00 incident=#7 "
        "Gas smell: leave now"
    )
    assert (draft.emergency, draft.building, draft.text) == (True, "OAK", "Gas smell: leave now")
    assert draft.scope == Scope(("2",), ("3", "4"), ("1", "2", "3", "7"))
    assert (draft.send_at_local, draft.incident_id) == (datetime(2026, 12, 1, 18, 0), 7)
    plain = parse_announce("all Bins on Tuesday")
    assert (plain.emergency, plain.building, plain.scope.whole) == (False, None, True)
    for wrong in ("", "OAK", "OAK colour=red Hello", "OAK at=tomorrow Hello", "OAK floor=2"):
        with pytest.raises(InvalidInput):
            parse_announce(wrong)


def test_the_sender_reads_reach_hold_and_time_before_and_after() -> None:
    draft = parse_announce("emergency OAK entrance=2 at=2026-12-01T18:00 Water off 10-14")
    result = AnnounceResult(
        announcement_id=5,
        status=AnnouncementStatus.DRAFT,
        chat=3,
        email=1,
        unreachable=1,
        held=2,
        send_at=datetime(2026, 12, 1, 17, 0, tzinfo=UTC),
        timezone="Europe/Oslo",
    )
    assert preview_text(result, draft, "en").splitlines() == [
        "🚨 Emergency announcement",
        "To OAK, entrances 2: it will reach 5 residents (3 by Telegram, 1 by email, "
        "1 without a contact).",
        "2 of them had an announcement within the hour: theirs go an hour later.",
        "It goes out at Tue 1 Dec, 18:00 (Europe/Oslo).",
        "Send it?",
    ]
    assert (
        preview_text(result, draft, "ru")
        .splitlines()[1]
        .startswith("Кому: OAK, подъезды 2. Получат 5 жителей")
    )
    scheduled = AnnounceResult(**{**result.__dict__, "status": AnnouncementStatus.SCHEDULED})
    assert outcome_text(scheduled, "pl") == "Zaplanowano na wt., 1 gru, 18:00 (Europe/Oslo)."
    sent = AnnounceResult(**{**result.__dict__, "status": AnnouncementStatus.SENT})
    assert outcome_text(sent, "en").startswith("Sent: 4 messages are on their way.")
