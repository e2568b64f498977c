"""A follow-up mail with nothing in it is kept on the timeline as what it is."""

from __future__ import annotations

from core.storage.models import EventType, TicketEvent
from intake.email.gateway import MailGateway
from intake.outcome import Accepted
from tests.mail_gateway.test_gateway import gateway, mail

__all__ = ["gateway"]  # the fixture


async def test_an_empty_follow_up_is_an_internal_note_not_a_reply(gateway: MailGateway) -> None:
    await gateway(mail())
    empty = mail(subject="Re: [#1] Leak under the sink", body="", message_id="<m9@tenant.example>")
    outcome = await gateway(empty)
    assert isinstance(outcome, Accepted) and outcome.ticket_ref == "#1"
    [event] = await TicketEvent.filter(ticket_id=1, text="(empty reply)")
    assert event.type == EventType.INTERNAL_NOTE and not event.public
    assert await TicketEvent.filter(ticket_id=1, type=EventType.PUBLIC_REPLY).count() == 0
