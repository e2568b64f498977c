"""Two ``housedesk run`` processes on one PostgreSQL database with Telegram in polling mode,
the mode the three-process test does not run: what holds when the process that polls dies.

* Only one process asks Telegram for a bot's updates at a time (the Bot API stand-in, like
  Telegram, ends a waiting long poll with 409 Conflict when a second one comes, and counts
  it). The poller is killed with SIGKILL; the other takes over, and every update is taken in
  once: none lost, none handled twice beyond the ones in hand at the kill.
* The daily clean-up ran on the first process; after the kill the other leads the scheduler,
  and after the restart neither runs it again that day.
* A mail delivered to both processes (an MTA that timed out on one MX and retried on the
  other, at the same time or after; and, as an MTA does, on the other while one is down)
  is one ticket with one acknowledgement.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

import aiohttp
import aiosmtplib
import asyncpg
import pytest

from tests.bots.support import RESIDENT, STAFF
from tests.cluster.harness import (
    BotApiTap,
    Node,
    base_env,
    directory,
    directory_database,
    free_port,
    started,
    until,
)
from tests.conftest import _pg_url
from tests.fakes.botapi import BotApiServer
from tests.fakes.botapi_updates import message_update, private_chat, user
from tests.servers.smtp_sink import SmtpSink, running_sink

RESIDENTS = 40
FIRST_CHAT = 8_000_000
MAILS = 15
PROMPT = "What is it about? Choose a topic"
POLLING = "telegram-polling:resident"

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture
def database(db_template: str, tmp_path: Path) -> Iterator[str]:
    path = tmp_path / "directory.toml"
    path.write_text(directory(RESIDENTS, 2, FIRST_CHAT))
    with directory_database("housedesk_two", db_template, path) as name:
        yield _pg_url(name)


def _nodes(root: Path, botapi: BotApiServer) -> list[Node]:
    nodes = []
    for n in range(2):
        node_root = root / f"node{n}"
        node_root.mkdir()
        nodes.append(
            Node(f"node{n}", node_root, {}, free_port(), free_port(), BotApiTap(botapi.url))
        )
    return nodes


def _configure(nodes: list[Node], url: str, sink: SmtpSink) -> None:
    """Each process's environment (once the taps listen)."""
    for node in nodes:
        node_root = node.root
        node.env = base_env(
            HOUSEDESK_DATABASE__URL=url,
            HOUSEDESK_STORAGE__DATA_DIR=str(node_root / "data"),
            HOUSEDESK_EMAIL__SMTP_LISTEN=f"127.0.0.1:{node.smtp_port}",
            HOUSEDESK_EMAIL__OUTGOING__HOST="127.0.0.1",
            HOUSEDESK_EMAIL__OUTGOING__PORT=str(sink.port),
            HOUSEDESK_HTTP__LISTEN=f"127.0.0.1:{node.http_port}",
            HOUSEDESK_TELEGRAM__API_BASE=node.tap.url,
            HOUSEDESK_TELEGRAM__RESIDENT_TOKEN=RESIDENT,
            HOUSEDESK_TELEGRAM__STAFF_TOKEN=STAFF,
            HOUSEDESK_TELEGRAM__MODE="polling",
            HOUSEDESK_TELEGRAM__POLLING_TIMEOUT_S="10",
            HOUSEDESK_TELEGRAM__UPDATE_LEASE_S="5",
            HOUSEDESK_TELEGRAM__MESSAGES_PER_SECOND="300",
            HOUSEDESK_OUTBOX__LEASE_S="10",
            HOUSEDESK_OUTBOX__POLL_INTERVAL_S="1",
            HOUSEDESK_OPERATIONS__TICK_INTERVAL_S="1",
            HOUSEDESK_RETENTION__GC_TIME="00:00",  # the day's clean-up is due at once
            HOUSEDESK_CLUSTER__NODE_ID=node.name,
            HOUSEDESK_CLUSTER__LEADER_CHECK_S="0.5",
            HOUSEDESK_SERVICE__LOG_LEVEL="WARNING",
        )


