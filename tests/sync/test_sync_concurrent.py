"""Three stations recording and syncing at the same time to one hub lose nothing."""

from __future__ import annotations

import threading

from station.store.audit import Actor

from sync_support import CLINICIAN, add_trial

PATIENTS_PER_STATION = 4
TRIALS_PER_PATIENT = 2


def _work(sync, name: str, errors: list) -> None:
    try:
        for i in range(PATIENTS_PER_STATION):
            patient = sync.store.patients.create({"identifier": f"{name}-{i}", "birth_year": 1950, "sex": "F"},
                                                 actor=CLINICIAN)
            session = sync.store.sessions.create(patient["id"], {}, actor=CLINICIAN)
            for k in range(TRIALS_PER_PATIENT):
                add_trial(sync.store, session["id"], 450 + 10 * i + k, seed=i * 10 + k)
            sync.sync_once()  # syncing while the other stations record and sync
        shared = sync.pull_patient("shared", actor=CLINICIAN)
        session = sync.store.sessions.create(shared["id"], {"label": name}, actor=CLINICIAN)
        add_trial(sync.store, session["id"], 300)
        sync.sync_once()
    except BaseException as exc:  # reported by the main thread
        errors.append(exc)


def test_three_stations_syncing_concurrently_lose_nothing(hub_store, station_factory):
    hub_store.patients.create({"identifier": "shared", "birth_year": 1944, "sex": "M"}, actor=CLINICIAN)
    stations = {name: station_factory(name) for name in ("gym", "ward", "clinic")}
    errors: list = []
    threads = [threading.Thread(target=_work, args=(sync, name, errors)) for name, sync in stations.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    for name, sync in stations.items():
        assert sync.store.outbox.length() == 0
        for i in range(PATIENTS_PER_STATION):
            identifier = f"{name}-{i}"
            local = sync.store.patients.view(sync.store.patients.get_by_identifier(identifier)["id"], actor=CLINICIAN)
            on_hub = hub_store.patients.view(hub_store.patients.get_by_identifier(identifier)["id"], actor=Actor.system())
            local_trials = [t for s in local["sessions"] for t in s["trials"]]
            hub_trials = [t for s in on_hub["sessions"] for t in s["trials"]]
            assert sorted(t["frame_count"] for t in hub_trials) == sorted(t["frame_count"] for t in local_trials)
            for lt, ht in zip(sorted(local_trials, key=lambda t: t["frame_count"]),
                              sorted(hub_trials, key=lambda t: t["frame_count"])):
                assert hub_store.trials.frames(ht["id"]).tobytes() == sync.store.trials.frames(lt["id"]).tobytes()
    assert hub_store.patients.search(limit=500)["total"] == 3 * PATIENTS_PER_STATION + 1
    shared = hub_store.patients.view(hub_store.patients.get_by_identifier("shared")["id"], actor=Actor.system())
    assert sorted(s["label"] for s in shared["sessions"]) == ["clinic", "gym", "ward"]
    assert all(len(s["trials"]) == 1 for s in shared["sessions"])
