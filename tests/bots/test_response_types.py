"""aiogram's response types are built at start-up, so no first answer builds one on the loop."""

from __future__ import annotations

from typing import Any

import aiogram.methods
import pytest
from aiogram.methods.base import Response, TelegramMethod

from bots.response_types import build_response_types


async def test_no_answer_type_is_built_after_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    await build_response_types()
    built: list[type[Any]] = []
    monkeypatch.setattr(
        Response, "__pydantic_init_subclass__", classmethod(lambda cls, **kw: built.append(cls))
    )
    methods = [getattr(aiogram.methods, name) for name in aiogram.methods.__all__]
    for method in methods:
        if (
            isinstance(method, type)
            and issubclass(method, TelegramMethod)
            and method is not TelegramMethod
        ):
            Response[method.__returning__]  # type: ignore[name-defined]  # what aiogram reads
    assert built == []


def test_a_type_not_built_before_is_seen(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[type[Any]] = []
    monkeypatch.setattr(
        Response, "__pydantic_init_subclass__", classmethod(lambda cls, **kw: built.append(cls))
    )
    Response[tuple[int, str, bytes]]  # no Bot API method answers this
    assert len(built) == 1
