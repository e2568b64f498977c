"""Builders of realistic Telegram users, chats and updates for ``BotApiServer.add_update``.

The builders leave ``update_id`` and, unless given, ``message_id`` to the server, which
numbers them per bot and per chat as Telegram does. A referenced message (a reply, the
message under a pressed button) is built as a stub the server replaces with the full message
when the chat holds it; otherwise it stays what Telegram sends for messages it no longer
shows the bot (an ``InaccessibleMessage``, ``date`` 0).
"""

from __future__ import annotations

import itertools
import time
from typing import Any

JSON = dict[str, Any]

_callback_query_ids = itertools.count(4_000_000_000_000_000_001)


def user(
    user_id: int,
    first_name: str = "Resident",
    *,
    last_name: str | None = None,
    username: str | None = None,
    language_code: str | None = "en",
) -> JSON:
    """A Telegram User who is a person."""
    result: JSON = {"id": user_id, "is_bot": False, "first_name": first_name}
    if last_name is not None:
        result["last_name"] = last_name
    if username is not None:
        result["username"] = username
    if language_code is not None:
        result["language_code"] = language_code
    return result


def private_chat(person: JSON) -> JSON:
    """The private chat between the bot and ``person`` (its id is the user's id)."""
    chat: JSON = {"id": person["id"], "type": "private", "first_name": person["first_name"]}
    for key in ("last_name", "username"):
        if key in person:
            chat[key] = person[key]
    return chat


def group_chat(chat_id: int, title: str, *, supergroup: bool = True) -> JSON:
    """A group or supergroup (supergroup ids look like -100…)."""
    return {"id": chat_id, "type": "supergroup" if supergroup else "group", "title": title}


def message_update(
    sender: JSON,
    chat: JSON,
    text: str | None = None,
    *,
    photo_file_id: str | None = None,
    caption: str | None = None,
    voice: str | None = None,
    voice_duration: int = 3,
    reply_to_message_id: int | None = None,
    message_id: int | None = None,
) -> JSON:
    """An update with a new message: text, a photo or a voice note (by file_id).

    Give files with ``BotApiServer.add_file`` first, so getFile can serve them.
    """
    message: JSON = {"from": sender, "chat": chat, "date": int(time.time())}
    if message_id is not None:
        message["message_id"] = message_id
    if text is not None:
        message["text"] = text
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    if photo_file_id is not None:
        message["photo"] = [
            {
                "file_id": photo_file_id,
                "file_unique_id": f"u-{photo_file_id}",
                "width": 1280,
                "height": 960,
            }
        ]
    if caption is not None:
        message["caption"] = caption
    if voice is not None:
        message["voice"] = {
            "file_id": voice,
            "file_unique_id": f"u-{voice}",
            "duration": voice_duration,
            "mime_type": "audio/ogg",
        }
    if reply_to_message_id is not None:
        message["reply_to_message"] = _message_stub(chat, reply_to_message_id)
    return {"message": message}


def callback_update(sender: JSON, message_id: int, data: str, *, chat: JSON | None = None) -> JSON:
    """An update for a pressed inline button under message ``message_id``.

    ``chat`` defaults to the private chat with ``sender``.
    """
    chat = chat if chat is not None else private_chat(sender)
    return {
        "callback_query": {
            "id": str(next(_callback_query_ids)),
            "from": sender,
            "message": _message_stub(chat, message_id),
            "chat_instance": f"instance{chat['id']}",
            "data": data,
        }
    }


def my_chat_member_update(
    sender: JSON,
    chat: JSON,
    bot: JSON,
    *,
    old_status: str = "member",
    new_status: str = "kicked",
) -> JSON:
    """An update telling the bot its membership changed; the default is "user blocked the bot".

    ``bot`` is the User object ``BotApiServer.add_bot`` returned.
    """
    return {
        "my_chat_member": {
            "chat": chat,
            "from": sender,
            "date": int(time.time()),
            "old_chat_member": _chat_member(bot, old_status),
            "new_chat_member": _chat_member(bot, new_status),
        }
    }


def _chat_member(member: JSON, status: str) -> JSON:
    result: JSON = {"user": member, "status": status}
    if status == "kicked":
        result["until_date"] = 0
    return result


def _message_stub(chat: JSON, message_id: int) -> JSON:
    return {"chat": chat, "message_id": message_id, "date": 0}
