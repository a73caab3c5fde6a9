"""The acquisition loop: paced reading of the plate and IMU into frames (DESIGN.md §3).

Pacing. Frame ``n`` is due at the absolute deadline ``t0 + n·T`` on the injected clock (never
``sleep(T)``, so there is no drift). One reached more than ``T/4`` late is flagged LATE.

Every sample kept. The NAU7802 has no FIFO: its result register holds one conversion until the
next replaces it (every 3.1 ms at 320 SPS). So between frame deadlines the loop also wakes at
``polls_per_frame`` sub-deadlines ``t0 + m·T/polls_per_frame``, closer together than the fastest
chip converts (at most 0.8 of a conversion period: 2.5 ms at 320 SPS), and reads every corner; a
poll that woke late reads the most urgent corner first, the one whose unread conversion its chip
overwrites first (in the fixed order FL, FR, BL, BR the last corner waited for up to three other
corners' result reads, 0.4 ms, and it alone lost conversions to wake-ups 0.4 ms late). Each chip's
conversions are numbered and timed by regression against its own count
(:class:`~station.acquire.chipclock.ChipClock`, as Klipper times its bulk sensors); a conversion
the chip overwrote before it was read (after a stall) shows as a jump in that count and is counted
in ``conversions_missed``, never hidden. The IMU runs with its FIFO, read once per frame, every
sample numbered and timed the same way; an overflow or a failed FIFO read is counted and flags the
frame IMU_LOST. An overflowed FIFO (a stall longer than it holds: 1.2 s at 208 Hz), or one holding more
than the frames still to be made need (a stall over IMU_KEEP_NS, 0.1 s; on the RP2040 front end over its
0.25-s catch-up), is emptied, not read: its samples belong to frames already lost, and reading it
would cost the plate's next frames.

Waking late. A frame is made from the conversions of its own period that were read: at the
sub-polls before a late wake-up and at the wake-up itself, where each chip still holds its newest
conversion. A frame reached late (or whose deadline had passed when the loop woke for the frame
before) whose period holds no conversion of its own from any corner that is up is lost (``seq``
skips it, counted in ``frames_lost``, the next frame carries LOST_BEFORE): it would only repeat
old values. No frame is lost for being late as such: a wake-up a period late or more still makes
the frame it woke for from the conversions read before it (before 2026-12-06 such a frame was
dropped with them: 6 of 7 frames lost in a 30-s stance on the Pi-like clock, seed 7, had 1 to 3
conversions per corner already read).

What a Pi can hold and what it cannot, at 320 SPS and 100 Hz (sub-polls 2.5 ms apart):

* a wake-up up to about 0.4 ms late (the conversion period, 3.1 ms, less the poll interval and
  one corner's read) loses nothing; later ones can cost a conversion (counted in
  ``conversions_missed``, its frame made from the others);
* a wake-up up to a frame period late loses no frame (the frame is made late);
* a wake-up later than that loses the frames whose whole period it slept through: the chips
  overwrote those conversions, and no code on the Pi can get them back. Each is counted.

A Pi 4 with a ``PREEMPT_RT`` kernel wakes a ``SCHED_FIFO`` thread within about 0.25 ms with all
four cores busy (cyclictest under ``stress-ng -c 4``: ros-realtime/ros-realtime-rpi4-image
issue 30); a stock kernel, a thread at normal priority or this Python process's own pauses add
wake-ups milliseconds late (guysoft/RealtimePi issue 31), and the development VM's wake-up
probe beside the loop saw stalls up to 106 ms under load (README, acquisition bench). The
simulation's :class:`station.sim.clock.LateWakeClock` (0.1 % of wake-ups 5-20 ms late, rare
40-60 ms stalls) is such a loaded Pi. For a loaded Pi the answer is the RP2040 front end
(``firmware/rp2040``, ``[plate] front_end = "rp2040"``): it reads the load-cell ADCs itself,
numbers and keeps 128 sets (0.4 s at 320 SPS), and the loop reads it once per frame, so frames
up to 0.25 s behind are still made from their own sets and nothing is lost.

Filtering into the frame. A frame's corner counts and IMU values are the mean of every sample
whose estimated time falls in the frame's period ``(t_n − T, t_n]``: a boxcar (moving average)
over one frame period, then taking one value per period. Its frequency response is
``|H(f)| = |sinc(f·T)|`` (``sin(πfT)/(πfT)``; for the ADC, with ``M`` ≈ 3.2 conversions per frame at
320 SPS and 100 Hz, the discrete version ``|sin(πfMτ)/(M sin(πfτ))|``, τ the conversion period):
gain 1 at 0 Hz, −0.14 dB at 10 Hz (the station profile's cut-off), −0.6 dB at 20 Hz, zero at
100 Hz and its multiples, so what would alias onto 0 Hz (mains hum at 50 Hz is attenuated by
−3.9 dB, its alias at 0 Hz is nulled by the zero at 100 Hz) is rejected; the ADC noise of the
averaged conversions drops by √M. A corner with no conversion in a frame's period (a stall) repeats
its last value, flagged STALE; nothing is interpolated.

Faults never stop the loop. A corner that stops answering is flagged FAULT (force NaN) and is
brought back step by step (:meth:`station.hw.plate.PlateFrontEnd.recovery_step`), one short step
per frame, so the other corners and the IMU lose nothing meanwhile. An IMU that is missing is
``absent``; one that answers but fails (at start-up or later) is a ``fault``: shown in health, its
fields NaN and flagged IMU_FAULT, and retried the same step-by-step way.
"""

from __future__ import annotations

import math
import os
import resource
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from station.acquire.calibration import PlateCalibration
from station.acquire.chipclock import ChipClock
from station.acquire.frame import FAULT_CORNER_FLAGS, STALE_CORNER_FLAGS, FrameFlag
from station.acquire.readbounds import ReadBounds
from station.analysis.cop import cop_from_corners
from station.config import CORNERS, StationConfig
from station.hw.errors import StationHardwareError

_NAN = float("nan")
_INF_NS = float("inf")  # "no time yet" beside integer nanoseconds (compares with any of them)
_NAN6 = (_NAN, _NAN, _NAN, _NAN, _NAN, _NAN)
# The flags as plain ints: the loop sets and tests a dozen of them per frame, and an IntFlag
# operation costs about 1.5 µs (a new enum value each time) against 0.03 µs for an int.
_CORNER_FAULT_ANY = int(FrameFlag.FAULT_FL | FrameFlag.FAULT_FR | FrameFlag.FAULT_BL | FrameFlag.FAULT_BR)
_LOST_BEFORE = int(FrameFlag.LOST_BEFORE)
_LATE = int(FrameFlag.LATE)
_SATURATED = int(FrameFlag.SATURATED)
_SPIKE = int(FrameFlag.SPIKE)
_INVALID = int(FrameFlag.INVALID)
_LOW_LOAD = int(FrameFlag.LOW_LOAD)
_IMU_FAULT = int(FrameFlag.IMU_FAULT)
_IMU_LOST = int(FrameFlag.IMU_LOST)
_IMU_STALE = int(FrameFlag.IMU_STALE)
_INVALIDATING = _CORNER_FAULT_ANY | _SATURATED | _SPIKE
_STALE_CORNER = tuple(int(f) for f in STALE_CORNER_FLAGS)
_FAULT_CORNER = tuple(int(f) for f in FAULT_CORNER_FLAGS)

SPIKE_LIMIT_N = 500.0
"""A corner force changing by more than this between consecutive frames is implausible (a person
stepping or even jumping on the plate changes a corner's load by far less in 10 ms at 100 Hz);
such a frame is flagged SPIKE and INVALID. Corruption of the low bytes stays below it and below
a newton; corruption of the high byte is caught."""

