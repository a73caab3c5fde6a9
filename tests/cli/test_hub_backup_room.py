"""The hub's ``backup --database`` checks the free space before ``pg_dump`` writes, by the station
backup's rule (station/store/backup.py's make_room_for_backup, free_bytes of station/store/space.py):
without room it refuses in words, exit 1, nothing written or deleted (before, it wrote until the
disk was full)."""

from __future__ import annotations

from station.store import backup as store_backup
from station.store import pg_backup

from test_backup_hub_command import _patient, _run


def test_a_hub_backup_without_room_is_refused_in_words_and_writes_nothing(pg_url, tmp_path, capsys, monkeypatch):
    data_dir = tmp_path / "hub"
    _patient(data_dir, "H-1", pg_url)
    monkeypatch.setattr(store_backup, "free_bytes", lambda path: 100 * 2**20)  # 100 MiB: less than it leaves free
    status, out, err = _run(["backup", "--data-dir", str(data_dir)], capsys, monkeypatch, pg_url)
    assert status == 1 and out == ""  # the old code: 0, "backup written"
    assert err.startswith("balance-station backup: no backup made: the disk holding") and err.count("\n") == 1
    for words in ("left for the hub's database", "copy the backups off the server's disk", "lower [backup] keep",
                  "give the hub's server more disk", "nothing was deleted", "there is no backup in"):
        assert words in err, words
    assert not (data_dir / "backups").exists() or not any((data_dir / "backups").iterdir())

    copy, needed = pg_backup.hub_backup_room_needed(pg_url, data_dir)
    assert copy > store_backup.BACKUP_MARGIN_BYTES and needed == copy + store_backup.BACKUP_LEAVES_FREE_BYTES
    monkeypatch.setattr(store_backup, "free_bytes", lambda path: needed - 1)
    assert _run(["backup", "--data-dir", str(data_dir)], capsys, monkeypatch, pg_url)[0] == 1  # a byte short
    monkeypatch.setattr(store_backup, "free_bytes", lambda path: needed)
    status, out, err = _run(["backup", "--data-dir", str(data_dir)], capsys, monkeypatch, pg_url)
    assert status == 0 and out.startswith(f"backup written: {data_dir}/backups/hub-"), err
    [written] = pg_backup.list_hub_backups(data_dir)
    # the next one counts the newest dump too, if it is larger than the tables
    assert pg_backup.hub_backup_room_needed(pg_url, data_dir)[0] >= written.size_bytes + store_backup.BACKUP_MARGIN_BYTES
