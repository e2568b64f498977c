"""One word per concept in each catalog: a ticket is 工单 in Chinese wherever it is shown (not
请求 or 报修单), sak in Norwegian, zgłoszenie in Polish, заявка in Russian; an incident is 故障
and assigning is 分派 in Chinese; a dispatcher is a koordinator and a building a bygning in
Norwegian; a resident is a житель in Russian; a technician is a technik in Polish; a manager
is a руководитель, a kierownik and a leder."""

from __future__ import annotations

import re

import pytest
from babel.messages.pofile import read_po

from core.i18n import LOCALE_DIR

TICKET = re.compile(r"\b(request|ticket)s?\b", re.IGNORECASE)
REPORT = re.compile(r"\breports?\b", re.IGNORECASE)
INCIDENT = re.compile(r"\b(incident|outage)s?\b", re.IGNORECASE)
ASSIGN = re.compile(r"assign", re.IGNORECASE)
DISPATCHER = re.compile(r"dispatcher|manager", re.IGNORECASE)
RESIDENT = re.compile(r"resident|building's list|live there", re.IGNORECASE)
TECHNICIAN = re.compile(r"technician", re.IGNORECASE)
BUILDING = re.compile(r"building", re.IGNORECASE)
MANAGER = re.compile(r"\bmanagers?\b", re.IGNORECASE)
COMPANY = re.compile(r"management company", re.IGNORECASE)

DRIFT: dict[str, list[tuple[re.Pattern[str], re.Pattern[str] | None, str]]] = {
    "zh": [(TICKET, None, "请求|报修单"), (INCIDENT, None, "事件"), (ASSIGN, None, "指派|分配")],
    "no": [
        (TICKET, REPORT, "henvendelse"),
        (DISPATCHER, None, "vaktsentral|ekspedi|forvalter"),
        (BUILDING, None, r"\bbygg(et|ets)?\b"),
    ],
    "pl": [
        (TICKET, None, "wniosek|wniosk"),
        (TECHNICIAN, None, "wykonawc"),
        (MANAGER, COMPANY, "zarządc"),
    ],
    "ru": [
        (TICKET, REPORT, "запрос|тикет|обращени"),
        (RESIDENT, None, "жильц|жилец"),
        (MANAGER, COMPANY, "управляющ"),
    ],
}
"""Per language: English messages about a concept (unless they also name a resident's
report or the management company, words of their own), and the words that must not stand
for it."""


def drift(language: str) -> list[str]:
    """Translations that use another word for a concept than the rest of the catalog."""
    with (LOCALE_DIR / f"{language}.po").open("rb") as fh:
        catalog = read_po(fh, locale=language)
    found = []
    for message in catalog:
        english = " ".join(message.id) if isinstance(message.id, tuple) else message.id
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        for concept, unless, words in DRIFT[language]:
            if not english or not concept.search(english):
                continue
            if unless is not None and unless.search(english):
                continue
            for form in forms:
                if re.search(words, str(form), re.IGNORECASE):
                    found.append(f"{english!r}: {form}")
    return found


@pytest.mark.parametrize("language", sorted(DRIFT))
def test_each_concept_has_one_word(language: str) -> None:
    assert drift(language) == [], "\n".join(drift(language))


CJK_THEN_ASCII = re.compile(r"[\u4e00-\u9fff][,:;!?]|[«»]")
"""A Chinese text punctuated the Latin way: ``，：；！？`` and ``“”`` are its marks."""


def test_chinese_is_punctuated_the_chinese_way() -> None:
    with (LOCALE_DIR / "zh.po").open("rb") as fh:
        catalog = read_po(fh, locale="zh")
    latin = [
        str(form)
        for message in catalog
        if message.id
        for form in (message.string if isinstance(message.string, tuple) else (message.string,))
        if CJK_THEN_ASCII.search(str(form).replace("时:分", ""))  # HH:MM in a command's syntax
    ]
    assert latin == [], "\n".join(latin)
