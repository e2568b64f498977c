"""Translation catalogs: complete for English and Russian, placeholders intact, up to date."""

from __future__ import annotations

import re

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from core.i18n import LOCALE_DIR, gettext, normalize_language
from tests.conftest import REPO

COMPLETE = ("ru",)
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _catalog(language: str) -> dict[str, str]:
    with (LOCALE_DIR / f"{language}.po").open("rb") as fh:
        return {str(m.id): str(m.string) for m in read_po(fh) if m.id}


def test_catalog_matches_the_code() -> None:
    in_code = {
        str(message[2])
        for package in ("core", "bots", "intake", "housedesk", "presentation")
        if (REPO / package).is_dir()
        for message in extract_from_dir(
            REPO / package,
            method_map=[("**.py", "python")],
            keywords={"N_": None, "gettext": (2,)},
        )
    }
    with (LOCALE_DIR / "housedesk.pot").open("rb") as fh:
        in_template = {str(m.id) for m in read_po(fh) if m.id}
    assert in_code == in_template, "run `make i18n` and translate the new messages"


def test_complete_languages_translate_everything_with_the_same_placeholders() -> None:
    with (LOCALE_DIR / "housedesk.pot").open("rb") as fh:
        ids = [str(m.id) for m in read_po(fh) if m.id]
    for language in COMPLETE:
        catalog = _catalog(language)
        for msgid in ids:
            translated = catalog.get(msgid, "")
            assert translated, f"{language}: no translation for {msgid!r}"
            assert set(PLACEHOLDER.findall(translated)) == set(PLACEHOLDER.findall(msgid)), msgid


def test_gettext_falls_back_and_fills_placeholders() -> None:
    assert normalize_language("ru-RU") == "ru" and normalize_language("xx") == "en"
    assert gettext("ru", "Reply on your request {ref}:", ref="#7") == "Ответ по вашей заявке #7:"
    assert gettext("de", "Reply on your request {ref}:", ref="#7") == "Reply on your request #7:"
