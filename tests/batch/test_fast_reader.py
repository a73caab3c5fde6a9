"""read_trial(fast=True): pyarrow's reader gives the same numbers bit for bit and the same one-line
errors as numpy's, on good files and on every kind of bad one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from station.store import trialfile
from station.store.trialfile import TrialFileError, read_trial, write_trial_csv

pytest.importorskip("pyarrow", reason="the fastcsv extra (installed by the test setup)")

BDS = Path(__file__).resolve().parents[3] / "shared" / "data" / "bds"  # DESIGN.md: ../shared/data/bds
HEAD = "time_s,ap_cm,ml_cm,fz_n\n"


def _rows(n=30, fmt="{t:.2f},0.1,0.2,700\n"):
    return "".join(fmt.format(t=i / 100) for i in range(n))


CASES = {
    "good.csv": HEAD + _rows(),
    "exponents.csv": HEAD + _rows(5) + "0.05,1e-3,-2.5E+1,7.0e2\n",
    "plus_and_bare_dot.csv": HEAD + _rows(5) + "0.05,+.5,5.,700\n",
    "crlf.csv": (HEAD + _rows()).replace("\n", "\r\n"),
    "bom.csv": "\ufeff" + HEAD + _rows(),
    "spaces_around.csv": HEAD + _rows(5) + "0.05, 0.1 ,0.2,700\n",
    "quoted.csv": HEAD + _rows(5) + '0.05,"0.1",0.2,700\n',
    "na.csv": HEAD + _rows(5) + "0.05,NA,0.2,700\n",
    "empty_value.csv": HEAD + _rows(5) + "0.05,,0.2,700\n",
    "nan_force.csv": HEAD + _rows(5) + "0.05,0.1,0.2,nan\n",
    "nan_cop.csv": HEAD + _rows(5) + "0.05,nan,0.2,700\n",
    "inf.csv": HEAD + _rows(5) + "0.05,0.1,0.2,inf\n",
    "huge.csv": HEAD + _rows(5) + "0.05,0.1,0.2,1e999\n",
    "underscore.csv": HEAD + _rows(5) + "0.05,1_0,0.2,700\n",
    "text.csv": HEAD + _rows(5) + "0.05,left,0.2,700\n",
    "too_many.csv": HEAD + _rows(5) + "0.05,0.1,0.2,700,1\n",
    "too_few.csv": HEAD + _rows(5) + "0.05,0.1,0.2\n",
    "blank_inside.csv": HEAD + _rows(5) + "\n" + _rows(3).replace("0.0", "0.1"),
    "truncated.csv": HEAD + _rows(5) + "0.05,0.1",
    "backwards.csv": HEAD + _rows(5) + "0.01,0.1,0.2,700\n",
    "tab_santos.txt": "Time[s]\tFz[N]\tCOPx[cm]\tCOPy[cm]\n" + _rows(30, "{t:.3f}\t700.5\t-0.1\t0.2\n"),
    "spaced_santos.txt": "Time[s]  Fz[N] COPx[cm]  COPy[cm]\n" + _rows(30, "  {t:.3f}  700.5 -0.1   0.2\n"),
    # line breaks and blank lines: the fast reader takes the bytes as they are (no splitlines)
    "leading_blank_lines.csv": "\n \r\n\t\n" + HEAD + _rows(),
    "trailing_blank_lines.txt": "Time[s]\tFz[N]\tCOPx[cm]\tCOPy[cm]\r\n"
    + _rows(30, "{t:.3f}\t700.5\t-0.1\t0.2\r\n") + "\r\n  \n\t\r\n",
    "cr_only.csv": (HEAD + _rows()).replace("\n", "\r"),
    "mixed_breaks.csv": HEAD + _rows(5) + _rows(5).replace("0.0", "0.1").replace("\n", "\r\n") + "0.20,0.1,0.2,700\r",
    "lf_cr.csv": HEAD + _rows(5) + "\n\r" + _rows(3).replace("0.0", "0.1"),
    "cr_cr_lf.csv": HEAD + _rows(5) + "\r\r\n" + _rows(3).replace("0.0", "0.1"),
    "no_final_newline.csv": HEAD + _rows(5) + "0.05,0.1,0.2,700",
    "trailing_spaces_last_line.csv": HEAD + _rows(5) + "0.05,0.1,0.2,700  \n\n",
    "form_feed.csv": HEAD + _rows(5) + "\x0c" + _rows(3).replace("0.0", "0.1"),
    "vertical_tab_blank.csv": HEAD + _rows(5) + "\x0b\n",
    "unit_separator_blank.csv": HEAD + _rows(5) + "\x1f\n",
    "file_separator.csv": HEAD + _rows(5) + "0.05,0.1,0.2,700\x1c",
    "non_ascii_space.csv": HEAD + _rows(5) + "0.05,0.1,0.2,700\u2028",
    "header_only.csv": HEAD + "\r\n \n",
    "many_trailing_blanks.csv": HEAD + _rows(5) + "0.05,0.1,0.2,700 \t\r\n" + " \n\t\r\n" * 40,
    "header_then_many_blanks.csv": HEAD + " \r\n\t" * 50,
    "header_without_break.csv": HEAD.strip(),
    "blank.csv": " \r\n\t\n",
    "integers.csv": "time_s,ap_cm,ml_cm,seq,t_ns\r\n" + "".join(f"{i / 100:.2f},0.1,0.2,{i},{2**62 + i}\r\n" for i in range(30)),
    "integer_not_whole.csv": "time_s,ap_cm,ml_cm,seq\n" + "".join(f"{i / 100:.2f},0.1,0.2,{i}.5\n" for i in range(30)),
}


def _outcome(path: Path, **kwargs):
    try:
        trial = read_trial(path, **kwargs)
    except TrialFileError as exc:
        return ("error", str(exc))
    arrays = {"time_s": trial.time_s, "ap_cm": trial.ap_cm, "ml_cm": trial.ml_cm, "fz_n": trial.fz_n, **trial.extra}
    return ("ok", trial.format, trial.fs_hz, {k: None if v is None else v.tobytes() for k, v in arrays.items()})


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("options", [{}, {"allow_nan": True}, {"allow_truncated": True}])
def test_fast_reader_agrees_with_numpy_reader(tmp_path, name, options):
    path = tmp_path / name
    path.write_bytes(CASES[name].encode("utf-8"))
    assert _outcome(path, fast=True, **options) == _outcome(path, **options)


def test_fast_reader_really_parses_the_common_files(tmp_path):
    """Not a silent fallback: Santos & Duarte text (CRLF) and station CSV go through pyarrow, from
    the file's bytes as they are."""
    assert trialfile._read_fast(BDS / "BDS00001.txt", (BDS / "BDS00001.txt").read_bytes()) is not None
    n = 1000
    write_trial_csv(tmp_path / "t.csv", {"time_s": np.arange(n) / 100, "ap_cm": np.sin(np.arange(n)),
                                         "ml_cm": np.cos(np.arange(n)), "flags": np.zeros(n, dtype=int)}, {})
    assert trialfile._read_fast(tmp_path / "t.csv", (tmp_path / "t.csv").read_bytes()) is not None
    for name in ("crlf.csv", "leading_blank_lines.csv", "trailing_blank_lines.txt", "cr_only.csv"):
        assert trialfile._read_fast(Path(name), CASES[name].encode()) is not None, name


