"""Tortoise models: the directory (buildings, people, categories) and the ticket log.

Every table the service uses is declared here, so that one migrations package
(``core/migrations``) describes the whole schema.
"""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from core.i18n import in_language
from core.storage.indexes import WhereIndex


class Role(StrEnum):
    """What a person is to housedesk."""

    RESIDENT = "resident"
    TECHNICIAN = "technician"
    DISPATCHER = "dispatcher"
    MANAGER = "manager"
    ADMIN = "admin"


class ContactKind(StrEnum):
    """A channel through which a person can be reached and recognised.

    ``CHAT`` is an account on the chat platform the bots run on.
    """

    CHAT = "chat"
    EMAIL = "email"
    PHONE = "phone"


class Channel(StrEnum):
    """Where a ticket came from (``CHAT``: the chat platform the bots run on)."""

    CHAT = "chat"
    EMAIL = "email"
    VOICEMAIL = "voicemail"
    PHONE = "phone"
    CLI = "cli"


class Status(StrEnum):
    """The ticket workflow's states (transitions live in :mod:`core.tickets.workflow`)."""

    NEW = "new"
    IN_PROGRESS = "in_progress"
    ON_HOLD = "on_hold"
    DONE = "done"
    CLOSED = "closed"
    REJECTED = "rejected"
    REOPENED = "reopened"


class EventType(StrEnum):
    """Kinds of timeline rows."""

    CREATED = "created"
    PUBLIC_REPLY = "public_reply"
    INTERNAL_NOTE = "internal_note"
    STATUS_CHANGED = "status_changed"
    ASSIGNED = "assigned"
    ATTACHMENT = "attachment"
    RATING = "rating"
    DEADLINE_BREACH = "deadline_breach"
    NOTIFICATION_SENT = "notification_sent"
    NOTIFICATION_FAILED = "notification_failed"
    ROUTING = "routing"
    MERGED = "merged"
    """A duplicate was merged into this ticket (its requester follows it)."""


class PlanKind(StrEnum):
    """What an automatic routing plan waits for."""

    DEFERRED = "deferred"
    DUTY = "duty"


class ClaimStatus(StrEnum):
    """Whether a resident's word that they live in a flat was checked."""

    UNVERIFIED = "unverified"
    PENDING = "pending"
    """A dispatcher of the building was asked."""
    VERIFIED = "verified"
    REJECTED = "rejected"


class OutboxStatus(StrEnum):
    """Life of an outbox row."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class AnnouncementKind(StrEnum):
    """An emergency announcement always goes, and first; an ordinary one is rate-limited."""

    ORDINARY = "ordinary"
    EMERGENCY = "emergency"


class AnnouncementStatus(StrEnum):
    """Life of an announcement: confirmed by its sender, then queued (at once or when due)."""

    DRAFT = "draft"
    """Written and counted; waits for the sender's confirmation."""
    SCHEDULED = "scheduled"
    SENDING = "sending"
    """Its messages are being written to the outbox, a batch at a time."""
    SENT = "sent"
    """Every message is in the outbox."""
    CANCELLED = "cancelled"


class IncidentKind(StrEnum):
    """Whether an incident happened (an outage) or was planned ahead (a shut-off)."""

    EMERGENCY = "emergency"
    PLANNED = "planned"


class IncidentStatus(StrEnum):
    """Life of an incident: a planned one waits for its start, then both are active."""

    SCHEDULED = "scheduled"
    ACTIVE = "active"
    RESOLVED = "resolved"


class LinkStatus(StrEnum):
    """A resident's report absorbed by an incident, or what became of it."""

    LINKED = "linked"
    UNLINKED = "unlinked"
    """A dispatcher found it was not about the incident: it became a ticket."""
    REOPENED = "reopened"
    """The resident said it still did not work once resolved: it became a ticket."""


