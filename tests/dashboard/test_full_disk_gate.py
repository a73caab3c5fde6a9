"""A full disk: the space reserve is for sign-ins and audited reads, not for more trials.

Found by a review on a station whose data directory sat on a 48 MB tmpfs filled by ``dd``: the
sign-in that released the 8 MiB reserve answered ``507`` (the next one went through); then, with
``/healthz`` saying "disk full: trials cannot be recorded", the live page still opened tests and
started trials: 13 more 30-s trials ate the reserve, the 15th could not be closed, and from then on
nobody could sign in. The disk is filled here as there (a small tmpfs, tests/small_disk.py).
"""

from __future__ import annotations

import pytest

from station.store.db import Conflict
from station.store.space import RESERVE_BYTES, RESERVE_FILENAME, NoRoomToRecord
from station.store.store import Store
from web import create_app

from dashboard_support import ACTOR, CHEAP, CLINICIAN_PW, SimulatedClinic
from small_disk import fill

FULL_WORDS = ("disk is full", "Everything recorded is kept", "signing in and results still work",
              "Free space on the station")


@pytest.fixture
def full_station(tiny_disk):
    """The store on the small disk (with its 8 MiB reserve), a patient, the trial service on the
    simulated station: (store, clinic, patient, data directory)."""
    data = tiny_disk / "data"
    store = Store.open_service(data, password_cost=CHEAP)
    try:
        assert (data / RESERVE_FILENAME).stat().st_size == RESERVE_BYTES
        patient = store.patients.create({"identifier": "P-001", "birth_year": 1950, "sex": "F"}, actor=ACTOR)
        yield store, SimulatedClinic(store), patient, data
    finally:
        store.close()


def _sessions(store, patient_id: int) -> int:
    with store.db.read() as conn:
        return conn.execute("SELECT count(*) FROM sessions WHERE patient_id = ?", (patient_id,)).fetchone()[0]


def _says_full(message: str, refused: str) -> None:
    assert refused in message and all(words in message for words in FULL_WORDS), message


