"""Erasure on the hub reaches every station: online at its next sync, offline when it comes back,
and a station recording the patient (or with a test of theirs open) erases once it has ended."""

from __future__ import annotations

import pytest

from station.store.db import NotFound
from station.sync.client import HubUnreachable
from station.sync.hub import Hub

from sync_support import CALIBRATION, CLINICIAN, add_trial, frames, hub_patient, hub_trials, station_health


def _shared_patient(hub_store, gym, ward, identifier="P-E"):
    patient = gym.store.patients.create({"identifier": identifier, "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    session = gym.store.sessions.create(patient["id"], {}, actor=CLINICIAN)
    add_trial(gym.store, session["id"], 400)
    gym.sync_once()
    ward.pull_patient(identifier, actor=CLINICIAN)
    ward.sync_once()
    return hub_patient(hub_store, identifier)


def test_an_erasure_on_the_hub_reaches_online_and_offline_stations(hub_store, station_factory):
    gym, ward = station_factory("gym"), station_factory("ward")
    on_hub = _shared_patient(hub_store, gym, ward)
    ward.client._send.cut_after(0)  # the ward is offline
    hub_store.patients.erase(on_hub["id"], "P-E", actor=CLINICIAN)

    report = gym.sync_once()
    assert report.erased == 1
    with pytest.raises(NotFound):
        gym.store.patients.get_by_identifier("P-E")
    assert gym.store.outbox.length() == 0  # the hub's erasure is not sent back
    assert gym.store.audit.query(action="patient.erase")[0]["username"] == "hub"

    # meanwhile the offline ward measures the patient again
    local = ward.store.patients.get_by_identifier("P-E")
    session = ward.store.sessions.create(local["id"], {}, actor=CLINICIAN)
    add_trial(ward.store, session["id"], 200)
    with pytest.raises(HubUnreachable):
        ward.sync_once()
    assert ward.store.patients.get_by_identifier("P-E")["id"] == local["id"]
    ward.client._send.restore()
    report = ward.sync_once()  # back online: erased, and what it recorded of them never leaves
    assert report.erased == 1 and report.sent == {}
    with pytest.raises(NotFound):
        ward.store.patients.get_by_identifier("P-E")
    assert hub_store.patients.search(archived="all")["total"] == 0
    assert ward.store.outbox.length() == 0


def test_a_station_recording_the_patient_erases_after_the_recording(hub_store, station_factory):
    gym, ward = station_factory("gym"), station_factory("ward")
    on_hub = _shared_patient(hub_store, gym, ward, "P-R")
    local = ward.store.patients.get_by_identifier("P-R")
    session = ward.store.sessions.create(local["id"], {}, actor=CLINICIAN)
    writer = ward.store.trials.start_trial(session["id"], "romberg", "eyes_open", CALIBRATION, 100.0, actor=CLINICIAN)
    writer.append(frames(100))
    hub_store.patients.erase(on_hub["id"], "P-R", actor=CLINICIAN)
    report = ward.sync_once()  # the recording goes on: never blocked, never cut by the sync
    assert report.deferred_erasures == 1 and report.erased == 0
    assert ("1 erasure(s) from the hub wait here: a test of the patient is open on this station or a trial of theirs "
            "records; applied at the next sync once it has ended") in report.lines()  # what `sync --once` prints
    writer.append(frames(200)[100:])
    writer.finish(None, valid=True)
    assert writer.frames_committed == 200
    # between trials nothing records, yet the test open on the live page holds the patient too
    release = ward.store.patients.open_tests.hold(local["id"], "Romberg test")
    assert ward.sync_once().deferred_erasures == 1
    release()
    report = ward.sync_once()
    assert report.erased == 1
    with pytest.raises(NotFound):
        ward.store.patients.get_by_identifier("P-R")
    assert hub_store.patients.search(archived="all")["total"] == 0
    with hub_store.db.read() as conn:  # what the ward sent of them meanwhile was dropped, frames too
        assert conn.execute("SELECT count(*) FROM hub_uploads").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM trials").fetchone()[0] == 0


def test_an_erasure_at_the_station_that_registered_them_erases_on_the_hub_and_at_the_others(hub_store,
                                                                                         station_factory):
    gym, ward = station_factory("gym"), station_factory("ward")
    _shared_patient(hub_store, gym, ward, "P-S")
    local = gym.store.patients.get_by_identifier("P-S")
    gym.store.patients.erase(local["id"], "P-S", actor=CLINICIAN)
    assert gym.sync_once().unmatched_erasures == 0
    assert hub_store.patients.search(archived="all")["total"] == 0
    assert len(Hub(hub_store).tombstones(0)["tombstones"]) == 1
    assert ward.sync_once().erased == 1
    with pytest.raises(NotFound):
        ward.store.patients.get_by_identifier("P-S")
    assert gym.sync_once().erased == 0  # its own erasure comes back as a tombstone: nothing left to erase


def _push(sync, seq: int, op: str, local_id: int, payload: dict, at: str = "2026-12-01T10:00:00Z") -> dict:
    """One change pushed with ``sync``'s token as a script holding it would (X7's reproduction)."""
    change = {"seq": seq, "entity": "patient", "op": op, "local_id": local_id, "at": at, "payload": payload}
    return sync.client.request("POST", "/api/hub/push", body={"station_id": sync.store.outbox.station_id,
                                                              "changes": [change]})


def test_a_stolen_token_cannot_erase_a_patient_it_found_by_identifier(hub_store, hub_app, station_factory):
    """X7's finding L1 (session 28), run as found: with the ward's token, the clinic key (200), one
    push registering a patient P-0042 (the gym's: found by identifier, one lookup of the budget) and
    one push erasing it, keyed with the clinic key: the old code erased P-0042 on the hub and its
    tombstone erased them at every station. Now a station erases on the hub only a patient it
    registered there (the hub's audit log: patient.create by station:NAME); the erasure is taken
    without erasing (the queue goes on), audited with its reason, and the station's words say
    that a hub administrator erases such a patient on the hub, on their page; that erasure, made
    there, reaches every station."""
    from station.sync.records import clinic_key_id, tombstone_key
    from station.store import outbox_admin
    from station.store.outbox import identifier_hash

    from sync_support import hub_admin_client

    gym, ward, thief = station_factory("gym"), station_factory("ward"), station_factory("thief")
    patient = gym.store.patients.create({"identifier": "P-0042", "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    add_trial(gym.store, gym.store.sessions.create(patient["id"], {}, actor=CLINICIAN)["id"], 200)
    gym.sync_once()
    on_hub = hub_patient(hub_store, "P-0042")

    key = thief.client.request("GET", "/api/hub/clinic-key")["key"]
    _push(thief, 1, "create", 7, {"identifier": "P-0042", "birth_year": 1999, "sex": "M"})
    answer = _push(thief, 2, "erase", 7, {"identifier_key": tombstone_key(key, identifier_hash("P-0042")),
                                          "key_id": clinic_key_id(key), "unsent_trials": []})
    assert hub_patient(hub_store, "P-0042")["birth_year"] == 1950  # before: erased (NotFound)
    assert answer["unmatched_erasures"] == [{"seq": 2, "hub_patient_id": on_hub["id"], "why": "not_registered_here"}]
    assert answer["applied_through"] == 2  # taken: the station's later changes go on
    assert len(hub_trials(hub_store, "P-0042")) == 1
    assert Hub(hub_store).tombstones(0)["tombstones"] == []
    assert gym.sync_once().erased == 0 and gym.store.patients.get(patient["id"])["birth_year"] == 1950
    [entry] = hub_store.audit.query(action="sync.erasure_unmatched")
    assert (entry["username"], entry["patient_id"]) == ("station:thief", on_hub["id"])
    assert entry["detail"]["why"] == "not_registered_here"

    # the ward pulled the patient and erases them: the same, and its words say who erases and where
    pulled = ward.pull_patient("P-0042", actor=CLINICIAN)
    ward.sync_once()
    ward.store.patients.erase(pulled["id"], "P-0042", actor=CLINICIAN)
    report = ward.sync_once()
    assert report.unmatched_erasures == 1 and ward.store.outbox.length() == 0
    assert hub_patient(hub_store, "P-0042")["id"] == on_hub["id"]
    assert "a station erases there only a patient it registered there" in " ".join(report.lines())
    [kept] = outbox_admin.skipped_changes(ward.store)
    assert kept.reason.startswith(f"the hub did not erase its patient #{on_hub['id']} (erased here as patient "
                                  f"#{pulled['id']}): this station did not register them on the hub")
    assert (f"a hub administrator erases patient #{on_hub['id']} on the hub, on their page (/patients/{on_hub['id']}, "
            "Erase…, signed in as an administrator), which erases them at every station") in kept.reason
    assert "another identifier" not in kept.reason and "P-0042" not in kept.reason
    [here] = ward.store.audit.query(action="sync.erasure_unmatched")
    assert here["detail"]["why"] == "not_registered_here"
    health = station_health(ward)["erasures_not_applied"]
    assert health["count"] == 1 and "a station erases on the hub only a patient it registered there" in health["what_to_do"]

    # what the words point to: a hub administrator erases them on the hub; every station follows
    admin = hub_admin_client(hub_store, hub_app)
    csrf = admin.get("/api/session").get_json()["csrf_token"]
    erased = admin.delete(f"/api/patients/{on_hub['id']}", json={"confirm_identifier": "P-0042"},
                          headers={"X-CSRF-Token": csrf})
    assert erased.status_code == 200
    assert gym.sync_once().erased == 1
    with pytest.raises(NotFound):
        gym.store.patients.get(patient["id"])


def test_a_found_patients_birth_year_rewritten_by_a_stolen_token_is_kept_as_a_version(hub_store, hub_app,
                                                                                    station_factory):
    """X7's L1, the rewrite: the thief's later update of the patient it found is applied (a pulled
    patient is legitimately corrected at another station, and the hub cannot tell which), but the
    hub's former values are kept as a version an administrator sees (GET
    /api/hub/patients/<id>/versions) and puts back with one request (POST .../versions/<id>/undo, an
    edit on the hub), which then reaches every station."""
    from sync_support import hub_admin_client

    gym, thief = station_factory("gym"), station_factory("thief")
    patient = gym.store.patients.create({"identifier": "P-0043", "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    gym.sync_once()
    on_hub = hub_patient(hub_store, "P-0043")
    _push(thief, 1, "create", 7, {"identifier": "P-0043", "birth_year": 1950, "sex": "F"})
    _push(thief, 2, "update", 7, {"birth_year": 1999}, at="2030-01-01T00:00:00Z")
    assert hub_patient(hub_store, "P-0043")["birth_year"] == 1999
    admin = hub_admin_client(hub_store, hub_app)
    versions = admin.get(f"/api/hub/patients/{on_hub['id']}/versions").get_json()["versions"]
    [rewrite] = [v for v in versions if v["station"] == "thief" and v["incoming"] == {"birth_year": 1999}]
    assert rewrite["before"] == {"birth_year": 1950} and rewrite["kept"] == []
    csrf = admin.get("/api/session").get_json()["csrf_token"]
    undo = f"/api/hub/patients/{on_hub['id']}/versions/{rewrite['id']}/undo"
    assert admin.post(undo).status_code == 403  # no CSRF token
    undone = admin.post(undo, headers={"X-CSRF-Token": csrf})
    assert undone.status_code == 200
    assert undone.get_json() == {"patient_id": on_hub["id"], "version": rewrite["id"], "put_back": ["birth_year"],
                                 "changed_since": [], "said": "Put back birth year 1999 → 1950 (as before station "
                                 "thief's change); every station holding the patient takes it at its next sync."}
    assert hub_patient(hub_store, "P-0043")["birth_year"] == 1950
    gym.sync_once()
    assert gym.store.patients.get(patient["id"])["birth_year"] == 1950
    again = admin.post(undo, headers={"X-CSRF-Token": csrf}).get_json()  # changed since: left, and said
    assert (again["put_back"], again["changed_since"]) == ([], ["birth_year"])
    [entry] = [e for e in hub_store.audit.query(action="patient.update", patient_id=on_hub["id"])
               if e["username"] == "boss"]
    assert entry["detail"] == {"changed": ["birth_year"]}


@pytest.mark.parametrize("erased_on", ["station", "hub"])
def test_frame_parts_of_an_erased_patient_do_not_stay_on_the_hub(hub_store, station_factory, erased_on):
    gym = station_factory("gym")
    patient = gym.store.patients.create({"identifier": "P-U", "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    gym.sync_once()
    session = gym.store.sessions.create(patient["id"], {}, actor=CLINICIAN)
    add_trial(gym.store, session["id"], 5000)  # 6 parts
    gym.client._send.cut_after(5)  # tombstones, parts status, 3 parts: then cut
    with pytest.raises(HubUnreachable):
        gym.sync_once()
    with hub_store.db.read() as conn:
        assert conn.execute("SELECT count(*) FROM hub_uploads").fetchone()[0] == 3
    gym.client._send.restore()
    if erased_on == "station":
        gym.store.patients.erase(patient["id"], "P-U", actor=CLINICIAN)
    else:
        hub_store.patients.erase(hub_patient(hub_store, "P-U")["id"], "P-U", actor=CLINICIAN)
    gym.sync_once()
    with hub_store.db.read() as conn:
        assert conn.execute("SELECT count(*) FROM hub_uploads").fetchone()[0] == 0
    assert hub_store.patients.search(archived="all")["total"] == 0
    assert gym.store.outbox.length() == 0


def _erased_after_a_rename_on_the_hub(hub_store, gym):
    """The gym's P-A renamed P-A2 on the hub before the gym took it; the gym erases P-A, then
    registers P-B with a trial: (the gym's patient, the hub's record of them)."""
    patient = gym.store.patients.create({"identifier": "P-A", "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    session = gym.store.sessions.create(patient["id"], {}, actor=CLINICIAN)
    add_trial(gym.store, session["id"], 200)
    gym.sync_once()
    on_hub = hub_patient(hub_store, "P-A")
    hub_store.patients.update(on_hub["id"], {"identifier": "P-A2"}, actor=CLINICIAN)
    gym.store.patients.erase(patient["id"], "P-A", actor=CLINICIAN)
    later = gym.store.patients.create({"identifier": "P-B", "birth_year": 1960, "sex": "M"}, actor=CLINICIAN)
    add_trial(gym.store, gym.store.sessions.create(later["id"], {}, actor=CLINICIAN)["id"], 200, 1)
    return patient, on_hub


_health = station_health


def test_an_erasure_of_a_patient_renamed_on_the_hub_does_not_block_the_queue(hub_store, station_factory, capsys,
                                                                            monkeypatch):
    """The hub renamed P-A to P-A2 before the gym took it; the gym erases P-A, then registers P-B.
    The erasure names P-A, and the hub holds the gym's patient as P-A2: it does not erase them (the
    erasure names someone else than its record; erasing there is a hub administrator's decision),
    and since that never changes, it takes the erasure instead of refusing it at every push. The
    old code refused it (HTTP 422 'does not match') at every sync: P-B and everything after never
    left the gym until someone ran `sync --skip`. Audited at both ends, in /healthz and in
    `sync --show-blocked`'s list, never with the identifier, until an administrator marks it dealt
    with (`sync --resolve`: before, /healthz counted it for ever)."""
    from station.cli import main
    from station.store import outbox_admin

    gym = station_factory("gym")
    patient, on_hub = _erased_after_a_rename_on_the_hub(hub_store, gym)

    report = gym.sync_once()
    assert report.unmatched_erasures == 1 and gym.store.outbox.length() == 0
    assert len(hub_trials(hub_store, "P-B")) == 1  # the later changes went on
    assert hub_patient(hub_store, "P-A2")["id"] == on_hub["id"]  # not erased by the gym: the hub's decision
    assert Hub(hub_store).tombstones(0)["tombstones"] == []
    entries = {e["username"]: e for e in hub_store.audit.query(action="sync.erasure_unmatched")}
    assert set(entries) == {"station:gym", "hub@gym"}  # the hub's own, and the gym's sent to its trail
    on_hub_audit = entries["station:gym"]
    assert on_hub_audit["patient_id"] == on_hub["id"]
    [here] = gym.store.audit.query(action="sync.erasure_unmatched")
    assert here["detail"]["hub_patient"] == on_hub["id"] and here["detail"]["station_patient"] == patient["id"]
    [kept] = outbox_admin.skipped_changes(gym.store)
    assert (kept.op, kept.skipped_by) == ("erase", "hub")
    assert f"a hub administrator erases patient #{on_hub['id']} on the hub" in kept.reason
    assert f"`balance-station sync --resolve {kept.change_id}` marks it dealt with here" in kept.reason
    assert "not applied on the hub" in " ".join(report.lines())
    health = _health(gym)
    assert health["erasures_not_applied"]["count"] == 1 and health["last_error"] is None
    assert "a hub administrator erases them on the hub" in health["erasures_not_applied"]["what_to_do"]
    assert "P-A" not in str(health) + str(here) + str(on_hub_audit) + kept.reason
    again = gym.sync_once()
    assert again.unmatched_erasures == 0 and again.sent == {}

    # the hub's administrator decided; the station's administrator marks it dealt with
    monkeypatch.setenv("BALANCE_STATION_CONFIG", "")
    data_dir = ["--data-dir", str(gym.store.data_dir)]
    assert main(["sync", "--resolve", kept.change_id, *data_dir]) == 0
    out = capsys.readouterr().out
    assert f"marked dealt with (resolved): {kept.change_id}" in out and "/healthz counts no other change" in out
    assert _health(gym)["erasures_not_applied"] is None  # green again
    [kept_still] = outbox_admin.skipped_changes(gym.store)  # the record stays
    assert kept_still.reason == kept.reason
    [mark] = [e for e in gym.store.audit.query(action="sync.skip") if e["detail"].get("dealt_with")]
    assert mark["username"].startswith("cli:") and mark["object"] == f"sync_change:{kept.seq}"
    assert main(["sync", "--show-blocked", *data_dir]) == 0  # no hub configured: the list is the station's
    listed = capsys.readouterr().out
    assert f"{kept.change_id}: patient erase #{patient['id']}" in listed
    assert f", dealt with {mark['at']} by {mark['username']} (resolved): the hub did not erase" in listed
    assert main(["sync", "--resolve", kept.change_id, *data_dir]) == 1  # once
    assert f"was marked dealt with already, {mark['at']} by {mark['username']}" in capsys.readouterr().err
    gym.sync_once()  # its audit entry (sync.skip, an action every hub knows) reaches the hub's trail
    assert any(e["detail"].get("dealt_with") == "resolved" for e in hub_store.audit.query(action="sync.skip"))


def test_an_older_hub_refusing_such_an_erasure_does_not_block_the_queue(hub_store, station_factory, monkeypatch):
    """A station on this code syncing with a hub before it took such an erasure: that hub refuses
    it with HTTP 422 at every push (forced here through the hub's code, with its words). The station
    takes that answer as the new hub's "unmatched": kept, listed, counted in /healthz, the later
    changes go on; the old code failed every sync on it. Another 422 is not taken for it."""
    from station.store import outbox_admin
    from station.store.db import ValidationError
    from station.sync import unmatched
    from station.sync.client import HubRefused

    erase = Hub._erase

    def older_hub_erase(self, station, local_id, payload, at):
        if erase(self, station, local_id, payload, at) is not None:  # the old hub's words and status
            raise ValidationError({"identifier_hash": "does not match the patient this station sent under that id"})

    monkeypatch.setattr(Hub, "_erase", older_hub_erase)
    gym = station_factory("gym")
    patient, on_hub = _erased_after_a_rename_on_the_hub(hub_store, gym)

    report = gym.sync_once()
    assert report.unmatched_erasures == 1 and report.queue_length == 0
    assert report.sent["trial"] == 1 and len(hub_trials(hub_store, "P-B")) == 1  # the later changes went on
    assert hub_patient(hub_store, "P-A2")["id"] == on_hub["id"]
    [kept] = outbox_admin.skipped_changes(gym.store)
    assert (kept.entity, kept.op, kept.local_id, kept.skipped_by) == ("patient", "erase", patient["id"], "hub")
    assert kept.reason.startswith(f"the hub did not erase the patient this station sent as its patient #{patient['id']}")
    assert "older than this station's, refused the erasure (HTTP 422" in kept.reason
    assert f"sync --resolve {kept.change_id}" in kept.reason and "P-A" not in kept.reason
    [skip] = gym.store.audit.query(action="sync.skip")
    assert skip["detail"]["why"] == "erasure_unmatched" and skip["username"] == "hub"
    assert _health(gym)["erasures_not_applied"]["count"] == 1
    # what the reason tells the hub's administrator to look for is there
    [erased] = [e for e in hub_store.audit.query(action="patient.erase") if e["username"] == "ana@gym"]
    assert erased["patient_id"] == on_hub["id"]
    again = gym.sync_once()
    assert again.unmatched_erasures == 0 and again.sent == {} and gym.store.outbox.length() == 0

    assert not unmatched.refused_by_older_hub(HubRefused(422, "x", {"identifier_hash": "must be the 64 hex digits"}))
    assert not unmatched.refused_by_older_hub(HubRefused(409, "x", {"identifier_hash": unmatched.OLD_HUB_WORDS}))
