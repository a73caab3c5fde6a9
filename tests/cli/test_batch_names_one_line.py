"""A file name holding a line break or a terminal escape sequence (a recording from outside, e.g.
a USB stick) is said on its one line with the characters escaped, in ``gait`` and ``analyze``'s
error lines and skipped-file notes. Found by an attack review: a directory holding
``evil<newline>balance-station gait: all good.csv`` printed a second, forged line."""

from __future__ import annotations

import pytest

from station.cli import main

FORGED = "evil\nbalance-station gait: all good"
ESCAPE = "x\x1b[2Jy"


@pytest.mark.parametrize("command", ["gait", "analyze"])
def test_each_file_is_one_line_with_its_control_characters_escaped(tmp_path, capsys, command):
    (tmp_path / f"{FORGED}.csv").write_text("foo,bar\n1,2\n")  # not a trial: a skipped-file note
    (tmp_path / f"{ESCAPE}.csv").write_text("time_s,ax_m_s2\n")  # a trial header, no samples: an error line
    status = main([command, str(tmp_path), "-j1"])
    _out, err = capsys.readouterr()
    lines = err.splitlines()
    assert status == 1
    assert all(line.startswith(f"balance-station {command}: ") for line in lines), lines
    assert "\x1b" not in err
    assert "skipped 1 file(s) that are not trial files (evil\\nbalance-station gait: all good.csv)" in lines[0]
    assert lines[1].startswith(f"balance-station {command}: {tmp_path}/x\\x1b[2Jy.csv: ")
    assert lines[2:] == [f"balance-station {command}: 1 of 1 file(s) failed"]
