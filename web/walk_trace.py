"""The steps of a stored walk trial on its acceleration trace (``GET /api/trials/<id>/steps``).

The results and trial pages draw the lower back's vertical acceleration with the steps (initial
contacts) the trial's result found. Vertical is the direction of gravity in the recording
(:func:`station.analysis.imu_frame.gravity_direction`, following slow changes of posture in
recordings of 20 s or more), so the trace needs no mounting configuration and is the signal the
gait analysis finds the steps in. Times are the trial CSV's ``time_s`` (DESIGN.md §3:
``(seq − seq₀)/rate_hz``), the axis of ``initial_contacts_s``: s after the walk's go, its first frame
a whole number of periods after it, as its trial CSV written live and its result place it
(:func:`station.store.export.zero_seq`; a walk stored before its go was kept counts from its first
stored frame).
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Callable

import numpy as np

from station.analysis.imu_frame import gravity_context, gravity_direction
from station.analysis.imu_gaps import MAX_BRIDGE_S
from station.store.export import zero_seq

IMU_FIELDS = ("ax_m_s2", "ay_m_s2", "az_m_s2")
TRACE_FIELDS = ("seq",) + IMU_FIELDS
"""The frames' fields :func:`steps_trace` reads."""
NOTHING_RECORDED = "Nothing was recorded in this trial: no readings from the plate or the lower-back sensor"
"""The page's one message for a trial with no frames (not the no-IMU words: there was nothing to wear)."""
NO_ACCELERATION = "No acceleration recorded (was the lower-back sensor worn and connected?)"
"""The page's one message for a trial with frames but no usable lower-back acceleration."""


def stored_contacts(doc: dict | None) -> list[float] | None:
    """The initial contacts (s) a stored trial's metrics document holds (a walk trial's document
    keeps them at its top level, docs/api.md; an invalid walk trial's only in its result's ``walk``,
    where the station's check found them, e.g. up to where the patient stopped), or None when it
    holds none."""
    if not isinstance(doc, dict):
        return None
    outcome = doc.get("trial") if isinstance(doc.get("trial"), dict) else {}
    for holder in (doc, doc.get("gait"), doc.get("metrics"), outcome.get("walk")):
        if isinstance(holder, dict) and isinstance(holder.get("initial_contacts_s"), list):
            return [float(c) for c in holder["initial_contacts_s"] if isinstance(c, (int, float)) and math.isfinite(c)]
    return None


TRACE_BLOCK_S = 600.0
"""Frames whose vertical acceleration is computed at a time, s of recording: with the
:data:`station.analysis.imu_frame.GRAVITY_SETTLE_S` on either side that gravity needs, a 2-hour
trial's whole trace costs the memory of 14 minutes of it, not of 2 hours."""


@dataclass(frozen=True)
class ChunkedFrames:
    """A trial's frames as the store keeps them, in chunks (:meth:`station.store.trials.Trials.frame_chunks`):
    each chunk's ``first_seq`` and ``n_frames`` in order, and ``read(i, j)``, the frames
    (:data:`TRACE_FIELDS`) of chunks ``i:j``. :func:`steps_trace` finds a window's frames by the chunks'
    ``first_seq`` and reads only their chunks and those the gravity around them needs."""

    first_seq: np.ndarray
    n_frames: np.ndarray
    read: Callable[[int, int], np.ndarray]

    @cached_property
    def starts(self) -> np.ndarray:
        """Index of each chunk's first frame in the trial, and the trial's frame count last."""
        return np.concatenate(([0], np.cumsum(self.n_frames, dtype=np.int64)))


def stored_frames(trials, trial_id: int) -> ChunkedFrames:
    """The stored trial ``trial_id``'s frames as :func:`steps_trace` reads them, from ``trials``
    (:class:`station.store.trials.Trials`: its chunks listed, a few of them read at a time)."""
    chunks = trials.frame_chunks(trial_id)
    numbers = chunks["chunk_no"]
    return ChunkedFrames(chunks["first_seq"], chunks["n_frames"],
                         lambda i, j: trials.frames(trial_id, fields=TRACE_FIELDS, chunks=(int(numbers[i]), int(numbers[j - 1]))))


