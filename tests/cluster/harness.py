"""What the multi-process tests run around housedesk: its processes, a round-robin proxy in
front of their webhooks, a tap per process on its Bot API calls, and a directory."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import re
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import aiohttp
from aiohttp import web

from core.storage.db import close_db, open_db
from presentation.directory_file import import_directory_file
from tests.bots.support import eventually
from tests.conftest import REPO, _pg_admin, _pg_url, pg_empty_copy

EXAMPLE_CONFIG = REPO / "config.example.toml"
_FIELD = re.compile(rb'name="(\w+)"\r\n(?:[^\r\n]+\r\n)*\r\n([^\r]*)\r\n')


async def until(check: Any, what: str, timeout: float = 90.0) -> Any:
    """:func:`~tests.bots.support.eventually` at the pace of processes: every 0.2 s, for up
    to ``timeout`` seconds."""
    return await eventually(check, timeout=timeout, what=what, interval=0.2)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _serve(
    app: web.Application, *, end_with_client: bool = False
) -> tuple[web.AppRunner, str]:
    """Serve ``app`` on a free port; with ``end_with_client`` a request whose client went
    away is cancelled (so what it forwards upstream ends too)."""
    runner = web.AppRunner(app, access_log=None, handler_cancellation=end_with_client)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}"


class RoundRobin:
    """Forwards each webhook request to the next process; one that does not answer is
    skipped (as a load balancer's health check would), none answering is a 502."""

    def __init__(self, backends: list[str]) -> None:
        self.backends = backends
        self._turn = itertools.cycle(range(len(backends)))
        self._session: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner, self.url = await _serve(app)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._session is not None
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host",)}
        for _ in self.backends:
            target = self.backends[next(self._turn)] + request.path_qs
            try:
                async with self._session.request(
                    request.method, target, data=body, headers=headers
                ) as answer:
                    return web.Response(status=answer.status, body=await answer.read())
            except aiohttp.ClientError:
                continue
        return web.Response(status=502)


@dataclass
class Call:
    """A Bot API call one process made."""

    method: str
    params: dict[str, str]
    status: int


@dataclass
class BotApiTap:
    """Stands between one process and the Bot API stand-in and writes down its calls. A
    process that dies ends its calls upstream too (its long poll does not linger on)."""

    upstream: str
    calls: list[Call] = field(default_factory=list)
    url: str = ""
    _runner: web.AppRunner | None = None
    _session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner, self.url = await _serve(app, end_with_client=True)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    def made(self, method: str, **params: str) -> list[Call]:
        """The calls of ``method`` whose parameters include ``params``, answered 200."""
        return [
            c
            for c in self.calls
            if c.method.lower() == method.lower()
            and c.status == 200
            and all(c.params.get(k) == v for k, v in params.items())
        ]

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._session is not None
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() in ("content-type",)}
        async with self._session.request(
            request.method, self.upstream + request.path_qs, data=body, headers=headers
        ) as answer:
            data = await answer.read()
            kind = answer.headers.get("Content-Type", "application/octet-stream")
            status = answer.status
        method = request.path.rsplit("/", 1)[-1]
        if request.path.startswith("/bot"):
            self.calls.append(Call(method, _params(request.content_type, body), status))
        return web.Response(status=status, body=data, headers={"Content-Type": kind})


def _params(content_type: str, body: bytes) -> dict[str, str]:
    """The scalar parameters of a Bot API call, whatever its encoding."""
    if content_type == "application/json":
        return {k: str(v) for k, v in json.loads(body or b"{}").items()}
    if content_type == "application/x-www-form-urlencoded":
        return {k: v[0] for k, v in parse_qs(body.decode()).items()}
    return {m[1].decode(): m[2].decode(errors="replace") for m in _FIELD.finditer(body)}