async def _leads(node: Node, session: aiohttp.ClientSession) -> dict[str, Any]:
    """The process's leads and its scheduler's last round (empty when it does not answer)."""
    if node.process is not None and node.process.poll() is not None:
        raise AssertionError(f"{node.name} exited:\n{node.log()}")
    health = await node.healthz(session) or {}
    cluster: dict[str, Any] = health.get("cluster") or {}  # type: ignore[assignment]
    return {
        "leads": set(cluster.get("leads", [])),
        "round": (health.get("scheduler_last_round") or {}).get("at"),  # type: ignore[attr-defined]
    }


def _prompts(botapi: BotApiServer) -> Counter[int]:
    """How many topic prompts each resident was sent."""
    return Counter(
        int(m["chat"]["id"])
        for chat in range(FIRST_CHAT, FIRST_CHAT + RESIDENTS)
        for m in botapi.messages(RESIDENT, chat)
        if m["from"]["is_bot"] and PROMPT in str(m.get("text") or "")
    )


def _report(botapi: BotApiServer, n: int) -> None:
    person = user(FIRST_CHAT + n, f"Resident {n}")
    botapi.add_update(
        RESIDENT, message_update(person, private_chat(person), f"Report {n}: the tap drips")
    )


def _mail(n: int) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = f"Tenant {n} <twice{n}@tenant.example>"
    mail["To"] = "help@housedesk.localhost"
    mail["Subject"] = f"Twice {n}: the boiler knocks"
    mail["Message-ID"] = f"<twice-{n}@tenant.example>"
    mail.set_content(f"Twice {n}: the boiler knocks at night.")
    return mail


async def _deliver_twice(nodes: list[Node]) -> None:
    """Each mail to both processes: the odd ones at the same time, the even ones one after
    the other (the first answer lost to a timeout, as far as the MTA knows)."""

    async def send(mail: EmailMessage, node: Node) -> None:
        """Deliver ``mail`` to ``node``, to the other while it is down (killed, say)."""
        for attempt in range(100):
            port = nodes[(nodes.index(node) + attempt) % 2].smtp_port
            try:
                await aiosmtplib.send(mail, hostname="127.0.0.1", port=port, timeout=60)
                return
            except (aiosmtplib.SMTPException, OSError):
                await asyncio.sleep(0.2)
        raise AssertionError(f"{mail['Message-ID']} was never accepted")

    for n in range(MAILS):
        mail = _mail(n)
        if n % 2:
            await asyncio.gather(send(mail, nodes[0]), send(mail, nodes[1]))
        else:
            await send(mail, nodes[n % 4 // 2])
            await send(mail, nodes[1 - n % 4 // 2])


async def _db(url: str) -> asyncpg.Connection:
    return await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))


async def _gc_run(url: str) -> tuple[str, datetime] | None:
    conn = await _db(url)
    try:
        row = await conn.fetchrow(
            "SELECT node, started_at FROM job_run WHERE job = 'gc' AND finished_at IS NOT NULL"
        )
        return None if row is None else (row["node"], row["started_at"])
    finally:
        await conn.close()


async def _in_hand(url: str) -> int:
    """Updates some process is handling now (claimed, not handled)."""
    conn = await _db(url)
    try:
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM inbound_update"
                " WHERE handled_at IS NULL AND locked_until > now()"
            )
        )
    finally:
        await conn.close()


async def _settled(url: str) -> dict[str, Any]:
    conn = await _db(url)
    try:

        async def done() -> bool:
            pending = await conn.fetchval("SELECT count(*) FROM outbox WHERE status = 'pending'")
            updates = await conn.fetchval(
                "SELECT count(*) FROM inbound_update WHERE handled_at IS NULL"
            )
            tickets = await conn.fetchval("SELECT count(*) FROM ticket")
            return bool(pending == 0 and updates == 0 and tickets >= MAILS)

        await until(done, "every update handled and every message sent", timeout=120)
        return {
            "updates": [
                r["update_id"]
                for r in await conn.fetch(
                    "SELECT update_id FROM inbound_update WHERE bot = 'resident' ORDER BY update_id"
                )
            ],
            "titles": Counter(r["title"] for r in await conn.fetch("SELECT title FROM ticket")),
        }
    finally:
        await conn.close()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as client:
        yield client


