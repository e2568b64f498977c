"""``housedesk incident`` as a dispatcher uses it (the real parser and commands, in process):
open, list, show, links, update, resolve; a technician is refused and a stale resolve
changes nothing and says why."""

from __future__ import annotations

import pytest

from core.errors import AccessDenied, ConflictError
from core.storage.models import Role, Ticket
from housedesk.bootstrap import App
from housedesk.cli.main import build_parser
from tests.core import factories


async def housedesk(app: App, capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    args = build_parser().parse_args(["incident", *argv])
    assert await args.func(app, args) == 0
    return capsys.readouterr().out


async def test_incident_commands(app: App, capsys: pytest.CaptureFixture[str]) -> None:
    await factories.building("OAK")
    await factories.category("technical")
    await factories.person("Alice Manager", Role.MANAGER, email="alice@oak.example")
    await factories.person("Bob Plumber", Role.TECHNICIAN, email="bob@oak.example")

    with pytest.raises(AccessDenied) as refused:
        await housedesk(
            app, capsys, "open", "--building", "OAK", "--title", "W", "--as", "Bob Plumber"
        )
    assert refused.value.text("en") == "Only managers and dispatchers can open or change incidents."

    opened = await housedesk(
        app,
        capsys,
        *("open", "--building", "OAK", "--title", "Hot water off"),
        *("--text", "en=Hot water is off in your building.", "--text", "ru=Нет горячей воды."),
        *("--category", "technical", "--keyword", "water", "--until", "2030-01-01T14:00"),
        *("--as", "Alice Manager"),
    )
    assert opened.strip() == "opened I1 (active): Hot water off"
    listed = await housedesk(app, capsys, "list")
    assert "I1  active    emergency" in listed and "[0 reports]" in listed
    assert [t.title for t in await Ticket.all()] == ["I1: Hot water off"]  # staff's one ticket

    updated = await housedesk(app, capsys, "update", "I1", "--note", "Plumber on site")
    assert updated.strip() == "updated I1; 0 resident(s) told"
    assert "no reports linked" in await housedesk(app, capsys, "links", "I1")

    assert "resolved I1" in await housedesk(app, capsys, "resolve", "I1")
    with pytest.raises(ConflictError) as again:
        await housedesk(app, capsys, "resolve", "I1")
    assert again.value.text("en") == "I1 is already resolved."
    shown = (await housedesk(app, capsys, "show", "I1")).splitlines()
    assert shown[1:3] == ["  en: Hot water is off in your building.", "  ru: Нет горячей воды."]
    assert [line.split()[1] for line in shown[3:]] == ["opened", "updated", "resolved"]
    assert (await housedesk(app, capsys, "list")).strip() == "no incidents"
