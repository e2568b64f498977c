"""An S3 API stand-in for tests: moto in server mode, in a process of its own on a free port.

moto (``moto[server]``, a dev dependency) answers the S3 REST API the way AWS documents it,
in memory; it stands in for AWS S3, MinIO or Ceph. Each test asks for a bucket of its own
(:meth:`S3StandIn.new_bucket`), so tests sharing the server never see each other's blobs.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest

from core.storage.blobs.s3 import S3Location

KEY_ID = "housedesk-test"
SECRET = "not-a-real-secret-0123456789"
_START_TIMEOUT = 30.0


@dataclass(frozen=True)
class S3StandIn:
    """The running stand-in."""

    url: str

    def new_bucket(self) -> str:
        """Create an empty bucket and return its name."""
        name = f"housedesk-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def location(self, bucket: str | None = None) -> S3Location:
        """Where a store finds a (new) bucket on the stand-in."""
        return S3Location(
            bucket=bucket or self.new_bucket(),
            endpoint_url=self.url,
            access_key_id=KEY_ID,
            secret_access_key=SECRET,
            addressing_style="path",
        )

    def client(self) -> object:
        """A plain boto3 client, for what a test checks behind the store's back."""
        return boto3.client(
            "s3",
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id=KEY_ID,
            aws_secret_access_key=SECRET,
        )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_listening(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline and process.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"moto did not start on port {port}:\n{log.read_text(errors='replace')}")


@pytest.fixture(scope="session")
def s3_standin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3StandIn]:
    """Start moto's S3 server for the session and stop it afterwards."""
    port = _free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_listening(port, process, log)
        yield S3StandIn(f"http://127.0.0.1:{port}")
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
