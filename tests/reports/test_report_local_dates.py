"""Dates in the PDF reports are the clinic's (the station's local time zone, as a programme's "today"
and the dashboard's dates), not UTC's: a Sydney morning visit is dated that morning, not the evening
before. Stored times and the CSV exports keep UTC."""

from __future__ import annotations

import calendar
import time

import pytest

from station.reports.build import make_report
from station.store.export import patient_history_csv
from station.store.timefmt import local_day, local_minute, parse_utc_iso

from reports_support import ACTOR, pdf_text

pytestmark = pytest.mark.usefixtures("poppler")

MADE_UTC = float(calendar.timegm(time.strptime("2026-12-05 23:08", "%Y-%m-%d %H:%M")))
"""When the report is made: 10:08 on 6 December in Sydney (AEDT, UTC+11)."""


def test_local_day_and_minute_follow_the_stations_time_zone(time_zone):
    time_zone("AEDT-11")
    assert local_day("2026-12-05T23:08:00.000Z") == "2026-12-06" and local_day(MADE_UTC) == "2026-12-06"
    assert local_minute(MADE_UTC) == "2026-12-06 10:08 AEDT"
    time_zone("XXX+5")  # west of UTC, a zone known by its offset only
    assert local_day("2026-12-06T02:00:00.000Z") == "2026-12-05"
    assert local_minute(MADE_UTC) == "2026-12-05 18:08 XXX"
    time_zone("UTC0")
    assert local_minute(MADE_UTC) == "2026-12-05 23:08 UTC"


def test_the_visit_pdf_is_dated_in_the_clinics_time_zone(store, protocols, clinic, clinic_dir, time_zone):
    session_id = clinic_dir["fifty"]["last_visit_session_id"]
    started = store.sessions.get(session_id)["started_at"]
    utc_day = started[:10]
    # a zone in which this visit falls on another day than in UTC
    zone, shift = ("EAST-13", 13) if int(started[11:13]) >= 11 else ("WEST+13", -13)
    time_zone(zone)
    local = time.strftime("%Y-%m-%d", time.gmtime(parse_utc_iso(started) + shift * 3600))
    assert local != utc_day
    text = pdf_text(make_report("session", store, session_id, protocols=protocols, clinic=clinic, actor=ACTOR,
                                wall_clock=lambda: MADE_UTC))
    assert f"Visit of {local}" in text and f"Visit of {utc_day}" not in text
    made = time.strftime("%Y-%m-%d %H:%M", time.gmtime(MADE_UTC + shift * 3600))
    assert f"made {made} {zone[:4]}" in text and "UTC" not in text
    # what is stored, and the CSV, keep UTC
    assert store.sessions.get(session_id)["started_at"] == started
    history = patient_history_csv(store, clinic_dir["fifty"]["patient_id"], actor=ACTOR)
    assert started[:19] in history


def test_the_history_pdf_dates_its_sessions_in_the_clinics_time_zone(store, protocols, clinic, clinic_dir, time_zone):
    patient_id = clinic_dir["fifty"]["patient_id"]
    sessions = sorted(store.patients.view(patient_id, actor=ACTOR)["sessions"], key=lambda s: s["started_at"])
    first, last = sessions[0]["started_at"], sessions[-1]["started_at"]
    time_zone("EAST-13")
    text = pdf_text(make_report("patient", store, patient_id, protocols=protocols, clinic=clinic, actor=ACTOR,
                                wall_clock=lambda: MADE_UTC))
    ahead = [time.strftime("%Y-%m-%d", time.gmtime(parse_utc_iso(t) + 13 * 3600)) for t in (first, last)]
    assert f"{ahead[0]} to {ahead[1]}" in text


def test_a_configured_time_zone_dates_the_pdf_whatever_the_servers_zone(store, protocols, clinic, clinic_dir, time_zone,
                                                                          tmp_path, monkeypatch):
    """A hub on a server kept in UTC (or a station whose system zone is not the clinic's): ``[clinic]
    time_zone`` of its configuration (hub.toml, station.toml) dates the PDFs, applied when the command
    (``balance-station hub``, ``run``, ``report``) loads the configuration."""
    import argparse

    from station.commands._common import load_config
    from station.store import timefmt

    monkeypatch.setattr(timefmt, "_zone", None, raising=False)  # the process's zone again after the test
    time_zone("UTC0")  # the server's own zone
    config = tmp_path / "hub.toml"
    config.write_text('[clinic]\ntime_zone = "Australia/Sydney"\n')
    load_config(argparse.Namespace(config=str(config), data_dir=None))
    session_id = clinic_dir["fifty"]["last_visit_session_id"]
    started = store.sessions.get(session_id)["started_at"]
    sydney = time.strftime("%Y-%m-%d", time.gmtime(parse_utc_iso(started) + 11 * 3600))  # AEDT in December
    text = pdf_text(make_report("session", store, session_id, protocols=protocols, clinic=clinic, actor=ACTOR,
                                wall_clock=lambda: MADE_UTC))
    assert "made 2026-12-06 10:08 AEDT" in text and f"Visit of {sydney}" in text
    config.write_text('[clinic]\ntime_zone = ""\n')  # none: the server's zone
    load_config(argparse.Namespace(config=str(config), data_dir=None))
    text = pdf_text(make_report("session", store, session_id, protocols=protocols, clinic=clinic, actor=ACTOR,
                                wall_clock=lambda: MADE_UTC))
    assert "made 2026-12-05 23:08 UTC" in text and f"Visit of {started[:10]}" in text
