"""Training sessions (biofeedback games) reach the hub like every other record: queued in the
game's own transaction, applied in order after their patient, visit and trial, idempotent, and
erased with the patient on the hub and at every station."""

from __future__ import annotations

import numpy as np
import pytest

from station.analysis.biofeedback import DIRECTIONS, make_schedule, score_game
from station.programmes.loader import builtin_programmes
from station.protocols.loader import builtin_protocols
from station.store.audit import Actor
from station.store.db import NotFound
from station.store.programmes import today_of
from station.sync.client import SyncError
from station.sync.hub import Hub
from station.sync.records import record_of

from sync_support import CLINICIAN, WallClock, add_trial, hub_patient, hub_trials


def _game(game: str = "steady", level: int = 2, minutes: float = 1.0, seed: int = 11) -> tuple[dict, dict]:
    """A game's schedule and its scored result (the patient stood still at the centre)."""
    schedule = make_schedule(game, level, {d: 10.0 for d in DIRECTIONS}, seed=seed, session_s=minutes * 60)
    t_s = np.arange(0, minutes * 60 + 0.5, 0.01)
    return schedule.to_dict(), score_game(schedule, t_s, np.zeros_like(t_s), np.zeros_like(t_s))


def _play(store, patient_id: int, session_id: int | None, minutes: float, game: str = "steady", level: int = 2,
          n_frames: int = 300) -> dict:
    """A game played as the station plays one: its trial recorded first, then the game."""
    trial_id = add_trial(store, session_id, n_frames) if session_id is not None else None
    settings, result = _game(game, level, minutes)
    return store.training.record(patient_id, game=game, level=level, settings=settings, result=result,
                                 minutes=minutes, completed=True, session_id=session_id, trial_id=trial_id,
                                 actor=CLINICIAN)


def _on_balance_programme(store, patient_id: int, wall) -> dict:
    template = builtin_programmes(builtin_protocols())["balance-training"]
    return store.programmes.assign(patient_id, template, today_of(wall), actor=CLINICIAN)


def _signed_in(app, store):
    store.users.create("ana", "a long clinician password 7", "clinician", actor=Actor.system())
    client = app.test_client()
    csrf = client.get("/api/session").get_json()["csrf_token"]
    answer = client.post("/api/login", json={"username": "ana", "password": "a long clinician password 7"},
                         headers={"X-CSRF-Token": csrf})
    assert answer.status_code == 200
    return client


def test_games_reach_the_hub_with_their_visit_trial_and_the_programmes_dose(hub_store, hub_app, station_factory):
    wall = WallClock()
    gym = station_factory("gym", wall)
    patient = gym.store.patients.create({"identifier": "P-T1", "birth_year": 1948, "sex": "M"}, actor=CLINICIAN)
    programme = _on_balance_programme(gym.store, patient["id"], wall)
    session = gym.store.sessions.create(patient["id"], {"label": "training"}, actor=CLINICIAN)
    first = _play(gym.store, patient["id"], session["id"], 2.0, "steady", 2)
    second = _play(gym.store, patient["id"], session["id"], 3.0, "reach", 3)  # the same visit: one dose of 5 min
    assert second["dose"]["minutes"] == 5.0

    report = gym.sync_once()

    assert report.sent["training"] == 2 and report.queue_length == 0
    on_hub = hub_patient(hub_store, "P-T1")
    games = hub_store.training.list_for_patient(on_hub["id"])
    assert [g["game"] for g in games] == ["reach", "steady"]  # newest first, as at the station
    [hub_session] = hub_store.patients.view(on_hub["id"], actor=Actor.system())["sessions"]
    hub_trial_ids = sorted(t["id"] for t in hub_trials(hub_store, "P-T1"))
    for local, remote in ((second, games[0]), (first, games[1])):
        for key in ("game", "level", "settings", "result", "score", "minutes", "completed", "day", "created_at",
                    "created_by"):
            assert remote[key] == local[key], key
        assert remote["patient_id"] == on_hub["id"] and remote["session_id"] == hub_session["id"]
    [hub_programme] = hub_store.programmes.list_for_patient(on_hub["id"])
    [done] = [s for s in hub_store.programmes.get(hub_programme["id"])["sessions"] if s["status"] == "done"]
    assert {g["programme_session_id"] for g in games} == {done["id"]}  # the hub's programme session
    assert sorted(g["trial_id"] for g in games) == hub_trial_ids  # each game's own trial, mapped to the hub's
    assert games[0]["result"]["targets"] and "hit" in games[0]["result"]["targets"][0]
    audit = hub_store.audit.query(patient_id=on_hub["id"], action="training.record", username="station:gym")
    assert len(audit) == 2 and {e["username"] for e in audit} == {"station:gym"}

    # the hub's programme gives the dose the hub's games add up to, measured in the hub's trial
    assert programme["id"] and done["dose"] == {"minutes": sum(g["minutes"] for g in games), "done_on": "2026-01-01"}
    assert done["dose"]["minutes"] == 5.0
    assert done["dose_source"] == "measured" and done["trial_id"] in hub_trial_ids

    # the hub's patient page reads its training history from the hub's store
    client = _signed_in(hub_app, hub_store)
    answer = client.get(f"/api/patients/{on_hub['id']}/training")
    assert answer.status_code == 200
    assert [(g["game"], g["trial_id"]) for g in answer.get_json()["sessions"]] == [
        (g["game"], g["trial_id"]) for g in games]


