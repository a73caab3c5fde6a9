"""The station's write paths that put a file on the card, under a full card (ENOSPC) and a failing one (EIO)
(s28 C6, job 3): each says what happened in words, loses nothing already recorded, and leaves no half-written
file that a later read takes for good. The database's own writes are tested with tests/failing_card.py
(test_trial_storage_failure, test_service_storage_failure, test_sign_out_failing_card, test_quota_is_a_full_disk),
the space reserve and the check write in test_space_*, ``trial --out`` in tests/cli/test_trial_out_full_disk.py;
these are the paths that had no such test."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from station.cli import main
from station.store import backup as bk
from station.store.audit import Actor
from station.store.db import DB_FILENAME, StoreError
from station.store.erasure_key import KeyFile, is_key
from station.store.store import Store
from station.store.trialfile import TrialFileError, read_trial, write_trial_csv

from refused_writes import WORDS, files_under, refuse_fsync_of


def _patients(db) -> list[str]:
    conn = sqlite3.connect(db)
    try:
        return [r[0] for r in conn.execute("SELECT identifier FROM patients ORDER BY identifier")]
    finally:
        conn.close()


def _restore_ready(tmp_path):
    """A station's data directory (no account) with patient P001 in a backup and P002 added since: (it, the backup)."""
    data = tmp_path / "data"
    with Store.open(data) as store:
        store.patients.create({"identifier": "P001", "birth_year": 1950, "sex": "F"}, actor=Actor.command_line())
    backup = bk.create_backup(data, now_s=1_700_000_000).path
    with Store.open(data) as store:
        store.patients.create({"identifier": "P002", "birth_year": 1951, "sex": "M"}, actor=Actor.command_line())
    return data, backup


def _data_files(data) -> dict[str, bytes]:
    """The data directory's files but the service's lock (the restore takes it, as the service's every start)."""
    return {name: content for name, content in files_under(data).items() if name != "station.lock"}


@pytest.mark.parametrize("fault", ["full", "failing"])
def test_a_restore_that_cannot_write_the_setup_code_says_so_and_restores_nothing(tmp_path, capsys, monkeypatch,
                                                                                 fault):
    """A backup without any account opens the first-run setup again, so the restore writes a new one-time setup
    code first. A card that refused that file ended `balance-station restore` with a Python traceback (OSError)
    and left the code under its staging name, .setup-code-<pid>, in the data directory. Now one line says what
    happened and what to do, nothing is restored (the database as it was), and no file of the code is left."""
    data, backup = _restore_ready(tmp_path)
    found = _data_files(data)
    refused = refuse_fsync_of(monkeypatch, ".setup-code", fault)
    assert main(["restore", str(backup), "--yes", "--data-dir", str(data)]) == 1  # (old code: OSError raised)
    assert refused
    err = capsys.readouterr().err
    assert err == (f"balance-station restore: cannot write the one-time setup code to {data / 'setup-code'} "
                   f"({WORDS[fault]}); free space on the data directory's disk (or replace its SD card if it fails "
                   "to write), then try again; nothing was restored\n")
    assert _patients(data / DB_FILENAME) == ["P001", "P002"]
    assert _data_files(data) == found


@pytest.mark.parametrize("fault", ["full", "failing"])
def test_a_new_clinic_key_the_card_refuses_is_said_and_not_left_behind(tmp_path, monkeypatch, fault):
    """The hub makes its clinic key file at its first start. A card that refused it raised the OS's error as it
    came and left the file, empty on a full card, which the next start refused as 'does not hold a key; restore
    it from where you keep it' (a key that was never made), or holding a key never durably written. Now the
    start says what happened and keeps no file, and the next start makes the key."""
    key_file = KeyFile(tmp_path)
    refuse_fsync_of(monkeypatch, "clinic_key", fault)
    with pytest.raises(StoreError) as refused:
        key_file.create()  # (old code: OSError, and the file left)
    assert str(refused.value) == (
        f"cannot write the new clinic key file {tmp_path / 'clinic_key'} ({WORDS[fault]}); free space on the data "
        "directory's disk (or replace its SD card if it fails to write), then start the hub again; no key was kept")
    assert files_under(tmp_path) == {}
    monkeypatch.undo()
    key = key_file.create()
    assert is_key(key) and key_file.read() == key


def _columns(n: int, offset: float) -> dict[str, np.ndarray]:
    t = np.arange(n) / 100.0
    return {"time_s": t, "ap_cm": t + offset, "ml_cm": t - offset}