class Building(Model):
    """A building (or estate) residents report from."""

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=32, unique=True)
    name = fields.CharField(max_length=200)
    address = fields.CharField(max_length=300, default="")
    timezone = fields.CharField(max_length=64, default="UTC")
    language = fields.CharField(max_length=8, default="en")
    phone = fields.CharField(max_length=32, null=True)
    duty_phone = fields.CharField(max_length=32, null=True)
    emergency_instructions: fields.Field[dict[str, str]] = fields.JSONField(default=dict)
    """What to do in an emergency, by language: ``{"en": ..., "ru": ...}``."""
    zone = fields.CharField(max_length=64, null=True)
    hours: fields.Field[dict[str, list[str]]] = fields.JSONField(default=dict)
    holidays: fields.Field[list[str]] = fields.JSONField(default=list)

    class Meta:
        table = "building"

    def emergency_instructions_in(self, language: str | None) -> str:
        """The emergency instructions in ``language``, else in the building's language, else
        in English; empty when there are none."""
        return in_language(self.emergency_instructions or {}, language, self.language)


class Unit(Model):
    """A flat or premises in a building."""

    id = fields.IntField(primary_key=True)
    building: fields.ForeignKeyRelation[Building] = fields.ForeignKeyField(
        "models.Building", related_name="units", on_delete=fields.CASCADE
    )
    number = fields.CharField(max_length=32)
    entrance = fields.CharField(max_length=16, null=True)
    """The entrance (staircase, block) the flat is reached by, if the directory says."""
    floor = fields.CharField(max_length=16, null=True)
    """The floor as people name it (``"3"``, ``"-1"``, ``"G"``), if the directory says."""

    class Meta:
        table = "unit"
        unique_together = (("building", "number"),)


class Person(Model):
    """A resident or a member of staff."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200)
    role = fields.CharEnumField(Role, max_length=16, default=Role.RESIDENT)
    language = fields.CharField(max_length=8, null=True)
    trades: fields.Field[list[str]] = fields.JSONField(default=list)
    work_hours: fields.Field[dict[str, list[str]]] = fields.JSONField(default=dict)
    active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    buildings: fields.ManyToManyRelation[Building] = fields.ManyToManyField(
        "models.Building", related_name="staff", through="staff_building"
    )
    units: fields.ManyToManyRelation[Unit] = fields.ManyToManyField(
        "models.Unit", related_name="residents", through="residency"
    )

    class Meta:
        table = "person"

    @property
    def is_staff(self) -> bool:
        """True for everyone but residents."""
        return self.role != Role.RESIDENT


class Contact(Model):
    """A way to recognise and reach a person (Telegram user id, email, phone)."""

    id = fields.IntField(primary_key=True)
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="contacts", on_delete=fields.CASCADE
    )
    kind = fields.CharEnumField(ContactKind, max_length=16)
    value = fields.CharField(max_length=255)
    blocked = fields.BooleanField(default=False)

    class Meta:
        table = "contact"
        indexes = (("person_id",),)
        unique_together = (("kind", "value"),)


class ResidencyClaim(Model):
    """A flat a resident registered to through the bot, and how that was checked (by the
    phone number in the directory, or by a dispatcher). A residency without a claim came
    from the directory and needs no check."""

    id = fields.IntField(primary_key=True)
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="claims", on_delete=fields.CASCADE
    )
    unit: fields.ForeignKeyRelation[Unit] = fields.ForeignKeyField(
        "models.Unit", related_name="claims", on_delete=fields.CASCADE
    )
    status = fields.CharEnumField(ClaimStatus, max_length=16, default=ClaimStatus.UNVERIFIED)
    method = fields.CharField(max_length=16, default="")
    """How it was decided: ``phone`` or ``dispatcher``."""
    decided_by: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="claims_decided", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField()
    decided_at = fields.DatetimeField(null=True)

    class Meta:
        table = "residency_claim"
        unique_together = (("person", "unit"),)


class Absence(Model):
    """A period a member of staff is away (vacation, sick leave)."""

    id = fields.IntField(primary_key=True)
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="absences", on_delete=fields.CASCADE
    )
    kind = fields.CharField(max_length=16, default="vacation")
    starts = fields.DateField()
    ends = fields.DateField()

    class Meta:
        table = "absence"


class DutyRoster(Model):
    """An ordered after-hours duty list, for one building or for all (``building`` null)."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=100, unique=True)
    building: fields.ForeignKeyNullableRelation[Building] = fields.ForeignKeyField(
        "models.Building", related_name="rosters", null=True, on_delete=fields.CASCADE
    )
    member_ids: fields.Field[list[int]] = fields.JSONField(default=list)
    escalate_after_minutes = fields.IntField(default=15)

    class Meta:
        table = "duty_roster"


