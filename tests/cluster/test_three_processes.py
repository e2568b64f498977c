"""Three ``housedesk run`` processes on one PostgreSQL database, as three machines would run
them: each with its own data directory, SMTP port and HTTP port; Telegram in webhook mode
behind a round-robin proxy; the Bot API stand-in playing Telegram; mail to a sink. Mail and
Telegram reports are spread across them while one process is killed with SIGKILL and
started again.

The issue's numbers, 600 mails and 300 reports, with blobs in PostgreSQL; a fifth of them
with blobs in the S3 stand-in. ``HOUSEDESK_CLUSTER_MAILS`` and ``HOUSEDESK_CLUSTER_REPORTS``
set both variants' numbers.
"""

from __future__ import annotations

import asyncio
import email
import itertools
import os
import re
import resource
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiohttp
import aiosmtplib
import asyncpg
import pytest

from tests.bots.support import RESIDENT, STAFF, WEBHOOK_SECRET, button_data
from tests.cluster.harness import (
    BotApiTap,
    Node,
    RoundRobin,
    base_env,
    directory,
    directory_database,
    free_port,
    run_cli,
    started,
    until,
)
from tests.conftest import _pg_admin, _pg_url
from tests.fakes.botapi import BotApiServer
from tests.fakes.botapi_updates import callback_update, message_update, private_chat, user
from tests.servers.s3_standin import KEY_ID, SECRET, S3StandIn, s3_standin
from tests.servers.smtp_sink import SmtpSink, running_sink
from tests.telegram.support import png

TECHNICIANS = 30
FIRST_CHAT = 7_000_000
MANAGER = 100001
LEADER_JOBS = {"operations", "telegram-webhook"}
PROMPT = "What is it about? Choose a topic"
REGISTERED = "is registered:"

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
__all__ = ["s3_standin"]


@dataclass(frozen=True)
class Size:
    """How much traffic a run sends."""

    mails: int
    reports: int

    @classmethod
    def of(cls, mails: int, reports: int) -> Size:
        """These numbers unless the environment says otherwise."""
        return cls(
            int(os.environ.get("HOUSEDESK_CLUSTER_MAILS", mails)),
            int(os.environ.get("HOUSEDESK_CLUSTER_REPORTS", reports)),
        )


FULL = Size.of(600, 300)
SMALL = Size.of(120, 60)
RESIDENTS = max(FULL.reports, SMALL.reports) + 1  # and one who sends a photo


