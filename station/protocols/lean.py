"""The limits-of-stability test on the station: one trial per target, a lean on each go signal.

A protocol with ``outcome = "limits_of_stability"`` has one condition per target direction (its
id is the direction, ``f``, ``fr``, ``r``, ``br``, ``b``, ``bl``, ``l``, ``fl``), in the order
listed or in a random order (``order = "random"``). Each trial is one lean, run by a
:class:`LeanMachine` (a :class:`~station.protocols.machine.TrialMachine` with the same states):

* *ready*: the machine waits for a steady stance and counts down as for every trial (the tablet
  shows the eight targets around the patient's start position and the live COP cursor);
* *go*: the countdown's end is the go signal (the long beep, as every trial's start signal): the
  trial's ``time_s`` zero. The last :attr:`LosSpec.ready_s <station.protocols.schema.LosSpec>`
  of standing still before it are recorded with the lean (``time_s`` < 0), for the start position
  and the moved-before-go check; a ``go`` event names the target, its distance and the start
  position, and the tablet highlights the target;
* *lean*: the patient leans toward the target as far as possible without stepping, and holds,
  for the protocol's ``duration_s`` (8 s in the built-in test); the trial's end (the two short
  beeps) tells the patient to come back to the centre; the next trial follows after ``rest_s``.

The lean is measured by :func:`station.analysis.limits_of_stability.limits_of_stability` on the
trial's frames (COP, total and corner forces) with the patient's height (COG height 0.5527 ×
height) and the limits: the theoretical ones, or (``[los] targets = "previous"``) those the
patient reached in the previous test (:func:`previous_limits_deg`). Its quality checks make the
lean invalid, stored with its reason and offered again like any invalid trial (``max_attempts``):
stepping, moving before the go, no movement toward the target, load off the plate
(:data:`QUALITY_WORDS`). The checks every trial has (sensor faults, lost frames, stepping off the
plate, an operator stop) apply too; the sway measures' step detection does not (a lean is a large,
intended COP movement; the analysis' stepping check replaces it).

A valid trial's metrics document holds the five measures of its direction
(``los_<measure>_<dir>``) and, under ``"los"``, the go, onset and endpoint times, the limits
and the target. :func:`los_summary` combines a run's trials into the test's result: all 45 keys
(per direction and composite, :func:`station.analysis.limits_of_stability.combine_directions`)
and, per direction, its quality in words.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from station.analysis.limits_of_stability import (
    DIRECTION_VECTORS,
    DIRECTIONS,
    MEASURES,
    THEORETICAL_LIMITS_DEG,
    LimitsOfStabilityError,
    combine_directions,
    direction_limits_deg,
    limits_of_stability,
    target_distance_cm,
)
from station.protocols.machine import TrialMachine, TrialResult, TrialState
from station.protocols.quality import QualityIssue

HEIGHT_RANGE_CM = (50.0, 250.0)
"""Body heights the test accepts, cm."""

DIRECTION_WORDS = {"f": "forward", "fr": "forward-right", "r": "right", "br": "backward-right",
                   "b": "backward", "bl": "backward-left", "l": "left", "fl": "forward-left"}
"""Each direction in words (the patient's right and left)."""

QUALITY_WORDS = {
    "stepping": "stepped or lifted a foot — repeat",
    "moved_before_go": "moved before the go signal — repeat",
    "no_movement": "did not lean toward the target — repeat",
    "load_off_plate": "weight came off the plate — repeat",
}
"""The analysis' quality codes in words for a clinician (what happened, what to do)."""

QUALITY_MESSAGES = {
    "stepping": "The patient stepped or lifted a foot during the lean (the centre of pressure jumped, or one side "
                "of the plate was unloaded). Repeat the lean: lean from the ankles, feet flat.",
    "moved_before_go": "The patient moved before the go signal. Repeat the lean: stand still at the centre until the beep.",
    "no_movement": "The patient did not lean toward the target (less than 10 % of the limit). Repeat the lean.",
    "load_off_plate": "Part of the patient's weight came off the plate during the lean. Repeat the lean: both feet "
                      "stay on the plate.",
}
"""The same as a trial's quality issue (one line each)."""

MEASURE_INFO = {
    "los_reaction_time_s": ("Reaction time", "s", "lower"),
    "los_movement_velocity_deg_s": ("Movement velocity", "deg/s", "higher"),
    "los_endpoint_excursion_pct": ("Endpoint excursion", "% of limit", "higher"),
    "los_max_excursion_pct": ("Maximum excursion", "% of limit", "higher"),
    "los_directional_control_pct": ("Directional control", "%", "higher"),
}
"""(label, unit, which way is better) of each measure; better as in the NeuroCom reports (a
faster reaction, a faster, farther and straighter lean)."""


@dataclass(frozen=True)
class LosSettings:
    """What a limits-of-stability run needs besides the protocol: the patient's ``height_cm``,
    and the limits per direction (``limits_deg``, degrees; None: theoretical) with where they
    come from (``limits_source``: ``theoretical`` or ``previous``)."""

    height_cm: float
    limits_deg: dict | None = None
    limits_source: str = "theoretical"
    previous_session_id: int | None = None

    def __post_init__(self) -> None:
        h = self.height_cm
        if isinstance(h, bool) or not isinstance(h, (int, float)) or not math.isfinite(h) \
                or not HEIGHT_RANGE_CM[0] <= h <= HEIGHT_RANGE_CM[1]:
            raise ValueError(f"height_cm: the patient's height must be {HEIGHT_RANGE_CM[0]:g}-{HEIGHT_RANGE_CM[1]:g} cm, "
                             f"not {h!r}")

    def limits(self) -> dict[str, float]:
        """Limit per direction, degrees."""
        return dict(self.limits_deg) if self.limits_deg else direction_limits_deg()

    def targets_cm(self) -> dict[str, float]:
        """Distance of each target from the start position, cm."""
        return target_distance_cm(self.height_cm, self.limits())

    def to_dict(self) -> dict:
        return {"height_cm": self.height_cm, "limits_deg": self.limits(), "limits_source": self.limits_source,
                "previous_session_id": self.previous_session_id,
                "targets_cm": {d: round(v, 2) for d, v in self.targets_cm().items()},
                "directions": {d: {"ap": v[0], "ml": v[1]} for d, v in DIRECTION_VECTORS.items()}}


def los_settings_for(protocol, *, record_height_cm=None, entered_height_cm=None, previous=None) -> LosSettings:
    """The settings of a run: the height from the patient record, else the one entered for the
    run; limits from ``previous`` (:func:`previous_limits_deg`'s answer) when the protocol's
    targets come from a previous test and there is one.

    Raises
    ------
    ValueError
        No height (one line: what to do) or an implausible one.
    """
    height = record_height_cm if record_height_cm is not None else entered_height_cm
    if height is None:
        raise ValueError("height_cm: the limits-of-stability targets need the patient's height; add it to the "
                         "patient's record or enter it for this test")
    try:
        height = float(height)
    except (TypeError, ValueError):
        raise ValueError(f"height_cm: must be a number of cm, not {height!r}") from None
    if protocol.los is not None and protocol.los.targets == "previous" and previous is not None:
        limits, session_id = previous
        return LosSettings(height, limits, "previous", session_id)
    return LosSettings(height)


def limits_from_excursions(max_excursion_pct: dict) -> dict[str, float] | None:
    """Limits per direction (degrees) at a previous test's maximum excursions: the theoretical
    limit × excursion / 100 where it was measured, the theoretical limit elsewhere; None when no
    direction was measured.

    >>> limits = limits_from_excursions({"f": 50.0})
    >>> limits["f"], limits["b"]
    (4.0, 4.5)
    """
    theory = direction_limits_deg()
    measured = {d: float(v) for d, v in max_excursion_pct.items()
                if d in theory and v is not None and math.isfinite(v) and v > 0}
    if not measured:
        return None
    return {d: min(44.0, theory[d] * measured[d] / 100.0) if d in measured else theory[d] for d in DIRECTIONS}


def _pct_of_theoretical(reached_deg: dict) -> dict[str, float]:
    theory = direction_limits_deg()
    return {d: 100.0 * deg / theory[d] for d, deg in reached_deg.items() if d in theory}


def previous_limits_deg(store, patient_id: int, protocol_name: str, *, actor) -> tuple[dict, int] | None:
    """The limits reached in the patient's last session of ``protocol_name`` with a valid lean:
    ``(limits_deg, session_id)``, each direction the mean of its valid leans' maximum excursions
    there, in degrees (:meth:`~station.store.training.TrainingSessions.latest_los_session`), the
    theoretical limit elsewhere (:func:`limits_from_excursions`); None when there is none.
    ``actor`` opens the patient's record (audited, as any look at it)."""
    store.patients.view(patient_id, actor=actor)
    latest = store.training.latest_los_session(patient_id, protocol_name)
    if latest is None:
        return None
    session_id, reached_deg = latest
    limits = limits_from_excursions(_pct_of_theoretical(reached_deg))
    return None if limits is None else (limits, session_id)


def last_los_excursion_pct(store, patient_id: int, protocol_name: str = "limits-of-stability") -> dict | None:
    """The games' scaling (:func:`station.analysis.biofeedback.patient_limits_cm`): the maximum
    excursions of the patient's last limits-of-stability test as % of the theoretical limits,
    ``{direction: pct}`` over every direction with a valid lean in its latest session (the leans
    :func:`previous_limits_deg` reads), or None."""
    latest = store.training.latest_los_session(patient_id, protocol_name)
    return None if latest is None else _pct_of_theoretical(latest[1]) or None


class LeanMachine(TrialMachine):
    """Runs one lean (see the module docstring). Same interface and states as
    :class:`~station.protocols.machine.TrialMachine`; ``los`` gives the height and limits."""

    def __init__(self, plan, *, rate_hz: float, bus, los: LosSettings, body_weight_n: float | None = None) -> None:
        super().__init__(plan, rate_hz=rate_hz, bus=bus, analyse=_no_sway_measures, body_weight_n=body_weight_n)
        self.direction = plan.condition.id
        if self.direction not in DIRECTION_VECTORS:
            raise ValueError(f"condition {self.direction!r} is not a target direction")
        self.los = los
        spec = plan.protocol.los
        self.ready_s = spec.ready_s if spec is not None else 1.5
        self._before: deque[np.ndarray] = deque()
        self._go_info: dict = {}

    # -- the ready phase: keep the last ready_s of frames ----------------------------------------
    def _keep(self, frames: np.ndarray) -> None:
        if not len(frames):
            return
        self._before.append(frames.copy())
        horizon = int(frames["t_ns"][-1]) - int((self.ready_s + 1.0) * 1e9)
        while len(self._before) > 1 and int(self._before[0]["t_ns"][-1]) < horizon:
            self._before.popleft()

    def feed(self, frames: np.ndarray, missed: int = 0, now_ns: int | None = None) -> None:
        if self.state in (TrialState.WAITING, TrialState.COUNTDOWN):
            self._keep(frames)  # the part before the go is picked out when recording starts
        super().feed(frames, missed, now_ns)

    def _start_recording(self, t0_ns: int) -> None:
        before = np.concatenate(list(self._before)) if self._before else None
        self._before.clear()
        super()._start_recording(t0_ns)
        centre = None
        if before is not None:
            # the ready phase's slots, on the sample grid as the lean's (the frames' wake times may be late)
            g = self._grid(before)
            before = before[(g >= self._t0_g - int(round(self.ready_s * 1e9))) & (g < self._t0_g)]
            if len(before):
                self._append(before)
                tail = before[self._grid(before) >= self._t0_g - int(0.5e9)]
                if len(tail) and np.isfinite(tail["ap_cm"]).all() and np.isfinite(tail["ml_cm"]).all():
                    centre = {"ap_cm": round(float(tail["ap_cm"].mean()), 3), "ml_cm": round(float(tail["ml_cm"].mean()), 3)}
        u_ap, u_ml = DIRECTION_VECTORS[self.direction]
        distance = self.los.targets_cm()[self.direction]
        self._go_info = {"direction": self.direction, "direction_words": DIRECTION_WORDS[self.direction],
                         "target_cm": {"ap_cm": round(distance * u_ap, 2), "ml_cm": round(distance * u_ml, 2)},
                         "distance_cm": round(distance, 2), "limit_deg": round(self.los.limits()[self.direction], 3),
                         "centre_cm": centre}
        self.bus.publish("go", **self._go_info, **self.plan.describe())

    # -- recording: faults and stepping off, not the sway tests' COP step -------------------------
    def _check_online(self, start: int) -> None:
        self._check_fault_and_load_only(start, "trial")

    # -- the end: the lean's measures and quality -------------------------------------------------
    def _judge(self) -> TrialResult:
        result = super()._judge()
        result.metrics_note = ""
        rec = self._rec[: self._n]
        try:
            doc = self.measure(rec)
        except (LimitsOfStabilityError, ValueError) as exc:
            result.metrics = None
            result.metrics_note = f"No limits-of-stability measures: {' '.join(str(exc).split())}"
            if result.valid:
                result.issues.append(QualityIssue("no_measure", result.metrics_note, None))
        else:
            result.metrics = doc
            for code in doc["los"]["quality"]:
                if not any(i.code == code for i in result.issues):
                    result.issues.append(QualityIssue(code, QUALITY_MESSAGES.get(code, code), None))
        result.valid = not result.issues
        result.end_reason = "duration" if result.valid else "invalid"
        result.completed = result.valid
        if not result.valid and result.metrics is not None:
            result.metrics_note = "Invalid lean: " + "; ".join(QUALITY_WORDS.get(i.code, i.message) for i in result.issues)
        return result

    def measure(self, rec: np.ndarray) -> dict:
        """The lean's metrics document from the recorded frames (ready phase included).

        Raises
        ------
        LimitsOfStabilityError, ValueError
            Too little recorded, no ready phase, gaps beyond what may be bridged (one line).
        """
        from station import __version__
        from station.analysis.gaps import bridge_gaps

        if len(rec) < 2:
            raise LimitsOfStabilityError("nothing was recorded")
        fs = self.rate_hz
        seq = rec["seq"].astype(np.int64)
        grid = seq - int(seq[0])
        columns = [np.asarray(rec[f], dtype=float) for f in ("ap_cm", "ml_cm", "fz_n", "fl_n", "fr_n", "bl_n", "br_n")]
        gaps = None
        if int(grid[-1]) + 1 != len(rec):
            columns, gaps = bridge_gaps(grid, fs, *columns)
        ap, ml, fz, fl, fr, bl, br = columns
        time_s = np.arange(len(ap)) / fs
        go_s = round((self._t0_g - self._g(0)) * fs / 1e9) / fs
        if go_s < 1.0:
            raise LimitsOfStabilityError(f"only {max(go_s, 0):.2f} s were recorded before the go signal; "
                                         "the patient must stand still for at least 1 s first")
        corners = np.column_stack((fl, fr, bl, br))
        if not np.isfinite(corners).all():
            corners = None
        if not np.isfinite(fz).all():
            fz = None
        out = limits_of_stability(time_s, ap, ml, [go_s], [self.direction], self.los.height_cm,
                                  limits_deg=self.los.limits(), fz_n=fz, corners_n=corners,
                                  trial_duration_s=self.plan.duration_s)
        d = self.direction
        times = out["trials"][d]
        shift = lambda t: None if t is None else round(float(t) - go_s, 3)  # noqa: E731 (s from the go)
        los = {
            "direction": d,
            "go_s": 0.0,
            "onset_s": shift(times["onset_s"]),
            "endpoint_s": shift(times["endpoint_s"]),
            "quality": list(out["quality"][d]),
            "quality_words": [QUALITY_WORDS[c] for c in out["quality"][d] if c in QUALITY_WORDS],
            "height_cm": self.los.height_cm,
            "cog_height_cm": round(out["cog_height_cm"], 3),
            "limit_deg": round(out["limits_deg"][d], 4),
            "limits_source": self.los.limits_source,
            **{k: v for k, v in self._go_info.items() if k in ("target_cm", "distance_cm", "centre_cm")},
        }
        doc = {"fs_hz": float(fs), "samples": int(len(rec)), "profile": "limits_of_stability", "version": __version__,
               "metrics": {f"{m}_{d}": out["metrics"][f"{m}_{d}"] for m in MEASURES}, "los": los}
        if gaps is not None:
            doc["gaps"] = gaps
        return doc


def _no_sway_measures(frames, rate_hz):
    """A lean has no sway measures (its own are computed by :meth:`LeanMachine.measure`)."""
    return None


def los_summary(protocol, results: list, conditions: dict) -> dict:
    """The test's result from its trials (``TrialResult`` list) and :func:`summarise`'s per-condition
    summaries: ``metrics`` (every key of LOS_KEYS; a direction's value is the mean of its valid
    leans, normally one), per direction its measures, attempts and quality in words, the limits."""
    per_direction: dict[str, dict] = {}
    directions: dict[str, dict] = {}
    for c in protocol.conditions:
        d = c.id
        mine = [r for r in results if r.plan.condition.id == d]
        values = conditions.get(d, {}).get("values", {})
        per_direction[d] = {m: values.get(f"{m}_{d}") for m in MEASURES}
        valid = [r for r in mine if r.valid]
        last = mine[-1] if mine else None
        codes = [i.code for i in last.issues] if last is not None else []
        if not mine:
            words = "not tested"
        elif valid:
            words = "valid" + (f" (after {len(mine) - 1} repeat{'s' if len(mine) > 2 else ''})" if len(mine) > 1 else "")
        else:
            words = "; ".join(QUALITY_WORDS.get(c, "invalid — repeat") for c in codes) or "invalid — repeat"
        los_doc = (valid[-1].metrics or {}).get("los", {}) if valid else {}
        directions[d] = {"label": DIRECTION_WORDS[d], "attempts": len(mine), "valid": bool(valid),
                         "quality": codes if not valid else [], "quality_words": words,
                         "limit_deg": los_doc.get("limit_deg"), "distance_cm": los_doc.get("distance_cm"),
                         "values": per_direction[d]}
    metrics = combine_directions(per_direction)
    first = next((r.metrics.get("los") for r in results if r.metrics and r.metrics.get("los")), {}) or {}
    return {
        "metrics": metrics,
        "directions": directions,
        "order": [c.id for c in protocol.conditions],
        "height_cm": first.get("height_cm"),
        "limits_source": first.get("limits_source", "theoretical"),
        "theoretical_limits_deg": dict(THEORETICAL_LIMITS_DEG),
        "measures": [{"key": k, "label": v[0], "unit": v[1], "better": v[2]} for k, v in MEASURE_INFO.items()],
        "composite_note": "Composite: the plain mean over the directions with a valid lean.",
    }
