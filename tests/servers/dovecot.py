"""A throwaway Dovecot IMAP server on 127.0.0.1 for tests (Debian package dovecot-imapd).

Everything lives in a temporary directory: config, passwd-file, Maildir, base_dir (sockets,
pid), state_dir and log. Dovecot refuses mail access as root, so the test user's mail is
owned by nobody:nogroup (65534). Skips when dovecot is missing or the tests do not run as
root, unless CI=true (then it fails).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

_UID = _GID = 65534  # nobody:nogroup
_START_TIMEOUT = 10.0

_CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
mailbox_idle_check_interval = 1 secs
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {root}/passwd
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""


@dataclass(frozen=True)
class DovecotServer:
    """How to reach the test server."""

    host: str
    port: int
    user: str
    password: str
    root: Path


def _dovecot_binary() -> str | None:
    return shutil.which("dovecot") or (
        "/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for_greeting(port: int, process: subprocess.Popen[bytes], root: Path) -> None:
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as connection:
                if connection.recv(64).startswith(b"* OK"):
                    return
        except OSError:
            time.sleep(0.05)
    log = root / "dovecot.log"
    details = log.read_text(errors="replace") if log.exists() else "(no log)"
    raise RuntimeError(f"dovecot did not start on port {port}:\n{details}")


@pytest.fixture(scope="session")
def dovecot() -> Iterator[DovecotServer]:
    """Start Dovecot with one user (``resident`` / ``secret``) and stop it afterwards."""
    binary = _dovecot_binary()
    problem = None
    if binary is None:
        problem = "dovecot is not installed (apt-get install dovecot-imapd)"
    elif os.geteuid() != 0:
        problem = "the dovecot fixture must run as root (Dovecot's privilege separation)"
    if problem is not None or binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail(problem or "dovecot unavailable")
        pytest.skip(problem or "dovecot unavailable")
    root = Path(tempfile.mkdtemp(prefix="housedesk-dovecot-"))
    root.chmod(0o755)  # the mail process runs as nobody and must reach its home
    try:
        home = root / "mail" / "resident"
        home.mkdir(parents=True)
        for directory in (root / "mail", home):
            os.chown(directory, _UID, _GID)
        (root / "passwd").write_text(f"resident:{{PLAIN}}secret:{_UID}:{_GID}::{home}::\n")
        port = _free_port()
        config = root / "dovecot.conf"
        config.write_text(_CONFIG.format(root=root, port=port))
        process = subprocess.Popen(
            [binary, "-F", "-c", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_for_greeting(port, process, root)
            yield DovecotServer("127.0.0.1", port, "resident", "secret", root)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    finally:
        shutil.rmtree(root, ignore_errors=True)
