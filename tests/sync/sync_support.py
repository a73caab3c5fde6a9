"""Test helpers of the sync: a hub app in this process, stations that reach it through a transport
that can be cut, and records with frames."""

from __future__ import annotations

import urllib.parse

import numpy as np

from station.acquire.frame import empty_frames
from station.store.audit import Actor
from station.store.passwords import ScryptCost
from station.store.store import Store
from station.sync.client import HubClient
from station.sync.hub import Hub
from station.sync.syncer import StationSync

CHEAP = ScryptCost(log2_n=4, r=8, p=1)
CLINICIAN = Actor(2, "ana", "10.0.0.7")
HUB_URL = "http://127.0.0.1:8000"
CALIBRATION = {"zero_counts": [0, 0, 0, 0], "n_per_count": [1e-3] * 4, "method": "test", "created_utc": "2026-01-01"}


class WallClock:
    """A wall clock the test moves by hand (Unix s), from 2026-01-01."""

    def __init__(self, t_s: float = 1_767_225_600.0):
        self.t_s = t_s

    def __call__(self) -> float:
        return self.t_s

    def advance(self, dt_s: float) -> None:
        self.t_s += dt_s


class NetworkCut(OSError):
    pass


class AppTransport:
    """The network between a station and the hub app (Flask's test client). ``cut_after(n)``
    lets ``n`` more requests through, then fails every request (a cable pulled) until
    ``restore()``; ``requests`` logs ``(method, path)``, ``urls`` each whole URL asked (its query
    too) and ``statuses`` the hub's answers' statuses, in order."""

    def __init__(self, app):
        self.client = app.test_client()
        self.requests: list[tuple[str, str]] = []
        self.urls: list[str] = []
        self.statuses: list[int] = []
        self._budget: int | None = None
        self.lose_answers_to: str | None = None
        """A path whose requests reach the hub but whose answers are lost (the station dies or the
        link drops after the hub applied them)."""

    def cut_after(self, n: int) -> None:
        self._budget = n

    def restore(self) -> None:
        self._budget = None

    def __call__(self, method: str, url: str, headers: dict, body: bytes | None):
        if self._budget is not None:
            if self._budget <= 0:
                raise NetworkCut("network is unreachable")
            self._budget -= 1
        parts = urllib.parse.urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        self.requests.append((method, parts.path))
        self.urls.append(url)
        response = self.client.open(path, method=method, headers=headers, data=body)
        self.statuses.append(response.status_code)
        if self.lose_answers_to == parts.path:
            raise NetworkCut("connection reset by peer")
        return response.status_code, response.get_data()


def open_hub_store(tmp_path, wall=None, database=None) -> Store:
    kwargs = {"password_cost": CHEAP}
    if wall is not None:
        kwargs["wall_clock"] = wall
    if database is not None:
        kwargs["database"] = database
    return Store.open(tmp_path / "hub", **kwargs)


def make_station(hub_store: Store, app, tmp_path, name: str, wall=None) -> StationSync:
    """A station's store in its own data directory, registered on the hub, reaching it through
    its own :class:`AppTransport` (``sync.client._send``)."""
    token = Hub(hub_store).add_station(name)
    kwargs = {"password_cost": CHEAP}
    if wall is not None:
        kwargs["wall_clock"] = wall
    store = Store.open(tmp_path / name, **kwargs)
    client = HubClient(HUB_URL, token, transport=AppTransport(app))
    return StationSync(store, client, batch_changes=7)


def frames(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = empty_frames(n)
    out["seq"] = np.arange(n)
    out["t_ns"] = out["seq"] * 10_000_000
    out["ap_cm"] = np.cumsum(rng.normal(0, 0.05, n))
    out["ml_cm"] = np.cumsum(rng.normal(0, 0.05, n))
    out["fz_n"] = 700.0
    return out


def add_trial(store: Store, session_id: int, n_frames: int = 1000, seed: int = 0) -> int:
    """A recorded trial (through the recorder, so it is queued as a station records it)."""
    writer = store.trials.start_trial(session_id, "romberg", "eyes_open", CALIBRATION, 100.0, actor=CLINICIAN)
    data = frames(n_frames, seed)
    for start in range(0, n_frames, 250):
        writer.append(data[start:start + 250])
    writer.finish({"fs_hz": 100.0, "samples": n_frames, "profile": "station", "version": "t",
                   "metrics": {"ellipse_area_cm2": 2.0 + seed}}, valid=True)
    return writer.trial_id


def hub_patient(hub_store: Store, identifier: str) -> dict:
    return hub_store.patients.get_by_identifier(identifier)


def hub_trials(hub_store: Store, identifier: str) -> list[dict]:
    patient = hub_patient(hub_store, identifier)
    doc = hub_store.patients.view(patient["id"], actor=Actor.system())
    return [t for s in doc["sessions"] for t in s["trials"]]


def station_health(sync: StationSync) -> dict:
    """The ``sync`` part of the station's ``/healthz`` (its web app on ``sync.store``)."""
    from web import create_app

    return create_app({"STORE": sync.store, "SYNC": sync, "SECRET_KEY": "t", "PASSWORD_COST": CHEAP}
                      ).test_client().get("/healthz").get_json()["sync"]


def hub_admin_client(hub_store: Store, app):
    """A test client of the hub ``app`` signed in as a new administrator ``boss``."""
    hub_store.users.create("boss", "a long admin password 1", "admin", actor=Actor.system())
    client = app.test_client()
    csrf = client.get("/api/session").get_json()["csrf_token"]
    assert client.post("/api/login", json={"username": "boss", "password": "a long admin password 1"},
                       headers={"X-CSRF-Token": csrf}).status_code == 200
    return client
