"""What every report prints besides its content: the clinic, the station's version, when it was
made, and the plate calibration(s) in force when the recordings shown were made."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from station import __version__
from station.reports.text import day
from station.store.timefmt import local_minute


@dataclass(frozen=True)
class Clinic:
    """The clinic as reports show it: its name and its logo (PNG/JPEG path or None)."""

    name: str = ""
    logo: Path | None = None


def clinic_of(store, config) -> Clinic:
    """The clinic name (the administrators' setting, which defaults to ``[clinic] name``) and the
    logo of ``[clinic] logo`` (checked when the configuration was loaded)."""
    name = ""
    try:
        name = store.settings.get("clinic_name") or ""
    except KeyError:
        pass
    name = name or (config.clinic.name if config is not None else "")
    logo = config.clinic.logo if config is not None else None
    return Clinic(name=name, logo=Path(logo) if logo is not None else None)


def calibration_words(trials: list[dict]) -> str:
    """The plate calibration dates of ``trials`` (stored trial documents), as the footer says
    them: one date, or the first and last of several with their number; ``unknown`` when the
    recordings carry none; ``none (no recording in this report)`` when the report shows no
    recording (e.g. a programme none of whose sessions or visits was recorded yet: before, its
    "calibration unknown" read as if the station had lost the calibration its visit PDF names).

    The dates are the clinic's days (:func:`~station.store.timefmt.local_day`):

    >>> from station.store.timefmt import use_time_zone
    >>> use_time_zone("Australia/Sydney")  # 20:06 UTC is 07:06 the next morning there
    >>> calibration_words([{"calibration": {"created_utc": "2026-12-05T20:06:44+00:00", "method": "masses"}}])
    '2026-12-06'
    >>> use_time_zone(None)
    >>> calibration_words([])
    'none (no recording in this report)'
    """
    if not trials:
        return "none (no recording in this report)"
    dates = sorted({day((t.get("calibration") or {}).get("created_utc")) for t in trials} - {"–"})
    methods = {str((t.get("calibration") or {}).get("method") or "") for t in trials} - {""}
    if not dates:
        return "unknown" if "nominal" not in methods else "nominal (not calibrated)"
    words = dates[0] if len(dates) == 1 else f"{len(dates)} calibrations, {dates[0]} to {dates[-1]}"
    if methods == {"nominal"}:
        words += " (nominal: not calibrated with known masses)"
    return words


def made_at(wall_clock=time.time) -> str:
    """When the report was made, to the minute, in the clinic's time zone with its name
    (``2026-12-06 10:08 AEDT``: :func:`~station.store.timefmt.local_minute`)."""
    return local_minute(wall_clock())


STATION_VERSION = __version__