class StaffChat(Model):
    """A Telegram group that receives the work of a trade and/or building."""

    id = fields.IntField(primary_key=True)
    chat_id = fields.BigIntField(unique=True)
    title = fields.CharField(max_length=200, default="")
    building: fields.ForeignKeyNullableRelation[Building] = fields.ForeignKeyField(
        "models.Building", related_name="staff_chats", null=True, on_delete=fields.CASCADE
    )
    trade = fields.CharField(max_length=64, null=True)

    class Meta:
        table = "staff_chat"


class Category(Model):
    """A kind of request with its priority and deadlines."""

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=32, unique=True)
    names: fields.Field[dict[str, str]] = fields.JSONField(default=dict)
    priority = fields.IntField(default=3)
    emergency = fields.BooleanField(default=False)
    response_minutes = fields.IntField(null=True)
    resolution_minutes = fields.IntField(null=True)
    business_hours = fields.BooleanField(default=False)
    trade = fields.CharField(max_length=64, null=True)

    class Meta:
        table = "category"

    def name_in(self, language: str | None) -> str:
        """The category's name in ``language``, falling back to English, then the code."""
        names = self.names or {}
        return names.get(language or "en") or names.get("en") or self.code


OPEN_TICKET_WHERE = "status IN ('in_progress', 'new', 'on_hold', 'reopened')"
"""The open statuses as SQL, word for word as ``core.reports.open_now`` asks for them."""
OPEN_TICKET_COLUMNS = (
    "status",
    "category_id",
    "building_id",
    "assignee_id",
    "due_at",
    "response_due_at",
    "first_response_at",
    "needs_attention",
)
"""Every column the open-now query reads."""
PERIOD_COLUMNS = (
    "created_at",
    "status",
    "category_id",
    "building_id",
    "channel",
    "assignee_id",
    "due_at",
    "response_due_at",
    "first_response_at",
    "resolved_at",
    "rating",
)
"""Every column a period's report reads, the period's first (index ``ticket_period``)."""


