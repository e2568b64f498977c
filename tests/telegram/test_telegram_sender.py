"""The outbox's Telegram sender (python-telegram-bot) against the Bot API stand-in."""

from __future__ import annotations

import asyncio
import dataclasses
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
from core.messaging.attachments import SEND_WITHOUT_FROM
from core.messaging.delivery import (
    Delivery,
    PermanentDeliveryError,
    RecipientBlockedError,
    TemporaryDeliveryError,
)
from core.messaging.message import Action, FileRef, OutgoingMessage, Verb
from core.messaging.routes import Route
from core.storage.blobs import BlobStore
from core.storage.blobs.local import LocalBlobStore
from tests.fakes.botapi import BotApiServer
from tests.fakes.botapi_errors import Fault
from tests.telegram.support import RESIDENT_BOT_TOKEN, png

TOKEN = RESIDENT_BOT_TOKEN
CHAT_ID = 5550001
ACCEPT = ((Action("Accept", Verb.ACCEPT, 17), Action("Decline", Verb.DECLINE, 17)),)
KEYBOARD = {
    "inline_keyboard": [
        [
            {"text": "Accept", "callback_data": "tk:accept:17"},
            {"text": "Decline", "callback_data": "tk:decline:17"},
        ]
    ]
}
FAST = TelegramTimeouts(connect=1, read=0.5, write=1, media_write=2, pool=1)


@pytest.fixture
def blobs(tmp_path: Path) -> BlobStore:
    return LocalBlobStore(tmp_path / "blobs")


@pytest_asyncio.fixture
async def sender(botapi: BotApiServer, blobs: BlobStore) -> AsyncIterator[TelegramSender]:
    botapi.add_bot(TOKEN)
    async with TelegramSender(TOKEN, botapi.url, blobs, FAST) as started:
        yield started


def delivery(
    message: OutgoingMessage, recipient: int | str = CHAT_ID, *, progress: int = 0
) -> Delivery:
    return Delivery(
        id=1,
        route=Route.RESIDENT_CHAT,
        recipient=str(recipient),
        message=message,
        attempts=1,
        progress=progress,
    )


def text(body: str, *, recipient: int = CHAT_ID, **extra: Any) -> Delivery:
    return delivery(OutgoingMessage(body, **extra), recipient)


async def file_ref(blobs: BlobStore, data: bytes, filename: str, content_type: str) -> FileRef:
    return FileRef((await blobs.put(data)).sha256, filename, content_type)


async def photos(blobs: BlobStore, count: int) -> tuple[FileRef, ...]:
    return tuple(
        [await file_ref(blobs, png(n + 1, 2), f"{n}.png", "image/png") for n in range(count)]
    )


async def test_a_text_with_actions_is_delivered_with_their_buttons(
    botapi: BotApiServer, sender: TelegramSender
) -> None:
    receipt = await sender(text("Ticket T-17 is yours", actions=ACCEPT))

    [shown] = botapi.messages(TOKEN, CHAT_ID)
    assert shown["text"] == "Ticket T-17 is yours"
    assert shown["reply_markup"] == KEYBOARD
    assert shown["from"]["id"] == 710000001
    assert receipt.external_id == f"{CHAT_ID}:{shown['message_id']}"
    assert receipt.references == (receipt.external_id,)


async def test_a_photo_is_uploaded_with_the_text_as_its_caption(
    botapi: BotApiServer, sender: TelegramSender, blobs: BlobStore
) -> None:
    image = png(10, 7)
    wall = await file_ref(blobs, image, "wall.png", "image/png")

    receipt = await sender(text("Crack in the wall, flat 4B", files=(wall,)))

    call = botapi.calls(TOKEN, "sendPhoto")[0]
    upload = call.upload("photo")
    assert (upload.data, upload.filename, upload.content_type) == (image, "wall.png", "image/png")
    assert call.params["caption"] == "Crack in the wall, flat 4B"
    [shown] = botapi.messages(TOKEN, CHAT_ID)
    assert receipt.external_id == f"{CHAT_ID}:{shown['message_id']}"
    assert (shown["photo"][-1]["width"], shown["photo"][-1]["height"]) == (10, 7)


