"""The fast path reads an Authentication-Results field of the common shape exactly as authres
does, and leaves every other field to authres: the same authserv-id, results and properties,
and so the same pass or fail for the mail."""

from __future__ import annotations

import email
import random
from email.policy import compat32
from pathlib import Path

import pytest

from intake.email import authentication
from intake.email.authentication import _authres_reading, _common_reading, trusted_result_passes
from intake.email.parse import ParsedMail, parse_message

MX = "mx.oak.example"
DOMAINS = ["tenant.example", "mail.tenant.example", "googlemail.com"]
EMAILS = Path(__file__).resolve().parent.parent / "data" / "emails"
CORPUS = sorted(
    {
        str(value)
        for path in EMAILS.glob("*.eml")
        for value in email.message_from_bytes(path.read_bytes(), policy=compat32).get_all(
            "Authentication-Results", []
        )
    }
)
BENCH = f"{MX}; spf=pass smtp.mailfrom=tenant.example; dmarc=pass header.from=tenant.example"
GMAIL = (
    f"{MX};\r\n       dkim=pass header.i=@tenant.example header.s=20230601 header.b=dPisws+O;\r\n"
    "       spf=pass (google.com: domain of tom@tenant.example designates 209.85.220.69 as"
    " permitted sender) smtp.mailfrom=tom@tenant.example;\r\n"
    "       dmarc=pass (p=QUARANTINE sp=QUARANTINE dis=NONE) header.from=tenant.example"
)
COMMON = [
    BENCH,
    # RFC 8601, appendix B
    f"{MX} 1; none",
    f"{MX}; spf=pass smtp.mailfrom=example.net",
    f"{MX}; auth=pass (cram-md5) smtp.auth=sender@example.net; spf=pass smtp.mailfrom=example.net",
    f"{MX}; iprev=pass policy.iprev=192.0.2.200",
    f"{MX}; dkim=pass (good signature) header.d=mail-router.example.net;"
    " dkim=fail (bad signature) header.d=newyork.example.com",
    f"{MX}; sender-id=fail header.from=example.com; dkim=pass (good) header.d=sub.example",
    # Gmail, Exim, OpenDMARC, Yahoo, folded as they are
    GMAIL,
    f"{MX};\n\tiprev=pass (mail.tenant.example) smtp.remote-ip=192.0.2.1;\n\t"
    "spf=pass smtp.mailfrom=tenant.example;\n\tdkim=pass header.d=tenant.example header.s=sel"
    " header.a=rsa-sha256;\n\tdmarc=pass header.from=tenant.example",
    f"{MX}; dmarc=pass (p=reject dis=none) header.from=tenant.example",
    f"{MX};\n dkim=pass header.i=@tenant.example header.s=@bounce;\n"
    " dmarc=success(p=REJECT) header.from=tenant.example",
    f"{MX}; dkim=pass (1024-bit key; unprotected) reason=x header.d=tenant.example",
    f"{MX.upper()}; DKIM=Pass Reason=good HEADER.D=Tenant.Example",
    f"{MX} (our MTA) 1 (version); spf=pass smtp.mailfrom=tom@tenant.example (checked)",
    *[value for value in CORPUS if value.startswith(("posteo.de;", "mx.google.com;\n"))],
]
OTHER = [
    f'{MX}; dkim=pass header.d=tenant.example header.b="SEFAAx0a"',
    f'{MX}; dkim=pass reason="good signature" header.i=@tenant.example',
    f"{MX}; spf=pass smtp.mailfrom=tenant.example;",
    f"{MX}; spf=pass smtp.mailfrom=tenant.example extra",
    f"{MX}; dkim=pass header.d=tenant.example reason=x",
    f"{MX}; dkim=pass (a (nested) comment) header.d=tenant.example",
    f"{MX}; dkim=pass (c1) (c2) header.d=tenant.example",
    f"{MX}; dkim=pass header.d= (c1) (c2) tenant.example",
    f"{MX}; dkim=pass reason (c) =x header.d=tenant.example",
    f"{MX}; dkim/1 (c) =pass header.d=tenant.example",
    f"{MX}; spf=fail smtp.mailfrom=tenant.example; none",
    f"{MX}; nonesuch=pass header.from=tenant.example",
    f"{MX}; dmarc=pass \u017fmtp.mailfrom=tenant.example",
    f"{MX} 2; dmarc=pass header.from=tenant.example",
    "spf=none (sender IP is ) smtp.mailfrom=<>; ",
    f" (c) {MX}; dkim=pass header.d=tenant.example",
]


