"""The stations' own audit entries reach the hub: in order, once, mapped to the hub's records, by
USER@STATION, never with patient data, and resumed where they stopped."""

from __future__ import annotations

import json

import pytest

from station.store.audit import Actor
from station.store.db import ValidationError
from station.sync.client import HubRefused
from station.sync.hub import Hub

from sync_support import CLINICIAN, add_trial, hub_patient


def test_a_stations_audit_entries_join_the_hubs_trail_once_and_in_order(hub_store, station_factory):
    gym = station_factory("gym")
    patient = gym.store.patients.create({"identifier": "P-AU1", "birth_year": 1950, "sex": "F",
                                         "notes": "lives alone"}, actor=CLINICIAN)
    session = gym.store.sessions.create(patient["id"], {"label": "baseline"}, actor=CLINICIAN)
    trial_id = add_trial(gym.store, session["id"], 200)
    gym.store.trials.view(trial_id, actor=CLINICIAN)  # a read is audited too
    report = gym.sync_once()

    local = gym.store.audit.query(limit=1000)
    assert report.audit_entries == len(local) and "audit entries sent" in " ".join(report.lines())
    on_hub = hub_patient(hub_store, "P-AU1")
    remote = [e for e in hub_store.audit.query(limit=1000) if e["username"].endswith("@gym")]
    assert [e["action"] for e in reversed(remote)] == [e["action"] for e in reversed(local)]
    assert [e["at"] for e in remote] == [e["at"] for e in local] and {e["username"] for e in remote} == {"ana@gym"}
    [view] = [e for e in remote if e["action"] == "trial.view"]
    hub_trial = next(t["id"] for s in hub_store.patients.view(on_hub["id"], actor=Actor.system())["sessions"]
                     for t in s["trials"])
    assert view["patient_id"] == on_hub["id"] and view["object"] == f"trial:{hub_trial}"
    assert view["detail"]["station"] == "gym" and view["address"] == CLINICIAN.address
    assert "lives alone" not in json.dumps(remote) and "P-AU1" not in json.dumps(remote)

    # sent once: a second sync sends only what is new, and a repeated batch adds nothing
    gym.store.patients.view(patient["id"], actor=CLINICIAN)
    assert gym.sync_once().audit_entries == 1
    entry = gym.store.audit.query(limit=1)[0]
    assert _send_again(gym, entry) == {"last": entry["id"], "added": 0}
    assert len([e for e in hub_store.audit.query(limit=1000) if e["username"].endswith("@gym")]) == len(local) + 1


def _send_again(gym, entry: dict) -> dict:
    """The hub's answer to ``entry`` (from the station's audit log) sent once more."""
    return gym.client.request("POST", "/api/hub/audit", body={
        "station_id": gym.store.outbox.station_id,
        "entries": [{k: entry[k] for k in ("id", "at", "username", "address", "action", "patient_id", "object",
                                           "detail")}]})


