"""Mails per second through SMTP intake to a committed ticket, against a spool-only server.

Both servers are aiosmtpd on 127.0.0.1 with the same fsync'd spool. The baseline handler
only writes the spool file and answers 250 (and removes the file); housedesk's intake
also parses the mail, creates the ticket, its timeline event and its acknowledgement row
in the database before answering, through the quarantine's failure count as ``housedesk
run`` takes mail in, with sender authentication on (each mail carries the
MTA's passing Authentication-Results). Four concurrent senders, each on one persistent SMTP
session. The two paths run by turns, ``--rounds`` times (each round on a new database and
spool), and the medians are compared: one path's run alone moves by a fifth from one run to
the next on a shared VM. Two targets, each with its own verdict: within 3x of the spool-only
baseline (#16), and at least 300 mails/s on SQLite (#6's, set on a VM whose spool-only path
took about 1,000 mails/s). Run with ``make bench`` (or ``python -m bench.email_bench``).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib

from core.storage.db import close_db, migrate_db, open_db, sqlite_url
from core.storage.models import Category
from housedesk.bootstrap import bootstrap
from housedesk.run import freeze_heap, share_the_gil_sooner
from housedesk.settings.config import Settings
from intake.email.quarantine import QuarantiningIngest
from intake.email.smtp_server import SmtpServerConfig, start_smtp_server
from intake.email.spool import write_spool_file
from intake.outcome import Accepted, Outcome

HELP = "help@bench.example"
SENDERS = 4
MTA = "mx.bench.example"
"""The organisation's MTA: every mail carries its passing Authentication-Results, which
housedesk checks (``[email] authserv_id``), so the full path runs with authentication on."""


def _mail(n: int) -> bytes:
    msg = EmailMessage()
    msg["Authentication-Results"] = (
        f"{MTA}; spf=pass smtp.mailfrom=tenants.example; dmarc=pass header.from=tenants.example"
    )
    msg["From"] = f"Tenant {n} <tenant{n % 200}@tenants.example>"
    msg["To"] = HELP
    msg["Subject"] = f"Radiator {n} is cold"
    msg["Message-ID"] = f"<{uuid.uuid4().hex}@tenants.example>"
    msg.set_content("The radiator in the living room has been cold since yesterday.\n" * 3)
    return msg.as_bytes().replace(b"\n", b"\r\n")


async def _send_all(port: int, count: int) -> tuple[float, float]:
    """Send ``count`` mails; return mails per second and this process's CPU ms per mail
    (server and senders both, as they share the process)."""
    mails = [_mail(n) for n in range(count)]

    async def sender(part: list[bytes]) -> None:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port)
        await client.connect()
        for raw in part:
            await client.sendmail("tenant@tenants.example", [HELP], raw)
        await client.quit()

    start, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(sender(mails[i::SENDERS]) for i in range(SENDERS)))
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    return count / wall, cpu * 1000 / count


async def spool_only(spool: Path, count: int) -> tuple[float, float]:
    """The baseline: durable spool write, nothing else."""

    async def ingest(raw: bytes) -> Outcome:
        return Accepted()

    config = SmtpServerConfig(help_address=HELP, spool_dir=spool, port=0)
    server = await start_smtp_server(config, ingest)
    freeze_heap()  # as `housedesk run` does once started
    try:
        return await _send_all(server.port, count)
    finally:
        await server.close()


async def full_path(tmp: Path, count: int) -> tuple[float, float]:
    """housedesk's intake: spool, parse, ticket + event + acknowledgement committed."""
    url = sqlite_url(f"sqlite://{tmp}/bench.sqlite3")
    await migrate_db(url)
    await open_db(url)
    await Category.create(code="technical", names={"en": "Technical"}, response_minutes=60)
    app = bootstrap(
        Settings(
            database={"url": url},
            storage={"data_dir": tmp / "data"},
            email={
                "help_address": HELP,
                "acks_per_sender_per_hour": 10**6,
                "tickets_per_sender_per_hour": 10**6,
                "authserv_id": MTA,
            },
        )
    )
    config = SmtpServerConfig(help_address=HELP, spool_dir=tmp / "spool", port=0)
    ingest = QuarantiningIngest(app.mail_gateway, app.clock, app.settings.email.quarantine_after)
    server = await start_smtp_server(config, ingest)
    freeze_heap()
    try:
        return await _send_all(server.port, count)
    finally:
        await server.close()
        await close_db()


async def run(count: int, rounds: int) -> bool:
    """Measure both paths by turns and print a line a round and one for their medians, in
    a process tuned as ``housedesk run`` tunes its own."""
    share_the_gil_sooner()
    write_spool_file(Path(tempfile.gettempdir()), b"warm-up").unlink()
    baselines, fulls = [], []
    for round_ in range(1, rounds + 1):
        with tempfile.TemporaryDirectory() as tmp:
            baseline, baseline_cpu = await spool_only(Path(tmp) / "spool-only", count)
            full, full_cpu = await full_path(Path(tmp), count)
        baselines.append(baseline)
        fulls.append(full)
        print(
            f"  round {round_}: full path {full:,.0f} mails/s ({full_cpu:.1f} ms CPU a mail), "
            f"spool-only {baseline:,.0f} mails/s ({baseline_cpu:.1f} ms), "
            f"ratio {baseline / full:.2f}x"
        )
    full, baseline = statistics.median(fulls), statistics.median(baselines)
    ratio = baseline / full
    within, fast = ratio <= 3, full >= 300
    print(
        f"email intake, {SENDERS} senders: full path {full:,.0f} mails/s, spool-only "
        f"{baseline:,.0f} mails/s (medians of {rounds} rounds), ratio {ratio:.2f}x "
        f"(target <= 3x) {_verdict(within)}; full path >= 300/s {_verdict(fast)}"
    )
    return within and fast


def _verdict(met: bool) -> str:
    return "OK" if met else "MISSED"


def main() -> None:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=1000, help="mails a path and round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    sys.exit(0 if asyncio.run(run(args.count, args.rounds)) else 1)


if __name__ == "__main__":
    main()
