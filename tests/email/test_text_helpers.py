"""The small text helpers: charsets, header decoding, HTML to text, file names, subjects."""

from __future__ import annotations

import pytest

from intake.email.charsets import decode_text
from intake.email.filenames import MAX_NAME_BYTES, MAX_NAME_CHARS, safe_filename
from intake.email.headers import header_text, message_ids, parse_addresses
from intake.email.html_text import html_to_text
from intake.email.subjects import base_subject, ticket_tag

RUSSIAN = "Протечка в ванной, срочно нужен сантехник"


@pytest.mark.parametrize(
    ("data", "declared"),
    [
        (RUSSIAN.encode("utf-8"), None),
        (RUSSIAN.encode("utf-8"), "gb2312"),  # UTF-8 mislabelled as a legacy charset
        (RUSSIAN.encode("cp1251"), "windows-1251"),
        (RUSSIAN.encode("cp1251"), None),  # undeclared 8-bit
        (RUSSIAN.encode("koi8-r"), None),
        (RUSSIAN.encode("koi8-r"), "koi8-r"),
        (RUSSIAN.encode("cp1251"), "us-ascii"),  # declared wrong
        (RUSSIAN.encode("cp1251"), "no-such-charset"),
    ],
)
def test_russian_text_survives_any_labelling(data: bytes, declared: str | None) -> None:
    assert decode_text(data, declared) == RUSSIAN


@pytest.mark.parametrize(
    ("text", "charset"),
    [
        ("Zażółć gęślą jaźń", "iso-8859-2"),
        ("三号楼电梯故障，请尽快维修", "gb2312"),
        ("三号楼电梯故障，请尽快维修", "gbk"),
        ("エレベーターが止まりました", "iso-2022-jp"),
        ("Grüße aus München", "iso-8859-1"),
    ],
)
def test_declared_charsets_are_applied(text: str, charset: str) -> None:
    assert decode_text(text.encode(charset), charset) == text


def test_undecodable_bytes_never_raise() -> None:
    assert decode_text(bytes(range(256)), "utf-8")


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("=?koi8-r?Q?=F0=D2=CF=D4=C5=DE=CB=C1?=", "Протечка"),
        ("=?windows-1251?B?z/Du8uX36uA=?=", "Протечка"),
        ("=?utf-8?B?0J/RgNC+?= =?utf-8?B?0YLQtdGH0LrQsA==?=", "Протечка"),
        ("=?utf-8?Q?=D0=9F=D1?= =?utf-8?Q?=80=D0=BE?=", "Про"),  # character split across words
        ("=?UTF-8?Q?Lift_broken?= in =?ISO-8859-1?Q?K=F6ln?=", "Lift broken in Köln"),
        ("Re:\r\n [#42]\tLeak", "Re: [#42] Leak"),
        ("=?utf-8*en?Q?Hello?=", "Hello"),
        ("=?utf-8?Q?flat=5F12_keys?=", "flat_12 keys"),  # =5F is an underscore, _ a space
        ("Küche =?utf-8?Q?flat=5F12_keys?=", "Küche flat_12 keys"),  # the same, 8-bit around
        ("=?UTF-8?Q?Lift_broken?=. Please help", "Lift broken. Please help"),  # no space added
        ("=?UTF-8?Q?Leak?= :(", "Leak :("),  # nor one taken
        ("=?utf-8?B?0J/RgNC+0YLQtdGH0LrQsA===?=", "Протечка"),  # one '=' too many
        ("=?utf-8?B?z/Du8uX36uA=?=", "Протечка"),  # declared UTF-8, really windows-1251
        ("=?x-unknown?Q?Leak?=", "Leak"),
        ("  Radiator   is\x00cold\x7f ", "Radiator is cold"),  # controls become spaces
        ("mx.example;\r\n\tspf=pass\r\n (ok)", "mx.example; spf=pass (ok)"),
    ],
)
def test_header_text(raw: str, text: str) -> None:
    assert header_text(raw) == text


def test_raw_8bit_header_uses_the_charset_hint() -> None:
    raw = "提示".encode("gb2312").decode("ascii", "surrogateescape")

    assert header_text(raw, "gb2312") == "提示"


def test_addresses_and_message_ids() -> None:
    assert parse_addresses('"Berg, Anna" <Anna@X.Example>, bob@y.example, undisclosed:;') == [
        ("Berg, Anna", "anna@x.example"),
        ("", "bob@y.example"),
    ]
    assert message_ids("<a@x> <b@y>\r\n <c@z>") == ["<a@x>", "<b@y>", "<c@z>"]
    assert message_ids("a@x") == ["<a@x>"]
    assert message_ids("no identifier here") == []