class Ticket(Model):
    """One request, shown to people as ``#<id>``."""

    id = fields.IntField(primary_key=True)
    building: fields.ForeignKeyNullableRelation[Building] = fields.ForeignKeyField(
        "models.Building", related_name="tickets", null=True, on_delete=fields.RESTRICT
    )
    unit: fields.ForeignKeyNullableRelation[Unit] = fields.ForeignKeyField(
        "models.Unit", related_name="tickets", null=True, on_delete=fields.SET_NULL
    )
    requester: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="requested", null=True, on_delete=fields.SET_NULL
    )
    category: fields.ForeignKeyRelation[Category] = fields.ForeignKeyField(
        "models.Category", related_name="tickets", on_delete=fields.RESTRICT
    )
    assignee: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="assigned", null=True, on_delete=fields.SET_NULL
    )
    linked_to: fields.ForeignKeyNullableRelation[Ticket] = fields.ForeignKeyField(
        "models.Ticket", related_name="follow_ups", null=True, on_delete=fields.SET_NULL
    )
    priority = fields.IntField(default=3)
    channel = fields.CharEnumField(Channel, max_length=16)
    status = fields.CharEnumField(Status, max_length=16, default=Status.NEW)
    title = fields.CharField(max_length=300)
    description = fields.TextField(default="")
    language = fields.CharField(max_length=8, default="en")
    verified = fields.BooleanField(default=True)
    needs_attention = fields.TextField(default="")
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()
    response_due_at = fields.DatetimeField(null=True)
    due_at = fields.DatetimeField(null=True)
    first_response_at = fields.DatetimeField(null=True)
    resolved_at = fields.DatetimeField(null=True)
    closed_at = fields.DatetimeField(null=True)
    rating = fields.IntField(null=True)
    rating_comment = fields.TextField(default="", db_default="")
    version = fields.IntField(default=1, db_default=1)
    """Bumped by every change; a change made on an older copy is refused (``StaleTicket``)."""
    next_check_at = fields.DatetimeField(null=True)
    """When the scheduler next looks at the deadlines (None: nothing owed, never)."""

    class Meta:
        table = "ticket"
        # A requester's recent tickets, a technician's and a building's open ones, the
        # tickets whose next deadline check is due (the scheduler asks every minute), and
        # newest-first lists.
        indexes = (
            ("requester_id", "created_at"),
            ("assignee_id", "status"),
            ("building_id", "status"),
            ("status", "due_at"),
            ("next_check_at",),
            ("created_at",),
            # The desk's journal: newest first within a building, status, assignee, category.
            ("building_id", "created_at"),
            ("status", "created_at"),
            ("assignee_id", "created_at"),
            ("category_id", "created_at"),
            # The open tickets now (monitor, /load, the journal's deadline filters): a few
            # thousand rows of a million, read from the index alone.
            WhereIndex(fields=OPEN_TICKET_COLUMNS, name="ticket_open_now", where=OPEN_TICKET_WHERE),
            # A period's tickets for the reports and the monitor, read from the index alone.
            Index(fields=PERIOD_COLUMNS, name="ticket_period"),
        )

    @property
    def ref(self) -> str:
        """The reference shown to people in every channel."""
        return f"#{self.id}"


class TicketEvent(Model):
    """One row of the timeline of a ticket: who did what, when."""

    id = fields.IntField(primary_key=True)
    ticket: fields.ForeignKeyRelation[Ticket] = fields.ForeignKeyField(
        "models.Ticket", related_name="events", on_delete=fields.CASCADE
    )
    type = fields.CharEnumField(EventType, max_length=32)
    public = fields.BooleanField(default=False)
    text = fields.TextField(default="")
    actor: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="events", null=True, on_delete=fields.SET_NULL
    )
    actor_label = fields.CharField(max_length=200, default="system")
    data: fields.Field[dict[str, object]] = fields.JSONField(default=dict)
    at = fields.DatetimeField()

    class Meta:
        table = "ticket_event"
        indexes = (("ticket_id", "at"),)  # a timeline


class Attachment(Model):
    """A file on a ticket, stored content-addressed by sha256."""

    id = fields.IntField(primary_key=True)
    ticket: fields.ForeignKeyRelation[Ticket] = fields.ForeignKeyField(
        "models.Ticket", related_name="attachments", on_delete=fields.CASCADE
    )
    event: fields.ForeignKeyNullableRelation[TicketEvent] = fields.ForeignKeyField(
        "models.TicketEvent", related_name="attachments", null=True, on_delete=fields.SET_NULL
    )
    sha256 = fields.CharField(max_length=64)
    size = fields.BigIntField()
    content_type = fields.CharField(max_length=128, default="application/octet-stream")
    original_name = fields.CharField(max_length=255, default="")
    created_at = fields.DatetimeField()

    class Meta:
        table = "attachment"
        indexes = (("ticket_id",), ("sha256",))  # a timeline's files; is a blob in use


class MessageRef(Model):
    """A message id of a channel, linked to a ticket (email Message-ID, Telegram chat:message).

    Inbound ids make a delivery seen twice create one ticket; outbound ids let replies
    thread back to their ticket.
    """

    id = fields.IntField(primary_key=True)
    channel = fields.CharField(max_length=32)
    external_id = fields.CharField(max_length=255)
    inbound = fields.BooleanField(default=True)
    ticket: fields.ForeignKeyNullableRelation[Ticket] = fields.ForeignKeyField(
        "models.Ticket", related_name="message_refs", null=True, on_delete=fields.CASCADE
    )
    created_at = fields.DatetimeField()

    class Meta:
        table = "message_ref"
        indexes = (("ticket_id",),)  # the references a reply threads on
        unique_together = (("channel", "external_id"),)


