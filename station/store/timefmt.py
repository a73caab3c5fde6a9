"""Timestamps as stored: ISO 8601 UTC text with milliseconds and a ``Z`` (sortable as text); and the
clinic's local dates and times, for what people read (:func:`local_day`, :func:`local_minute`), in the
clinic's time zone: ``[clinic] time_zone`` of the configuration when it names one (:func:`use_time_zone`,
applied when a command loads the configuration: a hub on a server kept in UTC dates its PDFs as the
clinic lives), else the process's (``TZ``, else the system's)."""

from __future__ import annotations

from datetime import datetime, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_zone: tzinfo | None = None
"""The clinic's time zone as configured (:func:`use_time_zone`); None: the process's local one."""


def time_zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name`` (``Australia/Sydney``). Raises ``ValueError`` saying so when there is
    no such zone (or the system has no time-zone data: Debian's ``tzdata``)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not a time zone this system knows: give an IANA name such as "
                         "Australia/Sydney or Europe/Berlin (timedatectl list-timezones lists them)") from None


def use_time_zone(name: str | None) -> None:
    """Date what people read in the IANA zone ``name`` (``Australia/Sydney``); "" or None: in the process's
    local zone (``TZ``, else the system's). Raises ``ValueError`` for a zone the system does not know."""
    global _zone
    _zone = time_zone(name) if name else None


def process_zone_is_utc() -> bool:
    """True when the process's own zone (``TZ``, else the system's) is UTC itself (a cloud server's usual
    zone), not a zone that is at UTC part of the year or all of it (Europe/London, Atlantic/Reykjavik)."""
    import time

    return time.timezone == 0 and not time.daylight and time.tzname[0] in ("UTC", "UCT")


def utc_day_warning(configured: str, file: str, *, utc: bool | None = None) -> str:
    """'' unless ``[clinic] time_zone`` is unset (``configured`` "") on a computer whose zone is UTC (``utc``;
    None: :func:`process_zone_is_utc`): then the words that say the station or hub takes "today" on UTC's day,
    not the clinic's, and what to set in ``file`` (its configuration file).

    >>> utc_day_warning("Europe/Paris", "/etc/balance-station/hub.toml", utc=True)
    ''
    >>> print(utc_day_warning("", "/etc/balance-station/hub.toml", utc=True))
    [clinic] time_zone is not set and this computer's time zone is UTC, so "today" is UTC's day, not the clinic's: a programme's today, the dates pages and reports show, and a dose refused as "after today" change day at midnight UTC. Set time_zone = "Area/City" (the clinic's zone, e.g. "Europe/Berlin"; timedatectl list-timezones lists them) under [clinic] in /etc/balance-station/hub.toml, then restart the service.
    """
    if configured or not (process_zone_is_utc() if utc is None else utc):
        return ""
    return ("[clinic] time_zone is not set and this computer's time zone is UTC, so \"today\" is UTC's day, not the "
            "clinic's: a programme's today, the dates pages and reports show, and a dose refused as \"after today\" "
            "change day at midnight UTC. Set time_zone = \"Area/City\" (the clinic's zone, e.g. \"Europe/Berlin\"; "
            f"timedatectl list-timezones lists them) under [clinic] in {file}, then restart the service.")


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
    return datetime.fromtimestamp(t_s, _zone) if _zone is not None else datetime.fromtimestamp(t_s).astimezone()


def local_day(when: str | float) -> str:
    """The clinic's date of ``when`` (a stored ISO 8601 time, or Unix s) as ``YYYY-MM-DD``: in the
    clinic's time zone (``[clinic] time_zone``, else ``TZ``, else the system's), the one clinicians live in. For dates shown
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
