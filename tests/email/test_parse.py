"""parse_message on hand-made edge cases (the sample corpus covers real-world mail)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from intake.email.parse import MalformedMail, parse_message

LIMIT = 1024 * 1024


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\r\n\r\n",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        b"just some text\nwithout headers\n",
    ],
)
def test_bytes_that_are_no_mail_raise_malformed_mail(raw: bytes) -> None:
    with pytest.raises(MalformedMail):
        parse_message(raw, max_attachment_bytes=LIMIT)


def test_mbox_separator_and_leading_blank_lines_are_tolerated() -> None:
    mail = parse_message(
        b"\r\n   \r\nFrom MAILER-DAEMON Tue Jul  7 22:47:39 2009\r\nSubject: hi\r\n\r\nbody\r\n",
        max_attachment_bytes=LIMIT,
    )

    assert (mail.subject, mail.body) == ("hi", "body")


def test_headers_addresses_and_ids_are_normalised() -> None:
    raw = (
        b"From: =?utf-8?B?0JjQstCw0L3QvtCyLCDQmNCy0LDQvQ==?= <Ivan.Petrov@Resident.Example>\r\n"
        b'To: help@housedesk.example, "Board" <Board@Example.org>\r\n'
        b"Cc: anna@resident.example\r\n"
        b"Reply-To: ivan.home@resident.example\r\n"
        b"Subject: =?utf-8?Q?=D0=9F=D1=80=D0=BE?=\r\n"
        b" =?utf-8?Q?=D1=82=D0=B5=D1=87=D0=BA=D0=B0?= #12\r\n"
        b"Date: Wed, 25 Nov 2026 10:20:00 +0000\r\n"
        b"Message-ID: first@resident.example\r\n"
        b"Message-ID: <second@resident.example>\r\n"
        b"In-Reply-To: <out-1@housedesk.example>, <out-1@housedesk.example>\r\n"
        b"References: <a@x>\r\n <out-1@housedesk.example> <a@x>\r\n"
        b"X-Asterisk-CallerID: 5551234\r\n"
        b"\r\nHello\r\n"
    )

    mail = parse_message(raw, max_attachment_bytes=LIMIT)

    assert (mail.sender, mail.sender_name) == ("ivan.petrov@resident.example", "Иванов, Иван")
    assert mail.to == ("help@housedesk.example", "board@example.org")
    assert mail.cc == ("anna@resident.example",)
    assert mail.reply_to == "ivan.home@resident.example"
    assert mail.subject == "Протечка #12"
    assert mail.date == datetime(2026, 11, 25, 10, 20, tzinfo=UTC)
    assert mail.message_id == "<first@resident.example>"  # first of duplicates wins, <> added
    assert mail.header_values("message-id") == [
        "first@resident.example",
        "<second@resident.example>",
    ]
    assert mail.in_reply_to == "<out-1@housedesk.example>"
    assert mail.references == ("<a@x>", "<out-1@housedesk.example>")
    assert mail.header("x-asterisk-callerid") == "5551234"
    assert mail.header("X-Missing") is None


def test_undeclared_8bit_headers_are_read_in_the_charset_of_the_first_text_part() -> None:
    raw = (
        "Subject: Zażółć gęślą\r\nFrom: Łucja Nowak <lucja@x.example>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain; charset=iso-8859-2\r\n\r\nTreść\r\n"
        "--b\r\nContent-Type: application/pdf\r\n"
        'Content-Disposition: attachment; filename="Łazienka.pdf"\r\n\r\n%PDF\r\n--b--\r\n'
    ).encode("iso-8859-2")

    mail = parse_message(raw, max_attachment_bytes=LIMIT)

    assert (mail.subject, mail.sender_name, mail.body) == ("Zażółć gęślą", "Łucja Nowak", "Treść")
    assert [attachment.filename for attachment in mail.attachments] == ["Łazienka.pdf"]


@pytest.mark.parametrize(
    ("content_type", "disposition", "filename"),
    [
        ('text/plain; NAME="notes.txt"', "", "notes.txt"),
        ("text/plain; charset=utf-8; name*=utf-8''%D0%A1%D1%87%D1%91%D1%82.txt", "", "Счёт.txt"),
        ("text/html", "Content-Disposition: inline; filename=page.html\r\n", "page.html"),
    ],
)
def test_a_named_text_part_is_an_attachment(
    content_type: str, disposition: str, filename: str
) -> None:
    raw = (
        'Subject: s\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\nSee the file.\r\n"
        f"--b\r\nContent-Type: {content_type}\r\n{disposition}\r\nIn the file.\r\n--b--\r\n"
    ).encode()

    mail = parse_message(raw, max_attachment_bytes=LIMIT)

    assert mail.body == "See the file."
    assert [attachment.filename for attachment in mail.attachments] == [filename]


def test_the_first_of_two_subjects_is_the_subject() -> None:
    raw = b"SUBJECT: =?utf-8?B?0J/RgNC+0YLQtdGH0LrQsA==?=\r\nSubject: second\r\n\r\nHello\r\n"

    mail = parse_message(raw, max_attachment_bytes=LIMIT)

    assert mail.subject == "Протечка"
    assert mail.header_values("subject") == ["Протечка", "second"]


def test_header_values_are_the_callers_own_list() -> None:
    mail = parse_message(b"X-Note: one\r\nx-note: two\r\n\r\nHello\r\n", max_attachment_bytes=LIMIT)

    mail.header_values("X-Note").append("three")

    assert mail.header_values("X-NOTE") == ["one", "two"]
    assert mail.header("x-note") == "one"


def test_missing_and_broken_headers_do_not_crash() -> None:
    mail = parse_message(
        b"Subject: =?unknown-charset?B?SGVsbG8=?= =?utf-8?B?!!!?=\r\nDate: yesterday\r\n"
        b"From: not an address\r\nMessage-ID:\r\n\r\nbody\r\n",
        max_attachment_bytes=LIMIT,
    )

    assert mail.subject == "Hello =?utf-8?B?!!!?="
    assert (mail.sender, mail.date, mail.message_id, mail.references) == (None, None, None, ())


def test_wrong_declared_charset_falls_back_gracefully() -> None:
    mail = parse_message(
        b"Subject: x\r\nContent-Type: text/plain; charset=x-no-such-charset\r\n\r\n"
        + "Grüße aus München".encode("latin-1"),
        max_attachment_bytes=LIMIT,
    )

    assert mail.body == "Grüße aus München"


def test_oversized_attachment_is_dropped_with_a_note() -> None:
    raw = (
        b"Subject: photos\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
        b"Content-Type: text/plain\r\n\r\nSee photos.\r\n--b\r\n"
        b"Content-Type: image/jpeg\r\nContent-Disposition: attachment; filename=big.jpg\r\n\r\n"
        + b"x" * 3000
        + b"\r\n--b\r\nContent-Type: image/jpeg\r\n"
        + b"Content-Disposition: attachment; filename=small.jpg\r\n\r\n"
        + b"y" * 100
        + b"\r\n--b--\r\n"
    )

    mail = parse_message(raw, max_attachment_bytes=2048)

    assert [a.filename for a in mail.attachments] == ["small.jpg"]
    [note] = mail.notes
    assert str(note) == "Dropped attachment 'big.jpg' (2.9 KiB): larger than the 2.0 KiB limit."
    assert note.text("ru") == (
        "Вложение 'big.jpg' (2.9 KiB) не сохранено: оно больше допустимых 2.0 KiB."
    )


def test_oversized_header_section_loses_its_largest_fields_first() -> None:
    raw = (
        b"From: anna@resident.example\r\nSubject: Leak\r\n"
        b"References: " + b" ".join(b"<ref%d@x.example>" % n for n in range(5000)) + b"\r\n"
        b"X-Junk: " + b"j" * 20000 + b"\r\n"
        b"Message-ID: <leak@resident.example>\r\n\r\nWater everywhere.\r\n"
    )

    mail = parse_message(raw, max_attachment_bytes=LIMIT, max_header_bytes=4096)

    assert (mail.sender, mail.subject, mail.message_id) == (
        "anna@resident.example",
        "Leak",
        "<leak@resident.example>",
    )
    assert mail.references == ()
    assert mail.header("X-Junk") is None
    assert mail.body == "Water everywhere."
    assert [str(note).split(" (")[0] for note in mail.notes] == [
        "Dropped the References header",
        "Dropped the X-Junk header",
    ]


def test_html_only_mail_becomes_text_without_scripts_or_styles() -> None:
    mail = parse_message(
        b"Subject: x\r\nContent-Type: text/html\r\n\r\n"
        b"<html><head><title>T</title><style>p{}</style>"
        b"</head><body><script>evil()</script><p>Heating is off.</p><p>Flat 3</p></body></html>",
        max_attachment_bytes=LIMIT,
    )

    assert mail.body == "Heating is off.\n\nFlat 3"


def test_plain_text_is_preferred_and_inline_images_of_the_html_are_kept() -> None:
    raw = (
        b"Subject: x\r\nContent-Type: multipart/alternative; boundary=a\r\n\r\n"
        b"--a\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nPlain version\r\n"
        b"--a\r\nContent-Type: multipart/related; boundary=r\r\n\r\n"
        b"--r\r\nContent-Type: text/html\r\n\r\n<p>HTML version</p><img src=cid:p1>\r\n"
        b"--r\r\nContent-Type: image/png\r\nContent-ID: <p1>\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n"
        b"iVBORw0KGgo=\r\n--r--\r\n--a--\r\n"
    )

    mail = parse_message(raw, max_attachment_bytes=LIMIT)

    assert mail.body == "Plain version"
    [image] = mail.attachments
    assert (image.filename, image.content_type, image.inline, image.content_id) == (
        "attachment-1.png",
        "image/png",
        True,
        "p1",
    )
    assert image.data == b"\x89PNG\r\n\x1a\n"


def test_empty_plain_alternative_falls_back_to_html() -> None:
    raw = (
        b"Subject: x\r\nContent-Type: multipart/alternative; boundary=a\r\n\r\n"
        b"--a\r\nContent-Type: text/plain\r\n\r\n \r\n"
        b"--a\r\nContent-Type: text/html\r\n\r\n<b>Door is broken</b>\r\n--a--\r\n"
    )

    assert parse_message(raw, max_attachment_bytes=LIMIT).body == "Door is broken"


def test_attachment_names_are_made_safe() -> None:
    raw = (
        b"Subject: x\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: application/pdf\r\n"
        b"Content-Disposition: attachment;\r\n"
        b' filename="..\\\\..\\\\windows\\\\evil\xe2\x80\xaetxt.exe"\r\n\r\n'
        b"%PDF\r\n--b\r\nContent-Type: application/pdf\r\n"
        b'Content-Disposition: attachment; filename="=?utf-8?B?0KHRh9GR0YIucGRm?="\r\n\r\n'
        b"%PDF\r\n--b--\r\n"
    )

    mail = parse_message(raw, max_attachment_bytes=LIMIT)

    assert [a.filename for a in mail.attachments] == ["eviltxt.exe", "Счёт.pdf"]


def test_quoted_history_is_stripped_from_the_reply_but_kept_in_the_body() -> None:
    mail = parse_message(
        b"Subject: Re: x\r\n\r\nThanks!\r\n\r\n"
        b"On Tue, 24 Nov 2026 at 10:00, Desk <help@x.example> wrote:\r\n"
        b"> Earlier text\r\n",
        max_attachment_bytes=LIMIT,
    )

    assert mail.reply == "Thanks!"
    assert "> Earlier text" in mail.body


def test_a_reply_that_is_only_quoted_keeps_the_body() -> None:
    mail = parse_message(b"Subject: Fwd\r\n\r\n> only a quote\r\n", max_attachment_bytes=LIMIT)

    assert mail.reply == "> only a quote"


@pytest.mark.parametrize(
    ("depth", "note"),
    [
        (60, "Parts nested deeper than 32 levels were skipped."),
        (3000, "The MIME structure is nested too deeply to read; only the headers are kept."),
    ],
)
def test_deeply_nested_mime_degrades_instead_of_crashing(depth: int, note: str) -> None:
    raw = (
        b"From: a@b.example\r\nSubject: deep\r\nContent-Type: multipart/mixed; boundary=b0\r\n\r\n"
    )
    for level in range(1, depth):
        raw += b"--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n" % (level - 1, level)
    raw += b"--b%d\r\nContent-Type: text/plain\r\n\r\nhello\r\n" % (depth - 1)

    mail = parse_message(raw, max_attachment_bytes=LIMIT)

    assert (mail.sender, mail.subject, mail.body, [str(n) for n in mail.notes]) == (
        "a@b.example",
        "deep",
        "",
        [note],
    )