def test_plain_text_split_is_the_usual_readers(tmp_path):
    """The bytes the fast reader hands to pyarrow are the usual reader's header and data lines."""
    for name, text in CASES.items():
        split = trialfile._split_plain_text(text.encode("utf-8"))
        if split is None:
            continue
        first, header, body = split
        lines = text.splitlines()
        expected_first = next(i for i, line in enumerate(lines) if line.strip())
        data = lines[expected_first + 1:]
        while data and not data[-1].strip():
            data.pop()
        assert (first, header, body.decode().splitlines()) == (expected_first, lines[expected_first], data), name


@pytest.mark.parametrize("trial", sorted(p.name for p in BDS.glob("BDS*.txt")))
def test_fast_reader_same_numbers_on_the_published_trials(trial):
    assert _outcome(BDS / trial, fast=True) == _outcome(BDS / trial)


def test_median_of_the_time_steps_is_numpys_bit_for_bit():
    rng = np.random.default_rng(3)
    for n in [1, 2, 3, 4, 5, 6000, 6001]:
        for scale in (1e-3, 0.01, 1.0, 1e6):
            steps = rng.normal(size=n) * scale
            assert trialfile._median(steps) == float(np.median(steps))
            assert trialfile._median(np.round(steps, 2)) == float(np.median(np.round(steps, 2)))


