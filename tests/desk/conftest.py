"""Fixtures of the desk tests: Debian's chromium driven by Playwright (one launch per session,
each page in a fresh context, in a thread of its own, since Playwright's sync API may not run
on the test's event loop), and a folder for the screenshots a person can look at.

Without chromium or Playwright the browser tests skip, except under ``CI=true``, where they
fail. Playwright never downloads a browser here: ``executable_path`` is Debian's.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import pytest
from pydantic import SecretStr

from housedesk.settings.config import Settings
from tests.desk.support import PHONE_SIZED
from tests.fakes.botapi import botapi
from tests.telegram.support import STAFF_BOT_TOKEN

__all__ = ["botapi", "chromium", "screenshots", "settings"]

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
T = TypeVar("T")
_SHOTS: list[Path] = []


class Chromium:
    """A browser whose every call runs on one thread: ``await chromium.run(page.goto, url)``."""

    def __init__(self) -> None:
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="chromium")
        self._playwright: Any = None
        self.browser: Any = None

    async def run(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``call`` on the browser's thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, partial(call, *args, **kwargs))

    def start(self) -> None:
        """Launch chromium (on the browser's thread)."""

        def launch() -> None:
            from playwright.sync_api import sync_playwright

            self._playwright = sync_playwright().start()
            self.browser = self._playwright.chromium.launch(
                executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True
            )

        self._thread.submit(launch).result()

    def stop(self) -> None:
        """Close the browser and Playwright."""

        def close() -> None:
            self.browser.close()
            self._playwright.stop()

        self._thread.submit(close).result()
        self._thread.shutdown()

    async def new_page(self, locale: str = "en-GB") -> Any:
        """A page in a fresh phone-sized context (no cookies), errors of its scripts kept
        in ``page.script_errors``."""

        def make() -> Any:
            context = self.browser.new_context(viewport=PHONE_SIZED, locale=locale)
            page = context.new_page()
            page.script_errors = []
            page.on("pageerror", lambda error: page.script_errors.append(str(error)))
            page.set_default_timeout(10_000)
            return page

        return await self.run(make)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The shared test settings, with a brisk outbox and the desk's public address."""
    outbox = settings.outbox.model_copy(update={"poll_interval_s": 0.02})
    desk = settings.desk.model_copy(update={"public_url": "https://desk.example/desk"})
    telegram = settings.telegram.model_copy(update={"staff_token": SecretStr(STAFF_BOT_TOKEN)})
    return settings.model_copy(update={"outbox": outbox, "desk": desk, "telegram": telegram})


def _missing_browser() -> str | None:
    if shutil.which("chromium") is None and not Path(CHROMIUM).exists():
        return f"Debian's chromium is not installed ({CHROMIUM}); `make test` installs it"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[dev]')"
    return None


@pytest.fixture(scope="session")
def chromium() -> Iterator[Chromium]:
    """One chromium for the session's tests (each page has a context of its own)."""
    problem = _missing_browser()
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(problem)
        pytest.skip(problem)
    browser = Chromium()
    browser.start()
    yield browser
    browser.stop()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """Where the tests save screenshots for a person to look at (kept after the run)."""
    folder = Path(tempfile.mkdtemp(prefix="housedesk-desk-screenshots-"))
    _SHOTS.append(folder)
    print(f"\ndesk screenshots: {folder}")
    return folder


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say where the screenshots are."""
    for folder in _SHOTS:
        names = sorted(p.name for p in folder.glob("*.png"))
        terminalreporter.write_line(f"desk screenshots in {folder}: {', '.join(names)}")
