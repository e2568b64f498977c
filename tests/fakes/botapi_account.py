"""One bot's side of the Bot API stand-in: its chats and their messages, files and commands.

Everything here answers instantly; queueing updates, long polling and webhooks live in the
server. Errors are raised as :class:`ApiError` with Telegram's own descriptions, so code that
inspects them behaves as it would against Telegram.
"""

from __future__ import annotations

import copy
import io
import itertools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from PIL import Image, UnidentifiedImageError

from tests.fakes.botapi_errors import bad_request
from tests.fakes.botapi_wire import ATTACH_PREFIX, UploadedFile

JSON = dict[str, Any]

MESSAGE_TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64
_COMMAND = re.compile(r"^[a-z0-9_]{1,32}$")
_MESSAGE_UPDATE_KEYS = ("message", "edited_message", "channel_post", "edited_channel_post")
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)


@dataclass(frozen=True)
class StoredFile:
    """A file the stand-in can serve through getFile and ``/file/bot<token>/<path>``."""

    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes
    filename: str | None
    content_type: str

    def describe(self) -> JSON:
        """The ``File`` object getFile returns."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
            "file_path": self.file_path,
        }


@dataclass
class ChatLog:
    """A chat as the bot sees it: the chat object and the messages still in it."""

    chat: JSON
    messages: dict[int, JSON] = field(default_factory=dict)
    last_message_id: int = 0

    def next_message_id(self) -> int:
        """Message ids grow by one per message, per chat, as in Telegram."""
        self.last_message_id += 1
        return self.last_message_id


def synthetic_chat(chat_id: int) -> JSON:
    """The chat object for a chat id no update has introduced yet."""
    if chat_id > 0:
        return {"id": chat_id, "type": "private", "first_name": f"User {chat_id}"}
    kind = "supergroup" if chat_id < -1_000_000_000_000 else "group"
    return {"id": chat_id, "type": kind, "title": f"Chat {chat_id}"}


class BotAccount:
    """The Telegram-side data of one bot token."""

    def __init__(
        self, token: str, *, username: str | None = None, first_name: str = "Housedesk Test Bot"
    ) -> None:
        bot_id = int(token.split(":", 1)[0])
        self.user: JSON = {
            "id": bot_id,
            "is_bot": True,
            "first_name": first_name,
            "username": username or f"housedesk_test_{bot_id}_bot",
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self._chats: dict[int, ChatLog] = {}
        self._files: dict[str, StoredFile] = {}
        self._files_by_path: dict[str, StoredFile] = {}
        self._file_numbers = itertools.count(1)
        self._media_group_numbers = itertools.count(1)
        self._open_callback_queries: set[str] = set()
        self._commands: dict[tuple[str, str], list[JSON]] = {}

    def call(self, method: str, params: JSON, files: dict[str, UploadedFile]) -> Any:
        """Execute a Bot API method and return its ``result``; unknown methods answer True."""
        handler = _HANDLERS.get(method)
        return handler(self, params, files) if handler else True

    # -- test API ---------------------------------------------------------------------------

    def add_file(
        self,
        data: bytes,
        *,
        file_path: str | None = None,
        folder: str = "documents",
        filename: str | None = None,
        content_type: str = "application/octet-stream",
    ) -> StoredFile:
        """Store a file (as if a user had sent it) and return it with its new file_id.

        ``file_path`` defaults to ``<folder>/file_<n><suffix of filename>``, like Telegram's.
        """
        number = next(self._file_numbers)
        bot_id = self.user["id"]
        suffix = PurePosixPath(filename or "").suffix
        stored = StoredFile(
            file_id=f"file-{bot_id}-{number}",
            file_unique_id=f"uniq-{bot_id}-{number}",
            file_path=file_path or f"{folder}/file_{number}{suffix}",
            data=data,
            filename=filename,
            content_type=content_type,
        )
        self._files[stored.file_id] = stored
        self._files_by_path[stored.file_path] = stored
        return stored

    def file_at(self, file_path: str) -> StoredFile | None:
        """The file served at ``/file/bot<token>/<file_path>``."""
        return self._files_by_path.get(file_path)

    def messages(self, chat_id: int) -> list[JSON]:
        """The messages currently in a chat, oldest first: what the user would see."""
        log = self._chats.get(chat_id)
        if log is None:
            return []
        return [copy.deepcopy(log.messages[key]) for key in sorted(log.messages)]

    def commands(self, language_code: str = "", scope: JSON | None = None) -> list[JSON]:
        """The command list set for a scope and language (empty when none was set)."""
        return copy.deepcopy(self._commands.get(_commands_key(scope, language_code), []))

    def register_update(self, update: JSON) -> None:
        """Make an incoming update consistent with the bot's chats, as Telegram would.

        A message without ``message_id`` gets the chat's next id and is kept in the chat; a
        ``reply_to_message`` or a callback query's ``message`` that names a message the chat
        holds is replaced by that full message; a callback query id can be answered once.
        """
        for key in _MESSAGE_UPDATE_KEYS:
            if key in update:
                self._register_message(update[key])
        query = update.get("callback_query")
        if query is not None:
            self._open_callback_queries.add(str(query["id"]))
            message = query.get("message")
            if message is not None:
                known = self._chat_log(message["chat"]).messages.get(message["message_id"])
                if known is not None:
                    query["message"] = copy.deepcopy(known)
        for key in ("my_chat_member", "chat_member"):
            if key in update:
                self._chat_log(update[key]["chat"])

    def _register_message(self, message: JSON) -> None:
        log = self._chat_log(message["chat"])
        if message.get("message_id") is None:
            message["message_id"] = log.next_message_id()
        else:
            log.last_message_id = max(log.last_message_id, message["message_id"])
        stub = message.get("reply_to_message")
        if stub is not None and stub.get("message_id") in log.messages:
            message["reply_to_message"] = _without_reply(log.messages[stub["message_id"]])
        log.messages[message["message_id"]] = copy.deepcopy(message)

    def _chat_log(self, chat: JSON) -> ChatLog:
        log = self._chats.get(chat["id"])
        if log is None:
            log = self._chats[chat["id"]] = ChatLog(chat=copy.deepcopy(chat))
        else:
            log.chat = copy.deepcopy(chat)
        return log

    # -- methods ----------------------------------------------------------------------------

    def _get_me(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        return copy.deepcopy(self.user)

    def _send_message(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        chat = self._target_chat(params)
        return self._post(chat, {"text": _message_text(params)}, params)

    def _send_photo(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        chat = self._target_chat(params)
        stored = self._input_file(params, files, "photo", folder="photos")
        return self._post(chat, {"photo": _photo_sizes(stored), **_caption(params)}, params)

    def _send_document(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        chat = self._target_chat(params)
        stored = self._input_file(params, files, "document", folder="documents")
        return self._post(chat, {"document": _document(stored), **_caption(params)}, params)

    def _send_media_group(self, params: JSON, files: dict[str, UploadedFile]) -> list[JSON]:
        chat = self._target_chat(params)
        media = params.get("media")
        if not isinstance(media, list) or not media:
            raise bad_request('parameter "media" is required')
        contents = [self._media_content(item, files) for item in media]
        group_id = f"{self.user['id']}{next(self._media_group_numbers):06d}"
        no_keyboard = {key: value for key, value in params.items() if key != "reply_markup"}
        return [
            self._post(chat, content, no_keyboard, media_group_id=group_id) for content in contents
        ]

    def _media_content(self, item: Any, files: dict[str, UploadedFile]) -> JSON:
        if not isinstance(item, dict):
            raise bad_request("can't parse InputMedia")
        kind = item.get("type")
        if kind == "photo":
            stored = self._input_file(item, files, "media", folder="photos")
            return {"photo": _photo_sizes(stored), **_caption(item)}
        if kind == "document":
            stored = self._input_file(item, files, "media", folder="documents")
            return {"document": _document(stored), **_caption(item)}
        raise bad_request(f"the stand-in does not support media of type {kind!r}")

    def _send_location(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        chat = self._target_chat(params)
        location = {
            "latitude": float(_required(params, "latitude")),
            "longitude": float(_required(params, "longitude")),
        }
        return self._post(chat, {"location": location}, params)

    def _edit_message_text(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        message = self._message_to_edit(params)
        if "text" not in message:
            raise bad_request("there is no text in the message to edit")
        text = _message_text(params)
        markup = _inline_markup(params)
        if message["text"] == text and message.get("reply_markup") == markup:
            raise bad_request(_NOT_MODIFIED)
        message["text"] = text
        return _edited(message, markup)

    def _edit_message_reply_markup(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        message = self._message_to_edit(params)
        markup = _inline_markup(params)
        if message.get("reply_markup") == markup:
            raise bad_request(_NOT_MODIFIED)
        return _edited(message, markup)

    def _delete_message(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        chat = self._target_chat(params)
        if chat.messages.pop(int(_required(params, "message_id")), None) is None:
            raise bad_request("message to delete not found")
        return True

    def _answer_callback_query(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        query_id = str(_required(params, "callback_query_id"))
        if query_id not in self._open_callback_queries:
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        self._open_callback_queries.discard(query_id)
        return True

    def _get_file(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        stored = self._files.get(str(_required(params, "file_id")))
        if stored is None:
            raise bad_request("invalid file_id")
        return stored.describe()

    def _send_chat_action(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        self._target_chat(params)
        _required(params, "action")
        return True

    def _set_my_commands(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        commands = _required(params, "commands")
        if not isinstance(commands, list):
            raise bad_request("can't parse commands JSON object")
        for command in commands:
            if not _COMMAND.match(str(command.get("command", ""))):
                raise bad_request("BOT_COMMAND_INVALID")
            if not str(command.get("description", "")).strip():
                raise bad_request("command description is empty")
        key = _commands_key(params.get("scope"), params.get("language_code", ""))
        self._commands[key] = copy.deepcopy(commands)
        return True

    def _get_my_commands(self, params: JSON, files: dict[str, UploadedFile]) -> list[JSON]:
        return self.commands(params.get("language_code", ""), params.get("scope"))

    def _delete_my_commands(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        self._commands.pop(
            _commands_key(params.get("scope"), params.get("language_code", "")), None
        )
        return True

    # -- helpers ----------------------------------------------------------------------------

    def _target_chat(self, params: JSON) -> ChatLog:
        raw = params.get("chat_id")
        if raw is None or raw == "":
            raise bad_request("chat_id is empty")
        try:
            chat_id = int(raw)
        except (TypeError, ValueError):
            raise bad_request("chat not found") from None
        log = self._chats.get(chat_id)
        if log is None:
            log = self._chats[chat_id] = ChatLog(chat=synthetic_chat(chat_id))
        return log

    def _message_to_edit(self, params: JSON) -> JSON:
        chat = self._target_chat(params)
        message = chat.messages.get(int(_required(params, "message_id")))
        if message is None:
            raise bad_request("message to edit not found")
        return message

    def _post(
        self, chat: ChatLog, content: JSON, params: JSON, *, media_group_id: str | None = None
    ) -> JSON:
        reply_to = _reply_target(chat, params)
        markup = _inline_markup(params)
        message: JSON = {
            "message_id": chat.next_message_id(),
            "from": copy.deepcopy(self.user),
            "chat": copy.deepcopy(chat.chat),
            "date": int(time.time()),
            **content,
        }
        if media_group_id is not None:
            message["media_group_id"] = media_group_id
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        if markup is not None:
            message["reply_markup"] = markup
        chat.messages[message["message_id"]] = message
        return copy.deepcopy(message)

    def _input_file(
        self, params: JSON, files: dict[str, UploadedFile], param: str, *, folder: str
    ) -> StoredFile:
        """Resolve an InputFile: an uploaded part, an ``attach://`` reference or a file_id."""
        value = params.get(param)
        upload: UploadedFile | None = None
        if value is None:
            upload = files.get(param)
        elif isinstance(value, str) and value.startswith(ATTACH_PREFIX):
            upload = files.get(value.removeprefix(ATTACH_PREFIX))
            if upload is None:
                raise bad_request(f"can't find attached file {value!r}")
        elif isinstance(value, str) and value in self._files:
            return self._files[value]
        else:
            raise bad_request("wrong file identifier/HTTP URL specified")
        if upload is None:
            raise bad_request(f"there is no {param} in the request")
        if not upload.data:
            raise bad_request("file must be non-empty")
        return self.add_file(
            upload.data,
            folder=folder,
            filename=upload.filename,
            content_type=upload.content_type,
        )


