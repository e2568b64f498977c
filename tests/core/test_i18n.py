"""Translation catalogs: every language complete, placeholders and plural forms intact,
the template up to date with the code."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from core.i18n import LOCALE_DIR, gettext, ngettext, normalize_language
from core.storage.models import Channel, EventType, Status
from core.tickets.timeline import SAYINGS, Saying
from core.tickets.workflow import STATUS_NAMES
from presentation.reports.text import CHANNEL_NAMES
from presentation.timeline import KIND_NAMES, SYSTEM_ACTORS, actor_name
from tests.conftest import REPO

LANGUAGES = {"ru": 3, "pl": 3, "no": 2, "zh": 1}
"""Every catalog that must be complete, with its number of plural forms."""
KEYWORDS = {"N_": None, "gettext": (2,), "ngettext": (2, 3), "_": None, "plural": (1, 2)}
"""The extraction keywords, as in the Makefile's ``i18n`` target (``_`` and ``plural`` are
the desk's templates' names for gettext and ngettext)."""
METHODS = [("**.py", "python"), ("templates/**.html", "jinja2")]
"""Python modules, and the desk's Jinja2 templates (as in ``babel.cfg``)."""
PLACEHOLDER = re.compile(r"\{(\w+)\}")

MessageId = str | tuple[str, ...]


def _msgid(raw: object) -> MessageId:
    return tuple(str(part) for part in raw) if isinstance(raw, (tuple, list)) else str(raw)


def _placeholders(texts: MessageId) -> set[str]:
    parts = (texts,) if isinstance(texts, str) else texts
    return {name for text in parts for name in PLACEHOLDER.findall(text)}


def _template() -> list[MessageId]:
    with (LOCALE_DIR / "housedesk.pot").open("rb") as fh:
        return [_msgid(m.id) for m in read_po(fh) if m.id]


def _plural_form_counts(text: str) -> dict[MessageId, int]:
    """How many ``msgstr[i]`` each plural entry of a ``.po`` text has, as written (Babel's
    reader pads missing forms and drops extra ones)."""
    counts: dict[MessageId, int] = {}
    for block in re.split(r"\n\s*\n", text):
        if "\nmsgid_plural " not in "\n" + block:
            continue
        lines = [line for line in block.splitlines() if not line.startswith("#")]
        parts: dict[str, list[str]] = {}
        key = ""
        for line in lines:
            head, _, rest = line.partition(" ")
            if head in ("msgid", "msgid_plural") or head.startswith("msgstr["):
                key, line = head, rest
            parts.setdefault(key, []).append(ast.literal_eval(line.strip()))
        msgid = ("".join(parts["msgid"]), "".join(parts["msgid_plural"]))
        counts[msgid] = sum(1 for key in parts if key.startswith("msgstr["))
    return counts


def catalog_problems(path: Path, template: list[MessageId], plurals: int) -> list[str]:
    """Everything a reader of ``path`` would miss: messages absent, empty or fuzzy,
    placeholders unlike the English, plural entries with the wrong number of forms."""
    with path.open("rb") as fh:
        catalog = read_po(fh)
    written = _plural_form_counts(path.read_text(encoding="utf-8"))
    problems: list[str] = []
    if catalog.num_plurals != plurals:
        problems.append(f"Plural-Forms has {catalog.num_plurals} forms, not {plurals}")
    messages = {_msgid(m.id): m for m in catalog if m.id}
    for msgid in template:
        message = messages.get(msgid)
        if message is None:
            problems.append(f"missing {msgid!r}")
            continue
        raw = message.string
        forms = tuple(raw) if isinstance(raw, (tuple, list)) else (raw or "",)
        if message.fuzzy:
            problems.append(f"fuzzy {msgid!r}")
        if isinstance(msgid, tuple) and written.get(msgid) != plurals:
            problems.append(f"{written.get(msgid)} plural forms for {msgid!r}")
        for form in forms:
            if not form:
                problems.append(f"empty {msgid!r}")
            elif _placeholders(str(form)) != _placeholders(msgid):
                problems.append(f"placeholders of {form!r} differ from {msgid!r}")
    return problems


def test_catalog_matches_the_code() -> None:
    in_code = {
        _msgid(message[2])
        for package in ("core", "bots", "intake", "housedesk", "presentation", "desk")
        if (REPO / package).is_dir()
        for message in extract_from_dir(REPO / package, method_map=METHODS, keywords=KEYWORDS)
    }
    assert in_code == set(_template()), "run `make i18n` and translate the new messages"


MESSAGE_ARGUMENTS = {"N_": (0,), "gettext": (1,), "ngettext": (1, 2)}
"""Where each translating function takes its message(s)."""


