"""The IMAP poller against a real Dovecot: flags and folders per outcome, IDLE, reconnects."""

from __future__ import annotations

import asyncio
import contextlib
import imaplib
import logging
import re
import subprocess
import uuid
from collections.abc import Callable, Iterator

import pytest

from core.storage.models import FailedMail
from housedesk.bootstrap import App
from intake.email.imap_poller import ImapConfig, ImapPoller
from intake.email.quarantine import QuarantiningIngest
from intake.outcome import Accepted, Deferred, Outcome, Rejected
from tests.servers.dovecot import DovecotServer


def _mail(subject: str) -> bytes:
    return (
        f"From: Anna Berg <anna@resident.example>\r\nTo: help@housedesk.example\r\n"
        f"Subject: {subject}\r\nMessage-ID: <{uuid.uuid4().hex}@resident.example>\r\n\r\n"
        f"Body of {subject}.\r\n"
    ).encode()


class Mailbox:
    """Direct IMAP access for setting up and inspecting the test folders."""

    def __init__(self, server: DovecotServer) -> None:
        self.client = imaplib.IMAP4(server.host, server.port)
        self.client.login(server.user, server.password)

    def new_folder(self) -> str:
        name = f"T{uuid.uuid4().hex[:10]}"
        self.client.create(name)
        return name

    def append(self, folder: str, raw: bytes) -> None:
        status, _ = self.client.append(folder, None, None, raw)
        assert status == "OK"

    def messages(self, folder: str) -> dict[str, set[str]]:
        """Subject -> flags of every message in ``folder``."""
        self.client.select(folder, readonly=True)
        status, data = self.client.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        found: dict[str, set[str]] = {}
        if status != "OK" or data == [None]:
            return found
        for item in data:
            if isinstance(item, tuple):
                flags = set(re.findall(r"\\\w+", item[0].decode())) - {"\\Recent"}
                subject = item[1].decode().split(":", 1)[1].strip()
                found[subject] = flags
        return found

    def close(self) -> None:
        with contextlib.suppress(imaplib.IMAP4.abort, OSError):
            self.client.logout()


@pytest.fixture
def mailbox(dovecot: DovecotServer) -> Iterator[Mailbox]:
    box = Mailbox(dovecot)
    yield box
    box.close()


class IngestBySubject:
    """Answers by the subject of the mail and records the raw bytes it saw."""

    def __init__(self, outcomes: dict[str, Outcome]) -> None:
        self.outcomes = outcomes
        self.received: list[bytes] = []
        self.arrived = asyncio.Event()

    async def __call__(self, raw: bytes) -> Outcome:
        self.received.append(raw)
        self.arrived.set()
        subject = re.search(rb"^Subject: (.*?)\r\n", raw, re.MULTILINE)
        assert subject is not None
        return self.outcomes.get(subject.group(1).decode(), Accepted())


async def _eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


def _config(server: DovecotServer, folder: str, **changes: object) -> ImapConfig:
    settings: dict[str, object] = {
        "host": server.host,
        "port": server.port,
        "user": server.user,
        "password": server.password,
        "security": "plain",
        "folder": folder,
        "poll_interval": 30.0,
        "timeout": 5.0,
        "min_backoff": 0.05,
        "max_backoff": 0.2,
    }
    settings.update(changes)
    return ImapConfig(**settings)  # type: ignore[arg-type]


async def test_each_outcome_files_the_message_accordingly(
    dovecot: DovecotServer, mailbox: Mailbox
) -> None:
    folder = mailbox.new_folder()
    rejected_folder = f"{folder}-rejected"
    raws = {subject: _mail(subject) for subject in ("leak", "spam", "later")}
    for raw in raws.values():
        mailbox.append(folder, raw)
    ingest = IngestBySubject({"spam": Rejected("spam"), "later": Deferred("db busy")})
    poller = ImapPoller(_config(dovecot, folder, rejected_folder=rejected_folder), ingest)

    result = await poller.poll_once()
    second = await poller.poll_once()
    await poller.close()

    assert (result.accepted, result.rejected, result.deferred) == (1, 1, 1)
    assert sorted(ingest.received[:3]) == sorted(raws.values())  # exact bytes
    assert (second.accepted, second.rejected, second.deferred) == (0, 0, 1)
    assert ingest.received[3] == raws["later"]
    assert mailbox.messages(folder) == {"leak": {"\\Seen"}, "later": set()}
    assert mailbox.messages(rejected_folder) == {"spam": set()}


