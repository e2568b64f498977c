"""Is a mail really from the domain its ``From:`` names?

``From:`` is whatever the sender typed; only a check bound to the From domain makes it
trustworthy. Three modes, chosen in ``[email] authentication``:

* ``trusted-mta`` (the default): housedesk receives mail behind the organisation's MTA,
  which checks SPF, DKIM and DMARC and writes an ``Authentication-Results`` field (RFC 8601).
  Only a field carrying the configured ``authserv_id`` counts (anyone can write such a field
  into a mail; RFC 8601 section 5 requires the MTA to remove copies with its own id from
  incoming mail), and of those only the topmost, the one the MTA added last. The mail passes
  when ``dmarc=pass`` names the From domain, or ``dkim=pass`` / ``spf=pass`` names a domain
  aligned with it. Without an ``authserv_id`` nothing is trusted: every mail is unverified.
* ``verify``: housedesk receives mail directly and checks DKIM itself (dkimpy): a valid
  signature whose ``d=`` is the From domain or a parent of it. SPF is not checked: it
  authenticates the envelope sender and the client's IP, not ``From:``, and pyspf's resolver
  is a module global that cannot be given per check (so it could not be tested offline).
* ``none``: every mail counts as authenticated. Unsafe: anyone can then write as staff or as
  a requester. Only for a test installation or a mailbox nobody outside can write to.

Authentication-Results fields are parsed with the ``authres`` package (RFC 8601 grammar,
comments and quoting included) rather than by hand; :class:`_Results` only makes its parser's
one primitive cheaper, keeping its grammar and results.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum
from functools import cache
from typing import Any

import authres
import dkim
import dkim.dnsplug
from authres.core import AuthenticationResult, AuthenticationResultsHeader
from dkim.util import parse_tag_value

from intake.email.parse import ParsedMail

log = logging.getLogger(__name__)

DnsTxt = Callable[[str], bytes | None]
"""Returns the TXT record of a DNS name (``sel._domainkey.example.org``), or None."""


class AuthMode(StrEnum):
    """How housedesk decides whether a mail's sender is authentic."""

    TRUSTED_MTA = "trusted-mta"
    VERIFY = "verify"
    NONE = "none"


@dataclass(frozen=True)
class SenderAuthentication:
    """The configured check; :meth:`check` answers it for one mail."""

    mode: AuthMode = AuthMode.TRUSTED_MTA
    authserv_id: str = ""
    dns_txt: DnsTxt | None = None

    def check(self, raw: bytes, mail: ParsedMail) -> bool:
        """True when ``mail`` is authenticated for the domain of its From address."""
        if self.mode is AuthMode.NONE:
            return True
        domain = _domain(mail.sender)
        if not domain:
            return False
        if self.mode is AuthMode.TRUSTED_MTA:
            return trusted_result_passes(mail, self.authserv_id, domain)
        return dkim_passes(raw, domain, self.dns_txt or _system_dns_txt)


def trusted_result_passes(mail: ParsedMail, authserv_id: str, domain: str) -> bool:
    """True when the topmost Authentication-Results from ``authserv_id`` passes ``domain``."""
    if not authserv_id:
        return False
    for value in mail.header_values("Authentication-Results"):
        if authserv_id.lower() not in value.lower():
            continue  # cannot be the field of ``authserv_id``: not worth parsing
        try:
            parsed = _Results.parse_value(authres.core_features(), value)
        except Exception:  # authres raises its own SyntaxError and friends
            continue
        if str(parsed.authserv_id).lower() != authserv_id.lower():
            continue
        return any(_result_passes(result, domain) for result in parsed.results)
    return False


class _Results(AuthenticationResultsHeader):
    """authres's parser with its primitive step done without recompiling the pattern and
    without a substitution (its own TODO says the step is "far from efficient"): the first
    match of the pattern is cut out of the text left, exactly as ``re.sub(..., count=1)``
    did. It cost about as much as parsing the whole mail."""

    _parse_text: str

    def _parse_pattern(self, pattern: Any) -> re.Match[str] | None:
        regexp = pattern if isinstance(pattern, re.Pattern) else _anchored(pattern)
        text = self._parse_text
        match = regexp.search(text)
        if match is not None:
            self._parse_text = text[: match.start()] + text[match.end() :]
        return match


@cache
def _anchored(pattern: str) -> re.Pattern[str]:
    """A grammar pattern as authres compiles it on every use."""
    return re.compile(r"^" + pattern, re.I)


def _result_passes(result: AuthenticationResult, domain: str) -> bool:
    if str(result.result).lower() != "pass":
        return False
    method = str(result.method).lower()
    properties = {
        f"{prop.type}.{prop.name}".lower(): str(prop.value or "") for prop in result.properties
    }
    if method == "dmarc":
        return properties.get("header.from", "").lower() == domain
    if method == "dkim":
        signer = properties.get("header.d") or properties.get("header.i", "").rpartition("@")[2]
        return aligned(signer, domain)
    if method == "spf":
        mail_from = properties.get("smtp.mailfrom", "")
        return aligned(mail_from.rpartition("@")[2], domain)
    return False


def dkim_passes(raw: bytes, domain: str, dns_txt: DnsTxt) -> bool:
    """True when a DKIM signature aligned with ``domain`` verifies."""

    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        return dns_txt(name.decode("ascii", "replace").rstrip("."))

    try:
        verifier = dkim.DKIM(raw)
        signatures = [
            value for name, value in verifier.headers if name.lower() == b"dkim-signature"
        ]
        for index, value in enumerate(signatures):
            signer = parse_tag_value(value).get(b"d", b"").decode("ascii", "replace")
            if aligned(signer, domain) and verifier.verify(idx=index, dnsfunc=lookup):
                return True
    except Exception as exc:  # dkimpy raises many kinds on malformed mail or DNS trouble
        log.info("DKIM check failed: %s: %s", type(exc).__name__, exc)
    return False


def aligned(signer: str, domain: str) -> bool:
    """True when ``signer`` is ``domain`` or a parent of it (relaxed alignment)."""
    signer = signer.strip().lower().rstrip(".")
    domain = domain.strip().lower().rstrip(".")
    return bool(signer) and "." in signer and (domain == signer or domain.endswith(f".{signer}"))


def _domain(address: str | None) -> str:
    return (address or "").rpartition("@")[2].strip().lower()


def _system_dns_txt(name: str) -> bytes | None:
    """The real resolver (dnspython through dkimpy); never used by tests."""
    txt: bytes | None = dkim.dnsplug.get_txt(name.encode("ascii"))
    return txt


def authenticated(auth: SenderAuthentication, raw: bytes, mail: ParsedMail) -> ParsedMail:
    """``mail`` with :attr:`ParsedMail.authenticated` set by ``auth``. It may wait on DNS
    and parses header fields: call it off the event loop (the gateway does, with parsing)."""
    return replace(mail, authenticated=auth.check(raw, mail))
