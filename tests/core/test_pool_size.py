"""A process keeps up to 20 connections to PostgreSQL unless its URL names another number
(tortoise's default of 5 made the bots, the outbox and the scheduler queue for them)."""

from __future__ import annotations

from core.storage.db import tortoise_config


def _pool(url: str) -> int:
    return int(tortoise_config(url)["connections"]["default"]["credentials"]["maxsize"])


def test_a_postgres_process_keeps_twenty_connections() -> None:
    assert _pool("postgres://housedesk@db.internal:5432/housedesk") == 20


def test_the_url_may_name_its_own_pool_size() -> None:
    assert _pool("postgres://housedesk@db.internal:5432/housedesk?maxsize=8") == 8
