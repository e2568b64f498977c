"""The Bot API stand-in as aiogram sees it: messages, files, keyboards, edits, commands."""

from __future__ import annotations

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramUnauthorizedError
from aiogram.types import (
    BotCommand,
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaDocument,
    InputMediaPhoto,
    ReplyParameters,
)

from tests.fakes.botapi import BotApiServer
from tests.fakes.botapi_updates import (
    callback_update,
    message_update,
    private_chat,
    user,
)
from tests.telegram.support import RESIDENT_BOT_TOKEN, STAFF_BOT_TOKEN, aiogram_bot, png

TOKEN = RESIDENT_BOT_TOKEN
RESIDENT = user(5550001, "Mina", username="mina_4b")
KEYBOARD = InlineKeyboardMarkup(
    inline_keyboard=[[InlineKeyboardButton(text="Close ticket", callback_data="close:T-17")]]
)


async def test_get_me_describes_the_registered_bot(botapi: BotApiServer) -> None:
    botapi.add_bot(TOKEN, username="housedesk_resident_bot")
    bot = aiogram_bot(botapi, TOKEN)
    try:
        me = await bot.get_me()
    finally:
        await bot.session.close()

    assert me.id == 710000001
    assert me.is_bot
    assert me.username == "housedesk_resident_bot"


async def test_an_unregistered_token_is_unauthorized(botapi: BotApiServer) -> None:
    bot = aiogram_bot(botapi, "999:unknown")
    try:
        with pytest.raises(TelegramUnauthorizedError):
            await bot.get_me()
    finally:
        await bot.session.close()


async def test_sent_messages_are_numbered_per_chat_and_recorded(
    botapi: BotApiServer, resident_bot: Bot
) -> None:
    first = await resident_bot.send_message(42, "Your ticket T-17 is open", reply_markup=KEYBOARD)
    second = await resident_bot.send_message(42, "A plumber is on the way")
    elsewhere = await resident_bot.send_message(43, "Lift repaired")

    assert (first.message_id, second.message_id, elsewhere.message_id) == (1, 2, 1)
    assert first.from_user is not None and first.from_user.id == 710000001
    assert first.chat.id == 42 and first.chat.type == "private"
    assert first.reply_markup is not None
    assert first.reply_markup.inline_keyboard[0][0].callback_data == "close:T-17"
    call = botapi.calls(TOKEN, "sendMessage")[0]
    assert call.params["chat_id"] == 42
    assert call.params["text"] == "Your ticket T-17 is open"
    assert call.params["reply_markup"] == {
        "inline_keyboard": [[{"text": "Close ticket", "callback_data": "close:T-17"}]]
    }
    assert [m["text"] for m in botapi.messages(TOKEN, 42)] == [
        "Your ticket T-17 is open",
        "A plumber is on the way",
    ]


async def test_a_numeric_text_stays_text(botapi: BotApiServer, resident_bot: Bot) -> None:
    await resident_bot.send_message(42, "42")

    assert botapi.calls(TOKEN, "sendMessage")[0].params["text"] == "42"


async def test_an_empty_or_too_long_text_is_refused(resident_bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="message text is empty"):
        await resident_bot.send_message(42, "   ")
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await resident_bot.send_message(42, "x" * 4097)


async def test_an_uploaded_photo_is_kept_and_served_back(
    botapi: BotApiServer, resident_bot: Bot
) -> None:
    image = png(8, 6)

    sent = await resident_bot.send_photo(
        42, BufferedInputFile(image, "leak.png"), caption="Kitchen ceiling"
    )

    assert sent.photo is not None and sent.caption == "Kitchen ceiling"
    size = sent.photo[-1]
    assert (size.width, size.height, size.file_size) == (8, 6, len(image))
    upload = botapi.calls(TOKEN, "sendPhoto")[0].upload("photo")
    assert upload.data == image
    assert upload.filename == "leak.png"
    file = await resident_bot.get_file(size.file_id)
    assert file.file_path is not None and file.file_path.startswith("photos/")
    downloaded = await resident_bot.download_file(file.file_path)
    assert downloaded is not None and downloaded.read() == image


async def test_a_photo_that_is_not_an_image_is_refused(resident_bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="IMAGE_PROCESS_FAILED"):
        await resident_bot.send_photo(42, BufferedInputFile(b"not a picture", "x.png"))


