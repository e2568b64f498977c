"""Two processes on one PostgreSQL database, each with a data directory of its own, share
the attachments through the postgres blob store: a photo mailed in through one reaches the
technician through the other (two App instances, as ``housedesk run`` builds them)."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest

from bots.telegram_sender import TelegramSender
from core.actors import CLI
from core.clock import FrozenClock
from core.messaging.routes import Route
from core.storage.blobs.fallback import WithFallback
from core.storage.blobs.postgres import PostgresBlobStore
from core.storage.models import Attachment, OutboxMessage, OutboxStatus, Role, Ticket
from housedesk.bootstrap import App, bootstrap
from housedesk.settings.config import Settings
from intake.outcome import Accepted
from tests.core import factories
from tests.fakes.botapi import BotApiServer
from tests.telegram.support import STAFF_BOT_TOKEN, png

pytestmark = pytest.mark.postgres

PHOTO = png(64, 48)
BOB_CHAT = 5550042


def _process(name: str, db_url: str, tmp_path: Path, clock: FrozenClock) -> App:
    settings = Settings(
        database={"url": db_url},
        storage={"data_dir": tmp_path / name},
        blobs={"store": "postgres"},
        email={"help_address": "help@oak.example"},
        operations={"routing_enabled": False, "scheduler_enabled": False},
    )
    return bootstrap(settings, clock=clock)


def _mail_with_photo() -> bytes:
    mail = EmailMessage()
    mail["From"] = "Tom Tenant <tom@tenant.example>"
    mail["To"] = "help@oak.example"
    mail["Subject"] = "Water through the ceiling, flat 3"
    mail["Message-ID"] = "<wet-ceiling@tenant.example>"
    mail.set_content("Water comes through the bathroom ceiling. Photo attached.")
    mail.add_attachment(PHOTO, maintype="image", subtype="png", filename="ceiling.png")
    return mail.as_bytes()


async def test_a_photo_taken_in_by_one_process_reaches_the_technician_through_another(
    db: str, tmp_path: Path, clock: FrozenClock
) -> None:
    intake, sender = _process("a", db, tmp_path, clock), _process("b", db, tmp_path, clock)
    assert isinstance(intake.blobs, WithFallback)
    assert isinstance(intake.blobs.primary, PostgresBlobStore)
    await factories.building()
    await factories.category()
    bob = await factories.person("Bob Plumber", Role.TECHNICIAN, telegram=str(BOB_CHAT))

    assert isinstance(await intake.mail_gateway(_mail_with_photo()), Accepted)
    ticket = await Ticket.get(title="Water through the ceiling, flat 3")
    await intake.tickets.assign(ticket.id, CLI, bob)
    async with BotApiServer() as botapi:
        botapi.add_bot(STAFF_BOT_TOKEN)
        async with TelegramSender(STAFF_BOT_TOKEN, botapi.url, sender.blobs) as staff_bot:
            sender.outbox.register(Route.STAFF_CHAT, staff_bot)
            while await sender.outbox.run_once():
                pass

        [card] = botapi.calls(STAFF_BOT_TOKEN, "sendPhoto")
    assert str(card.params["chat_id"]) == str(BOB_CHAT)
    assert (card.upload("photo").data, card.upload("photo").filename) == (PHOTO, "ceiling.png")
    assert await OutboxMessage.filter(status=OutboxStatus.FAILED).count() == 0
    [stored] = await Attachment.filter(ticket=ticket)
    assert not list(tmp_path.rglob(stored.sha256))  # on neither process's disk
