"""``balance-station bench gait``: gait analysis speed per minute of recording, and its accuracy on
the shared lower-back IMU recordings with reference events (``../shared/data/gait``).

Speed (reported, not asserted): for every recording of the data directory, the time to read it,
align it to the body frame and compute every gait key (median of repeated runs, one process), in
ms per minute of recording; and a 30-minute treadmill-like session (the recordings' walking
repeated) through :func:`station.analysis.gait.gait_by_minute`.

Accuracy (:func:`score_recordings`, also used by the tests): each recording is analysed whole, as
the station would (its own walking bouts, no reference information); then, per reference walking
period, the detected initial contacts inside the period (±0.2 s) are matched one-to-one to the
reference contacts within 0.2 s, nearest first. Pooled over periods: precision, recall, F1, mean
absolute timing error of the matched contacts; per period, the absolute error of cadence (mean of
per-stride cadence), walking speed and stride length (twice the mean step length) from
:func:`station.analysis.gait.gait_metrics` restricted to the period (``window_s``), against the
reference's values; mean absolute errors over periods (per walking bout, as Mobilise-D reports its
cadence, speed and stride-length errors: one error per reference walking bout, then averaged).
Periods where nothing was detected count as misses in F1 and are listed
(``periods_without_steps``); they have no cadence or speed error.

``from_reference_contacts``: the same cadence, speed and stride-length errors when the measures are
computed from the reference's own initial contacts (``gait_metrics(..., initial_contacts_s=...)``)
instead of detected ones: the part of the error that no better detection can remove (the
measures' definitions and the inverted-pendulum model against the reference system's).

``mobilise_d_style``: the like-for-like comparison with Mobilise-D's published figures. Those
figures (``MOBILISE_D_LAB``, read from mobgap's own validation results) are mean absolute errors
over the walking bouts the pipeline detected that overlap a reference walking bout by at least 80 %
both ways, each bout's values being means over its strides of per-second values (Hampel-filtered
steps; :mod:`station.analysis.gait_per_second`). The bench computes the station's bouts the same
way: ``matched_bouts`` (the station's own bouts, 80 % two-way overlap with a reference period),
``on_reference_periods`` (the contacts detected inside each reference period, the way Mobilise-D
validated its cadence and stride-length blocks) and ``from_reference_contacts`` (the reference's
own contacts). The published pooled figures (F1 0.89, cadence 3.3 steps/min, stride length 0.10 m,
speed 0.084 m/s) cover every lab test (straight walks, TUG, L-test, surfaces, hallway, daily
activities); the same pipeline's figures on the daily-activities test alone (``Test11``) are the
like-for-like bar for ``Test11``, and its contact figures use a 0.5 s tolerance where the station's
use 0.2 s.

Two diagnostics of the reference: ``cadence_reference_definition`` (cadence as the INDIP defines a
bout's, :func:`reference_cadence_steps_min`, from detected and from reference contacts; the station's
``cadence_steps_min`` has the same definition since steps are taken back at the step period, so the
figures now equal the cadence errors above, an independent check of it) and
``unmatched_in_reference_gaps`` (:func:`unmatched_in_reference_gaps`: unmatched detections where the
reference lists no contact for more than 1.5 median steps). Beside the official contact scores, never
in their place, ``without_untimed_steps`` (:func:`score_without_untimed_steps`): the steps the
reference's own sides prove it left untimed (consecutive contacts on one side), the unmatched
detections inside them (at most one per step), and precision, recall and F1 with those detections
counted neither as false positives nor as found.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

TOLERANCE_S = 0.2
BOUT_OVERLAP = 0.8
"""Fraction of both the station's bout and the reference period that their overlap must cover for a
match (Mobilise-D's matched-bout evaluation, mobgap ``categorize_intervals``)."""

MOBILISE_D_LAB = {
    "source": (
        "mobilise-d/mobgap_validation (commit 0a0b2a2, results v1.2.0): "
        "results/full_pipeline/laboratory/Official_MobiliseD_Pipeline/raw_matched_errors.csv (bouts matched to "
        "the reference at 80 % overlap; mean absolute errors over matched bouts) and "
        "results/icd/laboratory/IcdIonescu/single_results.csv (initial contacts within 0.5 s on the reference "
        "bouts, pooled); recomputed per test from the per-bout and per-trial rows"
    ),
    "all": {"f1": 0.888, "timing_mae_s": 0.060, "cadence_mae_steps_min": 3.31, "stride_length_mae_m": 0.101,
            "walking_speed_mae_m_s": 0.084, "matched_bouts": 668},
    "Test5": {"f1": 0.856, "timing_mae_s": 0.057, "cadence_mae_steps_min": 1.65, "stride_length_mae_m": 0.103,
              "walking_speed_mae_m_s": 0.083, "matched_bouts": 76},
    "Test11": {"f1": 0.800, "timing_mae_s": 0.081, "cadence_mae_steps_min": 5.78, "stride_length_mae_m": 0.138,
               "walking_speed_mae_m_s": 0.108, "matched_bouts": 102},
}
"""Mobilise-D's published lab figures (pipeline for healthy and mildly impaired gait, mobgap):
pooled over every lab test (``all``: the figures the issue quotes) and per test."""
DEFAULT_DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "gait"
DEFAULT_MOUNTING = ("+x", "+z")  # the data set's sensor: x up, z toward the toes


def _body(rec):
    from station.analysis.imu_frame import align_to_body

    up, toes = rec.mounting()
    acc, _gyro = align_to_body(
        rec.acc_m_s2, rec.gyro_deg_s, up_axis=up or DEFAULT_MOUNTING[0], toes_axis=toes or DEFAULT_MOUNTING[1],
        fs_hz=rec.fs_hz,
    )
    return acc


def match_pairs(detected, reference, tolerance_s: float = TOLERANCE_S) -> list[tuple[int, int]]:
    """One-to-one matching of detected to reference contacts (s), nearest pairs first, each pair
    within ``tolerance_s``: the matched (detected index, reference index) pairs.

    >>> match_pairs([1.0, 1.05, 2.5], [1.04, 2.0])
    [(1, 0)]
    """
    detected = np.asarray(detected, dtype=float)
    reference = np.asarray(reference, dtype=float)
    pairs = sorted(
        (abs(d - r), i, j) for i, d in enumerate(detected) for j, r in enumerate(reference) if abs(d - r) <= tolerance_s
    )
    used_d, used_r, matched = set(), set(), []
    for _dist, i, j in pairs:
        if i in used_d or j in used_r:
            continue
        used_d.add(i)
        used_r.add(j)
        matched.append((i, j))
    return matched


def match_contacts(detected, reference, tolerance_s: float = TOLERANCE_S) -> tuple[list[float], int, int]:
    """One-to-one matching, nearest pairs first (:func:`match_pairs`): (errors detected − reference
    of the matches in s, false positives, false negatives)."""
    detected = np.asarray(detected, dtype=float)
    reference = np.asarray(reference, dtype=float)
    matched = match_pairs(detected, reference, tolerance_s)
    errors = [float(detected[i] - reference[j]) for i, j in matched]
    return errors, len(detected) - len(matched), len(reference) - len(matched)


class _BoutErrors:
    """Absolute errors of Mobilise-D-style bout measures against reference periods."""

    def __init__(self):
        self.cadence, self.stride, self.speed = [], [], []

    def add(self, measures: dict, wp: dict) -> None:
        if measures["cadence_steps_min"] is not None:
            self.cadence.append(abs(measures["cadence_steps_min"] - wp["cadence_steps_min"]))
        if measures["stride_length_m"] is not None:
            self.stride.append(abs(measures["stride_length_m"] - wp["stride_length_m"]))
            self.speed.append(abs(measures["walking_speed_m_s"] - wp["walking_speed_m_s"]))

    def summary(self) -> dict:
        def mean(values):
            return round(float(np.mean(values)), 4) if values else None

        return {"bouts": len(self.cadence), "cadence_mae_steps_min": mean(self.cadence),
                "stride_length_mae_m": mean(self.stride), "walking_speed_mae_m_s": mean(self.speed)}


def _per_second_measures(acc_v, fs: float, contacts_s, height) -> dict | None:
    """Mobilise-D-style measures of one bout from its contacts (s from the first sample)."""
    from station.analysis.gait import pendulum_step_lengths
    from station.analysis.gait_per_second import bout_measures_per_second

    contacts = np.unique(np.asarray(contacts_s, dtype=float))
    if contacts.size < 3:
        return None
    lengths = pendulum_step_lengths(acc_v, fs, contacts, height) if height is not None else None
    return bout_measures_per_second(contacts, lengths)


def reference_cadence_steps_min(contacts_s) -> float | None:
    """Cadence as the reference system defines a bout's (INDIP, Salis et al. 2023): the mean over
    every stride (contact i to contact i + 2) of 120 / stride time, strides of 0.2-3 s only
    (Mobilise-D's stride selection); steps/min, ``None`` without a stride."""
    t = np.asarray(contacts_s, dtype=float)
    strides = t[2:] - t[:-2]
    strides = strides[(strides >= 0.2) & (strides <= 3.0)]
    return float(np.mean(120.0 / strides)) if strides.size else None


def unmatched_in_reference_gaps(detected, reference, tolerance_s: float = TOLERANCE_S) -> int:
    """Detected contacts farther than ``tolerance_s`` from every reference contact that lie inside a
    gap of the reference: an interval longer than 1.5 × the period's median reference step. The
    reference system leaves steps it cannot time out of its list (INDIP marks them NaN and the data
    set, like mobgap's loader, drops them), so such a detection is likely a real, untimed step."""
    ref = np.asarray(sorted(reference), dtype=float)
    if ref.size < 3:
        return 0
    limit = 1.5 * float(np.median(np.diff(ref)))
    gaps = [(a, b) for a, b in zip(ref[:-1], ref[1:]) if b - a > limit]
    return sum(
        1 for d in detected
        if np.min(np.abs(ref - d)) > tolerance_s and any(a + tolerance_s < d < b - tolerance_s for a, b in gaps)
    )


SIDES = ("Left", "Right")
"""The sides a reference contact may carry (the data set's ``initial_contacts_side``)."""


def untimed_step_intervals(contacts_s, sides) -> list[tuple[float, float]]:
    """Intervals (s) between consecutive reference contacts on the same side: each holds at least
    one step the reference did not time.

    The data set gives every reference contact its foot (``initial_contacts_side``, Left/Right, the
    INDIP's ``InitialContact_LeftRight``; ../shared/data/gait/README.md). Feet alternate, so two
    consecutive contacts of one foot enclose an odd number of the other foot's contacts, at least
    one, that the list lacks: the INDIP marks the contacts it cannot time NaN and the data set, like
    mobgap's loader, drops them. Only one step per interval is proven; more would be an estimate
    from the step time. The proof holds as far as the feet alternate, as in walking: a foot that
    steps twice while the other pivots in place (possible in a turn) leaves no step missing. A contact listed twice with its side is one contact; a contact without a
    side (missing, ``None``, ``"NaN"``, two different sides at one time) proves nothing about the
    intervals on either side of it, nor do sides that are not one per contact.

    >>> untimed_step_intervals([0.0, 0.5, 1.0, 2.0, 2.5], ["Left", "Right", "Left", "Left", "Right"])
    [(1.0, 2.0)]
    >>> untimed_step_intervals([0.0, 0.5, 1.0], None)
    []
    """
    if sides is None or len(sides) != len(contacts_s):
        return []
    side_at: dict[float, str | None] = {}
    for t, side in zip(contacts_s, sides):
        t = float(t)
        if not math.isfinite(t):
            continue
        side = side if side in SIDES else None
        side_at[t] = side if side_at.get(t, side) == side else None
    times = sorted(side_at)
    return [(a, b) for a, b in zip(times[:-1], times[1:]) if side_at[a] is not None and side_at[a] == side_at[b]]


def _rates(tp: int, fp: int, fn: int) -> dict:
    """Precision, recall and F1 of contact counts (``None`` where undefined), rounded to 4 digits."""
    return {
        "precision": round(tp / (tp + fp), 4) if tp + fp else None,
        "recall": round(tp / (tp + fn), 4) if tp + fn else None,
        "f1": round(2 * tp / (2 * tp + fp + fn), 4) if tp + fp + fn else None,
    }


def score_without_untimed_steps(detected, contacts_s, sides, tolerance_s: float = TOLERANCE_S) -> dict:
    """Contact scores of one reference walking period with the reference's proven untimed steps
    left out: counts ``tp``, ``fp`` (what is left of them), ``fn``, ``untimed_steps`` (intervals of
    :func:`untimed_step_intervals`, one proven step each), ``left_out`` (unmatched detections not
    counted) and ``precision``, ``recall``, ``f1``.

    Rule: contacts are matched as :func:`match_contacts` does; an unmatched detection inside an
    interval between consecutive same-side reference contacts, farther than ``tolerance_s`` (s) from
    both, may be the step the reference did not time, so it counts neither as a false positive nor
    as found, at most one per interval (the one step proven missing; further detections there stay
    false positives). A detection within ``tolerance_s`` of either contact is never left out: it is
    matched to it or is an extra detection of that contact. Missed reference contacts count as
    before. The official scores (:func:`score_recordings`' ``f1``) count every unmatched detection.

    >>> s = score_without_untimed_steps([0.0, 0.5, 1.0, 1.5, 2.0, 2.5], [0.0, 0.5, 1.0, 2.0, 2.5],
    ...                                 ["Left", "Right", "Left", "Left", "Right"])
    >>> s["tp"], s["fp"], s["fn"], s["untimed_steps"], s["left_out"], s["f1"]
    (5, 0, 0, 1, 1, 1.0)
    """
    errors, n_fp, n_fn = match_contacts(detected, sorted(set(contacts_s)), tolerance_s)
    intervals = untimed_step_intervals(contacts_s, sides)
    left_out = sum(
        1 for a, b in intervals if any(a + tolerance_s < float(d) < b - tolerance_s for d in detected)
    )
    tp, fp = len(errors), n_fp - left_out
    return {"tp": tp, "fp": fp, "fn": n_fn, "untimed_steps": len(intervals), "left_out": left_out,
            **_rates(tp, fp, n_fn)}


def _matching_bout(bouts: list[tuple[float, float]], start_s: float, end_s: float) -> int | None:
    """Index of the bout that overlaps [start_s, end_s] by at least BOUT_OVERLAP of both lengths."""
    for k, (a, b) in enumerate(bouts):
        overlap = min(b, end_s) - max(a, start_s)
        if overlap > 0 and overlap >= BOUT_OVERLAP * (end_s - start_s) and overlap >= BOUT_OVERLAP * (b - a):
            return k
    return None


def score_recordings(paths: list[Path]) -> dict:
    """Accuracy of the station's gait analysis against the reference walking periods of ``paths``
    (IMU CSVs with the data set's JSON sidecars). See the module documentation for the method."""
    from station.analysis.gait import detect_initial_contacts, gait_metrics, walking_bouts
    from station.store.imu_recording import read_imu_recording

    tp = fp = fn = 0
    timing: list[float] = []
    cadence, speed, stride = [], [], []
    oracle_cadence, oracle_speed, oracle_stride = [], [], []
    periods = 0
    empty = []
    in_gaps = 0
    untimed = {"tp": 0, "fp": 0, "fn": 0, "untimed_steps": 0, "left_out": 0}
    per_file = []
    style = {"matched_bouts": _BoutErrors(), "on_reference_periods": _BoutErrors(),
             "from_reference_contacts": _BoutErrors()}
    reference_definition = {"detected": [], "reference": []}
    for path in paths:
        rec = read_imu_recording(path)
        acc = _body(rec)
        height = rec.sensor_height_m
        t0 = float(rec.time_s[0])
        f_tp = f_fp = f_fn = 0
        bouts = walking_bouts(acc, rec.fs_hz)
        contacts = detect_initial_contacts(acc[:, 0], rec.fs_hz, acc_ml_m_s2=acc[:, 2])
        for wp in rec.metadata.get("walking_periods", []):
            periods += 1
            k = _matching_bout(bouts, wp["start_s"] - t0, wp["end_s"] - t0)
            if k is not None:
                a, b = bouts[k]
                mine = _per_second_measures(acc[:, 0], rec.fs_hz, contacts[(contacts >= a) & (contacts <= b)], height)
                if mine is not None:
                    style["matched_bouts"].add(mine, wp)
            window = (wp["start_s"] - t0 - TOLERANCE_S, wp["end_s"] - t0 + TOLERANCE_S)
            m = gait_metrics(acc, rec.fs_hz, sensor_height_m=height, window_s=window)
            detected = [t + t0 for t in m["initial_contacts_s"]]
            reference = sorted(set(wp["initial_contacts_s"]))
            errors, n_fp, n_fn = match_contacts(detected, reference)
            in_gaps += unmatched_in_reference_gaps(detected, reference)
            scores = score_without_untimed_steps(detected, wp["initial_contacts_s"], wp.get("initial_contacts_side"))
            for key in untimed:
                untimed[key] += scores[key]
            for kind, times in (("detected", m["initial_contacts_s"]), ("reference", reference)):
                cadence_ref_def = reference_cadence_steps_min(times)
                if cadence_ref_def is not None:
                    reference_definition[kind].append(abs(cadence_ref_def - wp["cadence_steps_min"]))
            for kind, times in (("on_reference_periods", m["initial_contacts_s"]),
                                ("from_reference_contacts", [t - t0 for t in reference])):
                measures = _per_second_measures(acc[:, 0], rec.fs_hz, times, height)
                if measures is not None:
                    style[kind].add(measures, wp)
            f_tp += len(errors)
            f_fp += n_fp
            f_fn += n_fn
            timing.extend(errors)
            if m["cadence_steps_min"] is None:
                empty.append(f"{Path(path).name} {wp['start_s']:.2f}-{wp['end_s']:.2f} s")
                continue
            cadence.append(abs(m["cadence_steps_min"] - wp["cadence_steps_min"]))
            if m["walking_speed_m_s"] is not None:
                speed.append(abs(m["walking_speed_m_s"] - wp["walking_speed_m_s"]))
                stride.append(abs(2.0 * m["step_length_m"] - wp["stride_length_m"]))
            # The same measures from the reference's own contacts: what the measures' definitions and
            # the pendulum model cost, without any detection error.
            o = gait_metrics(acc, rec.fs_hz, sensor_height_m=height, initial_contacts_s=[t - t0 for t in reference])
            if o["cadence_steps_min"] is not None:
                oracle_cadence.append(abs(o["cadence_steps_min"] - wp["cadence_steps_min"]))
            if o["walking_speed_m_s"] is not None:
                oracle_speed.append(abs(o["walking_speed_m_s"] - wp["walking_speed_m_s"]))
                oracle_stride.append(abs(2.0 * o["step_length_m"] - wp["stride_length_m"]))
        tp, fp, fn = tp + f_tp, fp + f_fp, fn + f_fn
        per_file.append({"file": Path(path).name, "tp": f_tp, "fp": f_fp, "fn": f_fn})

    def mean(values):
        return round(float(np.mean(values)), 4) if values else None

    return {
        "recordings": len(paths),
        "walking_periods": periods,
        "reference_contacts": tp + fn,
        "detected_in_periods": tp + fp,
        **_rates(tp, fp, fn),
        "timing_mae_s": mean([abs(e) for e in timing]),
        "timing_bias_s": mean(timing),
        "cadence_mae_steps_min": mean(cadence),
        "walking_speed_mae_m_s": mean(speed),
        "stride_length_mae_m": mean(stride),
        "periods_without_steps": empty,
        "false_positives": fp,
        "unmatched_in_reference_gaps": in_gaps,
        "without_untimed_steps": {
            "proven_untimed_steps": untimed["untimed_steps"],
            "unmatched_inside": untimed["left_out"],
            **_rates(untimed["tp"], untimed["fp"], untimed["fn"]),
        },
        "from_reference_contacts": {
            "cadence_mae_steps_min": mean(oracle_cadence),
            "walking_speed_mae_m_s": mean(oracle_speed),
            "stride_length_mae_m": mean(oracle_stride),
        },
        "per_file": per_file,
        "mobilise_d_style": {kind: errors.summary() for kind, errors in style.items()},
        "cadence_reference_definition": {
            "from_detected_contacts_mae_steps_min": mean(reference_definition["detected"]),
            "from_reference_contacts_mae_steps_min": mean(reference_definition["reference"]),
        },
    }


def _time_files(paths: list[Path]) -> list[dict]:
    from station.analysis.gait import gait_metrics
    from station.store.imu_recording import read_imu_recording

    out = []
    for path in paths:
        def once():
            rec = read_imu_recording(path)
            gait_metrics(_body(rec), rec.fs_hz, sensor_height_m=rec.sensor_height_m)
            return rec

        rec = once()  # warm-up
        times = []
        start = time.perf_counter()
        while len(times) < 3 or (time.perf_counter() - start < 1.0 and len(times) < 50):
            t0 = time.perf_counter()
            once()
            times.append((time.perf_counter() - t0) * 1e3)
        minutes = rec.samples / rec.fs_hz / 60.0
        out.append({
            "file": Path(path).name,
            "minutes": round(minutes, 3),
            "median_ms": round(statistics.median(times), 2),
            "ms_per_minute": round(statistics.median(times) / minutes, 2),
            "repeats": len(times),
        })
    return out


def _time_session(paths: list[Path], minutes: float = 30.0) -> dict:
    from station.analysis.gait import gait_by_minute
    from station.store.imu_recording import read_imu_recording

    pieces = [_body(read_imu_recording(p)) for p in paths]
    fs = read_imu_recording(paths[0]).fs_hz
    need = int(minutes * 60 * fs)
    tiled = np.concatenate(pieces * (need // sum(len(p) for p in pieces) + 1))[:need]
    gait_by_minute(tiled[: int(120 * fs)], fs, sensor_height_m=0.95)  # warm-up
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        rows = gait_by_minute(tiled, fs, sensor_height_m=0.95)
        times.append(time.perf_counter() - t0)
    median = statistics.median(times)
    return {
        "minutes": minutes,
        "rate_hz": fs,
        "rows": len(rows),
        "median_s": round(median, 3),
        "ms_per_minute": round(median * 1e3 / minutes, 2),
        "content": "the data set's recordings repeated end to end (walking, turns, standing, sitting)",
    }


def run(args: argparse.Namespace) -> int:
    from station import __version__
    from station.bench.analysis import _cpu_model
    from station.cli import UserError

    data = Path(args.data) if args.data else DEFAULT_DATA
    paths = sorted(p for p in data.glob("*.csv")) if data.is_dir() else []
    if not paths:
        raise UserError(f"no IMU recordings (*.csv) in {data}; give --data DIR (the shared gait data set)")
    files = _time_files(paths)
    session = _time_session(paths)
    report = {
        "benchmark": "gait",
        "version": __version__,
        "cpu": _cpu_model(),
        "python": platform.python_version(),
        "per_file": files,
        "ms_per_minute_median": round(statistics.median(f["ms_per_minute"] for f in files), 2),
        "session_30_min": session,
        "mobilise_d_published": MOBILISE_D_LAB,
        "accuracy": {
            group: score_recordings([p for p in paths if group in p.name])
            for group in ("Test5", "Test11")
            if any(group in p.name for p in paths)
        },
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"gait benchmark, balance-station {__version__} on {report['cpu']}")
        for f in files:
            print(f"  {f['file']:<24} {f['minutes']:6.2f} min: {f['median_ms']:8.2f} ms = {f['ms_per_minute']:7.2f} ms per minute")
        print(f"  median {report['ms_per_minute_median']} ms per minute of recording (read, align, all gait keys)")
        print(f"  30-min session by minute: {session['median_s']} s = {session['ms_per_minute']} ms per minute")
        for group, acc in report["accuracy"].items():
            def show(v, scale=1.0, digits=3):
                return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v * scale:.{digits}f}"
            print(
                f"  {group}: {acc['walking_periods']} periods, {acc['reference_contacts']} reference contacts: "
                f"F1 {show(acc['f1'])} (P {show(acc['precision'])}, R {show(acc['recall'])}), timing "
                f"{show(acc['timing_mae_s'], 1000, 0)} ms, cadence {show(acc['cadence_mae_steps_min'], 1, 2)} "
                f"steps/min, speed {show(acc['walking_speed_mae_m_s'])} m/s, stride length "
                f"{show(acc['stride_length_mae_m'])} m (mean absolute errors)"
            )
            print(
                f"    {acc['false_positives']} detections unmatched, {acc['unmatched_in_reference_gaps']} of them inside "
                f"gaps of the reference "
                f"(longer than 1.5 median steps: likely steps the reference could not time)"
            )
            u = acc["without_untimed_steps"]
            print(
                f"    steps the reference's own sides prove it did not time (one per pair of consecutive contacts on "
                f"one side): {u['proven_untimed_steps']}, unmatched detections there (at most one per step): "
                f"{u['unmatched_inside']}; with the reference's proven untimed steps left out: F1 {show(u['f1'])} "
                f"(P {show(u['precision'])}, R {show(u['recall'])}; the official F1 above counts them)"
            )
            ref = acc["from_reference_contacts"]
            print(
                f"    the same measures from the reference's own contacts: cadence "
                f"{show(ref['cadence_mae_steps_min'], 1, 2)} steps/min, speed {show(ref['walking_speed_mae_m_s'])} m/s, "
                f"stride length {show(ref['stride_length_mae_m'])} m"
            )
            rd = acc["cadence_reference_definition"]
            print(
                f"    cadence as the reference defines it (every stride of 0.2-3 s): "
                f"{show(rd['from_detected_contacts_mae_steps_min'], 1, 2)} steps/min from detected contacts, "
                f"{show(rd['from_reference_contacts_mae_steps_min'], 1, 2)} from the reference's own"
            )
            print("    like for like with Mobilise-D (bout values from per-second series, gait_per_second):")
            for kind, label in (("matched_bouts", "the station's own bouts matched at 80 % overlap"),
                                ("on_reference_periods", "contacts detected inside each reference period"),
                                ("from_reference_contacts", "the reference's own contacts")):
                e = acc["mobilise_d_style"][kind]
                extra = f" of {acc['walking_periods']}" if kind == "matched_bouts" else ""
                print(
                    f"      {label}: {e['bouts']}{extra} bouts, cadence {show(e['cadence_mae_steps_min'], 1, 2)} "
                    f"steps/min, speed {show(e['walking_speed_mae_m_s'])} m/s, stride length "
                    f"{show(e['stride_length_mae_m'])} m"
                )
            pub = MOBILISE_D_LAB.get(group)
            if pub:
                print(
                    f"      Mobilise-D's pipeline on this test ({pub['matched_bouts']} matched lab bouts; contacts "
                    f"within 0.5 s): F1 {pub['f1']:.3f}, timing {pub['timing_mae_s'] * 1000:.0f} ms, cadence "
                    f"{pub['cadence_mae_steps_min']:.2f} steps/min, speed {pub['walking_speed_mae_m_s']:.3f} m/s, "
                    f"stride length {pub['stride_length_mae_m']:.3f} m"
                )
        pub = MOBILISE_D_LAB["all"]
        print(
            f"  Mobilise-D's pooled lab figures (every lab test, {pub['matched_bouts']} matched bouts): F1 "
            f"{pub['f1']:.3f}, cadence {pub['cadence_mae_steps_min']:.2f} steps/min, speed "
            f"{pub['walking_speed_mae_m_s']:.3f} m/s, stride length {pub['stride_length_mae_m']:.3f} m"
        )
        sys.stdout.flush()
    return 0
