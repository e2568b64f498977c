"""``housedesk speech …``, ``housedesk transcribe`` and ``housedesk ingest voicemail``."""

from __future__ import annotations

import argparse
import asyncio
import mimetypes
from pathlib import Path

from housedesk.bootstrap import App
from intake.outcome import Accepted, Deferred
from intake.speech.decode import AudioDecodeError
from intake.speech.models import NoModelForLanguage, find_model, installed_models
from intake.speech.transcriber import transcribe_file
from intake.voicemail.item import VoicemailItem, voicemail_source_id
from speech_models import ModelFetchError, fetch_model, list_models

EX_TEMPFAIL = 75
"""sysexits(3): a temporary failure, try again later (as mail gateways use it)."""


def _models_dir(app: App) -> Path:
    return app.settings.speech.models_dir or app.settings.storage.speech_models_dir


def _language(app: App, asked: str | None) -> str:
    """The language asked for, else the configured default's, else the only one installed."""
    if asked:
        return asked
    default = app.settings.speech.default_language or app.settings.service.default_language
    try:
        find_model(default, _models_dir(app))
        return default
    except NoModelForLanguage:
        languages = sorted({m.language for m in installed_models(_models_dir(app))})
        if len(languages) == 1:
            return languages[0]
        raise


async def cmd_speech_fetch(app: App, args: argparse.Namespace) -> int:
    """Download, verify and install a Vosk model."""
    try:
        result = await asyncio.to_thread(
            fetch_model, args.lang, _models_dir(app), allow_unverified=args.insecure_skip_verify
        )
    except ModelFetchError as exc:
        print(f"housedesk: {exc}")
        return 1
    print(f"installed {result.model.name} for {result.model.language} at {result.model.path}")
    print(f"archive sha256 {result.archive_sha256}")
    return 0


async def cmd_speech_list(app: App, args: argparse.Namespace) -> int:
    """Show installed models and what the manifest offers."""
    for row in list_models(_models_dir(app)):
        print(row.line())
    return 0


async def cmd_transcribe(app: App, args: argparse.Namespace) -> int:
    """Print the text of one recording and its confidence."""
    try:
        transcript = await transcribe_file(
            Path(args.file), _language(app, args.lang), models_dir=_models_dir(app)
        )
    except (NoModelForLanguage, AudioDecodeError, FileNotFoundError) as exc:
        print(f"housedesk: {exc}")
        return 1
    print(transcript.text)
    print(
        f"confidence {transcript.confidence:.2f}, {transcript.duration_s:.1f} s, "
        f"model {transcript.model} ({transcript.language})"
    )
    return 0


async def cmd_ingest_voicemail(app: App, args: argparse.Namespace) -> int:
    """File one recording as a voicemail ticket."""
    path = Path(args.file)
    audio = await asyncio.to_thread(path.read_bytes)
    outcome = await app.voicemail(
        VoicemailItem(
            audio=audio,
            filename=path.name,
            content_type=mimetypes.guess_type(path.name)[0],
            caller=args.caller,
            called=args.called,
            source="cli",
            source_id=voicemail_source_id(audio, args.caller, args.called),
        )
    )
    if isinstance(outcome, Accepted):
        print(f"filed as {outcome.ticket_ref}" + (f" ({outcome.note})" if outcome.note else ""))
        return 0
    print(f"housedesk: {outcome.reason}")
    return EX_TEMPFAIL if isinstance(outcome, Deferred) else 1


def add_speech_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the speech and voicemail commands to the ``housedesk`` parser."""
    speech = sub.add_parser("speech", help="offline speech models").add_subparsers(
        dest="speech_command", required=True
    )
    p = speech.add_parser("fetch", help="download, verify and install a model")
    p.add_argument("lang")
    p.add_argument(
        "--insecure-skip-verify",
        action="store_true",
        help="install a model whose sha256 the manifest does not pin",
    )
    p.set_defaults(func=cmd_speech_fetch, needs_db=False)
    p = speech.add_parser("list", help="installed models and what can be fetched")
    p.set_defaults(func=cmd_speech_list, needs_db=False)

    p = sub.add_parser("transcribe", help="print the text of a recording")
    p.add_argument("file")
    p.add_argument("--lang")
    p.set_defaults(func=cmd_transcribe, needs_db=False)

    ingest = sub.add_parser("ingest", help="file input by hand").add_subparsers(
        dest="ingest_command", required=True
    )
    p = ingest.add_parser("voicemail", help="file a recording as a voicemail ticket")
    p.add_argument("file")
    p.add_argument("--caller")
    p.add_argument("--called")
    p.set_defaults(func=cmd_ingest_voicemail)
