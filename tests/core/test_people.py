"""Resident self-registration and staff invite codes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.clock import FrozenClock
from core.directory.invites import create_invite, redeem_invite, staff_by_chat
from core.directory.residents import register_resident, residences, resident_by_chat
from core.errors import AccessDenied, NotFound
from core.storage.models import Role
from tests.core import factories


async def test_resident_registers_to_several_flats(db: str) -> None:
    await factories.building("OAK")
    await factories.building("ELM")
    person, _ = await register_resident(5001, "Tom", "oak", "3", "ru")
    again, _ = await register_resident(5001, "Tom", "ELM", "1")
    assert again.id == person.id and person.language == "ru"
    homes = await residences(person)
    assert [(h.building_code, h.unit) for h in homes] == [("ELM", "1"), ("OAK", "3")]
    with pytest.raises(NotFound, match="has no flat '99'"):
        await register_resident(5001, "Tom", "OAK", "99")
    with pytest.raises(NotFound, match="unknown building"):
        await register_resident(5001, "Tom", "NOPE", "1")
    assert (await resident_by_chat("5001")) is not None


async def test_invite_code_links_once_and_expires(db: str, clock: FrozenClock) -> None:
    bob = await factories.person("Bob", Role.TECHNICIAN, email="bob@x.example")
    code = await create_invite("bob@x.example", clock)
    assert await staff_by_chat(777) is None
    linked = await redeem_invite(code.lower(), 777, clock)
    assert linked.id == bob.id
    assert (await staff_by_chat(777)).id == bob.id  # type: ignore[union-attr]
    with pytest.raises(AccessDenied, match="unknown, used or expired"):
        await redeem_invite(code, 778, clock)
    late = await create_invite("Bob", clock)
    clock.advance(timedelta(hours=49))
    with pytest.raises(AccessDenied):
        await redeem_invite(late, 779, clock)
    with pytest.raises(AccessDenied):
        await redeem_invite("WRONG-CODE1", 780, clock)


async def test_residents_are_never_staff(db: str) -> None:
    await factories.person("Ann", telegram="555")
    assert await staff_by_chat(555) is None
