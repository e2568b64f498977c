"""Limits that keep one mail or one sender from flooding the helpdesk.

* A mail of more than ``max_mime_parts`` MIME parts is refused before it is parsed: a
  count of boundary-looking lines is a fast upper bound (30,000 tiny parts would otherwise
  take seconds to parse and turn into 30,000 blobs).
* A mail of more than ``max_attachments`` attachments keeps the first ones as they are and
  the rest as one zip archive, with a note saying so.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Sequence

from intake.email.parse import Attachment

_BOUNDARY_LINE = re.compile(rb"^--[^\r\n]", re.MULTILINE)
ARCHIVE_NAME = "more-attachments.zip"


def too_many_parts(raw: bytes, max_parts: int) -> bool:
    """True when ``raw`` may hold more than ``max_parts`` MIME parts (never a false no)."""
    return len(_BOUNDARY_LINE.findall(raw)) > max_parts + 1


def collapse_attachments(
    attachments: Sequence[Attachment], limit: int
) -> tuple[tuple[Attachment, ...], int]:
    """At most ``limit`` attachments: the first ``limit - 1`` and a zip of the rest; the
    number of files put into the archive (0: nothing changed)."""
    if len(attachments) <= limit:
        return tuple(attachments), 0
    kept, rest = list(attachments[: limit - 1]), attachments[limit - 1 :]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        names: set[str] = set()
        for index, part in enumerate(rest, start=limit):
            name = part.filename if part.filename not in names else f"{index}-{part.filename}"
            names.add(name)
            archive.writestr(name, part.data)
    kept.append(Attachment(ARCHIVE_NAME, "application/zip", buffer.getvalue()))
    return tuple(kept), len(rest)
