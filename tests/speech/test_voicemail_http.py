"""``POST /api/voicemail`` on a real aiohttp server bound to 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
from aiohttp import web

from intake.outcome import Accepted, Deferred, Outcome, Rejected
from intake.speech.transcriber import Transcriber
from intake.voicemail.http import voicemail_routes
from intake.voicemail.item import VoicemailIngest, VoicemailItem, voicemail_source_id
from tests.speech.audio import sample_bytes
from tests.speech.fake_ingest import RecordingIngest

TOKEN = "s3cret-pbx-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
MAX_BYTES = 64 * 1024

Serve = Callable[[VoicemailIngest], Awaitable[str]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """Start the voicemail endpoint for an ingest callback; yields its URL."""
    runners: list[web.AppRunner] = []

    async def start(ingest: VoicemailIngest) -> str:
        app = web.Application()
        app.add_routes(voicemail_routes(ingest, TOKEN, MAX_BYTES, retry_after_s=120))
        runner = web.AppRunner(app)
        await runner.setup()
        runners.append(runner)
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        return f"http://{host}:{port}/api/voicemail"

    yield start
    for runner in runners:
        await runner.cleanup()


def voicemail_form(
    audio: bytes | None = b"", caller: str | None = None, called: str | None = None
) -> aiohttp.FormData:
    form = aiohttp.FormData(default_to_multipart=True)
    if audio is not None:
        form.add_field("audio", audio, filename="msg0001.gsm", content_type="audio/x-gsm")
    if caller is not None:
        form.add_field("caller", caller)
    if called is not None:
        form.add_field("called", called)
    return form


async def post(
    url: str, data: object, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, object], dict[str, str]]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=data, headers=headers) as response,
    ):
        return response.status, await response.json(), dict(response.headers)


async def test_upload_is_ingested_once_and_answered_with_the_ticket(serve: Serve) -> None:
    ingest = RecordingIngest(Accepted("HD-1042"))
    url = await serve(ingest)
    audio = sample_bytes("ko5.gsm")

    status, body, _ = await post(url, voicemail_form(audio, "+82 10 1234 5678", "1001"), AUTH)

    assert (status, body) == (202, {"ticket": "HD-1042"})
    assert ingest.items == [
        VoicemailItem(
            audio=audio,
            filename="msg0001.gsm",
            content_type="audio/x-gsm",
            caller="+82 10 1234 5678",
            called="1001",
            source="http",
            source_id=voicemail_source_id(audio, "+82 10 1234 5678", "1001"),
        )
    ]


async def test_missing_numbers_are_passed_as_none(serve: Serve) -> None:
    ingest = RecordingIngest()
    url = await serve(ingest)
    lower_case_scheme = {"Authorization": f"bearer {TOKEN}"}

    status, _, _ = await post(url, voicemail_form(sample_bytes("ko5.gsm")), lower_case_scheme)

    assert status == 202
    assert (ingest.items[0].caller, ingest.items[0].called) == (None, None)


@pytest.mark.parametrize(
    "headers",
    [
        None,
        {"Authorization": "Bearer wrong"},
        {"Authorization": TOKEN},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": "Bearer "},
    ],
    ids=["no-header", "wrong-token", "no-scheme", "basic-scheme", "empty-token"],
)
async def test_requests_without_the_token_are_refused(
    serve: Serve, headers: dict[str, str] | None
) -> None:
    ingest = RecordingIngest()
    url = await serve(ingest)

    status, body, response_headers = await post(url, voicemail_form(b"RIFF"), headers)

    assert status == 401
    assert "token" in str(body["error"])
    assert response_headers["WWW-Authenticate"] == "Bearer"
    assert ingest.items == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (voicemail_form(None, "555", "1001"), "'audio' file part is missing"),
        (voicemail_form(b"", "555", "1001"), "'audio' file part is missing or empty"),
        ({"note": "no file here"}, "expected multipart/form-data"),
    ],
    ids=["no-audio-part", "empty-audio", "urlencoded"],
)
async def test_malformed_uploads_get_a_json_400(serve: Serve, data: object, message: str) -> None:
    ingest = RecordingIngest()
    url = await serve(ingest)

    status, body, _ = await post(url, data, AUTH)

    assert status == 400
    assert message in str(body["error"])
    assert ingest.items == []


async def test_unknown_form_fields_are_ignored(serve: Serve) -> None:
    ingest = RecordingIngest()
    url = await serve(ingest)
    form = voicemail_form(sample_bytes("ko5.gsm"), "555", "1001")
    form.add_field("duration", "4")

    status, _, _ = await post(url, form, AUTH)

    assert status == 202
    assert (ingest.items[0].caller, ingest.items[0].called) == ("555", "1001")


async def test_two_audio_parts_are_refused(serve: Serve) -> None:
    ingest = RecordingIngest()
    url = await serve(ingest)
    form = voicemail_form(b"RIFF first")
    form.add_field("audio", b"RIFF second", filename="b.wav")

    status, body, _ = await post(url, form, AUTH)

    assert (status, body) == (400, {"error": "send exactly one 'audio' part"})
    assert ingest.items == []


async def test_nested_multipart_is_refused(serve: Serve) -> None:
    url = await serve(RecordingIngest())
    with aiohttp.MultipartWriter("form-data") as outer:
        inner = aiohttp.MultipartWriter("mixed")
        inner.append(b"RIFF")
        outer.append(inner).set_content_disposition("form-data", name="audio")

    status, body, _ = await post(url, outer, AUTH)

    assert (status, body) == (400, {"error": "nested multipart bodies are not accepted"})


async def test_broken_multipart_framing_is_a_400(serve: Serve) -> None:
    url = await serve(RecordingIngest())
    headers = {**AUTH, "Content-Type": "multipart/form-data; boundary=xyz"}

    status, body, _ = await post(url, b"this body has no boundary at all", headers)

    assert status == 400
    assert "malformed multipart body" in str(body["error"])


@pytest.mark.parametrize("size", [MAX_BYTES + 1, 2 * MAX_BYTES], ids=["just-over", "far-over"])
async def test_oversized_upload_is_refused_with_413(serve: Serve, size: int) -> None:
    ingest = RecordingIngest()
    url = await serve(ingest)

    status, body, _ = await post(url, voicemail_form(bytes(size)), AUTH)

    assert status == 413
    assert str(MAX_BYTES) in str(body["error"])
    assert ingest.items == []


async def test_oversized_streamed_upload_is_refused_with_413(serve: Serve) -> None:
    ingest = RecordingIngest()
    url = await serve(ingest)

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(MAX_BYTES // 4096 + 2):
            yield bytes(4096)

    form = aiohttp.FormData()
    form.add_field("audio", chunks(), filename="long.wav", content_type="audio/wav")
    status, _, _ = await post(url, form, AUTH)  # chunked: no Content-Length up front

    assert status == 413
    assert ingest.items == []


@pytest.mark.parametrize(
    ("outcome", "status", "body"),
    [
        (Rejected("no building answers on 1001"), 422, {"error": "no building answers on 1001"}),
        (Deferred("database is restarting"), 503, {"error": "database is restarting"}),
        (RuntimeError("boom"), 503, {"error": "temporary failure while taking in the voicemail"}),
    ],
    ids=["rejected", "deferred", "ingest-crashed"],
)
async def test_outcomes_map_to_status_codes(
    serve: Serve, outcome: Outcome | Exception, status: int, body: dict[str, str]
) -> None:
    url = await serve(RecordingIngest(outcome))

    got_status, got_body, headers = await post(url, voicemail_form(b"RIFF...."), AUTH)

    assert (got_status, got_body) == (status, body)
    if status == 503:
        assert headers["Retry-After"] == "120"


def test_an_empty_token_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="bearer token"):
        voicemail_routes(RecordingIngest(), "", MAX_BYTES)


async def test_uploaded_voicemail_reaches_a_transcript(
    serve: Serve, transcriber: Transcriber
) -> None:
    transcripts = []

    async def transcribe_and_file(item: VoicemailItem) -> Outcome:
        transcript = await transcriber.transcribe(item.audio, "ko", item.filename)
        transcripts.append(transcript)
        return Accepted(f"HD-{item.called}")

    url = await serve(transcribe_and_file)
    status, body, _ = await post(url, voicemail_form(sample_bytes("ko5.gsm"), "555", "1001"), AUTH)

    assert (status, body) == (202, {"ticket": "HD-1001"})
    assert len(transcripts) == 1
    assert transcripts[0].text
    assert transcripts[0].duration_s == pytest.approx(3.84, abs=0.05)
