"""The acquisition's own reasons for a station that is not ok, and /healthz's (web/health.py), in the
words a clinician reads under the health chip: what happened, what it means for a test, what to do
("ask whoever looks after the station to ..."); the engineer's words ("check the plate cable and the
mux", "run `balance-station calibrate`") in ``detail``, which the journal's status line says; each
with a ``reason_code`` tools read. Before s26 the chip said the engineer's words."""

from __future__ import annotations

import re

from flask import Flask

from station.sdnotify import status_text
from station.sim.clock import SimulatedClock
from station.sim.person import VirtualPerson
from station.sim.station import SimulatedStation
from web.health import station_health_document

ENGINEER = re.compile(r"mux|balance-station|`|acquisition|load cell|\bimu\b|\bfl\b|sensor problem", re.IGNORECASE)


def _station(calibration="nominal"):
    return SimulatedStation(None, VirtualPerson.standing_demo(seed=2), seed=0, calibration=calibration,
                            clock=SimulatedClock())


def _clinicians(doc: dict) -> str:
    reason = doc["reason"]
    assert reason and not ENGINEER.search(reason), reason
    return reason


def test_an_uncalibrated_plate_says_what_it_means_and_who_calibrates_it():
    station = _station()
    station.run_seconds(1.2)
    doc = station.loop.health()
    assert doc["state"] == "degraded" and doc["reason_code"] == "plate_not_calibrated", doc["reason"]
    reason = _clinicians(doc)
    assert "may be off by several per cent" in reason and "ask whoever looks after the station to calibrate" in reason
    assert doc["detail"] == "plate not calibrated: run `balance-station calibrate`"
    assert status_text(doc).endswith(": plate not calibrated: run `balance-station calibrate`")  # the journal's


def test_a_corner_or_the_lower_back_sensor_not_answering_and_the_whole_plate_down():
    station = _station()
    bus, sim = station.simulation.bus, station.simulation
    station.run_seconds(1)
    bus.vanish(sim.adc("fl"))
    station.run_seconds(1.5)
    doc = station.loop.health()
    assert doc["state"] == "degraded" and doc["reason_code"] == "sensor_problem", doc
    assert _clinicians(doc) == ("the plate's front-left corner does not answer: a test on the plate recorded now would be "
                                "invalid (the station keeps trying to read it); ask whoever looks after the station to "
                                "check the plate's cable")
    assert doc["detail"] == "sensor problem: fl down"

    bus.vanish(sim.imu)
    station.run_seconds(1.5)
    doc = station.loop.health()
    assert doc["reason_code"] == "sensor_problem" and doc["detail"] == "sensor problem: fl down, imu fault", doc
    assert "; the lower-back sensor is not working: a walk recorded now is timed by its light gates, without gait " \
           "measures" in _clinicians(doc)

    for corner in ("fr", "bl", "br"):
        bus.vanish(sim.adc(corner))
    station.run_seconds(1.5)
    doc = station.loop.health()
    assert doc["state"] == "down" and doc["reason_code"] == "plate_not_answering", doc
    assert _clinicians(doc) == "the plate does not answer: none of its four corners can be read"  # the chip adds what to do
    assert doc["detail"] == "no load cell answers; check the plate cable and the mux"
    assert status_text(doc).endswith(": no load cell answers; check the plate cable and the mux")


class _Link:
    def health(self):
        return {"state": "ok", "reason": "", "frames": 10}


class _GaveUp:
    def status(self):
        return {"restarts": 5, "deaths": 6, "last_exit": "killed by signal 9", "gave_up": True, "error": None}


def test_a_measuring_program_no_longer_restarted_and_one_not_connected_say_so_in_a_clinicians_words():
    app = Flask(__name__)
    app.config.update(STATION_LINK=_Link(), ACQUISITION_SUPERVISOR=_GaveUp())
    doc = station_health_document(app)
    assert doc["state"] == "down" and doc["reason_code"] == "acquisition_gave_up"
    assert _clinicians(doc) == "the station's measuring program keeps stopping and is no longer restarted by itself"
    assert doc["detail"] == ("the acquisition process keeps dying (killed by signal 9); it was restarted 5 times and is "
                             "not restarted again: see the station log")
    app = Flask(__name__)
    app.config.update(STATION_LINK=None)
    doc = station_health_document(app)
    assert doc["state"] == "down" and doc["reason_code"] == "acquisition_not_running"
    assert _clinicians(doc) == "the station's measuring program is not running"
    assert doc["detail"] == "no acquisition process is connected to this web server"