HEALTH_INTERVAL_NS = 1_000_000_000
"""Health is recomputed and published once a second."""

MAX_POLL_FRACTION = 0.8
"""Sub-polls are at most this fraction of the ADC's conversion period apart, so that every
conversion is read before the next replaces it even when a wake-up is a little late."""

URGENT_LATE_NS = 0
"""A poll that wakes later than this reads the corners most urgent first (the one whose unread
conversion its chip overwrites first), not in the order FL, FR, BL, BR. Every poll on a real
clock wakes a little late, so on a Pi the order is always by urgency: switching between the two
orders would itself move a corner's read by up to three other corners' reads (0.8 ms with their
results) and cost conversions. Only a simulated clock wakes exactly on time; there the fixed
order is safe (polls 0.8 of a conversion period apart) and keeps the frames as they were, ns."""

FIT_EVERY = 1
"""A chip's regression is fed one conversion in this many (and every one after a long wait). Every
one: feeding one in four saves CPU but, the poll windows being coarse, doubles the rate's error
(3e-4 instead of 1e-4 after 5 s)."""

GAP_CHECK_CONVERSIONS = 4
"""After a wait longer than :data:`GAP_CHECK_LONG_NS`, the count of the conversions the chip
overwrote is checked on this many conversions read after it, after a shorter one (a Pi's late
wake-up) on the first (:meth:`AcquisitionLoop._checked_gap_index`)."""

FIT_BIAS_WEIGHT = 1.0 / 16
"""How much each conversion read in a short window moves the running mean of where the windows' middles lie
against the fit (``_fit_bias``, in periods): a chip's clock that changes rate at once is ahead of or behind
the fit (about 2 s long) until it follows, and a late wake-up's count of the conversions overwritten and its
check are made against the fit less that (s28 A6: a NAU7802 0.2 % slower at once had the fit half a period
early, a late wake-up counted one conversion too many, the check against the same fit kept it, and the
fit followed the count: 1 more a second, for good)."""

GAP_CHECK_LONG_NS = 100_000_000
"""A wait longer than this is a stall: the fit drifts over it (by 0.03 of a period in 0.1 s at a
rate known to 1e-4 ... ), and one window places a conversion within ±0.4 period only, ns."""

IMU_KEEP_NS = 100_000_000
"""An IMU FIFO holding up to this much (and what the frames still to be made need) is read; one holding
more is emptied unread (:meth:`AcquisitionLoop._imu_samples_needed`), ns. 0.1 s is 21 samples at
208 Hz, about 6 ms of bus, under a frame period: such a read costs the plate no frame, so a late
wake-up's samples (the Pi-like clock's 40-60 ms stalls) are kept."""

IMU_FIT_DECAY = 1.0 / 256
"""The IMU's regression is fed once per frame, its window (the read of the FIFO's level) a sample
period long, and the middle of those windows is the samples' time only on average over the phases of
the chip's samples against the reads. At 208 Hz into 100-Hz frames the phase comes round 8 times a
second, but an MPU-6050 at 200 Hz (its divider's nearest) is 2 samples a frame and 0.1-0.5 % off:
the phase comes round once in 1-5 s. Fitted over about 0.6 s (decay 1/32, before s28) the fit
followed the phase, its samples ±2.4 ms off and its rate ±0.3 %; over about 5 s (1/256) the MPU-6050's
are within 0.3-0.5 ms on average, the LSM6DSOX's 0.07 ms, and a chip clock drifting with temperature
is still followed. Since s29 the samples are timed by what the reads say for certain
(:class:`~station.acquire.readbounds.ReadBounds`) once those pin them within most of a period; the fit
times them before that (the first reads), and gives the chip's rate (health) and the count of samples."""

IMU_SPACING = 0.98
"""Successive IMU samples are at least this many fitted periods apart (a chip's clock is within 2 %
of its nominal rate, :class:`~station.acquire.chipclock.ChipClock`'s tolerance)."""

IMU_RETRY_NS = 1_000_000_000
"""A failed IMU is brought up again this long after it failed, ns."""

RECENT_S = 10.0
"""Health's ``frames_recent`` counts the frames read and lost in about this last stretch (10-11 s:
counted from the once-a-second health reports): a loss there is happening now (the live view
shows it red), an older one is history (shown neutrally beside the total since the start), s."""


# The loop's own reasons for a state that is not ok, in words a clinician reads (what happened, what it means
# for a test, and what to do, where the health chip does not say it: web/static/js/app.js HEALTH_TO_DO has
# what to do for a station that is down), each with a code tools read (``reason_code``) and the
# engineer's words in ``detail`` (the journal's status line says those: station.sdnotify.status_text).
PLATE_NOT_ANSWERING_CODE = "plate_not_answering"
PLATE_NOT_ANSWERING_WORDS = "the plate does not answer: none of its four corners can be read"
SENSOR_PROBLEM_CODE = "sensor_problem"
NOT_CALIBRATED_CODE = "plate_not_calibrated"
NOT_CALIBRATED_WORDS = ("the plate is not calibrated: the weights it measures may be off by several per cent; ask "
                        "whoever looks after the station to calibrate it")
ASK_TO_CHECK = "ask whoever looks after the station to check"
_CORNER_WORDS = {"fl": "front-left", "fr": "front-right", "bl": "back-left", "br": "back-right"}
_CORNER_STATUS_WORDS = {"down": "does not answer", "stuck": "sends a reading that does not change",
                        "saturated": "is overloaded (more weight on it than it can measure)"}


def sensor_problem_words(problems: list[tuple[str, str]]) -> str:
    """``degraded`` for sensors not ok: ``(name, status)`` of each (a corner ``fl`` ... ``br``
    ``down``, ``stuck`` or ``saturated``; the IMU ``fault``), in a clinician's words with what it
    means for a test and what to do.

    >>> sensor_problem_words([("fl", "down")])
    "the plate's front-left corner does not answer: a test on the plate recorded now would be invalid (the station keeps trying to read it); ask whoever looks after the station to check the plate's cable"
    >>> sensor_problem_words([("imu", "fault")])
    "the lower-back sensor is not working: a walk recorded now is timed by its light gates, without gait measures (the station keeps trying to read it); tests on the plate are not affected; ask whoever looks after the station to check the sensor's cable"
    >>> sensor_problem_words([("br", "saturated")])
    "the plate's back-right corner is overloaded (more weight on it than it can measure): a test on the plate recorded now would be invalid; take anything but the patient off the plate"
    """
    said = []
    corners = [(n, status) for n, status in problems if n in _CORNER_WORDS]
    if corners:
        what = " and ".join(f"the plate's {_CORNER_WORDS[n]} corner {_CORNER_STATUS_WORDS.get(status, status)}"
                            for n, status in corners)
        if all(status == "saturated" for _, status in corners):
            said.append(f"{what}: a test on the plate recorded now would be invalid; take anything but the patient off "
                        "the plate")
        else:
            said.append(f"{what}: a test on the plate recorded now would be invalid (the station keeps trying to read "
                        f"it); {ASK_TO_CHECK} the plate's cable")
    if any(n == "imu" for n, _ in problems):
        said.append("the lower-back sensor is not working: a walk recorded now is timed by its light gates, without "
                    "gait measures (the station keeps trying to read it)"
                    + ("" if corners else "; tests on the plate are not affected")
                    + f"; {ASK_TO_CHECK} the sensor's cable")
    return "; ".join(said)


