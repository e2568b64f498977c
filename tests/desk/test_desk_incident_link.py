"""Linking a ticket to an incident from the desk, in a real headless chromium: the manager
links Tom's phoned-in report to the hot-water outage in his building (the ticket closes, Tom
is told the outage's text), a stale or tokenless form changes nothing and says why, and
taking it off the incident reopens the ticket."""

from __future__ import annotations

from core.actors import CLI
from core.messaging.message import OutgoingMessage
from core.storage.models import (
    Channel,
    IncidentLink,
    LinkStatus,
    OutboxMessage,
    Person,
    Status,
    Ticket,
)
from core.tickets.commands import NewTicket
from housedesk.bootstrap import App
from tests.bots.support import load_example_directory
from tests.desk.conftest import Chromium
from tests.desk.support import hot_water_off, serving, signed_in

POST = """async ([url, body]) => {
    const r = await fetch(url, {method: 'POST', body: new URLSearchParams(body),
                                headers: {'X-Requested-With': 'fetch'}});
    return [r.status, await r.text()];
}"""


async def _mails_to_tom() -> list[str]:
    rows = await OutboxMessage.filter(recipient="tom@tenant.example").order_by("id")
    return [OutgoingMessage.from_payload(r.payload).text for r in rows]


async def test_a_ticket_is_linked_to_an_incident_and_taken_off_it(
    app: App, chromium: Chromium
) -> None:
    await load_example_directory()
    incident = await hot_water_off(app)
    tom = await Person.get(name="Tom Tenant")
    filed = await app.tickets.create(
        NewTicket(
            category="technical",
            title="No hot water in the kitchen",
            channel=Channel.PHONE,
            actor=CLI,
            building="OAK",
            unit="12",
            requester_id=tom.id,
        )
    )
    ticket = filed.ticket
    async with serving(app) as desk:
        page = await signed_in(chromium, desk)
        url = f"{desk}/tickets/{ticket.id}"
        await chromium.run(page.goto, url)
        token = await chromium.run(page.input_value, "input[name=csrf] >> nth=0")

        # Without the form token: refused, nothing linked.
        form = {"incident": str(incident.id), "version": str(ticket.version)}
        status, _ = await chromium.run(page.evaluate, POST, [f"{url}/incident", form])
        assert status == 403
        assert await IncidentLink.all().count() == 0

        await chromium.run(page.click, "#incident summary")
        assert "I1 · Hot water off" in await chromium.run(page.inner_text, "#incident select")
        await chromium.run(page.click, "#incident button")
        await chromium.run(page.wait_for_selector, "#incident-link")
        shown = await chromium.run(page.inner_text, "#incident-link")
        assert shown == "Linked to incident I1: Hot water off"
        assert await chromium.run(page.inner_text, "#status") == "closed"
        timeline = await chromium.run(page.inner_text, "#timeline")
        assert "Linked to incident I1: the resident hears its news." in timeline
        [link] = await IncidentLink.all()
        assert (link.ticket_id, link.status) == (ticket.id, LinkStatus.LINKED)  # type: ignore[attr-defined]
        told = (await _mails_to_tom())[-1]
        assert told.startswith("⚠️ Hot water is off in Oak Court.")
        assert "Your report is linked to this outage" in told

        # The form as it was before the link (another dispatcher's page): it is stale now,
        # and changes nothing.
        again = {**form, "csrf": token}
        status, body = await chromium.run(page.evaluate, POST, [f"{url}/incident", again])
        assert status == 409 and "was changed meanwhile by someone else" in body
        assert await IncidentLink.all().count() == 1

        # Taken off the incident: the ticket reopens and Tom is no longer linked.
        await chromium.run(page.click, "#incident summary")
        await chromium.run(page.click, "#incident button")
        await chromium.run(page.wait_for_selector, "#status:text-is('reopened')")
        assert await chromium.run(page.query_selector, "#incident-link") is None
        assert (await IncidentLink.get(id=link.id)).status == LinkStatus.UNLINKED
        assert (await Ticket.get(id=ticket.id)).status == Status.REOPENED
        assert await Ticket.all().count() == 2  # the incident's and Tom's: no new ticket

        # A second tap on the old unlink form says so, and changes nothing.
        status, body = await chromium.run(
            page.evaluate,
            POST,
            [
                f"{url}/incident/unlink",
                {"csrf": token, "link": str(link.id)},
            ],
        )
        assert status == 409 and "already a request of its own" in body
        assert page.script_errors == []
