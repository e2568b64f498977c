"""Running a benchmark once per database kind.

tortoise caches SQL on the model classes, so SQLite and PostgreSQL never share a process:
without ``--db`` the benchmark runs itself again for each kind, in a process of its own.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
from collections.abc import Callable, Coroutine
from typing import Any, NoReturn

from bench.seeding import fresh_seed_option


def run_each_database(
    module: str,
    db: str | None,
    child_args: list[str],
    sqlite: Callable[[], Coroutine[Any, Any, bool]],
    postgres: Callable[[], Coroutine[Any, Any, bool]],
) -> NoReturn:
    """Run ``db``'s benchmark here, or every kind in its own process; exit 1 on a missed target."""
    if db == "sqlite":
        sys.exit(0 if asyncio.run(sqlite()) else 1)
    if db == "postgres":
        sys.exit(0 if asyncio.run(postgres()) else 1)
    codes = [
        subprocess.run(
            [sys.executable, "-m", module, "--db", kind, *child_args], check=False
        ).returncode
        for kind in ("sqlite", "postgres")
    ]
    sys.exit(1 if any(codes) else 0)


def main_over_rows(
    module: str,
    description: str | None,
    sqlite: Callable[[int], Coroutine[Any, Any, bool]],
    postgres: Callable[[int], Coroutine[Any, Any, bool]],
) -> NoReturn:
    """The command line of a benchmark over ``--rows`` seeded tickets (a million unless
    told; ``--fresh-seed`` seeds again): one database kind, or each in its own process."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--db", choices=("sqlite", "postgres"))
    fresh_seed_option(parser)
    args = parser.parse_args()
    run_each_database(
        module,
        args.db,
        ["--rows", str(args.rows)],
        lambda: sqlite(args.rows),
        lambda: postgres(args.rows),
    )