def mail_with(value: str) -> ParsedMail:
    """A mail from tom@tenant.example carrying ``value``, folded as it is."""
    raw = f"From: Tom <tom@tenant.example>\r\nAuthentication-Results: {value}\r\n\r\nWater.\r\n"
    return parse_message(raw.encode(), max_attachment_bytes=1024)


def authres_reading(value: str) -> object:
    reading = _authres_reading(value)
    return reading and (reading[0], list(reading[1]))


def decisions(mail: ParsedMail, authserv_ids: set[str]) -> list[object]:
    """Pass or fail for each id and domain."""
    return [
        trusted_result_passes(mail, authserv_id, domain)
        for authserv_id in sorted(authserv_ids)
        for domain in DOMAINS
    ]


def assert_read_as_authres_reads(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    fast = _common_reading(value)
    if fast is not None:
        assert (fast[0], list(fast[1])) == authres_reading(value), value
    mail = mail_with(value)
    authserv_ids = {MX, *value.split(";")[0].split()[:1]}
    with_fast_path = decisions(mail, authserv_ids)
    with monkeypatch.context() as patch:
        patch.setattr(authentication, "_common_reading", lambda value: None)
        assert decisions(mail, authserv_ids) == with_fast_path, value


@pytest.mark.parametrize("value", COMMON + OTHER + CORPUS)
def test_a_field_is_read_as_authres_reads_it(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert_read_as_authres_reads(value, monkeypatch)


@pytest.mark.parametrize("value", COMMON)
def test_the_fast_path_answers_for_the_common_shapes(value: str) -> None:
    assert _common_reading(value) is not None


@pytest.mark.parametrize("value", OTHER)
def test_other_shapes_are_left_to_authres(value: str) -> None:
    assert _common_reading(value) is None


def test_the_common_shapes_pass_and_fail_as_a_user_expects() -> None:
    assert trusted_result_passes(mail_with(BENCH), MX, "tenant.example")
    assert not trusted_result_passes(mail_with(BENCH), MX, "other.example")
    assert trusted_result_passes(mail_with(GMAIL), MX, "mail.tenant.example")
    assert not trusted_result_passes(mail_with(f"{MX} 1; none"), MX, "tenant.example")


def test_a_none_beside_other_results_passes_nothing_and_breaks_nothing() -> None:
    failed = f"{MX}; spf=fail smtp.mailfrom=tenant.example; none"
    assert not trusted_result_passes(mail_with(failed), MX, "tenant.example")
    passed = f"{MX}; spf=pass smtp.mailfrom=tenant.example; none"
    assert trusted_result_passes(mail_with(passed), MX, "tenant.example")


SPACES = [" ", "  ", "\t", "\r\n ", "\n\t", " \r\n\t "]
COMMENTS = [
    "(c)",
    "()",
    "(google.com: domain of tom@tenant.example designates 192.0.2.1 as permitted sender)",
    "(2048-bit key; unprotected)",
    "(header.from=tenant.example; dmarc=pass)",
    "(folded\r\n comment)",
]
ODD_COMMENTS = ["(a (nested) one)", "(a quoted \\) pair)", "(unclosed", "(\u00e9)"]
VALUES = [
    "tenant.example",
    "TENANT.example",
    "mail.tenant.example",
    "tom@tenant.example",
    "@tenant.example",
    "other.example",
    "AbC+/=12",
]
CHECKED = {"dkim": ("header", "d"), "spf": ("smtp", "mailfrom"), "dmarc": ("header", "from")}
"""The property each method's pass is checked against."""
ODD_VALUES = ["", "@", "x..example", '"tom"@tenant.example', "@tenant.example.", "<>", "t\u00f6m"]


def pick(rng: random.Random, usual: list[str], odd: list[str]) -> str:
    """Mostly one of ``usual``; one time in forty one of ``odd``."""
    return rng.choice(odd if odd and rng.random() < 0.025 else usual)


def spacing(rng: random.Random) -> str:
    """Between tokens: mostly white space, sometimes a comment, now and then two."""
    roll = rng.random()
    if roll < 0.75:
        return pick(rng, SPACES, ["", "\r\n", "\n \n "])
    comment = rng.choice(["", *SPACES]) + pick(rng, COMMENTS, ODD_COMMENTS)
    comment += rng.choice(["", *SPACES])
    return comment if roll < 0.97 else comment + rng.choice(COMMENTS)


def near(rng: random.Random) -> str:
    """Around ``=``, ``;`` or ``.``: usually nothing or white space."""
    return pick(rng, ["", "", " ", "\r\n "], [" (c) ", "(c)"])


def resinfo(rng: random.Random) -> str:
    method = pick(rng, ["dkim", "spf", "dmarc", "DKIM", "Spf", "iprev", "auth"], ["none", "dkim/1"])
    result = pick(rng, ["pass", "pass", "PASS", "fail"], ["pass.x", "=pass", "p\u00e4ss"])
    parts = [f"{method}{near(rng)}={near(rng)}{result}"]
    if rng.random() < 0.15:
        keyword = pick(rng, ["reason", "Reason"], ["reasonx"])
        reason = pick(rng, ["good", "1.2"], ['"bad sig"', "x/y"])
        parts.append(f"{keyword}{near(rng)}={near(rng)}{reason}")
    for index in range(rng.randrange(4)):
        ptype = pick(rng, ["smtp", "header", "HEADER", "policy", "body"], ["x", "\u017fmtp"])
        name = pick(rng, ["from", "d", "i", "mailfrom", "MailFrom", "helo", "s"], ["", "a..b"])
        if index == 0 and method.lower() in CHECKED and rng.random() < 0.7:
            ptype, name = CHECKED[method.lower()]
        value = pick(rng, VALUES, ODD_VALUES)
        parts.append(f"{ptype}{pick(rng, ['.'], [' .'])}{name}{near(rng)}={near(rng)}{value}")
    return "".join(part + spacing(rng) for part in parts).rstrip()


def field(rng: random.Random) -> str:
    authserv_id = pick(rng, [MX, MX, MX.upper(), "other.example"], [f"{MX}.", f"{MX}="])
    version = pick(rng, ["", "", f"{spacing(rng)}1"], [f"{spacing(rng)}2", "1", " 01"])
    results = [resinfo(rng) for _ in range(rng.randrange(1, 4))]
    if rng.random() < 0.05:
        results = [pick(rng, ["none", "NONE"], ["none x", "none; spf=pass"])]
    separators = [f";{rng.choice(['', *SPACES])}" for _ in results]
    body = "".join(sep + result for sep, result in zip(separators, results, strict=True))
    trailing = pick(rng, ["", "", spacing(rng)], [";", " junk", "; none", ";;"])
    leading = pick(rng, ["", " "], ["(c) ", " (c) "])
    return f"{leading}{authserv_id}{version}{near(rng)}{body}{trailing}"


GENERATED = [field(random.Random(seed)) for seed in range(1500)]


def test_generated_fields_are_read_as_authres_reads_them(monkeypatch: pytest.MonkeyPatch) -> None:
    for value in GENERATED:
        assert_read_as_authres_reads(value, monkeypatch)


def test_the_generated_fields_test_both_paths_and_both_decisions() -> None:
    answered = [value for value in GENERATED if _common_reading(value) is not None]
    passing = [value for value in answered if True in decisions(mail_with(value), {MX})]

    assert 0.25 * len(GENERATED) < len(answered) < 0.9 * len(GENERATED)
    assert 0.1 * len(answered) < len(passing) < 0.9 * len(answered)