def built_messages(source: str) -> list[int]:
    """Lines where a message is built at run time (an f-string, ``+``, ``%`` or
    ``.format``) before it is translated: the catalog can never hold it, so it stays English."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
        for index in MESSAGE_ARGUMENTS.get(str(name), ()):
            argument = node.args[index] if index < len(node.args) else None
            built = isinstance(argument, ast.JoinedStr | ast.BinOp) or (
                isinstance(argument, ast.Call) and getattr(argument.func, "attr", None) == "format"
            )
            if built:
                lines.append(node.lineno)
    return lines


def test_no_message_is_built_before_it_is_translated() -> None:
    found = [
        f"{path.relative_to(REPO)}:{line}"
        for package in ("core", "bots", "intake", "housedesk", "presentation", "desk")
        for path in sorted((REPO / package).rglob("*.py"))
        for line in built_messages(path.read_text(encoding="utf-8"))
    ]
    assert found == [], "translate a fixed message with placeholders instead:\n" + "\n".join(found)


def test_built_messages_are_found() -> None:
    source = (
        'gettext(lang, f"Hello {name}")\n'
        'gettext(lang, "Hello {name}", name=name)\n'
        'ngettext(lang, "{n} day", "{n} days" + "!", n)\n'
        'N_("Bye %s" % name)\n'
        'i18n.gettext(lang, "Hi {x}".format(x=1))\n'
        "gettext(lang, message)\n"
    )
    assert built_messages(source) == [1, 3, 4, 5]


def test_every_value_people_read_has_a_name_to_translate() -> None:
    """A new status, channel, timeline kind or system actor is never shown as its raw code."""
    assert set(STATUS_NAMES) == set(Status)
    assert set(CHANNEL_NAMES) == set(Channel)
    assert set(KIND_NAMES) == set(EventType)
    code = _sources("core", "intake", "housedesk")
    called = set(re.findall(r'Actor(?:\.system\(|\(label=)f?"([a-z][a-z ]*)', code))
    assert "voicemail" in called and "rating link" in called  # the pattern finds them
    assert called <= set(SYSTEM_ACTORS), called - set(SYSTEM_ACTORS)
    assert actor_name("voicemail:folder", "ru") == "Голосовая почта"
    assert actor_name("Anna Petrova", "ru") == "Anna Petrova"
    for language in LANGUAGES:
        for code in SAYINGS:  # each code's words render (placeholders filled) in every language
            params = dict.fromkeys(_placeholders(SAYINGS[code]), "x")
            assert Saying(code, params).render(language) != SAYINGS[code].format(**params), code


def _sources(*packages: str) -> str:
    return "\n".join(
        path.read_text(encoding="utf-8")
        for package in packages
        for path in sorted((REPO / package).rglob("*.py"))
    )


def test_makefile_extracts_with_the_same_keywords() -> None:
    makefile = (REPO / "Makefile").read_text()
    assert "-k N_ -k gettext:2 -k ngettext:2,3 -k _ -k plural:1,2" in makefile


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_every_catalog_translates_every_message(language: str) -> None:
    problems = catalog_problems(LOCALE_DIR / f"{language}.po", _template(), LANGUAGES[language])
    assert problems == [], f"{language}.po:\n" + "\n".join(problems)


def test_the_check_finds_gaps(tmp_path: Path) -> None:
    broken = tmp_path / "xx.po"
    broken.write_text(
        'msgid ""\nmsgstr ""\n"Plural-Forms: nplurals=3; plural=(n==1 ? 0 : 1);\\n"\n\n'
        'msgid "Cancelled."\nmsgstr ""\n\n'
        '#, fuzzy\nmsgid "Hello {name}"\nmsgstr "Hej"\n\n'
        'msgid "{n} day"\nmsgid_plural "{n} days"\nmsgstr[0] "{n} dzień"\nmsgstr[1] "dni"\n',
        encoding="utf-8",
    )
    template: list[MessageId] = ["Cancelled.", "Hello {name}", ("{n} day", "{n} days"), "Bye"]
    problems = catalog_problems(broken, template, 3)
    assert problems == [
        "empty 'Cancelled.'",
        "fuzzy 'Hello {name}'",
        "placeholders of 'Hej' differ from 'Hello {name}'",
        "2 plural forms for ('{n} day', '{n} days')",
        "placeholders of 'dni' differ from ('{n} day', '{n} days')",
        "empty ('{n} day', '{n} days')",
        "missing 'Bye'",
    ]


def test_gettext_falls_back_and_fills_placeholders() -> None:
    assert normalize_language("ru-RU") == "ru" and normalize_language("nb") == "no"
    assert normalize_language("xx") == "en"
    assert gettext("ru", "Reply on your request {ref}:", ref="#7") == "Ответ по вашей заявке #7:"
    assert (
        gettext("pl", "Reply on your request {ref}:", ref="#7")
        == "Odpowiedź w sprawie zgłoszenia #7:"
    )
    assert gettext("de", "Reply on your request {ref}:", ref="#7") == "Reply on your request #7:"


NOW = (
    "Now: {n} open request, {late} of them overdue.",
    "Now: {n} open requests, {late} of them overdue.",
)


@pytest.mark.parametrize(
    ("language", "counts"),
    [
        (
            "en",
            {1: "Now: 1 open request,", 2: "Now: 2 open requests,", 11: "Now: 11 open requests,"},
        ),
        (
            "ru",
            {
                1: "Сейчас: 1 открытая заявка,",
                3: "Сейчас: 3 открытые заявки,",
                5: "Сейчас: 5 открытых заявок,",
                11: "Сейчас: 11 открытых заявок,",
                21: "Сейчас: 21 открытая заявка,",
                24: "Сейчас: 24 открытые заявки,",
            },
        ),
        (
            "pl",
            {
                1: "Teraz: 1 otwarte zgłoszenie,",
                2: "Teraz: 2 otwarte zgłoszenia,",
                5: "Teraz: 5 otwartych zgłoszeń,",
                12: "Teraz: 12 otwartych zgłoszeń,",
                22: "Teraz: 22 otwarte zgłoszenia,",
            },
        ),
        ("no", {1: "Nå: 1 åpen sak,", 2: "Nå: 2 åpne saker,"}),
        ("zh", {1: "当前：1 个未完成的工单，", 7: "当前：7 个未完成的工单，"}),
    ],
)
def test_ngettext_chooses_each_languages_plural_form(language: str, counts: dict[int, str]) -> None:
    for n, expected in counts.items():
        assert ngettext(language, *NOW, n, late=0).startswith(expected)