@pytest.fixture(scope="module")
def cluster_template(db_template: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database with the schema and the directory, which each test copies (migrating and
    importing anew would take seconds of both tests' time)."""
    path = tmp_path_factory.mktemp("cluster") / "directory.toml"
    path.write_text(directory(RESIDENTS, TECHNICIANS, FIRST_CHAT))
    with directory_database("housedesk_cluster", db_template, path) as name:
        yield name


@pytest.fixture
async def database(cluster_template: str) -> AsyncIterator[str]:
    name = f"housedesk_cluster_{uuid.uuid4().hex[:8]}"
    await _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{cluster_template}"')
    yield _pg_url(name)
    await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Cluster:
    """The three processes and everything around them."""

    def __init__(self, root: Path, url: str, botapi: BotApiServer, sink: SmtpSink) -> None:
        self.url = url
        self.botapi = botapi
        self.nodes: list[Node] = []
        for n in range(3):
            node_root = root / f"node{n}"
            node_root.mkdir()
            tap = BotApiTap(botapi.url)
            self.nodes.append(Node(f"node{n}", node_root, {}, free_port(), free_port(), tap=tap))
        self.proxy = RoundRobin([f"http://127.0.0.1:{n.http_port}" for n in self.nodes])
        self.sink = sink
        self.leads_seen: list[tuple[float, list[tuple[str, str]]]] = []
        """When each sample began, and its (job, process) pairs."""

    def configure(self, blob_env: dict[str, str]) -> None:
        for node in self.nodes:
            node.env = base_env(
                HOUSEDESK_DATABASE__URL=self.url,
                HOUSEDESK_STORAGE__DATA_DIR=str(node.root / "data"),
                HOUSEDESK_EMAIL__SMTP_LISTEN=f"127.0.0.1:{node.smtp_port}",
                HOUSEDESK_EMAIL__ACKS_PER_SENDER_PER_HOUR="100",
                HOUSEDESK_EMAIL__OUTGOING__HOST="127.0.0.1",
                HOUSEDESK_EMAIL__OUTGOING__PORT=str(self.sink.port),
                HOUSEDESK_HTTP__LISTEN=f"127.0.0.1:{node.http_port}",
                HOUSEDESK_TELEGRAM__API_BASE=node.tap.url,
                HOUSEDESK_TELEGRAM__RESIDENT_TOKEN=RESIDENT,
                HOUSEDESK_TELEGRAM__STAFF_TOKEN=STAFF,
                HOUSEDESK_TELEGRAM__MODE="webhook",
                HOUSEDESK_TELEGRAM__WEBHOOK_URL=self.proxy.url,
                HOUSEDESK_TELEGRAM__WEBHOOK_SECRET=WEBHOOK_SECRET,
                HOUSEDESK_TELEGRAM__UPDATE_LEASE_S="10",
                HOUSEDESK_TELEGRAM__MESSAGES_PER_SECOND="300",
                HOUSEDESK_TELEGRAM__REPORTS_PER_HOUR="100",
                HOUSEDESK_OUTBOX__LEASE_S="10",  # renewed every 3 s even on a loaded machine
                HOUSEDESK_OUTBOX__BASE_DELAY_S="0.2",
                HOUSEDESK_OUTBOX__POLL_INTERVAL_S="1",
                HOUSEDESK_OPERATIONS__TICK_INTERVAL_S="2",
                HOUSEDESK_OPERATIONS__DIGEST_TIME="00:00",  # the manager's digest is due
                HOUSEDESK_CLUSTER__NODE_ID=node.name,
                HOUSEDESK_CLUSTER__LEADER_CHECK_S="0.5",
                HOUSEDESK_SERVICE__LOG_LEVEL="WARNING",
                **blob_env,
            )

    async def watch_leads(self, session: aiohttp.ClientSession, stop: asyncio.Event) -> None:
        """Sample every process's leads twice a second."""
        while not stop.is_set():
            began = time.monotonic()
            sample: list[tuple[str, str]] = []
            for node in self.nodes:
                health = await node.healthz(session)
                cluster = (health or {}).get("cluster") or {}
                sample += [(job, node.name) for job in cluster.get("leads", [])]  # type: ignore[union-attr]
            self.leads_seen.append((began, sample))
            await asyncio.sleep(0.5)

    def webhook_set(self) -> bool:
        """Whether a process has set the webhook; fails at once when one has exited."""
        for node in self.nodes:
            if node.process is not None and node.process.poll() is not None:
                raise AssertionError(f"{node.name} exited at start-up:\n{node.log()}")
        return any(node.tap.made("setWebhook") for node in self.nodes)

    async def in_flight(self) -> set[int]:
        """The outbox rows some process is sending now (leased, not yet recorded)."""
        conn = await asyncpg.connect(self.url.replace("postgres://", "postgresql://", 1))
        try:
            rows = await conn.fetch(
                "SELECT id FROM outbox WHERE status = 'pending' AND locked_until > now()"
            )
            return {row["id"] for row in rows}
        finally:
            await conn.close()


def _bot_says(botapi: BotApiServer, chat: int, fragment: str) -> dict[str, Any] | None:
    for message in botapi.messages(RESIDENT, chat):
        text = str(message.get("text") or message.get("caption") or "")
        if message["from"]["is_bot"] and fragment in text:
            return message
    return None


async def _send_mails(cluster: Cluster, count: int, accepted: list[str]) -> None:
    """An MTA with three MX hosts: each mail to the next process, another when one is down."""
    ports = [node.smtp_port for node in cluster.nodes]
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(count):
        queue.put_nowait(n)

    async def worker() -> None:
        while not queue.empty():
            n = queue.get_nowait()
            mail = EmailMessage()
            mail["From"] = f"Tenant {n} <tenant{n}@tenant.example>"
            mail["To"] = "help@housedesk.localhost"
            mail["Subject"] = f"Mail {n}: the heating is off"
            mail["Message-ID"] = f"<cluster-{n}@tenant.example>"
            mail.set_content(f"Mail {n}: no heating in the flat since this morning.")
            for attempt in range(60):
                port = ports[(n + attempt) % 3]
                try:
                    await aiosmtplib.send(
                        mail, hostname="127.0.0.1", port=port, timeout=30, start_tls=False
                    )
                except (aiosmtplib.SMTPException, OSError):
                    await asyncio.sleep(0.2)
                    continue
                accepted.append(mail["Message-ID"])
                break

    await asyncio.gather(*(worker() for _ in range(6)))


async def _report(botapi: BotApiServer, n: int, pressed: dict[int, str]) -> None:
    """Resident ``n`` writes, is asked for a topic, picks Technical problem, gets a number."""
    chat = FIRST_CHAT + n
    person = user(chat, f"Resident {n}")
    botapi.add_update(
        RESIDENT, message_update(person, private_chat(person), f"Report {n}: the tap drips")
    )
    prompt = await until(lambda: _bot_says(botapi, chat, PROMPT), f"the topic prompt of {n}")
    update = botapi.add_update(
        RESIDENT,
        callback_update(
            person,
            prompt["message_id"],
            button_data(prompt, "Technical problem"),
            chat=private_chat(person),
        ),
    )
    pressed[chat] = str(update["callback_query"]["id"])
    await until(lambda: _bot_says(botapi, chat, REGISTERED), f"the number of report {n}")


async def _reports(botapi: BotApiServer, count: int, pressed: dict[int, str]) -> None:
    """``count`` residents report at once, 60 at a time."""
    limit = asyncio.Semaphore(60)

    async def one(n: int) -> None:
        async with limit:
            await _report(botapi, n, pressed)

    await asyncio.gather(*(one(n) for n in range(count)))


@dataclass(frozen=True)
class Kill:
    """What :func:`_photo_through_another_process` did."""

    taker: str
    """The process that took the photo in, and was killed."""
    sender: str
    """The process that sent the technician's card with the photo."""
    in_flight: int
    """Outbox rows in flight at the kill."""
    at: float
    """When (``time.monotonic``)."""


async def _photo_through_another_process(cluster: Cluster, chat: int) -> Kill:
    """A resident's photo report is taken in by one process, which is then killed while the
    technician's card with the photo fails (until the kill); another process sends it."""
    botapi = cluster.botapi
    person = user(chat, "Photo Resident")
    photo = png(64, 48, "green")
    file_id = botapi.add_file(RESIDENT, photo, file_path="photos/cluster.png")
    botapi.fail_next(STAFF, "sendPhoto", "500", count=1000)  # until the kill
    botapi.add_update(
        RESIDENT,
        message_update(
            person, private_chat(person), photo_file_id=file_id, caption="The window is broken"
        ),
    )

    def took_it_in() -> Node | None:
        return next((n for n in cluster.nodes if n.tap.made("getFile", file_id=file_id)), None)

    prompt = await until(lambda: _bot_says(botapi, chat, PROMPT), "the photo's topic prompt")
    botapi.add_update(
        RESIDENT,
        callback_update(
            person,
            prompt["message_id"],
            button_data(prompt, "Technical problem"),
            chat=private_chat(person),
        ),
    )
    taker: Node = await until(took_it_in, "the photo taken in")  # with the report, filed
    await until(lambda: botapi.calls(STAFF, "sendPhoto"), "the card's first, failing, attempt")
    leased = await cluster.in_flight()
    killed_at = time.monotonic()
    await taker.kill()
    botapi.clear_faults(STAFF, "sendPhoto")
    in_flight = len(leased | await cluster.in_flight())  # the dead one's leases run on

    def card_sender() -> Node | None:
        return next((n for n in cluster.nodes if n.tap.made("sendPhoto")), None)

    sender: Node = await until(card_sender, "the card with the photo", timeout=60)
    sent = [c for c in botapi.calls(STAFF, "sendPhoto") if c.fault is None]
    assert sent and next(iter(sent[-1].files.values())).data == photo
    taker.start()
    return Kill(taker.name, sender.name, in_flight, killed_at)


async def _settled(cluster: Cluster, expected_tickets: int) -> dict[str, Any]:
    conn = await asyncpg.connect(cluster.url.replace("postgres://", "postgresql://", 1))
    try:

        async def done() -> bool:
            tickets = await conn.fetchval("SELECT count(*) FROM ticket")
            waiting = await conn.fetchval("SELECT count(*) FROM outbox WHERE status = 'pending'")
            updates = await conn.fetchval(
                "SELECT count(*) FROM inbound_update WHERE handled_at IS NULL"
            )
            return bool(tickets >= expected_tickets and waiting == 0 and updates == 0)

        await until(done, "every ticket made and every message sent", timeout=120)
        return {
            "titles": Counter(r["title"] for r in await conn.fetch("SELECT title FROM ticket")),
            "outbox": Counter(
                (r["channel"], r["status"])
                for r in await conn.fetch("SELECT channel, status FROM outbox")
            ),
        }
    finally:
        await conn.close()


def _cpu() -> tuple[float, float]:
    """CPU seconds so far of this process (the harness) and of its ended children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


async def _run_cluster(tmp_path: Path, url: str, size: Size, blob_env: dict[str, str]) -> None:
    async with BotApiServer(webhook_retry_delay=0.05) as botapi, running_sink() as sink:
        botapi.add_bot(RESIDENT, username="oak_resident_bot")
        botapi.add_bot(STAFF, username="oak_staff_bot")
        cluster = Cluster(tmp_path, url, botapi, sink)
        async with started(cluster.proxy, *(node.tap for node in cluster.nodes)):
            cluster.configure(blob_env)
            cpu_before = _cpu()
            times = [time.monotonic()]
            for node in cluster.nodes:
                node.start()
            stop_watch = asyncio.Event()
            session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5))
            watcher = asyncio.create_task(cluster.watch_leads(session, stop_watch))
            try:
                await until(cluster.webhook_set, "a leader setting the webhook", timeout=180)
                times.append(time.monotonic())
                accepted: list[str] = []
                pressed: dict[int, str] = {}
                mails = asyncio.create_task(_send_mails(cluster, size.mails, accepted))
                reports = asyncio.create_task(_reports(botapi, size.reports, pressed))
                await until(
                    lambda: len(pressed) >= size.reports // 3 or reports.done(),
                    "a third of the reports",
                    timeout=180,
                )
                # the kill comes while reports and mails keep arriving
                kill = await _photo_through_another_process(cluster, FIRST_CHAT + size.reports)
                await reports
                await mails
                times.append(time.monotonic())
                found = await _settled(cluster, len(accepted) + size.reports + 1)
                for node in cluster.nodes:  # the restarted one too is up again
                    await until(lambda n=node: n.healthz(session), f"{node.name} up", 180)
                times.append(time.monotonic())
                status = await run_cli(cluster.nodes[0].root, cluster.nodes[0].env, "status")
            finally:
                stop_watch.set()
                await watcher
                await session.close()
                codes = await asyncio.gather(*(node.stop() for node in cluster.nodes))
            times.append(time.monotonic())
            cpu = [after - before for before, after in zip(cpu_before, _cpu(), strict=True)]
            logs = "\n".join(node.log() for node in cluster.nodes)
            assert list(codes) == [0, 0, 0], logs

            # every accepted message is exactly one ticket
            assert len(accepted) == size.mails
            titles = found["titles"]
            assert all(titles[f"Mail {n}: the heating is off"] == 1 for n in range(size.mails))
            assert all(titles[f"Report {n}: the tap drips"] == 1 for n in range(size.reports))
            assert sum(titles.values()) == size.mails + size.reports + 1, titles.most_common(3)

            # every outbox row sent; repeats only of rows in flight at the kill
            assert set(found["outbox"]) <= {
                ("email", "sent"),
                ("resident_chat", "sent"),
                ("staff_chat", "sent"),
            }, found["outbox"]
            ids = Counter(email.message_from_bytes(m.data)["Message-ID"] for m in sink.messages)
            assert len(ids) == found["outbox"][("email", "sent")]
            repeats = sum(ids.values()) - len(ids)
            cards = Counter(  # a card's text names its ticket: the same text twice is a repeat
                (c.params.get("chat_id"), c.params.get("text") or c.params.get("caption"))
                for node in cluster.nodes
                for c in node.tap.calls
                if c.method in ("sendMessage", "sendPhoto")
                and c.status == 200
                and str(c.params.get("chat_id", "")).startswith("2000")
            )
            staff_repeats = sum(n - 1 for n in cards.values())
            assert repeats + staff_repeats <= kill.in_flight, (repeats, staff_repeats, kill)

            # the photo went in through one process and out through another
            assert kill.taker != kill.sender

            # a conversation begun on one process went on on another
            asked_by = {
                int(c.params["chat_id"]): node.name
                for node in cluster.nodes
                for c in node.tap.made("sendMessage")
                if c.params.get("text", "").startswith(PROMPT[:20])
            }
            pressed_on = {
                cq: node.name
                for node in cluster.nodes
                for c in node.tap.made("answerCallbackQuery")
                for cq in [c.params.get("callback_query_id")]
            }
            moved = sum(
                1
                for chat, cq in pressed.items()
                if asked_by.get(chat) not in (None, pressed_on.get(cq))
            )
            assert moved >= size.reports // 10, (moved, len(asked_by), len(pressed_on))

            # each periodic job led by one process at a time, the scheduler among them
            for _began, sample in cluster.leads_seen:
                jobs = [job for job, _node in sample]
                assert len(jobs) == len(set(jobs)), sample
            whole = [  # samples where every job shows a leader (a slow /healthz may not)
                (began, sample)
                for began, sample in cluster.leads_seen
                if {job for job, _node in sample} >= LEADER_JOBS
            ]
            before = [sample for began, sample in whole if began < kill.at]
            assert before, cluster.leads_seen[:5]
            victim_led = sorted(job for job, node in before[-1] if node == kill.taker)
            # what the killed process led has a leader again within a minute
            handed_over = next((began - kill.at for began, _ in whole if began > kill.at), 1e9)
            assert handed_over < 60, (handed_over, victim_led)
            digests = Counter(  # a scheduler job: the manager's daily digest, due at once
                c.params["text"].splitlines()[0]  # "Daily digest for <date>"
                for node in cluster.nodes
                for c in node.tap.made("sendMessage", chat_id=str(MANAGER))
                if c.params.get("text", "").startswith("Daily digest for")
            )
            assert digests and set(digests.values()) == {1}, digests
            # housedesk status: the processes, the leaders, the lanes
            assert status.startswith("processes: 3 running"), status
            assert all(f"  {node.name} " in status for node in cluster.nodes), status
            assert re.search(r"^leaders:\n(  \S+ +node\d\n)+outbox lanes:", status, re.M), status
            start_up, traffic, settling, stopping = (
                later - earlier for earlier, later in itertools.pairwise(times)
            )
            print(
                f"\ncluster: {size.mails} mails and {size.reports} reports through 3 processes;"
                f" photo in through {kill.taker}, out through {kill.sender};"
                f" {moved} conversations moved; {kill.in_flight} rows in flight at the kill,"
                f" {repeats + staff_repeats} repeated; the killed process led {victim_led},"
                f" led again {handed_over:.1f} s later."
                f" Start-up {start_up:.1f} s, traffic {traffic:.1f} s, settling {settling:.1f} s,"
                f" status and stop {stopping:.1f} s; CPU: harness {cpu[0]:.1f} s,"
                f" housedesk processes {cpu[1]:.1f} s"
            )


async def test_three_processes_with_blobs_in_postgres(tmp_path: Path, database: str) -> None:
    await _run_cluster(tmp_path, database, FULL, {"HOUSEDESK_BLOBS__STORE": "postgres"})


async def test_three_processes_with_blobs_in_the_s3_standin(
    tmp_path: Path, database: str, s3_standin: S3StandIn
) -> None:
    """The same with a fifth of the traffic: what the blob store changes is the photo, which
    goes through S3 all the same, and the kill still comes with reports and mails in flight,
    conversations moving and a scheduler job to run once; the full numbers would add a
    minute to the suite and show nothing more."""
    bucket = s3_standin.new_bucket()
    await _run_cluster(
        tmp_path,
        database,
        SMALL,
        {
            "HOUSEDESK_BLOBS__STORE": "s3",
            "HOUSEDESK_BLOBS__S3__ENDPOINT_URL": s3_standin.url,
            "HOUSEDESK_BLOBS__S3__BUCKET": bucket,
            "HOUSEDESK_BLOBS__S3__ACCESS_KEY_ID": KEY_ID,
            "HOUSEDESK_BLOBS__S3__SECRET_ACCESS_KEY": SECRET,
            "HOUSEDESK_BLOBS__S3__ADDRESSING_STYLE": "path",
        },
    )
