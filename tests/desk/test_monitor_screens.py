"""The monitor in a real headless chromium at a phone's size, in English and Russian: the
figures, the server-drawn chart loaded, a figure opening the journal with as many tickets;
screenshots saved for a person to look at."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.directory.desk_sessions import open_session
from core.storage.models import Role
from housedesk.bootstrap import App
from tests.core import factories
from tests.core.test_ops_reports import _seed
from tests.desk.conftest import Chromium
from tests.desk.support import serving

PERIOD = "2026-11-01..2026-11-30"


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en", ("Monitor", "Open tickets now", "Overdue", "All buildings")),
        ("ru", ("Монитор", "Открытые заявки сейчас", "Просрочены", "Все дома")),
    ],
)
async def test_the_monitor_on_a_phone(
    app: App, chromium: Chromium, screenshots: Path, language: str, words: tuple[str, ...]
) -> None:
    await _seed()
    manager = await factories.person("Mona", Role.MANAGER, language=language)
    signed = await open_session(manager, "link", app.clock.now())
    async with serving(app) as desk:
        page = await chromium.new_page()
        cookie = {"name": "housedesk_desk", "value": signed.token, "url": desk}
        await chromium.run(page.context.add_cookies, [cookie])
        await chromium.run(page.goto, f"{desk}/monitor?period={PERIOD}")
        shown = await chromium.run(page.inner_text, "main")
        for word in words:
            assert word in shown, word
        await chromium.run(page.wait_for_load_state, "networkidle")
        chart_width = await chromium.run(
            page.eval_on_selector, "img.chart", "image => image.naturalWidth"
        )
        assert chart_width > 0  # the SVG was drawn and loaded under the page's CSP
        await chromium.run(
            page.screenshot, path=str(screenshots / f"monitor-{language}.png"), full_page=True
        )

        overdue = page.locator("section.figures-now a[href*='overdue=1']")
        figure = int(await chromium.run(overdue.inner_text))
        await chromium.run(overdue.click)
        await chromium.run(page.wait_for_url, re.compile(r".*/journal\?overdue=1$"))
        assert len(await chromium.run(page.query_selector_all, "ul.tickets li[data-ticket]")) == (
            figure
        )
        assert page.script_errors == []
