"""The gait reader reads a file a block of lines at a time (``trialfile.stream_columns``), keeping only
the columns gait uses: its peak is those columns and a block, not the file. Found by a memory review:
``balance-station gait`` of a 2-hour station trial CSV (122 MB, 16 columns) still held the file's
bytes whole (173 MB traced). Every number and refusal is the one of the whole file read at once,
wherever a block ends: in a line, between \\r and \\n, inside a UTF-8 character, before a bad last
line or a last line without a line break (the refusals' words are those the reader said before)."""

from __future__ import annotations

import numpy as np
import pytest

from station.store import imu_recording, trialfile
from station.store.imu_recording import read_imu_recording

from memory_peak import traced_peak
from test_imu_recording_gaps import station_frames, write_station_csv
from test_reader_hardening import refused

HEADER = "time_s,fz_n,ax_m_s2,ay_m_s2,az_m_s2,gx_deg_s,gy_deg_s,gz_deg_s,flags"  # fz_n, flags: not gait's
ROWS = 600  # about 40 kB: many blocks of a few hundred bytes after the first read (8 kB at least)


def rows(n: int = ROWS) -> list[str]:
    k = np.arange(n) / 100.0
    return [f"{t:.2f},700.{i % 7},{9.81 + np.sin(7 * t):.6f},{0.3 * np.cos(3 * t):.6f},{0.8 * np.sin(5 * t):.6f},"
            f"{np.sin(t):.5f},{np.cos(2 * t):.5f},{0.1 * t:.4f},0" for i, t in enumerate(k)]


def write(path, lines: list[str], *, newline: str = "\n", bom: bool = False, end: str | None = None) -> bytes:
    """``HEADER`` and ``lines`` joined by ``newline``, ended by ``end`` (default: ``newline``)."""
    text = newline.join([HEADER, *lines]) + (newline if end is None else end)
    raw = (b"\xef\xbb\xbf" if bom else b"") + text.encode()
    path.write_bytes(raw)
    return raw


def block_ending(raw: bytes, where) -> int:
    """A block size (bytes) for which a read of the file ends at an offset ``p`` with
    ``where(raw, p)`` (the first read is at least 8 kB, each one after it a block)."""
    for size in range(200, 700):
        ends = range(max(size, trialfile._BINARY_PROBE_BYTES), len(raw), size)
        if any(where(raw, p) for p in ends):
            return size
    raise AssertionError("no block size ends there")  # pragma: no cover


def read_in_blocks(monkeypatch, path, size: int):
    monkeypatch.setattr(trialfile, "TEXT_BLOCK_BYTES", size)
    return read_imu_recording(path)


def same(a, b) -> bool:
    return (np.array_equal(a.time_s, b.time_s) and np.array_equal(a.acc_m_s2, b.acc_m_s2)
            and np.array_equal(a.gyro_deg_s, b.gyro_deg_s) and a.fs_hz == b.fs_hz)


def test_the_reader_holds_the_used_columns_and_a_block_not_the_file(tmp_path, monkeypatch):
    monkeypatch.setattr(trialfile, "TEXT_BLOCK_BYTES", 2**16)
    path = write_station_csv(tmp_path / "trial.csv", station_frames(seconds=300.0))  # 17 columns, 8 used
    size = path.stat().st_size  # about 3.3 MB, 30,000 frames
    read, peak = traced_peak(imu_recording._read_table, path)
    # the 8 columns (1.9 MB, 0.58 times the file, allocated for the rows the first block promises but
    # at most 1.5 times those read, grown in place) and a block: 0.70 times the file; was the file and a
    # table of the 8 columns: 1.6 times it
    assert peak < 0.8 * size, peak / size
    first_line_no, columns = read
    names = path.read_text().split("\n", 1)[0].split(",")
    assert first_line_no == 2 and list(columns) == [name for name in names if name in columns] and len(columns) == 8
    table = np.loadtxt(path, delimiter=",", skiprows=1, usecols=[names.index(name) for name in columns])
    for j, (name, values) in enumerate(columns.items()):  # bit for bit, each its own array
        assert values.flags.c_contiguous and np.array_equal(values, table[:, j]), name


