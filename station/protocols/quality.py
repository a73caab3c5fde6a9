"""Quality checks of a trial, on its frames, with reasons in words a clinician understands.

Everything here is a pure function of frames (``FRAME_DTYPE`` arrays) and thresholds: the trial
state machine (:mod:`station.protocols.machine`) calls the *finders* on the frames recorded so far
to stop a trial as soon as something happens (a step, stepping off, a sensor fault), and
:func:`check_recording` on the whole recording once it has ended.

Loads are judged relative to the patient's body weight ``body_weight_n`` (N), measured while
waiting for the patient (or given by the clinician). Times are the frames' places on the sample
grid (their ``seq``, DESIGN.md §3: a trial CSV's ``time_s``), never a wall clock nor when the
acquisition loop happened to wake, so the same checks give the same answers under the simulated
clock and on a Pi that wakes late.

What counts as what:

``stepped_off``
    Total force below ``off_plate_fraction`` of body weight for ``sustain_s``: the patient left
    the plate.
``unloaded``
    Below ``unload_fraction`` of body weight for ``sustain_s``: a foot off the plate, holding on
    to something, or a fall.
``overloaded``
    Above ``overload_fraction`` of body weight for ``sustain_s``: a hop, a stamp or someone else
    touching the plate.
``step``
    The centre of pressure moves more than ``step_cop_shift_cm`` within ``step_window_s`` while
    standing on both feet: a step (quiet-stance COP moves a few cm/s; a step moves it to the
    other foot within a fraction of a second).
``liftoff`` / ``touchdown`` (single-leg stance)
    Lift-off: the centre of pressure moves toward the stance foot by ``liftoff_shift_cm``.
    Touch-down: it comes back toward where it was on both feet by more than
    ``touchdown_fraction`` of the way from the stance position, for ``sustain_s``: the other
    foot landed.
``sensor_fault`` / ``saturated``
    Frames flagged FAULT_* / SATURATED / INVALID by the acquisition.
``lost_frames`` / ``gap``
    Too many frames missing (``seq`` jumps), or one gap too long for sway measures.
``low_load``
    COP gated off (LOW_LOAD) on too many frames: too little load for a reliable COP.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

from station.acquire.frame import FAULT_CORNER_FLAGS, FrameFlag

CORNER_NAMES = {"fl": "front-left", "fr": "front-right", "bl": "back-left", "br": "back-right"}
_FAULT_BITS = tuple(zip(("fl", "fr", "bl", "br"), FAULT_CORNER_FLAGS))


@dataclass(frozen=True)
class QualitySettings:
    """Thresholds for waiting, stopping and judging a trial. A protocol file may override any of
    them in its ``[quality]`` table. Fractions are of the patient's body weight."""

    stable_s: float = 2.0
    """Waiting for the patient: the load must stay stable this long before the countdown, s."""
    stable_tolerance_fraction: float = 0.05
    """... within ± this fraction of body weight of its mean over that time."""
    body_weight_tolerance_fraction: float = 0.10
    """When the body weight is known: the stable load must be within ± this fraction of it."""
    min_body_weight_n: float = 200.0
    """A stable load below this is not a patient (empty plate, a bag): keep waiting, N."""
    waiting_timeout_s: float = 300.0
    """Give up waiting for the patient after this long (0: wait for ever), s."""
    off_plate_fraction: float = 0.20
    unload_fraction: float = 0.70
    overload_fraction: float = 1.30
    sustain_s: float = 0.10
    """A load or COP condition must last this long to count (one odd frame is not a step), s."""
    step_cop_shift_cm: float = 4.0
    step_window_s: float = 0.25
    liftoff_shift_cm: float = 3.0
    """Single-leg stance: the COP must move this far toward the stance foot to count as lift-off, cm."""
    liftoff_timeout_s: float = 5.0
    """Single-leg stance: the other foot must be lifted within this time of the start signal, s."""
    touchdown_fraction: float = 0.6
    """Single-leg stance: touch-down when the COP has come back this share of the way from the
    stance foot toward where it was on both feet."""
    stance_reference_s: float = 1.0
    """Single-leg stance: the stance-foot position is the median COP over this time after lift-off, s."""
    touchdown_lookback_s: float = 1.5
    smooth_s: float = 0.2
    """Single-leg stance: the COP shift is smoothed over this time before judging it, s."""
    max_lost_fraction: float = 0.02
    """Largest share of frames that may be missing from a valid trial."""
    max_gap_s: float = 0.2
    """Longest single gap in a valid trial, s."""
    max_low_load_fraction: float = 0.01
    """Largest share of frames whose COP was gated off for too little load."""
    no_frames_timeout_s: float = 1.0
    """No frame at all for this long while recording: the plate stopped sending data, s."""
    min_metrics_s: float = 5.0
    """Timed holds that end early: sway measures need at least this much steady stance, s (the
    full set needs ``station.analysis.metrics.MIN_DURATION_S``; shorter holds get the time-domain
    measures and the ellipse only)."""

    def replace(self, overrides: dict) -> "QualitySettings":
        """A copy with some fields replaced (validated by the protocol loader)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(overrides)
        return QualitySettings(**values)


QUALITY_FIELDS = tuple(f.name for f in fields(QualitySettings))


@dataclass(frozen=True)
class QualityIssue:
    """Why a trial is invalid (or why a hold ended): a code for programs, a message for people,
    and when it happened (s from the start of recording), if it happened at one moment."""

    code: str
    message: str
    at_s: float | None = None

    def to_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "at_s": self.at_s}


@dataclass(frozen=True)
class LoadEvent:
    """Something the patient did, found in the frames: ``index`` of the first frame of it,
    ``confirmed_index`` of the frame where it had lasted long enough to be sure."""

    code: str
    index: int
    confirmed_index: int
    value: float
    """Load as a fraction of body weight (load events) or COP shift in cm (step, touchdown)."""


def _sustain_frames(rate_hz: float, settings: QualitySettings) -> int:
    return max(2, int(math.ceil(settings.sustain_s * rate_hz)))


def _first_run(mask: np.ndarray, length: int) -> int | None:
    """Index of the first run of at least ``length`` consecutive True values, or None."""
    if length <= 1:
        hits = np.flatnonzero(mask)
        return int(hits[0]) if hits.size else None
    padded = np.concatenate(([0], mask.astype(np.int8), [0]))
    edges = np.diff(padded)
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    long_runs = np.flatnonzero(ends - starts >= length)
    return int(starts[long_runs[0]]) if long_runs.size else None


def find_load_event(frames: np.ndarray, body_weight_n: float, rate_hz: float,
                    settings: QualitySettings) -> LoadEvent | None:
    """The first sustained stepping off, unloading or overloading in ``frames``, or None.

    Frames whose force is unknown (NaN: a sensor fault) are not judged here; see
    :func:`find_sensor_fault`.
    """
    if len(frames) == 0:
        return None
    fz = frames["fz_n"] / body_weight_n
    n = _sustain_frames(rate_hz, settings)
    best: LoadEvent | None = None
    for code, mask in (
        ("stepped_off", fz < settings.off_plate_fraction),
        ("unloaded", fz < settings.unload_fraction),
        ("overloaded", fz > settings.overload_fraction),
    ):
        start = _first_run(mask, n)
        if start is None:
            continue
        run = fz[start : start + n]
        value = float(np.min(run) if code != "overloaded" else np.max(run))
        event = LoadEvent(code, start, start + n - 1, value)
        # Unloading that goes on to stepping off within the same run is one event: stepping off.
        if best is None or event.index < best.index:
            best = event
    if best is not None and best.code == "unloaded":
        recovered = fz[best.index :] >= settings.unload_fraction
        run_end = best.index + (int(np.argmax(recovered)) if recovered.any() else len(recovered))
        off = _first_run(fz < settings.off_plate_fraction, n)
        if off is not None and off < run_end:
            best = LoadEvent("stepped_off", best.index, off + n - 1, float(np.min(fz[best.index : off + n])))
    return best


def find_cop_step(frames: np.ndarray, rate_hz: float, settings: QualitySettings) -> LoadEvent | None:
    """The first COP shift of more than ``step_cop_shift_cm`` within ``step_window_s``, or None.

    Meant for stance on both feet; the shift is the distance between the COP now and the COP
    ``step_window_s`` earlier, and must exceed the threshold for ``sustain_s`` (a step moves the
    COP to the other foot and it stays there).
    """
    lag = max(1, int(round(settings.step_window_s * rate_hz)))
    if len(frames) <= lag:
        return None
    ap = frames["ap_cm"]
    ml = frames["ml_cm"]
    shift = np.hypot(ap[lag:] - ap[:-lag], ml[lag:] - ml[:-lag])
    mask = np.nan_to_num(shift, nan=0.0) > settings.step_cop_shift_cm
    n = _sustain_frames(rate_hz, settings)
    start = _first_run(mask, n)
    if start is None:
        return None
    # shift[k] compares frame k+lag with frame k: the step began within (k, k+lag]. Report the
    # frame where the COP started to move: the last frame before k+lag still within the threshold
    # of frame k.
    k = start
    moved = np.hypot(ap[k : k + lag + 1] - ap[k], ml[k : k + lag + 1] - ml[k])
    began = k + int(np.argmax(np.nan_to_num(moved, nan=0.0) > settings.step_cop_shift_cm / 2))
    return LoadEvent("step", began, start + lag + n - 1, float(np.nanmax(shift[start : start + n])))


def stance_direction(feet: str) -> int:
    """ML direction of the stance foot: −1 for ``single_left`` (left is −ML), +1 for ``single_right``."""
    if feet == "single_left":
        return -1
    if feet == "single_right":
        return 1
    raise ValueError(f"not a single-leg stance: {feet!r}")


def stance_shift(frames: np.ndarray, baseline_ml_cm: float, direction: int, rate_hz: float,
                 settings: QualitySettings) -> tuple[np.ndarray, np.ndarray]:
    """How far the COP has moved toward the stance foot from its two-feet position, cm:
    (raw, smoothed over ``smooth_s``). NaN COP counts as no shift."""
    raw = np.nan_to_num(direction * (frames["ml_cm"] - baseline_ml_cm), nan=0.0)
    k = max(1, int(round(settings.smooth_s * rate_hz)))
    if k == 1 or len(raw) < k:
        return raw, raw.copy()
    kernel = np.ones(k) / k
    smooth = np.convolve(raw, kernel, mode="full")[: len(raw)]
    smooth[: k - 1] = np.cumsum(raw[: k - 1]) / np.arange(1, k)
    return raw, smooth


def find_liftoff(shift: np.ndarray, rate_hz: float, settings: QualitySettings) -> int | None:
    """First frame where the (smoothed) COP shift toward the stance foot reaches
    ``liftoff_shift_cm`` and stays there ``sustain_s``: the weight has gone onto one foot."""
    return _first_run(shift >= settings.liftoff_shift_cm, _sustain_frames(rate_hz, settings))


def refine_liftoff(shift: np.ndarray, candidate: int, end: int, rate_hz: float) -> int:
    """The lift-off instant: the first frame from ``candidate`` where the smoothed shift reaches
    90 % of its largest value over the following second (or up to ``end``). The COP keeps moving
    toward the stance foot while the weight transfers; the foot leaves the ground when the COP
    arrives under the stance foot."""
    stop = min(end, candidate + int(round(rate_hz)))
    if stop <= candidate:
        return candidate
    target = 0.9 * float(np.max(shift[candidate:stop]))
    return candidate + int(np.argmax(shift[candidate:stop] >= target))


def prefix_medians(x: np.ndarray) -> np.ndarray:
    """``out[i] = np.median(x[: i + 1])`` for every ``i``, the same values bit for bit (NaN from
    the first NaN on, as ``np.median`` gives), from one row-wise sort of a triangular matrix
    instead of ``len(x)`` calls of ``np.median``: find_touchdown runs at every block of a
    single-leg trial over the first second after lift-off (100 values at 100 Hz), where the calls
    took ~5 ms and this takes ~0.2 ms. Memory: ``len(x)²`` floats.

    >>> prefix_medians(np.array([3.0, 1.0, 2.0, 10.0]))
    array([3. , 2. , 2. , 2.5])
    """
    x = np.asarray(x)
    n = len(x)
    rows = np.arange(n)
    below = rows[np.newaxis, :] <= rows[:, np.newaxis]  # row i holds x[: i + 1], then +inf
    table = np.where(below, x[np.newaxis, :], np.inf)
    table.sort(axis=1)
    middle = rows // 2  # of i + 1 values: the middle one (i even) or the lower of the middle two
    low = table[rows, middle]
    high = table[rows, middle + (rows & 1)]
    out = np.where(rows & 1, (low + high) / 2, low)
    out[np.cumsum(np.isnan(x)) > 0] = np.nan
    return out


def find_touchdown(raw: np.ndarray, shift: np.ndarray, liftoff: int, rate_hz: float,
                   settings: QualitySettings) -> LoadEvent | None:
    """The first touch-down of the lifted foot after ``liftoff``, or None.

    The stance position is the median (smoothed) shift over the first ``stance_reference_s``
    after lift-off (at each moment, of what came before it: the reference never looks ahead).
    Touch-down: the smoothed shift comes back below ``1 − touchdown_fraction`` of it for
    ``sustain_s`` (weight has gone onto the other foot; sway on one foot stays under that foot).
    The touch-down instant is where the return began. Within ``touchdown_lookback_s`` before the
    confirmed return, find the first frame where the raw COP was clearly off the stance foot
    (shift below half the stance position), then the last frame before it where the COP was
    still under the stance foot (at least 80 % of it). A falling body first drives the COP
    outward, then the landing foot pulls it in: the instant found is that of the pull, even when
    the body then sways back over the stance foot before settling on both feet.
    """
    if liftoff >= len(shift):
        return None
    after = shift[liftoff:]
    ref_n = max(1, int(round(settings.stance_reference_s * rate_hz)))
    head = min(len(after), ref_n)
    reference = np.empty(len(after))
    reference[:head] = prefix_medians(after[:head])
    if len(after) > head:
        reference[head:] = reference[head - 1]  # the median of after[:ref_n]
    back = (reference >= settings.liftoff_shift_cm) & (after < (1.0 - settings.touchdown_fraction) * reference)
    n = _sustain_frames(rate_hz, settings)
    start = _first_run(back, n)
    if start is None:
        return None
    cross = liftoff + start
    lo = max(liftoff, cross - int(round(settings.touchdown_lookback_s * rate_hz)))
    seg = raw[lo : cross + 1]
    ref_seg = reference[lo - liftoff : start + 1]
    off = np.flatnonzero(seg < 0.5 * ref_seg)
    first_off = int(off[0]) if off.size else len(seg) - 1
    still_on = np.flatnonzero(seg[: first_off + 1] >= 0.8 * ref_seg[: first_off + 1])
    onset = lo + (int(still_on[-1]) if still_on.size else first_off)
    return LoadEvent("touchdown", onset, cross + n - 1, float(reference[start] - after[start]))


def find_sensor_fault(frames: np.ndarray) -> tuple[int, str, str] | None:
    """First frame with a sensor fault: (index, code, words), or None.

    Codes: ``sensor_fault`` (a load cell did not answer; its force is unknown), ``saturated``
    (a load cell at the end of its range), ``invalid`` (frame unusable for another reason).
    """
    if len(frames) == 0:
        return None
    flags = frames["flags"].astype(np.int64)
    bad = FrameFlag.SATURATED | FrameFlag.INVALID
    for corner, bit in _FAULT_BITS:
        bad |= bit
    hits = np.flatnonzero(flags & int(bad))
    if hits.size == 0:
        return None
    i = int(hits[0])
    f = int(flags[i])
    faulty = [CORNER_NAMES[c] for c, bit in _FAULT_BITS if f & int(bit)]
    if faulty:
        who = " and ".join(faulty)
        return i, "sensor_fault", f"the {who} load cell stopped answering"
    if f & int(FrameFlag.SATURATED):
        return i, "saturated", "a load cell reached the end of its range (more load than it can measure)"
    return i, "invalid", "the plate reported unusable readings"


def lost_frames(frames: np.ndarray) -> tuple[int, int]:
    """Frames missing between the first and last of ``frames`` (``seq`` jumps), and the longest
    run of consecutive missing frames."""
    if len(frames) < 2:
        return 0, 0
    steps = np.diff(frames["seq"].astype(np.int64)) - 1
    steps = steps[steps > 0]
    if steps.size == 0:
        return 0, 0
    return int(steps.sum()), int(steps.max())


def _fmt_s(t_s: float) -> str:
    return f"{t_s:.1f} s"


def load_event_issue(event: LoadEvent, at_s: float, duration_s: float, elapsed_s: float | None = None) -> QualityIssue:
    """Clinician words for a load event at ``at_s`` s (from the start signal) of a ``duration_s`` s
    trial; ``elapsed_s``: the time to say instead (e.g. the time on one leg)."""
    when = f"after {_fmt_s(at_s if elapsed_s is None else elapsed_s)} of {duration_s:g} s"
    pct = f"{event.value * 100:.0f} %"
    if event.code == "stepped_off":
        return QualityIssue("stepped_off", f"The patient stepped off the plate {when}.", at_s)
    if event.code == "unloaded":
        return QualityIssue(
            "unloaded",
            f"Part of the body weight left the plate {when} (the load fell to {pct} of body weight): "
            "a foot off the plate, holding on to something, or a fall.",
            at_s,
        )
    if event.code == "overloaded":
        return QualityIssue(
            "overloaded",
            f"The load jumped to {pct} of body weight {when}: a hop, a stamp, or someone touching the plate.",
            at_s,
        )
    if event.code == "step":
        return QualityIssue(
            "step",
            f"The centre of pressure jumped {event.value:.1f} cm {when}: the patient took a step or lost balance.",
            at_s,
        )
    if event.code == "touchdown":
        return QualityIssue("touchdown", f"The lifted foot touched down {when}.", at_s)
    raise ValueError(f"unknown load event {event.code!r}")


def check_recording(
    frames: np.ndarray,
    *,
    rate_hz: float,
    duration_s: float,
    start_seq: int,
    settings: QualitySettings,
    reader_missed: int = 0,
) -> list[QualityIssue]:
    """Checks of a whole recording once it has ended: lost frames, gaps, sensor faults, low load.

    Times are said on the sample grid (DESIGN.md §3), as the trial CSV's ``time_s``: ``(seq −
    start_seq) / rate_hz``, never when the acquisition loop happened to wake for a frame.

    Parameters
    ----------
    frames : ndarray of FRAME_DTYPE
        The recorded frames, oldest first.
    rate_hz : float
        Frame rate, Hz.
    duration_s : float
        Duration the protocol asked for, s (for the words).
    start_seq : int
        The trial's first sample slot, the start signal (event times are given from it).
    settings : QualitySettings
    reader_missed : int
        Slots of the trial without a frame that are not between two of ``frames`` (before the
        first, after the last), counted as lost.

    Examples
    --------
    A 0.3-s gap (slots 160-189 lost) in a trial whose first slot is 100, its frames woken 80 ms
    late, is said where it starts on the grid, 0.6 s after the start signal:

    >>> from station.acquire.frame import empty_frames
    >>> f = empty_frames(270); f["seq"] = [s for s in range(100, 400) if not 160 <= s < 190]
    >>> f["fz_n"] = 700.0; f["t_ns"] = f["seq"] * 10_000_000 + 80_000_000
    >>> [i.message for i in check_recording(f, rate_hz=100.0, duration_s=3.0, start_seq=100,
    ...                                     settings=QualitySettings()) if i.code == "gap"]
    ['The recording has a gap of 0.30 s at 0.6 s (at most 0.2 s is allowed).']

    Returns
    -------
    list of QualityIssue
        Empty when the recording is fine.
    """
    issues: list[QualityIssue] = []
    if len(frames) == 0:
        return [QualityIssue("no_data", "No data was recorded: the plate sent no frames. Check the plate cable and the station's health page.")]
    lost, longest = lost_frames(frames)
    lost += reader_missed
    expected = len(frames) + lost
    if lost > settings.max_lost_fraction * expected:
        issues.append(
            QualityIssue(
                "lost_frames",
                f"Too many readings were lost ({lost} of {expected}, {100 * lost / expected:.1f} %; at most "
                f"{100 * settings.max_lost_fraction:g} % is allowed): the recording has gaps. "
                "Check the station's health page and repeat the trial.",
            )
        )
    longest_s = longest / rate_hz
    if longest_s > settings.max_gap_s:
        i = int(np.argmax(np.diff(frames["seq"].astype(np.int64))))
        at_s = (int(frames["seq"][i]) + 1 - start_seq) / rate_hz  # its first slot without a frame
        issues.append(
            QualityIssue(
                "gap",
                f"The recording has a gap of {longest_s:.2f} s at {_fmt_s(at_s)} (at most {settings.max_gap_s:g} s is allowed).",
                at_s,
            )
        )
    fault = find_sensor_fault(frames)
    if fault is not None:
        i, code, words = fault
        at_s = (int(frames["seq"][i]) - start_seq) / rate_hz
        issues.append(
            QualityIssue(code, f"Sensor fault {'after ' + _fmt_s(at_s) if at_s > 0 else 'at the start'}: {words}. "
                         "Check the plate and its cable, then repeat the trial.", at_s)
        )
    low = (frames["flags"].astype(np.int64) & int(FrameFlag.LOW_LOAD)) != 0
    if low.mean() > settings.max_low_load_fraction:
        median_n = float(np.nanmedian(frames["fz_n"])) if np.isfinite(frames["fz_n"]).any() else float("nan")
        issues.append(
            QualityIssue(
                "low_load",
                f"Too little load on the plate for a reliable centre of pressure on {100 * low.mean():.0f} % of the "
                f"recording (median load {median_n:.0f} N).",
            )
        )
    return issues
