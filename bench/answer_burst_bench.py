"""Time from a resident's message to the bot's answer under a burst, with Telegram's limits.

300 registered residents write ``/start`` within 10 s (evenly spread); each, once the menu
arrives, presses "Technical" and waits for the "describe the problem" prompt. The residents'
bot runs as ``housedesk run`` starts it (long polling, the inbox, the real handlers) against
the Bot API stand-in playing Telegram's flood control (30 messages/s, 429 beyond). Measured:
p50/p95 time from an update queued at the stand-in to the answer it accepted, answers lost
(not there 60 s after the burst), 429 refusals, log lines at WARNING or above (tracebacks
among them), the busiest second.

In the same invocation, two baselines: the same burst with no rate limit anywhere (a Bot API
without flood control and a bot without budget: the floor), and the bot as it was before the
shared budget (direct answers sent straight away, outside any rate limiter) against the
Telegram-like stand-in. Run ``python -m bench.answer_burst_bench``
(``--residents N --seconds S``). Target: nothing lost or refused, no warning, no second over
30 messages.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

from aiogram.methods import Response

from bots.answer_budget import BudgetedAnswers
from core.clock import SystemClock
from core.directory.residents import register_resident
from core.storage.db import close_db, migrate_db, open_db, sqlite_url
from housedesk.bootstrap import bootstrap
from housedesk.channels.telegram import start_telegram
from housedesk.settings.config import Settings
from housedesk.settings.telegram import TelegramSettings
from presentation.directory_file import import_directory_file
from tests.fakes.botapi import BotApiServer
from tests.fakes.botapi_limits import TELEGRAM_LIMITS, RateLimits, busiest_second
from tests.fakes.botapi_updates import callback_update, message_update, private_chat, user

TOKEN = "710000001:AAburstBenchTokenNeverSentAnywhere-00"
DIRECTORY = Path(__file__).resolve().parent.parent / "examples" / "directory.toml"
FIRST_CHAT = 6_000_000
MENU = "How can we help?"
PROMPT = "Describe the problem"
SETTLE_S = 60.0


@dataclass
class Outcome:
    """One scenario's figures."""

    latencies: list[float]
    lost: int
    refused: int
    complaints: int
    busiest: int

    def line(self) -> str:
        """p50/p95 and the counts, for the report line."""
        cuts = statistics.quantiles(self.latencies, n=20) if len(self.latencies) > 1 else [0.0]
        p50 = statistics.median(self.latencies) if self.latencies else float("nan")
        return (
            f"p50 {p50:.2f} s, p95 {cuts[-1]:.2f} s, {self.lost} lost, {self.refused} refused "
            f"(429), {self.complaints} log lines at WARNING+, "
            f"busiest second {self.busiest} messages"
        )


class _Complaints(logging.Handler):
    """Counts log records at WARNING or above (tracebacks among them)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


async def _straight_through(
    self: BudgetedAnswers, make_request: Any, bot: Any, method: Any
) -> Response[Any]:
    """The session as it was before the budget: every call made at once, never retried."""
    result: Response[Any] = await make_request(bot, method)
    return result


@contextlib.contextmanager
def _before_budget(enabled: bool) -> Iterator[None]:
    if not enabled:
        yield
        return
    with mock.patch.object(BudgetedAnswers, "__call__", _straight_through):
        yield


@contextlib.asynccontextmanager
async def _housedesk(tmp: str, server: BotApiServer, residents: int) -> AsyncIterator[None]:
    """A fresh SQLite database with the example directory and ``residents`` registered,
    and the residents' bot polling the stand-in."""
    url = sqlite_url(f"sqlite://{tmp}/bench.sqlite3")
    await migrate_db(url)
    await open_db(url)
    app = bootstrap(
        Settings(database={"url": url}, storage={"data_dir": Path(tmp)}), clock=SystemClock()
    )
    await import_directory_file(DIRECTORY)
    for n in range(residents):
        await register_resident(FIRST_CHAT + n, f"Resident {n}", "OAK", "12")
    server.add_bot(TOKEN, username="bench_resident_bot")
    settings = TelegramSettings(api_base=server.url, resident_token=TOKEN, polling_timeout_s=1)
    channel = await start_telegram(app, settings, [])
    try:
        yield
    finally:
        await channel.stop()
        await close_db()


