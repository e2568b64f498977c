"""The outbox's Telegram sender: delivers one outbox row through python-telegram-bot.

The row's message is rendered (:mod:`bots.telegram_render`) into Bot API calls that are
made in order; a call that fails after earlier ones went out raises with the count of
parts sent, which the outbox keeps, so the retry starts with the part that failed.
Attachments are read from the blob store and uploaded (Telegram never fetches our URLs); a
file missing there is waited for, then left out with a line saying so
(:mod:`core.messaging.attachments`).
Sends take their turn in the bot's rate budget (:mod:`bots.rate_budget`), shared with the
bot's direct answers; announcements go as bulk, behind answers to a person. The sender never
retries: every failure is raised as a ``core.messaging.delivery`` error and the outbox worker
owns the backoff (a 429 also pauses the budget for its ``retry_after``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType

from telegram import (
    InlineKeyboardMarkup,
    InputFile,
    InputMediaDocument,
    InputMediaPhoto,
    Message,
)
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    RetryAfter,
    TelegramError,
)
from telegram.ext import ExtBot
from telegram.request import HTTPXRequest

from bots.rate_budget import RateBudget, Urgency
from bots.sender_budget import BudgetRateLimiter, retry_after_seconds
from bots.telegram_render import Method, Part, render
from core.messaging.attachments import with_files_at_hand
from core.messaging.delivery import (
    Delivery,
    DeliveryError,
    DeliveryReceipt,
    PermanentDeliveryError,
    RecipientBlockedError,
    TemporaryDeliveryError,
)
from core.messaging.message import FileRef
from core.messaging.routes import Priority
from core.storage.blobs import BlobMissing, BlobStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TelegramTimeouts:
    """Seconds allowed for each phase of a Bot API request."""

    connect: float = 5.0
    read: float = 10.0
    write: float = 10.0
    media_write: float = 30.0
    pool: float = 5.0


class TelegramSender:
    """Sends outbox deliveries of a chat route (one bot each); ``recipient`` is the chat id.

    ``api_base`` is the server root (``https://api.telegram.org``, or a stand-in's URL);
    ``budget`` is the bot's rate budget, shared with its direct answers (a budget of its own
    when None). Call :meth:`start` before the first delivery and :meth:`stop` at shutdown,
    or use the sender as an async context manager.
    """

    def __init__(
        self,
        token: str,
        api_base: str,
        blobs: BlobStore,
        timeouts: TelegramTimeouts | None = None,
        budget: RateBudget | None = None,
    ) -> None:
        timeouts = timeouts or TelegramTimeouts()
        base = api_base.rstrip("/")
        request = HTTPXRequest(
            connect_timeout=timeouts.connect,
            read_timeout=timeouts.read,
            write_timeout=timeouts.write,
            media_write_timeout=timeouts.media_write,
            pool_timeout=timeouts.pool,
        )
        # PTB appends the token to these prefixes: <base>/bot<token>/<method>.
        self._bot: ExtBot[Urgency] = ExtBot(
            token,
            base_url=f"{base}/bot",
            base_file_url=f"{base}/file/bot",
            request=request,
            rate_limiter=BudgetRateLimiter(budget or RateBudget()),
        )
        self._blobs = blobs

    async def start(self) -> None:
        """Open the HTTP client and check the token with getMe.

        A rejected token raises ``telegram.error.InvalidToken``; an unreachable Telegram is only
        logged, so the application still starts and deliveries retry later.
        """
        try:
            await self._bot.initialize()
        except InvalidToken:
            await self._bot.shutdown()
            raise
        except TelegramError as exc:
            log.warning("Telegram unreachable at start (%s); deliveries will retry", exc)

    async def stop(self) -> None:
        """Close the HTTP client."""
        await self._bot.shutdown()

    async def __aenter__(self) -> TelegramSender:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def __call__(self, delivery: Delivery) -> DeliveryReceipt:
        """Send the parts of one outbox row not sent before, in order.

        The receipt's references are ``<chat id>:<message id>`` of every message sent, the
        form a reply quoting one of them is looked up by; its external id is the first. An
        edit changes the message it replaces instead (see :meth:`_edit`).
        """
        if delivery.message.edits is not None:
            return await self._edit(delivery)
        parts = render(await with_files_at_hand(delivery, self._blobs))
        chat_id = _chat_id(delivery.recipient)
        priority = budget_priority(delivery)
        sent: list[str] = []
        for number, part in enumerate(parts[delivery.progress :], start=delivery.progress):
            try:
                messages = await self._send(chat_id, part, priority)
            except TelegramError as exc:
                raise _delivery_error(exc, progress=number, references=sent) from exc
            except DeliveryError as exc:
                raise _resumed(exc, progress=number, references=sent) from exc
            sent += [f"{m.chat.id}:{m.message_id}" for m in messages]
        return DeliveryReceipt(sent[0] if sent else None, tuple(sent), {"parts": len(parts)})

    async def _edit(self, delivery: Delivery) -> DeliveryReceipt:
        """Replace the text and buttons of the message sent before (``delivery.replaces``,
        ``<chat id>:<message id>``); one that already reads so is no failure."""
        if delivery.replaces is None:
            raise PermanentDeliveryError("the message to edit was never sent")
        chat, _, message_id = delivery.replaces.rpartition(":")
        [part] = render(delivery.message)
        markup = InlineKeyboardMarkup.de_json(part.keyboard, self._bot) if part.keyboard else None
        try:
            await self._bot.edit_message_text(
                part.text,
                chat_id=_chat_id(chat),
                message_id=int(message_id),
                reply_markup=markup,
                rate_limit_args=budget_priority(delivery),
            )
        except BadRequest as exc:
            if "not modified" not in exc.message.lower():
                raise _delivery_error(exc, progress=0, references=()) from exc
        except TelegramError as exc:
            raise _delivery_error(exc, progress=0, references=()) from exc
        return DeliveryReceipt(delivery.replaces)

    async def _send(self, chat_id: int | str, part: Part, priority: Urgency) -> Sequence[Message]:
        """Make the Bot API call for one part; return the messages it made."""
        markup = InlineKeyboardMarkup.de_json(part.keyboard, self._bot) if part.keyboard else None
        caption = part.text or None
        if part.method is Method.SEND_MESSAGE:
            return [
                await self._bot.send_message(
                    chat_id, part.text, reply_markup=markup, rate_limit_args=priority
                )
            ]
        if part.method is Method.SEND_MEDIA_GROUP:
            media = [
                InputMediaPhoto(await self._upload(ref, attach=True))
                if ref.is_image
                else InputMediaDocument(await self._upload(ref, attach=True))
                for ref in part.files
            ]
            return await self._bot.send_media_group(
                chat_id, media, caption=caption, rate_limit_args=priority
            )
        upload = await self._upload(part.files[0])
        if part.method is Method.SEND_PHOTO:
            photo = await self._bot.send_photo(
                chat_id, upload, caption=caption, reply_markup=markup, rate_limit_args=priority
            )
            return [photo]
        document = await self._bot.send_document(
            chat_id, upload, caption=caption, reply_markup=markup, rate_limit_args=priority
        )
        return [document]

    async def _upload(self, ref: FileRef, *, attach: bool = False) -> InputFile:
        """The attachment's bytes from the blob store, ready to upload under its filename."""
        try:
            data = await self._blobs.read(ref.sha256)
        except BlobMissing:  # removed since it was looked for: the next attempt sees it gone
            raise TemporaryDeliveryError(f"attachment {ref.filename} is gone") from None
        except OSError as exc:
            raise TemporaryDeliveryError(f"cannot read attachment {ref.sha256}: {exc}") from exc
        upload = InputFile(data, filename=ref.filename, attach=attach)
        upload.mimetype = ref.content_type
        return upload


