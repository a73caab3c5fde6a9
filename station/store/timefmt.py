"""Timestamps as stored: ISO 8601 UTC text with milliseconds and a ``Z`` (sortable as text)."""

from __future__ import annotations

from datetime import datetime, timezone


def utc_iso(t_s: float) -> str:
    """``t_s`` (Unix time, s) as ``YYYY-MM-DDTHH:MM:SS.mmmZ``."""
    return datetime.fromtimestamp(t_s, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def parse_utc_iso(text: str) -> float:
    """Inverse of :func:`utc_iso` (also accepts other ISO 8601 forms with an offset); Unix s.

    Raises ``ValueError`` for text that is not an ISO 8601 time with a time zone.
    """
    dt = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    if dt.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone; use UTC, e.g. 2025-01-31T09:15:00Z")
    return dt.timestamp()
