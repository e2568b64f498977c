"""How one outgoing message becomes Telegram calls: order, captions, albums, buttons, splits."""

from __future__ import annotations

from bots.telegram_render import Method, render, split_text, telegram_length
from core.messaging.message import Action, FileRef, OutgoingMessage, Verb

PHOTO = "image/jpeg"
ACCEPT = ((Action("Accept", Verb.ACCEPT, 1),),)
BUTTONS = [[{"text": "Accept", "callback_data": "tk:accept:1"}]]


def _files(*types: str) -> tuple[FileRef, ...]:
    return tuple(FileRef(f"{n:064x}", f"f{n}", t) for n, t in enumerate(types))


def _methods(message: OutgoingMessage) -> list[str]:
    return [part.method.value for part in render(message)]


def test_one_file_carries_the_text_and_the_buttons() -> None:
    [single] = render(OutgoingMessage("Card", _files(PHOTO), ACCEPT))
    assert (single.method, single.text, single.keyboard) == (
        Method.SEND_PHOTO,
        "Card",
        {"inline_keyboard": BUTTONS},
    )


def test_an_album_cannot_carry_buttons_so_the_text_comes_first_with_them() -> None:
    card, album = render(OutgoingMessage("Card", _files(PHOTO, PHOTO), ACCEPT))
    assert (card.method, card.text, card.keyboard) == (
        Method.SEND_MESSAGE,
        "Card",
        {"inline_keyboard": BUTTONS},
    )
    assert (album.method, album.text, album.keyboard) == (Method.SEND_MEDIA_GROUP, "", None)


def test_an_album_without_buttons_carries_the_text_as_its_caption() -> None:
    [captioned] = render(OutgoingMessage("Two photos", _files(PHOTO, PHOTO)))
    assert (captioned.method, captioned.text) == (Method.SEND_MEDIA_GROUP, "Two photos")


def test_a_text_too_long_for_a_caption_goes_first() -> None:
    text, photo = render(OutgoingMessage("x" * 1025, _files(PHOTO)))
    assert (text.method, photo.method, photo.text) == (Method.SEND_MESSAGE, Method.SEND_PHOTO, "")


def test_photos_come_before_documents() -> None:
    photos, documents = render(
        OutgoingMessage("Mixed", _files(PHOTO, "application/pdf", "image/heic"))
    )
    assert [f.content_type for f in photos.files] == [PHOTO]
    assert (photos.method, photos.text) == (Method.SEND_PHOTO, "Mixed")
    assert (documents.method, len(documents.files)) == (Method.SEND_MEDIA_GROUP, 2)


def test_albums_hold_at_most_ten() -> None:
    parts = render(OutgoingMessage("Many", _files(*[PHOTO] * 11)))
    assert [len(p.files) for p in parts] == [0, 10, 1]
    assert _methods(OutgoingMessage("Card", _files(*[PHOTO] * 12), ACCEPT)) == [
        "sendMessage",
        "sendMediaGroup",
        "sendMediaGroup",
    ]


def test_a_long_text_is_split_with_the_buttons_on_the_last_part() -> None:
    parts = render(OutgoingMessage("word " * 2000, actions=ACCEPT))
    assert [p.method for p in parts] == [Method.SEND_MESSAGE] * 3
    assert [p.keyboard is not None for p in parts] == [False, False, True]
    assert all(telegram_length(p.text) <= 4096 for p in parts)


def test_split_prefers_paragraphs_then_lines_then_spaces() -> None:
    paragraphs = "A" * 3000 + "\n\n" + "B" * 3000
    assert split_text(paragraphs) == ["A" * 3000, "B" * 3000]
    lines = "\n".join(["L" * 99] * 60)
    pieces = split_text(lines)
    assert all(p.endswith("L") and p.startswith("L") for p in pieces)
    assert "\n".join(pieces) == lines
    assert split_text("short text") == ["short text"]


def test_split_cuts_a_word_longer_than_the_limit_and_counts_emoji_as_telegram_does() -> None:
    assert [len(p) for p in split_text("x" * 9000)] == [4096, 4096, 808]
    sirens = split_text("🚨" * 3000)  # two UTF-16 units each
    assert [len(p) for p in sirens] == [2048, 952]
    assert "".join(sirens) == "🚨" * 3000
