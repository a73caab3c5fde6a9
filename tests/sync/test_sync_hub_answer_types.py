"""Every value a station reads from the hub's answers is checked: an answer with a value of the
wrong JSON type anywhere (a list where an object is expected, text where a number is, a key
missing) fails the sync with one line saying which answer, which key and what came instead of
what, never a ``TypeError`` from deep in the sync ("sync failed (TypeError)") and never the
value itself (it may be patient data).

The answers are those of a hub to a station holding one patient: each key of each answer (and of
the objects inside) is replaced, one at a time, by values of other kinds, and removed."""

from __future__ import annotations

import copy
import json
import urllib.parse

import pytest

from station.store.store import Store
from station.sync.client import HubClient, SyncError
from station.sync.records import TRIAL_COLUMNS, clinic_key_id, record_of
from station.sync.syncer import StationSync

from sync_support import CHEAP, CLINICIAN, HUB_URL, add_trial

KEY = "ab" * 32
SECRET_NOTE = "lives alone, falls at night"  # patient data: never in a message
REQUESTS = ("GET /api/hub/tombstones", "GET /api/hub/clinic-key", "GET /api/hub/trials/ID/parts",
            "PUT /api/hub/trials/ID/parts/ID", "POST /api/hub/push", "GET /api/hub/audit", "POST /api/hub/audit",
            "GET /api/hub/history-updates", "GET /api/hub/programme-updates", "GET /api/hub/patient-updates")


def _answers(store, patient_id: int, trial_id: int) -> dict[str, dict]:
    """What a hub answers, by request (method and path, trial ids as ``ID``): a visit recorded
    elsewhere holding a trial as the station's own ``trial_id`` would travel, and its judgement."""
    payload = record_of(store, {"entity": "trial", "local_id": trial_id})
    trial = {"hub_id": 10**6, "station": "gym", "frames_on_hub": payload["frame_count"],
             **{c: payload[c] for c in TRIAL_COLUMNS}}
    visit = {"hub_id": 10**6, "station": "gym", "started_at": "2026-12-01T10:00:00Z", "label": "", "notes": "",
             "created_by": "ana", "trials": [trial]}
    return {
        "GET /api/hub/tombstones": {"tombstones": [{"id": 1, "identifier_key": "00" * 32}], "last": 1,
                                    "key_id": clinic_key_id(KEY), "last_seq": 0, "highest": 1,
                                    "epoch": {"id": "e1", "tombstones": 0, "sessions": 0, "trials": 0, "audit": 0,
                                              "previous": {"id": "e0", "tombstones": 0, "sessions": 0, "trials": 0,
                                                           "audit": 0}}},
        "GET /api/hub/clinic-key": {"key": KEY, "key_id": clinic_key_id(KEY)},
        "GET /api/hub/trials/ID/parts": {"on_hub": False, "parts": []},
        "PUT /api/hub/trials/ID/parts/ID": {"stored": 0},
        "POST /api/hub/push": {"applied_through": 10**6, "applied": 1, "duplicates": 0,
                               "unmatched_erasures": [{"seq": 10**6, "hub_patient_id": 3}]},
        "GET /api/hub/audit": {"last": 0, "actions": ["patient.create", "patient.update"]},
        "POST /api/hub/audit": {"last": 10**6, "added": 1},
        "GET /api/hub/history-updates": {"patients": [{"local_id": patient_id, "sessions": [visit]}], "next": None,
                                         "until": 5, "judgements": [trial], "judged_until": 3, "judged_more": False},
        "GET /api/hub/programme-updates": {"programmes": [], "next": None},
        "GET /api/hub/patient-updates": {"patients": [{"local_id": patient_id, "change": 4,
                                                       "updated_at": "2026-12-01T10:00:00.000Z",
                                                       "fields": {"identifier": "P-1", "weight_kg": 70.0}}],
                                         "until": 4},
    }


class CannedHub:
    """A transport answering each request with its canned answer (:func:`_answers`)."""

    def __init__(self, answers: dict):
        self.answers = answers

    def __call__(self, method, url, headers, body):
        path = "/".join("ID" if part.isdigit() else part for part in urllib.parse.urlsplit(url).path.split("/"))
        return 200, json.dumps(self.answers[f"{method} {path}"]).encode()


def _mutations(doc, path=()):
    """``(path, value)``: every key of ``doc`` (and of the objects and lists in it) given values of
    other JSON kinds, and removed (value ``REMOVE``)."""
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield from _mutations(value, path + (key,))
    elif isinstance(doc, list):
        for i, value in enumerate(doc[:1]):
            yield from _mutations(value, path + (i,))
    if path:
        for other in ([], {}, "7", 7, 2.5, True, None):
            if type(other) is not type(doc) and not (doc is None and other is None):
                yield path, other
        if isinstance(path[-1], str):
            yield path, REMOVE


REMOVE = object()


def _mutated(doc, path, value):
    out = copy.deepcopy(doc)
    target = out
    for key in path[:-1]:
        target = target[key]
    if value is REMOVE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return out


@pytest.fixture
def station(tmp_path, station_data_dir):
    store = Store.open(station_data_dir(tmp_path / "station"), password_cost=CHEAP)
    yield store
    store.close()


