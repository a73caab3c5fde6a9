"""``balance-station doctor``: measure what the hardware really does and say what to fix.

Two phases on the same drivers as the acquisition:

1. *Rates*: poll every chip's data-ready status faster than it converts and count new
   conversions per chip against the clock, so a corner that runs at 10.8 instead of 80 SPS (as a
   Klipper user found on an HX711 plate) or an IMU at the wrong rate shows at once.
2. *Noise*: run the acquisition loop at the configured rate with the plate empty and still, and
   report each corner's force noise (RMS about a linear trend, in N) and the COP-relevant totals.

Nothing here changes the configuration or the calibration.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from station.acquire.frame import CORNER_FORCE_FIELDS, FAULT_CORNER_FLAGS, FrameFlag
from station.config import CORNERS

RATE_TOLERANCE = 0.05
"""A chip whose measured rate is more than 5 % off its configured rate is reported."""
NOISE_LIMIT_N = 0.5
"""Corner noise above this (N RMS, empty plate) hurts sway velocity; datasheet-level is ~0.05 N."""


@dataclass
class ChipRate:
    name: str
    configured_hz: float
    measured_hz: float | None

    @property
    def ok(self) -> bool:
        return self.measured_hz is not None and abs(self.measured_hz / self.configured_hz - 1) <= RATE_TOLERANCE


@dataclass
class DiagnosticReport:
    rates: list[ChipRate]
    noise_n: dict[str, float | None]
    frame_rate_hz: float | None
    configured_frame_rate_hz: float
    frames_lost: int
    frames_invalid: int
    bus_errors: int
    bus_failures: int
    corner_states: dict[str, str]
    corner_errors: dict[str, str | None]
    imu: str | None
    advice: list[str] = field(default_factory=list)
    front_end: dict | None = None
    """The RP2040 front end's counters over the test (sets, lost, CRC errors, desyncs), else None."""
    imu_fifo: dict | None = None
    """The IMU FIFO over the test (:meth:`~station.acquire.loop.AcquisitionStats.imu_fifo`), None without an IMU."""

    @property
    def ok(self) -> bool:
        return not self.advice

    def to_dict(self) -> dict:
        return {
            "ok": self.ok,
            "rates": [{"chip": r.name, "configured_hz": r.configured_hz, "measured_hz": r.measured_hz} for r in self.rates],
            "noise_n_rms": self.noise_n,
            "frame_rate_hz": {"configured": self.configured_frame_rate_hz, "measured": self.frame_rate_hz},
            "frames_lost": self.frames_lost,
            "frames_invalid": self.frames_invalid,
            "bus_errors": self.bus_errors,
            "bus_failures": self.bus_failures,
            "corners": self.corner_states,
            "imu": self.imu,
            "front_end": self.front_end,
            "imu_fifo": self.imu_fifo,
            "advice": self.advice,
        }


def imu_fifo_words(fifo: dict) -> str:
    """The IMU FIFO's losses in an engineer's words, with units.

    >>> imu_fifo_words({'overflows': 0, 'emptied': 0, 'samples_emptied': 0, 'samples_emptied_s': 0.0})
    'no overflow, never emptied unread'
    >>> imu_fifo_words({'overflows': 1, 'emptied': 2, 'samples_emptied': 416, 'samples_emptied_s': 2.0})
    'overflowed 1 time (samples overwritten before they were read), emptied unread 2 times after a stall (416 samples, 2.00 s)'
    """
    n, e = fifo["overflows"], fifo["emptied"]
    over = (f"overflowed {n} time{'' if n == 1 else 's'} (samples overwritten before they were read)" if n
            else "no overflow")
    emptied = (f"emptied unread {e} time{'' if e == 1 else 's'} after a stall ({fifo['samples_emptied']} samples, "
               f"{fifo['samples_emptied_s']:.2f} s)" if e else "never emptied unread")
    return f"{over}, {emptied}"


