"""Separating what the sender wrote from quoted history and signatures.

The reply is the text above the first quote header (top posting, what nearly every client
does). When the text starts with the quote header (bottom posting, e.g. Thunderbird), the
reply is the unquoted text below it. ``>`` lines are always dropped, a ``-- `` signature is
cut, and a trailing device signature ("Sent from my iPhone", "Von meinem iPhone gesendet")
is removed. A forwarded message is content, not history: it is never cut.

Quote headers recognised (English, Russian, German, French, Polish, Norwegian, Swedish,
Danish, Chinese, Japanese and more): attribution lines with a date (or followed by quoted
lines) ending in "wrote:", "пишет:", "написал(а):", "schrieb:", "a écrit :", "napisał(a):",
"pisze:", "skrev:", "写道：", "のメール:", "schrieb am <date>:" or in ``<address>:`` (Gmail,
Apple Mail, Thunderbird, Yandex, mail.ru, Android, QQ; wrapped over up to three lines, as Gmail
wraps a long one), "-----Original Message-----" and its translations ("-------- Oprindelig besked
--------", "原始邮件"), and Outlook header blocks ("From:" followed by "Sent:"/"Date:" and the
like, also bold ``*From:*``, translated field names such as "Fra:/Dato:" or "发件人:/发送时间:",
and full-width colons; GMX's "Gesendet:" above "Von:").
"""

from __future__ import annotations

import re

_MAX_ATTRIBUTION_LINES = 3
_MAX_ATTRIBUTION_CHARS = 400

_QUOTED = re.compile(r"^[ \t]*>")
_ATTRIBUTION = re.compile(
    r"(?:\bwrote|\bwrites|пишет|написал|написала|написал\(а\)|schrieb|schreibt|a\s+écrit"
    r"|napisał|napisała|napisał\(a\)|pisze|skrev|escribió|ha\s+scritto|schreef|kirjoitti"
    r"|写道|寫道|のメール)"
    r"\s*[:：]\s*$"
    r"|\bschrieb\s+am\s+.{1,60}?[:：]\s*$"
    r"|[\w.+'-]+@[\w-]+(?:\.[\w-]+)+\s*[>\])]?\s*[:：]\s*$",
    re.IGNORECASE,
)
_ORIGINAL_MESSAGE = re.compile(
    r"^\s*-{2,}\s*(?:original message|ursprüngliche nachricht|message d'origine"
    r"|oryginalna wiadomość|opprinnelig melding|исходное сообщение|original meddelelse"
    r"|ursprungligt meddelande|messaggio originale|mensaje original|oorspronkelijk bericht"
    r"|oprindelig besked|oprindelig meddelelse|wiadomość oryginalna|originalmeddelande"
    r"|原始邮件|原始郵件|元のメッセージ)"
    r"\s*-{2,}\s*$",
    re.IGNORECASE,
)
_FIELD = r"^[ \t]*[*_]*(?:{names})[*_]*[ \t]*[:：]"
_FROM_FIELD = re.compile(
    _FIELD.format(names="from|von|de|od|fra|от|från|da|van|lähettäjä|发件人|寄件者|差出人")
    + r"[*_]*[ \t]*\S",
    re.IGNORECASE,
)
_DATE_FIELD = re.compile(
    _FIELD.format(
        names="sent|date|gesendet|datum|envoyé|wysłano|wysłane|data|sendt|отправлено|дата"
        "|skickat|inviato|enviado|verzonden|päivämäärä|dato|发送时间|日期|寄件日期|送信日時"
    ),
    re.IGNORECASE,
)
_FORWARDED = re.compile(
    r"^\s*(?:-{2,}\s*(?:forwarded message|пересылаемое сообщение|weitergeleitete nachricht"
    r"|message transféré|wiadomość przekazana dalej|videresendt melding)\s*-{2,}"
    r"|begin forwarded message:|-{2,}\s*переадресованное сообщение\s*-{2,})\s*$",
    re.IGNORECASE,
)
_SIGNATURE_DELIMITER = re.compile(r"^--[ \t]?$")
_DEVICE_SIGNATURE = re.compile(
    r"^[ \t]*(?:sent from my [\w .'-]{1,40}"
    r"|sent from (?:outlook|mail|yahoo mail|gmail|aol|protonmail|my mobile)\b.{0,60}"
    r"|get outlook for (?:ios|android).{0,40}"
    r"|envoyé (?:de|depuis|à partir de) .{1,60}"
    r"|von meinem .{1,40} gesendet\.?"
    r"|gesendet von .{1,40}"
    r"|отправлено (?:с|со|из) .{1,60}"
    r"|wysłane (?:z|ze) .{1,60}"
    r"|sendt fra (?:min|mi|mitt) .{1,40})[ \t]*$",
    re.IGNORECASE,
)
_SEPARATOR_ONLY = re.compile(r"^[\s\-_=*]*$")
_DIGIT = re.compile(r"\d")
_UNDATED_START = re.compile(r"^\s*[^\W\d_]+\s[^,]{0,40},")  # "On Thu, help wrote:"
_ATTRIBUTION_ENDS = (":", "：")  # every attribution ends in a colon
_TRAILING_LINK = re.compile(r"<https?://[^>]*>$")
_BLANK_RUNS = re.compile(r"\n{3,}")


