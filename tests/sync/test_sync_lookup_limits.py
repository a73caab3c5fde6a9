"""The hub's lookups of a patient by identifier are limited per station token, by POST (stations of
this version) and GET (stations from before) counted together, and so are a push's patients (one
the station never had that the hub holds by identifier is a lookup; new ones are bounded): a leaked
token cannot enumerate identifiers. A token not yet bound cannot take another station's id."""

from __future__ import annotations

import pytest

from station.sync.client import HubClient, HubLimited, HubRefused
from station.sync.hub import Hub
from web import create_app
from web.hub_api import LOOKUP_MISSES_PER_STATION, LOOKUP_WINDOW_S, LOOKUPS_PER_STATION, NEW_PATIENTS_PER_STATION

from sync_support import CHEAP, CLINICIAN, HUB_URL, AppTransport, WallClock, add_trial, hub_patient, make_station

LOOKUP_ROUTES = ("/api/hub/patients", "/api/hub/patients/history", "/api/hub/patients/programmes")


@pytest.fixture
def clocked_hub(hub_store):
    """The hub app on a wall clock the test moves, with two station tokens."""
    wall = WallClock()
    app = create_app({"STORE": hub_store, "HUB": True, "SECRET_KEY": "test", "PASSWORD_COST": CHEAP,
                      "TESTING": True, "WALL_CLOCK": wall, "THROTTLE_CLOCK": wall})
    service = app.extensions["station_hub"]
    app.tokens = {"ward": service.add_station("ward"), "gym": service.add_station("gym")}
    app.wall = wall
    return app


def _lookup(client, token: str, route: str, identifier: str, method: str = "GET"):
    """A lookup as a station of this version asks it (POST, the identifier in the body) or as one
    from before (GET, in the query)."""
    headers = {"Authorization": f"Bearer {token}"}
    if method == "POST":
        return client.post(route, json={"identifier": identifier}, headers=headers)
    return client.get(route, query_string={"identifier": identifier}, headers=headers)


