"""Index kinds tortoise does not offer: :class:`WhereIndex`, a partial index on a condition
written in SQL (tortoise's ``PartialIndex`` knows only ``column = value``)."""

from __future__ import annotations

from typing import Any

from tortoise.indexes import Index


class WhereIndex(Index):
    """An index of the rows matching ``where`` (SQL both SQLite and PostgreSQL read).

    For SQLite to use it, a query must repeat ``where`` word for word.
    """

    def __init__(self, *, fields: tuple[str, ...] | list[str], name: str, where: str) -> None:
        super().__init__(fields=fields, name=name)
        self.where = where
        self.extra = f" WHERE {where}"

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        path, args, kwargs = super().deconstruct()
        kwargs["where"] = self.where
        return path, args, kwargs