def test_a_game_without_a_visit_and_a_repeated_push_change_nothing_twice(hub_store, station_factory):
    gym = station_factory("gym")
    patient = gym.store.patients.create({"identifier": "P-T2", "birth_year": 1951, "sex": "F"}, actor=CLINICIAN)
    _play(gym.store, patient["id"], None, 1.5, "track", 1)
    batch = gym.store.outbox.pending()
    assert [c["entity"] for c in batch] == ["patient", "training"]  # queued with the game
    gym.sync_once()
    on_hub = hub_patient(hub_store, "P-T2")
    before = hub_store.training.list_for_patient(on_hub["id"])
    applied_before = Hub(hub_store).stations()[0]["changes_applied"]
    assert before[0]["session_id"] is None and before[0]["trial_id"] is None and before[0]["minutes"] == 1.5

    # the same changes sent again, as a station does after losing the hub's answer
    answer = gym.client.request("POST", "/api/hub/push", body={
        "station_id": gym.store.outbox.station_id, "queue_length": 0, "last_error": None,
        "changes": [{"seq": c["seq"], "entity": c["entity"], "op": c["op"], "local_id": c["local_id"], "at": c["at"],
                     "payload": record_of(gym.store, c)} for c in batch]})

    assert answer == {"applied_through": batch[-1]["seq"], "applied": 0, "duplicates": 2, "unmatched_erasures": []}
    assert hub_store.training.list_for_patient(on_hub["id"]) == before
    assert Hub(hub_store).stations()[0]["changes_applied"] == applied_before
    assert len(hub_store.audit.query(action="training.record", username="station:gym")) == 1


def test_a_game_the_hub_cannot_take_is_refused_with_its_reason(hub_store, station_factory):
    gym = station_factory("gym")
    patient = gym.store.patients.create({"identifier": "P-T3", "birth_year": 1960, "sex": "F"}, actor=CLINICIAN)
    session = gym.store.sessions.create(patient["id"], {}, actor=CLINICIAN)
    gym.sync_once()
    played = _play(gym.store, patient["id"], session["id"], 1.0)
    [change] = [c for c in gym.store.outbox.pending() if c["entity"] == "training"]
    payload = record_of(gym.store, change)

    def push(**changed):
        body = {"station_id": gym.store.outbox.station_id, "changes": [
            {"seq": change["seq"], "entity": "training", "op": "upsert", "local_id": played["id"],
             "at": change["at"], "payload": {**payload, **changed}}]}
        return gym.client.request("POST", "/api/hub/push", body=body)

    with pytest.raises(SyncError, match="HTTP 422.*level: must be 1 to 5"):
        push(level=9)
    with pytest.raises(SyncError, match="HTTP 422.*result: must be a JSON object"):
        push(result="[1, 2]")
    with pytest.raises(SyncError, match="HTTP 409.*trial the hub does not know"):
        push()  # its trial was not pushed before it
    assert "does not know" in Hub(hub_store).stations()[0]["last_error"]
    assert hub_store.training.list_for_patient(hub_patient(hub_store, "P-T3")["id"]) == []
    report = gym.sync_once()  # in order: the trial, then the game
    assert report.sent["trial"] == 1 and report.sent["training"] == 1
    assert len(hub_store.training.list_for_patient(hub_patient(hub_store, "P-T3")["id"])) == 1


