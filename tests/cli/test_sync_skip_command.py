"""``balance-station sync --show-blocked`` / ``--skip CHANGE_ID``: a change the hub refuses every time
(an identifier renamed into one the hub has) is shown with the hub's reason, skipped only when it is
the blocked one, kept for inspection, audited without patient data, and the later changes then go."""

from __future__ import annotations

import io
import sqlite3
import sys
import urllib.parse

import pytest

from station.cli import main
from station.store import outbox_admin
from station.store.audit import Actor
from station.store.passwords import ScryptCost
from station.store.store import Store
from station.sync.hub import Hub
from web import create_app

CHEAP = ScryptCost(log2_n=4, r=8, p=1)
ANA = Actor(2, "ana", "10.0.0.7")
HUB_URL = "http://127.0.0.1:8000"


class _AppTransport:
    """The hub app in this process instead of the network (``station.sync.client.urllib_transport``)."""

    def __init__(self, app):
        self.client = app.test_client()

    def __call__(self, method, url, headers, body):
        parts = urllib.parse.urlsplit(url)
        response = self.client.open(parts.path + (f"?{parts.query}" if parts.query else ""), method=method,
                                    headers=headers, data=body)
        return response.status_code, response.get_data()


@pytest.fixture
def network(tmp_path, monkeypatch):
    """(hub store, station store, argv of the hub options): a station whose renamed patient the hub
    refuses, with a later visit of another patient queued behind the refused change."""
    monkeypatch.setenv("BALANCE_STATION_CONFIG", "")
    monkeypatch.delenv("BALANCE_STATION_HUB_TOKEN", raising=False)
    hub_store = Store.open(tmp_path / "hub", password_cost=CHEAP)
    app = create_app({"STORE": hub_store, "HUB": True, "SECRET_KEY": "t", "PASSWORD_COST": CHEAP, "TESTING": True})
    monkeypatch.setattr("station.sync.client.urllib_transport", lambda *a, **k: _AppTransport(app))
    token_file = tmp_path / "token"
    token_file.write_text(Hub(hub_store).add_station("gym") + "\n")
    token_file.chmod(0o600)
    hub_store.patients.create({"identifier": "H-9", "birth_year": 1940, "sex": "M"}, actor=ANA)
    station = Store.open(tmp_path / "station", password_cost=CHEAP)
    hub_args = ["--hub", HUB_URL, "--hub-token-file", str(token_file), "--data-dir", str(tmp_path / "station")]
    first = station.patients.create({"identifier": "P-1", "birth_year": 1950, "sex": "F"}, actor=ANA)
    second = station.patients.create({"identifier": "P-2", "birth_year": 1951, "sex": "F"}, actor=ANA)
    assert main(["sync", "--once", *hub_args]) == 0
    station.patients.update(second["id"], {"identifier": "H-9", "notes": "moved"}, actor=ANA)
    station.sessions.create(first["id"], {"label": "after"}, actor=ANA)
    yield hub_store, station, hub_args, second["id"]
    station.close()
    hub_store.close()


def _sessions_on_hub(hub_store, identifier) -> int:
    patient = hub_store.patients.get_by_identifier(identifier)
    return len(hub_store.patients.view(patient["id"], actor=ANA)["sessions"])


