"""``[operations]``: routing keywords, deadline reminders and nudges, digest, announcements."""

from __future__ import annotations

from datetime import time
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.clock import known_timezone

DEFAULT_KEYWORDS: dict[str, dict[str, list[str]]] = {
    "en": {
        "emergency": [
            "leak*",
            "flood*",
            "burst pipe*",
            "water through the ceiling",
            "smell of gas",
            "smells of gas",
            "gas leak",
            "fire",
            "smoke",
            "no heating",
            "no heat",
            "no power",
            "power cut",
            "no electricity",
            "stuck lift",
            "lift stuck",
            "stuck in the lift",
            "stuck elevator",
            "elevator stuck",
            "stuck in the elevator",
        ],
        "drain": ["blocked drain*", "drain* blocked", "blocked toilet", "sewage"],
        "billing": ["invoice*", "bill", "billing", "overcharg*", "payment*", "refund*"],
    },
    "ru": {
        "emergency": [
            "протеч*",
            "протека*",
            "течет",
            "затоп*",
            "заливает",
            "прорвало",
            "запах газа",
            "пахнет газом",
            "утечка газа",
            "пожар*",
            "горит",
            "дым",
            "нет отопления",
            "не греют батареи",
            "нет света",
            "нет электричества",
            "застрял* лифт*",
            "лифт* застрял*",
            "застрял* в лифте",
        ],
        "drain": ["засор*", "канализац*"],
        "billing": ["квитанц*", "счет за*", "оплат*", "начислен*", "перерасчет*"],
    },
}
"""The built-in keyword lists; ``[operations.keywords.<language>]`` replaces one language's."""


class OperationsSettings(BaseModel):
    """``[operations]``"""

    model_config = ConfigDict(extra="forbid")

    routing_enabled: bool = True
    scheduler_enabled: bool = True
    tick_interval_s: float = Field(30.0, gt=0)
    timezone: str = "UTC"
    remind_before_minutes: int = Field(30, ge=0)
    nudge_every_minutes: int = Field(60, ge=1)
    digest_time: time = time(8, 0)
    announce_per_second: float = Field(10.0, gt=0)
    announcements_per_resident_per_hour: int = Field(1, ge=0)
    """Ordinary announcements one resident gets in an hour; more wait (0: no limit)."""
    classify_channels: list[Literal["email", "voicemail", "phone", "cli", "telegram"]] = [
        "email",
        "voicemail",
    ]
    keywords: dict[str, dict[str, list[str]]] = DEFAULT_KEYWORDS

    @field_validator("keywords")
    @classmethod
    def _keep_other_languages(
        cls, value: dict[str, dict[str, list[str]]]
    ) -> dict[str, dict[str, list[str]]]:
        return {**DEFAULT_KEYWORDS, **value}

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        return known_timezone(value)