@dataclass
class AcquisitionStats:
    """Counters since the loop started."""

    frames: int = 0
    frames_lost: int = 0
    frames_late: int = 0
    frames_invalid: int = 0
    frames_spike: int = 0
    corner_stale: int = 0
    imu_stale: int = 0
    recoveries: int = 0
    conversions_missed: int = 0
    conversions_in_lost_frames: int = 0
    imu_samples: int = 0
    imu_samples_lost_events: int = 0
    imu_samples_in_lost_frames: int = 0
    imu_fifo_overflows: int = 0
    """FIFO reads that found it had overflowed: samples overwritten before they could be read (a stall
    longer than the FIFO holds, 1.2 s at 208 Hz); how many is not known."""
    imu_fifo_emptied: int = 0
    """Times the FIFO was emptied unread with the chip's own reset, after a stall: what it held belonged
    to frames already lost (:data:`IMU_KEEP_NS`)."""
    imu_samples_emptied: int = 0
    """The samples so emptied."""

    def imu_fifo(self, rate_hz: float) -> dict:
        """What the IMU FIFO lost: ``overflows`` (reads that found it overflowed: samples overwritten
        unread, how many unknown), ``emptied`` (times emptied unread after a stall, its samples belonging
        to frames already lost), ``samples_emptied`` and their length at the IMU's rate ``rate_hz``,
        ``samples_emptied_s`` (None while the rate is 0: an IMU whose bring-up failed).

        >>> AcquisitionStats(imu_fifo_overflows=1, imu_fifo_emptied=2, imu_samples_emptied=416).imu_fifo(208.0)
        {'overflows': 1, 'emptied': 2, 'samples_emptied': 416, 'samples_emptied_s': 2.0}
        """
        return {"overflows": self.imu_fifo_overflows, "emptied": self.imu_fifo_emptied,
                "samples_emptied": self.imu_samples_emptied,
                "samples_emptied_s": round(self.imu_samples_emptied / rate_hz, 3) if rate_hz else None}