def _frame_at(frames: ChunkedFrames, seq0: int, rate: float, t_s: float, *, after: bool) -> int:
    """The first frame whose ``time_s`` (``(seq − seq₀)/rate``, computed as the trial CSV does) is
    ``t_s`` or later (``after``: later than ``t_s``), ``len`` of the trial when none is: the chunk
    holding it found by the chunks' first frames, then a binary search in that one chunk."""
    side = "right" if after else "left"
    chunk_t = (frames.first_seq.astype(np.int64) - seq0) / rate
    c = int(np.searchsorted(chunk_t, t_s, side=side))  # chunks starting before t_s (after: at or before)
    if c == 0:
        return 0
    seq = frames.read(c - 1, c)["seq"]
    find = bisect.bisect_right if after else bisect.bisect_left
    return int(frames.starts[c - 1]) + find(range(len(seq)), t_s, key=lambda i: (int(seq[i]) - seq0) / rate)


def _readings(part: np.ndarray, first: int) -> tuple[np.ndarray, np.ndarray]:
    """``(frame, acc)``: the frames of ``part`` with a reading (all of :data:`IMU_FIELDS` finite), by
    index in the trial (``part``'s first frame being frame ``first``), and their acceleration (m/s²,
    a row each, float64)."""
    finite = np.ones(len(part), dtype=bool)
    for f in IMU_FIELDS:
        finite &= np.isfinite(part[f])
    rows = np.flatnonzero(finite)
    return rows + first, np.column_stack([np.asarray(part[f][rows], dtype=float) for f in IMU_FIELDS])


@dataclass(frozen=True)
class _Held:
    """What :func:`_vertical_blocks` holds of the chunks ``i:j`` it has read, each chunk read once:
    every reading of their frames (``frame``, index in the trial, and ``acc``, :func:`_readings`) and
    the ``seq`` of their frames from frame ``seq_from`` on (those of the blocks still to come)."""

    i: int
    j: int
    frame: np.ndarray
    acc: np.ndarray
    seq_from: int
    seq: np.ndarray


def _read_more(frames: ChunkedFrames, held: _Held | None, i: int, j: int) -> _Held:
    """``held`` grown to hold the chunks ``i:j`` too: only the chunks it does not hold are read,
    those before it for their readings alone (their frames come before the blocks)."""
    starts = frames.starts
    if held is None:
        part = frames.read(i, j)
        return _Held(i, j, *_readings(part, int(starts[i])), int(starts[i]), part["seq"].copy())
    if i < held.i:
        frame, acc = _readings(frames.read(i, held.i), int(starts[i]))
        held = replace(held, i=i, frame=np.concatenate((frame, held.frame)), acc=np.concatenate((acc, held.acc)))
    if j > held.j:
        part = frames.read(held.j, j)
        frame, acc = _readings(part, int(starts[held.j]))
        held = replace(held, j=j, frame=np.concatenate((held.frame, frame)), acc=np.concatenate((held.acc, acc)),
                       seq=np.concatenate((held.seq, part["seq"])))
    return held


def _block_context(frames: ChunkedFrames, rate: float, b0: int, b1: int,
                   held: _Held | None) -> tuple[_Held, int, int, int, int]:
    """``(held, c0, c1, lo, hi)``: ``held`` grown to the chunks around the block ``b0:b1`` that hold
    the readings :func:`station.analysis.imu_frame.gravity_context` gives the block's readings among
    the whole trial's, and the frame after the block; ``c0:c1`` the block's readings and ``lo:hi``
    those of its context, among the held ones.

    A first guess takes every frame for a reading; while the held readings end on a side short of the
    margin (frames without a reading in it, the IMU unplugged) and the trial goes on, more chunks are
    read on that side, twice as far from the block but at most :data:`TRACE_BLOCK_S` more at a time
    (a read's memory): each chunk is read once however far the readings are (a dead IMU: the
    readings of its first minutes carried from block to block, :func:`_next_block`)."""
    starts = frames.starts
    n = int(starts[-1])
    reach = math.ceil(TRACE_BLOCK_S * rate)  # frames read at a time, at most, beyond the first guess
    f0, f1 = gravity_context(n, rate, b0, min(n, b1 + 1))
    while True:
        i = int(np.searchsorted(starts, f0, side="right")) - 1
        j = int(np.searchsorted(starts, f1, side="left"))
        held = _read_more(frames, held, i, j)
        c0, c1 = (int(c) for c in np.searchsorted(held.frame, (b0, b1)))
        lo, hi = gravity_context(len(held.frame), rate, c0, c1)
        p0, p1 = int(starts[held.i]), int(starts[held.j])
        short_before, short_after = lo == 0 and p0 > 0, hi == len(held.frame) and p1 < n
        if not (short_before or short_after):
            return held, c0, c1, lo, hi
        f0 = max(0, p0 - min(reach, max(1, b0 - p0))) if short_before else p0
        f1 = min(n, p1 + min(reach, max(1, p1 - b1))) if short_after else p1


