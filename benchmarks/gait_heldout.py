"""The station's initial contacts and cadence on recordings it was never designed on: a held-out
check of issue 10's "the method must hold on recordings it has never seen (other people, other
sensors, other tilts)".

    git clone https://github.com/CyrilVoisard/ipol_dataset_1 /tmp/ipol_dataset_1
    python3 benchmarks/gait_heldout.py /tmp/ipol_dataset_1/GaitData [--subjects 10-19] [--json]

Data: "A Reference Data Set for the Study of Healthy Subject Gait with Inertial Measurements Units",
Image Processing On Line, 2023 (https://www.ipol.im/pub/art/2023/497/), data and loader at
github.com/CyrilVoisard/ipol_dataset_1 (its README; the article's authors and pages were not
verified here). 19 healthy adults (aged 25-79 by the metadata), 110 trials of: standing, walking 10
m, a U-turn, walking back, stopping. One Xsens MTw Awinda on the lower back (L5), 100 Hz, m/s² and
rad/s in the sensor's axes; its x axis points up the spine, but the sensor sits tilted by 1-36° from
the vertical (median 14°; gravity shared between x and z): a different sensor, other people and
other tilts than the Mobilise-D recordings of ../shared/data/gait. Reference: every footstep's
toe-off and heel strike from a foot-worn IMU on each foot (two published detectors, then checked by
hand), so the heel strikes are the initial contacts, turn steps included. The data set is AGPL-3.0;
it is read where it lies and nothing of it is copied into this repository.

What is done: each trial's lower-back file is written as an IMU recording the station reads
(``time_s`` and the six IMU columns, deg/s; sidecar with the rate, ``mounting_up`` "+x" and
``mounting_toes`` "-z": z points out of the back) with one reference walking period, first to last
heel strike, its contacts and their sides, and the cadence by the reference's definition
(:func:`station.bench.gait.reference_cadence_steps_min` on the reference heel strikes). The data set
has no reference step length or speed, so none is scored; :func:`walked_distance` checks the step
lengths against the protocol's 20 m instead (sensor height from body height). Then
:func:`station.bench.gait.score_recordings`, the scoring of ``balance-station bench gait``, runs on
them unchanged: contacts matched one-to-one within 0.2 s, precision, recall, F1, timing error,
cadence error per period. Printed beside (:func:`breakdown`): the contacts inside the U-turn (the
data set's ``UTurnBoundaries``) and outside it with their timing error, the misses of the stopping
step, F1 per subject and per tilt of the sensor.

Subjects 1-9 and 10-19 may be scored apart (``--subjects``), so that a change to the detector can be
judged on one half and confirmed on the other.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from station.analysis.gait import gait_metrics  # noqa: E402
from station.bench.gait import (  # noqa: E402
    TOLERANCE_S, _body, match_pairs, reference_cadence_steps_min, score_recordings,
)
from station.store.imu_recording import read_imu_recording  # noqa: E402
from station.store.trialfile import TrialFileError  # noqa: E402

RATE_HZ = 100.0
SENSOR_HEIGHT_RATIO = 0.60
"""Height of the lower-back sensor above the ground over body height, for the walked-distance check
(:func:`walked_distance`): the data set gives body height only. 0.60 is the mean of the three people
of ../shared/data/gait, whose sensor heights were measured (0.58, 0.61, 0.62); 3 % off in it moves
the pendulum's step lengths by about 1.5 %."""
WALKED_M = 20.0
"""The protocol's walk: 10 m, a U-turn, 10 m back (the data set's README)."""
MARGIN_S = 2.0
"""Recording kept before the first toe-off and after the last heel strike of a trial, s."""


def _subjects(spec: str) -> set[int]:
    """``"1-9"`` or ``"1,4,10-12"`` → the subject numbers (an argparse type: a bad one is said in words).

    >>> sorted(_subjects("1-3,7"))
    [1, 2, 3, 7]
    """
    out: set[int] = set()
    try:
        for part in spec.split(","):
            a, _, b = part.partition("-")
            out.update(range(int(a), int(b or a) + 1))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{spec!r}: give subject numbers such as 1-9 or 1,4,10-12") from None
    if not out:
        raise argparse.ArgumentTypeError(f"{spec!r} names no subject: give a range such as 1-9")
    return out


