"""``balance-station calibrate``: guided tare and per-corner gain calibration of the plate.

The technician is told what to put on the plate at each step and confirms with Enter (or one line
on standard input when it is not a terminal). With ``--simulate`` the simulated plate is calibrated
with simulated masses. The result (zero and N/count of each corner, the fit's residual in N) is
stored with a timestamp in the data directory and applied to every frame from then on.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("calibrate", help="tare and calibrate the plate with known masses")
    parser.add_argument("--mass", type=float, action="append", metavar="KG",
                        help="a known mass in kg (give at least two different ones; default 10 and 20)")
    parser.add_argument("--tare", action="store_true", help="only re-zero the empty plate, keep the gains")
    parser.add_argument("--simulate", action="store_true", help="calibrate the simulated plate")
    parser.add_argument("--seed", type=int, default=0, help="seed of the simulated plate (default 0)")
    parser.add_argument("--data-dir", type=Path, help="where the calibration is kept")
    parser.set_defaults(func=calibrate)


class TerminalOperator:
    """Prints each step and waits for the technician to confirm."""

    def perform(self, step) -> None:
        print(f"\n{step.instruction}")
        print("Press Enter when done (Ctrl-C to abort).", flush=True)
        if sys.stdin.readline() == "":
            from station.cli import UserError

            raise UserError("calibration aborted: no confirmation on standard input")


def calibrate(args: argparse.Namespace) -> int:
    from station.acquire.calibration import (
        HISTORY_FILENAME,
        CalibrationError,
        PlateCalibration,
        load_calibration,
        measured_calibration,
        nominal_calibration,
        save_calibration,
    )
    from station.acquire.guided_calibration import (
        DEFAULT_MASSES_KG,
        SAMPLE_S,
        SETTLE_S,
        CalibrationStep,
        measure_steady_counts,
        run_guided_calibration,
    )
    from station.cli import UserError
    from station.commands._common import load_config

    config = load_config(args)
    masses = args.mass or list(DEFAULT_MASSES_KG)
    print(f"Plate geometry from the configuration: width {config.plate.width_cm:g} cm (left–right load cells), "
          f"depth {config.plate.depth_cm:g} cm (front–back). If these are wrong, fix the configuration first.")
    if args.simulate:
        from station.sim.station import SimulatedMassOperator, SimulatedStation

        station = SimulatedStation(config, None, seed=args.seed, calibration="nominal")
        operator = SimulatedMassOperator(station.simulation, config.plate)
        source = f"simulated:seed={args.seed}"
    else:
        from station.acquire.hardware import open_real_hardware
        from station.acquire.local import LocalAcquisition
        from station.clock import MonotonicClock
        from station.hw.errors import StationHardwareError

        try:
            hardware = open_real_hardware(config, MonotonicClock())
        except StationHardwareError as exc:
            raise UserError(str(exc)) from None
        station = LocalAcquisition(hardware, config)
        operator = TerminalOperator()
        source = "hardware"
    try:
        if args.tare:
            try:
                previous = load_calibration(config.data_dir)
            except CalibrationError as exc:
                raise UserError(str(exc)) from None
            if previous is None or previous.source != source:
                previous = nominal_calibration(config.plate, source=source)
            operator.perform(CalibrationStep("Clear the plate completely and step away from it."))
            zero = measure_steady_counts(station, previous.n_per_count, "tare")
            if previous.is_measured:
                result = measured_calibration(zero, previous.n_per_count, previous.residual_n, source,
                                              details={**previous.details, "tare_only": True})
            else:
                result = PlateCalibration(zero, previous.n_per_count, "nominal", nominal_calibration(config.plate).created_utc,
                                          source=source, details={"tare_only": True})
        else:
            def progress(number, total, step):
                if args.simulate:  # nobody confirms: say what the simulation put where
                    print(f"  step {number}/{total} (simulated): {step.instruction} Measuring…", flush=True)
                else:
                    print(f"  step {number}/{total}: measuring for {SETTLE_S + SAMPLE_S:g} s, keep the plate still…", flush=True)

            result = run_guided_calibration(station, masses, operator, source=source, progress=progress)
    except CalibrationError as exc:
        raise UserError(f"calibration refused: {exc}") from None
    finally:
        station.close()
    try:
        saved = save_calibration(config.data_dir, result)
    except OSError as exc:
        raise UserError(f"cannot save the calibration in {config.data_dir}: {exc.strerror}") from None
    print("\nCalibration (" + result.method + ")")
    print("  corner   zero (counts)   gain (N/count)")
    for name, zero, gain in zip(("FL", "FR", "BL", "BR"), result.zero_counts, result.n_per_count):
        print(f"  {name:6} {zero:15.1f} {gain:16.4e}")
    if result.residual_n is not None:
        print(f"  residual of the fit: {result.residual_n:.2f} N RMS")
    print(f"Saved to {saved.path}; a running station applies it after a restart.")
    if saved.history_error:
        print(f"  (not added to the calibration history {HISTORY_FILENAME}: {saved.history_error}; "
              "the calibration itself is saved)")
    return 0
