"""A station looks a patient up on the hub by identifier (the patient, their history, their
programmes) in a POST's JSON body, so that no URL names the patient: proxies, the hub's nginx and
any box in between keep URLs in their logs. A hub from before those POSTs (its routes GET only)
answers the POST ``405``: the station then asks it by GET, remembered for the client's life, so
that each station can be upgraded before or after its hub."""

from __future__ import annotations

import urllib.parse

import pytest
from werkzeug.exceptions import MethodNotAllowed

from station.protocols.loader import builtin_protocols
from station.store.db import NotFound
from station.sync.client import HubClient
from station.sync.syncer import StationSync
from web import create_app
from web.hub_api import LOOKUP_MAX_BYTES

from sync_support import CHEAP, CLINICIAN, HUB_URL, AppTransport, WallClock, add_trial, make_station

LOOKUPS = ("/api/hub/patients", "/api/hub/patients/history", "/api/hub/patients/programmes")


def _measured_at_gym(gym, identifier: str, wall) -> dict:
    """A patient of the gym with a visit, a trial and a programme, pushed to the hub."""
    from station.programmes.loader import builtin_programmes
    from station.store.programmes import today_of

    patient = gym.store.patients.create({"identifier": identifier, "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    session = gym.store.sessions.create(patient["id"], {"label": "assessment"}, actor=CLINICIAN)
    add_trial(gym.store, session["id"], 300)
    template = builtin_programmes(builtin_protocols())["balance-training"]
    gym.store.programmes.assign(patient["id"], template, today_of(wall), actor=CLINICIAN)
    gym.sync_once()
    return patient


def _named_in(urls: list[str], identifier: str) -> list[str]:
    """The URLs that hold ``identifier`` in any form (case-insensitive, percent-encoded or not)."""
    wanted = identifier.lower()
    return [u for u in urls if wanted in urllib.parse.unquote_plus(u).lower() or wanted in u.lower()]


def test_a_station_and_a_hub_of_this_version_name_no_patient_in_any_url(hub_store, station_factory):
    wall = WallClock()
    gym, ward = station_factory("gym", wall), station_factory("ward", wall)
    _measured_at_gym(gym, "P-URL-7", wall)
    sent = ward.client._send
    pulled = ward.pull_patient("p-url-7", actor=CLINICIAN)
    assert pulled["identifier"] == "P-URL-7" and pulled["history"] == {"sessions": 1, "trials": 1}
    [shown] = ward.hub_programmes(pulled["id"], actor=CLINICIAN)
    assert shown["assigned_at"] == "gym"
    ward.pull_history(pulled["id"], actor=CLINICIAN)  # "bring results from other stations" again
    ward.sync_once()
    with pytest.raises(NotFound, match="no patient 'P-NOBODY' here or on the hub"):
        ward.pull_patient("P-NOBODY", actor=CLINICIAN)

    asked = [(m, p) for m, p in sent.requests if p in LOOKUPS]
    assert {p for _, p in asked} == set(LOOKUPS) and {m for m, _ in asked} == {"POST"}
    assert asked.count(("POST", "/api/hub/patients")) == 2  # the unknown patient's 404 is not asked again by GET
    assert _named_in(sent.urls, "P-URL-7") == [] and _named_in(sent.urls, "P-NOBODY") == []
    assert not any("identifier" in u for u in sent.urls)
    assert ward.client.lookups_by_get is False
    # the hub audited the lookups as before
    assert [e["username"] for e in hub_store.audit.query(action="patient.view")][:1] == ["station:ward"]


def _old_hub(hub_store):
    """The hub app as before lookups by POST: its three lookup routes answer a POST ``405``, as
    Flask's routing does for a route served for GET only (the same error handler words it)."""
    app = create_app({"STORE": hub_store, "HUB": True, "SECRET_KEY": "test", "PASSWORD_COST": CHEAP,
                      "TESTING": True})

    @app.before_request
    def _get_only():
        from flask import request

        if request.path in LOOKUPS and request.method == "POST":
            raise MethodNotAllowed(valid_methods=["GET", "HEAD", "OPTIONS"])

    return app


def test_a_station_of_this_version_still_looks_up_on_a_hub_from_before(hub_store, tmp_path, station_data_dir,
                                                                         capsys):
    app = _old_hub(hub_store)
    wall = WallClock()
    station_data_dir(tmp_path / "gym")
    station_data_dir(tmp_path / "ward")
    gym, ward = make_station(hub_store, app, tmp_path, "gym", wall), make_station(hub_store, app, tmp_path, "ward", wall)
    try:
        _measured_at_gym(gym, "P-OLD-1", wall)
        _measured_at_gym(gym, "P-OLD-2", wall)
        sent = ward.client._send
        first = ward.pull_patient("P-OLD-1", actor=CLINICIAN)
        assert first["history"] == {"sessions": 1, "trials": 1}
        assert [s["assigned_at"] for s in ward.hub_programmes(first["id"], actor=CLINICIAN)] == ["gym"]
        second = ward.pull_patient("P-OLD-2", actor=CLINICIAN)
        assert second["history"] == {"sessions": 1, "trials": 1}
        with pytest.raises(NotFound):
            ward.pull_patient("P-NOBODY", actor=CLINICIAN)

        asked = [(m, p, status) for (m, p), status in zip(sent.requests, sent.statuses) if p in LOOKUPS]
        # one POST, answered 405, then GET for every lookup of this client: never POST-then-GET twice
        assert asked[0] == ("POST", "/api/hub/patients", 405)
        assert [m for m, _, _ in asked[1:]] == ["GET"] * (len(asked) - 1)
        assert {p for _, p, _ in asked[1:]} == set(LOOKUPS)
        assert ward.client.lookups_by_get is True
        err = capsys.readouterr().err
        assert err.count("takes lookups of a patient only with the identifier in the URL") == 1
        assert "P-OLD" not in err
        # a new client (a restarted station) tries POST again: the hub may have been updated meanwhile
        again = StationSync(ward.store, HubClient(HUB_URL, "unused-token", transport=AppTransport(app)))
        assert again.client.lookups_by_get is False
    finally:
        gym.store.close()
        ward.store.close()


def _call(app, token: str, method: str, path: str, **kwargs):
    return app.test_client().open(path, method=method, headers={"Authorization": f"Bearer {token}"}, **kwargs)


def test_the_hub_answers_a_lookup_by_post_and_refuses_a_bad_body_in_words(hub_store, hub_app):
    from station.sync.hub import Hub

    hub_store.patients.create({"identifier": "P-BODY", "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    token = Hub(hub_store).add_station("ward")
    ok = _call(hub_app, token, "POST", "/api/hub/patients", json={"identifier": "p-body"})
    assert ok.status_code == 200 and ok.get_json()["patient"]["identifier"] == "P-BODY"
    page = _call(hub_app, token, "POST", "/api/hub/patients/history",
                 json={"identifier": "P-BODY", "after": 0, "trial_after": 0})
    assert page.status_code == 200 and page.get_json() == {"sessions": [], "next": None, "next_trial": 0}
    assert _call(hub_app, token, "POST", "/api/hub/patients/programmes",
                 json={"identifier": "P-BODY"}).get_json() == {"programmes": []}
    assert _call(hub_app, token, "GET", "/api/hub/patients?identifier=P-BODY").status_code == 200  # stations before

    for path, body, status, words in (
        ("/api/hub/patients", {}, 400, 'give {"identifier": "..."} in the JSON body'),
        ("/api/hub/patients", {"identifier": 7}, 400, 'give {"identifier": "..."} in the JSON body'),
        ("/api/hub/patients", {"identifier": "x" * 65}, 400, "1 to 64 characters"),
        ("/api/hub/patients", {"identifier": "P-BODY", "sex": "F"}, 422, "invalid input"),
        ("/api/hub/patients/history", {"identifier": "P-BODY", "after": -1}, 422, "invalid input"),
        ("/api/hub/patients/history", {"identifier": "P-BODY", "after": True}, 422, "invalid input"),
        ("/api/hub/patients/programmes", {"identifier": "P-BODY", "after": 0}, 422, "invalid input"),
    ):
        answer = _call(hub_app, token, "POST", path, json=body)
        assert answer.status_code == status and words in answer.get_json()["error"], (path, body, answer.get_json())
    in_url = _call(hub_app, token, "POST", "/api/hub/patients?identifier=P-BODY", json={"identifier": "P-BODY"})
    assert in_url.status_code == 400 and "not in the URL" in in_url.get_json()["error"]
    large = _call(hub_app, token, "POST", "/api/hub/patients",
                  json={"identifier": "P-BODY", "pad": "x" * LOOKUP_MAX_BYTES})
    assert large.status_code == 413 and "too large" in large.get_json()["error"]
    assert _call(hub_app, token, "POST", "/api/hub/patients", data="identifier=P-BODY",
                 content_type="application/x-www-form-urlencoded").status_code == 415
    assert _call(hub_app, "bst_" + "B" * 43, "POST", "/api/hub/patients",
                 json={"identifier": "P-BODY"}).status_code == 401
