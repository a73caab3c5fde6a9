"""The gait reader parses only the columns gait uses from a station trial CSV (``time_s``, the IMU's,
``seq``), and still refuses a file whose used columns are bad, in the same one-line words. Found by a
memory review: ``balance-station gait`` of a 2-hour station trial CSV (122 MB, 16 columns) peaked at
229 MB in the reader, the file and all 16 columns parsed, 9 of which gait never reads."""

from __future__ import annotations

import numpy as np
import pytest

from station.store.imu_recording import read_imu_recording

from memory_peak import traced_peak
from test_imu_recording_gaps import station_frames, write_station_csv
from test_reader_hardening import refused

USED = ("time_s", "ax_m_s2", "ay_m_s2", "az_m_s2", "gx_deg_s", "gy_deg_s", "gz_deg_s")


def _changed(path, line_no: int, column: str, value: str, *, bom: bool = False):
    """``path`` with the value of ``column`` on line ``line_no`` (1 = the header) replaced by
    ``value`` (``value`` None: the value left out, a line of one value too few), written back with a
    byte-order mark when ``bom`` (the reader's text path)."""
    lines = path.read_text().splitlines()
    fields = lines[line_no - 1].split(",")
    j = lines[0].split(",").index(column)
    if value is None:
        del fields[j]
    else:
        fields[j] = value
    lines[line_no - 1] = ",".join(fields)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + ("\n".join(lines) + "\n").encode())
    return path


def test_a_long_station_trial_is_read_for_its_time_and_imu_columns_only(tmp_path):
    path = write_station_csv(tmp_path / "trial.csv", station_frames(seconds=600.0), with_seq=False)  # 16 columns
    size = path.stat().st_size  # about 6 MB, 60,000 frames
    rec, peak = traced_peak(read_imu_recording, path)
    # the file and 7 of its 16 columns (1.65 times the file); all 16 parsed, 2.46 times (1.2 the table)
    assert peak < 1.9 * size, peak / size
    table = np.loadtxt(path, delimiter=",", skiprows=1)
    names = path.read_text().split("\n", 1)[0].split(",")
    assert len(names) == 16 and rec.samples == 60_000
    column = {name: table[:, names.index(name)] for name in USED}
    assert np.array_equal(rec.time_s, column["time_s"])  # the numbers, bit for bit
    assert np.array_equal(rec.acc_m_s2, np.column_stack([column[c] for c in USED[1:4]]))
    assert np.array_equal(rec.gyro_deg_s, np.column_stack([column[c] for c in USED[4:]]))


@pytest.mark.parametrize("bom", [False, True], ids=["plain", "text-path"])
@pytest.mark.parametrize("column, value, words", [
    ("ax_m_s2", "abc", "line 700, column ax_m_s2: 'abc' is not a number"),
    ("gz_deg_s", "", "line 700, column gz_deg_s: empty value"),
    ("time_s", "1.2.3", "line 700, column time_s: '1.2.3' is not a number"),
    ("seq", "x7", "line 700, column seq: 'x7' is not a number"),
    ("fz_n", None, "line 700: 16 values, but the header has 17 columns"),  # the IMU's columns would shift
    ("t_ns", "1,2", "line 700: 18 values, but the header has 17 columns"),
])
def test_a_bad_value_in_a_column_gait_uses_is_refused_as_before(tmp_path, bom, column, value, words):
    path = write_station_csv(tmp_path / "trial.csv", station_frames())
    message = refused(_changed(path, 700, column, value, bom=bom))
    assert message.endswith(words), message


@pytest.mark.parametrize("bom", [False, True], ids=["plain", "text-path"])
@pytest.mark.parametrize("column, value", [("fz_n", "abc"), ("ap_cm", ""), ("flags", "ok"), ("t_ns", "12:00")])
def test_a_bad_value_in_a_column_gait_does_not_use_is_not_its_business(tmp_path, bom, column, value):
    frames = station_frames()
    clean = read_imu_recording(write_station_csv(tmp_path / "clean.csv", frames))
    path = _changed(write_station_csv(tmp_path / "trial.csv", frames), 700, column, value, bom=bom)
    rec = read_imu_recording(path)  # was refused: 'line 700, column fz_n: 'abc' is not a number'
    assert np.array_equal(rec.time_s, clean.time_s) and np.array_equal(rec.acc_m_s2, clean.acc_m_s2)
    assert np.array_equal(rec.gyro_deg_s, clean.gyro_deg_s)
