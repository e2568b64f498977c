"""Inputs to the core services, as plain dataclasses built by the channels."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.actors import Actor
from core.operations.classify import Classification
from core.storage.models import Channel, ContactKind


@dataclass(frozen=True)
class NewAttachment:
    """A file already stored in the blob store, to attach to a ticket."""

    sha256: str
    size: int
    content_type: str
    original_name: str


@dataclass(frozen=True)
class InboundRef:
    """A channel's own id for an incoming message (for de-duplication and threading)."""

    channel: str
    external_id: str


@dataclass(frozen=True)
class RequesterHint:
    """How the channel identified the requester when no person id is known."""

    kind: ContactKind
    value: str
    name: str = ""


@dataclass(frozen=True)
class NewTicket:
    """Open a ticket."""

    category: str
    title: str
    channel: Channel
    actor: Actor
    description: str = ""
    building: str | None = None
    unit: str | None = None
    requester_id: int | None = None
    requester: RequesterHint | None = None
    inbound: InboundRef | None = None
    attachments: list[NewAttachment] = field(default_factory=list)
    language: str | None = None
    needs_attention: str = ""
    linked_to: int | None = None
    acknowledge: bool = True
    classification: Classification | None = None
    """The channel's keyword classification of the text (``category`` holds its outcome);
    routing records it instead of classifying the text again."""
