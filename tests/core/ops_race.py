"""One scheduler process for the multi-process test.

Run as ``python -m tests.core.ops_race URL NOW START``.

At wall-clock time START (epoch seconds) it runs every operations job once at the frozen
time NOW under the scheduler's lock, holding each job's transaction a little longer so
that a second process trying meanwhile meets the lock, and prints what each job did
(``null``: skipped because another process held the lock) as JSON.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from datetime import datetime

from core.clock import FrozenClock
from core.messaging.notifications import Notifier, NotifySettings
from core.operations.jobs import Job, Operations
from core.operations.routing import Router
from core.storage.db import close_db, open_db
from core.tickets.service import TicketService
from housedesk.scheduler import run_exclusive

HOLD_SECONDS = 1.0


def _slow(job: Job) -> Job:
    async def run(now: datetime) -> int:
        done = await job(now)
        await asyncio.sleep(HOLD_SECONDS)
        return done

    return run


async def main(url: str, now: str, start: float) -> None:
    await open_db(url)
    clock = FrozenClock(datetime.fromisoformat(now))
    operations = Operations(Router(TicketService(clock, Notifier(NotifySettings(), clock))))
    await asyncio.sleep(max(0.0, start - time.time()))
    done = {
        name: await run_exclusive(name, _slow(job), clock.now())
        for name, job in operations.jobs.items()
    }
    await close_db()
    print(json.dumps(done))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3])))
