"""The files of an outgoing message, and what a reader sees when one of them is missing.

An outbox row names its files by digest; a channel sender reads them from the blob store.
A file may be missing there: another process took it in on a disk this one cannot see (the
local store with several machines), it is being moved (``housedesk blobs migrate``), or it
is lost. The first attempts of a row count a missing file as a temporary failure, so the
outbox retries with its backoff while the file may still arrive. From attempt
:data:`SEND_WITHOUT_FROM` on the message goes out without it, and its text ends with a line,
in the reader's language, naming the files that could not be attached: the technician still
gets the assignment and knows to ask for the photo, instead of a card that never comes.
"""

from __future__ import annotations

import dataclasses
import logging

from core.i18n import ngettext
from core.messaging.delivery import Delivery, TemporaryDeliveryError
from core.messaging.message import FileRef, OutgoingMessage
from core.storage.blobs import BlobStore

log = logging.getLogger(__name__)

SEND_WITHOUT_FROM = 3
"""The attempt from which a message whose files are missing goes out without them."""


async def with_files_at_hand(delivery: Delivery, blobs: BlobStore) -> OutgoingMessage:
    """The message to send: ``delivery``'s, or, once waiting is over, the same without the
    files the store lacks and saying so; :class:`TemporaryDeliveryError` while waiting."""
    message = delivery.message
    missing = [ref for ref in message.files if not await blobs.exists(ref.sha256)]
    if not missing:
        return message
    names = ", ".join(ref.filename for ref in missing)
    if delivery.attempts < SEND_WITHOUT_FROM:
        raise TemporaryDeliveryError(
            f"attachment(s) {names} not in the {blobs.name} blob store (yet); "
            f"from attempt {SEND_WITHOUT_FROM} the message goes without them"
        )
    log.warning(
        "outbox: #%s goes without attachment(s) missing from the %s blob store: %s",
        delivery.id,
        blobs.name,
        ", ".join(ref.sha256 for ref in missing),
    )
    return without_files(message, missing)


def without_files(message: OutgoingMessage, missing: list[FileRef]) -> OutgoingMessage:
    """``message`` without the ``missing`` files, its text ending with a line naming them."""
    names = ", ".join(ref.filename for ref in missing)
    note = ngettext(
        message.language,
        "The file {names} could not be attached: it is missing from storage.",
        "The files {names} could not be attached: they are missing from storage.",
        len(missing),
        names=names,
    )
    text = f"{message.text.rstrip()}\n\n⚠️ {note}" if message.text.strip() else f"⚠️ {note}"
    kept = tuple(ref for ref in message.files if ref not in missing)
    return dataclasses.replace(message, text=text, files=kept)