def test_a_sign_in_that_finds_the_disk_full_goes_through(full_station, tiny_disk):
    store, _clinic, patient, data = full_station
    app = create_app({"DATA_DIR": str(data), "STORE": store, "PASSWORD_COST": CHEAP, "TESTING": True})
    store.users.create("ana", CLINICIAN_PW, "clinician", actor=ACTOR)
    client = app.test_client()
    csrf = client.get("/api/session").get_json()["csrf_token"]
    fill(tiny_disk)  # dd: not a byte left, the reserve still there
    r = client.post("/api/login", json={"username": "ana", "password": CLINICIAN_PW}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200, r.get_json()  # before: 507, the write that released the reserve failed
    assert not (data / RESERVE_FILENAME).exists() and store.space.status()["state"] == "full"
    assert [e["action"] for e in store.audit.query(action="user.login", limit=10)] == ["user.login"]
    assert client.get(f"/api/patients/{patient['id']}").status_code == 200  # an audited read goes on


@pytest.mark.parametrize("protocol, walk", [
    ("romberg", None), ("ten-metre-walk", None), ("backward-treadmill", {"belt_speed_m_s": 0.5, "planned_min": 6}),
    ("biofeedback-training", None)])
def test_no_test_opens_while_the_disk_is_full(full_station, tiny_disk, protocol, walk):
    store, clinic, patient, _data = full_station
    sessions = _sessions(store, patient["id"])
    fill(tiny_disk)
    for _ in range(3):  # every time, not only when a write finds no room (before, from the second on: opened)
        with pytest.raises(NoRoomToRecord) as info:
            clinic.call("open_run", patient["id"], protocol, None, ACTOR, walk)
        _says_full(str(info.value), "so the test was not opened")
    assert clinic.service.status()["run"] is None
    assert _sessions(store, patient["id"]) == sessions  # no session stored


@pytest.mark.parametrize("protocol", ["romberg", "ten-metre-walk"])
def test_no_trial_starts_while_the_disk_is_full_and_starts_again_once_space_is_freed(full_station, tiny_disk,
                                                                                      protocol):
    store, clinic, patient, data = full_station
    clinic.call("open_run", patient["id"], protocol, None, ACTOR)  # room: the test opens
    clinic.step_until(lambda: clinic.state() == "instructions", "the instructions")
    filler = fill(tiny_disk)
    with pytest.raises(NoRoomToRecord) as info:  # Start on the tablet
        clinic.call("start_trial")
    _says_full(str(info.value), "so the trial was not started")
    assert not (data / RESERVE_FILENAME).exists()  # released for sign-ins and reads, not for this trial
    clinic.service.press()  # the panel's button: the same words, as a fault event
    clinic.service.step()
    fault = [e for e in clinic.events if e.kind == "fault"][-1].data["message"]
    assert fault == str(info.value)
    for _ in range(20):
        clinic.service.step()
    assert clinic.state() == "instructions" and not store.sessions.get(clinic.service.status()["run"]["session_id"])["trials"]
    filler.unlink()  # space freed: the reserve comes back by itself, and trials start again
    if protocol == "romberg":
        stored = clinic.run_trial()
        assert store.trials.get(stored["trial_id"])["status"] == "complete"
    else:
        clinic.call("start_trial")  # accepted (without light gates the walk then cannot go on)
    assert (data / RESERVE_FILENAME).stat().st_size == RESERVE_BYTES
    with pytest.raises(Conflict):
        clinic.call("open_run", patient["id"], protocol, None, ACTOR)  # the test is still open


def test_the_api_refuses_with_507_in_words_until_space_is_freed(full_station, tiny_disk, caplog):
    store, clinic, patient, data = full_station
    app = create_app({"DATA_DIR": str(data), "STORE": store, "PASSWORD_COST": CHEAP, "TESTING": True,
                      "TRIAL_SERVICE": clinic.service})
    store.users.create("ana", CLINICIAN_PW, "clinician", actor=ACTOR)
    client = app.test_client()
    csrf = client.get("/api/session").get_json()["csrf_token"]
    r = client.post("/api/login", json={"username": "ana", "password": CLINICIAN_PW}, headers={"X-CSRF-Token": csrf})
    csrf = r.get_json()["csrf_token"]

    def post(path, body=None):
        return client.post(path, json=body or {}, headers={"X-CSRF-Token": csrf})

    clinic.service.start()
    try:
        assert post("/api/station/run", {"patient_id": patient["id"], "protocol": "romberg"}).status_code == 201
        filler = fill(tiny_disk)
        assert client.get("/healthz").get_json()["storage"]["state"] == "full"
        caplog.clear()
        for _ in range(3):  # before: 200 every time
            r = post("/api/station/start")
            assert r.status_code == 507 and set(r.get_json()) == {"error"}
            _says_full(r.get_json()["error"], "so the trial was not started")
        # a refusal as meant is a warning, not an error of the station's (before: ERROR 'disk full in POST ...')
        refused = [r for r in caplog.records if "disk full" in r.getMessage()]
        assert refused and all(r.levelname == "WARNING" and "refused to record" in r.getMessage() for r in refused)
        assert post("/api/station/close").status_code == 200
        r = post("/api/station/run", {"patient_id": patient["id"], "protocol": "backward-treadmill",
                                      "walk": {"belt_speed_m_s": 0.5, "planned_min": 6}})
        assert r.status_code == 507, r.get_json()  # before: 201
        _says_full(r.get_json()["error"], "so the test was not opened")
        # what to do names the button of the page that asked (before: "open the test again" on every page)
        assert r.get_json()["error"].endswith(", then press Open test again."), r.get_json()  # the live page's
        today = store.programmes.today()  # the store's clock and time zone, as the programme pages use
        assigned = post(f"/api/patients/{patient['id']}/programmes", {"template": "backward-walking-stroke",
                                                                     "start_date": today})
        assert assigned.status_code == 201, assigned.get_json()
        doc = client.get(f"/api/assignments/{assigned.get_json()['id']}").get_json()
        r = post(f"/api/programme-sessions/{doc['sessions'][0]['id']}/run")  # the programme page's session button
        assert r.status_code == 507 and r.get_json()["error"].endswith(
            ", then press Start Backward treadmill walking session again."), r.get_json()
        r = post(f"/api/programme-visits/{doc['visits'][0]['id']}/run")  # its visit's "Run the next test: ..."
        assert r.status_code == 507 and r.get_json()["error"].endswith(", then press Run the next test again."), \
            r.get_json()
        filler.unlink()
        assert post("/api/station/run", {"patient_id": patient["id"], "protocol": "romberg"}).status_code == 201
    finally:
        clinic.service.shutdown()
    assert (data / RESERVE_FILENAME).stat().st_size == RESERVE_BYTES
