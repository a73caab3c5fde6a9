"""Frame parts carry the SHA-256 of their body (X-Frames-SHA256): a part damaged on the way is not
stored and the station sends it again; a part whose frames do not start at X-First-Seq is refused;
a station that sends no digest (older software) is told to update."""

from __future__ import annotations

import pytest

from station.sync.client import HubRefused
from station.sync.hub import Hub
from station.sync.records import PART_DIGEST_HEADER, PART_FRAMES, part_digest

from sync_support import CLINICIAN, add_trial, frames, hub_trials


class Damaging:
    """Wraps a station's transport: flips one byte in the body of the next ``n`` frame parts."""

    def __init__(self, transport, n: int):
        self.transport, self.left = transport, n
        self.parts_sent: list[str] = []

    def __call__(self, method, url, headers, body):
        if method == "PUT" and "/parts/" in url:
            self.parts_sent.append(url.rsplit("/api/hub", 1)[1])
            if self.left > 0:
                self.left -= 1
                body = bytes([body[0] ^ 0xFF]) + body[1:]
        return self.transport(method, url, headers, body)


def _station_with_trial(station_factory, n_frames: int):
    gym = station_factory("gym")
    patient = gym.store.patients.create({"identifier": "P-1", "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
    session = gym.store.sessions.create(patient["id"], {}, actor=CLINICIAN)
    trial_id = add_trial(gym.store, session["id"], n_frames=n_frames)
    return gym, trial_id


def test_a_part_damaged_on_the_way_is_sent_again_and_the_trial_arrives_whole(hub_store, station_factory):
    gym, trial_id = _station_with_trial(station_factory, PART_FRAMES + 100)
    damaging = gym.client._send = Damaging(gym.client._send, 1)
    report = gym.sync_once()
    assert report.frame_parts == 2 and gym.store.outbox.length() == 0
    assert damaging.parts_sent == [f"/trials/{trial_id}/parts/0", f"/trials/{trial_id}/parts/0",
                                   f"/trials/{trial_id}/parts/1"]  # the damaged one twice
    [trial] = hub_trials(hub_store, "P-1")
    assert hub_store.trials.frames(trial["id"]).tobytes() == gym.store.trials.frames(trial_id).tobytes()


def test_a_part_damaged_every_time_is_never_stored_and_the_sync_fails_in_one_line(hub_store, station_factory):
    gym, trial_id = _station_with_trial(station_factory, 50)
    gym.client._send = Damaging(gym.client._send, 2)
    with pytest.raises(HubRefused, match=r"HTTP 400.*part 0 arrived damaged .*not stored: send it again") as caught:
        gym.sync_once()
    assert "\n" not in str(caught.value)
    assert gym.client.request("GET", f"/api/hub/trials/{trial_id}/parts") == {"on_hub": False, "parts": []}
    assert gym.store.outbox.length() > 0
    gym.sync_once()  # the network is sound again: the next sync sends it
    assert gym.store.outbox.length() == 0 and len(hub_trials(hub_store, "P-1")) == 1


def _put(hub_app, token: str, data: bytes, first_seq: int, digest: str | None):
    headers = {"Authorization": f"Bearer {token}", "X-First-Seq": str(first_seq), "X-Frames": str(len(data) // 140)}
    if digest is not None:
        headers[PART_DIGEST_HEADER] = digest
    answer = hub_app.test_client().put("/api/hub/trials/1/parts/0", data=data, headers=headers,
                                       content_type="application/octet-stream")
    return answer.status_code, answer.get_json()["error"] if answer.status_code >= 400 else None


def test_parts_are_checked_against_their_digest_and_first_seq(hub_store, hub_app):
    hub = Hub(hub_store)
    token = hub.add_station("gym")
    data = frames(10)
    data["seq"] += 500
    body = data.tobytes()
    status, error = _put(hub_app, token, body, 500, None)
    assert status == 400 and "without X-Frames-SHA256 (sync protocol 1); update the station" in error
    status, error = _put(hub_app, token, body, 500, "0" * 64)
    assert status == 400 and "arrived damaged" in error
    status, error = _put(hub_app, token, body, 499, part_digest(body))  # X-First-Seq is not the first frame's seq
    assert status == 422 and "first frame is number 500, not X-First-Seq 499" in error
    status, error = _put(hub_app, token, body, 0, part_digest(body))
    assert status == 422
    gym = hub.station_named("gym")
    assert hub.parts(gym, 1) == {"on_hub": False, "parts": []}  # nothing of those stored
    assert _put(hub_app, token, body, 500, part_digest(body).upper()) == (200, None)
    assert hub.parts(gym, 1) == {"on_hub": False, "parts": [0]}
