"""Operations the hand-written migrations share."""

from __future__ import annotations

from typing import Any

from tortoise.migrations import operations as ops


class AlterDescription(ops.AlterField):
    """AlterField of a description only (an enum's members, say): a column comment, which
    SQLite does not keep; there its AlterField would rebuild the table, so only the model
    state moves."""

    async def database_forward(
        self, app_label: str, old_state: Any, new_state: Any, state_editor: Any = None
    ) -> None:
        if state_editor is not None and state_editor.DIALECT != "sqlite":
            await super().database_forward(app_label, old_state, new_state, state_editor)

    async def database_backward(
        self, app_label: str, old_state: Any, new_state: Any, state_editor: Any = None
    ) -> None:
        if state_editor is not None and state_editor.DIALECT != "sqlite":
            await super().database_backward(app_label, old_state, new_state, state_editor)


class PerDialectSQL(ops.RunSQL):
    """RunSQL whose statements depend on the database: ``{"sqlite": [...], "postgres": [...]}``
    (a database kind left out runs nothing)."""

    async def database_forward(
        self, app_label: str, old_state: Any, new_state: Any, state_editor: Any = None
    ) -> None:
        if state_editor is not None:
            await self._run_sql(state_editor, self.sql.get(state_editor.DIALECT, []))

    async def database_backward(
        self, app_label: str, old_state: Any, new_state: Any, state_editor: Any = None
    ) -> None:
        if state_editor is not None:
            await self._run_sql(state_editor, self.reverse_sql.get(state_editor.DIALECT, []))

    async def _run_sql(self, state_editor: Any, sqls: list[str]) -> None:
        # One statement at a time, never split at ";" (a trigger's body holds some).
        for sql in sqls:
            if state_editor.collect_sql:
                state_editor.collected_sql.append(sql)
            else:
                await state_editor.client.execute_query(sql)
