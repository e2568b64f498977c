"""Leads of periodic jobs: one process at a time, handed over when the leader goes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from tortoise import connections

from core.clock import FrozenClock
from core.storage.cluster import NodeIdentity, leaders, members
from housedesk.cluster import leadership as leadership_module
from housedesk.cluster.leadership import Leadership
from tests.conftest import START

JOBS = ("operations", "imap", "telegram-polling:resident")


class Running:
    """Which jobs run where: each job marks its node while it runs."""

    def __init__(self) -> None:
        self.now: dict[str, set[str]] = {job: set() for job in JOBS}
        self.overlaps = 0
        self.dead: set[str] = set()
        self.starts = 0

    def die(self, node: str) -> None:
        """The node's process is killed: its jobs stop with it."""
        self.dead.add(node)
        for nodes in self.now.values():
            nodes.discard(node)

    def job(self, node: str, name: str) -> Callable[[asyncio.Event], object]:
        async def run(resign: asyncio.Event) -> None:
            if node in self.dead:
                return
            self.starts += 1
            self.now[name].add(node)
            self.overlaps += len(self.now[name]) > 1
            try:
                await resign.wait()
            finally:
                self.now[name].discard(node)

        return run


def _process(node: str, running: Running, clock: FrozenClock) -> Leadership:
    leadership = Leadership(NodeIdentity(node, "test", 1, START), clock, check_s=0.1)
    for name in JOBS:
        leadership.add(name, running.job(node, name))  # type: ignore[arg-type]
    return leadership


@contextlib.asynccontextmanager
async def _started(leadership: Leadership) -> AsyncIterator[asyncio.Event]:
    stop = asyncio.Event()
    task = asyncio.create_task(leadership.run(stop))
    try:
        yield stop
    finally:
        stop.set()
        await task


async def _until(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


async def _registry_shows(condition: Callable[[list[Any]], bool], clock: FrozenClock) -> None:
    """The registry comes to satisfy ``condition`` (the heartbeat naming the leads is
    written on the check after a lead is taken)."""
    for _ in range(100):
        found = await members(clock.now())
        if condition(found):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the registry shows {found}")


@pytest.mark.postgres
async def test_one_process_leads_each_job_and_hands_over_when_it_stops(
    db: str, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    running = Running()
    a, b = _process("a", running, clock), _process("b", running, clock)
    async with _started(a) as stop_a, _started(b):
        await _until(lambda: all(running.now[j] for j in JOBS))
        await asyncio.sleep(0.3)  # both contend a few rounds
        assert all(len(running.now[j]) == 1 for j in JOBS)
        first = {j: next(iter(running.now[j])) for j in JOBS}
        await _registry_shows(lambda found: leaders(found) == first, clock)

        leader = a if first["operations"] == "a" else b
        if leader is a:
            stop_a.set()
        else:
            running.die(b.node)
            _cut_off_from_database(b, monkeypatch)
            await _kill_lock_connection(b)
        await _until(lambda: all(running.now[j] == {"a", "b"} - {leader.node} for j in JOBS))
    assert running.overlaps == 0


@pytest.mark.postgres
async def test_a_process_whose_lock_connection_is_closed_resigns_at_once(
    db: str, clock: FrozenClock
) -> None:
    """PostgreSQL frees the locks the moment the connection ends; the process must not go
    on running its jobs until its next check (30 s here): it resigns them and, alone in the
    cluster, takes them again on a new connection."""
    running = Running()
    leadership = Leadership(NodeIdentity("slow", "test", 1, START), clock, check_s=30)
    for name in JOBS:
        leadership.add(name, running.job("slow", name))  # type: ignore[arg-type]
    async with _started(leadership):
        await _until(lambda: all(running.now[j] == {"slow"} for j in JOBS))
        await _kill_lock_connection(leadership)
        await _until(lambda: running.starts == 2 * len(JOBS), seconds=3)
        assert all(running.now[j] == {"slow"} for j in JOBS)


def _cut_off_from_database(leadership: Leadership, monkeypatch: pytest.MonkeyPatch) -> None:
    """The leader's machine is gone: it cannot open a lock connection again (else it could
    win the freed locks back, and the test would wait for a hand-over that never comes)."""
    connect = leadership_module._lock_connection

    async def refused(node: str) -> object:
        if node == leadership.node:
            raise ConnectionRefusedError("the machine is gone")
        return await connect(node)

    monkeypatch.setattr(leadership_module, "_lock_connection", refused)


async def _kill_lock_connection(leadership: Leadership) -> None:
    """The leader's connection to PostgreSQL dies (as when its process is killed)."""
    await connections.get("default").execute_query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE datname = current_database() AND application_name = $1",
        [f"housedesk-lead:{leadership.node}"],
    )


async def test_a_lone_process_leads_everything_and_leaves_the_registry_when_it_stops(
    db: str, clock: FrozenClock
) -> None:
    running = Running()
    leadership = _process("solo", running, clock)
    async with _started(leadership):
        await _until(lambda: all(running.now[j] == {"solo"} for j in JOBS))
        await _until(lambda: leadership.leads == sorted(JOBS))
        expected = [("solo", tuple(sorted(JOBS)))]
        await _registry_shows(lambda found: [(m.node, m.leads) for m in found] == expected, clock)
    assert await members(clock.now()) == []  # a stopped process leaves the registry
    assert all(not nodes for nodes in running.now.values())
