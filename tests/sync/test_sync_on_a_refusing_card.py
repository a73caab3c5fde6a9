"""The station's sync on a card that refuses the database's writes, failing (EIO: SQLite's 'disk I/O error')
or full ('database or disk is full'): a sync notes each attempt and what the hub took in the database, so
every sync then failed in the store, and the journal and the station's status said only 'sync failed
(StorageFailed); retrying in 600 s', a class name, and not that the card is why nor that nothing queued is
lost (s28 C6, job 3: the sync queue's write path). Now they say the store's words."""

from __future__ import annotations

import pytest

from station.store.store import Store
from station.sync.client import HubClient
from station.sync.syncer import StationSync, SyncWorker

from failing_card import GatedCard
from sync_support import CHEAP, CLINICIAN

FAULTS = {"failing": ("disk I/O error", "the station's storage failed to write (a disk I/O error: its SD card may "
                                        "be failing); check the SD card or replace it; "),
          "full": ("database or disk is full", "the station's disk is full; free space on the station: delete old "
                                               "exports, move backups elsewhere; ")}


class Down:
    def __call__(self, method, url, headers, body):
        raise OSError("connection refused")


@pytest.mark.parametrize("fault", ["failing", "full"])
def test_a_sync_the_card_refuses_says_the_card_and_keeps_the_queue(tmp_path, capsys, monkeypatch, fault):
    store = Store.open(tmp_path / "s", password_cost=CHEAP)
    try:
        store.patients.create({"identifier": "P-Q", "birth_year": 1950, "sex": "F"}, actor=CLINICIAN)
        queued = store.outbox.length()
        card = GatedCard(store.db._writer)
        monkeypatch.setattr(store.db, "_writer", card)
        card.error = FAULTS[fault][0]
        worker = SyncWorker(StationSync(store, HubClient("https://hub.example", "token", transport=Down())),
                            max_backoff_s=600)
        assert worker.step() == 600
        logged = capsys.readouterr().err
        said = worker.last_error
        assert said.startswith(f"the sync could not be noted here: {FAULTS[fault][1]}"), said
        assert said.endswith("what is queued for the hub stays queued and is sent once the station's storage writes "
                             "again; retrying in 600 s"), said  # (old code: 'sync failed (StorageFailed); ...')
        assert "StorageFailed" not in said and "DiskFull" not in said
        assert logged == f"balance-station: sync with the hub failed: {said}\n"
        card.error = None
        assert store.outbox.length() == queued > 0
    finally:
        store.close()