def _spans(subjects: set[int]) -> str:
    """The subject numbers as ranges: ``{1, 2, 3, 7}`` → ``"1-3,7"``."""
    ordered = sorted(subjects)
    runs = np.split(np.array(ordered), np.flatnonzero(np.diff(ordered) > 1) + 1)
    return ",".join(f"{r[0]}-{r[-1]}" if r.size > 1 else f"{r[0]}" for r in runs)


def convert(data_dir: Path, out_dir: Path, subjects: set[int]) -> tuple[list[tuple[Path, tuple[float, float]]], list[str]]:
    """Write every trial of ``subjects`` as an IMU recording with its sidecar; return each file the
    station reads with its U-turn (s), and the trials its reader refuses, with the reader's words.

    Times: the Awinda system's packet counter is common to the three sensors, and the reference's
    events are counter values (inside a trial the swing phases fit the feet's rotation far better
    that way than as row numbers, where packets were lost). The lower-back file is cut to its walk
    with :data:`MARGIN_S` either side, and its lost packets are left as gaps on the time axis, for
    the station's reader to bridge or refuse by its own rules (at most 1 % of the samples, each gap
    short; :mod:`station.store.imu_recording`), as it would a station recording."""
    written, refused = [], []
    for meta_path in sorted(data_dir.glob("*.json")):
        meta = json.loads(meta_path.read_text())
        if meta["Subject"] not in subjects:
            continue
        raw = np.loadtxt(data_dir / f"{meta_path.stem}_lb.txt", skiprows=2)
        first, last = meta["TrialBoundaries"]
        start = first - MARGIN_S * RATE_HZ
        raw = raw[(raw[:, 0] >= start) & (raw[:, 0] <= last + MARGIN_S * RATE_HZ)]
        if raw.shape[0] < 2 or raw[0, 0] > first or raw[-1, 0] < last:
            refused.append(f"V{meta_path.stem}.csv: the lower-back file does not cover the walk")
            continue
        time_s = (raw[:, 0] - start) / RATE_HZ
        acc, gyro_deg_s = raw[:, 1:4], np.degrees(raw[:, 4:7])
        events = [(end, "Left") for _start, end in meta["LeftFootEvents"]]
        events += [(end, "Right") for _start, end in meta["RightFootEvents"]]
        events = sorted(e for e in events if first <= e[0] <= last)  # a few steps after the stop are not the walk
        contacts = [round(float(i - start) / RATE_HZ, 2) for i, _side in events]
        period = {
            "start_s": contacts[0], "end_s": contacts[-1], "initial_contacts_s": contacts,
            "initial_contacts_side": [side for _i, side in events],
            "cadence_steps_min": reference_cadence_steps_min(contacts),
        }
        sidecar = {
            "source": "CyrilVoisard/ipol_dataset_1 (AGPL-3.0; IPOL 2023, ipol.im/pub/art/2023/497), lower-back Xsens MTw",
            "rate_hz": RATE_HZ, "mounting_up": "+x", "mounting_toes": "-z", "walking_periods": [period],
        }
        if isinstance(meta.get("Height"), (int, float)) and math.isfinite(meta["Height"]):
            sidecar["height_m"] = meta["Height"] / 100.0
        path = out_dir / f"V{meta_path.stem}.csv"
        table = np.column_stack([time_s, acc, gyro_deg_s])
        np.savetxt(path, table, delimiter=",", fmt="%.6f",
                   header="time_s,ax_m_s2,ay_m_s2,az_m_s2,gx_deg_s,gy_deg_s,gz_deg_s", comments="")
        path.with_suffix(".json").write_text(json.dumps(sidecar))
        try:
            read_imu_recording(path)
        except TrialFileError as exc:
            refused.append(str(exc).replace(str(out_dir) + "/", ""))
            continue
        turn = tuple((np.asarray(meta["UTurnBoundaries"], dtype=float) - start) / RATE_HZ)
        written.append((path, turn))
    return written, refused


TILT_BANDS = ("under 10 deg", "10-20 deg", "20 deg and over")


