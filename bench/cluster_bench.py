"""Mail intake and outbox drain with 1, 2 and 3 ``housedesk run`` processes on PostgreSQL.

For each number of processes, on a fresh database: the processes start (each with its own
data directory and SMTP port, outgoing mail off), six senders send ``--mails`` mails spread
across them, and the intake rate is the mails answered 250 a second. Then the processes stop
and start again with outgoing mail on, towards a sink in this process that holds every
mail until all of them are up (so one that starts first does not drain alone): the drain
rate is the acknowledgements (one outbox row per mail) the sink receives a second, from the
first to the last. Both are printed with their ratio to one process, with the CPU time per
mail of the housedesk processes and of their PostgreSQL backends during each phase (read
from ``/proc``; PostgreSQL must run on this machine for its share) and the load average
before and after: a rate that does not grow while the CPU per mail stays the same means
the machine had no more cores to give, not that a process waits for the others.

Needs PostgreSQL (``HOUSEDESK_BENCH_PG``, default ``postgres://postgres@127.0.0.1:5432/``);
run with ``make bench`` or ``python -m bench.cluster_bench [--mails N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import asyncpg
from aiosmtpd.smtp import SMTP, Envelope, Session

REPO = Path(__file__).resolve().parent.parent
CONFIG = REPO / "config.example.toml"
PG = os.environ.get("HOUSEDESK_BENCH_PG", "postgres://postgres@127.0.0.1:5432/")
HELP = "help@housedesk.localhost"
SENDERS = 6


TICK = os.sysconf("SC_CLK_TCK")


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Sink:
    """An SMTP server that keeps only the time each message arrived, once it is opened."""

    def __init__(self) -> None:
        self.arrivals: list[float] = []
        self.port = 0
        self.open = asyncio.Event()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        await self.open.wait()
        self.arrivals.append(time.perf_counter())
        return "250 2.0.0 Queued"

    async def start(self) -> asyncio.Server:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: SMTP(self, loop=loop), "127.0.0.1", 0)
        self.port = int(server.sockets[0].getsockname()[1])
        return server


class Processes:
    """``count`` housedesk processes on one database."""

    def __init__(self, root: Path, url: str, count: int) -> None:
        self.root, self.url = root, url
        self.smtp_ports = [_port() for _ in range(count)]
        self.running: list[subprocess.Popen[bytes]] = []

    def env(self, n: int, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HOUSEDESK_")}
        env.update(
            PYTHONPATH=str(REPO),
            HOUSEDESK_DATABASE__URL=self.url,
            HOUSEDESK_STORAGE__DATA_DIR=str(self.root / f"node{n}"),
            HOUSEDESK_EMAIL__SMTP_LISTEN=f"127.0.0.1:{self.smtp_ports[n]}",
            HOUSEDESK_EMAIL__ACKS_PER_SENDER_PER_HOUR="1000000",
            HOUSEDESK_EMAIL__TICKETS_PER_SENDER_PER_HOUR="1000000",
            HOUSEDESK_HTTP__LISTEN=f"127.0.0.1:{_port()}",
            HOUSEDESK_OPERATIONS__SCHEDULER_ENABLED="false",
            HOUSEDESK_SERVICE__LOG_LEVEL="WARNING",
            HOUSEDESK_CLUSTER__NODE_ID=f"bench{n}",
            **extra,
        )
        return env

    def cli(self, *args: str) -> None:
        subprocess.run(
            [sys.executable, "-m", "housedesk.cli", "--config", str(CONFIG), *args],
            env=self.env(0),
            check=True,
            capture_output=True,
        )

    def start(self, **extra: str) -> None:
        for n in range(len(self.smtp_ports)):
            self.running.append(
                subprocess.Popen(
                    [sys.executable, "-m", "housedesk.cli", "--config", str(CONFIG), "run"],
                    env=self.env(n, **extra),
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )

    def stop(self) -> None:
        for process in self.running:
            process.send_signal(signal.SIGTERM)
        for process in self.running:
            process.wait(timeout=60)
        self.running = []


def _cpu_s(pids: list[int]) -> float:
    """User and system CPU seconds so far of the processes ``pids`` still alive."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (after pid, comm)
    return total / TICK


async def _backends(admin: asyncpg.Connection, database: str) -> list[int]:
    rows = await admin.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1", database)
    return [int(row["pid"]) for row in rows]


@dataclass
class Phase:
    """A phase's rate, and CPU seconds of housedesk and of PostgreSQL while it ran."""

    rate: float = 0.0
    housedesk_s: float = 0.0
    postgres_s: float = 0.0

    def per_mail_ms(self, mails: int) -> str:
        """CPU per mail, housedesk + PostgreSQL, in milliseconds."""
        return f"{1000 * self.housedesk_s / mails:.1f} + {1000 * self.postgres_s / mails:.1f} ms"


