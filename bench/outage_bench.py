"""The outage day: a burst of reports while an announcement, the scheduler and a report run.

One building with 2,000 registered residents, in a database of 1,000,000 tickets (and
12,000 open ones more, 2,000 of them due a deadline check: the scheduler has work). Within
five minutes 1,000 residents report a problem by Telegram (in bursts of 100 within 10 s:
they write, get the topic menu, press "Technical"), 300 tenants write to the help address
over SMTP and 30 voicemails are posted to ``/api/voicemail``, while housedesk runs as
``housedesk run`` runs it (both bots polling, SMTP intake, outbox lanes, scheduler). In the
*outage day* run the building's manager also sends ``/announce`` to all residents and
``/report month`` a little later; the *baseline* run is the same day without those two,
each on a fresh copy of the seeded database.

Telegram is the Bot API stand-in with Telegram's limits (30 messages/s per bot, a burst of
ten per private chat, 20/minute per group, 4,096 characters); the mail relay is an SMTP
sink. Both, and the people, run in a process of their own (the outside world, as real
Telegram is), so the event loop measured is housedesk's, and neither the stand-in's CPU nor
its garbage (it keeps every call) share housedesk's interpreter. Printed per run: p50/p99
from a resident's first message (a tenant's mail) to the acknowledgement handed to the
stand-in (the sink); the same for technicians' assignment cards; the worst event-loop lag;
messages lost (never delivered by the end) or sent twice (the same text to the same chat,
or one Message-ID twice), 429s.

Targets: p99 acknowledgement under 3 s and under 2x the baseline's, worst loop lag under
100 ms, nothing lost or doubled, on SQLite and PostgreSQL.
``python -m bench.outage_bench [--db sqlite|postgres] [--scale 0.1]``: ``--scale``
shrinks every count and the five minutes alike (0.05 is a one-minute check).

The phases are functions of their own, so a variant adds one: :class:`Scenario` lists the
extra events of a run (see :data:`OUTAGE_DAY`), each an async function of the
:class:`World` started at a share of the window.

``--incident`` runs the day with the outage known: the manager opens an incident for the
building first (``/incident open DAY …``), each resident is shown it and presses "that's my
problem too". Printed: p99 from a resident's message to the incident's answer (target under
2 s) and the Telegram messages sent per report, both bots, against the baseline day's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import inspect
import io
import logging
import multiprocessing
import re
import shutil
import socket
import statistics
import tempfile
import time
import wave
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import aiosmtplib
from tortoise import connections

from bench.loop_bench import Ticker
from bench.per_database import run_each_database
from bench.seeding import (
    NOW,
    Extras,
    Seed,
    Seeded,
    as_tortoise_url,
    cached_postgres,
    database_dsn,
    extra_sql,
    fresh_seed_option,
    postgres_database,
    seeded_sqlite,
)
from bots.callbacks import Menu, MenuItem
from core.storage.db import close_db, open_db, sqlite_url
from core.storage.models import Building, Ticket
from housedesk.bootstrap import bootstrap
from housedesk.run import serve
from housedesk.settings.config import Settings
from presentation.directory_file import import_directory_file
from tests.fakes.botapi import BotApiServer
from tests.fakes.botapi_limits import TELEGRAM_LIMITS, counts_as_message
from tests.fakes.botapi_updates import callback_update, message_update, private_chat, user
from tests.servers.smtp_sink import SmtpSink, running_sink

T = TypeVar("T")

RESIDENT_TOKEN = "720000001:AAoutageBenchResidentTokenNeverSent-0"
STAFF_TOKEN = "720000002:AAoutageBenchStaffTokenNeverSent-000"
VOICEMAIL_TOKEN = "outage-bench-voicemail"
HELP = "help@day.example"
BUILDING_PHONE = "+442079460500"
MANAGER_CHAT = 7_100_001
TECHNICIAN_CHATS = tuple(range(7_100_010, 7_100_014))
CHAT_BASE = 8_000_000_000
ANNOUNCEMENT = "Water is off on Friday from 9 to 12 for repairs."
ACK = "is registered"
MENU_TEXT = "What is it about?"
SETTLE_S = 180.0
TARGET_P99_S, TARGET_RATIO, TARGET_LAG_S = 3.0, 2.0, 0.100

DIRECTORY = f"""
[[categories]]
code = "technical"
names = {{ en = "Technical problem" }}
priority = 3
response_minutes = 240
resolution_minutes = 1620
trade = "general"