def _bot_message(server: BotApiServer, chat: int, fragment: str) -> dict[str, Any] | None:
    for message in server.messages(TOKEN, chat):
        if message["from"]["is_bot"] and fragment in str(message.get("text", "")):
            return message
    return None


async def _resident(
    server: BotApiServer, n: int, delay: float, deadline: float, asked: dict[tuple[int, str], float]
) -> None:
    """Write /start after ``delay``; press "Technical" under the menu once it is there."""
    person = user(FIRST_CHAT + n, f"Resident {n}")
    chat = private_chat(person)
    await asyncio.sleep(delay)
    asked[chat["id"], MENU] = time.monotonic()
    server.add_update(TOKEN, message_update(person, chat, "/start"))
    while (menu := _bot_message(server, chat["id"], MENU)) is None:
        if time.monotonic() > deadline:
            return
        await asyncio.sleep(0.1)
    data = next(
        button["callback_data"]
        for row in menu["reply_markup"]["inline_keyboard"]
        for button in row
        if "Technical" in button["text"]
    )
    asked[chat["id"], PROMPT] = time.monotonic()
    server.add_update(TOKEN, callback_update(person, menu["message_id"], data, chat=chat))
    while _bot_message(server, chat["id"], PROMPT) is None and time.monotonic() < deadline:
        await asyncio.sleep(0.1)


def _answered(server: BotApiServer) -> dict[tuple[int, str], float]:
    """When the stand-in accepted each chat's menu and prompt."""
    answered: dict[tuple[int, str], float] = {}
    for call in server.calls(TOKEN, "sendMessage"):
        text = str(call.params.get("text", ""))
        for fragment in (MENU, PROMPT):
            key = (int(call.params["chat_id"]), fragment)
            if call.fault is None and fragment in text and key not in answered:
                answered[key] = call.at
    return answered


async def scenario(
    residents: int, seconds: float, limits: RateLimits | None, *, before: bool = False
) -> Outcome:
    """One burst on a fresh database and stand-in."""
    counter = _Complaints()
    logging.getLogger().addHandler(counter)
    with tempfile.TemporaryDirectory() as tmp, _before_budget(before):
        async with BotApiServer(limits=limits) as server, _housedesk(tmp, server, residents):
            asked: dict[tuple[int, str], float] = {}
            deadline = time.monotonic() + seconds + SETTLE_S
            await asyncio.gather(
                *(
                    _resident(server, n, seconds * n / residents, deadline, asked)
                    for n in range(residents)
                )
            )
            answered = _answered(server)
            refused = server.flood_refusals(TOKEN)
            busiest = busiest_second(server.sent_times(TOKEN))
    logging.getLogger().removeHandler(counter)
    latencies = sorted(answered[key] - at for key, at in asked.items() if key in answered)
    return Outcome(latencies, 2 * residents - len(latencies), refused, counter.count, busiest)


async def run(residents: int, seconds: float) -> bool:
    """The burst with the budget, then both baselines; True when the target is met."""
    logging.getLogger().setLevel(logging.WARNING)  # counted by _Complaints, not printed
    budget = await scenario(residents, seconds, TELEGRAM_LIMITS)
    floor = await scenario(residents, seconds, None, before=True)
    before = await scenario(residents, seconds, TELEGRAM_LIMITS, before=True)
    ok = (
        budget.lost == budget.refused == budget.complaints == 0
        and budget.busiest <= TELEGRAM_LIMITS.overall.count
    )
    print(
        f"telegram answers, {residents} residents in {seconds:g} s (/start, then a button), "
        f"Bot API at {TELEGRAM_LIMITS.overall.count} messages/s: shared budget "
        f"{budget.line()} {'OK' if ok else 'MISSED'}; baseline with no rate limit anywhere "
        f"{floor.line()}; before the budget {before.line()}"
    )
    return ok


def main() -> int:
    """``python -m bench.answer_burst_bench [--residents N] [--seconds S]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=10.0, help="the burst's length")
    args = parser.parse_args()
    return 0 if asyncio.run(run(args.residents, args.seconds)) else 1


if __name__ == "__main__":
    sys.exit(main())
