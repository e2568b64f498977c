"""The outbox's Telegram sender: delivers one outbox row through python-telegram-bot.

Attachments are read from the blob store and uploaded (Telegram never fetches our URLs).
Sends go through PTB's ``AIORateLimiter`` (about 30 messages a second overall, 20 a minute
per group) with ``max_retries=0``: the sender never retries, every failure is raised as a
``core.messaging.delivery`` error and the outbox worker owns the backoff.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from dataclasses import dataclass
from datetime import timedelta
from types import TracebackType

from telegram import (
    InlineKeyboardMarkup,
    InputFile,
    InputMediaDocument,
    InputMediaPhoto,
    Message,
    ReplyParameters,
)
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    RetryAfter,
    TelegramError,
)
from telegram.ext import AIORateLimiter, ExtBot
from telegram.request import HTTPXRequest
from telegram.warnings import PTBDeprecationWarning

from bots.telegram_payload import FileRef, TelegramPayload, parse_payload
from core.messaging.delivery import (
    Delivery,
    DeliveryError,
    DeliveryReceipt,
    PermanentDeliveryError,
    RecipientBlockedError,
    TemporaryDeliveryError,
)
from core.storage.blobs import BlobStore

log = logging.getLogger(__name__)

PHOTO_CONTENT_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})
"""Attachments sent as photos in a media group; anything else goes as documents."""
_NOT_MODIFIED = "message is not modified"


@dataclass(frozen=True)
class TelegramTimeouts:
    """Seconds allowed for each phase of a Bot API request."""

    connect: float = 5.0
    read: float = 10.0
    write: float = 10.0
    media_write: float = 30.0
    pool: float = 5.0


class TelegramSender:
    """Sends outbox deliveries of channel "telegram"; ``recipient`` is the chat id.

    ``api_base`` is the server root (``https://api.telegram.org``, or a stand-in's URL);
    call :meth:`start` before the first delivery and :meth:`stop` at shutdown, or use the
    sender as an async context manager.
    """

    def __init__(
        self,
        token: str,
        api_base: str,
        blobs: BlobStore,
        timeouts: TelegramTimeouts | None = None,
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
        self._bot = ExtBot(
            token,
            base_url=f"{base}/bot",
            base_file_url=f"{base}/file/bot",
            request=request,
            rate_limiter=AIORateLimiter(max_retries=0),
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
        """Deliver one outbox row; return the (first) Telegram message id as ``external_id``."""
        payload = parse_payload(delivery.payload)
        chat_id = _chat_id(delivery.recipient)
        try:
            ids = await self._send(chat_id, payload)
        except BadRequest as exc:
            if payload.method == "editMessageText" and _NOT_MODIFIED in exc.message.lower():
                # Already as asked, e.g. a retry after a lost response: that is a success.
                return DeliveryReceipt(str(payload.message_id), {"not_modified": True})
            raise _delivery_error(exc) from exc
        except TelegramError as exc:
            raise _delivery_error(exc) from exc
        return DeliveryReceipt(str(ids[0]) if ids else None, {"message_ids": ids})

    async def _send(self, chat_id: int | str, payload: TelegramPayload) -> list[int]:
        """Make the Bot API call(s) for a payload; return the ids of the messages involved."""
        markup = (
            InlineKeyboardMarkup.de_json(payload.reply_markup, self._bot)
            if payload.reply_markup
            else None
        )
        reply = (
            ReplyParameters(payload.reply_to_message_id, allow_sending_without_reply=True)
            if payload.reply_to_message_id is not None
            else None
        )
        if payload.method == "sendMessage":
            sent = await self._bot.send_message(
                chat_id, payload.text or "", reply_markup=markup, reply_parameters=reply
            )
            return [sent.message_id]
        if payload.method == "editMessageText":
            edited = await self._bot.edit_message_text(
                payload.text or "",
                chat_id=chat_id,
                message_id=payload.message_id,
                reply_markup=markup,
            )
            return [edited.message_id] if isinstance(edited, Message) else []
        files = payload.files
        if payload.method == "sendMediaGroup" and len(files) > 1:
            as_photos = all(ref.content_type in PHOTO_CONTENT_TYPES for ref in files)
            media = [
                InputMediaPhoto(await self._upload(ref, attach=True))
                if as_photos
                else InputMediaDocument(await self._upload(ref, attach=True))
                for ref in files
            ]
            album = await self._bot.send_media_group(
                chat_id, media, caption=payload.caption, reply_parameters=reply
            )
            return [message.message_id for message in album]
        single = files[0]
        if payload.method == "sendPhoto" or (
            payload.method == "sendMediaGroup" and single.content_type in PHOTO_CONTENT_TYPES
        ):
            sent = await self._bot.send_photo(
                chat_id,
                await self._upload(single),
                caption=payload.caption,
                reply_markup=markup,
                reply_parameters=reply,
            )
        else:
            sent = await self._bot.send_document(
                chat_id,
                await self._upload(single),
                caption=payload.caption,
                reply_markup=markup,
                reply_parameters=reply,
            )
        return [sent.message_id]

    async def _upload(self, ref: FileRef, *, attach: bool = False) -> InputFile:
        """The attachment's bytes from the blob store, ready to upload under its filename."""
        try:
            data = await asyncio.to_thread(self._blobs.read, ref.sha256)
        except FileNotFoundError:
            raise PermanentDeliveryError(
                f"attachment {ref.sha256} is not in the blob store"
            ) from None
        except OSError as exc:
            raise TemporaryDeliveryError(f"cannot read attachment {ref.sha256}: {exc}") from exc
        upload = InputFile(data, filename=ref.filename, attach=attach)
        upload.mimetype = ref.content_type
        return upload


def _chat_id(recipient: str) -> int | str:
    """Numeric chat ids as int (the rate limiter tells groups by their sign), else "@name"."""
    try:
        return int(recipient)
    except ValueError:
        return recipient


def _delivery_error(exc: TelegramError) -> DeliveryError:
    """Translate a PTB error into the outbox's retry decision."""
    if isinstance(exc, RetryAfter):
        return TemporaryDeliveryError(exc.message, retry_after=_retry_after_seconds(exc))
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


def _retry_after_seconds(exc: RetryAfter) -> float:
    # PTB 22 warns that retry_after will become a timedelta; accept both and stay quiet.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
