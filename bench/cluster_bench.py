"""Mail intake and outbox drain with 1, 2 and 3 ``housedesk run`` processes on PostgreSQL.

For each number of processes, on a fresh database: the processes start (each with its own
data directory and SMTP port, outgoing mail off), six senders send ``--mails`` mails spread
across them, and the intake rate is the mails answered 250 a second. Then the processes stop
and start again with outgoing mail on, towards a sink in this process that holds every
mail until all of them are up (so one that starts first does not drain alone): the drain
rate is the acknowledgements (one outbox row per mail) the sink receives a second, from the
first to the last. Both are printed with their ratio to one process.

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


async def measure(processes: int, mails: int) -> tuple[float, float]:
    """Intake and drain rates with ``processes`` processes on a fresh database."""
    name = f"housedesk_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(PG.replace("postgres://", "postgresql://", 1) + "postgres")
    await admin.execute(f'CREATE DATABASE "{name}"')
    sink = Sink()
    server = await sink.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            cluster = Processes(Path(tmp), PG + name, processes)
            cluster.cli("init")
            cluster.start(HOUSEDESK_EMAIL__OUTGOING__ENABLED="false")
            await _wait_for_smtp(cluster.smtp_ports)
            intake = await _intake(cluster.smtp_ports, mails)
            cluster.stop()
            cluster.start(
                HOUSEDESK_EMAIL__OUTGOING__HOST="127.0.0.1",
                HOUSEDESK_EMAIL__OUTGOING__PORT=str(sink.port),
            )
            try:
                await _wait_for_smtp(cluster.smtp_ports)  # the outbox starts with SMTP intake
                sink.open.set()
                drain = await _drained(sink, mails)
            finally:
                cluster.stop()
    finally:
        server.close()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    return intake, drain


async def run(mails: int) -> bool:
    """Measure 1, 2 and 3 processes and print a line each."""
    results = {n: await measure(n, mails) for n in (1, 2, 3)}
    intake_1, drain_1 = results[1]
    for n, (intake, drain) in results.items():
        print(
            f"cluster, {n} process(es), PostgreSQL: mail intake {intake:,.0f} mails/s "
            f"({intake / intake_1:.2f}x one process), outbox drain {drain:,.0f} mails/s "
            f"({drain / drain_1 if drain_1 else 0:.2f}x)"
        )
    return all(intake > 0 and drain > 0 for intake, drain in results.values())


def main() -> None:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mails", type=int, default=600)
    args = parser.parse_args()
    sys.exit(0 if asyncio.run(run(args.mails)) else 1)


if __name__ == "__main__":
    main()
