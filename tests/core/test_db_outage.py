"""`housedesk run` survives the database going away and resumes when it is back."""

from __future__ import annotations

import asyncio
from email.message import EmailMessage
from urllib.parse import urlsplit

import aiohttp
import aiosmtplib
import pytest

from core.messaging.delivery import Delivery, DeliveryReceipt
from core.messaging.message import OutgoingMessage
from core.messaging.outbox import enqueue
from core.messaging.routes import Route
from core.storage.db import close_db, open_db
from core.storage.models import OutboxMessage, OutboxStatus
from housedesk.bootstrap import bootstrap
from housedesk.run import serve
from housedesk.settings.config import Settings
from tests.cli.test_cli import _free_port
from tests.conftest import _pg_truncate
from tests.core import factories
from tests.core.tcp_proxy import TcpProxy

pytestmark = pytest.mark.postgres


def _mail() -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "tom@tenant.example"
    msg["To"] = "help@housedesk.localhost"
    msg["Subject"] = "Heating is off"
    msg["Message-ID"] = "<outage-1@tenant.example>"
    msg.set_content("No heating in flat 3.")
    return msg


async def _health(port: int) -> tuple[int, dict[str, object]]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}/healthz") as response,
    ):
        return response.status, await response.json()


async def _eventually(check, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            if await check():
                return
        except Exception:
            pass
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.2)


async def test_database_outage_degrades_then_recovers(db_url: str, tmp_path: object) -> None:
    await open_db(db_url)  # the database is shared by the PostgreSQL tests: start it empty
    await _pg_truncate()
    await close_db()
    target = urlsplit(db_url)
    proxy = TcpProxy(target.hostname or "127.0.0.1", target.port or 5432)
    await proxy.start()
    proxied = db_url.replace(f"{target.hostname}:{target.port}", f"127.0.0.1:{proxy.port}")
    http_port, smtp_port = _free_port(), _free_port()
    settings = Settings(
        database={"url": proxied},
        storage={"data_dir": f"{tmp_path}/data"},
        http={"listen": f"127.0.0.1:{http_port}"},
        outbox={"poll_interval_s": 0.1},
        email={"smtp_listen": f"127.0.0.1:{smtp_port}", "outgoing": {"enabled": False}},
    )
    app = bootstrap(settings)
    delivered: list[str] = []

    async def sender(delivery: Delivery) -> DeliveryReceipt:
        delivered.append(delivery.recipient)
        return DeliveryReceipt()

    app.outbox.register(Route.EMAIL, sender)
    ready, stop = asyncio.Event(), asyncio.Event()
    service = asyncio.create_task(serve(app, ready=ready, stop=stop))
    try:
        await asyncio.wait_for(ready.wait(), 20)
        assert (await _health(http_port))[0] == 200

        await proxy.cut()
        status, body = await _health(http_port)
        assert status == 503 and body["database"] == "down" and body["status"] == "degraded"
        await asyncio.sleep(0.5)  # the outbox worker keeps polling into the outage
        assert not service.done()
        with pytest.raises(aiosmtplib.SMTPDataError) as refused:
            await aiosmtplib.send(_mail(), hostname="127.0.0.1", port=smtp_port)
        assert refused.value.code == 451  # temporary: the sender keeps the mail and retries

        await proxy.start()

        async def healthy() -> bool:
            return (await _health(http_port))[0] == 200

        await _eventually(healthy)
        await enqueue(
            route=Route.EMAIL,
            recipient="back@x",
            message=OutgoingMessage(text="We are back"),
            key="after",
            now=app.clock.now(),
        )

        async def sent() -> bool:
            row = await OutboxMessage.get(idempotency_key="after")
            return row.status == OutboxStatus.SENT

        await _eventually(sent)
        assert delivered == ["back@x"]
        await factories.category("technical")
        accepted = await aiosmtplib.send(_mail(), hostname="127.0.0.1", port=smtp_port)
        assert "as ticket #1" in accepted[1]
    finally:
        stop.set()
        await asyncio.wait_for(service, 20)
        await proxy.cut()
