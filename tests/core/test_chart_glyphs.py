"""Charts and posters in Chinese draw every character: a CJK font backs DejaVu Sans up.

Without a CJK font on the machine these tests skip (``make system-deps`` installs one),
except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import io
import os
import warnings
from datetime import UTC, datetime

import pytest
from PIL import Image

from core.reports.figures import Reports
from core.storage.models import Building, Channel, Role, Status, Ticket
from housedesk.bootstrap import App
from presentation.fonts import cjk_font
from presentation.reports.chart import render_chart
from tests.core import factories


@pytest.fixture(autouse=True)
def cjk_installed() -> None:
    if cjk_font() is None:
        problem = "no CJK font installed (make system-deps installs fonts-wqy-microhei)"
        if os.environ.get("CI") == "true":
            pytest.fail(problem)
        pytest.skip(problem)


async def _pine_court() -> None:
    """A building and a technician with Chinese names, and one finished, rated request."""
    await factories.building("PINE", language="zh")
    await Building.filter(code="PINE").update(name="松树苑")
    pine = await Building.get(code="PINE")
    wang = await factories.person("王师傅", Role.TECHNICIAN, buildings=[pine])
    at = datetime(2026, 11, 10, 9, tzinfo=UTC)
    await Ticket.create(
        created_at=at,
        updated_at=at,
        status=Status.DONE,
        category=await factories.category("technical"),
        building=pine,
        channel=Channel.CHAT,
        assignee=wang,
        title="天花板在滴水",
        response_due_at=datetime(2026, 11, 10, 13, tzinfo=UTC),
        first_response_at=datetime(2026, 11, 10, 9, 30, tzinfo=UTC),
        due_at=datetime(2026, 11, 12, 9, tzinfo=UTC),
        resolved_at=datetime(2026, 11, 11, 9, tzinfo=UTC),
        rating=5,
    )


@pytest.mark.parametrize("image", ["png", "svg"])
async def test_a_chinese_chart_misses_no_glyph(app: App, image: str) -> None:
    await _pine_court()
    report = await Reports(app.clock).report("2026-11-01..2026-11-30", "PINE")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        drawn = render_chart(report, "zh", image)
    missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    assert missing == []
    if image == "png":
        title = Image.open(io.BytesIO(drawn)).info["Title"]
        assert title == "松树苑 (PINE)：2026-11-01 – 2026-11-30（UTC）"
    else:
        svg = drawn.decode()
        assert "期限达成率，%" in svg and "王师傅" in svg