async def test_the_poller_killed_hands_over_and_daily_jobs_and_mails_stay_once(
    tmp_path: Path, database: str, session: aiohttp.ClientSession
) -> None:
    async with BotApiServer() as botapi, running_sink() as sink:
        botapi.add_bot(RESIDENT, username="oak_resident_bot")
        botapi.add_bot(STAFF, username="oak_staff_bot")
        first, second = nodes = _nodes(tmp_path, botapi)
        async with started(*(node.tap for node in nodes)):
            _configure(nodes, database, sink)
            try:
                first.start()  # alone: it leads everything and runs the day's clean-up
                await until(lambda: _first_leads(first, session), "the first process leading", 180)
                gc_run = await until(lambda: _gc_run(database), "the day's clean-up")
                second.start()
                await until(lambda: second.healthz(session), "the second process up", 180)

                mails = asyncio.create_task(_deliver_twice(nodes))
                for n in range(RESIDENTS // 2):
                    _report(botapi, n)
                await until(lambda: len(_prompts(botapi)) >= RESIDENTS // 4, "a quarter answered")
                in_hand = await _in_hand(database)
                await first.kill()
                killed_at = time.monotonic()
                in_hand = max(in_hand, await _in_hand(database))
                for n in range(RESIDENTS // 2, RESIDENTS):
                    _report(botapi, n)
                took_over = await until(
                    lambda: _took_over(second, session), "the other process leading", 60
                )
                handed_over = time.monotonic() - killed_at
                first.start()  # the restart
                await mails
                found = await _settled(database)
                await until(lambda: first.healthz(session), "the restarted process up", 180)
                await asyncio.sleep(2)  # a few scheduler rounds with the day's run done
                gc_after = await _gc_run(database)
            finally:
                codes = await asyncio.gather(*(node.stop() for node in nodes))
            logs = "\n".join(node.log() for node in nodes)
            assert list(codes) == [0, 0], logs

            # one poller at a time, and the other took over polling after the kill
            assert botapi.poll_conflicts(RESIDENT) == 0, logs
            assert botapi.poll_conflicts(STAFF) == 0, logs
            assert second.tap.made("getUpdates"), "the survivor never polled"
            assert POLLING in took_over["leads"] and "operations" in took_over["leads"]

            # every update taken in once; repeats only of the ones in hand at the kill
            assert found["updates"] == list(range(1, RESIDENTS + 1))
            prompts = _prompts(botapi)
            unanswered = {
                chat: [str(m.get("text"))[:80] for m in botapi.messages(RESIDENT, chat)]
                for chat in range(FIRST_CHAT, FIRST_CHAT + RESIDENTS)
                if chat not in prompts
            }
            assert not unanswered, (unanswered, in_hand, logs)
            assert sum(prompts.values()) - RESIDENTS <= in_hand, (prompts, in_hand)

            # the day's clean-up ran once, though the scheduler changed hands and restarted
            assert gc_run[0] == first.name
            assert took_over["round"] is not None
            assert gc_after == gc_run

            # a mail delivered to both processes is one ticket, acknowledged once
            titles = found["titles"]
            assert all(titles[f"Twice {n}: the boiler knocks"] == 1 for n in range(MAILS))
            # one acknowledgement each: the same one sent again (one Message-ID, which mail
            # clients show once) is the outbox's window of a send cut off by the kill
            sent = {
                (m.rcpt_tos[0], BytesHeaderParser().parsebytes(m.data)["Message-ID"])
                for m in sink.messages
                if "twice" in m.rcpt_tos[0]
            }
            acks = Counter(recipient for recipient, _ in sent)
            assert acks == {f"twice{n}@tenant.example": 1 for n in range(MAILS)}, acks
            print(
                f"\npolling: {RESIDENTS} updates, the poller killed with {in_hand} in hand,"
                f" {sum(prompts.values()) - RESIDENTS} answered twice; polling and the scheduler"
                f" led again {handed_over:.1f} s after the kill; {MAILS} mails delivered twice,"
                f" {sum(titles.values())} tickets"
            )


async def _first_leads(node: Node, session: aiohttp.ClientSession) -> bool:
    seen = await _leads(node, session)
    return {POLLING, "operations"} <= seen["leads"]


async def _took_over(node: Node, session: aiohttp.ClientSession) -> dict[str, Any] | None:
    """The survivor's leads once it polls and its scheduler has had a round."""
    seen = await _leads(node, session)
    if {POLLING, "operations"} <= seen["leads"] and seen["round"] is not None:
        return seen
    return None
