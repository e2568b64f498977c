"""Heavy libraries loaded on first use without stalling the event loop.

The report chart (matplotlib) and the export (openpyxl) are imported only when a manager
asks for them; the first import takes seconds, so it runs on a worker thread while the
loop goes on serving updates and sends."""

from __future__ import annotations

import asyncio
import gc
import importlib
import sys
from types import ModuleType


async def imported(name: str) -> ModuleType:
    """The module ``name``, imported on a worker thread the first time; what the import
    made is then put out of the garbage collector's reach (``gc.freeze``), as start-up's
    is, so no full collection walks it on the loop."""
    module = sys.modules.get(name)
    if module is not None:
        return module
    module = await asyncio.to_thread(importlib.import_module, name)
    gc.freeze()
    return module