[[categories]]
code = "emergency"
names = {{ en = "Emergency" }}
priority = 1
emergency = true
response_minutes = 30
resolution_minutes = 4320
trade = "general"

[[buildings]]
code = "DAY"
name = "Outage Court"
timezone = "UTC"
language = "en"
phone = "{BUILDING_PHONE}"
units = ["1-10"]

[[staff]]
name = "Mia Manager"
role = "manager"
telegram_id = {MANAGER_CHAT}
buildings = ["DAY"]
""" + "".join(
    f"""
[[staff]]
name = "Technician {chat}"
role = "technician"
telegram_id = {chat}
buildings = ["DAY"]
trades = ["general"]
"""
    for chat in TECHNICIAN_CHATS
)


@dataclass(frozen=True)
class Load:
    """The day's sizes: the issue's at ``scale`` 1."""

    scale: float
    tickets: int
    open_tickets: int
    due: int
    residents: int
    reports: int
    burst: int
    burst_s: float
    mails: int
    voicemails: int
    window_s: float

    @classmethod
    def at(cls, scale: float) -> Load:
        """Every count and the window times ``scale`` (at least one of each)."""

        def n(full: int) -> int:
            return max(1, round(full * scale))

        return cls(
            scale=scale,
            tickets=n(1_000_000),
            open_tickets=n(12_000),
            due=n(2_000),
            residents=n(2_000),
            reports=n(1_000),
            burst=n(100),
            burst_s=10.0,
            mails=n(300),
            voicemails=n(30),
            window_s=max(20.0, 300.0 * scale),
        )


@dataclass
class World:
    """The running housedesk's outside: Telegram, the mail relay, the people, and what
    they handed over when (monotonic seconds)."""

    telegram: BotApiServer
    relay: SmtpSink
    smtp_port: int
    http_port: int
    load: Load
    chats: list[int]
    reported: dict[int, float] = field(default_factory=dict)
    """Resident chat -> when their first message went to the stand-in."""
    mailed: dict[str, float] = field(default_factory=dict)
    """Tenant address -> when their mail was accepted."""
    voicemails_refused: int = 0
    announced: bool = False
    start: float = 0.0

    async def at(self, share: float) -> None:
        """Sleep until ``share`` of the window has passed."""
        await asyncio.sleep(max(0.0, self.start + share * self.load.window_s - time.monotonic()))


Extra = Callable[[World], Awaitable[None]]


@dataclass(frozen=True)
class Scenario:
    """A run: the inbound load, plus ``extras`` started at their share of the window."""

    name: str
    extras: tuple[tuple[float, Extra], ...] = ()


@dataclass
class Outcome:
    """One run's figures."""

    acks: list[float]
    mail_acks: list[float]
    cards: list[float]
    lag_s: float
    lag_at_s: float
    """Seconds into the window the worst lag happened (negative: before it began)."""
    lost: int
    doubled: int
    refused: int
    warnings: int
    menus: list[float] = field(default_factory=list)
    """Seconds from each resident's message to the topic menu (part of the acknowledgement's
    time: the resident presses a topic before the report is filed)."""

    def measured(self, ticker: Ticker, warnings: int) -> Outcome:
        """With housedesk's worst loop lag and its log lines at WARNING+ (``lag_at_s`` held
        the window's start, monotonic seconds: the same clock in both processes)."""
        return replace(
            self, lag_s=ticker.worst, lag_at_s=ticker.worst_at - self.lag_at_s, warnings=warnings
        )

    @property
    def every_ack(self) -> list[float]:
        """Telegram and mail acknowledgements together."""
        return sorted(self.acks + self.mail_acks)

    def line(self) -> str:
        """The run's figures as one line."""
        return (
            f"acknowledgement {_spread(self.acks)} (Telegram), {_spread(self.mail_acks)} (mail); "
            f"of which the topic menu {_spread(self.menus)}; "
            f"assignment card {_spread(self.cards)}; worst loop lag {self.lag_s * 1000:.0f} ms "
            f"(at {self.lag_at_s:.0f} s); "
            f"{self.lost} lost, {self.doubled} sent twice, {self.refused} 429s, "
            f"{self.warnings} log lines at WARNING+"
        )


def p99(values: list[float]) -> float:
    """The 99th percentile (nan for none)."""
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100)[-1]


def _spread(values: list[float]) -> str:
    if not values:
        return "none"
    return f"p50 {statistics.median(values):.2f} s / p99 {p99(values):.2f} s"