def test_erasure_on_the_hub_takes_the_games_everywhere_and_late_ones_are_dropped(hub_store, station_factory):
    gym, ward = station_factory("gym"), station_factory("ward")
    patient = gym.store.patients.create({"identifier": "P-TE", "birth_year": 1944, "sex": "F"}, actor=CLINICIAN)
    session = gym.store.sessions.create(patient["id"], {}, actor=CLINICIAN)
    _play(gym.store, patient["id"], session["id"], 2.0)
    gym.sync_once()
    local_ward = ward.pull_patient("P-TE", actor=CLINICIAN)
    ward.sync_once()
    on_hub = hub_patient(hub_store, "P-TE")
    assert len(hub_store.training.list_for_patient(on_hub["id"])) == 1

    # the ward plays a game with them while it is offline, and the hub erases them meanwhile
    ward.client._send.cut_after(0)
    _play(ward.store, local_ward["id"], None, 1.0, "track", 1)
    late = [c for c in ward.store.outbox.pending() if c["entity"] == "training"]
    hub_store.patients.erase(on_hub["id"], "P-TE", actor=CLINICIAN)
    with hub_store.db.read() as conn:
        assert conn.execute("SELECT count(*) FROM training_sessions").fetchone()[0] == 0

    assert gym.sync_once().erased == 1
    with pytest.raises(NotFound):
        gym.store.training.get(1)
    # had the ward's game been sent before it learnt of the erasure, the hub drops it, without error
    station = Hub(hub_store).station_named("ward")
    answer = Hub(hub_store).push(station, {"station_id": ward.store.outbox.station_id, "changes": [
        {"seq": c["seq"], "entity": "training", "op": "upsert", "local_id": c["local_id"], "at": c["at"],
         "payload": record_of(ward.store, c)} for c in late]})
    assert answer["applied"] == 1
    ward.client._send.restore()
    report = ward.sync_once()  # back online: it erases them, and their game never leaves
    assert report.erased == 1 and report.sent == {}
    assert ward.store.outbox.length() == 0
    with hub_store.db.read() as conn:
        assert conn.execute("SELECT count(*) FROM training_sessions").fetchone()[0] == 0
    with ward.store.db.read() as conn:
        assert conn.execute("SELECT count(*) FROM training_sessions").fetchone()[0] == 0


def test_a_station_upgraded_with_games_sends_them_at_its_first_sync(hub_store, station_factory, tmp_path):
    from station.store.store import Store
    from station.sync.syncer import StationSync

    gym = station_factory("gym")
    patient = gym.store.patients.create({"identifier": "OLD-T", "birth_year": 1940, "sex": "M"}, actor=CLINICIAN)
    session = gym.store.sessions.create(patient["id"], {}, actor=CLINICIAN)
    _play(gym.store, patient["id"], session["id"], 2.5, "reach", 1)
    with gym.store.db.write() as conn:  # as the database was before it had an outbox
        for table in ("sync_outbox", "sync_identity", "sync_state"):
            conn.execute(f"DELETE FROM {table}")
    gym.store.close()
    gym.store = Store.open(tmp_path / "gym")
    assert [c["entity"] for c in gym.store.outbox.pending()] == ["patient", "session", "trial", "training"]
    StationSync(gym.store, gym.client).sync_once()
    [game] = hub_store.training.list_for_patient(hub_patient(hub_store, "OLD-T")["id"])
    assert (game["game"], game["minutes"], game["trial_id"]) == ("reach", 2.5, hub_trials(hub_store, "OLD-T")[0]["id"])


def test_the_outbox_upgrade_never_gives_a_change_number_twice(tmp_path):
    """Migration 8 rebuilds the outbox on SQLite: the numbers already given (pushed and dropped
    from the queue) stay given, and what was queued stays queued."""
    import sqlite3

    from station.store.migrations import MIGRATIONS, migrate

    conn = sqlite3.connect(tmp_path / "station.db", isolation_level=None)
    migrate(conn, MIGRATIONS[:7])
    for local_id in range(1, 6):
        conn.execute("INSERT INTO sync_outbox (entity, local_id, patient_id, op, at) VALUES ('patient', ?, ?, 'create',"
                     " '2026-01-01T00:00:00.000Z')", (local_id, local_id))
    conn.execute("DELETE FROM sync_outbox WHERE seq <> 3")  # 1, 2, 4 and 5 pushed and acknowledged
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO sync_outbox (entity, local_id, op, at) VALUES ('training', 1, 'upsert', 'x')")

    assert 8 in migrate(conn)

    assert conn.execute("SELECT seq, entity, local_id FROM sync_outbox").fetchall() == [(3, "patient", 3)]
    conn.execute("INSERT INTO sync_outbox (entity, local_id, op, at) VALUES ('training', 1, 'upsert', 'x')")
    assert conn.execute("SELECT max(seq) FROM sync_outbox").fetchone()[0] == 6
    conn.execute("DELETE FROM sync_outbox")
    conn.execute("INSERT INTO sync_outbox (entity, local_id, op, at) VALUES ('training', 2, 'upsert', 'x')")
    assert conn.execute("SELECT seq FROM sync_outbox").fetchone()[0] == 7
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'sync_outbox_patient'").fetchone()[0] == 1
    conn.close()


def test_sync_once_names_training_games_in_words():
    from station.sync.syncer import SyncReport

    report = SyncReport()
    report.sent = {"training": 2, "trial": 1}
    assert report.lines()[0].startswith("sent 2 training games, 1 trial ")
    report.sent = {"training": 1}
    assert report.lines()[0].startswith("sent 1 training game ")