def budget_priority(delivery: Delivery) -> Urgency:
    """Bulk rows (announcements) wait behind every answer to a person; other rows are answers."""
    return Urgency.BULK if delivery.priority >= Priority.BULK else Urgency.ANSWER


def _chat_id(recipient: str) -> int | str:
    """Numeric chat ids as int (the rate limiter tells groups by their sign), else "@name"."""
    try:
        return int(recipient)
    except ValueError:
        return recipient


def _delivery_error(
    exc: TelegramError, *, progress: int, references: Sequence[str]
) -> DeliveryError:
    """Translate a PTB error into the outbox's retry decision, with how far this attempt got."""
    return _resumed(_classify(exc), progress=progress, references=references)


def _classify(exc: TelegramError) -> DeliveryError:
    if isinstance(exc, RetryAfter):
        return TemporaryDeliveryError(exc.message, retry_after=retry_after_seconds(exc))
    if isinstance(exc, Forbidden):
        return RecipientBlockedError(exc.message)
    if isinstance(exc, ChatMigrated):
        return PermanentDeliveryError(f"group became supergroup {exc.new_chat_id}")
    if isinstance(exc, BadRequest):
        return PermanentDeliveryError(exc.message)
    if isinstance(exc, InvalidToken):
        # A revoked or mistyped token is fixed by the operator; keep the messages queued.
        return TemporaryDeliveryError(f"Telegram rejected the bot token: {exc.message}")
    return TemporaryDeliveryError(exc.message)


def _resumed(exc: DeliveryError, *, progress: int, references: Sequence[str]) -> DeliveryError:
    """``exc`` again, with how far this attempt got."""
    if isinstance(exc, TemporaryDeliveryError):
        return TemporaryDeliveryError(
            str(exc), exc.retry_after, progress=progress, references=references
        )
    return type(exc)(str(exc), progress=progress, references=references)
