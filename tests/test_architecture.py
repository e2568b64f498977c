"""The layering holds: core knows no channel and draws nothing, and no package imports in a circle.

Dependencies flow one way: housedesk -> bots, intake, presentation -> core. These tests read
the source (no database, no imports of the modules under test), so they run in a second.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("core", "bots", "intake", "housedesk", "presentation", "speech_models", "desk")

OUTSIDE_CORE = ("bots", "intake", "housedesk", "presentation", "desk")
CHANNEL_AND_PRESENTATION_LIBRARIES = (
    "aiogram",
    "telegram",
    "aiohttp",
    "aiosmtpd",
    "aiosmtplib",
    "imap_tools",
    "vosk",
    "av",
    "matplotlib",
    "openpyxl",
    "qrcode",
    "PIL",
    "jinja2",
)

CHANNEL_WORDS = re.compile(r"telegram|aiogram|sendMessage|callback_data|matplotlib|openpyxl")
"""The issue's grep (case-sensitive, as ``grep -rn`` runs it)."""
HISTORY = REPO / "core" / "storage" / "migrations"
"""Migrations record the schema as it was and convert the values stored then."""


def _modules(package: str) -> Iterator[tuple[str, Path]]:
    for path in sorted((REPO / package).rglob("*.py")):
        parts = list(path.relative_to(REPO).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        yield ".".join(parts), path


def _imports(tree: ast.AST, module: str, *, runtime_only: bool) -> Iterator[tuple[int, str]]:
    """``(line, imported module)`` for each import, those inside functions included; relative
    ones resolved against ``module``. ``runtime_only`` leaves out ``if TYPE_CHECKING:`` bodies."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")[: -node.level]
                base = ".".join([*anchor, *([base] if base else [])])
            yield node.lineno, base
            for alias in node.names:  # ``from core.reports import figures`` imports a module
                yield node.lineno, f"{base}.{alias.name}"
        elif runtime_only and isinstance(node, ast.If) and _type_checking(node.test):
            orelse = ast.Module(body=node.orelse, type_ignores=[])  # the if branch never runs
            yield from _imports(orelse, module, runtime_only=True)
        else:
            yield from _imports(node, module, runtime_only=runtime_only)


def _type_checking(test: ast.expr) -> bool:
    name = test.attr if isinstance(test, ast.Attribute) else getattr(test, "id", None)
    return name == "TYPE_CHECKING"


def _is_under(name: str, roots: tuple[str, ...]) -> bool:
    return any(name == root or name.startswith(f"{root}.") for root in roots)


def test_core_imports_no_channel_no_presentation_and_no_outer_package() -> None:
    forbidden = (*OUTSIDE_CORE, *CHANNEL_AND_PRESENTATION_LIBRARIES)
    found = [
        f"{path.relative_to(REPO)}:{line} imports {name}"
        for module, path in _modules("core")
        for line, name in _imports(ast.parse(path.read_text()), module, runtime_only=False)
        if _is_under(name, forbidden)
    ]
    assert found == [], "core must not import these:\n" + "\n".join(found)


def _graph() -> dict[str, set[str]]:
    modules = {module: path for package in PACKAGES for module, path in _modules(package)}
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        tree = ast.parse(path.read_text())
        graph[module] = {
            name
            for _, name in _imports(tree, module, runtime_only=True)
            if name in modules and name != module
        }
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle (``a -> b -> a``) in ``graph``, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_imports_under_type_checking_are_no_runtime_edge() -> None:
    tree = ast.parse(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import a\nelse:\n    import b\n"
    )
    assert {n for _, n in _imports(tree, "m", runtime_only=True)} == {
        "typing",
        "typing.TYPE_CHECKING",
        "b",
    }


def test_find_cycle_reports_the_circle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycles() -> None:
    cycle = find_cycle(_graph())
    assert cycle is None, "import circle: " + " -> ".join(cycle or [])


def _prose_lines(source: str) -> set[int]:
    """Lines that are comments or docstrings."""
    lines: set[int] = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            lines.add(token.start[0])
    for node in ast.walk(ast.parse(source)):
        body = getattr(node, "body", None)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            candidates = body[:1]
        elif isinstance(body, list):
            candidates = body  # attribute docstrings: a string statement after an assignment
        else:
            continue
        for statement in candidates:
            if (
                isinstance(statement, ast.Expr)
                and isinstance(statement.value, ast.Constant)
                and isinstance(statement.value.value, str)
            ):
                end = statement.end_lineno or statement.lineno
                lines.update(range(statement.lineno, end + 1))
    return lines


def _channel_words_in_code() -> Iterator[str]:
    for path in sorted((REPO / "core").rglob("*")):
        if not path.is_file() or HISTORY in path.parents or path.suffix in (".pyc", ".mo"):
            continue
        text = path.read_text(encoding="utf-8")
        prose = _prose_lines(text) if path.suffix == ".py" else set()
        relative = str(path.relative_to(REPO))
        for number, line in enumerate(text.splitlines(), start=1):
            if CHANNEL_WORDS.search(line) and number not in prose:
                yield f"{relative}:{number}: {line.strip()}"


def test_core_speaks_no_channel_in_code() -> None:
    found = list(_channel_words_in_code())
    assert found == [], "channel words in core outside comments:\n" + "\n".join(found)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('"""About telegram."""\nx = 1  # telegram\n', set()),
        ('x = "telegram"\n', {1}),
        ('def f():\n    """telegram\n    more"""\n    return "sendMessage"\n', {4}),
    ],
)
def test_only_code_lines_count(source: str, expected: set[int]) -> None:
    lines = source.splitlines()
    hits = {n for n, line in enumerate(lines, 1) if CHANNEL_WORDS.search(line)}
    assert hits - _prose_lines(source) == expected
