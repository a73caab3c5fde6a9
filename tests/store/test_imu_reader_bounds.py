"""The gait reader's cheap checks and memory bound on large files (DESIGN.md §11: expensive work
only after the cheap checks, every input bounded before it is buffered). Found by an attack review:
a 200 MB recording with a wrong header was read whole before its header was looked at (5.3 s and
300 MB to be refused), and a 150 MB recording with one non-ASCII character in its last line peaked
at 1.19 GB (the text path held the text, its lines, their join and a StringIO of it): with two to
four workers, more than a Pi's memory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from station.store import trialfile
from station.store.imu_recording import read_imu_recording

from memory_peak import traced_peak
from test_reader_hardening import HEADER, refused, walk_csv


def _big(path: Path, header: str, rows: int = 300_000) -> Path:
    line = "0.01,9.81,0.1,0.2,0.3,0.4,0.5\n"
    path.write_text(header + "\n" + line * rows)  # about 9 MB
    return path


@pytest.mark.parametrize("header, words", [
    ("\n \nfoo,bar,baz,q,r,s,t", "unrecognised header 'foo,bar,baz,q,r,s,t'"),
    ("\r\ntime_s,ax_m_s2,a,b,c,d,e", "no IMU acceleration (missing column(s) ay_m_s2, az_m_s2)"),
    ("\ufefftime_s,x,y,z,a,b,c", "no IMU acceleration"),
])
def test_a_wrong_header_is_refused_before_the_file_is_read(tmp_path, header, words):
    path = _big(tmp_path / "x.csv", header)
    message, peak = traced_peak(refused, path)
    assert words in message
    assert peak < 1_000_000, peak  # the first 64 KiB, not the file's 9 MB


def test_a_recording_that_is_not_plain_ascii_is_parsed_within_the_same_bound(tmp_path):
    plain = walk_csv(tmp_path / "plain.csv", seconds=1800.0)  # 180,000 rows, about 12 MB
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + plain.read_bytes())  # valid UTF-8 with a byte-order mark: the text path
    rec, peak = traced_peak(read_imu_recording, bom)
    expected = read_imu_recording(plain)
    assert np.array_equal(rec.time_s, expected.time_s) and np.array_equal(rec.acc_m_s2, expected.acc_m_s2)
    assert np.array_equal(rec.gyro_deg_s, expected.gyro_deg_s)
    assert peak < 3.5 * bom.stat().st_size, peak / bom.stat().st_size  # was 8 times the file


@pytest.fixture
def small_blocks(monkeypatch):
    monkeypatch.setattr(trialfile, "TEXT_BLOCK_BYTES", 500)


def test_blocks_keep_every_row_and_the_line_numbers(tmp_path, small_blocks):
    rows = [f"{i / 100:.2f},9.81,0.1,0.2,0.3,0.4,0.5" for i in range(3000)]
    text = "\n\n" + HEADER + "\n" + "\n".join(rows) + "\n \n\n"
    (tmp_path / "x.csv").write_bytes(b"\xef\xbb\xbf" + text.encode())
    rec = read_imu_recording(tmp_path / "x.csv")
    assert rec.samples == 3000 and rec.time_s[-1] == 29.99
    bad = rows.copy()
    bad[2000] = "20.00,9.81,0.1,0.2,0.3,0.4,0.5\u20ac"  # data line 2001: file line 2004
    (tmp_path / "y.csv").write_text("\n\n" + HEADER + "\n" + "\n".join(bad) + "\n")
    assert refused(tmp_path / "y.csv").endswith("line 2004, column gz_deg_s: '0.5\u20ac' is not a number")
    blank = rows.copy()
    blank[1500] = ""
    (tmp_path / "z.csv").write_text("\ufeff" + HEADER + "\n" + "\n".join(blank) + "\n")
    assert refused(tmp_path / "z.csv").endswith("line 1502: blank line inside the data")
    raw = ("\ufeff" + HEADER + "\n" + "\n".join(rows) + "\n").encode()
    at = raw.index(b"20.00")
    (tmp_path / "w.csv").write_bytes(raw[:at] + b"\xff" + raw[at + 1:])
    assert refused(tmp_path / "w.csv").endswith(f"not UTF-8 text (undecodable byte at offset {at - 3}); "
                                                "expected a CSV or Santos & Duarte text")


@pytest.mark.parametrize("scale, rate, steps", [(1000.0, "0.1 Hz", "10 s"), (1e6, "0.0001 Hz", "1e+04 s")])
def test_a_time_column_not_in_seconds_is_said_as_its_rate_not_as_a_gap(tmp_path, scale, rate, steps):
    """time_s in ms (or µs), one frame lost: it was refused as 'IMU data missing for 10 s after
    time_s 6170 s (line ...): 1 lost frame(s)', which sent the reader looking for a gap."""
    time_s = np.delete(np.arange(2001) / 100.0, 617) * scale
    path = walk_csv(tmp_path / "ms.csv", time_s=np.round(time_s, 6))
    message = refused(path)
    assert message.endswith(f"sample rate {rate} (time steps of {steps}) is too low for gait analysis; need at least "
                            "20 Hz; is time_s in seconds?"), message
    slow = walk_csv(tmp_path / "slow.csv", fs=10.0, seconds=60.0)  # a real 10-Hz recording: no question of units
    assert refused(slow).endswith("sample rate 10 Hz (time steps of 0.1 s) is too low for gait analysis; need at "
                                  "least 20 Hz")