def test_audit_entries_resume_after_a_cut_and_survive_an_erasure(hub_store, station_factory, monkeypatch):
    from station.sync import audit_push

    gym = station_factory("gym")
    patient = gym.store.patients.create({"identifier": "P-AU2", "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    for _ in range(9):
        gym.store.patients.view(patient["id"], actor=CLINICIAN)
    monkeypatch.setattr(audit_push, "BATCH", 4)
    posts = []
    real = gym.client._send

    def cut_after_two_batches(method, url, headers, body):
        if method == "POST" and url.endswith("/api/hub/audit"):
            posts.append(url)
            if len(posts) == 3:
                raise OSError("network is unreachable")
        return real(method, url, headers, body)

    gym.client._send = cut_after_two_batches
    try:
        gym.sync_once()
        raise AssertionError("the cut did not fail the sync")
    except Exception as exc:  # one line, as every sync failure
        assert "cannot reach the hub" in str(exc)
    assert Hub(hub_store).audit_last(Hub(hub_store).station_named("gym"))["last"] == 8
    gym.client._send = real
    gym.sync_once()
    remote = [e for e in hub_store.audit.query(limit=1000) if e["username"].endswith("@gym")]
    assert len(remote) == len(gym.store.audit.query(limit=1000))

    # erased on the hub: the entries stay (ids only), the station's next entries name no hub patient
    on_hub = hub_patient(hub_store, "P-AU2")
    hub_store.patients.erase(on_hub["id"], "P-AU2", actor=Actor.system())
    gym.sync_once()
    assert len([e for e in hub_store.audit.query(limit=1000) if e["username"].endswith("@gym")]) > len(remote)
    erased_here = [e for e in hub_store.audit.query(action="patient.erase", limit=10) if e["username"] == "hub@gym"]
    assert erased_here and erased_here[0]["patient_id"] is None and erased_here[0]["detail"]["station_patient"]


def test_large_audit_details_go_in_batches_within_the_hubs_body_bound(hub_store, station_factory):
    gym = station_factory("gym")
    for k in range(60):  # 60 x 6 kB: several requests of at most 96 kB (the hub takes 128 kB)
        gym.store.audit.record(CLINICIAN, "settings.update", detail={"changed": ["clinic_name"], "pad": "x" * 6000})
    gym.store.audit.record(CLINICIAN, "settings.update", detail={"pad": "y" * 20_000})  # beyond 8 kB: noted
    report = gym.sync_once()
    assert report.audit_entries == 61
    posts = [p for m, p in gym.client._send.requests if m == "POST" and p == "/api/hub/audit"]
    assert len(posts) >= 4
    [big] = [e for e in hub_store.audit.query(limit=100) if e["detail"].get("detail_omitted")]
    assert big["username"] == "ana@gym" and big["detail"]["detail_omitted"] == "20011 characters"


def test_entries_an_older_hub_refuses_wait_at_the_station_and_the_sync_goes_on(hub_store, station_factory,
                                                                               monkeypatch, capsys):
    """A hub whose software does not know an audit action refuses the whole batch (HTTP 422, "is
    not an audit action"); the old code failed the sync there at every sync: no later audit entry,
    no patient update from the hub, ever. Now the entries of that action wait in the station's
    audit log (said in the sync's lines, /healthz, `sync --show-blocked`), the others go on in
    order, and once the hub's software knows the action they are sent, marked as arriving late."""
    from station.cli import main
    from station.sync import audit_push, hub_audit
    from station.sync.syncer import HUB_ACTOR

    from test_sync_erasure import _health

    gym = station_factory("gym")
    patient = gym.store.patients.create({"identifier": "P-AU4", "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    gym.sync_once()
    on_hub = hub_patient(hub_store, "P-AU4")
    hub_store.patients.update(on_hub["id"], {"birth_year": 1951}, actor=CLINICIAN)

    # the hub's software before these two actions (its own words and status: its code, with fewer actions)
    new_actions = {"sync.erasure_unmatched", "sync.erasures_offered_again"}
    monkeypatch.setattr(hub_audit, "ACTIONS", hub_audit.ACTIONS - new_actions)
    monkeypatch.setattr(Hub, "audit_last", lambda self, station: {"last": _last_held(hub_store, station)})
    gym.store.audit.record(HUB_ACTOR, "sync.erasure_unmatched", detail={"hub_patient": 9, "station_patient": 8})
    for _ in range(3):
        gym.store.patients.view(patient["id"], actor=CLINICIAN)
    kept_id = gym.store.audit.query(action="sync.erasure_unmatched")[0]["id"]
    last_view = gym.store.audit.query(limit=1)[0]["id"]

    report = gym.sync_once()  # the old code: HubRefused, and nothing after the audit push
    assert report.refreshed == 1 and gym.store.patients.get(patient["id"])["birth_year"] == 1951
    assert report.audit_entries == 3 and report.audit_waiting == 1
    lines = " ".join(report.lines())
    assert "1 audit entry waits in this station's audit log" in lines and "Update the hub's software" in lines
    remote = [e for e in hub_store.audit.query(limit=1000) if e["username"].endswith("@gym")]
    assert [e["detail"]["station_entry"] for e in remote][:3] == [last_view, last_view - 1, last_view - 2]
    assert not [e for e in remote if e["action"] == "sync.erasure_unmatched"]
    assert gym.store.audit.query(action="sync.erasure_unmatched")[0]["id"] == kept_id  # kept here, as it was
    waiting = _health(gym)["audit_entries_waiting"]
    assert waiting["count"] == 1 and waiting["actions"] == ["sync.erasure_unmatched"]
    assert "does not know the action sync.erasure_unmatched" in waiting["what_to_do"]
    monkeypatch.setenv("BALANCE_STATION_CONFIG", "")
    assert main(["sync", "--show-blocked", "--data-dir", str(gym.store.data_dir)]) == 0
    assert "the hub needs updating: 1 audit entry waits" in capsys.readouterr().out

    # the next syncs ask that hub nothing more for it; a new entry of the action waits with it
    gym.store.audit.record(HUB_ACTOR, "sync.erasure_unmatched", detail={"hub_patient": 10, "station_patient": 9})
    second_id = gym.store.audit.query(limit=1)[0]["id"]
    gym.store.patients.view(patient["id"], actor=CLINICIAN)
    before = len(gym.client._send.requests)
    again = gym.sync_once()
    posts = [p for m, p in gym.client._send.requests[before:] if (m, p) == ("POST", "/api/hub/audit")]
    assert len(posts) == 1 and again.audit_waiting == 2
    assert again.audit_entries == 2  # the view, and the last sync's update of the patient from the hub

    # the hub updated to software that names what it knows, though not yet the newer action:
    # the kept entries go, late and said so; the newer action waits without a refused request
    monkeypatch.undo()
    monkeypatch.setattr(hub_audit, "ACTIONS", hub_audit.ACTIONS - {"sync.erasures_offered_again"})
    gym.store.audit.record(HUB_ACTOR, "sync.erasures_offered_again", detail={"erasures": []})
    held_before = _last_held(hub_store, Hub(hub_store).station_named("gym"))
    before = len(gym.client._send.requests)
    updated = gym.sync_once()
    posts = [p for m, p in gym.client._send.requests[before:] if (m, p) == ("POST", "/api/hub/audit")]
    assert len(posts) == 1 and updated.audit_entries == 2 and updated.audit_waiting == 1
    late = sorted((e for e in hub_store.audit.query(action="sync.erasure_unmatched")
                   if e["username"] == "hub@gym"), key=lambda e: e["detail"]["station_entry"])
    assert [e["detail"]["station_entry"] for e in late] == [kept_id, second_id]
    assert [e["detail"]["arrived_after_entry"] for e in late] == [held_before, held_before]
    assert _send_again(gym, gym.store.audit.query(action="sync.erasure_unmatched", limit=1)[0])["added"] == 0
    assert _health(gym)["audit_entries_waiting"]["actions"] == ["sync.erasures_offered_again"]

    monkeypatch.undo()  # the hub's software as this station's
    assert gym.sync_once().audit_entries == 1 and _health(gym)["audit_entries_waiting"] is None
    on_hub_gym = [e for e in hub_store.audit.query(limit=1000) if e["username"].endswith("@gym")]
    assert sorted(e["detail"]["station_entry"] for e in on_hub_gym) == [e["id"] for e in
                                                                       reversed(gym.store.audit.query(limit=1000))]
    assert audit_push.waiting(gym.store) == (0, [])

    # another refusal of the audit push is no reason to keep anything: it fails the sync, as before
    def refusing(entries):
        raise ValidationError({"detail": "must be a JSON object of at most 8192 bytes"})

    monkeypatch.setattr(hub_audit, "check_entries", refusing)
    gym.store.patients.view(patient["id"], actor=CLINICIAN)
    with pytest.raises(HubRefused, match="8192 bytes"):
        gym.sync_once()
    assert audit_push.waiting(gym.store) == (0, [])


def _last_held(hub_store, station) -> int:
    from station.sync import hub_audit

    with hub_store.db.read() as conn:
        return hub_audit.last_held(conn, station.id)
