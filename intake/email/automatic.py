"""Recognising mail that no human wrote, so that housedesk never answers it.

Check :func:`intake.email.bounce.bounce_info` first: a bounce is automatic too, but it
carries information (a failed delivery) that the caller wants to record.

Automatic, after RFC 3834 and RFC 8098: ``Auto-Submitted`` other than ``no``, any
``multipart/report`` (read receipts and delivery reports), a null reverse-path
(``Return-Path: <>``, which the SMTP server writes from ``MAIL FROM:<>``, or ``<>`` as the
From address), mailing lists and bulk precedence, robot senders, iCloud's vacation responder
(``X-Apple-Action: VACATION``, its only mark), and our own loop header.
``X-Auto-Response-Suppress`` is *not* automatic: ordinary clients (Outlook) set it on human
mail too. It only asks not to be auto-answered, which :func:`suppresses_auto_reply` tells.

Another housedesk's ``X-Housedesk-Loop`` header is deliberately *not* treated as automatic:
staff replies sent through housedesk carry it as well. Only our own address in it is a loop.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from intake.email.headers import names_null_address, parse_addresses
from intake.email.parse import ParsedMail

LOOP_HEADER = "X-Housedesk-Loop"

_BULK_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}
_AUTO_REPLY_HEADERS = ("X-Autoreply", "X-Autorespond")
_SUPPRESSING = {"all", "oof", "autoreply"}
_REPORT = re.compile(r"\s*multipart/report\b")
_REPORT_TYPE = re.compile(r"report-type\s*=\s*\"?([\w-]+)")
_ROBOT_LOCAL_PARTS = {
    "mailer-daemon",
    "postmaster",
    "post_master",
    "noreply",
    "no-reply",
    "no_reply",
    "donotreply",
    "do-not-reply",
}
_ROBOT_PREFIXES = tuple(f"{name}{mark}" for name in _ROBOT_LOCAL_PARTS for mark in "+-.")


def automatic_reason(mail: ParsedMail, own_addresses: Collection[str]) -> str | None:
    """Return why ``mail`` is automatic (auto-reply, list, robot, our own loop), else None."""
    own = {address.lower() for address in own_addresses}
    loop = mail.header(LOOP_HEADER)
    if loop and any(address in own for _, address in parse_addresses(loop)):
        return f"our own {LOOP_HEADER} header"
    if mail.sender in own:
        return "sent from our own address"
    auto_submitted = (mail.header("Auto-Submitted") or "").split(";")[0].strip().lower()
    if auto_submitted and auto_submitted != "no":
        return f"Auto-Submitted: {auto_submitted}"
    content_type = (mail.header("Content-Type") or "").lower()
    if _REPORT.match(content_type):
        kind = _REPORT_TYPE.search(content_type)
        return f"multipart/report ({kind.group(1) if kind else 'report'})"
    precedence = (mail.header("Precedence") or "").strip().lower()
    if precedence in _BULK_PRECEDENCE:
        return f"Precedence: {precedence}"
    if mail.header("List-Id"):
        return "mailing list (List-Id)"
    for name in _AUTO_REPLY_HEADERS:
        value = mail.header(name)
        if value is not None and value.strip().lower() != "no":
            return f"{name} header"
    if (mail.header("X-Apple-Action") or "").strip().lower() == "vacation":
        return "iCloud vacation reply (X-Apple-Action)"
    return_path = mail.header("Return-Path")
    if return_path is not None and return_path.strip() in {"<>", ""}:
        return "empty Return-Path (a delivery report)"
    if names_null_address(mail.header("From")):
        return "null From address <>"
    if mail.sender and _is_robot(mail.sender):
        return f"robot sender {mail.sender}"
    return None


def suppresses_auto_reply(mail: ParsedMail) -> bool:
    """True when the sender asked for no automatic answer (``X-Auto-Response-Suppress``)."""
    suppress = {
        token.strip().lower()
        for token in (mail.header("X-Auto-Response-Suppress") or "").split(",")
    }
    return bool(suppress & _SUPPRESSING)


def _is_robot(address: str) -> bool:
    local = address.split("@", 1)[0]
    return local in _ROBOT_LOCAL_PARTS or local.startswith(_ROBOT_PREFIXES)