async def test_a_file_id_is_reused_and_an_unknown_one_refused(
    botapi: BotApiServer, resident_bot: Bot
) -> None:
    first = await resident_bot.send_photo(42, BufferedInputFile(png(), "a.png"))
    assert first.photo is not None

    again = await resident_bot.send_photo(43, first.photo[-1].file_id)

    assert again.photo is not None and again.photo[-1].file_id == first.photo[-1].file_id
    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await resident_bot.send_photo(42, "https://example.invalid/leak.jpg")


async def test_a_document_keeps_its_name_and_bytes(botapi: BotApiServer, resident_bot: Bot) -> None:
    sent = await resident_bot.send_document(42, BufferedInputFile(b"%PDF-1.7 invoice", "bill.pdf"))

    assert sent.document is not None and sent.document.file_name == "bill.pdf"
    assert botapi.calls(TOKEN, "sendDocument")[0].upload("document").data == b"%PDF-1.7 invoice"


async def test_a_file_a_resident_sent_can_be_downloaded(
    botapi: BotApiServer, resident_bot: Bot
) -> None:
    voice_id = botapi.add_file(TOKEN, b"OggS voice", file_path="voice/file_7.oga")
    botapi.add_update(TOKEN, message_update(RESIDENT, private_chat(RESIDENT), voice=voice_id))

    [update] = await resident_bot.get_updates()
    assert update.message is not None and update.message.voice is not None
    downloaded = await resident_bot.download(update.message.voice.file_id)

    assert downloaded is not None and downloaded.read() == b"OggS voice"
    with pytest.raises(TelegramBadRequest, match="invalid file_id"):
        await resident_bot.get_file("no-such-file")


async def test_a_media_group_uploads_every_file_in_order(
    botapi: BotApiServer, resident_bot: Bot
) -> None:
    images = [png(2, 2, "red"), png(3, 3, "blue")]

    sent = await resident_bot.send_media_group(
        42,
        [
            InputMediaPhoto(media=BufferedInputFile(images[0], "1.png"), caption="Hallway"),
            InputMediaPhoto(media=BufferedInputFile(images[1], "2.png")),
        ],
    )

    assert [m.message_id for m in sent] == [1, 2]
    assert sent[0].media_group_id is not None
    assert sent[0].media_group_id == sent[1].media_group_id
    assert sent[0].caption == "Hallway"
    call = botapi.calls(TOKEN, "sendMediaGroup")[0]
    assert [upload.data for upload in call.media_uploads()] == images


async def test_a_media_group_of_documents(botapi: BotApiServer, resident_bot: Bot) -> None:
    sent = await resident_bot.send_media_group(
        42,
        [
            InputMediaDocument(media=BufferedInputFile(b"one", "1.txt")),
            InputMediaDocument(media=BufferedInputFile(b"two", "2.txt")),
        ],
    )

    assert [m.document.file_name for m in sent if m.document] == ["1.txt", "2.txt"]


async def test_location_chat_action_and_other_methods_are_recorded(
    botapi: BotApiServer, resident_bot: Bot
) -> None:
    sent = await resident_bot.send_location(42, latitude=37.5665, longitude=126.978)
    assert await resident_bot.send_chat_action(42, "typing")
    assert await resident_bot.leave_chat(-100500)

    assert sent.location is not None and sent.location.latitude == pytest.approx(37.5665)
    assert [call.method for call in botapi.calls(TOKEN)] == [
        "sendLocation",
        "sendChatAction",
        "leaveChat",
    ]


async def test_a_reply_to_a_missing_message_fails_unless_allowed(
    botapi: BotApiServer, resident_bot: Bot
) -> None:
    original = await resident_bot.send_message(42, "Which flat?")
    reply = await resident_bot.send_message(
        42, "Noted", reply_parameters=ReplyParameters(message_id=original.message_id)
    )
    assert reply.reply_to_message is not None
    assert reply.reply_to_message.text == "Which flat?"

    await resident_bot.delete_message(42, original.message_id)

    with pytest.raises(TelegramBadRequest, match="message to be replied not found"):
        await resident_bot.send_message(
            42, "Again", reply_parameters=ReplyParameters(message_id=original.message_id)
        )
    tolerant = await resident_bot.send_message(
        42,
        "Again",
        reply_parameters=ReplyParameters(
            message_id=original.message_id, allow_sending_without_reply=True
        ),
    )
    assert tolerant.reply_to_message is None