Handler = Callable[[BotAccount, JSON, dict[str, UploadedFile]], Any]
_HANDLERS: dict[str, Handler] = {
    "getMe": BotAccount._get_me,
    "sendMessage": BotAccount._send_message,
    "sendPhoto": BotAccount._send_photo,
    "sendDocument": BotAccount._send_document,
    "sendMediaGroup": BotAccount._send_media_group,
    "sendLocation": BotAccount._send_location,
    "editMessageText": BotAccount._edit_message_text,
    "editMessageReplyMarkup": BotAccount._edit_message_reply_markup,
    "deleteMessage": BotAccount._delete_message,
    "answerCallbackQuery": BotAccount._answer_callback_query,
    "getFile": BotAccount._get_file,
    "sendChatAction": BotAccount._send_chat_action,
    "setMyCommands": BotAccount._set_my_commands,
    "getMyCommands": BotAccount._get_my_commands,
    "deleteMyCommands": BotAccount._delete_my_commands,
}
ACCOUNT_METHODS = tuple(_HANDLERS)
"""The methods with their own behaviour in the stand-in."""


def _commands_key(scope: JSON | None, language_code: str) -> tuple[str, str]:
    return json.dumps(scope or {"type": "default"}, sort_keys=True), language_code or ""


def _required(params: JSON, name: str) -> Any:
    value = params.get(name)
    if value is None or value == "":
        raise bad_request(f'parameter "{name}" is required')
    return value


