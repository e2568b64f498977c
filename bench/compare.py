"""The benchmarks of an earlier commit and of this tree, run one after the other.

``python -m bench.compare --base REV [bench ...]`` checks REV out into a temporary git
worktree, runs each benchmark there (its own code, this machine, this moment) and then here,
and prints both outputs with, for every figure line the two share, the ratio of their first
number (this tree / REV). ``make bench-compare BASE=REV`` is the same.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_BENCHES = ("core_bench", "telegram_bench", "email_bench", "report_bench")
_FIGURE = re.compile(r"^(?P<name>[^:]+):\s*\D*?(?P<value>\d[\d,]*(?:\.\d+)?)")


def run_bench(tree: Path, bench: str) -> str:
    """Run ``bench`` from ``tree``'s own code and return what it printed."""
    done = subprocess.run(
        [sys.executable, "-m", f"bench.{bench}"],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
        check=False,
    )
    failure = f"(exit {done.returncode}) {done.stderr[-400:]}" if done.returncode else ""
    return done.stdout + failure


def figures(output: str) -> dict[str, float]:
    """The first number of each ``name: ...`` line, by name."""
    found: dict[str, float] = {}
    for line in output.splitlines():
        match = _FIGURE.match(line)
        if match:
            found[match["name"].strip()] = float(match["value"].replace(",", ""))
    return found


def compare(base: str, benches: Sequence[str]) -> None:
    """Print each benchmark's output for ``base`` and for this tree, and their ratios."""
    with tempfile.TemporaryDirectory() as tmp:
        worktree = Path(tmp) / "base"
        subprocess.run(
            ["git", "worktree", "add", "--detach", "--quiet", str(worktree), base],
            cwd=REPO,
            check=True,
        )
        try:
            for bench in benches:
                before = run_bench(worktree, bench)
                after = run_bench(REPO, bench)
                print(f"== {bench}\n-- {base}\n{before.rstrip()}\n-- this tree\n{after.rstrip()}")
                old, new = figures(before), figures(after)
                for name in new.keys() & old.keys():
                    if old[name]:
                        print(f"   {name}: this tree / {base} = {new[name] / old[name]:.2f}")
        finally:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(worktree)], cwd=REPO, check=False
            )


def main() -> None:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="HEAD~1", help="the commit to compare with")
    parser.add_argument("benches", nargs="*", default=list(DEFAULT_BENCHES))
    args = parser.parse_args()
    compare(args.base, args.benches)


if __name__ == "__main__":
    main()
