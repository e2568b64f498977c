"""Tickets newest first, read page by page, so a listing's memory does not grow with the log."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from tortoise.expressions import Q

from core.directory.lookup import building_by_code
from core.storage.models import Status, Ticket
from core.tickets.queries import RELATED

PAGE = 200


async def newest_tickets(
    *, statuses: Sequence[Status] = (), building: str | None = None, limit: int | None = None
) -> AsyncIterator[Ticket]:
    """Tickets newest first (``limit`` None: all), one page of rows in memory at a time.

    Pages continue after the last row seen (created_at, id), never with an offset.
    """
    query = Ticket.all()
    if statuses:
        query = query.filter(status__in=list(statuses))
    if building:
        query = query.filter(building=await building_by_code(building))
    left = limit
    last: Ticket | None = None
    while left is None or left > 0:
        page = query
        if last is not None:
            page = page.filter(
                Q(created_at__lt=last.created_at) | Q(created_at=last.created_at, id__lt=last.id)
            )
        size = PAGE if left is None else min(PAGE, left)
        rows = await page.order_by("-created_at", "-id").select_related(*RELATED).limit(size)
        for row in rows:
            yield row
        if len(rows) < size:
            return
        last = rows[-1]
        if left is not None:
            left -= len(rows)