def _next_block(frames: ChunkedFrames, rate: float, held: _Held, b1: int, c1: int) -> _Held:
    """``held`` with only what the blocks from frame ``b1`` (its reading ``c1``) on need: the frames'
    ``seq`` from ``b1``, the readings of the chunks from the one holding the first reading of the
    gravity's margin before ``b1`` (one reading more, so the next block sees it has the margin)."""
    lo, _ = gravity_context(len(held.frame), rate, c1, c1)
    i = held.i
    if lo > 0:
        i = int(np.searchsorted(frames.starts, held.frame[lo - 1], side="right")) - 1
    cut = int(np.searchsorted(held.frame, frames.starts[i]))
    return replace(held, i=i, frame=held.frame[cut:], acc=held.acc[cut:], seq_from=b1, seq=held.seq[b1 - held.seq_from :])


def _vertical_blocks(frames: ChunkedFrames, rate: float, start: int, stop: int, block: int):
    """``(b0, b1, seq, acc_v)`` for the frames ``start:stop`` in blocks of ``block`` frames: the
    ``seq`` of frames ``b0:b1`` and the next one (when before ``stop``), and the vertical
    acceleration (m/s² including gravity, NaN where the IMU gave none) of frames ``b0:b1``, up being
    :func:`station.analysis.imu_frame.gravity_direction` over the finite readings of the whole trial
    (within float64 rounding: each block reads the readings of
    :func:`station.analysis.imu_frame.gravity_context` around it, gaps closed as the whole would
    close them). The blocks read the chunks around them (:func:`_block_context`), each chunk once,
    in order, and carry the readings of the margin from block to block (:func:`_next_block`).

    Raises ValueError when there is no usable IMU data (fewer than 2 readings in the whole trial,
    looked for around ``start`` when the window is empty; or no gravity)."""
    held = None
    for b0 in range(start, max(stop, start + 1), block):  # an empty window: its context, to say if there is no IMU
        b1 = min(stop, b0 + block)
        held, c0, c1, lo, hi = _block_context(frames, rate, b0, b1, held)
        if len(held.frame) < 2:  # then held is the whole trial
            raise ValueError("no acceleration was recorded in this trial (was the lower-back sensor worn and connected?)")
        if b1 <= b0:
            return
        acc = held.acc[lo:hi]
        up = gravity_direction(acc, rate)
        out = np.full(b1 - b0, np.nan)
        out[held.frame[c0:c1] - b0] = np.einsum("ij,ij->i", acc[c0 - lo : c1 - lo], up[c0 - lo : c1 - lo])
        yield b0, b1, held.seq[b0 - held.seq_from : min(b1 + 1, stop) - held.seq_from], out
        held = _next_block(frames, rate, held, b1, c1)


