"""Mobilise-D's own pipeline and the station on the very same recordings, scored the same way.

The shared gait data set (``../shared/data/gait``) is mobgap's example lab data. mobgap keeps the
per-walking-bout output of its official pipeline on every one of these recordings as a regression
snapshot (``MobilisedMetaPipeline``: the pipeline for healthy gait for HA, for impaired gait for MS),
so the two can be compared bout for bout. Get the snapshot from mobgap (Apache-2.0) with::

    git -C <mobgap clone> show 34aa8ae:tests/test_examples/snapshot/\
test_preconfigured_mobilise_pipeline_meta_pipeline_full_per_wb_parameters.json > mobgap_wb.json

Then::

    python3 benchmarks/gait_mobgap_same_files.py mobgap_wb.json [--data DIR]

Scoring, as mobgap's own pipeline evaluation: a detected bout matches a reference walking period
when their overlap covers at least 80 % of both; only matched bouts count; mean absolute errors of
the bout's cadence, stride length and walking speed against the reference's. mobgap's bouts are in
samples of the recording; the reference's times map to samples as mobgap's loader maps them
(round(t × fs) − 1 for starts, round(t × fs) for ends). For the station, per test: its contract
values (``gait_metrics`` on each reference period, as ``balance-station bench gait``) on all periods
and on the periods Mobilise-D matched, and its own bouts matched the same way with Mobilise-D's
per-second aggregation (``station.analysis.gait_per_second``). Prints numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from station.analysis.gait import detect_initial_contacts, gait_metrics, walking_bouts  # noqa: E402
from station.bench.gait import (  # noqa: E402
    BOUT_OVERLAP,
    DEFAULT_DATA,
    TOLERANCE_S,
    _body,
    _matching_bout,
    _per_second_measures,
)
from station.store.imu_recording import read_imu_recording  # noqa: E402

KEYS = (("cadence", "cadence_steps_min", "cadence_spm"), ("stride", "stride_length_m", "stride_length_m"),
        ("speed", "walking_speed_m_s", "walking_speed_mps"))


def _mobgap_bouts(path: Path) -> dict[str, list[dict]]:
    data = json.loads(path.read_text())
    bouts: dict[str, list[dict]] = {}
    for row in data["data"]:
        name = f"{row['level_0']}{row['level_1']}-{row['level_3']}-{row['level_4']}"
        bouts.setdefault(name, []).append(row)
    return bouts


def _mobgap_match(rows: list[dict], start: int, end: int) -> dict | None:
    for row in rows:
        overlap = min(end, row["end"]) - max(start, row["start"])
        if overlap > 0 and overlap >= BOUT_OVERLAP * (end - start) and overlap >= BOUT_OVERLAP * (row["end"] - row["start"]):
            return row
    return None


def _mae(errors: list[dict], key: str) -> str:
    values = [e[key] for e in errors if e.get(key) is not None]
    return f"{np.mean(values):6.3f}" if values else "   n/a"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mobgap_wb", type=Path, help="mobgap's per-bout snapshot (JSON, see the module notes)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    try:
        mobgap = _mobgap_bouts(args.mobgap_wb)
    except (OSError, ValueError, KeyError) as exc:
        print(f"cannot read mobgap's per-bout snapshot {args.mobgap_wb}: {exc}; see the module notes", file=sys.stderr)
        return 2
    for test in ("Test5", "Test11"):
        paths = sorted(args.data.glob(f"*{test}*.csv"))
        if not paths:
            continue
        periods = 0
        theirs, station_all, station_same, station_bouts = [], [], [], []
        for path in paths:
            rec = read_imu_recording(path)
            acc = _body(rec)
            fs, height, t0 = rec.fs_hz, rec.sensor_height_m, float(rec.time_s[0])
            bouts = walking_bouts(acc, fs)
            contacts = detect_initial_contacts(acc[:, 0], fs, acc_ml_m_s2=acc[:, 2])
            for wp in rec.metadata.get("walking_periods", []):
                periods += 1
                window = (wp["start_s"] - t0 - TOLERANCE_S, wp["end_s"] - t0 + TOLERANCE_S)
                m = gait_metrics(acc, fs, sensor_height_m=height, window_s=window)
                stride_m = 2 * m["step_length_m"] if m["step_length_m"] is not None else None
                values = {"cadence": m["cadence_steps_min"], "stride": stride_m, "speed": m["walking_speed_m_s"]}
                own = {name: abs(values[name] - wp[key]) if values[name] is not None else None for name, key, _ in KEYS}
                station_all.append(own)
                row = _mobgap_match(mobgap.get(path.stem, []), round(wp["start_s"] * fs) - 1, round(wp["end_s"] * fs))
                if row is not None:
                    theirs.append({name: abs(row[col] - wp[key]) for name, key, col in KEYS})
                    station_same.append(own)
                k = _matching_bout(bouts, wp["start_s"] - t0, wp["end_s"] - t0)
                if k is not None:
                    a, b = bouts[k]
                    mine = _per_second_measures(acc[:, 0], fs, contacts[(contacts >= a) & (contacts <= b)], height)
                    if mine is not None:
                        station_bouts.append({name: abs(mine[key] - wp[key]) if mine[key] is not None else None
                                              for name, key, _ in KEYS})
        print(f"{test}: {periods} reference periods; mean absolute errors: cadence steps/min, stride m, speed m/s")
        for label, errors in (
            ("Mobilise-D pipeline, its bouts matched at 80 %", theirs),
            ("station, gait keys, the same periods", station_same),
            ("station, gait keys, every period", station_all),
            ("station, its bouts matched at 80 %, per second", station_bouts),
        ):
            print(f"  {label:48} {len(errors):3d} bouts  cadence {_mae(errors, 'cadence')}  "
                  f"stride {_mae(errors, 'stride')}  speed {_mae(errors, 'speed')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
