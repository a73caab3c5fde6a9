"""The trunk's gyroscope in turns, on the shared daily-activity recordings: the measurements behind
README's "The gyroscope in turns (tried, not adopted)".

Issue 10 asked whether the lower back's angular rate, which the shared recordings carry, keeps the
steps of turns visible where the vertical acceleration flattens. The station's contacts use the
accelerations only. This script measures, on ``../shared/data/gait`` (every reference contact of the
reference walking periods; turns found as Mobilise-D finds them, :func:`turns`):

1. **Swing**: the step's peak of the vertical acceleration's gait band, and the swing of the
   medio-lateral acceleration and of the three angular rates, around each reference contact, in
   turns and on straight walking (median and 10th percentile).
2. **Timing**: the offset from each reference contact to the nearest maximum of the vertical gait
   band (where the station's lobe peaks are), extremum of the yaw, roll and pitch rates
   (:data:`GYRO_BAND_HZ`) and zero crossing of the medio-lateral sway (the side band): mean, SD,
   share within 0.1 s, beside the share that as many features at random times would reach (the
   denser a signal's features, the nearer one lies by chance).
3. **Side**: the sign of each signal averaged over one median step after the reference contact
   (the station's side rule, :mod:`station.analysis.gait_sides`), agreement with the reference's
   side, per person, in turns and straight (the sign convention fixed over every recording).
4. **The detector with the gyroscope**: ``balance-station bench gait``'s scores (``score_recordings``)
   on ``Test5`` and ``Test11``, pooled and per person, for variants of the side signal (the roll
   angle, the yaw angle, the roll angle inside turns; the medio-lateral acceleration with the turn's
   centripetal part, proportional to the yaw rate, regressed out), of the step threshold inside
   turns, and roll-rate extrema as candidates for the steps the side rules take back in turns; then
   a leave-one-person-out choice among them (chosen on the other two people's ``Test11`` by F1,
   ties by cadence error) with the held-out figures.
5. **The reference's untimed steps**: consecutive reference contacts on the same side hold an odd
   number of steps the reference did not time (INDIP leaves untimed contacts out); how many, and how
   many unmatched detections lie in those intervals (at most one per untimed step).

The variants replace private functions of :mod:`station.analysis.gait_contacts` (side band, lobe
peaks, the side rules' candidates, the impact refinement) for the time of their scoring only (the
analysis has no gyroscope input). Prints numbers; asserts nothing; about two minutes.

    python3 benchmarks/gait_gyro_turns.py [--data DIR]

Reference: El-Gohary M, Pearson S, McNames J, Mancini M, Horak F, Mellone S, Chiari L (2014)
Continuous monitoring of turning in patients with movement disability. Sensors 14:356-369 (as mobgap ``TdElGohary``: yaw rate low-passed
at 0.5 Hz, peaks of at least 15 deg/s, bounded where it falls below 5 deg/s, same-direction turns
closer than 0.05 s merged, 0.5-10 s and at least 45 deg).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

import numpy as np
from scipy import signal

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from station.analysis import gait_contacts  # noqa: E402
from station.analysis.gait_band import FILTER_ORDER, MIN_STEP_PEAK_M_S2, _band  # noqa: E402
from station.analysis.gait_sides import SIDE_BAND_HZ  # noqa: E402
from station.analysis.imu_frame import align_to_body  # noqa: E402
from station.bench import gait as bench  # noqa: E402
from station.store.imu_recording import read_imu_recording  # noqa: E402

PEOPLE = ("HA001", "HA002", "MS001")
TURN_LOWPASS_HZ = 0.5
TURN_PEAK_DEG_S = 15.0
TURN_EDGE_DEG_S = 5.0
TURN_MERGE_S = 0.05
TURN_DURATION_S = (0.5, 10.0)
TURN_MIN_DEG = 45.0
GYRO_BAND_HZ = (0.5, 3.0)
"""Band of the angular rates for their step extrema (the step fundamental and its first harmonic)."""
CENTRIPETAL_WINDOW_S = 4.0
THRESHOLDS_IN_TURNS = (0.3, 0.2, 0.1, 0.6)
ROLL_FLOORS_DEG_S = (0.0, 5.0)

_CURRENT: dict = {"gyro": None}


def _filter(x: np.ndarray, fs: float, band, btype: str) -> np.ndarray:
    sos = signal.butter(FILTER_ORDER, band, btype=btype, fs=fs, output="sos")
    return signal.sosfiltfilt(sos, x - x.mean())


def turns(yaw_deg_s: np.ndarray, fs: float) -> list[tuple[int, int]]:
    """Turns (El-Gohary et al. 2014 as mobgap ``TdElGohary``): (start, end) sample indices."""
    smooth = np.abs(signal.sosfiltfilt(signal.butter(4, TURN_LOWPASS_HZ, "lowpass", fs=fs, output="sos"), yaw_deg_s))
    angle = np.concatenate(([0.0], np.cumsum(yaw_deg_s) / fs))
    peaks, _ = signal.find_peaks(smooth, height=TURN_PEAK_DEG_S)
    below = smooth < TURN_EDGE_DEG_S
    found: list[list[int]] = []
    for p in peaks:
        lo = p
        while lo > 0 and not below[lo]:
            lo -= 1
        hi = p
        while hi < smooth.size - 1 and not below[hi]:
            hi += 1
        sign = np.sign(angle[hi] - angle[lo])
        if found and found[-1][2] == sign and lo - found[-1][1] <= TURN_MERGE_S * fs:
            found[-1][1] = max(found[-1][1], hi)
        elif not found or lo >= found[-1][1]:
            found.append([lo, hi, sign])
    return [(lo, hi) for lo, hi, _ in found
            if TURN_DURATION_S[0] <= (hi - lo) / fs <= TURN_DURATION_S[1] and abs(angle[hi] - angle[lo]) >= TURN_MIN_DEG]


def _aligned(rec) -> tuple[np.ndarray, np.ndarray]:
    """Body-frame acceleration (m/s²) and angular rate (deg/s) of a recording, as the bench aligns it."""
    up, toes = rec.mounting()
    return align_to_body(rec.acc_m_s2, rec.gyro_deg_s, up_axis=up or bench.DEFAULT_MOUNTING[0],
                         toes_axis=toes or bench.DEFAULT_MOUNTING[1], fs_hz=rec.fs_hz)


def _recordings(data: Path):
    for path in sorted(data.glob("*.csv")):
        rec = read_imu_recording(path)
        acc, gyro = _aligned(rec)
        yield path, rec, acc, gyro


def _signals(acc: np.ndarray, gyro: np.ndarray, fs: float) -> dict[str, np.ndarray]:
    return {
        "vertical gait band": _band(acc[:, 0], fs),
        "medio-lateral sway": _filter(acc[:, 2], fs, SIDE_BAND_HZ, "bandpass"),
        "yaw rate": _filter(gyro[:, 0], fs, GYRO_BAND_HZ, "bandpass"),
        "roll rate": _filter(gyro[:, 1], fs, GYRO_BAND_HZ, "bandpass"),
        "pitch rate": _filter(gyro[:, 2], fs, GYRO_BAND_HZ, "bandpass"),
        "roll angle": _filter(np.cumsum(gyro[:, 1]) / fs, fs, SIDE_BAND_HZ, "bandpass"),
        "yaw angle": _filter(np.cumsum(gyro[:, 0]) / fs, fs, SIDE_BAND_HZ, "bandpass"),
    }


def _features(x: np.ndarray, name: str) -> np.ndarray:
    if name == "vertical gait band":
        return signal.find_peaks(x)[0]
    if name == "medio-lateral sway":
        return np.flatnonzero(np.sign(x[:-1]) != np.sign(x[1:]))
    return np.sort(np.concatenate((signal.find_peaks(x)[0], signal.find_peaks(-x)[0])))


def reference_contacts(data: Path):
    """Per recording: (name, person, test, fs, acc, gyro, turns, [(period, contacts_samples, sides)])."""
    for path, rec, acc, gyro in _recordings(data):
        fs = rec.fs_hz
        t0 = float(rec.time_s[0])
        periods = []
        for wp in rec.metadata.get("walking_periods", []):
            pairs = sorted(zip(wp["initial_contacts_s"], wp["initial_contacts_side"]))
            periods.append((wp, np.array([round((t - t0) * fs) for t, _ in pairs]), [s for _, s in pairs]))
        yield path.name, path.name[:5], path.name.split("-")[1], fs, acc, gyro, turns(gyro[:, 0], fs), periods


def signal_table(data: Path) -> None:
    swing: dict = {}
    offset: dict = {}
    side: dict = {}
    density: dict = {}
    for _name, person, test, fs, acc, gyro, tr, periods in reference_contacts(data):
        sig = _signals(acc, gyro, fs)
        feats = {k: _features(v, k) for k, v in sig.items() if "angle" not in k}
        sums = {k: np.concatenate(([0.0], np.cumsum(v))) for k, v in sig.items()}
        for _wp, ics, sides in periods:
            step = int(np.median(np.diff(ics))) if ics.size > 1 else int(fs // 2)
            for k, f in feats.items():
                n, t = density.get((k, test), (0, 0.0))
                density[(k, test)] = (n + int(np.count_nonzero((f >= ics[0]) & (f <= ics[-1]))), t + (ics[-1] - ics[0]) / fs)
            for i, s in zip(ics, sides):
                where = "turn" if any(a <= i <= b for a, b in tr) else "straight"
                w = slice(max(i - int(0.2 * fs), 0), i + int(0.4 * fs))
                for k in feats:
                    x = sig[k]
                    v = x[w].max() if k == "vertical gait band" else np.abs(x[w]).max()
                    swing.setdefault((k, test, where), []).append(v)
                    d = (feats[k] - i) / fs
                    d = d[np.abs(d) <= 0.3]
                    offset.setdefault((k, test, where), []).append(d[np.argmin(np.abs(d))] if d.size else np.nan)
                if test != "Test11":
                    continue
                for k in ("medio-lateral sway", "roll angle", "yaw angle", "roll rate", "yaw rate"):
                    stop = min(i + step, sums[k].size - 1)
                    mean = (sums[k][stop] - sums[k][i]) / max(stop - i, 1)
                    side.setdefault((k, person, where), []).append((np.sign(mean), 1 if s == "Right" else -1))
    print("1. swing around the reference contacts (vertical: the band's peak, m/s2; others |max|, m/s2 or deg/s)")
    for key in sorted(swing):
        a = np.array(swing[key])
        print(f"   {key[0]:20} {key[1]:6} {key[2]:8} n {a.size:3}  median {np.median(a):6.2f}  10th pct {np.percentile(a, 10):6.2f}")
    print("2. offset from each reference contact to the nearest feature within 0.3 s (s); features per second in the "
          "periods, and the share within 0.1 s that as many features at random times would reach")
    for key in sorted(offset):
        a = np.array(offset[key])
        f = np.isfinite(a)
        n, t = density[key[:2]]
        print(f"   {key[0]:20} {key[1]:6} {key[2]:8} found {f.mean():.2f}  mean {np.nanmean(a) * 1e3:5.0f} ms  SD "
              f"{np.nanstd(a) * 1e3:4.0f} ms  within 0.1 s {np.mean(np.abs(a[f]) <= 0.1) * f.mean():.2f} "
              f"({n / t:.1f}/s, at random {1 - np.exp(-0.2 * n / t):.2f})")
    print("3. side from the signal over the step after the contact, agreement with the reference (Test11)")
    for k in ("medio-lateral sway", "roll angle", "yaw angle", "roll rate", "yaw rate"):
        pooled = np.array([p for key, v in side.items() if key[0] == k for p in v])
        sign = 1 if np.mean(pooled[:, 0] == pooled[:, 1]) >= 0.5 else -1
        cells = []
        for person in PEOPLE:
            for where in ("straight", "turn"):
                a = np.array(side.get((k, person, where), []))
                cells.append(f"{person} {where} {np.mean(sign * a[:, 0] == a[:, 1]):.2f}" if a.size else f"{person} {where} -")
        print(f"   {k:20} " + ", ".join(cells))


def _gyro_now(n: int) -> np.ndarray | None:
    g = _CURRENT["gyro"]
    return g if g is not None and g.shape[0] == n else None


def _side_variant(kind: str):
    original = gait_contacts._side_band

    def side_band(acc_ml: np.ndarray, fs: float) -> np.ndarray:
        gyro = _gyro_now(acc_ml.shape[0])
        base = original(acc_ml, fs)
        if gyro is None:
            return base
        if kind == "roll angle":
            return _filter(np.cumsum(gyro[:, 1]) / fs, fs, SIDE_BAND_HZ, "bandpass")
        if kind == "yaw angle":
            return _filter(np.cumsum(gyro[:, 0]) / fs, fs, SIDE_BAND_HZ, "bandpass")
        if kind == "roll angle in turns":
            roll = _filter(np.cumsum(gyro[:, 1]) / fs, fs, SIDE_BAND_HZ, "bandpass")
            scale = np.median(np.abs(base)) / np.median(np.abs(roll))
            out = base.copy()
            for a, b in turns(gyro[:, 0], fs):
                out[a:b] = -scale * roll[a:b]  # the roll angle's sign is the opposite of the sway's
            return out
        # centripetal acceleration of a turn: speed x yaw rate (rad/s), speed unknown: regressed
        rate = np.deg2rad(signal.sosfiltfilt(signal.butter(4, TURN_LOWPASS_HZ, "lowpass", fs=fs, output="sos"),
                                             gyro[:, 0]))
        ml = acc_ml - acc_ml.mean()
        if kind == "centripetal removed":
            beta = np.dot(rate - rate.mean(), ml) / np.dot(rate - rate.mean(), rate - rate.mean())
        else:  # "centripetal removed, 4-s windows": the speed changes along the recording
            k = np.ones(int(CENTRIPETAL_WINDOW_S * fs))
            beta = signal.fftconvolve(rate * ml, k, "same") / np.maximum(signal.fftconvolve(rate * rate, k, "same"), 1e-9)
            beta = np.clip(beta, -2.0, 0.0)  # a walking speed of 0-2 m/s (yaw up, ml toward the right)
        return original(acc_ml - beta * rate, fs)

    return {"_side_band": side_band}


def _threshold_variant(threshold: float):
    original = gait_contacts._lobe_peaks

    def lobe_peaks(x: np.ndarray):
        idx, height = original(x)
        gyro = _gyro_now(x.shape[0])
        if gyro is None or not idx.size:
            return idx, height
        inside = np.zeros(x.shape[0], dtype=bool)
        for a, b in turns(gyro[:, 0], _CURRENT["fs"]):
            inside[a : b + 1] = True
        # the same test (height >= MIN_STEP_PEAK_M_S2) with the threshold ``threshold`` inside turns
        scaled = np.where(inside[idx], height * MIN_STEP_PEAK_M_S2 / threshold, height)
        return idx, scaled

    return {"_lobe_peaks": lobe_peaks}


def _roll_candidates_variant(floor_deg_s: float):
    """Steps taken back in turns (the side rule's and the step-period rule's) may also sit at an extremum of
    the roll rate (:data:`GYRO_BAND_HZ`) of at least ``floor_deg_s``, where they keep their own time."""
    alternate, take_back, refine = gait_contacts._alternate, gait_contacts._take_back_steps, gait_contacts._refine

    def candidates(n: int) -> np.ndarray:
        gyro = _gyro_now(n)
        if gyro is None:
            return np.zeros(0, dtype=np.int64)
        fs = _CURRENT["fs"]
        roll = _filter(gyro[:, 1], fs, GYRO_BAND_HZ, "bandpass")
        ext = np.sort(np.concatenate((signal.find_peaks(roll)[0], signal.find_peaks(-roll)[0])))
        ext = ext[np.abs(roll[ext]) >= floor_deg_s]
        inside = np.zeros(n, dtype=bool)
        for a, b in turns(gyro[:, 0], fs):
            inside[a : b + 1] = True
        return ext[inside[ext]]

    def with_roll(rule):
        def wrapped(run, maxima, side_ml, side_sum, fs):
            return rule(run, np.union1d(maxima, candidates(side_ml.shape[0])), side_ml, side_sum, fs)
        return wrapped

    def refine_keeping_roll(acc_v, band, peaks, fs):
        out = refine(acc_v, band, peaks, fs)
        mine = np.isin(peaks, candidates(acc_v.shape[0])) & ~np.isin(peaks, signal.find_peaks(band)[0])
        out[mine] = peaks[mine]
        return out

    return {"_alternate": with_roll(alternate), "_take_back_steps": with_roll(take_back), "_refine": refine_keeping_roll}


@contextlib.contextmanager
def _variant(replacements: dict):
    saved_body = bench._body
    saved = {k: getattr(gait_contacts, k) for k in replacements}

    def body(rec):
        acc, gyro = _aligned(rec)
        _CURRENT.update(gyro=gyro, fs=rec.fs_hz)
        return acc

    bench._body = body
    for k, v in replacements.items():
        setattr(gait_contacts, k, v)
    try:
        yield
    finally:
        bench._body = saved_body
        for k, v in saved.items():
            setattr(gait_contacts, k, v)
        _CURRENT["gyro"] = None


def _line(r: dict) -> str:
    return (f"F1 {r['f1']:.3f} (P {r['precision']:.3f}, R {r['recall']:.3f}), {r['timing_mae_s'] * 1e3:.1f} ms, cadence "
            f"{r['cadence_mae_steps_min']:.2f}, speed {r['walking_speed_mae_m_s']:.3f}, stride {r['stride_length_mae_m']:.3f}, "
            f"{r['false_positives']} unmatched ({r['unmatched_in_reference_gaps']} in reference gaps)")


def variants_table(data: Path) -> None:
    variants = {"current (medio-lateral acceleration)": {}}
    for kind in ("roll angle", "yaw angle", "roll angle in turns", "centripetal removed",
                 "centripetal removed, 4-s windows"):
        variants[f"side from the {kind}"] = _side_variant(kind)
    for t in THRESHOLDS_IN_TURNS:
        variants[f"step threshold {t} m/s2 in turns"] = _threshold_variant(t)
    for floor in ROLL_FLOORS_DEG_S:
        variants[f"steps taken back in turns also at roll-rate extrema of at least {floor} deg/s"] = (
            _roll_candidates_variant(floor))
    test5 = sorted(data.glob("*Test5*.csv"))
    test11 = sorted(data.glob("*Test11*.csv"))
    scores: dict = {}
    print("4. the detector with the gyroscope (balance-station bench gait's scores; cadence steps/min, speed m/s, "
          "stride m)")
    for name, repl in variants.items():
        with _variant(repl):
            s = {"Test5": bench.score_recordings(test5), "Test11": bench.score_recordings(test11)}
            for p in PEOPLE:
                s[p] = bench.score_recordings([f for f in test11 if f.name.startswith(p)])
                s["without " + p] = bench.score_recordings([f for f in test11 if not f.name.startswith(p)])
        scores[name] = s
        print(f"   {name}\n      Test5  {_line(s['Test5'])}\n      Test11 {_line(s['Test11'])}")
        print("      per person F1 " + ", ".join(f"{p} {s[p]['f1']:.3f}" for p in PEOPLE)
              + "; cadence " + ", ".join(f"{s[p]['cadence_mae_steps_min']:.2f}" for p in PEOPLE))
    print("   leave one person out (chosen on the other two people's Test11 by F1, ties by cadence error):")
    tp = fp = fn = 0
    for p in PEOPLE:
        best = max(scores, key=lambda n: (scores[n]["without " + p]["f1"], -scores[n]["without " + p]["cadence_mae_steps_min"]))
        r = scores[best][p]
        tp, fp, fn = tp + r["per_file"][0]["tp"], fp + r["per_file"][0]["fp"], fn + r["per_file"][0]["fn"]
        print(f"      held out {p}: {best}: {_line(r)}")
    base = scores["current (medio-lateral acceleration)"]["Test11"]
    print(f"      held-out pooled F1 {2 * tp / (2 * tp + fp + fn):.3f} (current method {base['f1']:.3f})")


def untimed_steps(data: Path) -> None:
    from station.analysis.gait import gait_metrics

    implied = inside = tp = fp = fn = 0
    for path in sorted(data.glob("*Test11*.csv")):
        rec = read_imu_recording(path)
        acc = bench._body(rec)
        t0 = float(rec.time_s[0])
        for wp in rec.metadata.get("walking_periods", []):
            m = gait_metrics(acc, rec.fs_hz, window_s=(wp["start_s"] - t0 - bench.TOLERANCE_S,
                                                      wp["end_s"] - t0 + bench.TOLERANCE_S))
            detected = np.array(m["initial_contacts_s"]) + t0
            pairs = sorted(zip(wp["initial_contacts_s"], wp["initial_contacts_side"]))
            ref = np.array([t for t, _ in pairs])
            errors, n_fp, n_fn = bench.match_contacts(detected, sorted(set(wp["initial_contacts_s"])))
            tp, fp, fn = tp + len(errors), fp + n_fp, fn + n_fn
            median = float(np.median(np.diff(ref)))
            unmatched = [d for d in detected if np.min(np.abs(ref - d)) > bench.TOLERANCE_S]
            for (a, sa), (b, sb) in zip(pairs[:-1], pairs[1:]):
                if sa != sb or b - a <= 2 * bench.TOLERANCE_S:
                    continue
                ratio = (b - a) / median
                n = int(round(ratio))
                if n % 2:  # same side: an even number of steps apart
                    n = n + 1 if ratio > n else n - 1
                missing = max(n, 2) - 1
                implied += missing
                inside += min(missing, sum(1 for d in unmatched if a + bench.TOLERANCE_S < d < b - bench.TOLERANCE_S))
    print("5. steps the reference did not time (Test11; consecutive reference contacts on the same side, more "
          f"than {2 * bench.TOLERANCE_S} s apart)")
    print(f"   at least {implied} untimed steps; {inside} of the {fp} unmatched detections lie there (at most one "
          f"per untimed step); F1 {2 * tp / (2 * tp + fp + fn):.3f} as scored, {2 * tp / (2 * tp + fp - inside + fn):.3f} "
          "without them")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(bench.DEFAULT_DATA))
    args = parser.parse_args()
    data = Path(args.data)
    if not any(data.glob("*Test11*.csv")):
        print(f"no daily-activity recordings (*Test11*.csv) in {data}; give --data DIR (the shared gait data set)",
              file=sys.stderr)
        return 2
    signal_table(data)
    variants_table(data)
    untimed_steps(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
