"""A backup checks the free space before writing its copy (E_findings s23, finding 3: full daily copies
filled a card within months, then no trial could start): it makes room by deleting first only the old
backups the rotation deletes after it anyway, never the newest, and otherwise refuses in words, exit 1;
a refusal of the scheduled backup is remembered for /healthz until a backup is written.

The disk is a fake of a given size (``station.store.backup.free_bytes``: its size less what the data
directory's files take), so that deleting a backup gives its room back as on a card.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from station.cli import main
from station.store import backup as bk
from station.store.audit import Actor
from station.store.store import Store

T0 = 1_700_000_000.0  # 2023-11-14T22:13:20Z
ADMIN = Actor(None, "test")
NO_ROOM_WORDS = ("no backup made", "free, and a backup needs", "left for recording and sign-in",
                 "copy the backups off the card", "lower [backup] keep", "bigger card", "nothing was deleted")


class PlateOk:
    """The acquisition's side of /healthz: a plate that measures (only the backup's state is tested)."""

    def health(self) -> dict:
        return {"state": "ok", "reason": ""}


def used_bytes(data_dir: Path) -> int:
    return sum(os.stat(Path(root) / f).st_blocks * 512 for root, _dirs, files in os.walk(data_dir) for f in files)


class FakeDisk:
    """``free_bytes`` of a disk that has ``free`` bytes besides the data directory's files now."""

    def __init__(self, data_dir: Path, free: int):
        self.data_dir = data_dir
        self.size = used_bytes(data_dir) + free

    def __call__(self, path) -> int:
        return self.size - used_bytes(self.data_dir)


@pytest.fixture
def data_dir(tmp_path):
    d = tmp_path / "data"
    with Store.open(d) as store:
        for code in ("P001", "P002"):
            store.patients.create({"identifier": code, "birth_year": 1950, "sex": "F"}, actor=ADMIN)
    return d


def config_with_keep(tmp_path: Path, data_dir: Path, keep: int) -> Path:
    path = tmp_path / "station.toml"
    path.write_text(f'data_dir = "{data_dir}"\n[backup]\ninterval_h = 24\nkeep = {keep}\n')
    return path


def disk_with(monkeypatch, data_dir: Path, free: int) -> FakeDisk:
    disk = FakeDisk(data_dir, free)
    monkeypatch.setattr(bk, "free_bytes", disk)
    return disk


def names(data_dir: Path) -> list[str]:
    return sorted(p.name for p in (data_dir / "backups").iterdir())


def two_backups(data_dir: Path) -> list[str]:
    bk.create_backup(data_dir, now_s=T0)
    bk.create_backup(data_dir, now_s=T0 + 86400)
    return names(data_dir)


def needed(data_dir: Path) -> int:
    db = data_dir / "station.sqlite3"
    wal = db.with_name(db.name + "-wal")
    return db.stat().st_size + (wal.stat().st_size if wal.exists() else 0) + bk.BACKUP_MARGIN_BYTES \
        + bk.BACKUP_LEAVES_FREE_BYTES


def test_no_room_even_after_the_rotation_refuses_in_words_and_deletes_nothing(tmp_path, data_dir, monkeypatch,
                                                                               capsys):
    before = two_backups(data_dir)
    config = config_with_keep(tmp_path, data_dir, 2)
    one_backup = (data_dir / "backups" / before[0]).stat().st_blocks * 512
    disk_with(monkeypatch, data_dir, needed(data_dir) - 2 * one_backup)  # the oldest's room is not enough
    assert main(["--config", str(config), "backup"]) == 1  # before: written, exit 0
    err = capsys.readouterr().err
    assert all(words in err for words in NO_ROOM_WORDS), err
    assert "the 2 backups in" in err and "backup.keep = 2 keeps the newest 2" in err and "Traceback" not in err
    assert names(data_dir) == before  # nothing deleted, no partial copy left
    assert not (data_dir / bk.REFUSAL_FILENAME).exists()  # asked for by hand: said there, not remembered


def test_the_old_backup_the_rotation_deletes_goes_first_when_that_makes_room(tmp_path, data_dir, monkeypatch,
                                                                             capsys):
    before = two_backups(data_dir)
    config = config_with_keep(tmp_path, data_dir, 2)
    disk_with(monkeypatch, data_dir, needed(data_dir) - 4096)
    assert main(["--config", str(config), "backup"]) == 0
    out = capsys.readouterr().out
    deleted_first, written = out.splitlines()[:2]
    # before: written first (on a card with no room for it), the oldest deleted after
    assert deleted_first == (f"deleted 1 old backup (first, to make room for the new one: backup.keep = 2 deletes it "
                             f"after it anyway): {before[0]}")
    assert written.startswith("backup written: ")
    after = names(data_dir)
    assert len(after) == 2 and after[0] == before[1] and after[1] > before[1]


