"""The outbox's Telegram sender (python-telegram-bot) against the Bot API stand-in."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from telegram.error import InvalidToken

from bots.telegram_sender import TelegramSender, TelegramTimeouts
from core.messaging.delivery import (
    Delivery,
    PermanentDeliveryError,
    RecipientBlockedError,
    TemporaryDeliveryError,
)
from core.storage.blobs import BlobStore
from tests.fakes.botapi import BotApiServer
from tests.fakes.botapi_errors import Fault
from tests.fakes.botapi_updates import message_update, private_chat, user
from tests.telegram.support import RESIDENT_BOT_TOKEN, png

TOKEN = RESIDENT_BOT_TOKEN
CHAT_ID = 5550001
KEYBOARD = {"inline_keyboard": [[{"text": "Close ticket", "callback_data": "close:T-17"}]]}
FAST = TelegramTimeouts(connect=1, read=0.5, write=1, media_write=2, pool=1)


@pytest.fixture
def blobs(tmp_path: Path) -> BlobStore:
    return BlobStore(tmp_path / "blobs")


@pytest_asyncio.fixture
async def sender(botapi: BotApiServer, blobs: BlobStore) -> AsyncIterator[TelegramSender]:
    botapi.add_bot(TOKEN)
    async with TelegramSender(TOKEN, botapi.url, blobs, FAST) as started:
        yield started


def delivery(payload: dict[str, Any], recipient: int | str = CHAT_ID) -> Delivery:
    return Delivery(id=1, channel="telegram", recipient=str(recipient), payload=payload, attempts=0)


def text(body: str, *, recipient: int = CHAT_ID, **extra: Any) -> Delivery:
    return delivery({"method": "sendMessage", "text": body, **extra}, recipient)


def file_entry(blobs: BlobStore, data: bytes, filename: str, content_type: str) -> dict[str, str]:
    return {"sha256": blobs.put(data).sha256, "filename": filename, "content_type": content_type}


async def test_a_text_with_a_keyboard_is_delivered(
    botapi: BotApiServer, sender: TelegramSender
) -> None:
    receipt = await sender(text("Ticket T-17 is open", reply_markup=KEYBOARD))

    assert receipt.external_id == "1"
    [shown] = botapi.messages(TOKEN, CHAT_ID)
    assert shown["text"] == "Ticket T-17 is open"
    assert shown["reply_markup"] == KEYBOARD
    assert shown["from"]["id"] == 710000001


async def test_a_reply_quotes_the_residents_message(
    botapi: BotApiServer, sender: TelegramSender
) -> None:
    resident = user(CHAT_ID, "Mina")
    queued = botapi.add_update(TOKEN, message_update(resident, private_chat(resident), "Leak!"))

    receipt = await sender(
        text("A plumber is coming", reply_to_message_id=queued["message"]["message_id"])
    )

    reply = botapi.messages(TOKEN, CHAT_ID)[-1]
    assert receipt.external_id == str(reply["message_id"])
    assert reply["reply_to_message"]["text"] == "Leak!"


async def test_a_reply_to_a_deleted_message_is_still_delivered(
    botapi: BotApiServer, sender: TelegramSender
) -> None:
    receipt = await sender(text("Your ticket was closed", reply_to_message_id=404))

    [shown] = botapi.messages(TOKEN, CHAT_ID)
    assert receipt.external_id == str(shown["message_id"])
    assert shown["text"] == "Your ticket was closed"
    assert "reply_to_message" not in shown


async def test_a_photo_is_uploaded_with_its_caption(
    botapi: BotApiServer, sender: TelegramSender, blobs: BlobStore
) -> None:
    image = png(10, 7)
    payload = {
        "method": "sendPhoto",
        "caption": "Crack in the wall, flat 4B",
        "files": [file_entry(blobs, image, "wall.png", "image/png")],
    }

    receipt = await sender(delivery(payload))

    call = botapi.calls(TOKEN, "sendPhoto")[0]
    upload = call.upload("photo")
    assert (upload.data, upload.filename, upload.content_type) == (image, "wall.png", "image/png")
    assert call.params["caption"] == "Crack in the wall, flat 4B"
    [shown] = botapi.messages(TOKEN, CHAT_ID)
    assert receipt.external_id == str(shown["message_id"])
    assert (shown["photo"][-1]["width"], shown["photo"][-1]["height"]) == (10, 7)


async def test_a_document_is_uploaded(
    botapi: BotApiServer, sender: TelegramSender, blobs: BlobStore
) -> None:
    pdf = b"%PDF-1.7 water bill"
    payload = {
        "method": "sendDocument",
        "files": [file_entry(blobs, pdf, "bill-2024-05.pdf", "application/pdf")],
        "reply_markup": KEYBOARD,
    }

    await sender(delivery(payload))

    [shown] = botapi.messages(TOKEN, CHAT_ID)
    assert shown["document"]["file_name"] == "bill-2024-05.pdf"
    assert shown["document"]["mime_type"] == "application/pdf"
    assert shown["reply_markup"] == KEYBOARD
    assert botapi.calls(TOKEN, "sendDocument")[0].upload("document").data == pdf


async def test_several_photos_go_as_one_media_group(
    botapi: BotApiServer, sender: TelegramSender, blobs: BlobStore
) -> None:
    images = [png(2, 2, "red"), png(3, 3, "green"), png(4, 4, "blue")]
    files = [file_entry(blobs, data, f"{n}.png", "image/png") for n, data in enumerate(images)]

    receipt = await sender(
        delivery({"method": "sendMediaGroup", "caption": "Lobby", "files": files})
    )

    call = botapi.calls(TOKEN, "sendMediaGroup")[0]
    assert [upload.data for upload in call.media_uploads()] == images
    shown = botapi.messages(TOKEN, CHAT_ID)
    assert [m["photo"][-1]["width"] for m in shown] == [2, 3, 4]
    assert len({m["media_group_id"] for m in shown}) == 1
    assert shown[0]["caption"] == "Lobby"
    assert receipt.external_id == str(shown[0]["message_id"])
    assert receipt.details["message_ids"] == [m["message_id"] for m in shown]


async def test_a_group_mixing_photos_and_pdfs_goes_as_documents(
    botapi: BotApiServer, sender: TelegramSender, blobs: BlobStore
) -> None:
    files = [
        file_entry(blobs, png(), "meter.png", "image/png"),
        file_entry(blobs, b"%PDF-1.7", "reading.pdf", "application/pdf"),
    ]

    await sender(delivery({"method": "sendMediaGroup", "files": files}))

    shown = botapi.messages(TOKEN, CHAT_ID)
    assert [m["document"]["file_name"] for m in shown] == ["meter.png", "reading.pdf"]


async def test_a_group_of_one_photo_is_sent_as_a_photo(
    botapi: BotApiServer, sender: TelegramSender, blobs: BlobStore
) -> None:
    files = [file_entry(blobs, png(), "only.png", "image/png")]

    receipt = await sender(delivery({"method": "sendMediaGroup", "caption": "One", "files": files}))

    assert botapi.calls(TOKEN, "sendMediaGroup") == []
    [shown] = botapi.messages(TOKEN, CHAT_ID)
    assert shown["caption"] == "One" and "photo" in shown
    assert receipt.external_id == str(shown["message_id"])


async def test_an_edit_changes_the_text_and_a_repeated_edit_succeeds(
    botapi: BotApiServer, sender: TelegramSender
) -> None:
    first = await sender(text("Ticket T-17: open", reply_markup=KEYBOARD))
    edit = delivery(
        {
            "method": "editMessageText",
            "message_id": int(first.external_id or 0),
            "text": "Ticket T-17: closed",
        }
    )

    receipt = await sender(edit)
    repeated = await sender(edit)

    [shown] = botapi.messages(TOKEN, CHAT_ID)
    assert shown["text"] == "Ticket T-17: closed"
    assert "reply_markup" not in shown
    assert receipt.external_id == repeated.external_id == first.external_id
    assert repeated.details == {"not_modified": True}


async def test_editing_a_missing_message_is_permanent(sender: TelegramSender) -> None:
    edit = delivery({"method": "editMessageText", "message_id": 77, "text": "closed"})

    with pytest.raises(PermanentDeliveryError, match="Message to edit not found"):
        await sender(edit)


async def test_too_many_requests_is_temporary_with_retry_after(
    botapi: BotApiServer, sender: TelegramSender
) -> None:
    botapi.fail_next(TOKEN, "sendMessage", Fault.TOO_MANY_REQUESTS, retry_after=7)

    with pytest.raises(TemporaryDeliveryError) as caught:
        await sender(text("hello"))

    assert caught.value.retry_after == 7
    assert botapi.messages(TOKEN, CHAT_ID) == []
    assert (await sender(text("hello"))).external_id == "1"  # the limiter is not left paused


@pytest.mark.parametrize(
    "kind", [Fault.SERVER_ERROR, Fault.BAD_GATEWAY, Fault.PROXY_PAGE, Fault.TIMEOUT]
)
async def test_server_trouble_is_temporary(
    botapi: BotApiServer, sender: TelegramSender, kind: Fault
) -> None:
    botapi.fail_next(TOKEN, "sendMessage", kind)

    with pytest.raises(TemporaryDeliveryError) as caught:
        await sender(text("hello"))

    assert caught.value.retry_after is None
    assert not isinstance(caught.value, PermanentDeliveryError)
    assert botapi.messages(TOKEN, CHAT_ID) == []


async def test_an_unreachable_server_is_temporary(blobs: BlobStore) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    async with TelegramSender(TOKEN, f"http://127.0.0.1:{closed_port}", blobs, FAST) as sender:
        with pytest.raises(TemporaryDeliveryError):
            await sender(text("hello"))


@pytest.mark.parametrize(
    "description",
    [
        "Forbidden: bot was blocked by the user",
        "Forbidden: user is deactivated",
        "Forbidden: bot was kicked from the group chat",
    ],
)
async def test_forbidden_means_the_recipient_blocked_us(
    botapi: BotApiServer, sender: TelegramSender, description: str
) -> None:
    botapi.fail_next(TOKEN, "sendMessage", Fault.BLOCKED, description=description)

    with pytest.raises(RecipientBlockedError, match=description.removeprefix("Forbidden: ")):
        await sender(text("hello"))


async def test_a_bad_request_is_permanent_with_telegrams_description(
    botapi: BotApiServer, sender: TelegramSender
) -> None:
    botapi.fail_next(TOKEN, "sendMessage", Fault.CHAT_NOT_FOUND)

    with pytest.raises(PermanentDeliveryError, match="Chat not found") as caught:
        await sender(text("hello"))

    assert not isinstance(caught.value, RecipientBlockedError)


async def test_a_missing_attachment_is_permanent_and_nothing_is_sent(
    botapi: BotApiServer, sender: TelegramSender
) -> None:
    payload = {
        "method": "sendPhoto",
        "files": [{"sha256": "ab" * 32, "filename": "gone.png", "content_type": "image/png"}],
    }

    with pytest.raises(PermanentDeliveryError, match="not in the blob store"):
        await sender(delivery(payload))

    assert botapi.calls(TOKEN, "sendPhoto") == []


async def test_a_burst_to_many_chats_all_arrives_through_the_rate_limiter(
    botapi: BotApiServer, sender: TelegramSender
) -> None:
    started = time.monotonic()

    receipts = await asyncio.gather(
        *(sender(text(f"Water off at 10:00 ({n})", recipient=7000 + n)) for n in range(40))
    )

    elapsed = time.monotonic() - started
    assert [r.external_id for r in receipts] == ["1"] * 40
    assert sorted(c.params["chat_id"] for c in botapi.calls(TOKEN, "sendMessage")) == [
        7000 + n for n in range(40)
    ]
    assert 0.2 < elapsed < 3  # 30 at once, the other 10 spread over the next third of a second


async def test_a_group_chat_gets_at_most_20_messages_a_minute(
    botapi: BotApiServer, sender: TelegramSender
) -> None:
    group = -1001234567890
    await asyncio.gather(*(sender(text(f"notice {n}", recipient=group)) for n in range(20)))

    with pytest.raises(TimeoutError):
        await asyncio.wait_for(sender(text("notice 21", recipient=group)), timeout=0.5)

    assert len(botapi.messages(TOKEN, group)) == 20


async def test_start_tolerates_an_unreachable_telegram(
    botapi: BotApiServer, blobs: BlobStore, caplog: pytest.LogCaptureFixture
) -> None:
    botapi.add_bot(TOKEN)
    botapi.fail_next(TOKEN, "getMe", Fault.BAD_GATEWAY)

    with caplog.at_level(logging.WARNING, logger="bots.telegram_sender"):
        async with TelegramSender(TOKEN, botapi.url, blobs, FAST) as sender:
            receipt = await sender(text("hello"))

    assert receipt.external_id == "1"
    assert "Telegram unreachable at start" in caplog.text


async def test_start_refuses_a_rejected_token(botapi: BotApiServer, blobs: BlobStore) -> None:
    sender = TelegramSender("999:not-registered", botapi.url, blobs, FAST)

    with pytest.raises(InvalidToken):
        await sender.start()