class AcquisitionLoop:
    """Reads frames at ``config.acquisition.rate_hz`` and hands each to ``sink``.

    Parameters
    ----------
    clock : station.clock.Clock
        Time base of the deadlines and the frame timestamps.
    plate : station.hw.plate.PlateFrontEnd
        The four corner ADCs (already brought up with :meth:`begin`).
    imu : station.hw.imu.Imu or None
        The IMU driver, or None when the station has none. Brought up with its FIFO on, unless
        ``imu_error`` says its bring-up failed (then the loop keeps trying).
    calibration : PlateCalibration
        Counts-to-newton conversion.
    config : StationConfig
        Rate, plate geometry and COP force gate.
    sink : callable
        Called with each frame as a tuple in FRAME_DTYPE field order (for example
        :meth:`station.acquire.ring.FrameRing.write`).
    bus_errors : callable, optional
        Returns the bus's transient + persistent error count (for health).
    on_health : callable, optional
        Called with the health document once a second.
    imu_error : str, optional
        Why the IMU's bring-up failed (it is a fault, retried), None when it came up.
    imu_absent_reason : str, optional
        Why there is no IMU (shown in health when ``imu`` is None).
    """

    def __init__(
        self,
        *,
        clock,
        plate,
        imu,
        calibration: PlateCalibration,
        config: StationConfig,
        sink: Callable[[tuple], None],
        bus_errors: Callable[[], int] | None = None,
        on_health: Callable[[dict], None] | None = None,
        extra_health: Callable[[], dict] | None = None,
        imu_error: str | None = None,
        imu_absent_reason: str | None = None,
    ) -> None:
        self.clock = clock
        self.plate = plate
        self.imu = imu
        self.config = config
        self.sink = sink
        self._bus_errors = bus_errors or (lambda: 0)
        self._on_health = on_health
        self._extra_health = extra_health
        self.rate_hz = float(config.acquisition.rate_hz)
        if not (0 < self.rate_hz <= 1000):
            raise ValueError(f"acquisition rate must be in (0, 1000] Hz, got {self.rate_hz}")
        self.period_ns = round(1e9 / self.rate_hz)
        self.late_tolerance_ns = self.period_ns // 4
        self.adc_period_ns = 1e9 / config.plate.adc_rate_sps
        self.polls_per_frame = max(1, math.ceil(self.period_ns / (MAX_POLL_FRACTION * self.adc_period_ns)))
        # A front end that numbers and times its samples itself (the RP2040) keeps them for the
        # Pi: it is read once per frame, at the frame's deadline (no sub-polls).
        self._timed_plate = bool(getattr(plate, "timestamps_samples", False))
        if self._timed_plate:
            self.polls_per_frame = 1
        # Such a front end also keeps its sets through a late wake-up (its ring holds 128: 0.4 s
        # at 320 SPS): frames up to this far behind are still made, late, from their periods' sets.
        self._catch_up_ns = 250_000_000 if self._timed_plate else 0
        self.poll_ns = self.period_ns // self.polls_per_frame
        self.set_calibration(calibration)
        self.stats = AcquisitionStats()
        # Every corner is read at every poll, so a conversion is known to have happened within one
        # poll interval (under 0.8 of its period): windows up to 0.9 period are fitted.
        # The windows are coarse (a poll interval), so the fit spans about 2 s of conversions (a
        # chip clock drifts with temperature over minutes), fed one conversion in FIT_EVERY.
        self.chip_clocks = [ChipClock(self.adc_period_ns, max_window=0.9, decay=FIT_EVERY / 256) for _ in range(4)]
        self._one_conversion_ns = self.adc_period_ns * (1.0 - self.chip_clocks[0].tolerance)
        self._k: list[int | None] = [None, None, None, None]
        self._sum = [0, 0, 0, 0]
        self._n = [0, 0, 0, 0]
        self._carry: list[list] = [[], [], [], []]
        # the earliest time in each corner's carry (inf when empty): a catch-up after a long stall
        # asks at every lost frame whether a corner has a conversion of its own, and the carry grows
        # by a read a pass, so a scan of it made that quadratic (a 15-min gap took 11 min of CPU)
        self._carry_min_ns = [_INF_NS, _INF_NS, _INF_NS, _INF_NS]
        self._corner_conversions = [0, 0, 0, 0]
        self._last_conversion: list[int | None] = [None, None, None, None]
        self._spike = False
        self._corner_missed = [0, 0, 0, 0]
        # conversions counted missed at a corner's last long wait, until the count is checked
        # (:meth:`_checked_gap_index`); None when there is nothing to check
        self._gap_missed: list[int | None] = [None, None, None, None]
        # the distances (in periods) of the first conversions after that wait from the fit
        self._gap_distances: list[list[float]] = [[], [], [], []]
        self._gap_check_n = [1, 1, 1, 1]  # how many of them the check takes
        # how far each corner's short windows' middles lie after its fit (periods, a running mean): ~0, but
        # a chip whose clock just changed rate is ahead of or behind the fit until it follows (FIT_BIAS_WEIGHT)
        self._fit_bias = [0.0, 0.0, 0.0, 0.0]
        self._last_counts = [0.0, 0.0, 0.0, 0.0]
        self._have_counts = [False, False, False, False]
        self._was_recovering = [False, False, False, False]
        self._timed_lost = 0
        self._timed_floor_ns = -math.inf  # sets up to this time belong to lost frames
        self._last_wake_ns = -(1 << 62)  # when the loop woke for the last frame it made or lost
        self._read_at_ns = -(1 << 62)  # when the loop last read the plate
        # IMU.
        self._imu_state = "absent" if imu is None else ("fault" if imu_error else "ok")
        self._imu_error = imu_error if imu is not None else None
        self._imu_absent_reason = imu_absent_reason
        self._imu_steps = None
        self._imu_resume_ns = 0
        self._imu_retry_ns = 0
        self._imu_clock: ChipClock | None = None
        self._imu_bounds: ReadBounds | None = None
        self._imu_k = 0
        self._imu_carry: list = []
        self._imu_floor_ns = -_INF_NS  # IMU samples up to this time predate the first frame's period
        self._imu_after_ns = -_INF_NS  # the next IMU sample read was made after this (the last level read)
        self._last_imu = _NAN6
        self._last_forces = [_NAN, _NAN, _NAN, _NAN]
        self._seq = 0
        self._poll = 0
        self._t0_ns: int | None = None
        self._started_ns: int | None = None  # the clock when start() was called, ns (the health's started_ns)
        self._health_due_ns = 0
        self._health_frames = 0
        self._health_t_ns = 0
        self.measured_rate_hz: float | None = None
        self._counts_at: deque[tuple[int, int, int]] = deque()  # (t_ns, frames, frames_lost) at health reports
        self.health_doc: dict = {}
        self._started_wall = time.time()
        self._cpu_thread_start = time.thread_time()

    # -- configuration -------------------------------------------------------------------------
    def set_calibration(self, calibration: PlateCalibration) -> None:
        """Use a new calibration from the next frame on."""
        self.calibration = calibration
        self._zero = tuple(float(z) for z in calibration.zero_counts)
        self._gain = tuple(float(g) for g in calibration.n_per_count)
        self._base_flags = 0 if calibration.is_measured else int(FrameFlag.UNCALIBRATED)
        self._last_forces = [_NAN, _NAN, _NAN, _NAN]  # no spike check across a calibration change

    # -- running -------------------------------------------------------------------------------
    def start(self) -> None:
        """Fix the first deadline one period after the next whole multiple of the period on the
        clock (its period is polled like every other), and start
        every chip's count afresh (the IMU's FIFO is emptied: what it held predates the frames)."""
        if self.imu is not None and self._imu_state == "ok":
            self._start_imu_stream()
        if self._timed_plate:  # the sets the front end kept so far predate the frames, too
            self.plate.skip_backlog()
            self._timed_lost = self.plate.sets_lost
        now = self.clock.monotonic_ns()
        self._started_ns = now
        # The first frame is a whole period away, so that its period is polled like every other.
        self._t0_ns = -(-now // self.period_ns) * self.period_ns + self.period_ns
        self._imu_floor_ns = self._t0_ns - self.period_ns
        self._seq = 0
        self._poll = 1 - self.polls_per_frame
        self._last_wake_ns = self._read_at_ns = -(1 << 62)
        self._health_t_ns = self._t0_ns
        self._health_due_ns = self._t0_ns + HEALTH_INTERVAL_NS
        self._counts_at = deque([(self._t0_ns, self.stats.frames, self.stats.frames_lost)])
        for i in range(4):
            self._restart_corner(i)
        self._cpu_thread_start = time.thread_time()

    def deadline_of(self, seq: int) -> int:
        """The deadline of frame ``seq`` on the clock, ns (its place on the sample grid)."""
        if self._t0_ns is None:
            raise RuntimeError("call start() first")
        return self._t0_ns + seq * self.period_ns

    @property
    def next_deadline_ns(self) -> int:
        if self._t0_ns is None:
            raise RuntimeError("call start() first")
        return self._t0_ns + self._seq * self.period_ns

    def step(self) -> tuple:
        """Wait for the next deadline (reading the plate at the sub-deadlines before it), read one
        frame, hand it to the sink and return it. Frames the loop reached late with nothing of
        their own are counted lost on the way (see the module's "Waking late")."""
        clock = self.clock
        flags = self._base_flags
        while True:
            deadline = self.next_deadline_ns
            t_ns = self._wait_for(deadline)
            behind = t_ns - deadline
            t0, poll_ns = self._t0_ns, self.poll_ns
            if self._timed_plate and behind >= self.period_ns and behind >= self._catch_up_ns:
                skipped = behind // self.period_ns
                self._seq += skipped
                self.stats.frames_lost += skipped
                deadline += skipped * self.period_ns
                # the lost frames' sets, still in the front end's ring
                self._timed_floor_ns = deadline - self.period_ns
                self.stats.conversions_in_lost_frames += 4 * self.plate.skip_sets_until(self._timed_floor_ns)
                flags |= _LOST_BEFORE
                behind = t_ns - deadline
                self._drop_lost_samples()
            self._poll = max((deadline - t0) // poll_ns + 1, (t_ns - t0) // poll_ns + 1)
            # Slept through part of its period: reached late, or a sub-poll woke late (no read for
            # longer than a poll interval and the tolerance), or its deadline had passed when the
            # loop woke for the frame before.
            slept = (behind > self.late_tolerance_ns or t_ns - self._read_at_ns > poll_ns + self.late_tolerance_ns
                     or self._last_wake_ns >= deadline)
            self._last_wake_ns = t_ns
            self._poll_plate(t_ns, deadline, True, behind)
            if self._timed_plate or not slept or self._has_own_conversions(deadline):
                break
            # and every conversion of its period that a corner still up made was overwritten
            # before it could be read: the frame would only repeat old values. Lost. So is every
            # later frame due before the wake-up and before the earliest conversion the corners
            # now hold: lost at once, not one plate read each (after a long stall a read per lost
            # frame cost a second of CPU and 6 s of bus time a minute slept).
            lost = self._frames_without_conversions(deadline, t_ns)
            self._seq += lost
            self.stats.frames_lost += lost
            flags |= _LOST_BEFORE
            self._drop_lost_samples()
        if behind > self.late_tolerance_ns:
            flags |= _LATE
            self.stats.frames_late += 1

        flags, counts = self._frame_counts(flags, deadline)
        flags, imu_values = self._read_imu(flags, deadline)
        if not flags & _LATE and clock.monotonic_ns() > deadline + self.period_ns:
            flags |= _LATE  # reading took longer than a period: the bus hung or is slow
            self.stats.frames_late += 1

        zero, gain, previous = self._zero, self._gain, self._last_forces
        forces = [_NAN, _NAN, _NAN, _NAN]
        for i in range(4):
            c = counts[i]
            if c is not None:
                f = (c - zero[i]) * gain[i]
                if abs(f - previous[i]) > SPIKE_LIMIT_N:
                    flags |= _SPIKE
                forces[i] = f
        self._last_forces = forces
        if flags & _SPIKE:
            self.stats.frames_spike += 1
        if flags & _INVALIDATING:
            flags |= _INVALID
            self.stats.frames_invalid += 1
            fz = _NAN if flags & _CORNER_FAULT_ANY else forces[0] + forces[1] + forces[2] + forces[3]
            ap = ml = _NAN
        else:
            plate_cfg = self.config.plate
            ap, ml, fz = cop_from_corners(
                forces[0], forces[1], forces[2], forces[3], plate_cfg.width_cm, plate_cfg.depth_cm, plate_cfg.cop_min_force_n
            )
            if ap != ap:  # NaN: below the COP force gate
                flags |= _LOW_LOAD
        raw = [round(c) if c is not None else 0 for c in counts]
        frame = (
            self._seq, t_ns, forces[0], forces[1], forces[2], forces[3], fz, ap, ml,
            *imu_values, raw[0], raw[1], raw[2], raw[3], flags,
        )  # fmt: skip
        self.sink(frame)
        self._seq += 1
        self.stats.frames += 1
        self._recovery_step(clock.monotonic_ns())
        if t_ns >= self._health_due_ns:
            self._update_health(t_ns)
        return frame

    def run(self, should_stop: Callable[[], bool], max_frames: int | None = None) -> None:
        """Run until ``should_stop()`` is true (checked every frame) or ``max_frames`` were read."""
        if self._t0_ns is None:
            self.start()
        n = 0
        while not should_stop():
            self.step()
            n += 1
            if max_frames is not None and n >= max_frames:
                break

    def _wait_for(self, deadline: int) -> int:
        """Sleep until ``deadline``, reading the plate at the sub-deadlines before it; returns the
        time the loop woke for the frame (``deadline`` or later)."""
        clock = self.clock
        t0, poll_ns = self._t0_ns, self.poll_ns
        while True:
            poll_at = t0 + self._poll * poll_ns
            if poll_at >= deadline:
                break
            clock.sleep_until_ns(poll_at)
            now = clock.monotonic_ns()
            if now >= deadline:
                break
            self._poll_plate(now, deadline, False, now - poll_at)
            self._poll = max(self._poll + 1, (now - t0) // poll_ns + 1)
        clock.sleep_until_ns(deadline)
        return clock.monotonic_ns()

    def _has_own_conversions(self, deadline: int) -> bool:
        """Whether a corner that is up (``ok`` or ``saturated``) has a conversion of its own in the
        period of the frame due at ``deadline`` (read so far); True when no corner is up (the frame
        is made, its corners flagged FAULT)."""
        states = self.plate.corner_state
        window_start = deadline - self.period_ns
        any_up = False
        for i in range(4):
            if states[i] not in ("ok", "saturated"):
                continue
            any_up = True
            if self._n[i]:
                return True
            if self._carry_min_ns[i] > deadline:  # every carried conversion is of a later period
                continue
            for t, _, _ in self._carry[i]:
                if window_start < t <= deadline:
                    return True
        return not any_up

    def _frames_without_conversions(self, deadline: int, t_ns: int) -> int:
        """How many frames from the one due at ``deadline`` on (itself lost: no conversion of its
        own) are due before the wake-up at ``t_ns`` and before the earliest conversion held by a
        corner that is up: none of them can have a conversion of its own (at least 1)."""
        states = self.plate.corner_state
        held = min((self._carry_min_ns[i] for i in range(4) if states[i] in ("ok", "saturated")), default=_INF_NS)
        if held == _INF_NS:  # nothing held: one at a time, as every frame was before
            return 1
        return max(1, math.ceil((min(held, t_ns) - deadline) / self.period_ns))

    # -- the plate -----------------------------------------------------------------------------
    def _restart_corner(self, i: int) -> None:
        self.chip_clocks[i].reset()
        self._k[i] = None
        self._gap_missed[i] = None
        self._gap_distances[i] = []
        self._gap_check_n[i] = 1
        self._fit_bias[i] = 0.0
        self._carry[i] = []
        self._carry_min_ns[i] = _INF_NS
        self._last_conversion[i] = None

    def _poll_plate(self, now: int, deadline: int, frame_poll: bool, late_ns: int = 0) -> None:
        """Read every corner that is up (and report the down ones at a frame's own poll) and file
        each new conversion into its frame.

        Every corner is read at every poll, not only when the regression says its next
        conversion is due: polls closer together than a conversion period make each new
        conversion exactly the next one (counting needs no estimate, so a poor estimate can never
        feed itself), and a late poll is the only place where the regression decides how many
        conversions the chip overwrote. ``late_ns``: how late the poll woke; later than
        :data:`URGENT_LATE_NS`, the corners are read most urgent first."""
        plate = self.plate
        self._read_at_ns = now
        if self._timed_plate:
            self._file_timed_sets(deadline)
            return
        if frame_poll:
            mask = 0b1111
        else:
            states = plate.corner_state
            mask = 0
            for i in range(4):
                if states[i] != "down":
                    mask |= 1 << i
            if not mask:
                return
        ks, chips, gain, last_conversion = self._k, self.chip_clocks, self._gain, self._last_conversion
        if late_ns > URGENT_LATE_NS:
            # Most urgent first: the corner whose unread conversion came first is the one its chip
            # overwrites first.
            due = [chips[i].time_of(ks[i] + 1) if ks[i] is not None else -math.inf for i in range(4)]
            values, _ = plate.read_corners(mask, sorted(range(4), key=due.__getitem__))
        else:
            values, _ = plate.read_corners(mask)
        read_ns, prev_read_ns = plate.read_ns, plate.prev_read_ns
        one_conversion_ns = self._one_conversion_ns
        fit_bias = self._fit_bias
        for i in range(4):
            value = values[i]
            if value is None:
                continue
            # Number and time this new conversion of corner i, then put it in its frame.
            chip = chips[i]
            hi, lo = read_ns[i], prev_read_ns[i]
            k = ks[i]
            trusted = False
            if k is None:
                k = 0
                chip.observe(k, lo, hi)
            elif hi - lo < one_conversion_ns:
                k += 1  # at most one conversion fits in a window shorter than a period
                gap_missed = self._gap_missed[i]
                if gap_missed is not None and hi - lo <= self.poll_ns:
                    k += self._checked_gap_index(i, k, lo, hi, gap_missed)
                    gap_missed = self._gap_missed[i]
                if (gap_missed is None or self._gap_check_n[i] == 1) and (not k % FIT_EVERY or chip.fitted < chip.min_fit):
                    chip.observe(k, lo, hi)  # (not while a stall's count is being checked: k may be off)
                trusted = gap_missed is None  # its number is not waiting for a check
            else:  # a long wait since the last read: the chip may have overwritten conversions
                newest = chip.index_at(hi - round(fit_bias[i] * chip.period_ns))
                missed = max(0, newest - k - 1)
                if missed:
                    self._corner_missed[i] += missed
                    self.stats.conversions_missed += missed
                check_n = GAP_CHECK_CONVERSIONS if hi - lo > GAP_CHECK_LONG_NS else 1
                pending = self._gap_missed[i]
                if pending is not None:
                    # another long wait before the last one's count was checked: the check that follows
                    # may take back what both counted (before 2026-12-06 this wait's count replaced the
                    # pending one, so a conversion counted missed one too many at the first could not be
                    # taken back: the fit then followed the count one ahead, counted more, and ran away,
                    # 122 conversions ahead and 0.5 % fast after 10 min on the Pi-like clock, seed 4)
                    missed += pending
                    check_n = max(check_n, self._gap_check_n[i])
                self._gap_missed[i] = missed
                self._gap_distances[i] = []
                self._gap_check_n[i] = check_n
                k = max(k + 1, newest)
                chip.observe(k, lo, hi)
            ks[i] = k
            self._corner_conversions[i] += 1
            t = chip.time_of(k)
            if trusted and chip.fitted >= chip.min_fit:
                bias = fit_bias[i]
                fit_bias[i] = bias + ((0.5 * (lo + hi) - t) / chip.period_ns - bias) * FIT_BIAS_WEIGHT
            # A conversion that jumps by more than a body can load a corner in one conversion
            # period (a corrupted transfer) is flagged, whatever it is averaged with.
            last = last_conversion[i]
            spike = last is not None and abs(value - last) * gain[i] > SPIKE_LIMIT_N
            last_conversion[i] = value
            if t <= deadline:
                self._sum[i] += value
                self._n[i] += 1
                if spike:
                    self._spike = True
            else:
                self._carry[i].append((t, value, spike))
                if t < self._carry_min_ns[i]:
                    self._carry_min_ns[i] = t

    def _checked_gap_index(self, i: int, k: int, lo: int, hi: int, gap_missed: int) -> int:
        """How far the count of corner ``i`` was off after its last long wait, checked on the first
        :data:`GAP_CHECK_CONVERSIONS` conversions after it read in windows no longer than a poll
        interval (this one ``k``, in ``(lo, hi]``); 0 until the last of them.

        After a long wait the newest conversion's number is the fit's at the read: a conversion
        made within the fit's offset (0.1-0.3 ms: a read's own bus time) before the read was taken
        for the one before it (found by helper A2: after a 1-s stall 4 corners in 240 were counted
        one short, after 0.2 s 17). The windows of the next ones are short and timed as the fit's
        own observations are, so their mean distance to the fit in periods, rounded, is the count's
        error: added to the conversions missed (never below the ones counted at that wait). One
        window alone places its conversion only within ±0.4 period (a poll interval is 0.8 of one),
        and with the fit's drift over a 5-s stall (up to 0.2 period) that was too coarse: 6 corners
        in 416 counted one short once the 74-ms read of the IMU's overflowed FIFO no longer made a
        second estimate (s26). After a stall (a wait over :data:`GAP_CHECK_LONG_NS`) the mean of
        :data:`GAP_CHECK_CONVERSIONS`, their windows at 4 phases of the period, is within about
        ±0.1 period (the fit is not fed meanwhile: their numbers may be off); after a late wake-up
        the first one, as before. From a stall of some 15 s on, the fit's drift (its rate is known to about
        1e-4 from its last 2 s) reaches half a period, and no window after the stall can tell a
        missed conversion from drift (the NAU7802 numbers none of its conversions): such counts are
        within ±1 at 20 s and ±2 at 60 s (4 seeds, 4 phases: 50 of 128 corners off, 52 before)."""
        chip = self.chip_clocks[i]
        distances = self._gap_distances[i]
        distances.append((0.5 * (lo + hi) - chip.time_of(k)) / chip.period_ns)
        if len(distances) < self._gap_check_n[i]:
            return 0
        self._gap_missed[i] = None
        shift = max(-gap_missed, round(sum(distances) / len(distances) - self._fit_bias[i]))
        self._gap_distances[i] = []
        if shift:
            self._corner_missed[i] += shift
            self.stats.conversions_missed += shift
        return shift

    def _file_timed_sets(self, deadline: int) -> None:
        """File every set the front end made since the last frame: each was timed by the front
        end's own regression (sequence against its clock, its clock against ours); sets it lost
        are counted by it and added to ``conversions_missed`` here."""
        plate = self.plate
        sets = plate.read_sets(deadline)
        if sets:
            gain = self._gain
            floor = self._timed_floor_ns
            conversions, last_conversion = self._corner_conversions, self._last_conversion
            sums, counts, carry = self._sum, self._n, self._carry
            for t, values in sets:
                if t <= floor:  # a set of a lost frame's period, still in the front end's ring: counted, not moved
                    self.stats.conversions_in_lost_frames += sum(v is not None for v in values)
                    continue
                in_frame = t <= deadline
                for i in range(4):
                    value = values[i]
                    if value is None:
                        continue
                    conversions[i] += 1
                    last = last_conversion[i]
                    spike = last is not None and abs(value - last) * gain[i] > SPIKE_LIMIT_N
                    last_conversion[i] = value
                    if in_frame:
                        sums[i] += value
                        counts[i] += 1
                        if spike:
                            self._spike = True
                    else:
                        carry[i].append((t, value, spike))
                        if t < self._carry_min_ns[i]:
                            self._carry_min_ns[i] = t
        lost = plate.sets_lost
        if lost > self._timed_lost:
            self.stats.conversions_missed += lost - self._timed_lost
            self._timed_lost = lost

    def _drop_lost_samples(self) -> None:
        """The frames these samples belonged to were lost: count them, do not move them into a
        later frame."""
        dropped = sum(self._n)
        self.stats.conversions_in_lost_frames += dropped
        self._sum = [0, 0, 0, 0]
        self._n = [0, 0, 0, 0]

    def _frame_counts(self, flags: int, deadline: int) -> tuple[int, list]:
        """Each corner's mean count over the frame's period (None for a faulted corner)."""
        counts: list = [None, None, None, None]
        states = self.plate.corner_state
        window_start = deadline - self.period_ns
        for i in range(4):
            carry = self._carry[i]
            if carry:
                keep = []
                for t, v, spike in carry:
                    if t > deadline:
                        keep.append((t, v, spike))
                    elif t > window_start:
                        self._sum[i] += v
                        self._n[i] += 1
                        self._spike |= spike
                    else:
                        self.stats.conversions_in_lost_frames += 1
                self._carry[i] = keep
                self._carry_min_ns[i] = min((e[0] for e in keep), default=_INF_NS)
            n = self._n[i]
            state = states[i]
            if state in ("down", "stuck"):
                flags |= _FAULT_CORNER[i]
                self._have_counts[i] = False
                if state == "down" and self._k[i] is not None:
                    self._restart_corner(i)  # its count starts again when it is back
            elif n:
                c = self._sum[i] / n
                self._last_counts[i] = c
                self._have_counts[i] = True
                counts[i] = c
                if state == "saturated":
                    flags |= _SATURATED
            elif self._have_counts[i]:
                counts[i] = self._last_counts[i]
                flags |= _STALE_CORNER[i]
                self.stats.corner_stale += 1
                if state == "saturated":
                    flags |= _SATURATED
            else:
                flags |= _FAULT_CORNER[i]
            self._sum[i] = 0
            self._n[i] = 0
        if self._spike:
            flags |= _SPIKE
            self._spike = False
        return flags, counts

    # -- the IMU -------------------------------------------------------------------------------
    def _start_imu_stream(self) -> None:
        """Empty the FIFO with the chip's own reset, unread, and start numbering its samples afresh.
        What it held predates the frames: neither an overflow nor a loss (:meth:`Imu.restart_fifo`
        clears the overflow it may have latched). Reading it instead (before 2026-12-06) took 81 ms of
        bus for a full LSM6DSOX FIFO (the IMU begun more than 1.2 s before the loop starts; 23 ms for
        the MPU-6050's), delayed the first frame by as much, counted an overflow at every such start, and the samples
        made meanwhile were counted in ``imu_samples_in_lost_frames`` at the first frame though no
        frame was lost."""
        imu = self.imu
        self._imu_clock = ChipClock(1e9 / imu.rate_hz, max_window=1.1, decay=IMU_FIT_DECAY)
        self._imu_bounds = ReadBounds(1e9 / imu.rate_hz, tolerance=self._imu_clock.tolerance)
        self._imu_k = 0
        self._imu_carry = []
        self._imu_after_ns = self.clock.monotonic_ns()  # what the FIFO holds after the reset is newer
        try:
            imu.restart_fifo()
        except (OSError, StationHardwareError) as exc:
            self._imu_failed(exc)

    def _imu_samples_needed(self, deadline: int) -> int:
        """The most IMU samples the FIFO may hold and still be read: those of the frames still to be
        made, from the period of the frame made now (``deadline``) to this moment, and never under
        IMU_KEEP_NS (a late wake-up's FIFO is read as before), nor, on a front end that keeps its sets
        (the RP2040), under the catch-up it makes frames through (0.25 s) and a period, plus 2
        samples for the sample on its way and the chip clock's tolerance. More are of frames already
        lost: the FIFO is emptied instead (a read costs about 0.3 ms of bus a sample).

        The frame made now may be one made late, after a stall, from the conversions of its period read
        before the stall began (a stall that starts after a sub-poll read one: most do), or one whose
        plate was read just before a stall and its IMU after it (the next frame then made late from a
        conversion that read held); the frames after those, up to the period of the next conversion
        the corners hold (or of this moment), are lost (:meth:`_frames_without_conversions`). The
        samples of the frames made late are the FIFO's oldest, under all of those lost frames'
        samples: they are not worth the read, and the frames still to be made start at that period
        (before 2026-12-06 all were read, 104 samples after a 0.5-s stall, and the plate's chips
        overwrote the next 2 frames' conversions meanwhile)."""
        now = self.clock.monotonic_ns()
        period = self.period_ns
        floor = max(IMU_KEEP_NS, self._catch_up_ns + period)
        since = now - deadline + period
        if since > floor:  # a stall: which frames are still to be made?
            # the frames made late after this one from the conversions held (each in the period after the last)
            made_to = deadline
            states = self.plate.corner_state
            held = sorted(t for i in range(4) if states[i] in ("ok", "saturated") for t, _, _ in self._carry[i])
            next_made = now
            for t in held:
                if t > made_to + period:  # a frame with none before it: lost, up to this one's
                    next_made = min(t, now)
                    break
                made_to = max(made_to, deadline + math.ceil((t - deadline) / period) * period)
            if next_made > made_to + period:  # the frames from made_to on are lost: from next_made's period on
                since = now - next_made + period
        return math.ceil(max(since, floor) * self.imu.rate_hz / 1e9) + 2

    def _imu_failed(self, exc: Exception) -> None:
        self._imu_state = "fault"
        self._imu_error = str(exc) or type(exc).__name__
        self._imu_steps = None
        self._imu_retry_ns = self.clock.monotonic_ns() + IMU_RETRY_NS
        self._last_imu = _NAN6

    def _read_imu(self, flags: int, deadline: int) -> tuple[int, tuple]:
        if self.imu is None:
            return flags, _NAN6
        if self._imu_state != "ok":
            return flags | _IMU_FAULT, _NAN6
        try:
            # A FIFO that overflowed, or holds more than the frames still to be made need, is
            # emptied, not read: the rest are samples of frames already lost, and reading them cost
            # the plate's next frames (the LSM6DSOX's 512 words at 208 Hz, 1.2 s, took 74 ms of bus,
            # in which the plate's chips overwrote 7 frames' conversions; a 1-s stall's 67 ms, 5).
            fifo = self.imu.read_fifo(discard_overflowed=True, discard_over=self._imu_samples_needed(deadline))
        except (OSError, StationHardwareError) as exc:
            self._imu_failed(exc)
            return flags | _IMU_FAULT, _NAN6
        chip = self._imu_clock
        # The samples are timed from the read of the FIFO's level (the newest made by its end, the
        # next not before its start), not from the end of the data read: that is 0.6-1.3 ms a frame
        # later at 208 Hz, and every sample was timed that much late (before s28 A6).
        level_read = fifo.level_read_ns
        if level_read is None and len(fifo.samples):  # a driver that does not say: the read's end bounds it
            level_read = (self.clock.monotonic_ns(),) * 2
        if fifo.overflowed or fifo.discarded:
            flags |= _IMU_LOST
            stats = self.stats
            stats.imu_samples_lost_events += 1
            if fifo.overflowed and not fifo.read_failed:
                stats.imu_fifo_overflows += 1
            if fifo.discarded:
                stats.imu_fifo_emptied += 1
                stats.imu_samples_emptied += fifo.discarded
            chip.reset()
            self._imu_bounds.reset()
            self._imu_carry = []
        samples = fifo.samples
        m = len(samples)
        if m:
            if chip.last_k is None:
                first = 0
            else:
                first = self._imu_k
            newest = first + m - 1
            chip.observe(newest, level_read[0] - chip.period_ns, level_read[1])
            if fifo.level_read_ns is not None:  # (the end of a data read says nothing of the next sample)
                self._imu_bounds.add(newest, level_read[0], level_read[1])
            self._imu_k = newest + 1
            self.stats.imu_samples += m
            self._imu_carry.extend(zip(self._imu_sample_times(first, m, level_read[1]), samples.tolist()))
        if level_read is not None:
            self._imu_after_ns = level_read[0]
        window_start = deadline - self.period_ns
        total = None
        n = 0
        keep = []
        for t, row in self._imu_carry:
            if t > deadline:
                keep.append((t, row))
            elif t > window_start:
                if total is None:
                    total = list(row)
                else:
                    for a in range(6):
                        total[a] += row[a]
                n += 1
            elif t > self._imu_floor_ns:
                self.stats.imu_samples_in_lost_frames += 1
            # (else made after the FIFO was emptied at the start but before the first frame's period:
            # of no frame, not of a lost one)
        self._imu_carry = keep
        if n:
            self._last_imu = (total[0] / n, total[1] / n, total[2] / n, total[3] / n, total[4] / n, total[5] / n)
        else:  # no sample in this frame's period: repeat the last one (NaN before the first), flagged
            flags |= _IMU_STALE
            self.stats.imu_stale += 1
        return flags, self._last_imu

    def _imu_sample_times(self, first: int, m: int, by_ns: int) -> list[float]:
        """The times of IMU samples ``first`` ... ``first + m - 1`` just read, the newest made by
        ``by_ns`` (the end of the read of the FIFO's level), ns: each on the line the reads of the last
        6-9 s allow (:class:`~station.acquire.readbounds.ReadBounds`: the centroid of the lines that
        keep every read's bounds), or by the fit, within what those lines allow, while they leave the
        time open by most of a period (the first reads, the first after a clock changed rate at
        once), and either way kept within what this read and the one before
        say for certain: the first made after the last read's level (or the FIFO's emptying), the
        newest by ``by_ns``, each nearly a period after the one before (:data:`IMU_SPACING`). Where
        the fit's phase is off (an MPU-6050 at 200 Hz in its first seconds, :data:`IMU_FIT_DECAY`),
        no sample is then put before the frame it was read in."""
        chip = self._imu_clock
        spacing = chip.period_ns * IMU_SPACING
        after, by = self._imu_after_ns, by_ns - (m - 1) * spacing
        times = []
        bounds = self._imu_bounds
        line = bounds.line()
        if line is None:
            fitted = []
            for k in range(first, first + m):
                t = chip.time_of(k)
                band = bounds.band(k)
                if band is not None:  # the fit, within what the reads allow
                    t = band[0] if t < band[0] else band[1] if t > band[1] else t
                fitted.append(t)
        else:
            a, period = line
            fitted = [a + k * period for k in range(first, first + m)]
        for t in fitted:
            times.append(after if t < after else by if t > by else t)
            after += spacing
            by += spacing
        return times

    # -- recovery ------------------------------------------------------------------------------
    def _recovery_step(self, now_ns: int) -> None:
        """One short step of every recovery in progress (corners, IMU); never blocks."""
        plate = self.plate
        if "down" in plate.corner_state or True in self._was_recovering:
            recovered = plate.recovery_step(now_ns)
            for name in recovered:
                i = CORNERS.index(name)
                self._restart_corner(i)
                self.stats.recoveries += 1
            self._was_recovering = [plate.recovering(i) for i in range(4)]
        if self._imu_state == "fault" and self.imu is not None:
            self._imu_recovery_step(now_ns)

    def _imu_recovery_step(self, now_ns: int) -> None:
        if self._imu_steps is None:
            if now_ns < self._imu_retry_ns:
                return
            cfg = self.config.imu
            self._imu_steps = self.imu.begin_steps(cfg.rate_hz, cfg.accel_range_g, cfg.gyro_range_dps, fifo=True)
            self._imu_resume_ns = now_ns
        if now_ns < self._imu_resume_ns:
            return
        try:
            self._imu_resume_ns = next(self._imu_steps)
        except StopIteration:
            self._imu_steps = None
            self._imu_state = "ok"
            self._imu_error = None
            self._last_imu = _NAN6
            self.stats.recoveries += 1
            self._start_imu_stream()
        except (OSError, StationHardwareError) as exc:
            self._imu_failed(exc)

    # -- health --------------------------------------------------------------------------------
    def _update_health(self, t_ns: int) -> None:
        elapsed_ns = t_ns - self._health_t_ns
        if elapsed_ns > 0:
            self.measured_rate_hz = (self.stats.frames - self._health_frames) * 1e9 / elapsed_ns
        self._health_frames = self.stats.frames
        self._health_t_ns = t_ns
        self._health_due_ns = t_ns + HEALTH_INTERVAL_NS
        counts = self._counts_at
        counts.append((t_ns, self.stats.frames, self.stats.frames_lost))
        window_start = t_ns - int(RECENT_S * 1e9)
        while len(counts) >= 2 and counts[1][0] <= window_start:  # keep one report at or before the window
            counts.popleft()
        self.health_doc = self.health()
        if self._on_health is not None:
            self._on_health(self.health_doc)

    def chip_rates_hz(self) -> dict[str, float | None]:
        """Each chip's sample rate as measured by its regression, Hz (None until known)."""
        if self._timed_plate:
            rates = self.plate.chip_rates_hz()
        else:
            rates = {corner: self.chip_clocks[i].rate_hz for i, corner in enumerate(CORNERS)}
        if self.imu is not None:
            rates["imu"] = self._imu_clock.rate_hz if self._imu_clock is not None else None
        return rates

    def frames_recent(self, now_ns: int) -> dict:
        """Frames read and lost since the newest health report at least :data:`RECENT_S` before
        ``now_ns`` (or since the start): ``{"window_s", "frames", "frames_lost"}``."""
        window_start = now_ns - int(RECENT_S * 1e9)
        base = self._counts_at[0] if self._counts_at else (now_ns, 0, 0)
        for entry in self._counts_at:
            if entry[0] > window_start:
                break
            base = entry
        return {"window_s": RECENT_S, "frames": self.stats.frames - base[1],
                "frames_lost": self.stats.frames_lost - base[2]}

    def health(self) -> dict:
        """The health document of ``GET /healthz`` (JSON-serialisable, no patient data)."""
        sensors: dict[str, dict] = {}
        rates = self.chip_rates_hz()
        for i, corner in enumerate(CORNERS):
            rate = rates[corner]
            sensors[corner] = {
                "kind": getattr(self.plate, "kind", "load cell ADC (NAU7802)"),
                "status": self.plate.corner_state[i],
                "mux_channel": None if self._timed_plate else self.config.plate.mux_channels[i],
                "conversions": self._corner_conversions[i],
                "conversions_missed": self._corner_missed[i],
                "measured_sps": None if rate is None else round(rate, 3),
            }
            error = self.plate.corner_error[i]
            if error and self.plate.corner_state[i] != "ok":
                sensors[corner]["error"] = error
        if self.imu is None:
            sensors["imu"] = {"kind": "IMU", "status": "absent"}
            if self._imu_absent_reason:
                sensors["imu"]["reason"] = self._imu_absent_reason
        else:
            rate = rates.get("imu")
            sensors["imu"] = {
                "kind": f"IMU ({self.imu.name})",
                "status": self._imu_state,
                "address": f"0x{self.imu.address:02X}",
                "samples": self.stats.imu_samples,
                # (its FIFO's overflows and emptyings are the document's imu_fifo_* keys: one count,
                # the acquisition's; the driver's own counts said the same beside them before s28)
                "fifo_failed_reads": int(getattr(self.imu, "fifo_failed_reads", 0)),
                "measured_hz": None if rate is None else round(rate, 3),
            }
            if self._imu_error:
                sensors["imu"]["error"] = self._imu_error
        bad = [(name, s["status"]) for name, s in sensors.items() if s["status"] not in ("ok", "absent")]
        corners_down = [c for c in CORNERS if sensors[c]["status"] == "down"]
        code = None
        if len(corners_down) == 4:
            state, reason, code = "down", PLATE_NOT_ANSWERING_WORDS, PLATE_NOT_ANSWERING_CODE
            detail = "no load cell answers; check the plate cable and the mux"
        elif bad:
            state, reason, code = "degraded", sensor_problem_words(bad), SENSOR_PROBLEM_CODE
            detail = "sensor problem: " + ", ".join(f"{n} {status}" for n, status in bad)
        elif not self.calibration.is_measured:
            state, reason, code = "degraded", NOT_CALIBRATED_WORDS, NOT_CALIBRATED_CODE
            detail = "plate not calibrated: run `balance-station calibrate`"
        else:
            state, reason = "ok", ""
        usage = resource.getrusage(resource.RUSAGE_SELF)
        fifo = self.stats.imu_fifo(self.imu.rate_hz if self.imu is not None else 0)
        doc = {
            "state": state,
            "reason": reason,
            **({"reason_code": code, "detail": detail} if code else {}),
            "rate_hz": {
                "configured": self.rate_hz,
                "measured": None if self.measured_rate_hz is None else round(self.measured_rate_hz, 3),
                "polls_per_frame": self.polls_per_frame,
            },
            "frames": self.stats.frames,
            "frames_lost": self.stats.frames_lost,
            "frames_recent": self.frames_recent(self.clock.monotonic_ns()),
            "frames_late": self.stats.frames_late,
            "frames_invalid": self.stats.frames_invalid,
            "frames_spike": self.stats.frames_spike,
            "corner_stale": self.stats.corner_stale,
            "imu_stale": self.stats.imu_stale,
            "recoveries": self.stats.recoveries,
            "conversions": sum(self._corner_conversions),
            "conversions_missed": self.stats.conversions_missed,
            "conversions_in_lost_frames": self.stats.conversions_in_lost_frames,
            "imu_samples": self.stats.imu_samples,
            "imu_samples_lost_events": self.stats.imu_samples_lost_events,
            "imu_fifo_overflows": fifo["overflows"],
            "imu_fifo_emptied": fifo["emptied"],
            "imu_samples_emptied": fifo["samples_emptied"],
            "imu_samples_emptied_s": fifo["samples_emptied_s"],
            "i2c_errors": int(self._bus_errors()),
            "sensors": sensors,
            "calibration": {
                "method": self.calibration.method,
                "created_utc": self.calibration.created_utc,
                "residual_n": self.calibration.residual_n,
            },
            "process": {
                "pid": os.getpid(),
                "cpu_s": round(usage.ru_utime + usage.ru_stime, 4),
                "loop_thread_cpu_s": round(time.thread_time() - self._cpu_thread_start, 6),
                "rss_mb": round(usage.ru_maxrss / 1024.0, 2),  # peak resident set size
            },
            "published_ns": self.clock.monotonic_ns(),
            # when the loop started, on the same clock, ns: before its first frame the ring's reader says
            # "starting", then "nodata" once it is over NO_FRAMES_S old (station.acquire.source)
            "started_ns": self._started_ns,
        }
        if self._timed_plate:  # sets delivered and lost, CRC failures, restarts, the firmware's counters
            doc["front_end"] = self.plate.health()["front_end"]
        if self._extra_health is not None:
            doc.update(self._extra_health())
        return doc
