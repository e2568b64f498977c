"""The categories a new installation starts with, so mail is filed before any import.

``housedesk init`` creates them when the database has no category at all; a directory
import later updates them by code like any other row. The gateway also uses
:func:`fallback_category` when a mail's category is missing (a deleted or misspelt code).
"""

from __future__ import annotations

from typing import Any

from core.storage.models import Category

DEFAULT_CATEGORIES: tuple[dict[str, Any], ...] = (
    {
        "code": "emergency",
        "names": {
            "en": "Emergency",
            "ru": "Аварийная",
            "pl": "Awaria",
            "no": "Nødsituasjon",
            "zh": "紧急",
        },
        "priority": 1,
        "emergency": True,
        "response_minutes": 30,
        "resolution_minutes": 4320,
        "business_hours": False,
    },
    {
        "code": "technical",
        "names": {
            "en": "Technical problem",
            "ru": "Техническая неисправность",
            "pl": "Usterka techniczna",
            "no": "Teknisk feil",
            "zh": "技术故障",
        },
        "priority": 3,
        "response_minutes": 240,
        "resolution_minutes": 1620,
        "business_hours": True,
    },
    {
        "code": "billing",
        "names": {
            "en": "Billing",
            "ru": "Начисления и оплата",
            "pl": "Rozliczenia",
            "no": "Fakturering",
            "zh": "账单",
        },
        "priority": 4,
        "response_minutes": 540,
        "resolution_minutes": 5400,
        "business_hours": True,
    },
    {
        "code": "administration",
        "names": {
            "en": "Administration",
            "ru": "Административный вопрос",
            "pl": "Administracja",
            "no": "Administrasjon",
            "zh": "行政事务",
        },
        "priority": 4,
        "response_minutes": 540,
        "resolution_minutes": 5400,
        "business_hours": True,
    },
)
FALLBACK_CODE = "technical"
"""Where a mail goes when the category it should get does not exist."""


async def create_default_categories() -> int:
    """Create the default categories when there is no category yet; how many were made."""
    if await Category.exists():
        return 0
    for row in DEFAULT_CATEGORIES:
        await Category.create(**row)
    return len(DEFAULT_CATEGORIES)


async def fallback_category() -> Category:
    """The category for a mail whose own category is missing: ``technical`` if it exists,
    else any non-emergency category, else the defaults are created first."""
    found = await Category.get_or_none(code=FALLBACK_CODE)
    if found is not None:
        return found
    other = await Category.filter(emergency=False).order_by("priority", "id").first()
    if other is not None:
        return other
    if not await Category.exists():
        await create_default_categories()
        return await Category.get(code=FALLBACK_CODE)
    return await Category.create(**DEFAULT_CATEGORIES[1])
