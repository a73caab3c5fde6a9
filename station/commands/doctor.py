"""``balance-station doctor``: a 10 s hardware diagnostic with what to fix (exit 1 if anything)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("doctor", help="diagnose the plate and IMU: rates, noise, bus errors")
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of the test in s (default 10)")
    parser.add_argument("--simulate", action="store_true", help="diagnose the simulated hardware")
    parser.add_argument("--seed", type=int, default=0, help="seed of the simulated hardware (default 0)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--data-dir", type=Path, help="where the calibration is kept")
    parser.set_defaults(func=doctor)


def doctor(args: argparse.Namespace) -> int:
    from station.acquire.calibration import CalibrationError, nominal_calibration
    from station.acquire.diagnostics import run_diagnostics
    from station.acquire.local import LocalAcquisition, calibration_for
    from station.sim.station import SimulatedStation
    from station.cli import UserError
    from station.commands._batch import output
    from station.commands._common import load_config
    from station.hw.errors import StationHardwareError

    if not 2 <= args.seconds <= 600:
        raise UserError(f"--seconds must be between 2 and 600, got {args.seconds:g}")
    config = load_config(args)
    try:
        stored = calibration_for(config.data_dir, config, simulated_seed=args.seed if args.simulate else None)
    except CalibrationError as exc:
        raise UserError(str(exc)) from None
    if args.simulate:
        acquisition = SimulatedStation(config, None, seed=args.seed, calibration=stored or "nominal")
    else:
        from station.acquire.hardware import open_real_hardware
        from station.clock import MonotonicClock

        try:
            hardware = open_real_hardware(config, MonotonicClock())
        except StationHardwareError as exc:
            raise UserError(str(exc)) from None
        acquisition = LocalAcquisition(hardware, config, stored or nominal_calibration(config.plate))
    # A reader that leaves early (`doctor --json | head -1`) ends it with one line, as analyze.
    with output(None, keep_hint="redirect it to a file (> FILE) to keep the whole report"):
        if not args.json:
            print(f"Keep the plate empty and still for {args.seconds:g} s…", flush=True)
        try:
            report = run_diagnostics(acquisition, args.seconds)
        finally:
            acquisition.close()
        return _print_report(report, args.json)


def _print_report(report, as_json: bool) -> int:
    """The report on stdout, as text or JSON; the exit status (1 if anything needs fixing)."""
    from station.acquire.diagnostics import imu_fifo_words

    if as_json:
        print(json.dumps(report.to_dict(), indent=2))
        return 0 if report.ok else 1
    print("\nSample rates (measured vs configured)")
    for rate in report.rates:
        measured = "no data" if rate.measured_hz is None else f"{rate.measured_hz:8.2f} Hz"
        print(f"  {rate.name:28} {measured:>12}   configured {rate.configured_hz:g} Hz   {'ok' if rate.ok else 'CHECK'}")
    fr = "n/a" if report.frame_rate_hz is None else f"{report.frame_rate_hz:.2f} Hz"
    print(f"  {'frames':28} {fr:>12}   configured {report.configured_frame_rate_hz:g} Hz")
    print("\nNoise per corner, empty plate (N RMS)")
    for corner, noise in report.noise_n.items():
        print(f"  {corner.upper():4} {'no data' if noise is None else f'{noise:.3f}'}")
    print(f"\nI2C errors: {report.bus_errors} ({report.bus_failures} not recovered); frames lost: {report.frames_lost}; "
          f"invalid frames: {report.frames_invalid}; IMU: {report.imu or 'none'}")
    if report.imu_fifo is not None:
        print(f"IMU FIFO: {imu_fifo_words(report.imu_fifo)}")
    if report.front_end is not None:
        fe = report.front_end
        print(f"RP2040 front end: {fe['sets']} sets, {fe['sets_lost']} lost, {fe['crc_errors']} CRC errors (read again), "
              f"{fe['desync_values']} desyncs, {fe['not_ready_values']} values of chips not ready, {fe['resets']} restarts")
    if report.ok:
        print("\nAll good: the station is ready.")
        return 0
    print("\nWhat to fix:")
    for line in report.advice:
        print(f"  - {line}")
    return 1
