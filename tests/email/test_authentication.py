"""Reading the receiving MTA's Authentication-Results (RFC 8601) for the From domain."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from intake.email.authentication import AuthMode, SenderAuthentication, aligned
from intake.email.parse import parse_message

MX = "mx.oak.example"


def check(*results: str, sender: str = "tom@tenant.example", authserv_id: str = MX) -> bool:
    msg = EmailMessage()
    msg["From"] = f"Tom <{sender}>"
    msg["Subject"] = "Leak"
    for value in results:
        msg["Authentication-Results"] = value
    msg.set_content("Water.")
    raw = msg.as_bytes()
    mail = parse_message(raw, max_attachment_bytes=1024)
    return SenderAuthentication(AuthMode.TRUSTED_MTA, authserv_id).check(raw, mail)


@pytest.mark.parametrize(
    "result",
    [
        f"{MX}; dmarc=pass (p=reject) header.from=tenant.example",
        f"{MX}; dkim=pass (2048-bit key) header.d=tenant.example header.s=s1 header.b=abc",
        f"{MX}; dkim=pass header.i=@tenant.example",
        f"{MX}; spf=pass smtp.mailfrom=tom@tenant.example",
        f"{MX.upper()}; dkim=pass header.d=tenant.example",
    ],
)
def test_a_passing_aligned_result_of_our_mta_authenticates(result: str) -> None:
    assert check(result)


@pytest.mark.parametrize(
    "result",
    [
        f"{MX}; dkim=fail header.d=tenant.example; spf=softfail smtp.mailfrom=tenant.example",
        f"{MX}; dkim=pass header.d=bulk-mailer.example; spf=pass smtp.mailfrom=x@bulk.example",
        f"{MX}; dmarc=pass header.from=other.example",
        f"{MX}; none",
        f"{MX}; this is not = RFC 8601;;",
        "mx.evil.example; dmarc=pass header.from=tenant.example",
    ],
)
def test_failing_unaligned_foreign_or_broken_results_do_not(result: str) -> None:
    assert not check(result)


def test_only_the_topmost_result_of_our_mta_counts() -> None:
    ours = f"{MX}; dkim=fail header.d=tenant.example"
    planted = f"{MX}; dkim=pass header.d=tenant.example"
    assert not check(ours, planted)


def test_without_an_authserv_id_nothing_is_trusted() -> None:
    assert not check("; dmarc=pass header.from=tenant.example", authserv_id="")
    assert not check(f"{MX}; dmarc=pass header.from=tenant.example", authserv_id="")


def test_alignment_accepts_the_domain_and_its_parents_only() -> None:
    assert aligned("tenant.example", "tenant.example")
    assert aligned("Example.ORG", "mail.example.org")
    assert not aligned("mail.example.org", "example.org")
    assert not aligned("ant.example", "tenant.example")
    assert not aligned("org", "example.org")
    assert not aligned("", "example.org")
