"""A trial file that is not plain ASCII (a byte-order mark, a note with an accent) is read the usual
way a block of lines at a time, by ``analyze`` (``read_trial``) and ``gait`` (``read_imu_recording``)
alike (``trialfile.TextLines``): the peak holds the file, the table and one block, not the decoded
text, its lines, their join and a StringIO (9.7 times the file for ``analyze``); every number and
error is that of the whole text decoded at once. Found by a memory review: ``analyze`` decoded such
a file whole where ``gait`` went 1 MiB at a time, and ``gait``'s blocks refused a file whose blank
lines at the end (a form feed) crossed from one block into the next."""

from __future__ import annotations

from pathlib import Path

import pytest

from station.store import trialfile
from station.store.imu_recording import read_imu_recording
from station.store.trialfile import TrialFileError, read_trial

from memory_peak import traced_peak
from test_trialfile_plain_bytes import SD_HEADER, STATION_HEADER, same, sd_rows, station_rows, write

BOM = "\ufeff"


def refused(path: Path, **options) -> str:
    with pytest.raises(TrialFileError) as caught:
        read_trial(path, **options)
    return caught.value.problem


@pytest.mark.parametrize("layout", ["station-bom", "santos-duarte-accent"])
def test_a_trial_that_is_not_plain_ascii_is_read_within_the_plain_files_bound(tmp_path, layout):
    if layout == "station-bom":  # t_ns and seq parsed again as exact int64, a block at a time
        plain = write(tmp_path / "plain.csv", STATION_HEADER, station_rows(40_000))
        other = tmp_path / "bom.csv"
        other.write_bytes(b"\xef\xbb\xbf" + plain.read_bytes())
    else:
        plain = write(tmp_path / "plain.txt", SD_HEADER, sd_rows(60_000))
        other = tmp_path / "accent.txt"
        other.write_bytes(plain.read_bytes() + "\u00a0\n".encode())  # a last line of a no-break space: blank
    trial, peak = traced_peak(read_trial, other)
    assert same(trial, read_trial(plain))
    size = other.stat().st_size  # about 4-5 MB
    assert peak < 3.5 * size, peak / size  # was 9.7 times the file (the whole text decoded)


@pytest.fixture
def small_blocks(monkeypatch):
    monkeypatch.setattr(trialfile, "TEXT_BLOCK_BYTES", 400)


def test_blocks_give_the_numbers_and_errors_of_the_whole_text(tmp_path, small_blocks):
    rows = station_rows(3000)
    text = "\n \n" + STATION_HEADER + "\n" + "\n".join(rows) + "\n"
    plain = tmp_path / "plain.csv"
    plain.write_text(text)
    bom = tmp_path / "bom.csv"
    bom.write_text(BOM + text + "\x0c\n" * 300 + " \n")  # blank lines at the end, across many blocks
    assert same(read_trial(bom), read_trial(plain))
    # the line a problem is on, counted over the whole file (blank lines before the header included)
    bad = rows.copy()
    bad[2500] = bad[2500].replace(",", ",x", 1)
    write(tmp_path / "x.csv", BOM + "\n \n" + STATION_HEADER, bad)
    assert refused(tmp_path / "x.csv").endswith("line 2504, column ap_cm: 'x" + rows[2500].split(",")[1] + "' is not a number")
    bad = rows.copy()
    bad[2700] = bad[2700][: bad[2700].rindex(",", 0, bad[2700].rindex(","))] + ",1.5," + bad[2700].rsplit(",", 1)[1]
    write(tmp_path / "t.csv", BOM + STATION_HEADER, bad)
    assert refused(tmp_path / "t.csv").endswith("line 2702: t_ns must be a whole number, not '1.5'")
    blank = rows.copy()
    blank[1500] = "\u00a0"
    write(tmp_path / "b.csv", BOM + STATION_HEADER, blank)
    assert refused(tmp_path / "b.csv").endswith("line 1502: blank line inside the data")
    # a file cut short while recording: its last line dropped on request, as the whole text did
    cut = tmp_path / "cut.csv"
    cut.write_text(BOM + STATION_HEADER + "\n" + "\n".join(rows) + "\n" + rows[0][:7])
    assert "line 3002" in refused(cut)
    assert same(read_trial(cut, allow_truncated=True), read_trial(plain))


def test_an_undecodable_byte_is_said_before_what_an_earlier_block_holds(tmp_path, small_blocks):
    rows = station_rows(3000)
    raw = (BOM + "time,x\n" + "\n".join(rows) + "\n").encode()
    at = raw.index(rows[2900].encode())
    (tmp_path / "h.csv").write_bytes(raw[:at] + b"\xff" + raw[at + 1 :])  # a wrong header, a bad byte far below
    assert refused(tmp_path / "h.csv").endswith(f"not UTF-8 text (undecodable byte at offset {at - 3}); expected a "
                                                "CSV or Santos & Duarte text")
    raw = (BOM + STATION_HEADER + "\n" + "\n".join(rows) + "\n").encode().replace(rows[10].encode(), b"1,2", 1)
    at = raw.index(rows[2900].encode())
    (tmp_path / "n.csv").write_bytes(raw[:at] + b"\xff" + raw[at + 1 :])  # too few values early, a bad byte late
    assert "undecodable byte at offset" in refused(tmp_path / "n.csv")


def test_gait_reads_blank_lines_at_the_end_across_blocks(tmp_path, small_blocks):
    rows = [f"{i / 100:.2f},9.81,0.1,0.2,0.3,0.4,0.5" for i in range(3000)]
    text = "time_s,ax_m_s2,ay_m_s2,az_m_s2,gx_deg_s,gy_deg_s,gz_deg_s\n" + "\n".join(rows) + "\n"
    (tmp_path / "plain.csv").write_text(text)
    (tmp_path / "ff.csv").write_text(BOM + text + "\x0c\n" * 300)  # was 'line 3002: blank line inside the data'
    rec, expected = read_imu_recording(tmp_path / "ff.csv"), read_imu_recording(tmp_path / "plain.csv")
    assert rec.samples == expected.samples == 3000 and (rec.acc_m_s2 == expected.acc_m_s2).all()
