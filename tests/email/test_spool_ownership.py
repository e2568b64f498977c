"""One spool, one process: a second process pointed at the same directory is refused at
start with a clear error, and the first one's files are left alone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from housedesk.bootstrap import App, bootstrap
from housedesk.channels.email import start_email
from intake.email.spool import SpoolInUse, lock_spool, spooled_files, write_spool_file

HOLD_THE_SPOOL = """
import sys, time
from pathlib import Path
from intake.email.spool import lock_spool
lock_spool(Path(sys.argv[1]))
print("holding", flush=True)
time.sleep(60)
"""


async def test_a_second_process_on_the_same_data_dir_is_refused_and_changes_nothing(
    app: App,
) -> None:
    app.settings.email.smtp_listen = "127.0.0.1:0"
    first = await start_email(app)
    spool = app.settings.storage.data_dir / "spool"
    mail = write_spool_file(spool, b"Subject: being ingested by the first process\r\n\r\nx\r\n")
    half_written = spool / ".tmp-first-process-writing"
    half_written.write_bytes(b"Subject: half")
    try:
        second = bootstrap(app.settings, clock=app.clock)  # another process, same data_dir
        with pytest.raises(SpoolInUse) as refused:
            await start_email(second)
        assert str(refused.value).startswith(f"the mail spool {spool} is in use by another")
        assert "every process needs a [storage] data_dir of its own" in str(refused.value)
        assert spooled_files(spool) == [mail] and half_written.exists()
    finally:
        await first.stop()
    lock_spool(spool).release()  # stopped: the spool is free again


def test_the_holder_may_be_another_process_and_its_death_frees_the_spool(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_THE_SPOOL, str(spool)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "holding\n"
        with pytest.raises(SpoolInUse, match=f"pid {holder.pid} on "):
            lock_spool(spool)
    finally:
        holder.kill()
        holder.wait()
    lock_spool(spool).release()  # a killed process holds nothing
