"""The acquisition loop: paced reading of the plate and IMU into frames (DESIGN.md §3).

Pacing: frame ``n`` is due at the absolute deadline ``t0 + n·period`` on the injected clock (never
``sleep(period)``, so there is no drift). At each deadline the loop polls the chips' data-ready
status and reads each corner's newest conversion; a corner without a new conversion gets a short,
bounded wait when its ADC is not much faster than the frame rate, and is otherwise repeated and
flagged STALE. A deadline missed by a whole period is a lost frame: ``seq`` skips it and the next
frame carries LOST_BEFORE. Nothing is interpolated.

Faults never stop the loop: a corner that stops answering is flagged FAULT (force NaN), the health
document says which, and the loop tries to re-initialise it once a second until it answers again.
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass

from station.acquire.calibration import PlateCalibration
from station.acquire.frame import FAULT_CORNER_FLAGS, STALE_CORNER_FLAGS, FrameFlag
from station.analysis.cop import cop_from_corners
from station.config import CORNERS, StationConfig
from station.hw.errors import StationHardwareError

_NAN = float("nan")
_NAN6 = (_NAN, _NAN, _NAN, _NAN, _NAN, _NAN)
_CORNER_FAULT_ANY = FrameFlag.FAULT_FL | FrameFlag.FAULT_FR | FrameFlag.FAULT_BL | FrameFlag.FAULT_BR

SPIKE_LIMIT_N = 500.0
"""A corner force changing by more than this between consecutive frames is implausible (a person
stepping or even jumping on the plate changes a corner's load by far less in 10 ms at 100 Hz);
such a frame is flagged SPIKE and INVALID. Corruption of the low bytes stays below it and below
a newton; corruption of the high byte is caught."""

HEALTH_INTERVAL_NS = 1_000_000_000
"""Health is recomputed and published once a second."""


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


class AcquisitionLoop:
    """Reads frames at ``config.acquisition.rate_hz`` and hands each to ``sink``.

    Parameters
    ----------
    clock : station.clock.Clock
        Time base of the deadlines and the frame timestamps.
    plate : station.hw.plate.PlateFrontEnd
        The four corner ADCs (already brought up with :meth:`begin`).
    imu : station.hw.imu.Imu or None
        The IMU (already brought up), or None when the station has none.
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
        adc_period_ns = 1e9 / config.plate.adc_rate_sps
        # Wait for a fresh conversion only when the ADC is not at least twice as fast as the frames.
        self._stale_wait_ns = int(min(adc_period_ns * 1.1, self.period_ns * 0.5)) if adc_period_ns * 2 > self.period_ns else 0
        self._stale_poll_ns = max(int(adc_period_ns / 8), 50_000)
        self.set_calibration(calibration)
        self.stats = AcquisitionStats()
        self._last_counts = [0, 0, 0, 0]
        self._have_counts = [False, False, False, False]
        self._last_imu = _NAN6
        self._imu_ok = True
        self._last_forces = [_NAN, _NAN, _NAN, _NAN]
        self._seq = 0
        self._t0_ns: int | None = None
        self._health_due_ns = 0
        self._health_frames = 0
        self._health_t_ns = 0
        self.measured_rate_hz: float | None = None
        self.health_doc: dict = {}
        self._started_wall = time.time()

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
        """Fix the first deadline at the next whole multiple of the period on the clock."""
        now = self.clock.monotonic_ns()
        self._t0_ns = -(-now // self.period_ns) * self.period_ns
        self._seq = 0
        self._health_t_ns = self._t0_ns
        self._health_due_ns = self._t0_ns + HEALTH_INTERVAL_NS

    @property
    def next_deadline_ns(self) -> int:
        if self._t0_ns is None:
            raise RuntimeError("call start() first")
        return self._t0_ns + self._seq * self.period_ns

    def step(self) -> tuple:
        """Wait for the next deadline, read one frame, hand it to the sink and return it."""
        clock = self.clock
        deadline = self.next_deadline_ns
        clock.sleep_until_ns(deadline)
        t_ns = clock.monotonic_ns()
        flags = self._base_flags
        behind = t_ns - deadline
        if behind >= self.period_ns:
            skipped = behind // self.period_ns
            self._seq += skipped
            self.stats.frames_lost += skipped
            deadline += skipped * self.period_ns
            flags |= FrameFlag.LOST_BEFORE
            behind = t_ns - deadline
        if behind > self.late_tolerance_ns:
            flags |= FrameFlag.LATE
            self.stats.frames_late += 1

        flags, counts = self._read_plate(flags, t_ns)
        flags, imu_values = self._read_imu(flags)
        if not flags & FrameFlag.LATE and clock.monotonic_ns() > deadline + self.period_ns:
            flags |= FrameFlag.LATE  # reading took longer than a period: the bus hung or is slow
            self.stats.frames_late += 1

        zero, gain, previous = self._zero, self._gain, self._last_forces
        forces = [_NAN, _NAN, _NAN, _NAN]
        for i in range(4):
            c = counts[i]
            if c is not None:
                f = (c - zero[i]) * gain[i]
                if abs(f - previous[i]) > SPIKE_LIMIT_N:
                    flags |= FrameFlag.SPIKE
                forces[i] = f
        self._last_forces = forces
        if flags & FrameFlag.SPIKE:
            self.stats.frames_spike += 1
        if flags & (_CORNER_FAULT_ANY | FrameFlag.SATURATED | FrameFlag.SPIKE):
            flags |= FrameFlag.INVALID
            self.stats.frames_invalid += 1
            fz = _NAN if flags & _CORNER_FAULT_ANY else forces[0] + forces[1] + forces[2] + forces[3]
            ap = ml = _NAN
        else:
            plate_cfg = self.config.plate
            ap, ml, fz = cop_from_corners(
                forces[0], forces[1], forces[2], forces[3], plate_cfg.width_cm, plate_cfg.depth_cm, plate_cfg.cop_min_force_n
            )
            if ap != ap:  # NaN: below the COP force gate
                flags |= FrameFlag.LOW_LOAD
        raw = [c if c is not None else 0 for c in counts]
        frame = (
            self._seq, t_ns, forces[0], forces[1], forces[2], forces[3], fz, ap, ml,
            *imu_values, raw[0], raw[1], raw[2], raw[3], int(flags),
        )  # fmt: skip
        self.sink(frame)
        self._seq += 1
        self.stats.frames += 1
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

    # -- reading -------------------------------------------------------------------------------
    def _read_plate(self, flags: int, t_ns: int) -> tuple[int, list]:
        new_counts, fault_mask = self.plate.read_corners()
        if self._stale_wait_ns and fault_mask != 0b1111:
            give_up_ns = t_ns + self._stale_wait_ns
            while any(new_counts[i] is None and not fault_mask >> i & 1 for i in range(4)):
                now = self.clock.monotonic_ns()
                if now >= give_up_ns:
                    break
                self.clock.sleep_until_ns(min(now + self._stale_poll_ns, give_up_ns))
                again, again_faults = self.plate.read_corners()
                for i in range(4):
                    if new_counts[i] is None and again[i] is not None:
                        new_counts[i] = again[i]
                fault_mask |= again_faults
        counts: list = [None, None, None, None]
        states = self.plate.corner_state
        for i in range(4):
            if fault_mask >> i & 1 or states[i] in ("down", "stuck"):
                flags |= FAULT_CORNER_FLAGS[i]
                self._have_counts[i] = False
                continue
            c = new_counts[i]
            if c is None:
                if not self._have_counts[i]:
                    flags |= FAULT_CORNER_FLAGS[i]
                    continue
                c = self._last_counts[i]
                flags |= STALE_CORNER_FLAGS[i]
                self.stats.corner_stale += 1
            else:
                self._last_counts[i] = c
                self._have_counts[i] = True
            if states[i] == "saturated":
                flags |= FrameFlag.SATURATED
            counts[i] = c
        return flags, counts

    def _read_imu(self, flags: int) -> tuple[int, tuple]:
        imu = self.imu
        if imu is None:
            return flags, _NAN6
        try:
            if imu.data_ready():
                self._last_imu = imu.read_sample()
            else:  # no new sample: repeat the last one (NaN before the first), flagged
                flags |= FrameFlag.IMU_STALE
                self.stats.imu_stale += 1
        except (OSError, StationHardwareError):
            self._last_imu = _NAN6
            flags |= FrameFlag.IMU_FAULT
            self._imu_ok = False
        return flags, self._last_imu

    # -- health --------------------------------------------------------------------------------
    def _update_health(self, t_ns: int) -> None:
        elapsed_ns = t_ns - self._health_t_ns
        if elapsed_ns > 0:
            self.measured_rate_hz = (self.stats.frames - self._health_frames) * 1e9 / elapsed_ns
        self._health_frames = self.stats.frames
        self._health_t_ns = t_ns
        self._health_due_ns = t_ns + HEALTH_INTERVAL_NS
        self._recover()
        self.health_doc = self.health()
        if self._on_health is not None:
            self._on_health(self.health_doc)

    def _recover(self) -> None:
        """Re-initialise sensors that went down and answer again (once a second)."""
        if any(state == "down" for state in self.plate.corner_state):
            recovered = self.plate.try_recover()
            self.stats.recoveries += len(recovered)
        imu = self.imu
        if imu is not None and not self._imu_ok:
            imu_cfg = self.config.imu
            try:
                imu.begin(imu_cfg.rate_hz, imu_cfg.accel_range_g, imu_cfg.gyro_range_dps)
                self._imu_ok = True
                self._last_imu = _NAN6
                self.stats.recoveries += 1
            except (OSError, StationHardwareError):
                pass  # still gone: try again in a second

    def health(self) -> dict:
        """The health document of ``GET /healthz`` (JSON-serialisable, no patient data)."""
        sensors: dict[str, dict] = {}
        for i, corner in enumerate(CORNERS):
            sensors[corner] = {
                "kind": "load cell ADC (NAU7802)",
                "status": self.plate.corner_state[i],
                "mux_channel": self.config.plate.mux_channels[i],
            }
        if self.imu is None:
            sensors["imu"] = {"kind": "IMU", "status": "absent"}
        else:
            sensors["imu"] = {
                "kind": f"IMU ({self.imu.name})",
                "status": "ok" if self._imu_ok else "down",
                "address": f"0x{self.imu.address:02X}",
            }
        bad = [name for name, s in sensors.items() if s["status"] not in ("ok", "absent")]
        corners_down = [c for c in CORNERS if sensors[c]["status"] == "down"]
        if len(corners_down) == 4:
            state, reason = "down", "no load cell answers; check the plate cable and the mux"
        elif bad:
            state, reason = "degraded", "sensor problem: " + ", ".join(f"{n} {sensors[n]['status']}" for n in bad)
        elif not self.calibration.is_measured:
            state, reason = "degraded", "plate not calibrated: run `balance-station calibrate`"
        else:
            state, reason = "ok", ""
        usage = resource.getrusage(resource.RUSAGE_SELF)
        doc = {
            "state": state,
            "reason": reason,
            "rate_hz": {
                "configured": self.rate_hz,
                "measured": None if self.measured_rate_hz is None else round(self.measured_rate_hz, 3),
            },
            "frames": self.stats.frames,
            "frames_lost": self.stats.frames_lost,
            "frames_late": self.stats.frames_late,
            "frames_invalid": self.stats.frames_invalid,
            "frames_spike": self.stats.frames_spike,
            "corner_stale": self.stats.corner_stale,
            "imu_stale": self.stats.imu_stale,
            "recoveries": self.stats.recoveries,
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
                "rss_mb": round(usage.ru_maxrss / 1024.0, 2),  # peak resident set size
            },
            "published_ns": self.clock.monotonic_ns(),
        }
        if self._extra_health is not None:
            doc.update(self._extra_health())
        return doc