@pytest.mark.parametrize("fault", ["full", "failing"])
@pytest.mark.parametrize("before", ["no files", "an earlier export"])
def test_a_trial_file_the_card_refuses_leaves_the_files_as_they_were(tmp_path, monkeypatch, fault, before):
    """write_trial_csv (``balance-station export trial``, ``record --out``) wrote the sidecar first and then the
    CSV: a card that refused the CSV left the new sidecar, alone or beside the CSV written before it (read
    together as one trial: the earlier samples with the new metadata). Now a refused write leaves both files
    as they were: none, or the earlier pair whole."""
    path = tmp_path / "trial-7.csv"
    if before == "an earlier export":
        write_trial_csv(path, _columns(300, 1.0), {"rate_hz": 100.0, "notes": "first export"})
    found = files_under(tmp_path)
    refuse_fsync_of(monkeypatch, "trial-7.csv.", fault)  # the CSV's temporary file, not its sidecar's
    with pytest.raises(TrialFileError, match=f"^{path}: cannot write: {WORDS[fault]}$"):
        write_trial_csv(path, _columns(500, 2.0), {"rate_hz": 100.0, "notes": "second export"})
    assert files_under(tmp_path) == found  # (old code: trial-7.json the second export's)
    if before == "an earlier export":
        kept = read_trial(path)
        assert kept.metadata["notes"] == "first export" and kept.time_s.size == 300


@pytest.mark.parametrize("fault", ["full", "failing"])
def test_the_paths_that_already_held_say_so_and_keep_what_was_there(tmp_path, capsys, monkeypatch, fault):
    """The other small files of the data directory, which no fault test covered (these held on the old code):
    the web's secret key made at the first start, the clinic key a station takes from its hub (over the one
    it held), and the private copy of a backup that a restore checks before it replaces anything."""
    from station.store.secret import load_or_create_secret_key

    keys = tmp_path / "keys"
    keys.mkdir()
    KeyFile(keys).write("cd" * 32)
    found = files_under(keys)
    refuse_fsync_of(monkeypatch, str(keys), fault)
    with pytest.raises(StoreError, match=rf"^cannot write {keys / 'secret_key'}: {WORDS[fault]}; check free space"):
        load_or_create_secret_key(keys)
    with pytest.raises(StoreError, match=rf"^cannot write the clinic key file {keys / 'clinic_key'} \({WORDS[fault]}\)"):
        KeyFile(keys).write("ab" * 32)
    assert files_under(keys) == found and KeyFile(keys).read() == "cd" * 32
    monkeypatch.undo()

    data, backup = _restore_ready(tmp_path)
    found = _data_files(data)
    refuse_fsync_of(monkeypatch, ".restore-", fault)
    assert main(["restore", str(backup), "--yes", "--data-dir", str(data)]) == 1
    said = {"full": "the disk of the data directory is full; nothing was changed. Free space there",
            "failing": "the station's card (the disk of the data directory) failed to write the copy; nothing was "
                       "changed. The card may be failing"}[fault]  # before: "check the path and free space" for both
    assert f"balance-station restore: {backup}: cannot copy it ({WORDS[fault]}): {said}" in capsys.readouterr().err
    assert _patients(data / DB_FILENAME) == ["P001", "P002"]
    assert _data_files(data) == found


@pytest.mark.parametrize("where", ["header", "copy"])
def test_a_backup_its_usb_stick_fails_to_read_says_so(tmp_path, capsys, monkeypatch, where):
    """The backup's own medium fails (EIO reading it, at its first bytes or while it is copied in): the restore
    names the card or USB stick it is on, not free space (s29 X10: the copy said "check the path and free space",
    words for a full disk, and the first read only the OS's words); nothing changes."""
    import builtins
    import errno
    import os

    data, backup = _restore_ready(tmp_path)
    found = _data_files(data)

    class FailingReads:
        def __init__(self, file):
            self._file = file

        def read(self, size=-1):
            if where == "copy" and size <= 100:  # the header's read: the stick fails later
                return self._file.read(size)
            raise OSError(errno.EIO, os.strerror(errno.EIO))

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self._file.close()

    real_open = builtins.open

    def open_(path, *args, **kwargs):
        opened = real_open(path, *args, **kwargs)
        return FailingReads(opened) if str(path) == str(backup) else opened

    monkeypatch.setattr(bk, "open", open_, raising=False)  # the module's name, before the builtin
    assert main(["restore", str(backup), "--yes", "--data-dir", str(data)]) == 1
    err = capsys.readouterr().err
    assert (f"balance-station restore: {backup}: cannot read it (Input/output error): the card or USB stick it is "
            "on failed to read; nothing was changed") in err
    assert "free space" not in err
    assert _patients(data / DB_FILENAME) == ["P001", "P002"]
    assert _data_files(data) == found


@pytest.mark.parametrize("fault", ["full", "failing"])
def test_a_backup_the_card_refuses_is_one_line_and_leaves_no_part(tmp_path, capsys, monkeypatch, fault):
    """`balance-station backup` whose copy the card refuses (coverage: the room check passes, the write fails):
    one line, no partial copy left in backups/, the backups before it as they were (this held on the old code)."""
    data = tmp_path / "data"
    with Store.open(data) as store:
        store.patients.create({"identifier": "P001", "birth_year": 1950, "sex": "F"}, actor=Actor.command_line())
    bk.create_backup(data, now_s=1_700_000_000)
    found = files_under(data / "backups")
    refuse_fsync_of(monkeypatch, ".partial", fault)
    assert main(["backup", "--data-dir", str(data)]) == 1
    assert capsys.readouterr().err == (f"balance-station backup: backup into {data / 'backups'} failed: {WORDS[fault]}; "
                                       "check free space and permissions\n")
    assert files_under(data / "backups") == found