def strip_reply(text: str) -> str:
    """Return only what the sender wrote: quoted history and signatures removed."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    header = _first_quote_header(lines)
    if header is not None:
        start, length = header
        above = lines[:start]
        if any(line.strip() and not _QUOTED.match(line) for line in above):
            lines = above
        else:
            lines = lines[start + length :]
    lines = [line for line in lines if not _QUOTED.match(line)]
    lines = _cut_signature(lines)
    return _tidy(lines)


def _first_quote_header(lines: list[str]) -> tuple[int, int] | None:
    """Return (first line, line count) of the first quote header, or None.

    Scanning stops at a forwarded-message marker: what follows it is the content.
    """
    for index, line in enumerate(lines):
        if _QUOTED.match(line):
            continue
        if ":" in line or "--" in line or "：" in line:  # every separator and field has one
            if _FORWARDED.match(line):
                return None
            if _ORIGINAL_MESSAGE.match(line):
                return index, 1
            if _FROM_FIELD.match(line) and any(
                _DATE_FIELD.match(following) for following in lines[index + 1 : index + 6]
            ):
                return index, 1
            if _DATE_FIELD.match(line) and any(
                _FROM_FIELD.match(following) for following in lines[index + 1 : index + 3]
            ):  # GMX and web.de put the date first: "Gesendet: …" then "Von: …"
                return index, 1
        length = _attribution_length(lines, index)
        if length:
            return index, length
    return None


def _attribution_length(lines: list[str], index: int) -> int:
    """Return how many lines (1-3) starting at ``index`` form an attribution, else 0.

    The first line must carry a date (a digit), unless quoted lines follow ("On Thu, help
    wrote:" above "> ..."). A longer window is rejected when the attribution already starts
    on a later line of it ("Call me on 555 1234" followed by "On Mon, 2 Apr ... wrote:" must
    keep the first line), unless the earlier line leaves an address open: "... The Hiring
    Engine <" then "long-address+1234@x.example> wrote:" is one attribution.
    """
    for length in range(1, _MAX_ATTRIBUTION_LINES + 1):
        if _is_attribution(lines, index, length) and not any(
            _is_attribution(lines, index + skip, length - skip)
            and not _left_open(lines[index + skip - 1])
            for skip in range(1, length)
        ):
            return length
    return 0


def _left_open(line: str) -> bool:
    """True when ``line`` ends inside ``<...>`` (Gmail wrapped the address to the next line)."""
    return line.count("<") > line.count(">")


def _is_attribution(lines: list[str], index: int, length: int) -> bool:
    window = lines[index : index + length]
    if len(window) < length or not window[-1].rstrip().endswith(_ATTRIBUTION_ENDS):
        return False
    if not _DIGIT.search(window[0]) and not (
        _UNDATED_START.match(window[0]) and _quote_follows(lines, index + length)
    ):
        return False
    if any(_QUOTED.match(line) or not line.strip() for line in window):
        return False
    joined = " ".join(line.strip() for line in window)
    return len(joined) <= _MAX_ATTRIBUTION_CHARS and bool(_ATTRIBUTION.search(joined))


def _quote_follows(lines: list[str], index: int) -> bool:
    """True when the next non-blank line from ``index`` on is quoted (``>``)."""
    following = next((line for line in lines[index:] if line.strip()), "")
    return bool(_QUOTED.match(following))


def _cut_signature(lines: list[str]) -> list[str]:
    for index, line in enumerate(lines):
        if _SIGNATURE_DELIMITER.match(line):
            lines = lines[:index]
            break
    content = [index for index, line in enumerate(lines) if line.strip()]
    for index in content[-3:]:
        if _DEVICE_SIGNATURE.match(lines[index]) or _DEVICE_SIGNATURE.match(
            _TRAILING_LINK.sub("", lines[index].strip())
        ):
            return lines[:index]
    return lines


def _tidy(lines: list[str]) -> str:
    lines = [line.rstrip() for line in lines]
    while lines and _SEPARATOR_ONLY.match(lines[-1]):
        lines.pop()
    while lines and not lines[0].strip():
        lines.pop(0)
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines))
