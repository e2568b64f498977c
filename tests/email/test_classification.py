"""automatic_reason, bounce_info, voicemail_from_mail and classify on targeted mails."""

from __future__ import annotations

import pytest

from intake.email.automatic import automatic_reason, suppresses_auto_reply
from intake.email.bounce import bounce_info
from intake.email.classify import MailKind, classify
from intake.email.parse import ParsedMail, parse_message
from intake.email.voicemail import voicemail_from_mail

OWN = {"help@housedesk.example"}


def _mail(headers: str, body: str = "The lift is broken.", parts: bytes = b"") -> ParsedMail:
    head = headers.strip().replace("\n", "\r\n")
    raw = f"{head}\r\n\r\n{body}\r\n".encode() + parts
    return parse_message(raw, max_attachment_bytes=1024 * 1024)


RESIDENT = "From: Anna <anna@resident.example>\nSubject: Lift broken\n"


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        ("X-Housedesk-Loop: help@housedesk.example", "our own X-Housedesk-Loop header"),
        ("Auto-Submitted: auto-replied", "Auto-Submitted: auto-replied"),
        ("Auto-Submitted: auto-generated; owner-email=x@y", "Auto-Submitted: auto-generated"),
        (
            "Content-Type: multipart/report; report-type=disposition-notification; boundary=b",
            "multipart/report (disposition-notification)",
        ),
        ('Content-Type: Multipart/Report; boundary="b"', "multipart/report (report)"),
        ("Precedence: bulk", "Precedence: bulk"),
        ("Precedence: junk", "Precedence: junk"),
        ("Precedence: list", "Precedence: list"),
        ("List-Id: Residents <residents.example.org>", "mailing list (List-Id)"),
        ("X-Autoreply: yes", "X-Autoreply header"),
        ("X-Autorespond: Out of office", "X-Autorespond header"),
        ("X-Apple-Action: VACATION", "iCloud vacation reply (X-Apple-Action)"),
        ("Return-Path: <>", "empty Return-Path (a delivery report)"),
    ],
)
def test_automatic_headers(extra: str, reason: str) -> None:
    assert automatic_reason(_mail(RESIDENT + extra), OWN) == reason


@pytest.mark.parametrize(
    "sender",
    [
        "MAILER-DAEMON@mx.example",
        "postmaster@mx.example",
        "noreply@bank.example",
        "no-reply@portal.example",
        "no_reply@x.example",
        "donotreply@x.example",
        "noreply-dmarc-support@google.example",
        "post_master@vtext.example",  # Verizon's SMS gateway
        "noreply+bounces@x.example",
        "do-not-reply.team@x.example",
    ],
)
def test_robot_senders_are_automatic(sender: str) -> None:
    assert (
        automatic_reason(_mail(f"From: {sender}\nSubject: x"), OWN)
        == f"robot sender {sender.lower()}"
    )


@pytest.mark.parametrize(
    "sender", ["noreplyfan@x.example", "postmasters@x.example", "anna.noreply@x.example"]
)
def test_people_whose_name_starts_like_a_robot_are_not(sender: str) -> None:
    assert automatic_reason(_mail(f"From: {sender}\nSubject: x"), OWN) is None


def test_mail_from_our_own_address_is_a_loop() -> None:
    mail = _mail("From: Housedesk <HELP@housedesk.example>\nSubject: x")

    assert automatic_reason(mail, OWN) == "sent from our own address"


@pytest.mark.parametrize(
    "extra",
    [
        "",
        "Auto-Submitted: no",
        "X-Auto-Response-Suppress: DR, RN",
        "X-Auto-Response-Suppress: All",  # Outlook sets it on human mail too
        "Content-Type: multipart/mixed; boundary=b",
        "Precedence: first-class",
        "X-Housedesk-Loop: help@other-housedesk.example",  # another desk's staff reply
        "Return-Path: <anna@resident.example>",
    ],
)
def test_human_mail_is_not_automatic(extra: str) -> None:
    assert automatic_reason(_mail(RESIDENT + extra), OWN) is None


@pytest.mark.parametrize(
    ("value", "suppresses"),
    [("All", True), ("DR, OOF, AutoReply", True), ("DR, RN, NRN", False), ("", False)],
)
def test_x_auto_response_suppress_only_asks_for_no_auto_reply(value: str, suppresses: bool) -> None:
    mail = _mail(RESIDENT + f"X-Auto-Response-Suppress: {value}")

    assert suppresses_auto_reply(mail) is suppresses
    assert automatic_reason(mail, OWN) is None


def test_delayed_dsn_is_a_temporary_bounce() -> None:
    mail = _mail(
        "From: MAILER-DAEMON@mx.example\nSubject: Delayed Mail (still being retried)\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"',
        "",
        b"--b\r\nContent-Type: text/plain\r\n\r\nStill trying.\r\n"
        b"--b\r\nContent-Type: message/delivery-status\r\n\r\n"
        b"Reporting-MTA: dns; mx.example\r\n\r\n"
        b"Final-Recipient: rfc822; slow@far.example\r\nAction: delayed\r\nStatus: 4.4.1\r\n"
        b"Diagnostic-Code: smtp; 421 4.4.1 Connection timed out\r\n\r\n"
        b"--b\r\nContent-Type: message/rfc822\r\n\r\nMessage-ID: <out-9@housedesk.example>\r\n"
        b"Subject: x\r\n\r\nhello\r\n--b--\r\n",
    )

    info = bounce_info(mail)

    assert info is not None
    assert (info.original_message_id, info.recipient, info.status, info.action) == (
        "<out-9@housedesk.example>",
        "slow@far.example",
        "4.4.1",
        "delayed",
    )
    assert info.diagnostic == "421 4.4.1 Connection timed out"
    assert not info.permanent