def test_the_newest_backup_is_never_deleted_before_the_new_one_is_written(tmp_path, data_dir, monkeypatch, capsys):
    bk.create_backup(data_dir, now_s=T0)
    before = names(data_dir)
    config = config_with_keep(tmp_path, data_dir, 1)  # keep 1: the new one replaces it, but only once written
    disk_with(monkeypatch, data_dir, needed(data_dir) - 4096)
    assert main(["--config", str(config), "backup"]) == 1  # before: written, the old one deleted, exit 0
    assert "no backup made" in capsys.readouterr().err
    assert names(data_dir) == before


def test_a_refused_scheduled_backup_is_said_by_healthz_until_a_backup_is_written(tmp_path, data_dir, monkeypatch,
                                                                                 capsys):
    from web import create_app

    config = config_with_keep(tmp_path, data_dir, 14)
    disk = disk_with(monkeypatch, data_dir, needed(data_dir) - 4096)  # no backup yet: nothing to delete
    assert main(["--config", str(config), "backup", "--if-due"]) == 1  # before: written, exit 0
    err = capsys.readouterr().err
    assert "there is no backup in" in err and all(words in err for words in NO_ROOM_WORDS), err
    assert not (data_dir / "backups").exists() or names(data_dir) == []

    with Store.open(data_dir) as store:
        app = create_app({"DATA_DIR": str(data_dir), "STORE": store, "STATION_LINK": PlateOk(), "TESTING": True})
        doc = app.test_client().get("/healthz").get_json()
        assert doc["state"] == "degraded"
        backup = doc["backup"]
        assert backup["newest_at"] is None and backup["refused"]["free_bytes"] == needed(data_dir) - 4096
        words = backup["message"]
        assert words.startswith("the scheduled backup at ") and "was refused: not enough free space on the " \
            "station's card (" in words and words.endswith("copy the backups off the card, lower [backup] keep, "
                                                            "or use a bigger card")
        assert words in doc["reason"] and "P001" not in str(doc)

        disk.size = used_bytes(data_dir) + needed(data_dir)  # space freed (the open store has a WAL): written
        assert main(["--config", str(config), "backup", "--if-due"]) == 0
        assert "backup written" in capsys.readouterr().out
        doc = app.test_client().get("/healthz").get_json()
        assert doc["backup"]["refused"] is None and doc["backup"]["message"] == ""
        assert doc["backup"]["newest_at"] is not None and doc["state"] == "ok" and "backup" not in doc["reason"]


def test_a_backup_warns_weeks_ahead_when_the_card_fills_at_the_recent_rate(tmp_path, data_dir, monkeypatch,
                                                                           capsys):
    import time

    from web import create_app

    now = time.time()
    bk.create_backup(data_dir, now_s=now - 7 * 86400)
    with Store.open(data_dir) as store:  # a week of visits: the database grows
        for i in range(400):
            store.patients.create({"identifier": f"W{i:04d}", "birth_year": 1950, "sex": "F", "notes": "x" * 500},
                                  actor=ADMIN)
    bk.create_backup(data_dir, now_s=now - 86400)
    sizes = [b.size_bytes for b in bk.list_backups(data_dir)]
    per_day = (sizes[1] - sizes[0]) / 6 * 4  # keep 3: the database and 3 copies grow
    config = config_with_keep(tmp_path, data_dir, 3)
    disk_with(monkeypatch, data_dir, needed(data_dir) + int(per_day * 10))  # after this backup: about 10 days
    code = main(["--config", str(config), "backup"])
    out, err = capsys.readouterr()
    assert code == 0, err
    warning = out.splitlines()[-1]  # before: no warning
    assert warning.startswith("warning: the station's card has room for about ")
    days = int(warning.split("about ")[1].split()[0])
    assert 5 <= days < bk.ROOM_WARNING_DAYS, warning
    assert "copy the backups off the card, lower [backup] keep, or use a bigger card" in warning

    with Store.open(data_dir) as store:
        app = create_app({"DATA_DIR": str(data_dir), "STORE": store, "STATION_LINK": PlateOk(), "TESTING": True})
        doc = app.test_client().get("/healthz").get_json()
        assert doc["state"] == "degraded" and doc["backup"]["room"]["days"] == days
        assert doc["backup"]["message"] == warning.removeprefix("warning: ") and doc["backup"]["message"] in doc["reason"]
    disk_with(monkeypatch, data_dir, needed(data_dir) + int(per_day * 100))  # backups copied off: room again
    assert bk.back_up_with_room(data_dir, 3, now_s=time.time() + 5).room is None  # later than the command's
    assert bk.backup_health(data_dir)["room"] is None and bk.backup_health(data_dir)["message"] == ""


