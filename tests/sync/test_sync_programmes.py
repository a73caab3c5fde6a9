"""Programmes assigned at a station live in the hub's own programme tables: shown by the hub's
programme page and report as if made there, changed by the station's moves, misses, pauses and
ends, merged last-writer-wins per field with the hub's own edits, counting games played at other
stations, and erased with the patient."""

from __future__ import annotations

import json

import numpy as np
import pytest

from station.analysis.biofeedback import DIRECTIONS, make_schedule, score_game
from station.programmes.loader import builtin_programmes
from station.programmes.report import programme_document
from station.protocols.loader import builtin_protocols
from station.store.audit import Actor
from station.store.db import NotFound
from station.store.programmes import today_of
from station.sync.hub import Hub
from station.sync.records import record_of

from sync_support import CLINICIAN, WallClock, add_trial, hub_patient, hub_trials

HUB_USER = Actor(7, "hubclin", "10.0.0.9")


def _assign(store, patient_id: int, wall) -> dict:
    template = builtin_programmes(builtin_protocols())["balance-training"]
    return store.programmes.assign(patient_id, template, today_of(wall), actor=CLINICIAN)


def _play(store, patient_id: int, minutes: float = 2.0) -> dict:
    session = store.sessions.create(patient_id, {"label": "training"}, actor=CLINICIAN)
    trial_id = add_trial(store, session["id"], 300)
    schedule = make_schedule("steady", 2, {d: 10.0 for d in DIRECTIONS}, seed=3, session_s=minutes * 60)
    t_s = np.arange(0, minutes * 60 + 0.5, 0.01)
    result = score_game(schedule, t_s, np.zeros_like(t_s), np.zeros_like(t_s))
    return store.training.record(patient_id, game="steady", level=2, settings=schedule.to_dict(), result=result,
                                 minutes=minutes, completed=True, session_id=session["id"], trial_id=trial_id,
                                 actor=CLINICIAN)


def _hub_programme(hub_store, identifier: str) -> dict:
    listed = hub_store.programmes.list_for_patient(hub_patient(hub_store, identifier)["id"])
    current = [a for a in listed if a["status"] in ("active", "paused")] or listed
    return hub_store.programmes.get(current[0]["id"])


