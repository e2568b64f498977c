"""A channel-neutral outgoing message: what core says, not how a channel shows it.

Core writes one :class:`OutgoingMessage` per outbox row: text already translated, files
from the blob store, and actions a reader may take ("accept ticket 42", "rate 1-5"). Each
channel renders it its own way: the chat bots as messages with buttons, the mail composer
as a mail. The outbox row keeps it as JSON (:meth:`OutgoingMessage.to_payload`), read back
and checked with :meth:`OutgoingMessage.from_payload`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeGuard

from core.messaging.delivery import PermanentDeliveryError

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})
PAYLOAD_VERSION = 1
"""The version of the JSON form in outbox rows (``"v"``)."""


class InvalidMessageError(PermanentDeliveryError):
    """An outbox row's payload is not a message any channel could ever send."""


class Verb(StrEnum):
    """What an action does to its ticket."""

    ACCEPT = "accept"
    DECLINE = "decline"
    POSTPONE = "postpone"
    DONE = "done"
    RATE = "rate"
    REOPEN = "reopen"
    APPROVE = "approve"
    """A resident's registration (``ticket_id`` holds the claim's id): a dispatcher's yes."""
    REJECT = "reject"
    SET_BUILDING = "set_building"
    """A dispatcher sets the building of a ticket that has none (``value``: its id)."""
    STILL_NOT_WORKING = "still_not_working"
    """A resident says a resolved incident still affects them (``ticket_id`` holds their
    incident link's id): it reopens as a ticket."""


@dataclass(frozen=True)
class Action:
    """Something the reader can do with one tap: ``verb`` on ``ticket_id`` (a score for RATE)."""

    label: str
    verb: Verb
    ticket_id: int
    value: int = 0


@dataclass(frozen=True)
class FileRef:
    """An attachment in the blob store, shown under ``filename``."""

    sha256: str
    filename: str
    content_type: str = "application/octet-stream"

    @property
    def is_image(self) -> bool:
        """True for pictures any channel can show inline (JPEG, PNG, WebP)."""
        return self.content_type in _IMAGE_TYPES


@dataclass(frozen=True)
class OutgoingMessage:
    """One message to one recipient, in whatever channel the outbox row's route uses.

    ``subject`` titles it where a channel has titles (mail); ``message_id`` is the external id
    reserved for it in advance (a mail's Message-ID, already stored as a message reference);
    ``answers`` is the id of the message it answers and ``thread`` the earlier ids of the same
    conversation, oldest first; ``automatic`` marks messages no person wrote (acknowledgements,
    announcements), which must not start a reply loop; ``edits`` names the outbox row whose
    sent message this one replaces in place (a chat edits its text and buttons).
    """

    text: str
    files: tuple[FileRef, ...] = ()
    actions: tuple[tuple[Action, ...], ...] = ()
    subject: str = ""
    message_id: str | None = None
    answers: str | None = None
    thread: tuple[str, ...] = ()
    automatic: bool = False
    language: str | None = None
    edits: int | None = None

    def to_payload(self) -> dict[str, Any]:
        """The JSON form stored in the outbox row."""
        payload: dict[str, Any] = {"v": PAYLOAD_VERSION, "text": self.text}
        if self.files:
            payload["files"] = [
                {"sha256": f.sha256, "filename": f.filename, "content_type": f.content_type}
                for f in self.files
            ]
        if self.actions:
            payload["actions"] = [
                [
                    {
                        "label": a.label,
                        "verb": a.verb.value,
                        "ticket": a.ticket_id,
                        "value": a.value,
                    }
                    for a in row
                ]
                for row in self.actions
            ]
        for name in ("subject", "message_id", "answers", "language", "edits"):
            if getattr(self, name):
                payload[name] = getattr(self, name)
        if self.thread:
            payload["thread"] = list(self.thread)
        if self.automatic:
            payload["automatic"] = True
        return payload

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> OutgoingMessage:
        """Read and check an outbox row's payload; raise :class:`InvalidMessageError` if broken."""
        if not isinstance(payload, Mapping) or payload.get("v") != PAYLOAD_VERSION:
            raise InvalidMessageError(f"not an outgoing message (version {PAYLOAD_VERSION})")
        text = _typed(payload, "text", str, "")
        files = tuple(_file(item) for item in _typed(payload, "files", list, []))
        if not text.strip() and not files:
            raise InvalidMessageError("a message needs a text or a file")
        return cls(
            text=text,
            files=files,
            actions=tuple(_actions(_typed(payload, "actions", list, []))),
            subject=_typed(payload, "subject", str, ""),
            message_id=_typed(payload, "message_id", str, None),
            answers=_typed(payload, "answers", str, None),
            thread=tuple(_strings(_typed(payload, "thread", list, []), "thread")),
            automatic=_typed(payload, "automatic", bool, False),
            language=_typed(payload, "language", str, None),
            edits=_typed(payload, "edits", int, None),
        )


def _typed(payload: Mapping[str, Any], key: str, kind: type, default: Any) -> Any:
    value = payload.get(key)
    if value is None:
        return default
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise InvalidMessageError(f"{key} must be {kind.__name__}, not {type(value).__name__}")
    return value


def _strings(items: list[Any], what: str) -> list[str]:
    if not all(isinstance(item, str) for item in items):
        raise InvalidMessageError(f"{what} must list strings")
    return items


def _file(item: Any) -> FileRef:
    if not isinstance(item, dict) or not _SHA256.match(str(item.get("sha256", ""))):
        raise InvalidMessageError(f"file entry without a sha256 digest: {item!r}")
    return FileRef(
        sha256=item["sha256"],
        filename=str(item.get("filename") or "attachment"),
        content_type=str(item.get("content_type") or "application/octet-stream"),
    )


def _actions(rows: list[Any]) -> list[tuple[Action, ...]]:
    parsed: list[tuple[Action, ...]] = []
    for row in rows:
        if not isinstance(row, list) or not row:
            raise InvalidMessageError("actions must be non-empty rows (lists)")
        parsed.append(tuple(_action(item) for item in row))
    return parsed


def _action(item: Any) -> Action:
    if not isinstance(item, dict):
        raise InvalidMessageError(f"an action must be an object: {item!r}")
    try:
        verb = Verb(str(item.get("verb")))
    except ValueError:
        raise InvalidMessageError(f"unknown action verb {item.get('verb')!r}") from None
    label, ticket, value = item.get("label"), item.get("ticket"), item.get("value", 0)
    if not isinstance(label, str) or not label.strip():
        raise InvalidMessageError(f"an action needs a label: {item!r}")
    if not (_is_int(ticket) and _is_int(value)):
        raise InvalidMessageError(f"an action needs an integer ticket and value: {item!r}")
    return Action(label=label, verb=verb, ticket_id=ticket, value=value)


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)
