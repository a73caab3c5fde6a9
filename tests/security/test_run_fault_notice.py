"""``balance-station run --simulate --fault KIND:AFTER_S[:FOR_S]``: the station daemon's simulated
acquisition fails during the first walk trial recorded on the dashboard (station/sim/faults.py in the
acquisition process: a stall blocks the real loop's thread, so the ring the station reads goes
silent), and the live stream the live page reads (``/api/live``) carries the ``notice`` events.
Also the refusals of the option, one line each."""

from __future__ import annotations

import http.client
import json
import re
import time

import pytest

from station.cli import main

from security_support import CLINICIAN_PW, Station, create_accounts


def _events(station: Station, cookie: str, until, timeout_s: float):
    """Read ``/api/live`` as the live page does until ``until(events)`` is true; the events
    ``(kind, data)`` read."""
    conn = http.client.HTTPConnection("127.0.0.1", station.port, timeout=timeout_s)
    conn.request("GET", "/api/live", headers={"Cookie": cookie, "Accept": "text/event-stream"})
    response = conn.getresponse()
    assert response.status == 200
    events, kind, deadline = [], None, time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline and not until(events):
            line = response.fp.readline().decode().rstrip("\n")
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: ") and kind == "trial":  # one protocol event of the trial service's bus
                doc = json.loads(line[6:])
                events.append((doc["kind"], doc["data"]))
    finally:
        conn.close()
    return events


def test_a_stall_in_the_daemon_reaches_the_live_stream_as_notices(tmp_path):
    data = tmp_path / "data"
    create_accounts(data)
    # 3 s: the backward walk (7 s recorded) keeps 3.0 s measured, clearly under the half its gait needs
    # (a 2.5-s stall left 3.49 of 6.98 s, on the edge of walk_parts' rule either way)
    station = Station(data, "--fault", "stall:1:3").start()
    try:
        station.wait_ready()
        client = station.client().sign_in("ana", CLINICIAN_PW)
        status, patient, _ = client.post("/api/patients", {"identifier": "FAULT-1", "birth_year": 1950, "sex": "F"})
        assert status == 201, patient
        status, doc, _ = client.post("/api/station/run", {"patient_id": patient["id"], "protocol": "backward-walk-3m"})
        assert status == 201, doc
        status, doc, _ = client.post("/api/station/start")
        assert status == 200, doc

        def finished(events):
            return any(k == "trial_finished" for k, _ in events)

        events = _events(station, client.cookie, finished, timeout_s=60.0)
    finally:
        station.stop()
    notices = [d["message"] for k, d in events if k == "notice"]
    assert "The station has measured nothing for 1 s: its measuring program is held up. Waiting up to 5 s for " \
           "readings; the light gates still time the walk." in notices, (events, station.log())
    (again,) = [re.fullmatch(r"Measuring again: ([\d.]+) s not measured \(1 station stall\); the light gates still "
                             r"time the walk\.", n) for n in notices if n.startswith("Measuring again")]
    assert again, notices
    result = next(d["result"] for k, d in events if k == "trial_finished")
    # the stall's time not measured, live and in the result's words: the same number (slots lost on the grid)
    stall_s = re.match(r"the station measured nothing for ([\d.]+) s ", result["walk"]["imu"])[1]
    assert float(again[1]) == float(stall_s), (notices, result["walk"])
    assert result["valid"] and result["walk"]["walk_time_s"] > 0, result  # timed by the gates through the stall
    assert result["walk"]["imu"].startswith("the station measured nothing for "), result["walk"]
    assert result["walk"]["imu"].endswith("under the 50 % the gait needs"), result["walk"]  # walk_parts' rule


@pytest.mark.parametrize("args, said", [
    (["--simulate", "--fault", "stall:1"], "--fault a stall needs its length"),
    (["--simulate", "--scenario", "standing", "--fault", "stall:1:2"], "--fault makes the simulated station fail during a walk"),
    (["--fault", "imu-unplugged:3"], "use it with --simulate"),
])
def test_the_fault_option_is_refused_in_one_line_where_it_cannot_apply(tmp_path, capsys, args, said):
    assert main(["run", *args, "--port", "1", "--data-dir", str(tmp_path / "data")]) == 1
    err = capsys.readouterr().err.strip()
    assert said in err and err.count("\n") == 0 and "Traceback" not in err
