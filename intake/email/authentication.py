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

Authentication-Results fields are read as the ``authres`` package (RFC 8601 grammar,
comments and quoting included) reads them. The common shape, ``authserv-id [1]; method=result
[reason=token] ptype.property=value ...; ...`` with plain tokens, folding white space, and at
most one comment after a token (where authres's CFWS reads it as white space), is read by a
few anchored regular expressions (:func:`_common_reading`), in a tenth of authres's
instructions. Every other field goes to authres: quoted strings, backslashes, nested comments,
a comment elsewhere or next to another, method versions, ``none`` beside other results,
non-ASCII text, a trailing ``;``, anything after a result that is not a property of type
smtp, header, body or policy (authres drops it or refuses the field). There :class:`_Results`
only makes its parser's one primitive cheaper, keeping its grammar and results.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from enum import StrEnum
from functools import cache
from typing import Any, NamedTuple

import authres
import dkim
import dkim.dnsplug
from authres.core import (
    AuthenticationResult,
    AuthenticationResultsHeader,
    NoneAuthenticationResult,
)
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

    @property
    def asks_dns(self) -> bool:
        """True when :meth:`check` may wait on DNS (so must not run on the event loop)."""
        return self.mode is AuthMode.VERIFY

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
    wanted = authserv_id.lower()
    for value in mail.header_values("Authentication-Results"):
        if wanted not in value.lower():
            continue  # cannot be the field of ``authserv_id``: not worth parsing
        reading = _common_reading(value) or _authres_reading(value)
        if reading is None or reading[0] != wanted:
            continue
        return any(_result_passes(result, domain) for result in reading[1])
    return False


class _Resinfo(NamedTuple):
    """One result of a field, as the pass decision reads it (all lower case but values)."""

    method: str
    result: str
    properties: dict[str, str]
    """``type.name`` -> value; of a repeated property, the last."""


_Reading = tuple[str, Iterable[_Resinfo]]
"""A field's authserv-id (lower case) and its results."""

_FWS = r"(?:[ \t]*+(?:\r\n|\n))?[ \t]++"
"""Folding white space, as authres matches it (one line break at most)."""
_SP = rf"(?:{_FWS})?"
"""Where authres reads one CFWS before the next token: white space only."""
_GAP = rf"(?>{_SP}\((?:[!-'*-\[\]-~]++|{_FWS})*+\){_SP}|{_FWS})"
"""After a token, where authres reads two CFWS before the next one: white space, or one
comment without nesting or quoted-pairs (one CFWS stops at the white space after it).
Atomic and comment first, so that it takes all of such a gap."""
_DOT_ATOM = r"[A-Za-z0-9_-]++(?:\.[A-Za-z0-9_-]++)*+"
_PTEXT = r"\-A-Za-z0-9!#$%&'*+/=?^_`{|}~."
"""authres's characters of a property value but ``@``."""
_HEAD_RE = re.compile(rf"{_SP}(?P<authserv_id>{_DOT_ATOM})(?:{_GAP}1)?", re.ASCII)
_NONE_RE = re.compile(rf"{_GAP}?;{_SP}(?i:none){_GAP}?", re.ASCII)
_RESINFO_RE = re.compile(
    rf"{_GAP}?;{_SP}(?!(?i:none))(?P<method>{_DOT_ATOM}){_SP}={_SP}"
    rf"(?P<result>[A-Za-z0-9_-]++)(?:{_GAP}(?i:reason){_SP}={_SP}[A-Za-z0-9_.+-]++)?",
    re.ASCII,
)
"""A result up to its properties. A method beginning ``none`` is left to authres, which reads
it as "no result" and refuses anything after it."""
_PROPERTY_RE = re.compile(
    rf"{_GAP}(?P<type>(?i:smtp|header|body|policy))\.(?P<name>{_DOT_ATOM}){_SP}={_SP}"
    rf"(?P<value>@{_DOT_ATOM}|[{_PTEXT}][{_PTEXT}@]*+)",
    re.ASCII,
)
_END_RE = re.compile(rf"{_GAP}?", re.ASCII)


def _common_reading(value: str) -> _Reading | None:
    """authres's reading of a field of the common shape; None for any other field. Its parts
    are matched one after the other, each token stopping where authres's greedy pattern stops
    and each gap being one that authres's CFWS consume whole."""
    head = _HEAD_RE.match(value)
    if head is None:
        return None
    authserv_id, end = head["authserv_id"].lower(), head.end()
    results = []
    while resinfo := _RESINFO_RE.match(value, end):
        properties, end = _properties(value, resinfo.end())
        results.append(_Resinfo(resinfo["method"].lower(), resinfo["result"].lower(), properties))
    if not results:
        return (authserv_id, []) if _NONE_RE.fullmatch(value, end) else None
    return (authserv_id, results) if _END_RE.fullmatch(value, end) else None


def _properties(text: str, start: int) -> tuple[dict[str, str], int]:
    """The properties of a result from ``start`` on, and where they end."""
    properties = {}
    while prop := _PROPERTY_RE.match(text, start):
        properties[f"{prop['type']}.{prop['name']}".lower()] = prop["value"]
        start = prop.end()
    return properties, start


def _authres_reading(value: str) -> _Reading | None:
    """authres's reading of a field; None when it refuses the field. A ``none`` among
    other results (authres keeps it as one) passes nothing."""
    try:
        parsed = _Results.parse_value(authres.core_features(), value)
    except Exception:  # authres raises its own SyntaxError and friends
        return None
    return str(parsed.authserv_id).lower(), (_resinfo(result) for result in parsed.results)


def _resinfo(result: AuthenticationResult | NoneAuthenticationResult) -> _Resinfo:
    if isinstance(result, NoneAuthenticationResult):  # "none" beside other results
        return _Resinfo("none", "none", {})
    properties = {
        f"{prop.type}.{prop.name}".lower(): str(prop.value or "") for prop in result.properties
    }
    return _Resinfo(str(result.method).lower(), str(result.result).lower(), properties)


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


def _result_passes(result: _Resinfo, domain: str) -> bool:
    if result.result != "pass":
        return False
    properties = result.properties
    if result.method == "dmarc":
        return properties.get("header.from", "").lower() == domain
    if result.method == "dkim":
        signer = properties.get("header.d") or properties.get("header.i", "").rpartition("@")[2]
        return aligned(signer, domain)
    if result.method == "spf":
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
