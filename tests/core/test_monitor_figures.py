"""The monitor's figures of open tickets equal the hand-counted ones, and the journal's filters
select exactly the tickets behind each of them."""

from __future__ import annotations

from core.reports.figures import Reports
from core.storage.models import Building, Person, Role, Ticket
from core.tickets.journal import JournalFilter, journal_page
from housedesk.bootstrap import App
from tests.core import factories
from tests.core.test_ops_reports import _seed

# open now (25 Nov 09:00): #3 ELM Olga (overdue), #4 ELM unassigned (response overdue, due
# 27 Nov 09:00), #5 OAK Bob (response due 26 Nov 09:00), #8 and #9 OAK Bob without deadlines


async def test_open_tickets_now_by_every_dimension(app: App) -> None:
    await _seed()
    await Ticket.filter(title="Ticket of 24 Nov 09:00").update(needs_attention="unknown flat")
    monitor = await Reports(app.clock).monitor("2026-11-01..2026-11-30", due_within=49)
    now = monitor["now"]
    assert {k: now[k] for k in ("open", "overdue", "due_soon", "attention", "unassigned")} == {
        "open": 5,
        "overdue": 2,
        "due_soon": 2,
        "attention": 1,
        "unassigned": 1,
    }
    assert now["by_status"] == {"in_progress": 1, "new": 4}
    oak, elm = await Building.get(code="OAK"), await Building.get(code="ELM")
    assert [(b["id"], b["open"], b["overdue"], b["due_soon"]) for b in now["by_building"]] == [
        (oak.id, 3, 0, 1),
        (elm.id, 2, 2, 1),
    ]
    assert [(c["code"], c["open"]) for c in now["by_category"]] == [
        ("technical", 4),
        ("emergency", 1),
    ]
    bob, ian, olga = [await Person.get(name=name) for name in ("Bob", "Idle Ian", "Olga")]
    assert now["technicians"] == [
        {"id": bob.id, "name": "Bob", "open": 3, "overdue": 0, "due_soon": 1},
        {"id": ian.id, "name": "Idle Ian", "open": 0, "overdue": 0, "due_soon": 0},
        {"id": olga.id, "name": "Olga", "open": 1, "overdue": 1, "due_soon": 0},
    ]
    assert monitor["report"]["total"] == 7, "the period's figures come with them"


async def test_due_soon_counts_deadlines_inside_the_window_only(app: App) -> None:
    await _seed()
    reports = Reports(app.clock)
    # #5's response is due exactly 24 h from now: not within 24 h, within 48 h
    assert (await reports.monitor(due_within=24))["now"]["due_soon"] == 0
    assert (await reports.monitor(due_within=48))["now"]["due_soon"] == 1


async def test_the_journal_filters_select_the_tickets_counted(app: App) -> None:
    await _seed()
    await Ticket.filter(title="Ticket of 24 Nov 09:00").update(needs_attention="unknown flat")
    now = app.clock.now()
    figures = (await Reports(app.clock).monitor(due_within=49))["now"]
    dana = await factories.person("Dana", Role.DISPATCHER)
    journal = {
        "overdue": JournalFilter(overdue=True),
        "due_soon": JournalFilter(due_within_hours=49),
        "attention": JournalFilter(attention=True),
    }
    counted = {k: (await journal_page(dana, f, now)).count for k, f in journal.items()}
    assert (
        counted
        == {k: figures[k] for k in journal}
        == {
            "overdue": 2,
            "due_soon": 2,
            "attention": 1,
        }
    )


async def test_one_buildings_monitor_and_load(app: App) -> None:
    await _seed()
    reports = Reports(app.clock)
    now = (await reports.monitor("month", "OAK"))["now"]
    assert (now["building"], now["open"], now["unassigned"]) == ("OAK", 3, 0)
    # Idle Ian works in OAK; Bob has OAK's open tickets
    assert [(t["name"], t["open"]) for t in now["technicians"]] == [("Bob", 3), ("Idle Ian", 0)]
    assert await reports.load_per_technician("OAK") == [
        {"name": "Bob", "open": 3, "overdue": 0},
        {"name": "Idle Ian", "open": 0, "overdue": 0},
    ]
