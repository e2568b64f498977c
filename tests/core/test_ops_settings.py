"""``[operations]`` settings and the parts built from them."""

from __future__ import annotations

from datetime import time

import pytest
from pydantic import ValidationError

from core.operations.routing import Router
from core.storage.models import Channel, OutboxMessage
from housedesk.bootstrap import App, build_operations
from housedesk.settings.operations import DEFAULT_KEYWORDS, OperationsSettings
from tests.core.ops_world import build_world, new_ticket


def test_defaults_and_validation() -> None:
    settings = OperationsSettings()
    assert (settings.digest_time, settings.timezone, settings.keywords) == (
        time(8, 0),
        "UTC",
        DEFAULT_KEYWORDS,
    )
    assert OperationsSettings(digest_time="07:30").digest_time == time(7, 30)
    for bad in ({"timezone": "Mars/Olympus"}, {"nudge_every_minutes": 0}, {"tick": 1}):
        with pytest.raises(ValidationError):
            OperationsSettings(**bad)
    with pytest.raises(ValidationError):
        OperationsSettings(classify_channels=["fax"])


def test_a_language_given_replaces_only_that_language() -> None:
    settings = OperationsSettings(keywords={"en": {"billing": ["bill"]}})
    assert settings.keywords["en"] == {"billing": ["bill"]}
    assert settings.keywords["ru"] == DEFAULT_KEYWORDS["ru"]


async def test_build_operations_registers_routing(app: App) -> None:
    world = await build_world()
    kit = build_operations(
        OperationsSettings(remind_before_minutes=5, classify_channels=["email"]), app.tickets
    )
    assert isinstance(kit.router, Router) and kit.router.on_created in app.tickets.on_created
    assert kit.jobs.nudges.remind_before_minutes == 5
    assert kit.announcer.mail_domain == app.notifier.settings.mail_domain
    ticket = await new_ticket(
        app.tickets, world, "technical", description="Gas leak in the hall", channel=Channel.EMAIL
    )
    assert ticket.category.code == "emergency" and ticket.assignee.name == "Bob Plumber"
    voicemail = await new_ticket(
        app.tickets, world, "technical", description="Gas leak", channel=Channel.VOICEMAIL
    )
    assert voicemail.category.code == "technical"  # not a classified channel here
    assert await OutboxMessage.filter(ticket=ticket, channel="staff_chat").exists()