def _tilt_deg(acc_m_s2: np.ndarray) -> float:
    """Angle between the sensor's x axis and the vertical, degrees: from the mean acceleration of the
    first second (the person stands still before the walk)."""
    g = acc_m_s2[: int(RATE_HZ)].mean(axis=0)
    return float(np.degrees(np.arccos(g[0] / np.linalg.norm(g))))


def breakdown(files: list[tuple[Path, tuple[float, float]]]) -> dict:
    """Where the contacts are found and missed: counts (found, extra, missed) and the mean absolute
    timing error (s) inside the U-turn and outside it (straight walking); the misses of each trial's last reference contact (the step with
    which the person stops); F1 per subject and per tilt of the sensor (:func:`_tilt_deg`). Contacts
    are matched per trial as the bench matches them (:func:`station.bench.gait.match_pairs`)."""
    parts = {"turn": [0, 0, 0], "straight": [0, 0, 0]}
    timing: dict[str, list[float]] = {"turn": [], "straight": []}
    last_missed = 0
    by_subject: dict[int, list[int]] = {}
    by_tilt: dict[str, list[int]] = {}
    for path, (a, b) in files:
        rec = read_imu_recording(path)
        wp = rec.metadata["walking_periods"][0]
        m = gait_metrics(_body(rec), rec.fs_hz, window_s=(wp["start_s"] - TOLERANCE_S, wp["end_s"] + TOLERANCE_S))
        detected = np.asarray(m["initial_contacts_s"])
        reference = np.asarray(wp["initial_contacts_s"])
        pairs = match_pairs(detected, reference)
        found_d = np.isin(np.arange(detected.size), [i for i, _ in pairs])
        found_r = np.isin(np.arange(reference.size), [j for _, j in pairs])
        last_missed += int(not found_r[-1])
        for part, in_d, in_r in (
            ("turn", (detected >= a) & (detected <= b), (reference >= a) & (reference <= b)),
            ("straight", (detected < a) | (detected > b), (reference < a) | (reference > b)),
        ):
            counts = (int((found_r & in_r).sum()), int((~found_d & in_d).sum()), int((~found_r & in_r).sum()))
            timing[part] += [abs(detected[i] - reference[j]) for i, j in pairs if in_r[j]]
            parts[part] = [x + y for x, y in zip(parts[part], counts)]
        counts = (len(pairs), int((~found_d).sum()), int((~found_r).sum()))
        subject = int(path.stem[1:].split("-")[0])
        tilt = _tilt_deg(rec.acc_m_s2)
        band = TILT_BANDS[0] if tilt < 10 else TILT_BANDS[1] if tilt < 20 else TILT_BANDS[2]
        for table, key in ((by_subject, subject), (by_tilt, band)):
            table[key] = [x + y for x, y in zip(table.get(key, [0, 0, 0]), counts)]

    def f1(tp, fp, fn):
        return round(2 * tp / (2 * tp + fp + fn), 4) if tp + fp + fn else None

    return {
        "parts": {part: {"found": tp, "extra": fp, "missed": fn, "f1": f1(tp, fp, fn),
                         "timing_mae_s": round(float(np.mean(timing[part])), 4) if timing[part] else None}
                  for part, (tp, fp, fn) in parts.items()},
        "last_contact_missed": last_missed,
        "f1_by_subject": {k: f1(*v) for k, v in sorted(by_subject.items())},
        "by_tilt": {k: {"contacts": by_tilt[k][0] + by_tilt[k][2], "f1": f1(*by_tilt[k])} for k in TILT_BANDS if k in by_tilt},
    }