def test_bounce_info_accepts_raw_bytes() -> None:
    raw = (
        b"From: Mail Delivery System <Mailer-Daemon@mx.example>\r\n"
        b"Subject: Mail delivery failed\r\n"
        b"X-Failed-Recipients: gone@far.example\r\n\r\n"
        b"A message that you sent could not be delivered to one or more of its recipients.\r\n"
        b"  gone@far.example\r\n"
        b"    SMTP error from remote mail server after RCPT TO:<gone@far.example>:\r\n"
        b"    550 5.1.1 User unknown\r\n\r\n------ This is a copy of the message, including all the"
        b" headers. ------\r\nMessage-ID: <out-10@housedesk.example>\r\nSubject: x\r\n"
    )

    info = bounce_info(raw)

    assert info is not None
    assert (info.original_message_id, info.recipient, info.status) == (
        "<out-10@housedesk.example>",
        "gone@far.example",
        "5.1.1",
    )
    assert info.diagnostic == "550 5.1.1 User unknown"
    assert info.permanent


def test_a_bounce_from_the_null_address_without_return_path() -> None:
    mail = _mail(
        "From: MAILER-DAEMON <>\nSubject: Mail delivery failed",  # DragonFly Mail Agent
        "There was an error delivering your mail to <gone@far.example>.\r\n\r\n"
        "550 5.1.1 User unknown\r\n\r\nMessage headers follow.\r\n\r\n"
        "Message-Id: <out-11@housedesk.example>\r\nSubject: x",
    )

    info = bounce_info(mail)

    assert info is not None
    assert (info.original_message_id, info.recipient, info.status) == (
        "<out-11@housedesk.example>",
        "gone@far.example",
        "5.1.1",
    )
    assert mail.sender is None


def test_a_notice_from_the_null_address_is_automatic() -> None:
    mail = _mail("From: Notifier <>\nSubject: Your meter reading is due")

    assert automatic_reason(mail, OWN) == "null From address <>"


def test_a_resident_mentioning_delivery_is_not_a_bounce() -> None:
    mail = _mail(RESIDENT, "My parcel could not be delivered because the door is locked.")

    assert bounce_info(mail) is None


WAV = b"RIFF\x24\x00\x00\x00WAVEfmt "


def _voicemail(headers: str, body: str, filename: str = "msg0001.wav") -> ParsedMail:
    return _mail(
        headers + '\nContent-Type: multipart/mixed; boundary="v"',
        "",
        f"--v\r\nContent-Type: text/plain\r\n\r\n{body}\r\n--v\r\n"
        f"Content-Type: application/octet-stream\r\n"
        f'Content-Disposition: attachment; filename="{filename}"\r\n\r\n'.encode()
        + WAV
        + b"\r\n--v--\r\n",
    )


def test_voicemail_from_asterisk_headers() -> None:
    mail = _voicemail(
        "From: pbx@pbx.example\nSubject: [PBX]: New message 1 in mailbox 200\n"
        "X-Asterisk-CallerID: +47 555 12 345\nX-Asterisk-CallerIDName: Olga",
        "You were just left a 0:05 long message (number 1) in mailbox 200 from Olga <4755512345>.",
    )

    parts = voicemail_from_mail(mail)

    assert parts is not None
    assert (parts.caller_number, parts.caller_name, parts.called_number) == (
        "+4755512345",
        "Olga",
        "200",
    )
    assert parts.audio.filename == "msg0001.wav" and parts.audio.data == WAV


def test_voicemail_from_the_subject_only() -> None:
    mail = _voicemail("From: pbx@pbx.example\nSubject: New voicemail from 5551234 on ext 100", "")

    parts = voicemail_from_mail(mail)

    assert parts is not None
    assert (parts.caller_number, parts.caller_name, parts.called_number) == ("5551234", None, "100")


@pytest.mark.parametrize("filename", ["message.gsm", "rec.mp3", "rec.ogg", "memo.m4a"])
def test_voicemail_audio_is_found_by_extension(filename: str) -> None:
    mail = _voicemail("From: pbx@pbx.example\nSubject: Voicemail from 5551234", "", filename)

    parts = voicemail_from_mail(mail)

    assert parts is not None and parts.audio.filename == filename


def test_a_resident_sending_an_audio_file_is_not_a_voicemail() -> None:
    mail = _voicemail(RESIDENT, "Listen to the noise the lift makes.", "lift-noise.mp3")

    assert voicemail_from_mail(mail) is None
    assert classify(mail, OWN).kind is MailKind.NEW


def test_classification_order() -> None:
    oof_with_tag = _mail(
        "From: peter@contractor.example\nSubject: Automatic reply: [#42] Leak\n"
        "Auto-Submitted: auto-replied\nIn-Reply-To: <out-42-1@housedesk.example>"
    )
    tagged = _mail("From: anna@resident.example\nSubject: Re: [#42] Leak")
    referencing = _mail("From: anna@resident.example\nSubject: Leak\nReferences: <out-1@x>")

    assert classify(oof_with_tag, OWN).kind is MailKind.AUTOMATIC
    assert (classify(tagged, OWN).kind, classify(tagged, OWN).ticket_number) == (
        MailKind.FOLLOW_UP,
        42,
    )
    assert (classify(referencing, OWN).kind, classify(referencing, OWN).ticket_number) == (
        MailKind.FOLLOW_UP,
        None,
    )
    assert classify(_mail(RESIDENT), OWN).kind is MailKind.NEW
