"""Outbox routes named by audience, one channel-neutral message per outbox row, and progress.

* The outbox routes and the message references that replies thread on are renamed from the
  protocol to the audience: ``telegram_resident`` -> ``resident_chat`` and
  ``telegram_staff`` -> ``staff_chat`` (``email`` stays).
* ``outbox.progress`` counts the parts of a message already sent (a long text goes out as
  several chat messages), so a retry after a failure on part two does not resend part one.
* Pending rows written in the old per-protocol payloads (one chat API call per row, or a
  mail's headers) are rewritten as ``core.messaging.message.OutgoingMessage`` payloads, so an
  upgraded database still delivers what was queued before it. Sent and failed rows keep
  their old payloads as a record. Going back renames the routes and drops the column, but
  does not rewrite payloads: rows queued in the new form stay unsendable for the old code.
"""

from __future__ import annotations

import json
from typing import Any

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

_ROUTES = (("telegram_resident", "resident_chat"), ("telegram_staff", "staff_chat"))
_VERBS = frozenset({"accept", "decline", "postpone", "done", "rate", "reopen"})
_OLD_CHAT_METHODS = frozenset({"sendMessage", "sendPhoto", "sendDocument", "sendMediaGroup"})


def _renames(pairs: tuple[tuple[str, str], ...]) -> list[str]:
    return [
        f'UPDATE "{table}" SET "channel" = \'{new}\' WHERE "channel" = \'{old}\''
        for table in ("outbox", "message_ref")
        for old, new in pairs
    ]


def _action(button: Any) -> dict[str, Any] | None:
    """An old inline button (``tk:<verb>:<ticket>`` or ``rs:<verb>:<ticket>:<score>``)."""
    if not isinstance(button, dict):
        return None
    parts = str(button.get("callback_data") or "").split(":")
    if len(parts) not in (3, 4) or parts[0] not in ("tk", "rs") or parts[1] not in _VERBS:
        return None
    numbers = parts[2:]
    if not all(n.isdigit() for n in numbers):
        return None
    score = int(numbers[1]) if len(numbers) == 2 else 0
    label = str(button.get("text") or parts[1])
    return {"label": label, "verb": parts[1], "ticket": int(numbers[0]), "value": score}


def convert_chat_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """An old chat payload (one Bot API call) as a message payload."""
    new: dict[str, Any] = {"v": 1, "text": str(payload.get("caption") or payload.get("text") or "")}
    if payload.get("files"):
        new["files"] = list(payload["files"])
    markup = payload.get("reply_markup")
    rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
    actions = [
        [action for action in map(_action, row) if action]
        for row in (rows if isinstance(rows, list) else [])
        if isinstance(row, list)
    ]
    if any(actions):
        new["actions"] = [row for row in actions if row]
    return new


def convert_mail_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """An old mail payload (its headers by name) as a message payload."""
    answers = payload.get("in_reply_to") or None
    thread = [ref for ref in payload.get("references") or [] if ref != answers]
    new: dict[str, Any] = {"v": 1, "text": str(payload.get("text") or "")}
    for key, value in (
        ("files", list(payload.get("attachments") or [])),
        ("subject", payload.get("subject")),
        ("message_id", payload.get("message_id")),
        ("answers", answers),
        ("thread", thread),
        ("automatic", bool(payload.get("auto_submitted"))),
        ("language", payload.get("language")),
    ):
        if value:
            new[key] = value
    return new


def convert_payload(payload: Any) -> dict[str, Any] | None:
    """The message payload for an old row's payload; None when there is nothing to convert."""
    if not isinstance(payload, dict) or "v" in payload:
        return None
    if payload.get("method") in _OLD_CHAT_METHODS:
        return convert_chat_payload(payload)
    if "message_id" in payload and "subject" in payload:
        return convert_mail_payload(payload)
    return None


async def _convert_pending(apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    postgres = schema_editor.DIALECT != "sqlite"
    rows = await client.execute_query_dict(
        'SELECT "id", "payload" FROM "outbox" WHERE "status" = \'pending\''
    )
    update = (
        'UPDATE "outbox" SET "payload" = ($1::text)::jsonb WHERE "id" = $2'
        if postgres
        else 'UPDATE "outbox" SET "payload" = ? WHERE "id" = ?'
    )
    for row in rows:
        stored = row["payload"]
        new = convert_payload(json.loads(stored) if isinstance(stored, str) else stored)
        if new is not None:
            await client.execute_query(update, [json.dumps(new), row["id"]])


class Migration(migrations.Migration):
    dependencies = [("models", "0006_chat_channel")]

    initial = False

    operations = [
        ops.RunSQL(_renames(_ROUTES), reverse_sql=_renames(tuple((n, o) for o, n in _ROUTES))),
        ops.AddField(
            model_name="OutboxMessage",
            name="progress",
            field=fields.IntField(default=0, db_default=0),
        ),
        ops.RunPython(_convert_pending, ops.RunPython.noop),
    ]
