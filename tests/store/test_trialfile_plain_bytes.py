"""``read_trial`` parses plain ASCII trial files straight from their bytes (station CSV and Santos &
Duarte text, LF or CRLF): the peak holds the file and the table, not the nine copies of the text path
(str, lines, joined lines, a StringIO at 4 bytes a character); the numbers and every error are those
of the text path, which still reads any other text."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from station.store.trialfile import TrialFileError, read_trial

from memory_peak import traced_peak

STATION_HEADER = "time_s,ap_cm,ml_cm,fz_n,fl_n,fr_n,bl_n,br_n,ax_m_s2,flags,t_ns,seq"
SD_HEADER = "Time[s]\tFx[N]\tFy[N]\tFz[N]\tMx[Nm]\tMy[Nm]\tMz[Nm]\tCOPx[cm]\tCOPy[cm]"


def station_rows(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    values = rng.normal(0.0, 3.0, (n, 8))
    t_ns = 2**62 + np.arange(n, dtype=np.int64) * 10_000_000 + rng.integers(0, 99_999, n)
    return [
        f"{i / 100!r}," + ",".join(f"{v:.10g}" for v in values[i]) + f",{i % 4},{t_ns[i]},{i + 7}" for i in range(n)
    ]


def sd_rows(n: int, seed: int = 1) -> list[str]:
    rng = np.random.default_rng(seed)
    values = rng.normal(0.0, 10.0, (n, 8))
    return [f"{(i + 1) / 100:.3f}\t" + "\t".join(f"{v:.6f}" for v in values[i]) for i in range(n)]


def write(path: Path, header: str, rows: list[str], newline: str = "\n", end: str | None = None) -> Path:
    text = header + newline + newline.join(rows) + (newline if end is None else end)
    path.write_bytes(text.encode("utf-8"))
    return path


def same(a, b) -> bool:
    """Two reads of a trial give the same arrays, bit for bit, and the same rate."""
    pairs = [(a.time_s, b.time_s), (a.ap_cm, b.ap_cm), (a.ml_cm, b.ml_cm), (a.grid_index, b.grid_index)]
    if (a.fz_n is None) != (b.fz_n is None) or sorted(a.extra) != sorted(b.extra):
        return False
    if a.fz_n is not None:
        pairs.append((a.fz_n, b.fz_n))
    pairs += [(a.extra[k], b.extra[k]) for k in a.extra]
    pairs += [(a.corners_n[k], b.corners_n[k]) for k in (a.corners_n or {})]
    return a.fs_hz == b.fs_hz and all(x.dtype == y.dtype and np.array_equal(x, y, equal_nan=True) for x, y in pairs)


@pytest.mark.parametrize("layout", ["station-lf", "santos-duarte-crlf"])
def test_the_parse_holds_the_file_and_the_table_not_nine_copies(tmp_path, layout):
    if layout == "station-lf":  # 12 columns, t_ns and seq parsed again as int64
        path = write(tmp_path / "long.csv", STATION_HEADER, station_rows(30_000))
    else:
        path = write(tmp_path / "long.txt", SD_HEADER, sd_rows(60_000), "\r\n")
    size = path.stat().st_size  # about 4-5 MB
    trial, peak = traced_peak(read_trial, path)
    assert trial.samples in (30_000, 60_000)
    # the file's bytes and the parsed table (0.7-0.8 times the file here), then the table and its
    # columns: under 2 times the file. The text path held 8.7-9.7 times the file.
    assert peak < 3.5 * size, peak / size


@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["lf", "crlf"])
@pytest.mark.parametrize("layout", ["station", "santos-duarte"])
def test_the_numbers_are_those_of_the_text_path(tmp_path, layout, newline):
    header, rows = (STATION_HEADER, station_rows(800)) if layout == "station" else (SD_HEADER, sd_rows(800))
    plain = write(tmp_path / "plain.csv", header, rows, newline, end=newline + "  " + newline)
    # a byte order mark makes the text not plain ASCII: read the usual way
    text = tmp_path / "text.csv"
    text.write_bytes("\ufeff".encode() + plain.read_bytes())
    for options in ({}, {"columns": ("time_s",)}, {"fast": True}, {"allow_truncated": True}):
        assert same(read_trial(plain, **options), read_trial(text, **options)), options
    if layout == "station":
        assert read_trial(plain).extra["t_ns"].dtype == np.int64
        assert int(read_trial(plain).extra["t_ns"][-1]) == int(rows[-1].split(",")[-2])  # exact past 2**53


@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_a_last_line_cut_short_is_dropped_as_by_the_text_path(tmp_path, newline):
    rows = station_rows(300)
    path = write(tmp_path / "cut.csv", STATION_HEADER, rows + ["3.00,0.1,0"], newline, end="")
    trial = read_trial(path, allow_truncated=True)
    assert trial.samples == 300 and np.array_equal(trial.extra["seq"], np.arange(300) + 7)
    with pytest.raises(TrialFileError, match=r"line 302: 3 values, but the header has 12 columns"):
        read_trial(path)
    # no final line break: the last line is taken as cut short, whole or not (a crash mid-line)
    path = write(tmp_path / "whole.csv", STATION_HEADER, rows, newline, end="")
    assert read_trial(path, allow_truncated=True).samples == 299 and read_trial(path).samples == 300
    path = write(tmp_path / "one.csv", STATION_HEADER, rows[:1], newline, end="")
    with pytest.raises(TrialFileError, match="header only, no samples"):
        read_trial(path, allow_truncated=True)


@pytest.mark.parametrize(
    "body, words",
    [
        ("{a}\n\n{b}\n", "line 5: blank line inside the data"),
        ("{a}\n  \n{b}\n", "line 5: blank line inside the data"),
        ("{a}\n0.03,x,1,1,1,1,1,1,1,0,5,9\n{b}\n", "line 5, column ap_cm: 'x' is not a number"),
        ("{a}\n0.03,,1,1,1,1,1,1,1,0,5,9\n{b}\n", "line 5, column ap_cm: empty value"),
        ("{a}\n0.03,1,1\n{b}\n", "line 5: 3 values, but the header has 12 columns"),
        ("{a}\n0.03,nan,1,1,1,1,1,1,1,0,5,9\n{b}\n", "line 5, column ap_cm: NaN (COP undefined: plate unloaded?)"),
        ("{a}\n0.03,1,1,inf,1,1,1,1,1,0,5,9\n{b}\n", "line 5, column fz_n: infinite value"),
        ("{a}\n0.03,1,1,1,1,1,1,1,1,0,5.5,9\n{b}\n", "line 5: t_ns must be a whole number, not '5.5'"),
        ("{a}\n0.03,1,1,1,1,1,1,1,1,0,5,1e3\n{b}\n", "line 5: seq must be a whole number, not '1e3'"),
        ("{a}\n0.01,1,1,1,1,1,1,1,1,0,5,9\n{b}\n", "line 5: time_s not increasing"),
        ("{a}\r0.03,1,1,1,1,1,1,1,1,0,5,9\r{b}\r", None),  # lone CR line ends: read the usual way
    ],
)
def test_malformed_plain_files_keep_their_one_line_messages(tmp_path, body, words):
    rows = station_rows(100)
    path = tmp_path / "bad.csv"
    path.write_bytes((STATION_HEADER + "\n" + body.format(a="\n".join(rows[:3]), b="\n".join(rows[4:]))).encode())
    if words is None:
        assert read_trial(path).samples == 100
        return
    for options in ({}, {"fast": True}, {"allow_truncated": True}):
        with pytest.raises(TrialFileError) as err:
            read_trial(path, **options)
        message = str(err.value)
        assert "\n" not in message and message.startswith(f"{path}: ") and words in message, (options, message)