class OutboxMessage(Model):
    """A message to send, written in the same transaction as the change that caused it."""

    id = fields.IntField(primary_key=True)
    channel = fields.CharField(max_length=32)
    recipient = fields.CharField(max_length=255)
    payload: fields.Field[dict[str, object]] = fields.JSONField(default=dict)
    idempotency_key = fields.CharField(max_length=200, unique=True)
    status = fields.CharEnumField(OutboxStatus, max_length=16, default=OutboxStatus.PENDING)
    attempts = fields.IntField(default=0)
    max_attempts = fields.IntField(default=8)
    progress = fields.IntField(default=0, db_default=0)  # parts of the message already sent
    priority = fields.SmallIntField(default=5, db_default=5)  # lower first: core.messaging.routes
    next_attempt_at = fields.DatetimeField()
    locked_until = fields.DatetimeField(null=True)
    last_error = fields.TextField(default="")
    external_id = fields.CharField(max_length=255, null=True)
    ticket: fields.ForeignKeyNullableRelation[Ticket] = fields.ForeignKeyField(
        "models.Ticket", related_name="outbox", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField()
    sent_at = fields.DatetimeField(null=True)
    announcement_id = fields.IntField(null=True)
    """The announcement the row belongs to (a plain id: rows are purged on their own)."""

    class Meta:
        table = "outbox"
        indexes = (
            ("status", "channel", "priority", "next_attempt_at"),
            ("channel", "recipient", "status"),
            ("announcement_id", "status"),  # an announcement's delivered and failed counts
            # A lane's next row to claim, in claim order, among the pending rows only: the
            # claim reads its first rows instead of sorting every pending row (migration 0021).
            WhereIndex(
                fields=("channel", "priority", "next_attempt_at", "id"),
                name="outbox_claim",
                where="status = 'pending'",
            ),
        )


class StaffInvite(Model):
    """A one-time, expiring code that links a Telegram account to a member of staff."""

    id = fields.IntField(primary_key=True)
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="invites", on_delete=fields.CASCADE
    )
    code_sha256 = fields.CharField(max_length=64, unique=True)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "staff_invite"


class ConversationState(Model):
    """Where a chat is in a bot conversation, kept across restarts (the bots' FSM storage)."""

    id = fields.IntField(primary_key=True)
    key = fields.CharField(max_length=255, unique=True)
    state = fields.CharField(max_length=255, null=True)
    data: fields.Field[dict[str, object]] = fields.JSONField(default=dict)
    updated_at = fields.DatetimeField()

    class Meta:
        table = "conversation_state"


class RoutingPlan(Model):
    """Automatic routing still to do for a ticket: opening hours to wait for, or a duty ladder.

    The scheduler looks at plans whose ``next_at`` has come. A duty ladder notifies
    ``member_ids`` in order, one step every ``escalate_after_minutes`` until someone accepts.
    """

    id = fields.IntField(primary_key=True)
    ticket: fields.ForeignKeyRelation[Ticket] = fields.ForeignKeyField(
        "models.Ticket", related_name="routing_plans", on_delete=fields.CASCADE
    )
    kind = fields.CharEnumField(PlanKind, max_length=16)
    member_ids: fields.Field[list[int]] = fields.JSONField(default=list)
    step = fields.IntField(default=0)
    escalate_after_minutes = fields.IntField(default=15)
    started_at = fields.DatetimeField()
    next_at = fields.DatetimeField(null=True, db_index=True)
    finished_at = fields.DatetimeField(null=True)
    outcome = fields.CharField(max_length=32, default="")

    class Meta:
        table = "routing_plan"


