"""The trial service when the station's storage fails to write during a recording (an SD card answering an
fsync with EIO: SQLite's "disk I/O error"): the test stops with a result in words (the trial partial with
what was committed, what to do, what the newest backup holds), one log line at ERROR without patient data;
nothing new is recorded until the storage writes again, as on a full disk (the same gate, asked fresh).

The failing card is simulated as tests/failing_card.py says: the writer connection's COMMIT raises SQLite's
error, and the space monitor's check write answers the OS's EIO.
"""

from __future__ import annotations

import logging

import pytest

from station.protocols.report import unfinished_words
from station.sim.clock import LateWakeClock, SimulatedClock
from station.store.backup import create_backup
from station.store.space import NoRoomToRecord
from station.store.store import Store

from dashboard_support import ACTOR, CHEAP, SimulatedClinic
from failing_card import failing_card


@pytest.fixture
def sydney(time_zone):
    """The station in Sydney's summer time."""
    time_zone("AEDT-11")


@pytest.fixture(params=["ideal", "late"])
def clock(request):
    """Ideal, and waking late as a Pi under load does (:class:`~station.sim.clock.LateWakeClock`)."""
    return SimulatedClock() if request.param == "ideal" else LateWakeClock(SimulatedClock(), seed=7)


@pytest.fixture
def store(tmp_path, station_data_dir, clock):
    station_data_dir(tmp_path / "data")
    s = Store.open_service(tmp_path / "data", password_cost=CHEAP, clock=clock)
    yield s
    s.close()


@pytest.fixture
def card(store, monkeypatch):
    return failing_card(store, monkeypatch)


def _writer(clinic):
    output = clinic.service._run.sink.open_output
    return None if output is None else output.output.writer


@pytest.mark.parametrize("backup", [False, True])
def test_a_card_failing_mid_trial_ends_it_partial_in_words_and_refuses_the_next_start(store, patient, clock, card,
                                                                                     caplog, backup, sydney):
    made = create_backup(store.data_dir, now_s=1_796_470_000.0) if backup else None  # 2026-12-05 11:26:40 UTC
    # said in the clinic's time zone, as the reports say times (station.store.timefmt.local_minute)
    clinic = SimulatedClinic(store, clock=clock)
    clinic.call("open_run", patient["id"], "quiet-stance", None, ACTOR)
    clinic.step_until(lambda: clinic.state() == "instructions", "the instructions")
    clinic.call("start_trial")
    clinic.step_until(lambda: _writer(clinic) is not None and _writer(clinic).frames_committed >= 300, "3 s recorded")
    writer = _writer(clinic)
    card.failing = True
    with caplog.at_level(logging.DEBUG, logger="station.protocols.service"):
        clinic.step_until(lambda: "run_closed" in clinic.kinds(), "the run to close", max_s=2.0)
    (line,) = caplog.records  # one line at ERROR, no traceback, no patient
    text = line.getMessage()
    assert line.levelno == logging.ERROR and line.exc_info is None and "\n" not in text
    assert f"trial #{writer.trial_id}" in text and patient["identifier"] not in text
    fault = [e for e in clinic.events if e.kind == "fault"][-1].data["message"]
    kept_s = writer.frames_committed / 100
    assert fault.startswith(
        "The station's storage failed to write (a disk I/O error: its SD card may be failing), so the recording "
        f"stopped: trial #{writer.trial_id} could not be closed yet; it keeps the {kept_s:.1f} s recorded and is marked "
        "partial as soon as the station can write again; check the SD card or replace it before recording again. ")
    assert "internal error" not in fault
    if backup:
        assert fault.endswith(f"The newest backup ({made.path.name}, made 2026-12-05 22:26 AEDT) holds what was stored "
                              "before it; it is on the same card: copy the data directory, with its backups, off the "
                              "card before replacing it.")
    else:
        assert fault.endswith("The station has no backup yet (balance-station backup): copy the data directory off "
                              "the card before replacing it.")
    assert store.space.status(fresh=True)["state"] == "failed"
    for _ in range(3):  # the next test is refused in words, as on a full disk, while the card does not write
        with pytest.raises(NoRoomToRecord, match=r"^The station's storage failed to write \(a disk I/O error: its SD "
                                                 r"card may be failing\), so the test was not opened\. What was stored "
                                                 r"before is kept\. Check the SD card or replace it"):
            clinic.call("open_run", patient["id"], "quiet-stance", None, ACTOR)
    card.failing = False  # mended (or replaced, the data directory copied back)
    clinic.step_until(lambda: store.trials.get(writer.trial_id)["status"] == "partial", "the partial mark", max_s=1.0)
    trial = store.trials.get(writer.trial_id)
    assert trial["frame_count"] == writer.frames_committed and trial["status_reason"].startswith(
        "storage failed: the station's storage failed to write, so recording stopped; ")
    assert unfinished_words(trial["status"], trial["status_reason"]) == (  # the results page and the visit PDF
        f"stopped: the station's storage failed to write; {kept_s:.1f} s kept, not analysed")
    clinic.call("open_run", patient["id"], "quiet-stance", None, ACTOR)  # the storage writes again: records
    assert clinic.state() == "instructions"


def test_the_api_says_a_failing_card_in_words_and_refuses_to_record_until_it_writes(store, patient, clock, card,
                                                                                   caplog):
    from dashboard_support import signed_in_client

    clinic = SimulatedClinic(store, clock=clock)
    client, csrf = signed_in_client(store, clinic.service)

    def post(path, body=None):
        return client.post(path, json=body or {}, headers={"X-CSRF-Token": csrf})

    clinic.service.start()
    try:
        card.failing = True
        caplog.clear()
        r = post("/api/patients", {"identifier": "P-002", "birth_year": 1960, "sex": "M"})
        assert r.status_code == 507 and r.get_json() == {"error": (  # before: 500 'the station could not complete this'
            "the station's storage failed to write (a disk I/O error: its SD card may be failing), so this was not "
            "stored; check the SD card or replace it")}
        (line,) = [r for r in caplog.records if r.levelname == "ERROR"]
        assert line.getMessage().startswith("the station's storage failed to write in POST ") and not line.exc_info
        assert client.get("/healthz").get_json()["storage"]["state"] == "failed"
        caplog.clear()
        r = post("/api/station/run", {"patient_id": patient["id"], "protocol": "romberg"})
        assert r.status_code == 507 and r.get_json()["error"].startswith(
            "The station's storage failed to write (a disk I/O error: its SD card may be failing), so the test was not "
            "opened. What was stored before is kept. Check the SD card or replace it"), r.get_json()
        assert [r.getMessage().split(" in ")[0] for r in caplog.records if r.levelname in ("WARNING", "ERROR")] == [
            "refused to record (storage failing)"]
        card.failing = False
        assert post("/api/station/run", {"patient_id": patient["id"], "protocol": "romberg"}).status_code == 201
    finally:
        clinic.service.shutdown()