@pytest.mark.parametrize(
    ("value", "found"),
    [
        ("Tenant 7 <Tenant7@Tenants.Example>", [("Tenant 7", "tenant7@tenants.example")]),
        (" Tenant \t 7<t@x.example> ", [("Tenant 7", "t@x.example")]),
        (
            "Dr. J.\tSmith <j.smith+flat12@x.example>",
            [("Dr. J. Smith", "j.smith+flat12@x.example")],
        ),
        ('"Berg,  Anna" <anna@x.example>', [("Berg, Anna", "anna@x.example")]),
        ("=?utf-8?B?0JjQstCw0L0=?= <ivan@x.example>", [("Иван", "ivan@x.example")]),
        ("<anna@x.example>", [("", "anna@x.example")]),
        ("  Anna@X.Example\t", [("", "anna@x.example")]),
        ("Anna (home) <anna@x.example>", [("Anna (home)", "anna@x.example")]),
        ('"Berg \\"A\\"" <anna@x.example>', [('Berg "A"', "anna@x.example")]),
        ("anna@x.example (Anna Berg)", [("Anna Berg", "anna@x.example")]),
        ("Anna <anna@x..example>", [("Anna", "anna@x..example")]),
        ("Anna <anna>", []),
        ("MAILER-DAEMON", [("", "mailer-daemon")]),
    ],
)
def test_one_address_and_its_display_name(value: str, found: list[tuple[str, str]]) -> None:
    assert parse_addresses(value) == found


def test_html_to_text_keeps_structure_and_marks_quotes() -> None:
    html = (
        "<!DOCTYPE html><html><head><title>Mail</title><style>.a{color:red}</style>"
        "<script>var x = 1;</script></head><body><!-- tracking -->"
        "<h1>Heating</h1><p>Radiators are&nbsp;cold &amp; noisy.</p>"
        "<ul><li>Flat 3</li><li>Flat 4</li></ul>"
        "<table><tr><td>Floor</td><td>2</td></tr></table>"
        "<blockquote><p>Earlier message</p><blockquote>Even older</blockquote></blockquote>"
        "<pre>  kept\n  as is</pre></body></html>"
    )

    assert html_to_text(html) == (
        "Heating\n\nRadiators are cold & noisy.\n\n- Flat 3\n- Flat 4\n\nFloor 2\n\n"
        "> Earlier message\n>\n> > Even older\n\n  kept\n  as is"
    )


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\anna\\photo.jpg", "photo.jpg"),
        ("invoice\u202egpj.exe", "invoicegpj.exe"),
        ("bad\x00name\x1f.txt", "badname.txt"),
        ('what?<is>"this".pdf', "what__is__this_.pdf"),
        ("   .hidden  ", "hidden"),
        ("CON.txt", "_CON.txt"),
        ("Счёт №5.pdf", "Счёт №5.pdf"),
        ("", "attachment-3.jpg"),
        (None, "attachment-3.jpg"),
        ("\u202e", "attachment-3.jpg"),
    ],
)
def test_safe_filename(name: str | None, safe: str) -> None:
    assert safe_filename(name, "image/jpeg", 3) == safe


def test_safe_filename_bounds_length_but_keeps_the_extension() -> None:
    for stem in ("x" * 500, "ж" * 500):
        name = safe_filename(f"{stem}.pdf", "application/pdf", 1)
        assert name.endswith(".pdf")
        assert len(name) <= MAX_NAME_CHARS
        assert len(name.encode("utf-8")) <= MAX_NAME_BYTES


@pytest.mark.parametrize(
    ("subject", "number"),
    [
        ("Re: [#42] Leaking pipe", 42),
        ("AW: RE: [#7] Lift", 7),
        ("Automatic reply: [#1234567] x", 1234567),
        ("[# 42] spaced", None),
        ("#42 without brackets", None),
        ("", None),
    ],
)
def test_ticket_tag(subject: str, number: int | None) -> None:
    assert ticket_tag(subject) == number


def test_base_subject_drops_reply_and_forward_prefixes() -> None:
    assert base_subject("RE: AW: Re[2]: Ответ: [#42] Leaking pipe") == "[#42] Leaking pipe"
    assert base_subject("Fwd: Odp: TR: WG: Sv: Vs: Rør lekker") == "Rør lekker"
    assert base_subject("Report: lift") == "Report: lift"
