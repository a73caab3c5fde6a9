"""Station tokens: issued once (kept hashed), revocable, bound to one station; the sync API needs a
token and no CSRF token; bad tokens are throttled; bodies are bounded; plain HTTP only to loopback;
the hub's stations page is for administrators."""

from __future__ import annotations

import pytest

from station.cli import main
from station.store.audit import Actor
from station.sync.client import HubClient, HubRefused, HubUnreachable, SyncError, check_hub_url
from station.sync.hub import Hub, token_hash
from station.sync.records import PART_DIGEST_HEADER, part_digest

from sync_support import CLINICIAN, HUB_URL, AppTransport, add_trial


def test_a_revoked_token_is_refused(hub_store, station_factory):
    gym = station_factory("gym")
    gym.store.patients.create({"identifier": "P-1", "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    Hub(hub_store).revoke_station("gym")
    with pytest.raises(HubRefused, match="HTTP 401.*unknown or revoked station token"):
        gym.sync_once()
    assert gym.store.outbox.length() == 1  # kept for when a new token is configured
    assert hub_store.patients.search()["total"] == 0
    [row] = Hub(hub_store).stations()
    assert row["revoked_at"] is not None


def test_tokens_are_stored_hashed_and_bound_to_one_station(hub_store, hub_app, station_factory, tmp_path):
    hub = Hub(hub_store)
    token = hub.add_station("clinic")
    with hub_store.db.read() as conn:
        stored = conn.execute("SELECT token_hash FROM hub_stations WHERE name = 'clinic'").fetchone()[0]
    assert stored == token_hash(token) and token not in stored
    with pytest.raises(Exception, match="exists"):
        hub.add_station("clinic")
    gym = station_factory("gym")
    gym.store.patients.create({"identifier": "P-1", "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    gym.sync_once()  # its first push binds the token to the gym's station id
    # the gym's token copied into another station's data directory
    other = station_factory("other")
    thief = HubClient(HUB_URL, _token_of(gym), transport=AppTransport(hub_app))
    with pytest.raises(HubRefused, match="HTTP 409.*another data directory"):
        thief.request("POST", "/api/hub/push", body={"station_id": other.store.outbox.station_id, "changes": []})


def _token_of(sync) -> str:
    return sync.client._token


def test_the_sync_api_needs_a_token_not_a_session_and_bad_tokens_are_throttled(hub_app):
    client = hub_app.test_client()
    answer = client.post("/api/hub/push", json={"changes": []})
    assert answer.status_code == 401 and "station token" in answer.get_json()["error"]
    for _ in range(19):
        client.get("/api/hub/tombstones", headers={"Authorization": "Bearer wrong"})
    answer = client.get("/api/hub/tombstones", headers={"Authorization": "Bearer wrong"})
    assert answer.status_code == 429 and int(answer.headers["Retry-After"]) > 0


def test_a_valid_token_is_served_from_an_address_that_guessed(hub_store, hub_app):
    """A guesser behind the clinic's NAT (a guest on its Wi-Fi) must not stop the stations' sync:
    their bad tokens are refused (429), the stations' valid tokens from that address are served."""
    token = Hub(hub_store).add_station("gym")
    client = hub_app.test_client()
    nat = {"REMOTE_ADDR": "192.0.2.7"}
    codes = [client.get("/api/hub/tombstones?after=0&keyed=1", headers={"Authorization": f"Bearer bst_wrong{n}"},
                        environ_base=nat).status_code for n in range(21)]
    assert codes == [401] * 20 + [429]
    valid = {"Authorization": f"Bearer {token}"}
    for _ in range(3):
        assert client.get("/api/hub/tombstones?after=0&keyed=1", headers=valid, environ_base=nat).status_code == 200
    # the guesser stays refused, and a valid token's success does not clear the address's failures
    answer = client.get("/api/hub/tombstones?after=0&keyed=1", headers={"Authorization": "Bearer bst_wrong99"},
                        environ_base=nat)
    assert answer.status_code == 429 and "bad station tokens" in answer.get_json()["error"]
    Hub(hub_store).revoke_station("gym")  # a revoked token is a bad one
    assert client.get("/api/hub/tombstones?after=0&keyed=1", headers=valid, environ_base=nat).status_code == 429


def test_bodies_are_bounded(hub_store, hub_app):
    token = Hub(hub_store).add_station("gym")
    client = hub_app.test_client()
    auth = {"Authorization": f"Bearer {token}"}
    too_big = client.put("/api/hub/trials/1/parts/0", data=b"\0" * (901 * 140), headers={
        **auth, "Content-Type": "application/octet-stream", "X-First-Seq": "0", "X-Frames": "901"})
    assert too_big.status_code == 413
    wrong = client.put("/api/hub/trials/1/parts/0", data=b"\0" * 141, headers={
        **auth, "Content-Type": "application/octet-stream", "X-First-Seq": "0", "X-Frames": "1",
        PART_DIGEST_HEADER: part_digest(b"\0" * 141)})
    assert wrong.status_code == 422 and "141 bytes" in wrong.get_json()["error"]
    push = client.post("/api/hub/push", data=b'{"changes": [' + b'0,' * 70_000 + b'0]}',
                       headers={**auth, "Content-Type": "application/json"})
    assert push.status_code == 413


def test_plain_http_only_to_loopback_and_certificates_are_checked(tmp_path):
    assert check_hub_url("https://hub.clinic.example/") == "https://hub.clinic.example"
    assert check_hub_url("http://127.0.0.1:8001") == "http://127.0.0.1:8001"
    assert check_hub_url("http://localhost:8001") == "http://localhost:8001"
    with pytest.raises(ValueError, match="plain HTTP to another machine"):
        check_hub_url("http://10.0.0.5:8000")
    with pytest.raises(ValueError, match="not an http"):
        check_hub_url("ftp://hub")
    with pytest.raises(ValueError, match="cannot read the hub CA file"):
        HubClient("https://hub.example", "t", ca_file=str(tmp_path / "missing.pem"))
    # nothing listens on this port: one line, no traceback, retried later
    client = HubClient("http://127.0.0.1:9", "token", timeout_s=2)
    with pytest.raises(HubUnreachable, match="cannot reach the hub at http://127.0.0.1:9"):
        client.request("GET", "/api/hub/tombstones")


def test_the_stations_page_shows_every_station_to_administrators_only(hub_store, hub_app, station_factory):
    gym = station_factory("gym")
    gym.store.patients.create({"identifier": "ZQX.PATIENT.CODE", "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    gym.sync_once()
    station_factory("ward")
    Hub(hub_store).revoke_station("ward")
    hub_store.users.create("boss", "a long admin password 1", "admin", actor=Actor.system())
    client = hub_app.test_client()
    assert client.get("/hub/stations").status_code == 302
    assert client.get("/api/hub/stations").status_code == 401
    csrf = client.get("/api/session").get_json()["csrf_token"]
    login = client.post("/api/login", json={"username": "boss", "password": "a long admin password 1"},
                        headers={"X-CSRF-Token": csrf})
    assert login.status_code == 200
    [gym_row, ward_row] = client.get("/api/hub/stations").get_json()["stations"]
    assert gym_row["name"] == "gym" and gym_row["last_sync_at"] and gym_row["queue_length"] == 0
    assert gym_row["last_error"] is None and ward_row["revoked_at"] is not None
    page = client.get("/hub/stations").get_data(as_text=True)
    assert "gym" in page and "ward" in page and "revoked" in page and "ZQX.PATIENT.CODE" not in page


def test_a_station_given_a_new_token_under_its_name_goes_on_with_its_records(hub_store, hub_app, station_factory,
                                                                               pg_url, tmp_path, capsys):
    """A leaked token rotated (`hub stations revoke gym`, `hub stations add gym`, the gym configured
    with the new token, same data directory): the gym's visit and trial on the hub stay its own
    (its new trial joins that visit, nothing is doubled) and its queue drains; the revoked token
    stays refused everywhere, and no other station's token can take the gym's identity. The old
    code refused the second `add` ('exists'); under a new name the gym's queue was refused for good
    ('trial #2 names a session the hub does not know') and its offered-again visit doubled."""
    gym, ward = station_factory("gym"), station_factory("ward")
    patient = gym.store.patients.create({"identifier": "P-1", "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    session = gym.store.sessions.create(patient["id"], {}, actor=CLINICIAN)
    add_trial(gym.store, session["id"], 300)
    gym.sync_once()
    hub_cli = ["--database", pg_url, "--data-dir", str(tmp_path / "hub-cli")]
    assert main(["hub", "stations", "revoke", "gym", *hub_cli]) == 0
    add_trial(gym.store, session["id"], 300, 1)  # recorded while the gym has no valid token
    gym.store.patients.update(patient["id"], {"notes": "after the revocation"}, actor=CLINICIAN)
    with pytest.raises(HubRefused, match="HTTP 401"):
        gym.sync_once()
    capsys.readouterr()
    assert main(["hub", "stations", "add", "gym", *hub_cli]) == 0
    out = capsys.readouterr().out
    assert main(["hub", "stations", "add", "ward", *hub_cli]) == 1  # a name whose token is in use
    assert "revoke the old one first" in capsys.readouterr().err
    assert "registered again" in out
    old_token, new_token = _token_of(gym), out.strip().splitlines()[-1]
    gym.client = HubClient(HUB_URL, new_token, transport=AppTransport(hub_app))

    report = gym.sync_once()
    assert report.sent["trial"] == 1 and not report.hub_restored and report.offered_again == 0
    assert gym.store.outbox.length() == 0 and gym.sync_once().sent == {}
    hub_id = hub_store.patients.get_by_identifier("P-1")["id"]
    doc = hub_store.patients.view(hub_id, actor=Actor.system())
    assert [len(s["trials"]) for s in doc["sessions"]] == [2]  # one visit, both trials: nothing doubled
    assert doc["notes"] == "after the revocation" and hub_store.patients.search()["total"] == 1

    old = HubClient(HUB_URL, old_token, transport=AppTransport(hub_app))
    for method, path, body in (("GET", "/api/hub/tombstones", None), ("GET", "/api/hub/audit", None),
                               ("POST", "/api/hub/push", {"station_id": gym.store.outbox.station_id, "changes": []})):
        with pytest.raises(HubRefused, match="HTTP 401.*unknown or revoked station token"):
            old.request(method, path, body=body)
    ward.store.patients.create({"identifier": "P-2", "birth_year": 1951, "sex": "M"}, actor=CLINICIAN)
    ward.sync_once()  # binds the ward's own token to the ward
    ward_token = HubClient(HUB_URL, _token_of(ward), transport=AppTransport(hub_app))
    renewed_elsewhere = HubClient(HUB_URL, new_token, transport=AppTransport(hub_app))
    spare = HubClient(HUB_URL, Hub(hub_store).add_station("spare"), transport=AppTransport(hub_app))
    for client, station_id, refusal in ((ward_token, gym.store.outbox.station_id, "another data directory"),
                                        (renewed_elsewhere, ward.store.outbox.station_id, "another data directory"),
                                        (spare, gym.store.outbox.station_id, "already registered with another token")):
        with pytest.raises(HubRefused, match=f"HTTP 409.*{refusal}"):
            client.request("POST", "/api/hub/push", body={"station_id": station_id, "changes": [
                {"seq": 99, "entity": "patient", "op": "erase", "local_id": patient["id"], "at": "2026-01-02T00:00:00Z",
                 "payload": {"identifier_hash": "0" * 64}}]})
    assert hub_store.patients.get(hub_id)["identifier"] == "P-1"
    tablet = station_factory("tablet")  # a new tablet given the gym's new token: not the gym
    tablet.client = renewed_elsewhere
    with pytest.raises(SyncError, match="not the data directory that synced under this token's station name"):
        tablet.sync_once()
    [renew] = hub_store.audit.query(action="sync.station_renew")
    assert renew["detail"]["station"] == "gym" and renew["detail"]["station_id"] == gym.store.outbox.station_id
    assert renew["username"].startswith("cli:") and "P-1" not in str(renew) and new_token not in str(renew)
    assert [e["detail"]["station"] for e in hub_store.audit.query(action="sync.station_revoke")] == ["gym"]
