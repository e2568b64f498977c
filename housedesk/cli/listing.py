"""Command-line listings that print as they read: a JSON array streamed item by item."""

from __future__ import annotations

import argparse
import json
from collections.abc import AsyncIterable
from typing import Any


def count(text: str) -> int:
    """An argparse type: a whole number, 0 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return value


async def print_json_array(items: AsyncIterable[Any]) -> None:
    """Print a valid JSON array, each item as soon as it is read (never all in memory)."""
    first = True
    async for item in items:
        body = json.dumps(item, ensure_ascii=False, indent=2).replace("\n", "\n  ")
        print("[\n  " if first else ",\n  ", body, sep="", end="")
        first = False
    print("[]" if first else "\n]")
