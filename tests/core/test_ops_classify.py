"""The keyword classifier for email and voicemail text."""

from __future__ import annotations

from core.operations.classify import KeywordClassifier
from core.storage.models import Category
from housedesk.settings.operations import DEFAULT_KEYWORDS
from tests.core import factories

CATEGORIES = [
    Category(code="emergency", priority=1),
    Category(code="drain", priority=2),
    Category(code="technical", priority=3),
    Category(code="billing", priority=4),
]
CLASSIFIER = KeywordClassifier(DEFAULT_KEYWORDS)


def _category(text: str) -> str | None:
    return CLASSIFIER.classify(text, CATEGORIES).category


def test_emergencies_in_english_and_russian() -> None:
    assert _category("Water is LEAKING from the ceiling!") == "emergency"
    assert _category("There is a smell of gas in the stairwell") == "emergency"
    assert _category("Help, we are stuck in the lift on floor 5") == "emergency"
    assert _category("В подъезде запах газа") == "emergency"
    assert _category("Застрял лифт, внутри ребёнок") == "emergency"
    assert _category("нет отопления с утра") == "emergency"
    assert _category("Пожар на балконе") == "emergency"
    assert _category("У нас нет света во всей квартире") == "emergency"


def test_word_forms_case_and_yo() -> None:
    result = CLASSIFIER.classify("Сверху ПРОТЕЧКУ устроили, всё затопило", CATEGORIES)
    assert result.category == "emergency"
    assert result.found == ["протечку", "затопило"]
    assert [m.keyword for m in result.matches] == ["протеч*", "затоп*"]
    assert {m.language for m in result.matches} == {"ru"}
    assert _category("Пересчёт за отопление? нужна квитанция") == "billing"


def test_the_most_urgent_category_wins_and_words_must_be_whole() -> None:
    assert _category("Leak in the bathroom, and my invoice is wrong") == "emergency"
    assert _category("The drain is blocked") is None  # "drain* blocked" needs the words adjacent
    assert _category("blocked drain in the kitchen") == "drain"
    assert _category("The bill for November") == "billing"
    assert _category("The billboard outside is ugly") is None
    assert _category("Please repaint the door") is None


def test_keywords_of_unknown_categories_are_ignored() -> None:
    classifier = KeywordClassifier({"en": {"pests": ["mice"], "billing": ["refund"]}})
    assert classifier.classify("mice everywhere", CATEGORIES).category is None
    assert classifier.classify("I want a refund", CATEGORIES).category == "billing"


async def test_categorize_reads_the_directory(db: str) -> None:
    await factories.category("technical")
    await factories.category("emergency", priority=1)
    flood = await CLASSIFIER.categorize("Subject: flood\nThe kitchen is flooded")
    assert (flood.category, flood.found) == ("emergency", ["flood"])
    bill = await CLASSIFIER.categorize("The bill is wrong")
    assert bill.category is None  # no billing category here