class OpsMark(Model):
    """A scheduled action already taken (breach, reminder, nudge, digest), so it happens once."""

    id = fields.IntField(primary_key=True)
    key = fields.CharField(max_length=200, unique=True)
    ticket: fields.ForeignKeyNullableRelation[Ticket] = fields.ForeignKeyField(
        "models.Ticket", related_name="ops_marks", null=True, on_delete=fields.CASCADE
    )
    created_at = fields.DatetimeField()

    class Meta:
        table = "ops_mark"


class Announcement(Model):
    """A message to the registered residents of a building (or part of it), or of all.

    ``actor`` wrote it; ``history`` is its timeline (``{"type", "actor", "at"}`` per change);
    ``cursor`` is the id of the last resident whose message is queued, so sending resumes
    where it stopped; ``counts`` are the messages queued per channel, the residents nobody
    can reach and the ordinary ones held back by the hourly limit.
    """

    id = fields.IntField(primary_key=True)
    building: fields.ForeignKeyNullableRelation[Building] = fields.ForeignKeyField(
        "models.Building", related_name="announcements", null=True, on_delete=fields.SET_NULL
    )
    text = fields.TextField()
    texts: fields.Field[dict[str, str]] = fields.JSONField(default=dict)
    """The text by language, when it was written in several (an incident's notice): each
    reader gets theirs, else the building's, else ``text``."""
    photo_sha256 = fields.CharField(max_length=64, null=True)
    actor: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="announcements", null=True, on_delete=fields.SET_NULL
    )
    actor_label = fields.CharField(max_length=200, default="system")
    counts: fields.Field[dict[str, int]] = fields.JSONField(default=dict)
    created_at = fields.DatetimeField()
    kind = fields.CharEnumField(
        AnnouncementKind, max_length=16, default=AnnouncementKind.ORDINARY, db_default="ordinary"
    )
    status = fields.CharEnumField(
        AnnouncementStatus, max_length=16, default=AnnouncementStatus.DRAFT, db_default="sent"
    )
    scope: fields.Field[dict[str, list[str]]] = fields.JSONField(default=dict)
    """Within the building: ``{"entrances": [...], "floors": [...], "flats": [...]}``."""
    send_at = fields.DatetimeField(null=True)
    """When it goes out (None: as soon as it is confirmed)."""
    sent_at = fields.DatetimeField(null=True)
    cursor = fields.IntField(default=0, db_default=0)
    history: fields.Field[list[dict[str, object]]] = fields.JSONField(default=list)
    incident: fields.ForeignKeyNullableRelation[Incident] = fields.ForeignKeyField(
        "models.Incident", related_name="announcements", null=True, on_delete=fields.SET_NULL
    )
    """The incident it is the public face of, if any."""
    reported_at = fields.DatetimeField(null=True)
    """When its sender was told how many messages were delivered."""

    class Meta:
        table = "announcement"
        indexes = (("status", "send_at"),)  # what is due to go out


class InboundUpdate(Model):
    """An update a chat bot received, stored before it is confirmed and handled from here.

    Handled rows have ``handled_at``; one that failed ``attempts`` times while the database
    answered is set aside (``quarantined_at``) for an operator instead of retried forever.
    """

    id = fields.IntField(primary_key=True)
    bot = fields.CharField(max_length=32)
    update_id = fields.BigIntField()
    payload: fields.Field[dict[str, object]] = fields.JSONField(default=dict)  # as received
    attempts = fields.IntField(default=0)
    last_error = fields.TextField(default="")
    received_at = fields.DatetimeField()
    next_attempt_at = fields.DatetimeField()
    handled_at = fields.DatetimeField(null=True)
    quarantined_at = fields.DatetimeField(null=True)
    chat = fields.CharField(max_length=64, default="", db_default="")  # whose conversation
    locked_until = fields.DatetimeField(null=True)  # claimed by a process until then

    class Meta:
        table = "inbound_update"
        unique_together = (("bot", "update_id"),)
        indexes = (
            ("bot", "handled_at", "next_attempt_at"),  # what is due, per bot
            ("bot", "chat", "handled_at"),  # whether a chat has an update in hand
        )