def measure_rates(hardware, config, seconds: float) -> list[ChipRate]:
    """Count new conversions per chip while polling at four times the fastest chip's rate."""
    clock, plate, imu = hardware.clock, hardware.plate, hardware.imu
    adc_hz = float(config.plate.adc_rate_sps)
    imu_hz = float(config.imu.rate_hz) if imu is not None else 0.0
    poll_ns = int(1e9 / (4 * max(adc_hz, imu_hz)))
    # A front end that numbers and times its sets (the RP2040) is read every 10 ms; its chips'
    # rates come from its regression of set number against its own clock.
    timed = bool(getattr(plate, "timestamps_samples", False))
    sets_every = max(1, int(10_000_000 // poll_ns)) if timed else 1
    polls = 0
    start_new = list(plate.new_counts)
    imu_samples = 0
    t0 = clock.monotonic_ns()
    end = t0 + int(seconds * 1e9)
    deadline = t0
    while True:
        now = clock.monotonic_ns()
        if now >= end:
            break
        if not timed:
            plate.read_corners()
        elif polls % sets_every == 0:
            plate.read_sets()
        polls += 1
        if imu is not None:
            try:
                if imu.data_ready():
                    imu.read_sample()
                    imu_samples += 1
            except OSError:
                pass
        deadline += poll_ns
        clock.sleep_until_ns(deadline)
    elapsed_s = (clock.monotonic_ns() - t0) / 1e9
    rates = []
    chip_rates = plate.chip_rates_hz() if timed else {}
    for i, corner in enumerate(CORNERS):
        if timed:
            chip = plate.identity.chip if plate.identity is not None else "HX711"
            rates.append(ChipRate(f"corner {corner.upper()} ({chip})", adc_hz, chip_rates[corner]))
            continue
        n = plate.new_counts[i] - start_new[i]
        rates.append(ChipRate(f"corner {corner.upper()} (NAU7802)", adc_hz, n / elapsed_s if n else None))
    if imu is not None:
        rates.append(ChipRate(f"IMU ({imu.name})", imu_hz, imu_samples / elapsed_s if imu_samples else None))
    return rates


def corner_noise_n(frames: np.ndarray) -> dict[str, float | None]:
    """RMS deviation of each corner's force from its linear trend, N (None without data)."""
    noise: dict[str, float | None] = {}
    for corner, field_name, flag in zip(CORNERS, CORNER_FORCE_FIELDS, FAULT_CORNER_FLAGS):
        good = (frames["flags"] & int(flag)) == 0
        force = frames[field_name][good]
        if len(force) < 10 or not np.isfinite(force).all():
            noise[corner] = None
            continue
        t = np.arange(len(force), dtype=float)
        trend = np.polyval(np.polyfit(t, force, 1), t)
        noise[corner] = float(np.sqrt(np.mean((force - trend) ** 2)))
    return noise


def run_diagnostics(acquisition, seconds: float = 10.0) -> DiagnosticReport:
    """Measure rates (first ~40 % of ``seconds``), then noise at the frame rate (the rest)."""
    hardware, config = acquisition.hardware, acquisition.config
    timed = bool(getattr(hardware.plate, "timestamps_samples", False))
    before = _front_end_counts(hardware.plate) if timed else None
    rates = measure_rates(hardware, config, seconds * 0.4)
    acquisition.loop.start()  # re-align deadlines after the rate phase
    frames = acquisition.run_seconds(seconds * 0.6)
    noise = corner_noise_n(frames)
    flags = frames["flags"]
    span_s = (frames["t_ns"][-1] - frames["t_ns"][0]) / 1e9 if len(frames) > 1 else 0
    frame_rate = (len(frames) - 1) / span_s if span_s > 0 else None
    plate = hardware.plate
    report = DiagnosticReport(
        rates=rates,
        noise_n=noise,
        frame_rate_hz=frame_rate,
        configured_frame_rate_hz=acquisition.rate_hz,
        frames_lost=acquisition.loop.stats.frames_lost,
        frames_invalid=int(np.count_nonzero(flags & int(FrameFlag.INVALID))),
        bus_errors=hardware.bus.errors_total,
        bus_failures=hardware.bus.failures_total,
        corner_states=dict(zip(CORNERS, plate.corner_state)),
        corner_errors=dict(zip(CORNERS, plate.corner_error)),
        imu=None if hardware.imu is None else f"{hardware.imu.name} at 0x{hardware.imu.address:02X}",
        imu_fifo=None if hardware.imu is None else acquisition.loop.stats.imu_fifo(hardware.imu.rate_hz),
    )
    if timed:
        after = _front_end_counts(hardware.plate)
        report.front_end = {key: after[key] - before[key] for key in after}
    report.advice = _advice(report, config, acquisition.calibration)
    return report


def _front_end_counts(plate) -> dict[str, int]:
    """The RP2040 front end's counters now (differences over the test go in the report)."""
    return {
        "sets": plate.sets,
        "sets_lost": plate.sets_lost,
        "crc_errors": plate.crc_errors,
        "desync_values": sum(plate.desync_values),
        "not_ready_values": sum(plate.not_ready_values),
        "resets": plate.front_end_resets,
    }


def _advice(report: DiagnosticReport, config, calibration) -> list[str]:
    advice = []
    rp2040 = config.plate.front_end == "rp2040"
    for corner, state in report.corner_states.items():
        if state != "ok":
            why = report.corner_errors.get(corner) or state
            if rp2040:
                where = f"its HX711 board (DOUT on GP{2 + CORNERS.index(corner)}, docs/wiring.md)"
            else:
                where = f"the NAU7802 board on mux channel {config.plate.mux_channels[CORNERS.index(corner)]}"
            advice.append(f"corner {corner.upper()} is {state} ({why}): check its load cell and {where}")
    for rate in report.rates:
        if rate.measured_hz is None:
            advice.append(f"{rate.name} delivered no data: check its wiring")
        elif not rate.ok and rp2040 and rate.name.startswith("corner"):
            advice.append(
                f"{rate.name} delivers {rate.measured_hz:.1f} values/s instead of {rate.configured_hz:g}: check the RATE "
                "pin of every board (the four are read together, so the slowest sets the pace) and the firmware's "
                "RATE_SPS; a rate low on one corner only means that chip loses step (desync) or drops out"
            )
        elif not rate.ok:
            advice.append(
                f"{rate.name} runs at {rate.measured_hz:.1f} Hz instead of {rate.configured_hz:g} Hz: "
                "check the rate setting and the chip's clock (a wrong or missing crystal, a clone chip)"
            )
    for corner, noise in report.noise_n.items():
        if noise is not None and noise > NOISE_LIMIT_N:
            advice.append(
                f"corner {corner.upper()} noise is {noise:.2f} N RMS (expected below {NOISE_LIMIT_N} N with an empty, still plate): "
                "check the load-cell shielding and grounding, keep cables short and away from mains, and make sure nothing touches the plate"
            )
    if report.frame_rate_hz is not None and abs(report.frame_rate_hz / report.configured_frame_rate_hz - 1) > RATE_TOLERANCE:
        advice.append(f"frames arrive at {report.frame_rate_hz:.1f} Hz instead of {report.configured_frame_rate_hz:g} Hz: the Pi is overloaded or the bus is slow")
    fifo = report.imu_fifo
    imu_lost = bool(fifo and (fifo["overflows"] or fifo["emptied"]))
    if report.frames_lost or imu_lost:
        lost = f"{report.frames_lost} frames were lost" if report.frames_lost else "no frame was lost"
        also = f"; the IMU's FIFO {imu_fifo_words(fifo)}" if imu_lost else ""
        advice.append(f"{lost}{also}: the acquisition was held up; check the CPU load and the I2C clock (400 kHz in "
                      "firmware/boot)")
    fe = report.front_end or {}
    if fe.get("sets_lost") or fe.get("resets"):
        advice.append(
            f"the RP2040 front end lost {fe['sets_lost']} sample sets ({fe['resets']} restarts): check its 5 V supply "
            "and the I2C cable to the Pi, and that nothing else holds the bus"
        )
    if fe.get("crc_errors"):
        advice.append(
            f"{fe['crc_errors']} blocks from the RP2040 front end failed their CRC (read again, nothing lost): "
            "check the I2C cable's length, its pull-ups and its connectors"
        )
    if fe.get("desync_values"):
        advice.append(
            f"{fe['desync_values']} values lost step with their HX711 (desync): check the SCK and DOUT wires "
            "(length, a loose contact, interference from mains cables)"
        )
    if report.bus_errors:
        advice.append(
            f"{report.bus_errors} I2C errors ({report.bus_failures} not recovered by retries): check the pull-up resistors, "
            "cable length and connectors"
        )
    if report.imu is None and config.imu.model != "none":
        advice.append("no IMU found: trunk sway and gait measures are unavailable; check its wiring or set imu.model = \"none\"")
    if not calibration.is_measured:
        advice.append("the plate is not calibrated: run `balance-station calibrate` with two known masses")
    return advice