async def test_a_document_carries_the_buttons(
    botapi: BotApiServer, sender: TelegramSender, blobs: BlobStore
) -> None:
    pdf = b"%PDF-1.7 water bill"
    bill = await file_ref(blobs, pdf, "bill-2024-05.pdf", "application/pdf")

    await sender(text("Your bill", files=(bill,), actions=ACCEPT))

    [shown] = botapi.messages(TOKEN, CHAT_ID)
    assert shown["document"]["file_name"] == "bill-2024-05.pdf"
    assert shown["document"]["mime_type"] == "application/pdf"
    assert shown["caption"] == "Your bill"
    assert shown["reply_markup"] == KEYBOARD
    assert botapi.calls(TOKEN, "sendDocument")[0].upload("document").data == pdf


async def test_several_photos_go_as_one_album_with_the_caption(
    botapi: BotApiServer, sender: TelegramSender, blobs: BlobStore
) -> None:
    images = [png(2, 2, "red"), png(3, 3, "green"), png(4, 4, "blue")]
    files = tuple(
        [await file_ref(blobs, data, f"{n}.png", "image/png") for n, data in enumerate(images)]
    )

    receipt = await sender(text("Lobby", files=files))

    call = botapi.calls(TOKEN, "sendMediaGroup")[0]
    assert [upload.data for upload in call.media_uploads()] == images
    shown = botapi.messages(TOKEN, CHAT_ID)
    assert [m["photo"][-1]["width"] for m in shown] == [2, 3, 4]
    assert len({m["media_group_id"] for m in shown}) == 1
    assert shown[0]["caption"] == "Lobby"
    assert receipt.references == tuple(f"{CHAT_ID}:{m['message_id']}" for m in shown)


async def test_photos_and_pdfs_go_as_an_album_then_a_document(
    botapi: BotApiServer, sender: TelegramSender, blobs: BlobStore
) -> None:
    files = (
        await file_ref(blobs, png(), "meter.png", "image/png"),
        await file_ref(blobs, png(3, 3), "hall.png", "image/png"),
        await file_ref(blobs, b"%PDF-1.7", "reading.pdf", "application/pdf"),
    )

    await sender(text("Meter readings", files=files))

    shown = botapi.messages(TOKEN, CHAT_ID)
    assert ["photo" in m for m in shown] == [True, True, False]
    assert shown[0]["caption"] == "Meter readings"
    assert shown[2]["document"]["file_name"] == "reading.pdf"


async def test_a_long_text_arrives_as_several_messages_with_the_buttons_on_the_last(
    botapi: BotApiServer, sender: TelegramSender
) -> None:
    paragraphs = [f"Step {n}:" + " Check the valve and the pipe." * 14 for n in range(22)]
    report = "\n\n".join(paragraphs)
    assert len(report) > 9000

    receipt = await sender(text(report, actions=ACCEPT))

    shown = botapi.messages(TOKEN, CHAT_ID)
    assert len(shown) == 3 and all(len(m["text"]) <= 4096 for m in shown)
    assert "\n\n".join(m["text"] for m in shown) == report  # cut between paragraphs
    assert ["reply_markup" in m for m in shown] == [False, False, True]
    assert shown[-1]["reply_markup"] == KEYBOARD
    assert len(receipt.references) == 3


async def test_a_card_with_twelve_photos_arrives_text_first_then_albums_in_order(
    botapi: BotApiServer, sender: TelegramSender, blobs: BlobStore
) -> None:
    files = await photos(blobs, 12)

    await sender(text("T-17: leak in the basement", files=files, actions=ACCEPT))

    shown = botapi.messages(TOKEN, CHAT_ID)
    assert shown[0]["text"] == "T-17: leak in the basement"
    assert shown[0]["reply_markup"] == KEYBOARD
    assert [m["photo"][-1]["width"] for m in shown[1:]] == list(range(1, 13))
    albums = [m["media_group_id"] for m in shown[1:]]
    assert len(set(albums[:10])) == 1 and len(set(albums[10:])) == 1
    assert albums[0] != albums[10]
    assert [c.method for c in botapi.calls(TOKEN)][-3:] == [
        "sendMessage",
        "sendMediaGroup",
        "sendMediaGroup",
    ]