async def test_processed_folder_and_rejects_without_a_folder(
    dovecot: DovecotServer, mailbox: Mailbox
) -> None:
    folder = mailbox.new_folder()
    mailbox.append(folder, _mail("leak"))
    mailbox.append(folder, _mail("spam"))
    ingest = IngestBySubject({"spam": Rejected("spam")})
    poller = ImapPoller(_config(dovecot, folder, processed_folder=f"{folder}-done"), ingest)

    await poller.poll_once()
    await poller.close()

    assert mailbox.messages(folder) == {"spam": {"\\Seen"}}
    assert mailbox.messages(f"{folder}-done") == {"leak": {"\\Seen"}}


async def test_idle_delivers_new_mail_long_before_the_poll_interval(
    dovecot: DovecotServer, mailbox: Mailbox
) -> None:
    folder = mailbox.new_folder()
    ingest = IngestBySubject({})
    poller = ImapPoller(_config(dovecot, folder, poll_interval=60.0), ingest)
    task = asyncio.create_task(poller.run())
    await asyncio.sleep(0.5)  # first round done, now idling

    mailbox.append(folder, _mail("burst pipe"))
    await asyncio.wait_for(ingest.arrived.wait(), timeout=5)
    await _eventually(lambda: mailbox.messages(folder) == {"burst pipe": {"\\Seen"}})
    cancelled_at = asyncio.get_running_loop().time()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    # Cancelling interrupts the 60 s IDLE at once instead of waiting it out.
    assert asyncio.get_running_loop().time() - cancelled_at < 2


async def test_reconnects_after_the_server_drops_the_connection(
    dovecot: DovecotServer, mailbox: Mailbox, caplog: pytest.LogCaptureFixture
) -> None:
    folder = mailbox.new_folder()
    ingest = IngestBySubject({})
    poller = ImapPoller(_config(dovecot, folder, poll_interval=60.0), ingest)
    task = asyncio.create_task(poller.run())
    await asyncio.sleep(0.5)

    with caplog.at_level(logging.WARNING, logger="intake.email.imap_poller"):
        subprocess.run(
            ["doveadm", "-c", str(dovecot.root / "dovecot.conf"), "kick", dovecot.user],
            check=True,
            capture_output=True,
        )
        await asyncio.sleep(0.5)
        mailbox = Mailbox(dovecot)  # the kick dropped our own session too
        mailbox.append(folder, _mail("after reconnect"))
        await _eventually(lambda: mailbox.messages(folder) == {"after reconnect": {"\\Seen"}})
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    mailbox.close()

    assert "IMAP round failed" in caplog.text


async def test_unreachable_server_is_retried_not_fatal(
    dovecot: DovecotServer, caplog: pytest.LogCaptureFixture
) -> None:
    ingest = IngestBySubject({})
    config = _config(dovecot, "INBOX", port=1)  # nothing listens on port 1
    task = asyncio.create_task(ImapPoller(config, ingest).run())

    with caplog.at_level(logging.WARNING, logger="intake.email.imap_poller"):
        await asyncio.sleep(0.5)
    assert not task.done()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert caplog.text.count("IMAP round failed") >= 3
    assert ingest.received == []


async def test_a_mail_failing_again_and_again_is_filed_once_set_aside(
    app: App, dovecot: DovecotServer, mailbox: Mailbox
) -> None:
    folder = mailbox.new_folder()
    mailbox.append(folder, _mail("poison"))
    ingest = IngestBySubject({"poison": Deferred("temporary failure: RuntimeError")})
    poller = ImapPoller(_config(dovecot, folder), QuarantiningIngest(ingest, app.clock, 2))

    first = await poller.poll_once()
    second = await poller.poll_once()
    third = await poller.poll_once()
    await poller.close()

    assert (first.deferred, second.accepted, third.accepted) == (1, 1, 0)
    assert len(ingest.received) == 2  # not read again once set aside
    assert mailbox.messages(folder) == {"poison": {"\\Seen"}}
    assert await FailedMail.filter(quarantined_at__not_isnull=True).count() == 1