def test_fast_reader_on_a_file_of_several_blocks(tmp_path):
    """A file larger than pyarrow's 1 MB block (read in pieces, then joined): the same numbers."""
    n = 40000
    rng = np.random.default_rng(5)
    columns = {"time_s": np.arange(n) / 100, "ap_cm": rng.normal(size=n), "ml_cm": rng.normal(size=n),
               "fz_n": rng.normal(700, 5, n), "fl_n": rng.normal(175, 5, n), "fr_n": rng.normal(175, 5, n),
               "bl_n": rng.normal(175, 5, n), "br_n": rng.normal(175, 5, n)}
    write_trial_csv(tmp_path / "long.csv", columns, {"rate_hz": 100.0})
    assert (tmp_path / "long.csv").stat().st_size > 2 << 20
    raw = (tmp_path / "long.csv").read_bytes()
    assert trialfile._read_fast(tmp_path / "long.csv", raw) is not None
    assert _outcome(tmp_path / "long.csv", fast=True) == _outcome(tmp_path / "long.csv")


@pytest.mark.parametrize("content, expected", [
    (b"time_s,ap_cm,ml_cm\n0,1,2\n", True),
    (b"\xef\xbb\xbf \r\n\t\n  time_s , ap_cm,ml_cm\r\n0,1,2\n", True),  # BOM, blank lines, spaces in names
    ("\x0c\x1c\n\x85Time[s]\tCOPx[cm]\tCOPy[cm]\n".encode(), True),  # form feed, separators, NEL: all blank/breaks
    (b"\x85Time[s]\n", True),  # not UTF-8: a broken trial, reported rather than skipped
    ("x\u2029time_s,ap_cm\n".encode(), False),  # 'x' is the first line
    ("\u2028Time[s] COPx[cm] COPy[cm]\n".encode(), True),  # a Unicode line break before the header
    (b"notes about the trial\ntime_s,ap_cm\n", False),  # the first non-blank line decides
    (b"x\x0btime_s,ap_cm\n", False),  # \v ends the first line (str.splitlines), so 'x' is that line
    (b"   \t  \n", True),  # blank: reported rather than skipped
    (b"", True),
    (b"time_s" + b" " * 9000, True),  # the header line longer than the probe
    (b"\x00\x01", True),  # binary
])
def test_looks_like_trial_reads_the_first_non_blank_line(tmp_path, content, expected):
    path = tmp_path / "f.csv"
    path.write_bytes(content)
    assert trialfile.looks_like_trial(path) is expected


