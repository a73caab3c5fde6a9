"""The hub's lookups of a patient by identifier are limited per station token, by POST (stations of
this version) and GET (stations from before) counted together (a leaked token cannot enumerate
identifiers), and a token not yet bound cannot take another station's id."""

from __future__ import annotations

import pytest

from station.sync.client import HubClient, HubRefused
from station.sync.hub import Hub
from web import create_app
from web.hub_api import LOOKUP_MISSES_PER_STATION, LOOKUP_WINDOW_S, LOOKUPS_PER_STATION

from sync_support import CHEAP, CLINICIAN, HUB_URL, AppTransport, WallClock

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
