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
