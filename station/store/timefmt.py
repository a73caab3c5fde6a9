"""Timestamps as stored: ISO 8601 UTC text with milliseconds and a ``Z`` (sortable as text); and the
clinic's local dates and times, for what people read (:func:`local_day`, :func:`local_minute`)."""

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


def _local(when: str | float) -> datetime:
    t_s = parse_utc_iso(when) if isinstance(when, str) else float(when)
    return datetime.fromtimestamp(t_s).astimezone()


def local_day(when: str | float) -> str:
    """The clinic's date of ``when`` (a stored ISO 8601 time, or Unix s) as ``YYYY-MM-DD``: in the
    station's local time zone (``TZ``, else the system's), the one clinicians live in. For dates shown
    to people (reports, a programme's "today"); stored data and CSV keep UTC (:func:`utc_iso`). In
    Sydney, ``2026-12-05T23:08:00.000Z`` is the morning of 2026-12-06."""
    return _local(when).date().isoformat()


def local_minute(when: str | float) -> str:
    """``when`` (a stored ISO 8601 time, or Unix s) to the minute in the clinic's time zone (as
    :func:`local_day`), with the zone's name: ``2026-12-06 10:08 AEDT``; a zone known only by its
    offset reads ``UTC+05``."""
    at = _local(when)
    name = at.tzname() or ""
    if not name or name[0] in "+-":
        name = "UTC" + name
    return f"{at:%Y-%m-%d %H:%M} {name}"