def walked_distance(files: list[tuple[Path, tuple[float, float]]]) -> dict | None:
    """A check of the step lengths where the data set has no reference for them: the distance from
    each trial's first to its last heel strike, as the sum of the station's step lengths (its mean
    valid step length times the intervals between its contacts in the period, sensor height
    :data:`SENSOR_HEIGHT_RATIO` × body height), beside the same from the reference's own heel
    strikes. The protocol's walk is :data:`WALKED_M` (there and back), less the first step
    (taken before the first heel strike) and whatever the U-turn's path adds: an approximate
    bar, in m."""
    ours, theirs = [], []
    for path, _turn in files:
        rec = read_imu_recording(path)
        if "height_m" not in rec.metadata:
            continue
        height = SENSOR_HEIGHT_RATIO * rec.metadata["height_m"]
        wp = rec.metadata["walking_periods"][0]
        acc = _body(rec)
        window = (wp["start_s"] - TOLERANCE_S, wp["end_s"] + TOLERANCE_S)
        for out, kwargs in ((ours, {"window_s": window}), (theirs, {"initial_contacts_s": wp["initial_contacts_s"]})):
            m = gait_metrics(acc, rec.fs_hz, sensor_height_m=height, **kwargs)
            if m["step_length_m"] is not None:
                out.append(m["step_length_m"] * (len(m["initial_contacts_s"]) - 1))
    if not ours:
        return None

    def summary(values):
        return {"mean_m": round(float(np.mean(values)), 2), "sd_m": round(float(np.std(values)), 2),
                "min_m": round(float(np.min(values)), 2), "max_m": round(float(np.max(values)), 2)}

    return {"trials": len(ours), "detected": summary(ours), "reference_contacts": summary(theirs)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="the data set's GaitData directory")
    parser.add_argument("--subjects", default="1-19", type=_subjects,
                        help="subjects to score, e.g. 1-9 or 10-19 (default all)")
    parser.add_argument("--json", action="store_true", help="print the whole result as JSON")
    args = parser.parse_args(argv)
    if not (args.data / "1-1_lb.txt").exists():
        print(f"{args.data}: not the data set's GaitData directory (no 1-1_lb.txt)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        files, refused = convert(args.data, Path(tmp), args.subjects)
        if not files:
            print("no trial of those subjects could be read: " + "; ".join(refused or ["none found"]),
                  file=sys.stderr)
            return 2
        result = score_recordings([p for p, _turn in files])
        result["breakdown"] = breakdown(files)
        result["walked_distance"] = walked_distance(files)
        result["refused"] = refused
    if args.json:
        print(json.dumps(result, indent=1))
        return 0
    print(f"subjects {_spans(args.subjects)}: {result['recordings']} trials, {result['reference_contacts']} reference contacts; "
          f"{len(refused)} trials refused by the station's reader (lost packets)")
    print(f"contacts: precision {result['precision']:.3f}, recall {result['recall']:.3f}, F1 {result['f1']:.3f}; "
          f"timing error {1000 * result['timing_mae_s']:.1f} ms (bias {1000 * result['timing_bias_s']:+.1f} ms)")
    print(f"cadence error {result['cadence_mae_steps_min']:.2f} steps/min per trial (the reference's cadence: "
          f"every stride of its heel strikes, as bench gait defines it)")
    parts = result["breakdown"]
    for part, c in parts["parts"].items():
        print(f"  {part}: {c['found']} found, {c['extra']} extra, {c['missed']} missed, F1 {c['f1']:.3f}, "
              f"timing error {1000 * c['timing_mae_s']:.1f} ms")
    print(f"  the last heel strike (the step that stops the walk) missed in {parts['last_contact_missed']} "
          f"of {result['recordings']} trials")
    values = [v for v in parts["f1_by_subject"].values() if v is not None]
    print(f"  F1 per subject: {min(values):.3f} to {max(values):.3f} (median {float(np.median(values)):.3f})")
    for band, c in parts["by_tilt"].items():
        print(f"  sensor tilted {band}: {c['contacts']} contacts, F1 {c['f1']:.3f}")
    walked = result["walked_distance"]
    if walked:
        d, r = walked["detected"], walked["reference_contacts"]
        print(f"walked from the first to the last heel strike ({walked['trials']} trials with a body height; protocol "
              f"{WALKED_M:g} m less the first step): {d['mean_m']:.1f} m (SD {d['sd_m']:.1f}, {d['min_m']:.1f} to "
              f"{d['max_m']:.1f}); from the reference's heel strikes {r['mean_m']:.1f} m (SD {r['sd_m']:.1f})")
    if result["periods_without_steps"]:
        print("no steps found: " + ", ".join(result["periods_without_steps"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
