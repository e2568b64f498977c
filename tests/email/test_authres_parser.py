"""housedesk's faster step of authres's parser reads every Authentication-Results field as
authres does: the same id, results and properties, and the same refusals."""

from __future__ import annotations

import email
from email.policy import compat32
from pathlib import Path
from typing import Any

import authres
import pytest

from intake.email.authentication import _Results

EMAILS = Path(__file__).resolve().parent.parent / "data" / "emails"
CORPUS = sorted(
    " ".join(str(value).split())
    for path in EMAILS.glob("*.eml")
    for value in email.message_from_bytes(path.read_bytes(), policy=compat32).get_all(
        "Authentication-Results", []
    )
)
HARD = [
    "mx.example; (a comment (nested)) dkim=pass (good) header.d=x.example header.i=@x.example",
    'mx.example; spf=pass smtp.mailfrom="quoted local"@x.example',
    "mx.example 1; dkim=pass header.d=x.example",
    "mx.example; none",
    "mx.example; dkim=pass header.d=a.example; spf=fail smtp.mailfrom=b.example",
    "mx.example; dmarc=pass (p=none dis=none) header.from=x.example",
    'mx.example; dkim=pass header.d=x.example; dkim=fail reason="bad sig" header.d=y.example',
    "broken;;; ===",
    "mx.example; dkim=pass (unclosed comment header.d=x.example",
    "mx.example; spf=pass smtp.mailfrom=x.example extra",
]


def reading(cls: Any, value: str) -> tuple[Any, ...]:
    try:
        header = cls.parse_value(authres.core_features(), value)
    except Exception as exc:
        return ("refused", type(exc).__name__, str(exc))
    results = [
        (str(r.method), str(r.result), [(p.type, p.name, str(p.value)) for p in r.properties])
        for r in header.results
    ]
    return (str(header), str(header.authserv_id), results)


@pytest.mark.parametrize("value", CORPUS + HARD)
def test_a_field_reads_as_authres_reads_it(value: str) -> None:
    assert reading(_Results, value) == reading(authres.core.AuthenticationResultsHeader, value)


def test_the_comparison_covers_refusals_and_results() -> None:
    readings = [reading(_Results, value) for value in CORPUS + HARD]

    assert any(r[0] == "refused" for r in readings)
    assert any(r[0] != "refused" and r[2] for r in readings)