def test_blocked_change_shown_skipped_kept_audited_and_the_queue_moves_on(network, capsys):
    hub_store, station, hub_args, renamed_id = network
    for _ in range(2):  # refused every time
        assert main(["sync", "--once", *hub_args]) == 1
        assert "HTTP 409" in capsys.readouterr().err
    assert _sessions_on_hub(hub_store, "P-1") == 0

    assert main(["sync", "--show-blocked", *hub_args]) == 0
    out = capsys.readouterr().out
    blocked = outbox_admin.blocked_change(station)
    assert f"blocked: change {blocked.change_id}: patient update" in out
    assert "patient H-9, fields identifier, notes" in out and "moved" not in out  # names, never values
    assert "the hub refused it: identifier 'H-9' is already used by another patient" in out
    assert f"balance-station sync --skip {blocked.change_id}" in out

    monkeypatch_stdin = io.StringIO("")
    sys_stdin, sys.stdin = sys.stdin, monkeypatch_stdin
    try:  # no terminal and no --yes: nothing skipped
        assert main(["sync", "--skip", blocked.change_id, *hub_args]) == 1
    finally:
        sys.stdin = sys_stdin
    assert "add --yes" in capsys.readouterr().err
    later = blocked.seq + 1
    assert main(["sync", "--skip", str(later), "--yes", *hub_args]) == 1  # not the blocked one: order kept
    assert f"change #{later} is not the blocked one" in capsys.readouterr().err
    assert main(["sync", "--skip", f"another-station:{blocked.seq}", "--yes", *hub_args]) == 1
    assert "is not a change of this station" in capsys.readouterr().err

    assert main(["sync", "--skip", blocked.change_id, "--yes", *hub_args]) == 0
    assert f"skipped {blocked.change_id}" in capsys.readouterr().out
    [kept] = outbox_admin.skipped_changes(station)
    assert (kept.change_id, kept.entity, kept.op) == (blocked.change_id, "patient", "update")
    assert "already used by another patient" in kept.reason and kept.skipped_by
    [entry] = station.audit.query(action="sync.skip")
    assert entry["object"] == f"sync_change:{blocked.seq}" and entry["patient_id"] == renamed_id
    assert "H-9" not in str(entry) and "moved" not in str(entry)  # the audit log holds no patient data

    assert main(["sync", "--once", *hub_args]) == 0  # the later change goes, in order
    assert "0 changes left in the queue" in capsys.readouterr().out
    assert _sessions_on_hub(hub_store, "P-1") == 1
    assert hub_store.patients.get_by_identifier("P-2")["notes"] == ""  # the skipped change never reached it
    assert main(["sync", "--show-blocked", *hub_args]) == 0
    out = capsys.readouterr().out
    assert "nothing is blocked" in out and f"{blocked.change_id}: patient update" in out  # listed as skipped


def test_skip_refused_when_the_hub_refused_nothing(network, capsys):
    hub_store, station, hub_args, _ = network
    oldest = station.outbox.pending(1)[0]["seq"]
    assert main(["sync", "--skip", str(oldest), "--yes", *hub_args]) == 1
    assert "the hub has refused no change at the last sync" in capsys.readouterr().err
    assert main(["sync", "--show-blocked", *hub_args]) == 0
    assert "nothing is blocked: the last sync had no refused change" in capsys.readouterr().out
    assert station.outbox.length() == 2


def test_skipped_change_is_erased_with_its_patient(network, capsys):
    hub_store, station, hub_args, renamed_id = network
    assert main(["sync", "--once", *hub_args]) == 1
    capsys.readouterr()
    assert main(["sync", "--skip", outbox_admin.blocked_change(station).change_id, "--yes", *hub_args]) == 0
    station.patients.erase(renamed_id, "H-9", actor=ANA)
    assert outbox_admin.skipped_changes(station) == []
    conn = sqlite3.connect(station.data_dir / "station.sqlite3")
    try:
        assert conn.execute("SELECT count(*) FROM sync_skipped").fetchone()[0] == 0
    finally:
        conn.close()


def test_without_the_hub_only_the_oldest_queued_change_can_be_skipped(network, capsys, monkeypatch):
    hub_store, station, hub_args, _ = network
    assert main(["sync", "--once", *hub_args]) == 1  # refused: the reason is recorded
    capsys.readouterr()

    def unreachable(*args, **kwargs):
        def send(method, url, headers, body):
            raise ConnectionRefusedError("connection refused")
        return send

    monkeypatch.setattr("station.sync.client.urllib_transport", unreachable)
    oldest = station.outbox.pending(1)[0]["seq"]
    assert main(["sync", "--skip", str(oldest + 1), "--yes", *hub_args]) == 1
    assert "not the blocked one" in capsys.readouterr().err
    assert main(["sync", "--skip", str(oldest), "--yes", *hub_args]) == 0
    out, err = capsys.readouterr()
    assert "the hub could not be asked" in err and "skipped" in out
