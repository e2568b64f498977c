"""Due times from a category's response and resolution deadlines."""

from __future__ import annotations

from datetime import datetime, timedelta

from core.models import Category


def due_times(category: Category, created_at: datetime) -> tuple[datetime | None, datetime | None]:
    """Return ``(response_due_at, due_at)`` for a ticket created at ``created_at``."""
    response = (
        created_at + timedelta(minutes=category.response_minutes)
        if category.response_minutes
        else None
    )
    resolution = (
        created_at + timedelta(minutes=category.resolution_minutes)
        if category.resolution_minutes
        else None
    )
    return response, resolution
