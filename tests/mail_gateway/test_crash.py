"""SIGKILL right after the 250, then a restart: the ticket exists exactly once."""

from __future__ import annotations

import json
import os
import signal
import smtplib
import subprocess
import sys
import time
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.cli.test_cli import EXAMPLE_CONFIG, _env, _free_port, housedesk, initialised

__all__ = ["initialised"]


def _start(tmp_path: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "housedesk.cli", "--config", str(EXAMPLE_CONFIG), "run"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _send(port: int, raw: bytes) -> tuple[int, bytes]:
    deadline = time.monotonic() + 30
    while True:
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
                client.ehlo()
                client.mail("tom@tenant.example")
                client.rcpt("help@housedesk.localhost")
                return client.data(raw)
        except (ConnectionRefusedError, smtplib.SMTPServerDisconnected):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@pytest.mark.slow
@pytest.mark.usefixtures("initialised")
def test_kill_after_250_and_restart_yields_the_ticket_once(tmp_path: Path) -> None:
    assert (
        housedesk(
            tmp_path, "import", str(EXAMPLE_CONFIG.parent / "examples" / "directory.toml")
        ).returncode
        == 0
    )
    smtp_port = _free_port()
    env = _env(
        HOUSEDESK_EMAIL__SMTP_LISTEN=f"127.0.0.1:{smtp_port}",
        HOUSEDESK_HTTP__LISTEN=f"127.0.0.1:{_free_port()}",
        HOUSEDESK_EMAIL__OUTGOING__ENABLED="false",
    )
    msg = EmailMessage()
    msg["From"] = "Tom Tenant <tom@tenant.example>"
    msg["To"] = "help@housedesk.localhost"
    msg["Subject"] = "No hot water"
    msg["Message-ID"] = "<crash-1@tenant.example>"
    msg.set_content("There has been no hot water since this morning.")
    raw = msg.as_bytes().replace(b"\n", b"\r\n")

    service = _start(tmp_path, env)
    try:
        code, reply = _send(smtp_port, raw)
        assert code == 250, reply
        os.kill(service.pid, signal.SIGKILL)
        service.wait(timeout=10)
    finally:
        service.kill()

    service = _start(tmp_path, env)
    try:
        code, reply = _send(smtp_port, raw)  # a sender that never saw our 250 sends again
        assert code == 250 and b"#1" in reply
    finally:
        service.send_signal(signal.SIGINT)
        service.wait(timeout=30)
    assert service.returncode == 0

    listed = housedesk(tmp_path, "tickets", "list", "--json")
    tickets = json.loads(listed.stdout)
    assert [(t["ref"], t["title"], t["requester"]) for t in tickets] == [
        ("#1", "No hot water", "Tom Tenant")
    ]
    assert not list((tmp_path / "data" / "spool").glob("*.eml"))
