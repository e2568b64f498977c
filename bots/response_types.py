"""aiogram's response types built at start-up, not on the loop when first needed.

aiogram reads each Bot API answer through ``Response[<the method's result type>]``, a
pydantic generic model built (its validator compiled) the first time each result type is
used: 20-80 ms of CPU apiece, which stalled the event loop on the first ``sendMessage``,
``editMessageText``, ``getUpdates``... of a running process. :func:`build_response_types`
builds them all once, on a worker thread at start-up, before the start-up heap is frozen
(``housedesk.run.freeze_heap``), and keeps them so they are never built again.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiogram.methods
from aiogram.methods.base import Response, TelegramMethod

_BUILT: dict[Any, type[Response[Any]]] = {}


def _method_classes() -> list[type[TelegramMethod[Any]]]:
    found = (getattr(aiogram.methods, name) for name in aiogram.methods.__all__)
    return [
        method
        for method in found
        if isinstance(method, type)
        and issubclass(method, TelegramMethod)
        and method is not TelegramMethod
    ]


def _build_all() -> int:
    for method in _method_classes():
        returning = method.__returning__
        if returning not in _BUILT:
            _BUILT[returning] = Response[returning]  # type: ignore[valid-type]
    return len(_BUILT)


async def build_response_types() -> int:
    """Build every Bot API method's response type on a worker thread; how many there are."""
    return await asyncio.to_thread(_build_all)