async def test_a_failure_on_part_two_is_retried_without_resending_part_one(
    botapi: BotApiServer, sender: TelegramSender, blobs: BlobStore
) -> None:
    card = OutgoingMessage("T-17: leak", await photos(blobs, 12), ACCEPT)
    botapi.fail_next(TOKEN, "sendMediaGroup", Fault.SERVER_ERROR)

    with pytest.raises(TemporaryDeliveryError) as caught:
        await sender(delivery(card))
    assert caught.value.progress == 1
    [first] = botapi.messages(TOKEN, CHAT_ID)
    assert caught.value.references == (f"{CHAT_ID}:{first['message_id']}",)

    receipt = await sender(delivery(card, progress=caught.value.progress))

    shown = botapi.messages(TOKEN, CHAT_ID)
    assert [m.get("text") for m in shown].count("T-17: leak") == 1
    assert len(shown) == 13 and shown[0] == first
    assert len(receipt.references) == 12  # the photos sent by this attempt


async def test_too_many_requests_is_temporary_with_retry_after(
    botapi: BotApiServer, sender: TelegramSender
) -> None:
    botapi.fail_next(TOKEN, "sendMessage", Fault.TOO_MANY_REQUESTS, retry_after=7)

    with pytest.raises(TemporaryDeliveryError) as caught:
        await sender(text("hello"))

    assert caught.value.retry_after == 7
    assert botapi.messages(TOKEN, CHAT_ID) == []
    assert (await sender(text("hello"))).external_id == f"{CHAT_ID}:1"  # limiter not paused


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


async def test_a_missing_attachment_is_waited_for_then_left_out_with_a_line_saying_so(
    botapi: BotApiServer, sender: TelegramSender
) -> None:
    gone = FileRef("ab" * 32, "leak.png", "image/png")
    card = OutgoingMessage("T-17: leak in flat 4B", (gone,), ACCEPT, language="ru")

    with pytest.raises(TemporaryDeliveryError, match=r"leak\.png not in the local blob store"):
        await sender(delivery(card))
    assert botapi.messages(TOKEN, CHAT_ID) == []

    await sender(dataclasses.replace(delivery(card), attempts=SEND_WITHOUT_FROM))

    [shown] = botapi.messages(TOKEN, CHAT_ID)
    assert shown["text"] == (
        "T-17: leak in flat 4B\n\n⚠️ Не удалось приложить файл leak.png: его нет в хранилище."
    )
    assert shown["reply_markup"] == KEYBOARD
    assert botapi.calls(TOKEN, "sendPhoto") == []


async def test_a_burst_to_many_chats_all_arrives_through_the_rate_limiter(
    botapi: BotApiServer, sender: TelegramSender
) -> None:
    started = time.monotonic()

    receipts = await asyncio.gather(
        *(sender(text(f"Water off at 10:00 ({n})", recipient=7000 + n)) for n in range(40))
    )

    elapsed = time.monotonic() - started
    assert [r.external_id for r in receipts] == [f"{7000 + n}:1" for n in range(40)]
    assert sorted(c.params["chat_id"] for c in botapi.calls(TOKEN, "sendMessage")) == [
        7000 + n for n in range(40)
    ]
    assert 0.2 < elapsed < 3  # 25 at once (the bot's budget), the other 15 a second later


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

    assert receipt.external_id == f"{CHAT_ID}:1"
    assert "Telegram unreachable at start" in caplog.text


async def test_start_refuses_a_rejected_token(botapi: BotApiServer, blobs: BlobStore) -> None:
    sender = TelegramSender("999:not-registered", botapi.url, blobs, FAST)

    with pytest.raises(InvalidToken):
        await sender.start()
