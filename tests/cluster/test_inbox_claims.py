"""Stored chat updates are claimed per chat: any process may take any update, and a chat's
updates are in one process's hands at a time, in order."""

from __future__ import annotations

from datetime import timedelta

from core.clock import FrozenClock
from core.messaging import inbox
from tests.fakes.botapi_updates import message_update, private_chat, user

LEASE = timedelta(seconds=30)


def _update(update_id: int, chat: int, text: str) -> tuple[int, dict[str, object]]:
    person = user(chat, f"Resident {chat}")
    payload = message_update(person, private_chat(person), text)
    payload["update_id"] = update_id
    return update_id, payload


async def test_a_chat_with_an_update_in_hand_is_not_claimed_by_another_process(
    db: str, clock: FrozenClock
) -> None:
    await inbox.store(
        "resident",
        [_update(1, 501, "first"), _update(2, 501, "second"), _update(3, 502, "other")],
        clock.now(),
    )
    first = await inbox.claim("resident", clock.now(), LEASE, limit=1)
    assert [(u.update_id, u.chat) for u in first] == [(1, "501")]
    second = await inbox.claim("resident", clock.now(), LEASE)  # another process
    assert [u.update_id for u in second] == [3]  # not 2: chat 501 is in the first's hands
    assert await inbox.claim("resident", clock.now(), LEASE) == []

    await inbox.mark_handled(first[0], clock.now())
    await inbox.release(first)
    assert [u.update_id for u in await inbox.claim("resident", clock.now(), LEASE)] == [2]


async def test_a_dead_processs_claim_lapses_and_a_released_one_is_free_at_once(
    db: str, clock: FrozenClock
) -> None:
    await inbox.store("resident", [_update(7, 601, "hello"), _update(8, 602, "hi")], clock.now())
    dead = await inbox.claim("resident", clock.now(), LEASE, limit=1)
    alive = await inbox.claim("resident", clock.now(), LEASE, limit=1)
    assert [u.update_id for u in dead + alive] == [7, 8]
    await inbox.release(alive)
    assert [u.update_id for u in await inbox.claim("resident", clock.now(), LEASE)] == [8]
    clock.advance(LEASE + timedelta(seconds=1))  # the dead process never renewed its claim
    assert [u.update_id for u in await inbox.claim("resident", clock.now(), LEASE)] == [7, 8]
