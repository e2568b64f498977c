"""The drop folder a PBX writes voicemails into (Asterisk layout and generic sidecars)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from intake.outcome import Accepted, Deferred, Rejected
from intake.voicemail.folder import DropFolder
from intake.voicemail.item import voicemail_source_id
from tests.speech.audio import sample_bytes
from tests.speech.fake_ingest import RecordingIngest

ASTERISK_TXT = """;
; Message Information file
;
[message]
origmailbox=1001
context=default
macrocontext=
exten=s
rdnis=unknown
priority=2
callerchan=PJSIP/trunk-00000012
callerid="Kim Minji" <01012345678>
origdate=Wed Nov 25 09:14:02 AM KST 2026
origtime=1795565642
category=
msg_id=1795565642-00000003
flag=
duration=4
"""


def names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def write_asterisk_message(root: Path, stem: str = "msg0001") -> bytes:
    audio = sample_bytes("ko5_gsm.wav")
    (root / f"{stem}.wav").write_bytes(audio)
    (root / f"{stem}.txt").write_text(ASTERISK_TXT)
    return audio


async def test_asterisk_message_is_ingested_once_when_stable(tmp_path: Path) -> None:
    audio = write_asterisk_message(tmp_path)
    ingest = RecordingIngest(Accepted("HD-7"))
    folder = DropFolder(tmp_path, ingest)

    first = await folder.scan_once()  # seen for the first time: may still be written
    second = await folder.scan_once()
    third = await folder.scan_once()

    assert (first, third) == ([], [])
    assert [r.outcome for r in second] == [Accepted("HD-7")]
    [item] = ingest.items
    assert (item.caller, item.called) == ("01012345678", "1001")
    assert (item.filename, item.audio, item.source) == ("msg0001.wav", audio, "folder")
    assert item.source_id == voicemail_source_id(audio, "01012345678", "1001")
    prefix = item.source_id[:12]
    assert names(tmp_path / "processed") == [f"{prefix}-msg0001.txt", f"{prefix}-msg0001.wav"]
    assert names(tmp_path) == ["processed"]


async def test_done_marker_and_json_sidecar_are_taken_at_once(tmp_path: Path) -> None:
    (tmp_path / "vm-42.mp3").write_bytes(b"ID3 fake mp3")
    (tmp_path / "vm-42.json").write_text(json.dumps({"caller": "+4791234567", "called": 2200}))
    (tmp_path / "vm-42.done").write_text("")
    ingest = RecordingIngest()

    results = await DropFolder(tmp_path, ingest).scan_once()

    assert len(results) == 1
    [item] = ingest.items
    assert (item.caller, item.called, item.content_type) == ("+4791234567", "2200", "audio/mpeg")
    assert len(names(tmp_path / "processed")) == 3


async def test_file_still_growing_waits_until_its_size_settles(tmp_path: Path) -> None:
    recording = tmp_path / "msg0003.wav"
    recording.write_bytes(sample_bytes("ko1.wav")[:10_000])
    ingest = RecordingIngest()
    folder = DropFolder(tmp_path, ingest)

    await folder.scan_once()
    with recording.open("ab") as growing:
        growing.write(sample_bytes("ko1.wav")[10_000:])
    await folder.scan_once()
    assert ingest.items == []

    await folder.scan_once()

    assert [item.audio for item in ingest.items] == [sample_bytes("ko1.wav")]
    assert (ingest.items[0].caller, ingest.items[0].called) == (None, None)


async def test_each_message_in_a_scan_gets_its_own_numbers(tmp_path: Path) -> None:
    write_asterisk_message(tmp_path, "msg0001")
    (tmp_path / "msg0002.wav").write_bytes(sample_bytes("ko2.wav"))
    (tmp_path / "msg0002.txt").write_text("callerid=<0317778888>\norigmailbox=1002\n")
    ingest = RecordingIngest()
    folder = DropFolder(tmp_path, ingest)

    await folder.scan_once()
    await folder.scan_once()

    assert [(i.filename, i.caller, i.called) for i in ingest.items] == [
        ("msg0001.wav", "01012345678", "1001"),
        ("msg0002.wav", "0317778888", "1002"),
    ]


async def test_one_message_in_several_formats_is_ingested_once(tmp_path: Path) -> None:
    write_asterisk_message(tmp_path)
    (tmp_path / "msg0001.WAV").write_bytes(sample_bytes("ko5_gsm.wav"))
    (tmp_path / "msg0001.gsm").write_bytes(sample_bytes("ko5.gsm"))
    (tmp_path / "msg0001.done").write_text("")
    ingest = RecordingIngest()

    await DropFolder(tmp_path, ingest).scan_once()

    assert [item.filename for item in ingest.items] == ["msg0001.wav"]
    assert len(names(tmp_path / "processed")) == 5
    assert names(tmp_path) == ["processed"]


async def test_rejected_message_moves_to_failed_with_the_reason(tmp_path: Path) -> None:
    write_asterisk_message(tmp_path)
    (tmp_path / "msg0001.done").write_text("")
    ingest = RecordingIngest(Rejected("The audio file is corrupt."))

    await DropFolder(tmp_path, ingest).scan_once()

    failed = tmp_path / "failed"
    [reason_file] = failed.glob("*.reason.txt")
    assert reason_file.read_text() == "The audio file is corrupt.\n"
    assert len(names(failed)) == 4  # wav, txt, done and the reason
    assert names(tmp_path) == ["failed"]


async def test_deferred_message_stays_and_is_retried_next_scan(tmp_path: Path) -> None:
    write_asterisk_message(tmp_path)
    (tmp_path / "msg0001.done").write_text("")
    ingest = RecordingIngest(Deferred("database is restarting"), RuntimeError("boom"))
    folder = DropFolder(tmp_path, ingest)

    first = await folder.scan_once()
    second = await folder.scan_once()
    assert names(tmp_path) == ["msg0001.done", "msg0001.txt", "msg0001.wav"]
    third = await folder.scan_once()

    assert [r.outcome for r in first + second + third] == [
        Deferred("database is restarting"),
        Deferred("temporary failure while taking in the voicemail"),
        Accepted("T-3"),
    ]
    assert names(tmp_path) == ["processed"]


async def test_unparseable_json_sidecar_is_set_aside_without_ingesting(tmp_path: Path) -> None:
    (tmp_path / "vm-9.wav").write_bytes(sample_bytes("ko1.wav"))
    (tmp_path / "vm-9.json").write_text("{caller: 555")
    (tmp_path / "vm-9.done").write_text("")
    ingest = RecordingIngest()

    [result] = await DropFolder(tmp_path, ingest).scan_once()

    assert isinstance(result.outcome, Rejected)
    assert "unreadable sidecar" in result.outcome.reason
    assert ingest.items == []
    assert len(names(tmp_path / "failed")) == 4


async def test_json_sidecar_without_a_caller_gives_none(tmp_path: Path) -> None:
    (tmp_path / "vm-43.wav").write_bytes(sample_bytes("ko1.wav"))
    (tmp_path / "vm-43.json").write_text(json.dumps({"caller": None, "called": "2200"}))
    (tmp_path / "vm-43.done").write_text("")
    ingest = RecordingIngest()

    await DropFolder(tmp_path, ingest).scan_once()

    assert (ingest.items[0].caller, ingest.items[0].called) == (None, "2200")


async def test_unrelated_and_hidden_files_are_left_alone(tmp_path: Path) -> None:
    (tmp_path / "README.txt").write_text("drop voicemails here")
    (tmp_path / ".msg0009.wav.part").write_bytes(b"partial upload")
    ingest = RecordingIngest()
    folder = DropFolder(tmp_path, ingest)

    await folder.scan_once()
    await folder.scan_once()

    assert ingest.items == []
    assert names(tmp_path) == [".msg0009.wav.part", "README.txt"]


async def test_run_polls_until_stopped_and_survives_a_missing_folder(tmp_path: Path) -> None:
    root = tmp_path / "voicemail"  # not mounted yet
    ingest = RecordingIngest()
    folder = DropFolder(root, ingest, poll_interval_s=0.01)
    stop = asyncio.Event()
    task = asyncio.create_task(folder.run(stop))
    await asyncio.sleep(0.05)

    root.mkdir()
    write_asterisk_message(root)
    for _ in range(200):
        if ingest.items:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(task, timeout=1)

    assert [item.filename for item in ingest.items] == ["msg0001.wav"]
