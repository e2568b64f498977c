"""Every report an incident absorbed, on the desk, in a real headless chromium: the manager
sees the outage's reports (a tap in the bot, a mail matched by its words, neither a ticket),
takes the wrongly matched mail off (it becomes Tom's own request, acknowledged as usual), and
a stale or tokenless form changes nothing and says why."""

from __future__ import annotations

from core.incidents.commands import IncidentReport
from core.incidents.delivery import MailThread
from core.messaging.message import OutgoingMessage
from core.storage.models import (
    Channel,
    IncidentLink,
    LinkStatus,
    OutboxMessage,
    Person,
    Ticket,
    Unit,
)
from housedesk.bootstrap import App
from tests.bots.support import load_example_directory
from tests.core import factories
from tests.desk.conftest import Chromium
from tests.desk.support import hot_water_off, serving, signed_in
from tests.desk.test_desk_incident_link import POST


async def test_a_wrong_match_without_a_ticket_is_taken_off_from_the_desk(
    app: App, chromium: Chromium
) -> None:
    await load_example_directory()
    incident = await hot_water_off(app, keywords=("water",))
    ann = await factories.person("Ann Tapper", telegram="7001")
    await ann.units.add(await Unit.get(building__code="OAK", number="1"))
    await app.incidents.join(incident.id, ann, Channel.CHAT)
    tom = await Person.get(name="Tom Tenant")
    mail = "The water meter door in the hall is broken"
    wrong = await app.incidents.absorb(
        IncidentReport(tom.id, Channel.EMAIL, mail), MailThread("<m1@tenant.example>", "Door")
    )
    assert wrong is not None and wrong.created  # "water" matched, wrongly
    tickets = await Ticket.all().count()

    async with serving(app) as desk:
        page = await signed_in(chromium, desk)
        url = f"{desk}/incidents/{incident.id}"
        await chromium.run(page.goto, url)
        assert await chromium.run(page.inner_text, "#absorbed") == "2 reports (chat 1, email 1)"
        row = f"#link-{wrong.link.id}"
        assert mail in await chromium.run(page.inner_text, row)
        token = await chromium.run(page.input_value, f"{row} input[name=csrf]")
        unlink = f"{url}/links/{wrong.link.id}/unlink"

        status, _ = await chromium.run(page.evaluate, POST, [unlink, {}])  # no form token
        assert status == 403
        assert (await IncidentLink.get(id=wrong.link.id)).status == LinkStatus.LINKED

        await chromium.run(page.click, f"{row} button")
        await chromium.run(page.wait_for_selector, f"{row} .badge")
        assert await chromium.run(page.inner_text, f"{row} .badge") == "taken off the incident"
        [own] = await Ticket.filter(requester=tom)
        assert (own.description, own.channel) == (mail, Channel.EMAIL)
        assert await Ticket.all().count() == tickets + 1
        href = await chromium.run(page.get_attribute, f"{row} a", "href")
        assert href == f"/desk/tickets/{own.id}"
        assert await chromium.run(page.query_selector, f"#link-{wrong.link.id - 1} button")  # Ann
        mails = await OutboxMessage.filter(recipient="tom@tenant.example").order_by("id")
        acknowledged = OutgoingMessage.from_payload(mails[-1].payload).text
        assert acknowledged.startswith(f"Your request {own.ref} is registered")

        # The same form again (a second tap, another dispatcher's page): nothing changes.
        status, body = await chromium.run(page.evaluate, POST, [unlink, {"csrf": token}])
        assert status == 409 and "already a request of its own" in body
        assert await Ticket.all().count() == tickets + 1

        # Tom's new request points at the incident's page.
        await chromium.run(page.goto, f"{desk}/tickets/{own.id}")
        flash = await chromium.run(page.get_attribute, "p.flash.error a", "href")
        assert flash == f"/desk/incidents/{incident.id}"
        assert page.script_errors == []
