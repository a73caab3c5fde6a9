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
    """Not a silent fallback: Santos & Duarte text and station CSV go through pyarrow."""
    text = (BDS / "BDS00001.txt").read_text().splitlines()
    names = list(trialfile.SANTOS_DUARTE_COLUMNS.values())
    assert trialfile._parse_fast(text[1:], names, None) is not None
    n = 1000
    write_trial_csv(tmp_path / "t.csv", {"time_s": np.arange(n) / 100, "ap_cm": np.sin(np.arange(n)),
                                         "ml_cm": np.cos(np.arange(n)), "flags": np.zeros(n, dtype=int)}, {})
    lines = (tmp_path / "t.csv").read_text().splitlines()
    assert trialfile._parse_fast(lines[1:], lines[0].split(","), ",") is not None


@pytest.mark.parametrize("trial", sorted(p.name for p in BDS.glob("BDS*.txt")))
def test_fast_reader_same_numbers_on_the_published_trials(trial):
    assert _outcome(BDS / trial, fast=True) == _outcome(BDS / trial)