def test_blank_lines_after_the_data_reserve_nothing(tmp_path, monkeypatch):
    # Found by review: the columns were allocated for the rows the file's size promised at the first
    # block's rate, so a 151 MB file of 1 MiB of data then blank lines reserved 394 MB for 4 MB of
    # columns (a Pi with memory overcommit off refuses that; a crafted file asks for more)
    monkeypatch.setattr(trialfile, "TEXT_BLOCK_BYTES", 2**15)
    lines = rows(3000)  # 0.23 MB of data lines, 7 columns used: 0.17 MB
    write(tmp_path / "tail.csv", lines, end="\n" + "\n" * 3_000_000)  # then 3 MB of blank lines
    read, peak = traced_peak(imu_recording._read_table, tmp_path / "tail.csv")
    columns_bytes = sum(values.nbytes for values in read[1].values())
    assert columns_bytes == 3000 * 7 * 8
    # the columns (at most 1.5 times the rows read reserved), a block and its table: 0.33 MB; was
    # 2.98 MB (the rows the first block promised for the whole file, about 50,000)
    assert peak < 2 * columns_bytes + 4 * 2**15, peak / 1e6
    table = np.loadtxt(tmp_path / "tail.csv", delimiter=",", skiprows=1, usecols=[0, 2, 3, 4, 5, 6, 7])
    for j, values in enumerate(read[1].values()):
        assert np.array_equal(values, table[:, j])


@pytest.mark.parametrize("layout", ["lf", "crlf", "bom-crlf", "cr", "no-final-newline", "blank-end"])
def test_any_block_size_gives_the_numbers_of_the_whole_file(tmp_path, monkeypatch, layout):
    lines = rows()
    options = {"lf": {}, "crlf": {"newline": "\r\n"}, "bom-crlf": {"newline": "\r\n", "bom": True},
               "cr": {"newline": "\r"}, "no-final-newline": {"end": ""},
               "blank-end": {"bom": True, "end": "\n" + " \n" * 300 + "\x0c\n\u00a0"}}[layout]
    raw = write(tmp_path / "x.csv", lines, **options)
    whole = read_imu_recording(tmp_path / "x.csv")  # 1 MiB blocks: the whole file at once
    assert whole.samples == ROWS and np.array_equal(whole.time_s, np.arange(ROWS) / 100.0)
    if layout == "crlf":  # a read that ends between \r and \n
        sizes = [block_ending(raw, lambda raw, p: raw[p - 1 : p + 1] == b"\r\n")]
    else:
        sizes = [211, 256, 997]
    for size in sizes:
        assert same(read_in_blocks(monkeypatch, tmp_path / "x.csv", size), whole), size


def _with_euro(lines: list[str], column: int) -> str:
    """Line 402's field ``column`` with a euro sign (three bytes in UTF-8) after it; the field."""
    fields = lines[400].split(",")
    fields[column] += "\u20ac"
    lines[400] = ",".join(fields)
    return fields[column]


def test_a_utf8_character_cut_by_a_read_is_read_whole(tmp_path, monkeypatch):
    lines = rows()
    value = _with_euro(lines, HEADER.split(",").index("gz_deg_s"))
    raw = write(tmp_path / "x.csv", lines)
    at = raw.index("\u20ac".encode())
    size = block_ending(raw, lambda raw, p: at < p < at + 3)  # a read ends inside the character
    monkeypatch.setattr(trialfile, "TEXT_BLOCK_BYTES", size)
    assert refused(tmp_path / "x.csv").endswith(f"line 402, column gz_deg_s: {value!r} is not a number")
    lines = rows()
    _with_euro(lines, HEADER.split(",").index("flags"))  # a note in a column gait does not use
    raw = write(tmp_path / "y.csv", lines)
    at = raw.index("\u20ac".encode())
    monkeypatch.setattr(trialfile, "TEXT_BLOCK_BYTES", block_ending(raw, lambda raw, p: at < p < at + 3))
    write(tmp_path / "z.csv", rows())
    assert same(read_imu_recording(tmp_path / "y.csv"), read_imu_recording(tmp_path / "z.csv"))