async def test_edits_change_what_the_user_sees(botapi: BotApiServer, resident_bot: Bot) -> None:
    sent = await resident_bot.send_message(42, "Ticket T-17: open", reply_markup=KEYBOARD)

    edited = await resident_bot.edit_message_text(
        "Ticket T-17: closed", chat_id=42, message_id=sent.message_id
    )

    assert not isinstance(edited, bool) and edited.edit_date is not None
    [shown] = botapi.messages(TOKEN, 42)
    assert shown["text"] == "Ticket T-17: closed"
    assert "reply_markup" not in shown  # editing without a keyboard removes it
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await resident_bot.edit_message_text(
            "Ticket T-17: closed", chat_id=42, message_id=sent.message_id
        )
    await resident_bot.edit_message_reply_markup(
        chat_id=42, message_id=sent.message_id, reply_markup=KEYBOARD
    )
    assert botapi.messages(TOKEN, 42)[0]["reply_markup"]["inline_keyboard"][0][0]["text"] == (
        "Close ticket"
    )
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await resident_bot.edit_message_text("x", chat_id=42, message_id=99)


async def test_deleting_a_message_removes_it_once(botapi: BotApiServer, resident_bot: Bot) -> None:
    sent = await resident_bot.send_message(42, "Temporary")

    assert await resident_bot.delete_message(42, sent.message_id)

    assert botapi.messages(TOKEN, 42) == []
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await resident_bot.delete_message(42, sent.message_id)


async def test_a_button_press_carries_the_message_and_is_answered_once(
    botapi: BotApiServer, resident_bot: Bot
) -> None:
    chat = private_chat(RESIDENT)
    sent = await resident_bot.send_message(chat["id"], "Ticket T-17", reply_markup=KEYBOARD)
    botapi.add_update(TOKEN, callback_update(RESIDENT, sent.message_id, "close:T-17"))

    [update] = await resident_bot.get_updates()
    query = update.callback_query
    assert query is not None and query.data == "close:T-17"
    assert query.message is not None and query.message.message_id == sent.message_id
    assert query.message.text == "Ticket T-17"  # type: ignore[union-attr]

    assert await resident_bot.answer_callback_query(query.id, text="Closed")
    with pytest.raises(TelegramBadRequest, match="query ID is invalid"):
        await resident_bot.answer_callback_query(query.id)


async def test_a_resident_message_takes_the_next_id_in_the_chat(
    botapi: BotApiServer, resident_bot: Bot
) -> None:
    chat = private_chat(RESIDENT)
    await resident_bot.send_message(chat["id"], "Hello, how can we help?")

    queued = botapi.add_update(TOKEN, message_update(RESIDENT, chat, "Water in the hallway"))
    reply = await resident_bot.send_message(
        chat["id"],
        "Thanks, ticket opened",
        reply_parameters=ReplyParameters(message_id=queued["message"]["message_id"]),
    )

    assert queued["message"]["message_id"] == 2
    assert reply.message_id == 3
    assert reply.reply_to_message is not None
    assert reply.reply_to_message.text == "Water in the hallway"


async def test_commands_are_kept_per_language(botapi: BotApiServer, resident_bot: Bot) -> None:
    await resident_bot.set_my_commands([BotCommand(command="report", description="Report")])
    await resident_bot.set_my_commands(
        [BotCommand(command="report", description="신고하기")], language_code="ko"
    )

    assert botapi.commands(TOKEN) == [{"command": "report", "description": "Report"}]
    assert botapi.commands(TOKEN, "ko") == [{"command": "report", "description": "신고하기"}]
    assert [c.description for c in await resident_bot.get_my_commands(language_code="ko")] == [
        "신고하기"
    ]
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await resident_bot.set_my_commands([BotCommand(command="Report", description="x")])


async def test_bots_are_kept_apart(botapi: BotApiServer, resident_bot: Bot) -> None:
    botapi.add_bot(STAFF_BOT_TOKEN)
    staff_bot = aiogram_bot(botapi, STAFF_BOT_TOKEN)
    try:
        botapi.add_update(TOKEN, message_update(RESIDENT, private_chat(RESIDENT), "Leak"))
        await staff_bot.send_message(42, "New ticket T-17")

        assert await staff_bot.get_updates() == []
        assert len(await resident_bot.get_updates()) == 1
        assert botapi.calls(TOKEN, "sendMessage") == []
        assert len(botapi.calls(STAFF_BOT_TOKEN, "sendMessage")) == 1
    finally:
        await staff_bot.session.close()