class CpuWatch:
    """CPU of the housedesk processes and of the database's backends over a phase."""

    def __init__(self, admin: asyncpg.Connection, database: str, cluster: Processes) -> None:
        self.admin, self.database, self.cluster = admin, database, cluster
        self.housedesk = self.postgres = 0.0

    async def start(self) -> None:
        self.housedesk = _cpu_s([p.pid for p in self.cluster.running])
        self.postgres = _cpu_s(await _backends(self.admin, self.database))

    async def end(self, phase: Phase) -> None:
        phase.housedesk_s = _cpu_s([p.pid for p in self.cluster.running]) - self.housedesk
        phase.postgres_s = _cpu_s(await _backends(self.admin, self.database)) - self.postgres


async def _wait_for_smtp(ports: list[int]) -> None:
    for port in ports:
        for _ in range(600):
            try:
                _reader, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.2)
                continue
            writer.close()
            break


def _mail(n: int) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = f"Tenant {n} <tenant{n}@tenants.example>"
    mail["To"] = HELP
    mail["Subject"] = f"Radiator {n} is cold"
    mail["Message-ID"] = f"<{uuid.uuid4().hex}@tenants.example>"
    mail.set_content("The radiator in the living room has been cold since yesterday.\n")
    return mail


async def _intake(ports: list[int], count: int) -> float:
    """Mails a second, six senders on persistent sessions spread over the processes."""
    parts = [list(range(count))[i::SENDERS] for i in range(SENDERS)]

    async def sender(i: int, numbers: list[int]) -> None:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=ports[i % len(ports)], timeout=60)
        await client.connect()
        for n in numbers:
            await client.send_message(_mail(n))
        await client.quit()

    start = time.perf_counter()
    await asyncio.gather(*(sender(i, part) for i, part in enumerate(parts)))
    return count / (time.perf_counter() - start)


async def _drained(sink: Sink, count: int, timeout: float = 600) -> float:
    deadline = time.monotonic() + timeout
    while len(sink.arrivals) < count and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    if len(sink.arrivals) < 2:
        return 0.0
    return (len(sink.arrivals) - 1) / (sink.arrivals[-1] - sink.arrivals[0])


async def measure(processes: int, mails: int) -> tuple[Phase, Phase]:
    """Intake and drain with ``processes`` processes on a fresh database."""
    name = f"housedesk_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(PG.replace("postgres://", "postgresql://", 1) + "postgres")
    await admin.execute(f'CREATE DATABASE "{name}"')
    sink = Sink()
    server = await sink.start()
    intake, drain = Phase(), Phase()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            cluster = Processes(Path(tmp), PG + name, processes)
            cpu = CpuWatch(admin, name, cluster)
            cluster.cli("init")
            cluster.start(HOUSEDESK_EMAIL__OUTGOING__ENABLED="false")
            try:
                await _wait_for_smtp(cluster.smtp_ports)
                await cpu.start()
                intake.rate = await _intake(cluster.smtp_ports, mails)
                await cpu.end(intake)
            finally:
                cluster.stop()
            cluster.start(
                HOUSEDESK_EMAIL__OUTGOING__HOST="127.0.0.1",
                HOUSEDESK_EMAIL__OUTGOING__PORT=str(sink.port),
            )
            try:
                await _wait_for_smtp(cluster.smtp_ports)  # the outbox starts with SMTP intake
                await cpu.start()
                sink.open.set()
                drain.rate = await _drained(sink, mails)
                await cpu.end(drain)
            finally:
                cluster.stop()
    finally:
        server.close()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    return intake, drain


def _load() -> str:
    return "/".join(f"{n:.1f}" for n in os.getloadavg())


async def run(mails: int) -> bool:
    """Measure 1, 2 and 3 processes and print a line each."""
    results: dict[int, tuple[Phase, Phase]] = {}
    for n in (1, 2, 3):
        before = _load()
        results[n] = await measure(n, mails)
        print(f"  ({n} process(es): load average {before} before, {_load()} after)")
    intake_1, drain_1 = results[1]
    for n, (intake, drain) in results.items():
        print(
            f"cluster, {n} process(es), PostgreSQL: mail intake {intake.rate:,.0f} mails/s "
            f"({intake.rate / intake_1.rate:.2f}x one process; CPU a mail "
            f"{intake.per_mail_ms(mails)}), outbox drain {drain.rate:,.0f} mails/s "
            f"({drain.rate / drain_1.rate if drain_1.rate else 0:.2f}x; CPU a mail "
            f"{drain.per_mail_ms(mails)})"
        )
    return all(intake.rate > 0 and drain.rate > 0 for intake, drain in results.values())


def main() -> None:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mails", type=int, default=600)
    args = parser.parse_args()
    sys.exit(0 if asyncio.run(run(args.mails)) else 1)


if __name__ == "__main__":
    main()