def _without_fz(line: str) -> str:
    fields = line.split(",")
    del fields[1]
    return ",".join(fields)


@pytest.mark.parametrize("bom", [False, True], ids=["plain", "text-path"])
@pytest.mark.parametrize("row, change, words", [
    (500, _without_fz, "line 502: 8 values, but the header has 9 columns"),  # the IMU's columns would shift
    (500, lambda line: line + ",1", "line 502: 10 values, but the header has 9 columns"),
    (500, lambda line: line.replace(",9.", ",x9.", 1), "line 502, column ax_m_s2: 'x9."),
    (500, lambda line: "", "line 502: blank line inside the data"),
    (ROWS - 1, lambda line: line[:9], f"line {ROWS + 1}: 2 values, but the header has 9 columns"),  # the last
], ids=["a-value-too-few", "a-value-too-many", "not-a-number", "blank", "last-line-cut"])
def test_a_bad_line_in_a_later_block_is_refused_in_the_same_words(tmp_path, monkeypatch, bom, row, change, words):
    lines = rows()
    lines[row] = change(lines[row])
    write(tmp_path / "x.csv", lines, bom=bom, end="")  # the last line without a line break
    messages = {}
    for size in (256, 333, 2**20):  # 1 MiB: the whole file in one block
        monkeypatch.setattr(trialfile, "TEXT_BLOCK_BYTES", size)
        messages[size] = refused(tmp_path / "x.csv")
    assert len(set(messages.values())) == 1, messages
    assert words in messages[256], messages[256]


def test_blank_lines_held_across_blocks_refuse_only_when_data_follows(tmp_path, monkeypatch):
    lines = rows()
    monkeypatch.setattr(trialfile, "TEXT_BLOCK_BYTES", 256)
    gap = lines[:300] + [" "] * 40 + ["\t"] + lines[300:]  # 41 blank lines: many blocks, then data
    write(tmp_path / "gap.csv", gap)
    assert refused(tmp_path / "gap.csv").endswith("line 302: blank line inside the data")
    write(tmp_path / "end.csv", lines, end="\n" + "  \n" * 200)  # only blank lines after the data: dropped
    assert read_imu_recording(tmp_path / "end.csv").samples == ROWS


@pytest.mark.parametrize("content, words", [
    (b"", "empty file (no header, no samples)"),
    (b" \n\t\r\n" * 3000, "empty file (no header, no samples)"),  # blank, over many blocks
    (b"\n" * 9000 + HEADER.encode() + b"\r\n" + b" \n" * 500, "header only, no samples"),
    (b"\xef\xbb\xbf" + HEADER.encode(), "header only, no samples"),
])
def test_an_empty_or_header_only_file_is_refused_in_the_same_words(tmp_path, monkeypatch, content, words):
    (tmp_path / "x.csv").write_bytes(content)
    monkeypatch.setattr(trialfile, "TEXT_BLOCK_BYTES", 256)
    assert refused(tmp_path / "x.csv").endswith(words)


def test_an_undecodable_byte_after_a_bad_line_is_said_first(tmp_path, monkeypatch):
    lines = rows()
    lines[100] = lines[100].replace(",9.", ",x9.", 1)  # a bad value, in the first read
    raw = write(tmp_path / "x.csv", lines)
    at = raw.index(lines[550].encode())
    (tmp_path / "x.csv").write_bytes(raw[:at] + b"\xff" + raw[at + 1:])  # ... and a byte that is not UTF-8, later
    for size in (256, 2**20):
        monkeypatch.setattr(trialfile, "TEXT_BLOCK_BYTES", size)
        assert refused(tmp_path / "x.csv").endswith(f"not UTF-8 text (undecodable byte at offset {at}); expected a "
                                                    "CSV or Santos & Duarte text")