# read_trial(columns=...): the fast reader converts only the needed columns when the others are plain
# numbers; the only difference it may make is a field of number characters that is not a number
NEEDED = ("time_s", "ap_cm", "ml_cm", "fl_n", "fr_n", "bl_n", "br_n")
SANTOS_HEAD = "Time[s]\tFx[N]\tFz[N]\tCOPx[cm]\tCOPy[cm]\r\n"
UNUSED_CASES = {
    "santos_good.txt": SANTOS_HEAD + _rows(30, "{t:.3f}\t1.5\t700.5\t-0.1\t0.2\r\n"),
    "santos_text_in_fx.txt": SANTOS_HEAD + _rows(5, "{t:.3f}\t1.5\t700.5\t-0.1\t0.2\r\n") + "0.050\tabc\t700\t-0.1\t0.2\r\n",
    "santos_na_in_fz.txt": SANTOS_HEAD + _rows(5, "{t:.3f}\t1.5\t700.5\t-0.1\t0.2\r\n") + "0.050\t1\tNA\t-0.1\t0.2\r\n",
    "santos_nan_in_fz.txt": SANTOS_HEAD + _rows(5, "{t:.3f}\t1.5\t700.5\t-0.1\t0.2\r\n") + "0.050\t1\tnan\t-0.1\t0.2\r\n",
    "santos_inf_in_fz.txt": SANTOS_HEAD + _rows(5, "{t:.3f}\t1.5\t700.5\t-0.1\t0.2\r\n") + "0.050\t1\t-inf\t-0.1\t0.2\r\n",
    "santos_empty_fx.txt": SANTOS_HEAD + _rows(5, "{t:.3f}\t1.5\t700.5\t-0.1\t0.2\r\n") + "0.050\t\t700\t-0.1\t0.2\r\n",
    "santos_space_in_fx.txt": SANTOS_HEAD + _rows(5, "{t:.3f}\t1.5\t700.5\t-0.1\t0.2\r\n") + "0.050\t1 5\t700\t-0.1\t0.2\r\n",
    "santos_missing_value.txt": SANTOS_HEAD + _rows(5, "{t:.3f}\t1.5\t700.5\t-0.1\t0.2\r\n") + "0.050\t700\t-0.1\t0.2\r\n",
    "santos_extra_value.txt": SANTOS_HEAD + _rows(5, "{t:.3f}\t1.5\t700.5\t-0.1\t0.2\r\n") + "0.050\t1\t1\t700\t-0.1\t0.2\r\n",
    "santos_bad_cop.txt": SANTOS_HEAD + _rows(5, "{t:.3f}\t1.5\t700.5\t-0.1\t0.2\r\n") + "0.050\t1\t700\t-0.1x\t0.2\r\n",
    "santos_nan_cop.txt": SANTOS_HEAD + _rows(5, "{t:.3f}\t1.5\t700.5\t-0.1\t0.2\r\n") + "0.050\t1\t700\tnan\t0.2\r\n",
    "santos_empty_last.txt": "Time[s]\tCOPx[cm]\tCOPy[cm]\tFz[N]\r\n" + _rows(5, "{t:.3f}\t-0.1\t0.2\t700\r\n") + "0.050\t-0.1\t0.2\t\r\n",
    "santos_empty_last_lf.txt": "Time[s]\tCOPx[cm]\tCOPy[cm]\tFz[N]\n" + _rows(5, "{t:.3f}\t-0.1\t0.2\t700\n") + "0.050\t-0.1\t0.2\t\n",
    # a lone \r after an empty last field (the classes drop \r): found by counting the fields
    "santos_lone_cr_after_empty.txt": "Time[s]\tCOPx[cm]\tCOPy[cm]\tFz[N]\r\n" + _rows(5, "{t:.3f}\t-0.1\t0.2\t700\r\n")
    + "0.050\t-0.1\t0.2\t\r0.060\t-0.1\t0.2\t700\r\n",
    "station_lone_cr_after_empty.csv": "time_s,ap_cm,ml_cm,fz_n,fx_n\n" + _rows(5, "{t:.2f},0.1,0.2,700,1\n")
    + "0.05,0.1,0.2,700,\r0.06,0.1,0.2,700,1\r\n0.07,0.1,0.2,700,1\n",
    "santos_empty_fx_cr_only.txt": (SANTOS_HEAD + _rows(5, "{t:.3f}\t1.5\t700.5\t-0.1\t0.2\r\n")
                                    + "0.050\t\t700\t-0.1\t0.2\r\n").replace("\r\n", "\r"),
    "station_empty_before_crlf.csv": "time_s,ap_cm,ml_cm,fz_n,fx_n\r\n" + _rows(5, "{t:.2f},0.1,0.2,700,1\r\n")
    + "0.05,0.1,0.2,700,\r\n0.06,0.1,0.2,700,1\r\n",
    "station_two_empty_unused.csv": "time_s,ap_cm,ml_cm,fz_n,fx_n,fy_n\n" + _rows(5, "{t:.2f},0.1,0.2,700,1,2\n")
    + "0.05,0.1,0.2,,,2\n",
    "station_lone_cr.csv": "time_s,ap_cm,ml_cm,fz_n,fx_n\n" + _rows(5, "{t:.2f},0.1,0.2,700,1\n").replace("\n", "\r"),
    "santos_exponents.txt": SANTOS_HEAD + _rows(5, "{t:.3f}\t1.5e-3\t+7.005E2\t-0.1\t0.2\r\n"),
    "station_imu_nan.csv": "time_s,ap_cm,ml_cm,fz_n,ax_m_s2\n" + _rows(30, "{t:.2f},0.1,0.2,700,nan\n"),
    "station_corners.csv": "time_s,ap_cm,ml_cm,fz_n,fl_n,fr_n,bl_n,br_n,seq\n"
    + "".join(f"{i / 100:.2f},0.1,0.2,700,175,175,175,175,{i}\n" for i in range(30)),
    "station_seq_not_whole.csv": "time_s,ap_cm,ml_cm,seq\n" + "".join(f"{i / 100:.2f},0.1,0.2,{i}.5\n" for i in range(30)),
}
NOT_NOTICED = {  # number characters, not a number, in a column the caller does not need
    "santos_minus_inside.txt": SANTOS_HEAD + _rows(5, "{t:.3f}\t1.5\t700.5\t-0.1\t0.2\r\n") + "0.050\t1-2\t700\t-0.1\t0.2\r\n",
    "santos_lone_point.txt": SANTOS_HEAD + _rows(5, "{t:.3f}\t1.5\t700.5\t-0.1\t0.2\r\n") + "0.050\t1\t.\t-0.1\t0.2\r\n",
    "santos_too_large.txt": SANTOS_HEAD + _rows(5, "{t:.3f}\t1.5\t700.5\t-0.1\t0.2\r\n") + "0.050\t1\t1" + "0" * 309 + "\t-0.1\t0.2\r\n",
}