@pytest.mark.parametrize("request_name", REQUESTS)
def test_a_wrong_type_anywhere_in_an_answer_is_one_clear_line(station, request_name):
    patient = station.patients.create({"identifier": "P-1", "birth_year": 1950, "sex": "F", "notes": SECRET_NOTE},
                                      actor=CLINICIAN)
    session = station.sessions.create(patient["id"], {}, actor=CLINICIAN)
    answers = _answers(station, patient["id"], add_trial(station, session["id"], 100))
    answers["GET /api/hub/patient-updates"]["patients"][0]["fields"]["notes"] = SECRET_NOTE
    tried = failed = 0
    for path, value in _mutations(answers[request_name]):
        station.patients.update(patient["id"], {"weight_kg": 50.0 + tried % 50}, actor=CLINICIAN)  # a change to push
        if "/parts" in request_name:
            add_trial(station, session["id"], 100, seed=tried)  # and a trial, with its frames to upload
        hub = CannedHub({**answers, request_name: _mutated(answers[request_name], path, value)})
        sync = StationSync(station, HubClient(HUB_URL, "bst_token", transport=hub))
        tried += 1
        try:
            sync.sync_once()
        except SyncError as exc:
            failed += 1
            message = str(exc)
            assert message.startswith("the hub"), (path, value, message)
            assert "\n" not in message and len(message) < 400 and SECRET_NOTE not in message, (path, value, message)
        # anything else (TypeError, AttributeError, ...) fails the test here, naming the mutation
    assert tried and (failed or request_name == "PUT /api/hub/trials/ID/parts/ID")


@pytest.mark.parametrize("request_name, path, value, words", [
    ("GET /api/hub/patient-updates", ("patients",), {"x": 1}, "had an object where a list was expected (patients)"),
    ("GET /api/hub/patient-updates", ("patients", 0, "fields"), [], "had a list where an object was expected "
                                                                    "(patients[].fields)"),
    ("GET /api/hub/patient-updates", ("until",), "2026-12-01T10:00:00.000Z", "had a time where a change number"),
    ("POST /api/hub/push", ("duplicates",), "3", "had text where a whole number was expected (duplicates)"),
    ("GET /api/hub/trials/ID/parts", ("parts",), 5, "had a whole number where a list was expected (parts)"),
    ("GET /api/hub/history-updates", ("patients", 0), "P-1", "had text where an object was expected (patients[])"),
])
def test_the_message_says_which_answer_which_key_and_what_came(station, request_name, path, value, words):
    patient = station.patients.create({"identifier": "P-1", "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    trial_id = add_trial(station, station.sessions.create(patient["id"], {}, actor=CLINICIAN)["id"], 100)
    answers = _answers(station, patient["id"], trial_id)
    hub = CannedHub({**answers, request_name: _mutated(answers[request_name], path, value)})
    with pytest.raises(SyncError) as caught:
        StationSync(station, HubClient(HUB_URL, "bst_token", transport=hub)).sync_once()
    assert str(caught.value).startswith(f"the hub's answer to {request_name.split(' ID')[0].split('/ID')[0]}")
    assert words in str(caught.value)
    assert "P-1" not in str(caught.value)


def test_an_answer_that_is_not_an_object_is_named(station):
    with pytest.raises(SyncError, match=r"^the hub's answer to GET /api/hub/tombstones had a list where an object "
                                        r"was expected"):
        StationSync(station, HubClient(HUB_URL, "bst_token", transport=lambda *a: (200, b"[1, 2]"))).sync_once()


@pytest.mark.parametrize("request_name, answer, words", [
    ("GET /api/hub/tombstones", {"tombstones": [{"id": 1, "identifier_key": "00" * 32}] * 500, "last": 1,
                                 "key_id": clinic_key_id(KEY), "last_seq": 0},
     "had an erasure already asked for where later erasures in order was expected (tombstones[].id)"),
    ("GET /api/hub/patient-updates", {"patients": [{"local_id": 1, "change": 0, "fields": {}}] * 500, "until": 0},
     "had the change number asked where a later one after a full page was expected (until)"),
])
def test_a_hub_answering_the_same_full_page_for_ever_is_stopped(station, request_name, answer, words):
    """Before, the sync asked again for ever (a full page says more wait)."""
    patient = station.patients.create({"identifier": "P-1", "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    trial_id = add_trial(station, station.sessions.create(patient["id"], {}, actor=CLINICIAN)["id"], 100)
    hub = CannedHub({**_answers(station, patient["id"], trial_id), request_name: answer})
    with pytest.raises(SyncError) as caught:
        StationSync(station, HubClient(HUB_URL, "bst_token", transport=hub)).sync_once()
    assert str(caught.value).startswith(f"the hub's answer to {request_name} {words}")


@pytest.mark.parametrize("key", ["station_version", "recorded_by"])
def test_a_pulled_trial_without_a_text_the_database_needs_is_refused_in_one_line(station, key):
    """A trial recorded elsewhere without its software version or recorder (NOT NULL here) is
    refused as the answer's fault; before, a trial new here reached the database and the sync
    failed with its IntegrityError."""
    from station.store.db import ValidationError
    from station.sync import pulled

    patient = station.patients.create({"identifier": "P-1", "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    session = station.sessions.create(patient["id"], {}, actor=CLINICIAN)
    visit = _answers(station, patient["id"], add_trial(station, session["id"], 100))[
        "GET /api/hub/history-updates"]["patients"][0]["sessions"][0]
    visit["trials"][0][key] = None
    with pytest.raises(ValidationError, match=key):
        pulled.check_page([visit])
