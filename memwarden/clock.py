"""Time as the store keeps it: naive UTC, second precision compatible with SQLite's
``datetime('now', ...)`` so that the seed's SQL compares correctly."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["utcnow"]


def utcnow() -> datetime:
    """The current time in UTC, without tzinfo (what every ``ts`` column holds)."""
    return datetime.now(UTC).replace(tzinfo=None)