# -- the people ---------------------------------------------------------------------------


async def _menu_id(world: World, chat: int, deadline: float) -> int | None:
    """The topic menu's message id once the bot sent it to ``chat``."""
    while time.monotonic() < deadline:
        for message in world.telegram.messages(RESIDENT_TOKEN, chat):
            if MENU_TEXT in str(message.get("text", "")):
                return int(message["message_id"])
        await asyncio.sleep(0.05)
    return None


async def report(world: World, n: int) -> None:
    """Resident ``n`` writes what is wrong, gets the topic menu and presses "Technical"."""
    chat = world.chats[n]
    person = user(chat, f"Resident {n}")
    where = private_chat(person)
    world.reported[chat] = time.monotonic()
    world.telegram.add_update(
        RESIDENT_TOKEN, message_update(person, where, f"No hot water in flat R{n} since 7 am")
    )
    menu = await _menu_id(world, chat, time.monotonic() + SETTLE_S)
    if menu is not None:
        data = Menu(item=MenuItem.TECHNICAL).pack()
        world.telegram.add_update(RESIDENT_TOKEN, callback_update(person, menu, data, chat=where))


async def reports(world: World, resident: Callable[[World, int], Awaitable[None]] = report) -> None:
    """The residents' reports (``resident`` writes one): bursts of ``burst`` within
    ``burst_s`` over the window."""
    load = world.load
    bursts = max(1, -(-load.reports // load.burst))

    async def one(n: int) -> None:
        burst, within = divmod(n, load.burst)
        await world.at(burst / bursts)
        await asyncio.sleep(load.burst_s * within / load.burst)
        await resident(world, n)

    await asyncio.gather(*(one(n) for n in range(load.reports)))


def _mail(n: int) -> tuple[str, bytes]:
    sender = f"tenant{n}@tenants.example"
    msg = EmailMessage()
    msg["From"] = f"Tenant {n} <{sender}>"
    msg["To"] = HELP
    msg["Subject"] = f"Heating off in flat {n}"
    msg["Message-ID"] = f"<outage-{n}@tenants.example>"
    msg.set_content("The radiators have been cold since this morning.\n")
    return sender, msg.as_bytes()


async def mails(world: World) -> None:
    """The tenants' mails, evenly over the window, one SMTP session each."""

    async def one(n: int) -> None:
        await world.at(n / world.load.mails)
        sender, raw = _mail(n)
        await aiosmtplib.send(raw, sender=sender, recipients=[HELP], port=world.smtp_port)
        world.mailed[sender] = time.monotonic()

    await asyncio.gather(*(one(n) for n in range(world.load.mails)))


def _silence() -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(8000)
        audio.writeframes(b"\0\0" * 8000)
    return buffer.getvalue()


async def voicemails(world: World) -> None:
    """The after-hours voicemails, posted by the PBX evenly over the window."""
    audio = _silence()
    url = f"http://127.0.0.1:{world.http_port}/api/voicemail"
    headers = {"Authorization": f"Bearer {VOICEMAIL_TOKEN}"}

    async def one(session: aiohttp.ClientSession, n: int) -> None:
        await world.at(n / world.load.voicemails)
        form = aiohttp.FormData()
        form.add_field("audio", audio, filename="msg.wav", content_type="audio/wav")
        form.add_field("caller", f"+4477009{n:05}")
        form.add_field("called", BUILDING_PHONE)
        async with session.post(url, data=form, headers=headers) as response:
            if response.status != 202:
                world.voicemails_refused += 1

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(one(session, n) for n in range(world.load.voicemails)))


def _manager_says(world: World, text: str) -> None:
    person = user(MANAGER_CHAT, "Mia Manager")
    world.telegram.add_update(STAFF_TOKEN, message_update(person, private_chat(person), text))


async def announce(world: World) -> None:
    """The manager announces the water cut to every resident of the building: the command,
    then "send" under the count of residents it will reach."""
    world.announced = True
    _manager_says(world, f"/announce DAY {ANNOUNCEMENT}")
    deadline = time.monotonic() + SETTLE_S
    while time.monotonic() < deadline:
        for message in world.telegram.messages(STAFF_TOKEN, MANAGER_CHAT):
            rows = message.get("reply_markup", {}).get("inline_keyboard", [])
            for button in (b for row in rows for b in row if b["text"].startswith("Send to")):
                person = user(MANAGER_CHAT, "Mia Manager")
                press = callback_update(
                    person,
                    message["message_id"],
                    button["callback_data"],
                    chat=private_chat(person),
                )
                world.telegram.add_update(STAFF_TOKEN, press)
                return
        await asyncio.sleep(0.05)


async def monthly_report(world: World) -> None:
    """The manager asks for the monthly report (text and chart)."""
    _manager_says(world, "/report month")


BASELINE = Scenario("baseline")
OUTAGE_DAY = Scenario("outage day", ((0.2, announce), (0.3, monthly_report)))


# -- what arrived ---------------------------------------------------------------------------


@dataclass
class Tally:
    """What the stand-in and the sink accepted, read after (or during) a run."""

    acks: dict[int, list[tuple[float, str]]]
    cards: dict[int, float]
    mail_acks: dict[str, float]
    announced_to: int
    doubled: int
    menus: dict[int, float] = field(default_factory=dict)

    @classmethod
    def read(cls, world: World) -> Tally:
        """Scan every accepted message once."""
        acks: dict[int, list[tuple[float, str]]] = {}
        cards: dict[int, float] = {}
        menus: dict[int, float] = {}
        seen: Counter[tuple[str, int, str]] = Counter()
        announced_to = 0
        for token in (RESIDENT_TOKEN, STAFF_TOKEN):
            for call in world.telegram.calls(token):
                if call.fault is not None or not counts_as_message(call.method):
                    continue
                chat, text = int(call.params.get("chat_id", 0)), str(call.params.get("text", ""))
                if re.search(r"#\d+", text) or ANNOUNCEMENT in text:
                    seen[token, chat, text] += 1  # one ticket's (or the announcement's) text
                    # twice in a chat is a message sent twice; other texts may repeat (the
                    # same note about each of 30 voicemails to one technician)
                if token == RESIDENT_TOKEN and ACK in text:
                    acks.setdefault(chat, []).append((call.at, text))
                elif token == RESIDENT_TOKEN and ANNOUNCEMENT in text:
                    announced_to += 1
                elif token == RESIDENT_TOKEN and MENU_TEXT in text:
                    menus.setdefault(chat, call.at)
                elif token == STAFF_TOKEN and (card := re.match(r"#(\d+) · ", text)):
                    cards.setdefault(int(card[1]), call.at)
        mail_acks: dict[str, float] = {}
        ids: Counter[str] = Counter()
        for message in world.relay.messages:
            ids[_message_id(message.data)] += 1
            for rcpt in message.rcpt_tos:
                mail_acks.setdefault(rcpt.lower(), message.at)
        doubled = sum(n - 1 for n in seen.values() if n > 1)
        doubled += sum(n - 1 for n in ids.values() if n > 1)
        return cls(acks, cards, mail_acks, announced_to, doubled, menus)

    def complete(self, world: World) -> bool:
        """Every report acknowledged and carded, every mail answered, the announcement out."""
        return (
            len(self.acks) >= len(world.reported)
            and len(self.cards) >= len(world.reported)
            and len(self.mail_acks) >= len(world.mailed)
            and (not world.announced or self.announced_to >= world.load.residents)
        )

    def outcome(self, world: World) -> Outcome:
        """Latencies from the inbound message, and what never came (the loop's lag and the
        warnings are housedesk's: :meth:`Outcome.measured` adds them)."""
        acks, cards = [], []
        for chat, at in world.reported.items():
            got = self.acks.get(chat)
            if not got:
                continue
            acks.append(got[0][0] - at)
            if (ref := re.search(r"#(\d+)", got[0][1])) and int(ref[1]) in self.cards:
                cards.append(self.cards[int(ref[1])] - at)
        mail = [self.mail_acks[s] - at for s, at in world.mailed.items() if s in self.mail_acks]
        lost = (world.load.reports - len(acks)) + (world.load.mails - len(mail))
        lost += world.voicemails_refused
        if world.announced:
            lost += max(0, world.load.residents - self.announced_to)
        refused = sum(world.telegram.flood_refusals(t) for t in (RESIDENT_TOKEN, STAFF_TOKEN))
        return Outcome(
            sorted(acks),
            sorted(mail),
            sorted(cards),
            0.0,
            world.start,
            lost,
            self.doubled,
            refused,
            0,
            sorted(self.menus[c] - at for c, at in world.reported.items() if c in self.menus),
        )


def _message_id(raw: bytes) -> str:
    found = re.search(rb"^Message-ID:\s*(\S+)", raw, re.IGNORECASE | re.MULTILINE)
    return found[1].decode() if found else ""


# -- the phases -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Ports:
    """Where housedesk finds the outside world, and where it listens for it."""

    telegram_url: str
    relay: int
    smtp: int
    http: int


OutsideJob = Callable[..., Coroutine[Any, Any, T]]


class Outside:
    """The outside world in a process of its own: :meth:`start` it, then :meth:`run` one
    job (a module-level async function of the :class:`World`, so it can be named to the
    child) and :meth:`close` it."""

    def __init__(self, load: Load, chats: list[int]) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, self._child = context.Pipe()
        self._process = context.Process(
            target=_outside_main, args=(self._child, load, chats), name="outside", daemon=True
        )

    async def start(self) -> Ports:
        """Start the process; where its stand-in, relay and people are."""
        self._process.start()
        self._child.close()  # the child's end is the child's: its exit ends our reads
        ports: Ports = await self._receive()
        return ports

    async def run(self, job: OutsideJob[T], *args: Any) -> T:
        """Run ``job(world, *args)`` in the outside process; its result."""
        self._conn.send((job, args))
        result: T = await self._receive()
        return result

    async def _receive(self) -> Any:
        answer = await asyncio.to_thread(self._conn.recv)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def close(self) -> None:
        """Stop the process (if it started)."""
        if self._process.pid is None:
            return
        with contextlib.suppress(OSError):
            self._conn.send(None)
        self._process.join(timeout=30)
        if self._process.is_alive():
            self._process.kill()


def _outside_main(conn: Connection, load: Load, chats: list[int]) -> None:
    logging.basicConfig(level=logging.WARNING, format="outside %(levelname)s %(name)s: %(message)s")
    asyncio.run(_outside(conn, load, chats))


async def _outside(conn: Connection, load: Load, chats: list[int]) -> None:
    """The outside process: the stand-in (with Telegram's limits) and the relay, then the
    jobs the parent names, until it sends None."""
    async with BotApiServer(limits=TELEGRAM_LIMITS) as telegram, running_sink() as relay:
        telegram.add_bot(RESIDENT_TOKEN, username="outage_resident_bot")
        telegram.add_bot(STAFF_TOKEN, username="outage_staff_bot")
        world = World(telegram, relay, _free_port(), _free_port(), load, chats)
        conn.send(Ports(telegram.url, relay.port, world.smtp_port, world.http_port))
        while (asked := await asyncio.to_thread(conn.recv)) is not None:
            job, args = asked
            try:
                conn.send(await job(world, *args))
            except Exception as exc:  # the parent raises it
                conn.send(exc)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def prepare(url: str, load: Load) -> None:
    """Add the day's building, staff and registered residents to a seeded database."""
    await open_db(url)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "directory.toml"
            path.write_text(DIRECTORY)
            await import_directory_file(path)
        building = await Building.get(code="DAY")
        extras = Extras(residents=load.residents, building_id=building.id, chat_base=CHAT_BASE)
        postgres = not url.startswith("sqlite")
        for sql in extra_sql(extras, postgres=postgres):
            await connections.get("default").execute_script(sql)
    finally:
        await close_db()


async def resident_chats(url: str) -> list[int]:
    """The residents' chat ids, in their order."""
    await open_db(url)
    try:
        rows = await connections.get("default").execute_query_dict(
            "SELECT value FROM contact WHERE kind = 'chat' ORDER BY person_id"
        )
    finally:
        await close_db()
    return [int(row["value"]) for row in rows if int(row["value"]) >= CHAT_BASE]


def settings(url: str, data: Path, ports: Ports) -> Settings:
    """housedesk's configuration for the day: every channel on, pointed at the outside."""
    return Settings(
        database={"url": url},
        storage={"data_dir": data},
        http={"listen": f"127.0.0.1:{ports.http}"},
        email={
            "help_address": HELP,
            "smtp_listen": f"127.0.0.1:{ports.smtp}",
            "authentication": "none",
            "outgoing": {"host": "127.0.0.1", "port": ports.relay},
        },
        voicemail={"http_token": VOICEMAIL_TOKEN},
        telegram={
            "api_base": ports.telegram_url,
            "resident_token": RESIDENT_TOKEN,
            "staff_token": STAFF_TOKEN,
            "polling_timeout_s": 1,
        },
    )


@contextlib.asynccontextmanager
async def serving(url: str, load: Load, chats: list[int]) -> AsyncIterator[tuple[Outside, Ticker]]:
    """The outside world started, housedesk serving against it, its loop's lag measured."""
    outside = Outside(load, chats)
    try:
        ports = await outside.start()
        with tempfile.TemporaryDirectory() as data:
            app = bootstrap(settings(url, Path(data), ports))
            ready, stop = asyncio.Event(), asyncio.Event()
            running = asyncio.create_task(serve(app, ready=ready, stop=stop))
            await ready.wait()
            try:
                async with Ticker() as ticker:
                    yield outside, ticker
            finally:
                stop.set()
                await running
    finally:
        outside.close()


async def day(world: World, scenario: Scenario) -> Outcome:
    """The window's inbound load and the scenario's extras, then wait for what is owed; what
    came, when."""
    world.start = time.monotonic()

    async def extra(share: float, job: Extra) -> None:
        await world.at(share)
        await job(world)

    await asyncio.gather(
        reports(world),
        mails(world),
        voicemails(world),
        *(extra(share, job) for share, job in scenario.extras),
    )
    deadline = time.monotonic() + SETTLE_S
    while not (tally := Tally.read(world)).complete(world) and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
    return tally.outcome(world)


class _Warnings(logging.Handler):
    """Counts log records at WARNING or above."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


async def as_of_today(url: str) -> None:
    """Move the seed's open tickets not due a check at its :data:`NOW` to a day from now:
    housedesk runs on the real clock, so otherwise every open ticket of the seed would be
    due (12,000 at full size instead of the scenario's 2,000)."""
    await open_db(url)
    try:
        later = datetime.now(UTC) + timedelta(days=1)
        await Ticket.filter(next_check_at__gt=NOW).update(next_check_at=later)
    finally:
        await close_db()


async def run_scenario(url: str, load: Load, scenario: Scenario, chats: list[int]) -> Outcome:
    """One day on the database at ``url``: housedesk serving, the outside world driving it."""
    await as_of_today(url)
    warnings = _Warnings()
    logging.getLogger().addHandler(warnings)
    try:
        async with serving(url, load, chats) as (outside, ticker):
            outcome = await outside.run(day, scenario)
        return outcome.measured(ticker, warnings.count)
    finally:
        logging.getLogger().removeHandler(warnings)


SCENARIOS = (BASELINE, OUTAGE_DAY)


def verdict(kind: str, results: dict[str, Outcome]) -> bool:
    """Print every run and the ratios; True when the outage day meets the targets."""
    base, day_ = results[BASELINE.name], results[OUTAGE_DAY.name]
    for name, outcome in results.items():
        print(f"  {name}: {outcome.line()}")
    worst, floor = p99(day_.every_ack), p99(base.every_ack)
    ratio = worst / floor
    ok = (
        worst < TARGET_P99_S
        and ratio < TARGET_RATIO
        and day_.lag_s < TARGET_LAG_S
        and day_.lost == day_.doubled == 0
    )
    print(
        f"  {kind}: p99 acknowledgement {worst:.2f} s vs baseline {floor:.2f} s ({ratio:.2f}x), "
        f"cards p99 {p99(day_.cards):.2f} s vs {p99(base.cards):.2f} s; worst loop lag "
        f"{day_.lag_s * 1000:.0f} ms; {day_.lost} lost, {day_.doubled} sent twice "
        f"(targets: p99 < {TARGET_P99_S:.0f} s and < {TARGET_RATIO:.0f}x the baseline, lag < "
        f"{TARGET_LAG_S * 1000:.0f} ms, none lost or doubled) {'OK' if ok else 'MISSED'}"
    )
    return ok


def _header(kind: str, load: Load, seeded: Seeded) -> None:
    print(
        f"{kind}: {load.tickets:,} tickets (+{load.open_tickets:,} open, {load.due:,} due), "
        f"{load.residents:,} residents; in {load.window_s:.0f} s {load.reports:,} Telegram "
        f"reports (bursts of {load.burst} in {load.burst_s:.0f} s), {load.mails} mails, "
        f"{load.voicemails} voicemails; {seeded}"
    )


def _seed(load: Load) -> Seed:
    """The day's database: the tickets, then :func:`prepare` (its source and the
    directory are part of the cache's key)."""

    async def finish(url: str) -> None:
        await prepare(url, load)

    key = f"{DIRECTORY}|{load.residents}|{inspect.getsource(prepare)}"
    extras = Extras(open_tickets=load.open_tickets, due=load.due)
    return Seed(load.tickets, extras, finish, key)


async def bench_sqlite(load: Load) -> bool:
    """Seed once (or take the cached seed), then each scenario on a copy of the file."""
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        seeded = Path(tmp) / "seeded.sqlite3"
        how = await seeded_sqlite(seeded, _seed(load))
        chats = await resident_chats(sqlite_url(f"sqlite://{seeded}"))
        _header("sqlite", load, how)
        for scenario in SCENARIOS:
            copy = Path(tmp) / f"{scenario.name.replace(' ', '_')}.sqlite3"
            shutil.copyfile(seeded, copy)
            results[scenario.name] = await run_scenario(
                sqlite_url(f"sqlite://{copy}"), load, scenario, chats
            )
    return verdict("sqlite", results)


async def bench_postgres(load: Load) -> bool:
    """Seed a template database once (or take the cached one), then each scenario on a
    copy of it."""
    results = {}
    seeded, how = await cached_postgres(_seed(load))
    chats = await resident_chats(as_tortoise_url(database_dsn(seeded)))
    _header("postgres", load, how)
    for scenario in SCENARIOS:
        async with postgres_database("housedesk_outage", seeded) as dsn:
            results[scenario.name] = await run_scenario(as_tortoise_url(dsn), load, scenario, chats)
    return verdict("postgres", results)


# -- the day with an incident open ----------------------------------------------------------

INCIDENT = "Hot water and heating are off in Outage Court; the plumber is on site."
SAME_PROBLEM = "my problem too"
TARGET_INCIDENT_P99_S = 2.0


async def open_incident(world: World) -> None:
    """The manager opens the incident before the reports come (its words link mail too)."""
    _manager_says(world, f"/incident open DAY 14:00 #water #heating #radiators {INCIDENT}")
    deadline = time.monotonic() + SETTLE_S
    while time.monotonic() < deadline:
        sent = world.telegram.messages(STAFF_TOKEN, MANAGER_CHAT)
        if any("opened" in str(m.get("text", "")) for m in sent):
            return
        await asyncio.sleep(0.05)
    raise RuntimeError("the incident was not opened")


async def join_incident(world: World, n: int) -> None:
    """Resident ``n`` writes what is wrong, is shown the incident and joins it."""
    chat = world.chats[n]
    person = user(chat, f"Resident {n}")
    where = private_chat(person)
    world.reported[chat] = time.monotonic()
    world.telegram.add_update(
        RESIDENT_TOKEN, message_update(person, where, f"No hot water in flat R{n} since 7 am")
    )
    deadline = time.monotonic() + SETTLE_S
    while time.monotonic() < deadline:
        for message in world.telegram.messages(RESIDENT_TOKEN, chat):
            rows = message.get("reply_markup", {}).get("inline_keyboard", [])
            for button in (b for row in rows for b in row if SAME_PROBLEM in b["text"]):
                press = callback_update(
                    person, message["message_id"], button["callback_data"], chat=where
                )
                world.telegram.add_update(RESIDENT_TOKEN, press)
                return
        await asyncio.sleep(0.05)


async def incident_day(world: World) -> None:
    """The incident opened, then the window's load with residents who join it."""
    await open_incident(world)
    world.start = time.monotonic()
    await asyncio.gather(reports(world, join_incident), mails(world), voicemails(world))
    deadline = time.monotonic() + SETTLE_S
    while time.monotonic() < deadline:
        joined = {int(c.params.get("chat_id", 0)) for c in _calls(world, "editMessageText")}
        if joined >= set(world.reported):
            return
        await asyncio.sleep(0.5)


def _calls(world: World, method: str) -> list[Any]:
    return [c for c in world.telegram.calls(RESIDENT_TOKEN, method) if c.fault is None]


def incident_answers(world: World) -> list[float]:
    """Seconds from each resident's message to the incident's notice in their chat."""
    first: dict[int, float] = {}
    for call in _calls(world, "sendMessage"):
        chat = int(call.params.get("chat_id", 0))
        if INCIDENT in str(call.params.get("text", "")):
            first.setdefault(chat, call.at)
    return sorted(first[c] - at for c, at in world.reported.items() if c in first)


def sends_per_report(world: World) -> float:
    """Telegram messages both bots sent (not the manager's answers), per report of any
    channel (Telegram, mail, voicemail)."""
    sent = sum(
        1
        for token in (RESIDENT_TOKEN, STAFF_TOKEN)
        for call in world.telegram.calls(token)
        if call.fault is None
        and call.method.startswith("send")
        and int(call.params.get("chat_id", 0)) != MANAGER_CHAT
    )
    reports_in = len(world.reported) + len(world.mailed) + world.load.voicemails
    return sent / max(1, reports_in)


def card_edits(world: World) -> int:
    """Edits of staff cards (the incident's card keeping its count of residents current)."""
    return sum(1 for c in world.telegram.calls(STAFF_TOKEN, "editMessageText") if c.fault is None)


async def _counted(
    world: World, job: Callable[[World], Coroutine[Any, Any, None]]
) -> tuple[list[float], float, int]:
    """In the outside process: the day driven by ``job``, then what :func:`run_counted`
    reports of it."""
    await job(world)
    return incident_answers(world), sends_per_report(world), card_edits(world)


async def run_counted(
    url: str, load: Load, chats: list[int], job: Callable[[World], Coroutine[Any, Any, None]]
) -> tuple[list[float], float, float, int]:
    """One day driven by ``job`` (on a fresh copy): incident answers, Telegram messages per
    report, the worst loop lag and the staff cards' edits."""
    async with serving(url, load, chats) as (outside, ticker):
        answers, per_report, edits = await outside.run(_counted, job)
    return answers, per_report, ticker.worst, edits


def incident_verdict(
    kind: str, load: Load, base: float, day_: tuple[list[float], float, float, int]
) -> bool:
    """Print the incident day against the baseline; True when its answers meet the target."""
    answers, per_report, lag, edits = day_
    worst = p99(answers)
    ok = len(answers) == load.reports and worst < TARGET_INCIDENT_P99_S and per_report < base
    print(
        f"  {kind}, incident open: answer to {len(answers)}/{load.reports} residents "
        f"{_spread(answers)} (target p99 < {TARGET_INCIDENT_P99_S:.0f} s); Telegram messages "
        f"per report {per_report:.2f} vs {base:.2f} on the baseline day (and {edits} card "
        f"edits); worst loop lag {lag * 1000:.0f} ms {'OK' if ok else 'MISSED'}"
    )
    return ok


async def _baseline_day(world: World) -> None:
    await day(world, BASELINE)


async def incident_sqlite(load: Load) -> bool:
    """The baseline day and the incident day, each on a copy of one seeded file."""
    with tempfile.TemporaryDirectory() as tmp:
        seeded = Path(tmp) / "seeded.sqlite3"
        how = await seeded_sqlite(seeded, _seed(load))
        chats = await resident_chats(sqlite_url(f"sqlite://{seeded}"))
        _header("sqlite", load, how)
        runs = []
        for name, job in (("baseline", _baseline_day), ("incident", incident_day)):
            copy = Path(tmp) / f"{name}.sqlite3"
            shutil.copyfile(seeded, copy)
            runs.append(await run_counted(sqlite_url(f"sqlite://{copy}"), load, chats, job))
    return incident_verdict("sqlite", load, runs[0][1], runs[1])


async def incident_postgres(load: Load) -> bool:
    """The baseline day and the incident day, each on a copy of one seeded database."""
    seeded, how = await cached_postgres(_seed(load))
    chats = await resident_chats(as_tortoise_url(database_dsn(seeded)))
    _header("postgres", load, how)
    runs = []
    for job in (_baseline_day, incident_day):
        async with postgres_database("housedesk_outage", seeded) as dsn:
            runs.append(await run_counted(as_tortoise_url(dsn), load, chats, job))
    return incident_verdict("postgres", load, runs[0][1], runs[1])


def main() -> None:
    """Run the day for one database kind, or for both in separate processes."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0, help="0.05: a one-minute check")
    parser.add_argument("--db", choices=("sqlite", "postgres"))
    parser.add_argument("--incident", action="store_true", help="the day with an incident open")
    fresh_seed_option(parser)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    load = Load.at(args.scale)
    if args.incident:
        run_each_database(
            "bench.outage_bench",
            args.db,
            ["--scale", str(args.scale), "--incident"],
            lambda: incident_sqlite(load),
            lambda: incident_postgres(load),
        )
    run_each_database(
        "bench.outage_bench",
        args.db,
        ["--scale", str(args.scale)],
        lambda: bench_sqlite(load),
        lambda: bench_postgres(load),
    )


if __name__ == "__main__":
    main()