def _bucket_points(time_s: np.ndarray, acc_v: np.ndarray, k: int, rate: float) -> tuple[np.ndarray, np.ndarray]:
    """``(time_s, acc_v)`` of the points drawn for consecutive buckets of ``k`` frames (the last may be
    shorter): each bucket's lowest and highest reading at their own times (one point when they are
    one), so a step's peak and trough survive however many frames a pixel holds; and a null
    (``acc_v`` NaN) where the line must break, once per bucket: at the bucket's first frame without
    a reading (the IMU gave none), else just after the last frame before frames lost for longer
    than a bridged gap (``time_s`` holds one frame more than ``acc_v``: the next block's first, to
    see a loss at the block's end). With ``k`` = 1, every frame is a point, as the trial holds them."""
    n = len(acc_v)
    nb = -(-n // k)
    pad = nb * k - n
    values = np.concatenate((acc_v, np.full(pad, np.nan))).reshape(nb, k)
    measured = ~np.isnan(values)
    any_measured = measured.any(axis=1)
    lowest = np.where(measured, values, np.inf).argmin(axis=1)
    highest = np.where(measured, values, -np.inf).argmax(axis=1)
    missing = ~measured
    if pad:
        missing[-1, k - pad :] = False
    # frames lost for longer than a bridged gap after frame i (a stall of the acquisition)
    lost = np.flatnonzero(np.diff(time_s) > 1.0 / rate + MAX_BRIDGE_S)
    lost_first = np.full(nb, -1)
    buckets, first_of = np.unique(lost // k, return_index=True)
    lost_first[buckets] = lost[first_of] % k  # each bucket's first loss
    has_missing = missing.any(axis=1)
    first_missing = missing.argmax(axis=1)
    base = np.arange(nb) * k
    null_t = np.where(has_missing & ((lost_first < 0) | (first_missing <= lost_first)),
                      time_s[base + first_missing], time_s[base + np.maximum(lost_first, 0)] + 1.0 / rate)
    has_null = has_missing | (lost_first >= 0)
    first = np.minimum(lowest, highest)
    second = np.maximum(lowest, highest)
    times = np.concatenate((time_s[base + first][any_measured], time_s[base + second][any_measured & (second > first)],
                            null_t[has_null]))
    values = np.concatenate((values[np.arange(nb), first][any_measured],
                             values[np.arange(nb), second][any_measured & (second > first)], np.full(has_null.sum(), np.nan)))
    order = np.argsort(times, kind="stable")
    return times[order], values[order]


def steps_trace(trial: dict, frames: ChunkedFrames, *, from_s: float | None, to_s: float | None, max_points: int) -> dict:
    """The document of ``GET /api/trials/<id>/steps``: ``time_s``, ``acc_v_m_s2`` (null where
    unknown) in the window ``[from_s, to_s]`` (default: the whole trial), the steps in the window,
    and ``note`` when something is missing; ``acceleration`` is False when the trial holds no usable
    IMU data or no frames at all (the note then says which, in the words a page shows in the trace's
    place, once).

    A window of up to ``max_points`` frames gives every frame. A longer one is cut into buckets of
    ``step`` frames, at most ``max_points // 2`` of them (a screen's pixel columns), each drawn as
    its lowest and highest reading at their own times: the steps' peaks stay where they are, which
    every k-th frame missed; the steps themselves are the result's, exact. The trace is computed a
    block of :data:`TRACE_BLOCK_S` at a time, each reading only the chunks of ``frames`` around it
    (:data:`station.analysis.imu_frame.GRAVITY_SETTLE_S` on either side): a 30-s window of a 2-hour
    trial reads 4.5 minutes of it, the whole trial its frames a block at a time, never all at once."""
    rate = float(trial["rate_hz"])
    chunks = len(frames.n_frames)
    n = int(frames.starts[-1])
    doc = trial.get("metrics") or {}
    contacts = stored_contacts(doc)
    seq0 = zero_seq(trial)  # time_s counted as its trial CSV written live counts it
    if seq0 is None:  # stored without its time zero: from its first stored frame
        seq0 = int(frames.first_seq[0]) if n else 0
    duration_s = float((int(frames.read(chunks - 1, chunks)["seq"][-1]) - seq0 + 1) / rate) if n else 0.0
    lo = 0.0 if from_s is None else max(0.0, from_s)
    hi = duration_s if to_s is None else min(duration_s, to_s)
    out = {"trial_id": trial["id"], "rate_hz": rate, "duration_s": round(duration_s, 6), "from_s": lo, "to_s": hi,
           "time_s": [], "acc_v_m_s2": [], "initial_contacts_s": [], "steps_total": None if contacts is None else len(contacts),
           "note": "", "acceleration": True}
    if contacts is None:
        out["note"] = "This trial's result holds no steps (initial contacts)."
    else:
        out["initial_contacts_s"] = [round(c, 4) for c in contacts if lo <= c <= hi]
    if not n:
        out["note"], out["acceleration"] = NOTHING_RECORDED, False
        return out
    start = _frame_at(frames, seq0, rate, lo, after=False)
    stop = max(start, _frame_at(frames, seq0, rate, hi, after=True))
    count = stop - start
    k = 1 if count <= max_points else math.ceil(count / (max_points // 2))
    block = k * max(1, math.ceil(TRACE_BLOCK_S * rate / k))  # whole buckets
    times: list[np.ndarray] = []
    values: list[np.ndarray] = []
    try:
        for _b0, _b1, seq, acc_v in _vertical_blocks(frames, rate, start, stop, block):
            # one frame more than the block, to see frames lost after its last
            time_s = (seq.astype(np.int64) - seq0) / rate
            t, v = _bucket_points(time_s, acc_v, k, rate)
            times.append(t)
            values.append(v)
    except ValueError:
        out["note"], out["acceleration"] = NO_ACCELERATION, False
        return out
    out["step"] = k
    if times:
        out["time_s"] = np.round(np.concatenate(times), 4).tolist()
        out["acc_v_m_s2"] = [v if math.isfinite(v) else None for v in np.round(np.concatenate(values), 3).tolist()]
    return out