@dataclass
class Node:
    """One ``housedesk run`` process: its own data directory, SMTP port, HTTP port, tap."""

    name: str
    root: Path
    env: dict[str, str]
    smtp_port: int
    http_port: int
    tap: BotApiTap
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0

    def start(self) -> None:
        log = (self.root / f"run-{self.restarts}.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "housedesk.cli", "--config", str(EXAMPLE_CONFIG), "run"],
            cwd=self.root,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.restarts += 1

    async def kill(self) -> None:
        """SIGKILL, as a crash or the OOM killer would."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await asyncio.to_thread(self.process.wait, 10)

    async def stop(self) -> int:
        """SIGTERM and the exit status. The wait leaves this event loop free: the Bot API
        stand-in and the taps in it still answer the process while it stops."""
        if self.process is None or self.process.poll() is not None:
            return 0 if self.process is None else self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        try:
            return await asyncio.to_thread(self.process.wait, 90)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return -9

    async def healthz(self, session: aiohttp.ClientSession) -> dict[str, object] | None:
        with contextlib.suppress(aiohttp.ClientError, asyncio.TimeoutError):
            async with session.get(f"http://127.0.0.1:{self.http_port}/healthz") as answer:
                return dict(await answer.json())
        return None

    def log(self) -> str:
        return "\n".join(
            p.read_text(errors="replace")[-3000:] for p in sorted(self.root.glob("run-*.log"))
        )


def base_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOUSEDESK_")}
    env["PYTHONPATH"] = str(REPO)
    env.update(extra)
    return env


async def run_cli(root: Path, env: dict[str, str], *args: str) -> str:
    """Run a ``housedesk`` command; its output (raises when it fails)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "housedesk.cli",
        "--config",
        str(EXAMPLE_CONFIG),
        *args,
        cwd=root,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await process.communicate()
    text = out.decode(errors="replace")
    if process.returncode != 0:
        raise AssertionError(f"housedesk {' '.join(args)} failed:\n{text}")
    return text


@contextlib.contextmanager
def directory_database(prefix: str, template: str, directory_file: Path) -> Iterator[str]:
    """A PostgreSQL database copied empty from ``template`` with ``directory_file``
    imported (run outside an event loop, as fixtures of any scope are); its name. Dropped
    afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"

    async def prepare() -> None:
        await pg_empty_copy(name, template)
        await open_db(_pg_url(name))
        try:
            await import_directory_file(directory_file)
        finally:
            await close_db()

    asyncio.run(prepare())
    try:
        yield name
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def directory(residents: int, technicians: int, first_chat: int) -> str:
    """One building open day and night, its technicians always on shift, a manager, and
    ``residents`` residents with a chat each (ids from ``first_chat``)."""
    lines = [
        "[[categories]]",
        'code = "technical"',
        'names = { en = "Technical problem" }',
        "priority = 3",
        "response_minutes = 240",
        "resolution_minutes = 1620",
        'trade = "general"',
        "",
        "[[buildings]]",
        'code = "OAK"',
        'name = "Oak Court"',
        'timezone = "Europe/London"',
        'language = "en"',
        f'units = ["1-{residents}"]',
        "",
        "[[staff]]",
        'name = "Alice Manager"',
        'role = "manager"',
        'email = "alice@oakcourt.example"',
        "telegram_id = 100001",
        'buildings = ["*"]',
    ]
    for n in range(technicians):
        lines += [
            "",
            "[[staff]]",
            f'name = "Tech {n}"',
            'role = "technician"',
            f"telegram_id = {200000 + n}",
            'buildings = ["OAK"]',
            'trades = ["general"]',
        ]
    for n in range(residents):
        lines += [
            "",
            "[[residents]]",
            f'name = "Resident {n}"',
            'building = "OAK"',
            f'units = ["{n + 1}"]',
            f"telegram_id = {first_chat + n}",
        ]
    return "\n".join(lines) + "\n"


@contextlib.asynccontextmanager
async def started(*parts: RoundRobin | BotApiTap) -> AsyncIterator[None]:
    for part in parts:
        await part.start()
    try:
        yield
    finally:
        for part in parts:
            await part.stop()
