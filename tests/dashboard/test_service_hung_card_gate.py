"""The recording gate while the station's storage does not answer its idle check (an SD card that hangs, no
write failed): the refusal says what is true, that the storage has not answered for so long, not a disk I/O
error that never happened.

The space monitor's idle check write (nothing written for IDLE_CHECK_S) hangs here until the test ends; not
answered for STORAGE_HUNG_S, the storage's state is ``failed`` (3487d31), and opening a test or starting a
trial is refused. The refusal said "(a disk I/O error: its SD card may be failing)", the words of a write that
failed, while nothing had failed: the card had not answered."""

from __future__ import annotations

import threading

import pytest

import station.store.space as space
from station.protocols.service import full_disk_refusal
from station.store.space import StorageFailing
from station.store.store import Store

from dashboard_support import ACTOR, CHEAP, SimulatedClinic


@pytest.fixture
def store(tmp_path, station_data_dir):
    station_data_dir(tmp_path / "data")
    s = Store.open_service(tmp_path / "data", password_cost=CHEAP)  # a station's SQLite: its card watched idle
    yield s
    s.close()


@pytest.fixture
def hung_check(monkeypatch):
    """The check write hangs until the test ends."""
    mended = threading.Event()
    monkeypatch.setattr(space, "storage_writes", lambda data_dir: mended.wait(30) and "")
    yield
    mended.set()


def test_a_test_refused_while_the_idle_check_hangs_says_the_storage_has_not_answered(store, monkeypatch,
                                                                                      hung_check):
    patient = store.patients.create({"identifier": "P-001", "birth_year": 1950, "sex": "F"}, actor=ACTOR)
    clinic = SimulatedClinic(store)
    now = [store.space._clock()]
    monkeypatch.setattr(store.space, "_clock", lambda: now[0])
    store.space.watch_idle(lambda: None)  # nothing written since the start
    now[0] += space.IDLE_CHECK_S + 1
    assert store.space.status()["state"] == "ok"  # the idle check under way (a health reading), not answered
    now[0] += space.STORAGE_HUNG_S + 2
    with pytest.raises(StorageFailing) as refused:
        clinic.call("open_run", patient["id"], "quiet-stance", None, ACTOR)
    words = str(refused.value)
    assert words.startswith("The station's storage (its SD card) has not answered for 12 s, so the test was not "
                            "opened. What was stored before is kept. Check the SD card or replace it"), words
    assert "I/O error" not in words and "failed to write" not in words  # (old code: 'a disk I/O error')
    storage = store.space.status(fresh=True)  # what /healthz says too
    assert storage["state"] == "failed" and storage["io_error"] is False and storage["not_answered_s"] == 12.0


def test_a_write_that_failed_is_still_said_an_io_error_and_how_long_its_check_has_not_answered(store, monkeypatch,
                                                                                               hung_check):
    store.space.storage_failed()  # a write failed with an I/O error (the database's hook); its check hangs
    now = [store.space._clock()]
    monkeypatch.setattr(store.space, "_clock", lambda: now[0])
    assert store.space.status(fresh=True)["state"] == "failed"  # the check begins (waited CHECK_WAIT_S)
    now[0] += 5
    storage = store.space.status(fresh=True)
    words = full_disk_refusal(storage, "the test was not opened", "open the test again")
    assert words.startswith("The station's storage failed to write (a disk I/O error: its SD card may be failing) "
                            "and has not answered for 5 s since, so the test was not opened."), words
    assert storage["io_error"] is True and storage["not_answered_s"] == 5.0
