"""The history page's look at the hub's programmes cannot use up the station's lookups at the hub
(X1 finding F6, session 25). The hub answers one station 60 lookups by identifier in 15 min, 10 of them
of identifiers it does not hold, pulls and the history page's programmes counted together; every view
of a history page asked the hub, so 10 views of a patient not on the hub yet (or 60 of any) refused
every pull at the station for 15 min, for every user. Now an answer is shown again for a minute
without asking, and the pages' lookups keep within half of each count: pulls keep the rest."""

from __future__ import annotations

import pytest

from station.sync.client import HubClient
from station.sync.syncer import StationSync
from web import create_app
from web.api_sync import HUB_PROGRAMMES_KEEP_S, HUB_PROGRAMMES_LOOKUPS, HUB_PROGRAMMES_MISSES

from sync_support import CHEAP, CLINICIAN, HUB_URL, AppTransport, WallClock

ADMIN_PW, CLINICIAN_PW = "admin password 123", "clinician password 1"


@pytest.fixture
def clinic(hub_store, tmp_path):
    """The hub app (its throttles on a clock the test moves), a station syncing with it, the
    station's app and two signed-in users of it; the hub holds P-ELSEWHERE."""
    from station.store.store import Store

    wall = WallClock()
    hub = create_app({"STORE": hub_store, "HUB": True, "SECRET_KEY": "test", "PASSWORD_COST": CHEAP, "TESTING": True,
                      "WALL_CLOCK": wall, "THROTTLE_CLOCK": wall})
    hub_store.patients.create({"identifier": "P-ELSEWHERE", "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    store = Store.open(tmp_path / "ward", password_cost=CHEAP)
    transport = AppTransport(hub)
    sync = StationSync(store, HubClient(HUB_URL, hub.extensions["station_hub"].add_station("ward"), transport=transport))
    store.users.create_first_admin("root", ADMIN_PW, actor=CLINICIAN)
    store.users.create("ana", CLINICIAN_PW, "clinician", actor=CLINICIAN)
    app = create_app({"STORE": store, "SYNC": sync, "SECRET_KEY": "t", "PASSWORD_COST": CHEAP, "THROTTLE_CLOCK": wall})

    class Clinic:
        pass

    clinic = Clinic()
    clinic.store, clinic.sync, clinic.transport, clinic.wall = store, sync, transport, wall
    clinic.ana, clinic.root = _signed_in(app, "ana", CLINICIAN_PW), _signed_in(app, "root", ADMIN_PW)
    try:
        yield clinic
    finally:
        store.close()


def _signed_in(app, username: str, password: str):
    client = app.test_client()
    csrf = client.get("/api/session").get_json()["csrf_token"]
    answer = client.post("/api/login", json={"username": username, "password": password}, headers={"X-CSRF-Token": csrf})
    client.csrf = answer.get_json()["csrf_token"]
    return client


def _patients(clinic, n: int, prefix: str) -> list[int]:
    return [clinic.store.patients.create({"identifier": f"{prefix}-{k:03d}", "birth_year": 1950, "sex": "F"},
                                         actor=CLINICIAN)["id"] for k in range(n)]


def _lookups(clinic) -> int:
    return sum(1 for _, path in clinic.transport.requests if path.startswith("/api/hub/patients"))


def _pull(clinic):
    return clinic.root.post("/api/patients/pull", json={"identifier": "P-ELSEWHERE"},
                            headers={"X-CSRF-Token": clinic.root.csrf})


def test_a_history_page_viewed_again_and_again_asks_the_hub_once_a_minute(clinic):
    (patient,) = _patients(clinic, 1, "P-HERE")  # not pushed yet: the hub does not hold them
    answers = [clinic.ana.get(f"/api/patients/{patient}/hub-programmes") for _ in range(30)]
    assert [a.status_code for a in answers] == [200] * 30 and all(a.get_json() == {"programmes": []} for a in answers)
    assert _lookups(clinic) == 1
    clinic.wall.advance(HUB_PROGRAMMES_KEEP_S + 1)
    assert clinic.ana.get(f"/api/patients/{patient}/hub-programmes").status_code == 200
    assert _lookups(clinic) == 2  # asked again: the hub's programmes as they are now
    assert _pull(clinic).status_code == 201  # another user brings a patient from the hub


def test_views_of_many_patients_not_on_the_hub_leave_the_pulls_their_share(clinic):
    patients = _patients(clinic, HUB_PROGRAMMES_MISSES + 3, "P-HERE")
    codes = [clinic.ana.get(f"/api/patients/{p}/hub-programmes") for p in patients]
    assert [c.status_code for c in codes] == [200] * HUB_PROGRAMMES_MISSES + [429] * 3
    words = codes[-1].get_json()["error"]
    assert words.startswith("the hub's programmes were asked for too many patients in the last 15 min") and \
        "so that bringing patients from the hub keeps working" in words and words.endswith("in 15 min")
    assert 0 < int(codes[-1].headers["Retry-After"]) <= 15 * 60
    assert _lookups(clinic) == HUB_PROGRAMMES_MISSES
    assert _pull(clinic).status_code == 201


def test_views_of_many_patients_on_the_hub_leave_the_pulls_their_share(clinic):
    patients = _patients(clinic, HUB_PROGRAMMES_LOOKUPS + 2, "P-HELD")
    clinic.sync.sync_once()  # pushed: the hub holds them all
    codes = [clinic.ana.get(f"/api/patients/{p}/hub-programmes").status_code for p in patients]
    assert codes == [200] * HUB_PROGRAMMES_LOOKUPS + [429] * 2
    assert _pull(clinic).status_code == 201


def test_one_users_pulls_of_identifiers_the_hub_does_not_hold_keep_within_their_share(clinic):
    """X1 finding F6's rest (session 25): one user's pulls with typos (or a script's) used up the station's
    10 misses at the hub, and every colleague's pull was refused for 15 min. A user now has 3 of them."""
    from web.api_sync import PULL_MISSES_PER_USER

    (held,) = _patients(clinic, 1, "P-HELD")

    def pull(client, identifier):
        return client.post("/api/patients/pull", json={"identifier": identifier}, headers={"X-CSRF-Token": client.csrf})

    typos = [pull(clinic.ana, f"P-TYPO-{k}") for k in range(PULL_MISSES_PER_USER)]
    assert [t.status_code for t in typos] == [404] * PULL_MISSES_PER_USER
    asked = _lookups(clinic)
    refused = pull(clinic.ana, "P-TYPO-9")
    assert refused.status_code == 429 and refused.headers["Retry-After"] == str(15 * 60)
    words = refused.get_json()["error"]
    assert "at most 3 a user" in words and "check the identifier" in words and "15 min" in words, words
    assert _lookups(clinic) == asked  # the hub was not asked
    assert pull(clinic.ana, "P-HELD-000").status_code == 201  # a patient held here is answered
    assert clinic.store.patients.get(held)["identifier"] == "P-HELD-000"
    assert _pull(clinic).status_code == 201  # a colleague brings a patient from the hub
    clinic.wall.advance(15 * 60 + 1)
    assert pull(clinic.ana, "P-TYPO-9").status_code == 404  # the hub asked again
