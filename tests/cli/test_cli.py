"""The ``housedesk`` command as an operator uses it (real subprocesses, SQLite)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import REPO

EXAMPLE_CONFIG = REPO / "config.example.toml"
EXAMPLE_DIRECTORY = REPO / "examples" / "directory.toml"
CWD_DATA = {
    "HOUSEDESK_STORAGE__DATA_DIR": "data",
    "HOUSEDESK_DATABASE__URL": "sqlite://data/housedesk.sqlite3",
}
"""The example config's data under the working directory (the test's own folder): paths
in variables are relative to it, those in the file to the file's folder."""


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOUSEDESK_")}
    env["PYTHONPATH"] = str(REPO)
    env["HOUSEDESK_EMAIL__SMTP_LISTEN"] = f"127.0.0.1:{_free_port()}"
    env.update(CWD_DATA)
    env.update(extra)
    return env


def housedesk(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the CLI in ``cwd`` with the example config."""
    return subprocess.run(
        [sys.executable, "-m", "housedesk.cli", "--config", str(EXAMPLE_CONFIG), *args],
        cwd=cwd,
        env=_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def initialised(tmp_path: Path, db_template: str) -> None:
    """The database ``housedesk init`` makes, in ``tmp_path``: a copy of the session's migrated
    template (a migration less per test; the test just below runs ``init`` itself)."""
    (tmp_path / "data").mkdir()
    shutil.copy(db_template, tmp_path / "data" / "housedesk.sqlite3")


def test_fresh_database_lists_no_tickets(tmp_path: Path) -> None:
    assert housedesk(tmp_path, "init").returncode == 0
    result = housedesk(tmp_path, "tickets", "list", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


@pytest.mark.usefixtures("initialised")
def test_dispatcher_story_through_the_cli(tmp_path: Path) -> None:
    assert housedesk(tmp_path, "import", str(EXAMPLE_DIRECTORY)).returncode == 0
    again = housedesk(tmp_path, "import", str(EXAMPLE_DIRECTORY))
    assert "0 created, 0 updated" in again.stdout
    new = housedesk(
        tmp_path,
        "tickets",
        "new",
        "--building",
        "OAK",
        "--unit",
        "12",
        "--category",
        "emergency",
        "--title",
        "Water through the ceiling",
        "--requester",
        "tom@tenant.example",
        "--json",
    )
    assert new.returncode == 0, new.stderr
    ticket = json.loads(new.stdout)
    assert (ticket["ref"], ticket["status"], ticket["requester"]) == ("#1", "new", "Tom Tenant")
    assert housedesk(tmp_path, "tickets", "assign", "#1", "bob@oakcourt.example").returncode == 0
    assert housedesk(tmp_path, "tickets", "note", "1", "valve is old").returncode == 0
    assert housedesk(tmp_path, "tickets", "reply", "1", "A plumber is on the way").returncode == 0
    bad = housedesk(tmp_path, "tickets", "status", "1", "closed")
    assert bad.returncode == 1
    assert bad.stderr.strip() == (
        "housedesk: cannot change status from new to closed (allowed: done, in_progress, "
        "on_hold, rejected)"
    )
    assert housedesk(tmp_path, "tickets", "status", "1", "in progress").returncode == 0

    shown = json.loads(housedesk(tmp_path, "tickets", "show", "#1", "--json").stdout)
    assert shown["status"] == "in_progress" and shown["assignee"] == "Bob Plumber"
    events = [(e["type"], e["public"], e["text"]) for e in shown["events"]]
    assert events[0][0] == "created"
    assert ("internal_note", False, "valve is old") in events
    assert ("public_reply", True, "A plumber is on the way") in events
    assert set(shown) >= {
        "ref",
        "title",
        "status",
        "category",
        "building",
        "unit",
        "channel",
        "requester",
        "assignee",
        "created_at",
        "due_at",
        "description",
        "attachments",
        "events",
    }

    outbox = json.loads(housedesk(tmp_path, "outbox", "list", "--json").stdout)
    to_tom = [row for row in outbox if row["recipient"] == "tom@tenant.example"]
    assert len(to_tom) == 3  # acknowledgement, public reply, status change; never the note
    assert housedesk(tmp_path, "outbox", "list", "--failed", "--json").stdout.strip() == "[]"


def test_unknown_config_key_exits_2_naming_it(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[database]\nurl = "sqlite://x.db"\nurll = "oops"\n')
    result = subprocess.run(
        [sys.executable, "-m", "housedesk.cli", "--config", str(config), "tickets", "list"],
        cwd=tmp_path,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert (
        result.stderr.strip() == "housedesk: config error: unknown configuration key: database.urll"
    )


@pytest.mark.usefixtures("initialised")
def test_bad_env_value_exits_2_and_unknown_env_is_warned(tmp_path: Path) -> None:
    bad = housedesk(tmp_path, "tickets", "list", HOUSEDESK_OUTBOX__MAX_ATTEMPTS="many")
    assert bad.returncode == 2 and "outbox.max_attempts" in bad.stderr
    warned = housedesk(tmp_path, "tickets", "list", HOUSEDESK_DATABSE__URL="sqlite://typo.db")
    assert warned.returncode == 0
    assert "environment variable HOUSEDESK_DATABSE__URL names no config key" in warned.stderr


def test_unreachable_database_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    result = housedesk(
        tmp_path,
        "tickets",
        "list",
        HOUSEDESK_DATABASE__URL="postgres://nobody@127.0.0.1:9/housedesk",
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("housedesk: cannot reach the database")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> dict[str, object]:
    with urllib.request.urlopen(url, timeout=2) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


@pytest.mark.slow
@pytest.mark.usefixtures("initialised")
def test_run_serves_healthz_and_stops_on_sigint(tmp_path: Path) -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "housedesk.cli", "--config", str(EXAMPLE_CONFIG), "run"],
        cwd=tmp_path,
        env=_env(HOUSEDESK_HTTP__LISTEN=f"127.0.0.1:{port}"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        health: dict[str, object] = {}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                health = _get(f"http://127.0.0.1:{port}/healthz")
                break
            except OSError:
                time.sleep(0.1)
        assert health.get("status") == "ok" and health.get("database") == "up"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "http: listening on" in err and "outbox: lanes started" in err and "stopped" in err
    assert "email: SMTP intake on 127.0.0.1:" in err


def test_run_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    result = housedesk(tmp_path, "run", HOUSEDESK_HTTP__LISTEN=f"127.0.0.1:{_free_port()}")
    assert result.returncode == 1
    assert "run `housedesk init` first" in result.stderr
