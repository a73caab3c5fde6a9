"""Helpers of the web tests: an API client that carries its CSRF token, the store tests' data
helpers, account passwords, and a fingerprint of the stored data (to prove that refused requests
store nothing)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest


def _load_clinic_data():
    """The store tests' data helpers (tests/store/clinic_data.py), shared rather than copied."""
    if "clinic_data" in sys.modules:
        return sys.modules["clinic_data"]
    path = Path(__file__).resolve().parents[1] / "store" / "clinic_data.py"
    spec = importlib.util.spec_from_file_location("clinic_data", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["clinic_data"] = module
    spec.loader.exec_module(module)
    return module


clinic_data = _load_clinic_data()
ADMIN_PW = "admin password 123"
CLINICIAN_PW = "clinician password 1"
CAL = {"method": "nominal"}


class ApiClient:
    """A Flask test client that remembers its CSRF token and sends it with state-changing calls."""

    def __init__(self, client):
        self.client = client
        self.csrf: str | None = None

    def refresh_csrf(self) -> str:
        self.csrf = self.client.get("/api/session").json["csrf_token"]
        return self.csrf

    def login(self, username: str, password: str):
        self.refresh_csrf()
        response = self.client.post(
            "/api/login", json={"username": username, "password": password}, headers={"X-CSRF-Token": self.csrf}
        )
        if response.status_code == 200:
            self.csrf = response.json["csrf_token"]
        return response

    def get(self, path: str, **kwargs):
        return self.client.get(path, **kwargs)

    def send(self, method: str, path: str, json=None, *, csrf: str | None | bool = True, headers=None, **kwargs):
        headers = dict(headers or {})
        if csrf is True:
            headers["X-CSRF-Token"] = self.csrf or ""
        elif isinstance(csrf, str):
            headers["X-CSRF-Token"] = csrf
        if json is not None:
            kwargs["json"] = json
        return self.client.open(path, method=method, headers=headers, **kwargs)

    def post(self, path, json=None, **kwargs):
        return self.send("POST", path, json, **kwargs)

    def patch(self, path, json=None, **kwargs):
        return self.send("PATCH", path, json, **kwargs)

    def delete(self, path, json=None, **kwargs):
        return self.send("DELETE", path, json, **kwargs)


def fingerprint(store) -> tuple:
    """Everything stored that a request could change (login sessions aside)."""
    with store.db.read() as conn:
        return tuple(
            tuple(tuple(row) for row in conn.execute(f"SELECT * FROM {table} ORDER BY 1"))
            for table in ("users", "patients", "sessions", "trials", "audit_log", "settings")
        ) + (conn.execute("SELECT count(*), coalesce(sum(n_frames), 0) FROM trial_chunks").fetchone()[:],)


def hub_sample(argnames: str, values, on_hub, *, ids, reason: str):
    """Parametrise ``backend`` and ``argnames`` together: every value on the station's SQLite, and
    those for which ``on_hub(value)`` is true on the hub's PostgreSQL too. For a matrix whose cases
    all reach the same store calls (e.g. one refusal repeated over every route): the sample keeps
    those calls on the hub, ``reason`` says why the rest would only repeat them."""
    if not reason:
        raise ValueError("say why the other cases run on SQLite only")
    values = list(values)
    several = "," in argnames  # then each value is a tuple of them

    def case(backend, value):
        return pytest.param(backend, *(value if several else (value,)), id=f"{backend}-{ids(value)}")

    cases = [case("sqlite", v) for v in values] + [case("postgresql", v) for v in values if on_hub(v)]
    if len(cases) == len(values):
        raise ValueError("the sample keeps no case on the hub")
    return pytest.mark.parametrize(f"backend, {argnames}", cases)


def sqlite_only(reason: str):
    """Run the test on the station's SQLite only, in a module whose ``BACKENDS`` has both:
    ``reason`` says why (what only a station has, or a request refused before the store is
    reached, where the hub would repeat the same code at the cost of a database per case)."""
    if not reason:
        raise ValueError("say why the test runs on SQLite only")

    def mark(test):
        test.backends = ("sqlite",)
        test.sqlite_only_reason = reason
        return test

    return mark