class FailedMail(Model):
    """A mail whose taking in failed, known by :attr:`key` whichever way it comes again.

    Each failure counts (a different failure starts the count again); after too many the
    mail is set aside (``quarantined_at``) with its raw bytes, answered as accepted, and
    left for ``housedesk quarantine``. A mail taken in at last leaves no row.
    """

    id = fields.IntField(primary_key=True)
    key = fields.CharField(max_length=64, unique=True)
    """sha256 of the Message-ID and sender (else of the sender, subject and body), as hex."""
    sender = fields.CharField(max_length=320, default="")
    subject = fields.CharField(max_length=200, default="")
    content = fields.BinaryField()
    """The mail as received."""
    attempts = fields.IntField(default=0)
    last_error = fields.TextField(default="")
    first_failed_at = fields.DatetimeField()
    quarantined_at = fields.DatetimeField(null=True)

    class Meta:
        table = "failed_mail"


class ClusterNode(Model):
    """A running ``housedesk run`` process: its heartbeat and the periodic jobs it leads."""

    id = fields.IntField(primary_key=True)
    node = fields.CharField(max_length=64, unique=True)
    host = fields.CharField(max_length=255)
    pid = fields.IntField()
    started_at = fields.DatetimeField()
    last_seen = fields.DatetimeField()
    leads: fields.Field[list[str]] = fields.JSONField(default=list)

    class Meta:
        table = "cluster_node"


class JobRun(Model):
    """The last run of a periodic job that is owed once per period (a day, say), by
    whichever process ran it: so it fires once across a cluster and across restarts."""

    job = fields.CharField(max_length=100, primary_key=True)
    period = fields.CharField(max_length=40)
    """What the run is for, e.g. the local date of a daily job."""
    node = fields.CharField(max_length=64)
    started_at = fields.DatetimeField()
    finished_at = fields.DatetimeField(null=True)
    """None while it runs, or when the process running it died or failed."""
    done = fields.IntField(null=True)

    class Meta:
        table = "job_run"


class RateBucket(Model):
    """A token bucket every process takes from (one sending budget shared by a cluster)."""

    key = fields.CharField(max_length=100, primary_key=True)
    capacity = fields.FloatField()
    per_second = fields.FloatField()
    tokens = fields.FloatField()
    stamp = fields.DatetimeField()
    held_until = fields.DatetimeField(null=True)

    class Meta:
        table = "rate_bucket"


class Incident(Model):
    """An outage or planned shut-off that absorbs the reports of the buildings it affects.

    Staff work it as one ticket (``ticket``: routed, carded, laddered and nudged like any
    other); residents who report it are linked to it (:class:`IncidentLink`) instead.
    """

    id = fields.IntField(primary_key=True)
    kind = fields.CharEnumField(IncidentKind, max_length=16)
    status = fields.CharEnumField(IncidentStatus, max_length=16, default=IncidentStatus.ACTIVE)
    category: fields.ForeignKeyNullableRelation[Category] = fields.ForeignKeyField(
        "models.Category", related_name="incidents", null=True, on_delete=fields.SET_NULL
    )
    title = fields.CharField(max_length=200)
    texts: fields.Field[dict[str, str]] = fields.JSONField(default=dict)
    """What residents are told, by language: ``{"en": ..., "ru": ...}``."""
    keywords: fields.Field[list[str]] = fields.JSONField(default=list)
    """Words that tie a mail or voicemail to it (besides its category)."""
    starts_at = fields.DatetimeField()
    expected_end_at = fields.DatetimeField(null=True)
    ended_at = fields.DatetimeField(null=True)
    ticket: fields.ForeignKeyNullableRelation[Ticket] = fields.ForeignKeyField(
        "models.Ticket", related_name="incidents", null=True, on_delete=fields.SET_NULL
    )
    opened_by: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="incidents_opened", null=True, on_delete=fields.SET_NULL
    )
    opened_by_label = fields.CharField(max_length=200, default="system")
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()
    version = fields.IntField(default=1)
    """Bumped by every change; a change made on an older copy is refused."""

    class Meta:
        table = "incident"
        indexes = (("status", "starts_at"),)  # what is active or due to start

    def text_in(self, language: str | None, building: Building | None = None) -> str:
        """The residents' text in ``language``, else the building's, else English, else
        the title."""
        fallback = building.language if building else None
        return in_language(self.texts or {}, language, fallback) or self.title