def _message_text(params: JSON) -> str:
    text = params.get("text")
    if text is None or not str(text).strip():
        raise bad_request("message text is empty")
    if len(str(text)) > MESSAGE_TEXT_LIMIT:
        raise bad_request("message is too long")
    return str(text)


def _caption(params: JSON) -> JSON:
    caption = params.get("caption")
    if caption is None or caption == "":
        return {}
    if len(str(caption)) > CAPTION_LIMIT:
        raise bad_request("message caption is too long")
    return {"caption": str(caption)}


def _inline_markup(params: JSON) -> JSON | None:
    """The inline keyboard a message will carry (other keyboards are not part of a Message)."""
    markup = params.get("reply_markup")
    if not isinstance(markup, dict) or "inline_keyboard" not in markup:
        return None
    for row in markup["inline_keyboard"]:
        for button in row:
            if not str(button.get("text", "")).strip():
                raise bad_request("text buttons are unallowed in the inline keyboard")
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= CALLBACK_DATA_LIMIT:
                raise bad_request("BUTTON_DATA_INVALID")
    return copy.deepcopy(markup)


def _reply_target(chat: ChatLog, params: JSON) -> JSON | None:
    """The message a new message replies to, honouring ``allow_sending_without_reply``."""
    reply_parameters = params.get("reply_parameters")
    if isinstance(reply_parameters, dict):
        target = reply_parameters.get("message_id")
        allow_without = reply_parameters.get("allow_sending_without_reply", False)
    else:
        target = params.get("reply_to_message_id")
        allow_without = params.get("allow_sending_without_reply", False)
    if target is None:
        return None
    replied = chat.messages.get(int(target))
    if replied is not None:
        return _without_reply(replied)
    if allow_without:
        return None
    raise bad_request("message to be replied not found")


def _without_reply(message: JSON) -> JSON:
    """A message as embedded in another one: Telegram never nests replies deeper."""
    return {
        key: copy.deepcopy(value) for key, value in message.items() if key != "reply_to_message"
    }


def _edited(message: JSON, markup: JSON | None) -> JSON:
    message["edit_date"] = int(time.time())
    if markup is None:
        message.pop("reply_markup", None)
    else:
        message["reply_markup"] = markup
    return copy.deepcopy(message)


def _photo_sizes(stored: StoredFile) -> list[JSON]:
    """One PhotoSize with the image's real dimensions (Telegram also adds smaller ones)."""
    try:
        with Image.open(io.BytesIO(stored.data)) as image:
            width, height = image.size
    except (UnidentifiedImageError, OSError):
        raise bad_request("IMAGE_PROCESS_FAILED") from None
    return [
        {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "width": width,
            "height": height,
        }
    ]


def _document(stored: StoredFile) -> JSON:
    document: JSON = {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_size": len(stored.data),
        "mime_type": stored.content_type,
    }
    if stored.filename:
        document["file_name"] = stored.filename
    return document