def test_a_restore_without_room_is_refused_before_anything_is_written(tmp_path, data_dir, monkeypatch, capsys):
    """The pre-restore copy was written without a look at the free space (E_findings s23 left item): a
    restore on a nearly full card could leave it with no room to record. It is checked as a backup is
    (the copy of the database, the backup copied in, the room left for recording), before a byte is
    written: refused in words, nothing changed."""
    backup = bk.create_backup(data_dir, now_s=T0).path
    with Store.open(data_dir) as store:  # recorded after the backup: must not be lost
        store.patients.create({"identifier": "P003", "birth_year": 1950, "sex": "F"}, actor=ADMIN)
    db = data_dir / "station.sqlite3"
    before = db.read_bytes()
    copy, needed = bk.backup_room_needed(data_dir)
    backup_size = backup.stat().st_size
    disk_with(monkeypatch, data_dir, needed + backup_size - 4096)  # the copy fits, not the backup beside it
    with pytest.raises(bk.NoRoomForBackup) as refused:
        bk.restore_backup(data_dir, backup, now_s=T0 + 60)
    words = str(refused.value)
    assert words.startswith(f"nothing restored: the disk holding {data_dir} has ")
    for said in ("free, and the restore needs", "a copy of the", "backup copied in to be checked and restored",
                 "left for recording and sign-in", "copy the backups in", "bigger card", "nothing was changed"):
        assert said in words, said
    assert db.read_bytes() == before
    assert names(data_dir) == [backup.name] and not list(data_dir.glob(".restore-*"))
    config = config_with_keep(tmp_path, data_dir, 14)
    assert main(["--config", str(config), "restore", str(backup), "--yes"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("balance-station restore: nothing restored: the disk holding") and "Traceback" not in err
    assert db.read_bytes() == before
    disk_with(monkeypatch, data_dir, 2 * needed + 2 * backup_size)  # room: restored, the copy kept
    result = bk.restore_backup(data_dir, backup, now_s=T0 + 120)
    assert result.pre_restore_copy is not None and result.restored.patients == 2


@pytest.mark.parametrize("fault", ["full", "failing"])
def test_a_refusal_the_card_cannot_keep_is_still_said(tmp_path, data_dir, monkeypatch, capsys, fault):
    """s28 C6: the scheduled backup refused for room is kept for /healthz in backup-refused.json; a card too
    full for even that file, or failing to write, ended `backup --if-due` with a Python traceback (OSError)
    and the refusal's words were lost. Now the refusal is said, and that the health page cannot say it."""
    from refused_writes import WORDS, refuse_fsync_of

    config = config_with_keep(tmp_path, data_dir, 14)
    disk_with(monkeypatch, data_dir, needed(data_dir) - 4096)
    refuse_fsync_of(monkeypatch, bk.REFUSAL_FILENAME, fault)
    assert main(["--config", str(config), "backup", "--if-due"]) == 1  # (old code: OSError raised)
    err = capsys.readouterr().err
    assert all(words in err for words in NO_ROOM_WORDS), err
    assert err.endswith(f"nothing was deleted; and the station's health page cannot say this refusal: "
                        f"{data_dir / bk.REFUSAL_FILENAME} could not be written ({WORDS[fault]})\n"), err
    assert not (data_dir / bk.REFUSAL_FILENAME).exists() and not list(data_dir.glob(".backup-refused*"))


@pytest.mark.parametrize("fault", ["full", "failing"])
def test_a_backup_written_is_said_when_its_room_warning_cannot_be_kept(tmp_path, data_dir, monkeypatch, capsys,
                                                                       fault):
    """A backup written on a card filling up keeps its room warning for /healthz (backup-room.json); a card
    that refused that small file ended the command with a traceback after the backup was written (the timer's
    run failed, 'backup written' never said). Now the backup is said, with the warning and why /healthz lacks it."""
    import time

    from refused_writes import WORDS, refuse_fsync_of

    now = time.time()
    bk.create_backup(data_dir, now_s=now - 7 * 86400)
    with Store.open(data_dir) as store:
        for i in range(400):
            store.patients.create({"identifier": f"W{i:04d}", "birth_year": 1950, "sex": "F", "notes": "x" * 500},
                                  actor=ADMIN)
    bk.create_backup(data_dir, now_s=now - 86400)
    sizes = [b.size_bytes for b in bk.list_backups(data_dir)]
    config = config_with_keep(tmp_path, data_dir, 3)
    disk_with(monkeypatch, data_dir, needed(data_dir) + int((sizes[1] - sizes[0]) / 6 * 4 * 10))  # about 10 days
    refuse_fsync_of(monkeypatch, bk.ROOM_FILENAME, fault)
    assert main(["--config", str(config), "backup"]) == 0  # (old code: OSError raised after the backup)
    out = capsys.readouterr().out
    assert "backup written: " in out and len(bk.list_backups(data_dir)) == 3
    warning = out.splitlines()[-1]
    assert warning.startswith("warning: the station's card has room for about ") and warning.endswith(
        f"or use a bigger card (the station's health page cannot say this: {data_dir / bk.ROOM_FILENAME} could not "
        f"be written ({WORDS[fault]}))"), warning
    assert not (data_dir / bk.ROOM_FILENAME).exists()