class IncidentArea(Model):
    """A building an incident affects: all of it, or only the flats listed."""

    id = fields.IntField(primary_key=True)
    incident: fields.ForeignKeyRelation[Incident] = fields.ForeignKeyField(
        "models.Incident", related_name="areas", on_delete=fields.CASCADE
    )
    building: fields.ForeignKeyRelation[Building] = fields.ForeignKeyField(
        "models.Building", related_name="incident_areas", on_delete=fields.CASCADE
    )
    flats: fields.Field[list[str]] = fields.JSONField(default=list)
    """Flat numbers; empty: the whole building."""

    class Meta:
        table = "incident_area"
        unique_together = (("incident", "building"),)
        indexes = (("building_id",),)  # the incidents of a building


class IncidentLink(Model):
    """A resident who reported an incident: told its news instead of getting a ticket."""

    id = fields.IntField(primary_key=True)
    incident: fields.ForeignKeyRelation[Incident] = fields.ForeignKeyField(
        "models.Incident", related_name="links", on_delete=fields.CASCADE
    )
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="incident_links", on_delete=fields.CASCADE
    )
    channel = fields.CharEnumField(Channel, max_length=16)
    text = fields.TextField(default="")
    """What the resident wrote or said, if anything."""
    status = fields.CharEnumField(LinkStatus, max_length=16, default=LinkStatus.LINKED)
    ticket: fields.ForeignKeyNullableRelation[Ticket] = fields.ForeignKeyField(
        "models.Ticket", related_name="incident_links", null=True, on_delete=fields.SET_NULL
    )
    """Its ticket: the one it was linked from (a dispatcher linked a ticket), or the one it
    became (unlinked, or reopened as still not working)."""
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "incident_link"
        unique_together = (("incident", "person"),)


class IncidentEvent(Model):
    """One row of the timeline of an incident: who did what, when."""

    id = fields.IntField(primary_key=True)
    incident: fields.ForeignKeyRelation[Incident] = fields.ForeignKeyField(
        "models.Incident", related_name="events", on_delete=fields.CASCADE
    )
    type = fields.CharField(max_length=32)
    text = fields.TextField(default="")
    actor: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="incident_events", null=True, on_delete=fields.SET_NULL
    )
    actor_label = fields.CharField(max_length=200, default="system")
    data: fields.Field[dict[str, object]] = fields.JSONField(default=dict)
    at = fields.DatetimeField()

    class Meta:
        table = "incident_event"
        indexes = (("incident_id", "at"),)  # a timeline


class DeskSession(Model):
    """A member of staff signed in to the dispatcher's desk. The browser's cookie holds a
    random token; only its sha256 is stored. Ended by signing out, by an admin, or by time."""

    id = fields.IntField(primary_key=True)
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="desk_sessions", on_delete=fields.CASCADE
    )
    token_sha256 = fields.CharField(max_length=64, unique=True)
    via = fields.CharField(max_length=16)
    """How the person signed in: ``launch`` (the chat app's launch data) or ``link``."""
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    ended_at = fields.DatetimeField(null=True)

    class Meta:
        table = "desk_session"
        indexes = (("person_id",),)  # an admin ends a person's sessions


class DeskLink(Model):
    """A single-use, short-lived sign-in link to the desk, sent to a member of staff in the
    staff chat; only the sha256 of its code is stored."""

    id = fields.IntField(primary_key=True)
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "models.Person", related_name="desk_links", on_delete=fields.CASCADE
    )
    code_sha256 = fields.CharField(max_length=64, unique=True)
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "desk_link"