def test_lookups_by_identifier_are_limited_per_station_token(hub_store, clocked_hub):
    hub_store.patients.create({"identifier": "P-KNOWN", "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    client, ward, gym = clocked_hub.test_client(), clocked_hub.tokens["ward"], clocked_hub.tokens["gym"]
    codes = [_lookup(client, ward, LOOKUP_ROUTES[n % 3], "P-KNOWN", ("GET", "POST")[n % 2]).status_code
             for n in range(LOOKUPS_PER_STATION)]
    assert codes == [200] * LOOKUPS_PER_STATION  # the three routes, by POST and by GET, share one count
    for route in LOOKUP_ROUTES:
        for method in ("POST", "GET"):
            answer = _lookup(client, ward, route, "P-KNOWN", method)
            assert answer.status_code == 429, (method, route)
            assert 0 < int(answer.headers["Retry-After"]) <= LOOKUP_WINDOW_S
            assert "too many patient lookups" in answer.get_json()["error"]
    assert _lookup(client, gym, LOOKUP_ROUTES[0], "P-KNOWN").status_code == 200  # another token is not held up
    assert client.get("/api/hub/tombstones", headers={"Authorization": f"Bearer {ward}"}).status_code == 200
    clocked_hub.wall.advance(LOOKUP_WINDOW_S + 1)
    assert _lookup(client, ward, LOOKUP_ROUTES[0], "P-KNOWN").status_code == 200  # the window moved on


def test_lookups_of_unknown_identifiers_are_limited_sooner(hub_store, clocked_hub):
    hub_store.patients.create({"identifier": "P-KNOWN", "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    client, ward = clocked_hub.test_client(), clocked_hub.tokens["ward"]
    codes = [_lookup(client, ward, LOOKUP_ROUTES[n % 3], f"P-{n:04d}", ("POST", "GET")[n % 2]).status_code
             for n in range(LOOKUP_MISSES_PER_STATION + 2)]
    assert codes == [404] * LOOKUP_MISSES_PER_STATION + [429, 429]  # misses by POST and by GET counted together
    assert _lookup(client, ward, LOOKUP_ROUTES[0], "P-KNOWN").status_code == 429  # found or not: it waits
    assert _lookup(client, ward, LOOKUP_ROUTES[0], "P-KNOWN", "POST").status_code == 429
    clocked_hub.wall.advance(LOOKUP_WINDOW_S + 1)
    assert _lookup(client, ward, LOOKUP_ROUTES[0], "P-KNOWN").status_code == 200


def test_a_station_pulling_too_much_is_told_to_retry(hub_store, clocked_hub, tmp_path):
    from station.store.store import Store
    from station.sync.syncer import StationSync

    store = Store.open(tmp_path / "ward", password_cost=CHEAP)
    try:
        sync = StationSync(store, HubClient(HUB_URL, clocked_hub.tokens["ward"], transport=AppTransport(clocked_hub)))
        client = clocked_hub.test_client()
        for n in range(LOOKUP_MISSES_PER_STATION):
            _lookup(client, clocked_hub.tokens["ward"], LOOKUP_ROUTES[0], f"P-{n}")
        hub_store.patients.create({"identifier": "P-WANTED", "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
        with pytest.raises(Exception, match="HTTP 429.*too many patient lookups.*will retry"):
            sync.pull_patient("P-WANTED", actor=CLINICIAN)
        assert store.patients.search()["total"] == 0
    finally:
        store.close()


def test_an_unbound_token_cannot_take_a_station_id_bound_to_another_token(hub_store, hub_app, station_factory):
    ward = station_factory("ward")
    ward.store.patients.create({"identifier": "P-1", "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    ward.sync_once()  # binds ward's token to ward's station id
    token = Hub(hub_store).add_station("spare")
    spare = HubClient(HUB_URL, token, transport=AppTransport(hub_app))
    ward_id = ward.store.outbox.station_id
    for path in ("/api/hub/push", "/api/hub/audit"):
        body = {"station_id": ward_id, "changes": []} if path.endswith("push") else {"station_id": ward_id, "entries": []}
        with pytest.raises(HubRefused, match=f"HTTP 409.*station id {ward_id} is already registered with another "
                                             "token; issue a new token with hub stations add"):
            spare.request("POST", path, body=body)
    rows = {r["name"]: r for r in Hub(hub_store).stations()}
    assert rows["spare"]["station_id"] is None and rows["ward"]["station_id"] == ward_id
    ward.store.patients.create({"identifier": "P-2", "birth_year": 1951, "sex": "M"}, actor=CLINICIAN)
    assert ward.sync_once().sent["patient"] == 1  # the rightful station goes on
    # its token revoked, the ward's id is still the ward's: a token under another name is refused, naming
    # the way (the ward's new token, under its name: test_sync_tokens.py)
    Hub(hub_store).revoke_station("ward")
    other = HubClient(HUB_URL, Hub(hub_store).add_station("ward-2"), transport=AppTransport(hub_app))
    with pytest.raises(HubRefused, match=r"HTTP 409.*station 'ward' on the hub, whose token was revoked; give it a "
                                         r"new token under its own name \(`balance-station hub stations add ward`\)"):
        other.request("POST", "/api/hub/push", body={"station_id": ward_id, "changes": []})
    assert {r["name"]: r for r in Hub(hub_store).stations()}["ward-2"]["station_id"] is None


def _station(clocked_hub, hub_store, tmp_path, station_data_dir, name: str):
    """A station syncing to the clocked hub app (its limits on the wall clock the test moves)."""
    station_data_dir(tmp_path / name)
    return make_station(hub_store, clocked_hub, tmp_path, name)


def _hub_birth_year(hub_store, identifier: str) -> int:
    return hub_patient(hub_store, identifier)["birth_year"]


def test_a_pushed_patient_the_hub_holds_counts_as_a_lookup_and_overwrites_nothing(hub_store, clocked_hub, tmp_path,
                                                                                  station_data_dir):
    """R3 finding 2: a push of guessed identifiers found the hub's patient of one of them with no
    limit, brought their trials to the pushing station and overwrote their birth year on the hub
    and, at their next sync, at every other station."""
    north = _station(clocked_hub, hub_store, tmp_path, station_data_dir, "north")
    secret = north.store.patients.create({"identifier": "SECRET-42", "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    session = north.store.sessions.create(secret["id"], {"label": "baseline"}, actor=CLINICIAN)
    add_trial(north.store, session["id"], 300)
    north.sync_once()
    south = _station(clocked_hub, hub_store, tmp_path, station_data_dir, "south")
    client = clocked_hub.test_client()
    token = south.client._token
    assert [_lookup(client, token, LOOKUP_ROUTES[0], "SECRET-42", "POST").status_code
            for _ in range(LOOKUPS_PER_STATION)] == [200] * LOOKUPS_PER_STATION
    for identifier in ("S-1", "SECRET-42", "S-2"):  # the guess in the middle of a station's new patients
        south.store.patients.create({"identifier": identifier, "birth_year": 1900, "sex": "M"}, actor=CLINICIAN)
    with pytest.raises(HubLimited, match=r"HTTP 429: the station's patient #2 has the identifier of a patient the hub "
                                         r"holds and this station never had, which counts as a lookup .* they go at a "
                                         r"sync in 15 min\)") as refused:
        south.sync_once()
    assert "SECRET" not in str(refused.value) and "will retry" in str(refused.value)  # a running station retries
    assert 0 < refused.value.retry_after_s <= LOOKUP_WINDOW_S
    assert hub_patient(hub_store, "S-1")["birth_year"] == 1900  # the change before it was applied
    assert _hub_birth_year(hub_store, "SECRET-42") == 1950 and hub_store.patients.search(q="S-2")["total"] == 0
    assert south.store.outbox.length() > 0
    with south.store.db.read() as conn:
        assert conn.execute("SELECT count(*) FROM trials").fetchone()[0] == 0  # north's trial did not come
    [row] = [r for r in Hub(hub_store).stations() if r["name"] == "south"]
    assert "counts as a lookup" in row["last_error"] and "SECRET" not in row["last_error"]  # flagged for admins
    clocked_hub.wall.advance(LOOKUP_WINDOW_S + 1)
    south.sync_once()  # the window moved on: it goes, as a lookup that found them
    assert south.store.outbox.length() == 0
    # one hub patient, whose fields stay the hub's: the station takes them as from a pull
    assert hub_store.patients.search(q="SECRET-42")["total"] == 1
    assert _hub_birth_year(hub_store, "SECRET-42") == 1950
    assert south.store.patients.get_by_identifier("SECRET-42")["birth_year"] == 1950
    assert south.store.patients.get_by_identifier("SECRET-42")["sex"] == "F"
    [version] = Hub(hub_store).patient_versions(hub_patient(hub_store, "SECRET-42")["id"])
    assert version["station"] == "south" and version["incoming"]["birth_year"] == 1900
    assert version["kept"] == sorted(version["incoming"])  # every differing field kept the hub's value
    north.sync_once()
    assert north.store.patients.get(secret["id"])["birth_year"] == 1950  # nobody else's copy changed


def test_new_patients_a_station_pushes_are_bounded_and_the_rest_goes_later(hub_store, clocked_hub, tmp_path,
                                                                         station_data_dir):
    south = _station(clocked_hub, hub_store, tmp_path, station_data_dir, "south")
    south.batch_changes = 500
    for n in range(NEW_PATIENTS_PER_STATION + 3):
        south.store.patients.create({"identifier": f"N-{n:04d}", "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    with pytest.raises(HubLimited, match=rf"HTTP 429: this station has sent the hub as many new patients as it takes "
                                         rf".* its patient #{NEW_PATIENTS_PER_STATION + 1} and the changes after it wait "
                                         r"on the station, nothing is lost: they go at a sync in 15 min\); will retry"):
        south.sync_once()
    assert hub_store.patients.search()["total"] == NEW_PATIENTS_PER_STATION
    north = _station(clocked_hub, hub_store, tmp_path, station_data_dir, "north")  # another token is not held up
    north.store.patients.create({"identifier": "OTHER-1", "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    assert north.sync_once().sent["patient"] == 1
    with pytest.raises(HubLimited):  # still within the window: nothing more
        south.sync_once()
    clocked_hub.wall.advance(LOOKUP_WINDOW_S + 1)
    south.sync_once()
    assert south.store.outbox.length() == 0 and hub_store.patients.search()["total"] == NEW_PATIENTS_PER_STATION + 4


def test_no_patient_answer_repeats_the_identifier_asked(hub_store, clocked_hub, tmp_path, station_data_dir):
    """R3 finding 6: "the hub has no patient 'NOPE-1'" put the identifier back into the station's
    errors and the hub's stations page."""
    client, ward = clocked_hub.test_client(), clocked_hub.tokens["ward"]
    for route in LOOKUP_ROUTES:
        answer = _lookup(client, ward, route, "NOPE-1", "POST")
        assert answer.status_code == 404 and answer.get_json()["error"] == "the hub has no patient by that identifier"
    south = _station(clocked_hub, hub_store, tmp_path, station_data_dir, "south")
    link = {"seq": 1, "entity": "patient", "op": "link", "local_id": 1, "at": "2026-12-01T10:00:00Z",
            "payload": {"identifier": "NOPE-2"}}
    with pytest.raises(HubRefused, match="HTTP 404") as refused:
        south.client.request("POST", "/api/hub/push", body={"station_id": south.store.outbox.station_id,
                                                            "changes": [link]})
    assert "NOPE" not in str(refused.value)
    assert "NOPE" not in str([r["last_error"] for r in Hub(hub_store).stations()])


def test_a_lookup_beyond_the_limit_from_a_page_says_a_limit_and_when(hub_store, clocked_hub, tmp_path,
                                                                     station_data_dir):
    """R3 finding 6: a pull beyond the hub's limit said "the hub is busy or failing ...; will retry":
    nothing is busy, and nothing retries a page's request."""
    from station.store.audit import Actor

    south = _station(clocked_hub, hub_store, tmp_path, station_data_dir, "south")
    client = clocked_hub.test_client()
    for n in range(LOOKUP_MISSES_PER_STATION):
        _lookup(client, south.client._token, LOOKUP_ROUTES[0], f"P-{n}", "POST")
    hub_store.patients.create({"identifier": "P-WANTED", "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    app = create_app({"STORE": south.store, "SYNC": south, "SECRET_KEY": "s", "PASSWORD_COST": CHEAP})
    south.store.users.create("ana", "a long clinician password 7", "clinician", actor=Actor.system())
    page = app.test_client()
    csrf = page.get("/api/session").get_json()["csrf_token"]
    csrf = page.post("/api/login", json={"username": "ana", "password": "a long clinician password 7"},
                     headers={"X-CSRF-Token": csrf}).get_json()["csrf_token"]
    answer = page.post("/api/patients/pull", json={"identifier": "P-WANTED"}, headers={"X-CSRF-Token": csrf})
    error = answer.get_json()["error"]
    assert answer.status_code == 429 and 0 < int(answer.headers["Retry-After"]) <= LOOKUP_WINDOW_S
    assert "the hub's limit for this station was reached" in error and "try again in 15 min" in error
    assert error.endswith("nothing was brought here")
    assert "busy" not in error and "failing" not in error and "will retry" not in error