def test_a_station_programme_and_its_changes_are_the_hubs_own(hub_store, station_factory):
    wall = WallClock()
    gym = station_factory("gym", wall)
    patient = gym.store.patients.create({"identifier": "P-PR1", "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    local = _assign(gym.store, patient["id"], wall)
    gym.sync_once()

    hub = _hub_programme(hub_store, "P-PR1")
    assert hub["template"] == local["template"] and hub["start_date"] == local["start_date"]
    assert [(s["number"], s["planned_date"], s["status"]) for s in hub["sessions"]] == [
        (s["number"], s["planned_date"], s["status"]) for s in local["sessions"]]
    assert [v["assessment_id"] for v in hub["visits"]] == [v["assessment_id"] for v in local["visits"]]

    # moves, misses, doses, pauses, resumes, ends at the station reach the hub as changes
    first, second, third = local["sessions"][:3]
    wall.advance(3600)
    gym.store.programmes.move_session(second["id"], {"planned_date": "2026-01-09"}, actor=CLINICIAN)
    gym.store.programmes.miss_session(first["id"], {"reason": "unwell"}, actor=CLINICIAN)
    gym.store.programmes.enter_dose(third["id"], {"minutes": 40, "rpe": 13}, actor=CLINICIAN)
    gym.store.programmes.pause(local["id"], {"from_date": "2026-01-10", "reason": "holiday"}, actor=CLINICIAN)
    gym.store.programmes.resume(local["id"], {"on_date": "2026-01-17"}, actor=CLINICIAN)
    gym.sync_once()
    at_station, hub = gym.store.programmes.get(local["id"]), _hub_programme(hub_store, "P-PR1")
    for key in ("planned_date", "status", "missed_reason", "dose", "dose_source", "recorded_by"):
        assert [s[key] for s in hub["sessions"]] == [s[key] for s in at_station["sessions"]], key
    assert [v["planned_date"] for v in hub["visits"]] == [v["planned_date"] for v in at_station["visits"]]
    assert [(p["paused_from"], p["resumed_on"], p["reason"]) for p in hub["pauses"]] == [
        ("2026-01-10", "2026-01-17", "holiday")]
    assert hub["status"] == "active"

    # the hub's programme page and report compute adherence and doses from the merged sessions
    # (each on its own "today": the hub's real clock is ahead of the station's test clock)
    document = programme_document(hub_store, hub["id"], builtin_protocols(), actor=HUB_USER)
    at_gym = programme_document(gym.store, local["id"], builtin_protocols(), actor=CLINICIAN)
    for key in ("sessions_done", "sessions_missed", "minutes_done"):
        assert document["adherence"]["overall"][key] == at_gym["adherence"]["overall"][key], key
    assert [(m["number"], m["reason"]) for m in document["adherence"]["missed"]] == [(1, "unwell")]
    assert [s.get("dose") for s in document["sessions"]] == [s.get("dose") for s in at_gym["sessions"]]
    sources = Hub(hub_store).programme_sources(hub["id"])
    assert sources["assigned_at"] == "gym" and sources["fields"]["session.3.state"] == "gym"

    gym.store.programmes.end(local["id"], {"reason": "discharged", "on_date": "2026-01-20"}, actor=CLINICIAN)
    gym.sync_once()
    hub = _hub_programme(hub_store, "P-PR1")
    assert (hub["status"], hub["ended_on"], hub["end_reason"]) == ("ended", "2026-01-20", "discharged")
    assert {s["status"] for s in hub["sessions"][3:]} == {"cancelled"}
    actions = [e["action"] for e in hub_store.audit.query(action="programme.update")
               if e["username"] == "station:gym"]
    assert actions and all("discharged" not in json.dumps(e) and "unwell" not in json.dumps(e)
                           for e in hub_store.audit.query(patient_id=hub["patient_id"], limit=200))


def test_last_writer_wins_per_field_between_a_station_and_the_hub(hub_store, station_factory):
    wall = WallClock()  # the station's clock: behind the hub's real one
    gym = station_factory("gym", wall)
    patient = gym.store.patients.create({"identifier": "P-PR2", "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    local = _assign(gym.store, patient["id"], wall)
    gym.sync_once()
    hub = _hub_programme(hub_store, "P-PR2")
    s1, s2, s3 = (s["id"] for s in hub["sessions"][:3])

    # the hub's user moves session 2 (now, by the hub's clock); the station, earlier by its clock,
    # moved the same session elsewhere and marked session 3 missed
    hub_store.programmes.move_session(s2, {"planned_date": "2026-01-08"}, actor=HUB_USER)
    gym.store.programmes.move_session(local["sessions"][1]["id"], {"planned_date": "2026-01-07"}, actor=CLINICIAN)
    gym.store.programmes.miss_session(local["sessions"][2]["id"], {"reason": "transport"}, actor=CLINICIAN)
    gym.sync_once()

    hub = _hub_programme(hub_store, "P-PR2")
    assert hub["sessions"][1]["planned_date"] == "2026-01-08"  # the hub's later edit stays
    assert hub["sessions"][2]["status"] == "missed"  # the station's edit of another field applies
    versions = Hub(hub_store).programme_versions(hub["id"])
    [kept] = [v for v in versions if v["kept"]]
    assert kept["kept"] == ["session.2.date"] and kept["incoming"]["session.2.date"] == "2026-01-07"
    assert kept["before"]["session.2.date"] == "2026-01-08"  # both versions kept
    [entry] = [e for e in hub_store.audit.query(action="programme.update") if e["username"] == "station:gym"
               and e["detail"].get("kept_newer")]
    assert entry["detail"]["kept_newer"] == ["session.2.date"] and "session.3.state" in entry["detail"]["changed"]

    # a later station edit (its clock now ahead of the hub's: counted as the hub's now) wins
    wall.t_s = 4_102_444_800.0  # 2100
    gym.store.programmes.move_session(local["sessions"][0]["id"], {"planned_date": "2026-01-03"}, actor=CLINICIAN)
    hub_store.programmes.move_session(s1, {"planned_date": "2026-01-04"}, actor=HUB_USER)
    gym.sync_once()
    assert _hub_programme(hub_store, "P-PR2")["sessions"][0]["planned_date"] == "2026-01-03"
    assert s3


def test_a_game_at_another_station_counts_for_the_programme_on_the_hub(hub_store, station_factory):
    wall = WallClock()
    gym, ward = station_factory("gym", wall), station_factory("ward", wall)
    patient = gym.store.patients.create({"identifier": "P-PR3", "birth_year": 1944, "sex": "M"}, actor=CLINICIAN)
    local = _assign(gym.store, patient["id"], wall)
    gym.sync_once()

    wall.advance(3600)
    pulled = ward.pull_patient("P-PR3", actor=CLINICIAN)
    game = _play(ward.store, pulled["id"], 3.0)
    assert "none" in game["dose"]  # the ward holds no programme of theirs
    ward.sync_once()

    hub = _hub_programme(hub_store, "P-PR3")
    [done] = [s for s in hub["sessions"] if s["status"] == "done"]
    # counted on the hub on another day than played (the hub's clock): the dose keeps the game's day
    assert done["number"] == 1 and done["dose"] == {"minutes": 3.0, "done_on": "2026-01-01"} and done["dose_source"] == "measured"
    [played] = hub_store.training.list_for_patient(hub["patient_id"])
    assert played["programme_session_id"] == done["id"] and done["trial_id"] == played["trial_id"]
    assert Hub(hub_store).programme_sources(hub["id"])["fields"]["session.1.state"] == "ward"

    # the gym's later change of another session leaves the ward's session as the hub has it
    gym.store.programmes.move_session(local["sessions"][3]["id"], {"planned_date": "2026-01-12"}, actor=CLINICIAN)
    gym.sync_once()
    hub = _hub_programme(hub_store, "P-PR3")
    assert hub["sessions"][0]["status"] == "done" and hub["sessions"][3]["planned_date"] == "2026-01-12"

    # the gym took the ward's session from the hub at that sync: its own next game counts for the
    # next session, linked on the hub to the hub's session
    assert gym.store.programmes.get(local["id"])["sessions"][0]["status"] == "done"
    wall.advance(600)
    counted = _play(gym.store, patient["id"], 2.0)["dose"]
    gym.sync_once()
    games = hub_store.training.list_for_patient(hub["patient_id"])
    hub = _hub_programme(hub_store, "P-PR3")
    assert counted["minutes"] == 2.0 and games[0]["programme_session_id"] == hub["sessions"][1]["id"]
    assert [s["dose"] for s in hub["sessions"][:2]] == [{"minutes": 3.0, "done_on": "2026-01-01"},
                                                        {"minutes": 2.0, "done_on": "2026-01-01"}]
    assert hub["sessions"][1]["recorded_by"] == CLINICIAN.username and len(games) == 2


def test_two_stations_assigning_one_patient_keep_the_last_programme_current(hub_store, station_factory):
    wall = WallClock()
    gym, ward = station_factory("gym", wall), station_factory("ward", wall)
    patient = gym.store.patients.create({"identifier": "P-PR4", "birth_year": 1944, "sex": "M"}, actor=CLINICIAN)
    _assign(gym.store, patient["id"], wall)
    gym.sync_once()
    wall.advance(86400)
    pulled = ward.pull_patient("P-PR4", actor=CLINICIAN)
    _assign(ward.store, pulled["id"], wall)
    ward.sync_once()

    listed = hub_store.programmes.list_for_patient(hub_patient(hub_store, "P-PR4")["id"])
    assert [a["status"] for a in listed] == ["active", "ended"]  # newest first
    assert listed[1]["end_reason"] == "replaced by the programme assigned at ward"
    assert {s["status"] for s in hub_store.programmes.get(listed[1]["id"])["sessions"]} == {"cancelled"}
    # the gym's later edits of its (replaced) programme do not bring it back
    [gym_programme] = gym.store.programmes.list_for_patient(patient["id"])
    first = gym.store.programmes.get(gym_programme["id"])["sessions"][0]
    gym.store.programmes.miss_session(first["id"], {"reason": "ill"}, actor=CLINICIAN)
    gym.sync_once()
    assert hub_store.programmes.get(listed[1]["id"])["status"] == "ended"


@pytest.fixture
def new_york(time_zone):
    """The clinic five hours behind UTC."""
    time_zone("EST+5")


def test_a_programme_replaced_on_the_hub_ends_on_the_clinics_day_not_utcs(hub_store, station_factory, new_york):
    wall = WallClock()  # 2026-01-01 00:00 UTC: 2025-12-31 19:00 in the clinic
    gym, ward = station_factory("gym", wall), station_factory("ward", wall)
    patient = gym.store.patients.create({"identifier": "P-PR6", "birth_year": 1944, "sex": "M"}, actor=CLINICIAN)
    assert _assign(gym.store, patient["id"], wall)["start_date"] == "2025-12-31"
    gym.sync_once()
    wall.advance(86400)  # 2026-01-01 19:00 in the clinic, 2026-01-02 in UTC
    _assign(ward.store, ward.pull_patient("P-PR6", actor=CLINICIAN)["id"], wall)
    ward.sync_once()
    listed = hub_store.programmes.list_for_patient(hub_patient(hub_store, "P-PR6")["id"])
    assert [a["status"] for a in listed] == ["active", "ended"]
    assert listed[1]["ended_on"] == "2026-01-01" == listed[0]["start_date"]


def test_a_repeated_programme_push_changes_nothing_and_erasure_takes_it(hub_store, station_factory):
    wall = WallClock()
    gym = station_factory("gym", wall)
    patient = gym.store.patients.create({"identifier": "P-PR5", "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    _assign(gym.store, patient["id"], wall)
    batch = gym.store.outbox.pending()
    gym.sync_once()
    hub_id = _hub_programme(hub_store, "P-PR5")["id"]
    before = hub_store.programmes.get(hub_id)
    answer = gym.client.request("POST", "/api/hub/push", body={
        "station_id": gym.store.outbox.station_id, "queue_length": 0, "last_error": None,
        "changes": [{"seq": c["seq"], "entity": c["entity"], "op": c["op"], "local_id": c["local_id"], "at": c["at"],
                     "payload": record_of(gym.store, c)} for c in batch]})
    assert answer["applied"] == 0 and answer["duplicates"] == len(batch)
    assert hub_store.programmes.get(hub_id) == before
    assert len(hub_store.programmes.list_for_patient(before["patient_id"])) == 1

    hub_store.patients.erase(before["patient_id"], "P-PR5", actor=HUB_USER)
    try:
        hub_store.programmes.get(hub_id)
        raise AssertionError("the erased patient's programme is still on the hub")
    except NotFound:
        pass
    with hub_store.db.read() as conn:
        assert conn.execute("SELECT count(*) FROM programme_field_times WHERE assignment_id = ?",
                            (hub_id,)).fetchone()[0] == 0
    # a change the station made before it learnt of the erasure is dropped by the hub
    gym.store.programmes.miss_session(before["sessions"][0]["id"], {"reason": "late"}, actor=CLINICIAN)
    [late] = gym.store.outbox.pending()
    answer = gym.client.request("POST", "/api/hub/push", body={
        "station_id": gym.store.outbox.station_id, "queue_length": 0, "last_error": None,
        "changes": [{"seq": late["seq"], "entity": "programme", "op": "upsert", "local_id": late["local_id"],
                     "at": late["at"], "payload": record_of(gym.store, late)}]})
    assert answer["applied"] == 1
    with hub_store.db.read() as conn:
        assert conn.execute("SELECT count(*) FROM programme_assignments").fetchone()[0] == 0
    gym.sync_once()  # and the station erases its copy
    try:
        gym.store.patients.get(patient["id"])
        raise AssertionError("the station kept the patient erased on the hub")
    except NotFound:
        pass


def test_a_programme_kept_as_a_document_by_an_older_hub_is_merged(hub_store, station_factory):
    wall = WallClock()
    gym = station_factory("gym", wall)
    patient = gym.store.patients.create({"identifier": "P-PR6", "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    local = _assign(gym.store, patient["id"], wall)
    gym.sync_once()
    hub_patient_id = hub_patient(hub_store, "P-PR6")["id"]
    station = Hub(hub_store).station_named("gym")
    legacy = gym.store.programmes.get(local["id"])  # what a hub before migration 9 kept
    with hub_store.db.write() as conn:
        conn.execute("DELETE FROM programme_assignments WHERE patient_id = ?", (hub_patient_id,))
        conn.execute("DELETE FROM hub_id_map WHERE entity = 'programme'")
        conn.execute("INSERT INTO hub_programmes (station, local_id, patient_id, doc, updated_at) VALUES (?, ?, ?, ?, ?)",
                     (station.id, local["id"], hub_patient_id, json.dumps(legacy), "2026-01-01T00:00:00Z"))
    Hub(hub_store)
    [merged] = hub_store.programmes.list_for_patient(hub_patient_id)
    assert hub_store.programmes.get(merged["id"])["start_date"] == local["start_date"]
    with hub_store.db.read() as conn:
        assert conn.execute("SELECT count(*) FROM hub_programmes").fetchone()[0] == 0


def _client(app, store, username: str, role: str):
    store.users.create(username, "a long clinic password 7", role, actor=Actor.system())
    client = app.test_client()
    csrf = client.get("/api/session").get_json()["csrf_token"]
    assert client.post("/api/login", json={"username": username, "password": "a long clinic password 7"},
                       headers={"X-CSRF-Token": csrf}).status_code == 200
    return client


def test_the_hubs_programme_page_says_where_it_was_assigned_and_recorded(hub_store, hub_app, station_factory):
    wall = WallClock()
    gym = station_factory("gym", wall)
    patient = gym.store.patients.create({"identifier": "P-PR7", "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    local = _assign(gym.store, patient["id"], wall)
    gym.store.programmes.enter_dose(local["sessions"][0]["id"], {"minutes": 30}, actor=CLINICIAN)
    gym.sync_once()
    hub_id = _hub_programme(hub_store, "P-PR7")["id"]
    hub_store.programmes.miss_session(_hub_programme(hub_store, "P-PR7")["sessions"][1]["id"], {"reason": "rain"},
                                      actor=HUB_USER)

    assert hub_app.test_client().get(f"/api/hub/assignments/{hub_id}/sources").status_code == 401
    clinician = _client(hub_app, hub_store, "physio", "clinician")
    answer = clinician.get(f"/api/hub/assignments/{hub_id}/sources")
    assert answer.status_code == 200
    sources = answer.get_json()
    assert sources["assigned_at"] == "gym" and sources["fields"]["session.1.state"] == "gym"
    assert "session.2.state" not in sources["fields"]  # missed on the hub itself
    seen = [(e["patient_id"], e["object"], e["detail"]) for e in hub_store.audit.query(username="physio", limit=100)
            if e["action"] == "programme.view"]  # audited, as the station's recorded-elsewhere (X1's F7)
    assert seen == [(_hub_programme(hub_store, "P-PR7")["patient_id"], f"programme:{hub_id}", {"sources": True})]
    assert clinician.get("/api/hub/assignments/999999/sources").status_code == 404
    assert len(hub_store.audit.query(username="physio", limit=100)) == len(seen) + 1  # + the sign-in; 404: none
    page = clinician.get(f"/assignments/{hub_id}")
    assert page.status_code == 200 and b'data-hub="yes"' in page.data
    document = clinician.get(f"/api/assignments/{hub_id}").get_json()
    assert [s["status"] for s in document["sessions"][:2]] == ["done", "missed"]

    assert clinician.get(f"/api/hub/assignments/{hub_id}/versions").status_code == 403
    admin = _client(hub_app, hub_store, "boss", "admin")
    assert admin.get(f"/api/hub/assignments/{hub_id}/versions").get_json()["versions"] == []


def test_the_assigning_station_takes_the_hubs_changes_of_its_programme(hub_store, station_factory):
    wall = WallClock()
    gym, ward = station_factory("gym", wall), station_factory("ward", wall)
    patient = gym.store.patients.create({"identifier": "P-PR8", "birth_year": 1944, "sex": "M"}, actor=CLINICIAN)
    local = _assign(gym.store, patient["id"], wall)
    gym.sync_once()
    hub = _hub_programme(hub_store, "P-PR8")

    # on the hub: a user moves session 4 and misses session 5; the ward plays a game that counts there
    hub_store.programmes.move_session(hub["sessions"][3]["id"], {"planned_date": "2026-01-13"}, actor=HUB_USER)
    hub_store.programmes.miss_session(hub["sessions"][4]["id"], {"reason": "flu"}, actor=HUB_USER)
    wall.advance(3600)
    pulled = ward.pull_patient("P-PR8", actor=CLINICIAN)
    _play(ward.store, pulled["id"], 3.0)
    ward.sync_once()

    report = gym.sync_once()
    assert report.programme_fields == 3 and "3 programme changes taken from the hub" in report.lines()
    mine = gym.store.programmes.get(local["id"])
    assert mine["sessions"][3]["planned_date"] == "2026-01-13"
    assert (mine["sessions"][4]["status"], mine["sessions"][4]["missed_reason"]) == ("missed", "flu")
    first = mine["sessions"][0]
    assert (first["status"], first["dose"], first["trial_id"]) == ("done", {"minutes": 3.0, "done_on": "2026-01-01"},
                                                                     None)  # the ward's trial, its day
    assert gym.store.outbox.length() == 0  # taken, not sent back

    # nothing is taken twice, and the gym's next change of another field leaves the hub's as they are
    assert gym.sync_once().programme_fields == 0
    gym.store.programmes.move_session(local["sessions"][6]["id"], {"planned_date": "2026-01-21"}, actor=CLINICIAN)
    gym.sync_once()
    hub = _hub_programme(hub_store, "P-PR8")
    assert hub["sessions"][0]["trial_id"] is not None and hub["sessions"][0]["dose"] == {"minutes": 3.0, "done_on": "2026-01-01"}
    assert hub["sessions"][3]["planned_date"] == "2026-01-13" and hub["sessions"][6]["planned_date"] == "2026-01-21"
    assert not [v for v in Hub(hub_store).programme_versions(hub["id"]) if v["kept"]]

    # a change of the same field at the gym after the hub's wins on both sides
    wall.t_s = 4_102_444_800.0
    gym.store.programmes.move_session(local["sessions"][3]["id"], {"planned_date": "2026-01-14"}, actor=CLINICIAN)
    gym.sync_once()
    assert _hub_programme(hub_store, "P-PR8")["sessions"][3]["planned_date"] == "2026-01-14"
    assert gym.store.programmes.get(local["id"])["sessions"][3]["planned_date"] == "2026-01-14"


def test_the_assigning_stations_programme_page_marks_what_was_taken_from_the_hub(hub_store, station_factory):
    from web import create_app
    from sync_support import CHEAP

    wall = WallClock()
    gym = station_factory("gym", wall)
    patient = gym.store.patients.create({"identifier": "P-PR9", "birth_year": 1944, "sex": "M"}, actor=CLINICIAN)
    local = _assign(gym.store, patient["id"], wall)
    gym.sync_once()
    hub = _hub_programme(hub_store, "P-PR9")
    hub_store.programmes.miss_session(hub["sessions"][0]["id"], {"reason": "flu"}, actor=HUB_USER)
    gym.sync_once()
    app = create_app({"STORE": gym.store, "SYNC": gym, "SECRET_KEY": "s", "PASSWORD_COST": CHEAP})
    client = _client(app, gym.store, "physio", "clinician")
    marks = client.get(f"/api/assignments/{local['id']}/recorded-elsewhere").get_json()
    assert marks == {"assigned_at": None, "fields": {"session.1.state": "hub"}}
    assert client.get("/api/assignments/9999/recorded-elsewhere").status_code == 404
    assert app.test_client().get(f"/api/assignments/{local['id']}/recorded-elsewhere").status_code == 401
    assert b"data-hub" not in client.get(f"/assignments/{local['id']}").data


def test_a_session_credited_by_its_run_reaches_the_hub_as_a_linked_dose_does(hub_store, station_factory):
    """A treadmill session started from the programme and stopped early counts at the station when
    its trial is stored (StoreSink.credit_programme_session); the hub has it done with the same dose
    and its own copy of the trial linked, as a dose linked by hand reaches it."""
    from station.protocols.sinks import StoreSink
    from sync_support import CALIBRATION, frames

    wall = WallClock()
    gym = station_factory("gym", wall)
    patient = gym.store.patients.create({"identifier": "P-PR9", "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    template = builtin_programmes(builtin_protocols())["backward-walking-stroke"]
    local = gym.store.programmes.assign(patient["id"], template, today_of(wall), actor=CLINICIAN)
    gym.sync_once()
    first, second = local["sessions"][:2]
    walks = []
    for session in (first, second):
        station_session = gym.store.sessions.create(patient["id"], {"label": "treadmill"}, actor=CLINICIAN)
        writer = gym.store.trials.start_trial(station_session["id"], "backward-treadmill", "backward", CALIBRATION,
                                              100.0, actor=CLINICIAN)
        writer.append(frames(300))
        writer.finish({"kind": "walk", "fs_hz": 100.0, "samples": 300, "profile": "walk", "version": "t",
                       "metrics": {"walking_min": 0.35, "steps": 33, "cadence_steps_min": 96.0, "planned_min": 30.0},
                       "trial": {"end_reason": "operator_ended"}}, valid=True)
        walks.append(writer.trial_id)
    sink = StoreSink(gym.store.trials, 0, CALIBRATION, CLINICIAN, programmes=gym.store.programmes,
                     programme_session_id=first["id"])
    assert sink.credit_programme_session(walks[0])["minutes"] == 0.35
    gym.store.programmes.measure_dose(second["id"], gym.store.trials.get(walks[1]), actor=CLINICIAN)  # by hand
    gym.sync_once()

    hub = _hub_programme(hub_store, "P-PR9")
    hub_walks = sorted(t["id"] for t in hub_trials(hub_store, "P-PR9"))
    assert len(hub_walks) == 2
    for number, hub_trial in ((0, hub_walks[0]), (1, hub_walks[1])):
        s = hub["sessions"][number]
        assert (s["status"], s["dose_source"], s["trial_id"]) == ("done", "measured", hub_trial)
        assert s["dose"] == {"minutes": 0.35, "steps": 33, "cadence_steps_min": 96.0, "done_on": "2026-01-01"}
    assert hub["sessions"][2]["status"] == "planned"
    document = programme_document(hub_store, hub["id"], builtin_protocols(), actor=HUB_USER)
    assert document["adherence"]["overall"]["sessions_done"] == 2
    assert document["adherence"]["overall"]["minutes_done"] == 0.7