@pytest.mark.parametrize("name", sorted({**CASES, **UNUSED_CASES}))
@pytest.mark.parametrize("options", [{}, {"allow_nan": True}])
def test_needed_columns_only_read_as_the_usual_reader_would(tmp_path, name, options):
    """Same numbers for the needed columns, the others left out, and every error the same."""
    path = tmp_path / name
    path.write_bytes({**CASES, **UNUSED_CASES}[name].encode("utf-8"))
    outcome = _outcome(path, fast=True, columns=NEEDED, **options)
    assert outcome == _outcome(path, columns=NEEDED, **options)
    full = _outcome(path, **options)
    if full[0] == "error":
        assert outcome == full
    else:
        assert outcome[:3] == full[:3] and set(outcome[3]) <= set(full[3]) | {"fz_n"}
        assert all(outcome[3][k] == full[3][k] for k in outcome[3] if outcome[3][k] is not None)
        assert outcome[3]["fz_n"] is None and set(outcome[3]) - {"fz_n"} <= set(NEEDED)


def test_needed_columns_only_converts_only_them(tmp_path, monkeypatch):
    """Not a silent full read: a published trial has 3 of its 9 columns converted; a file whose other
    columns are not plain numbers is converted whole (and then checked as always)."""
    seen = []
    parse = trialfile._parse_fast
    monkeypatch.setattr(trialfile, "_parse_fast", lambda b, n, d, keep=None: seen.append(keep) or parse(b, n, d, keep))
    trial = read_trial(BDS / "BDS00001.txt", fast=True, columns=NEEDED)
    assert seen == [[0, 7, 8]] and trial.fz_n is None and trial.extra == {} and trial.samples == 6000
    for name in ("santos_lone_cr_after_empty.txt", "station_lone_cr_after_empty.csv"):  # then read whole
        seen.clear()
        assert trialfile._read_fast(Path(name), UNUSED_CASES[name].encode(), frozenset(NEEDED)) is None
        assert seen == [[0, 1, 2], None], name
    path = tmp_path / "nan.csv"
    path.write_text(UNUSED_CASES["station_imu_nan.csv"])
    seen.clear()
    assert read_trial(path, fast=True, columns=NEEDED).extra == {} and seen == [None]


@pytest.mark.parametrize("name", sorted(NOT_NOTICED))
def test_number_characters_in_an_unneeded_column_are_not_checked_in_a_batch(tmp_path, name):
    """The documented limit of columns=: the fast reader analyses such a file, the usual one refuses it."""
    path = tmp_path / name
    path.write_bytes(NOT_NOTICED[name].encode())
    assert _outcome(path, fast=True, columns=NEEDED)[0] == "ok"
    assert _outcome(path, columns=NEEDED)[0] == "error"
