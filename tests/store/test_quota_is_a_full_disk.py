"""A write refused for the data directory's quota (EDQUOT) is a full disk, by one rule
(``station.store.db.OUT_OF_SPACE_ERRNOS``) for the database's writes and the space monitor's check write.

The space monitor took EDQUOT as a full disk since 3487d31; the database's rule (``is_disk_full``) knew
ENOSPC alone, so a write of the station's whose file the quota refused raised the OS's error as it came
(a page: 'internal error'), not DiskFull's words, and kept the space reserve the disk-full hook gives back."""

from __future__ import annotations

import errno

import pytest

from station.store.db import DISK_FULL_MESSAGE, Database, DiskFull, is_disk_full, is_io_error
from station.store.space import WriteProblem, out_of_space


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT], ids=["disk full", "quota used up"])
def test_a_write_refused_for_lack_of_space_is_a_full_disk_for_the_database_as_for_the_check(tmp_path, code):
    refusal = OSError(code, "refused")
    assert is_disk_full(refusal) and not is_io_error(refusal)
    assert out_of_space(WriteProblem.of(refusal))  # the space monitor's check write: the same rule
    db = Database(tmp_path / "station.sqlite3")
    told = []
    db.on_disk_full.append(lambda: told.append("full"))
    db.on_storage_failed.append(lambda: told.append("failed"))
    try:
        with db.write() as conn:
            conn.execute("CREATE TABLE notes (words TEXT)")
        with pytest.raises(DiskFull) as caught:
            with db.write() as conn:
                conn.execute("INSERT INTO notes VALUES ('not kept')")
                raise OSError(code, "refused")  # a file of the transaction's (a trial's) refused by the system
        assert str(caught.value) == DISK_FULL_MESSAGE
        assert told == ["full"]  # the reserve given back, not a failing card
        with db.read() as conn:
            assert conn.execute("SELECT COUNT(*) FROM notes").fetchone()[0] == 0  # rolled back
    finally:
        db.close()


def test_an_io_error_is_still_not_a_full_disk():
    assert not is_disk_full(OSError(errno.EIO, "Input/output error"))
    assert is_io_error(OSError(errno.EIO, "Input/output error"))
