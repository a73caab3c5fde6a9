"""``balance-station record``: record a trial to a CSV (DESIGN.md §4) and its JSON sidecar.

With ``--simulate`` (or ``--replay FILE``) the station runs on the simulated plate under the
simulated clock, so a 60 s recording takes about a second and is identical for the same seed. With
``--replay`` the CSV's ``time_s`` is on the replayed file's time base, so the two can be compared
sample by sample. Without them it records from the real plate, in real time.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("record", help="record a trial to a CSV file")
    parser.add_argument("--seconds", type=float, required=True, help="duration in s")
    parser.add_argument("--out", type=Path, required=True, metavar="FILE.csv", help="trial CSV to write (and FILE.json)")
    parser.add_argument("--simulate", action="store_true", help="simulated plate with a virtual person")
    parser.add_argument("--replay", metavar="FILE", help="simulated plate replaying a recorded trial")
    parser.add_argument("--seed", type=int, default=0, help="seed of the simulation (default 0)")
    parser.add_argument("--timing", choices=("ideal", "pi-under-load"), default="ideal",
                        help="with --simulate/--replay: wake-ups exactly on time, or late like a Pi 4 under load")
    parser.add_argument("--data-dir", type=Path, help="where the calibration is kept")
    parser.add_argument("--force", action="store_true", help="replace FILE.csv (and FILE.json) if they exist")
    parser.set_defaults(func=record)


def record(args: argparse.Namespace) -> int:
    from station import __version__
    from station.acquire.frame import FrameFlag, trial_columns
    from station.cli import UserError
    from station.commands._common import ignoring_interrupts, load_config
    from station.store.trialfile import TrialFileError, write_trial_csv

    if not (0 < args.seconds <= 3600):
        raise UserError(f"--seconds must be between 0 and 3600, got {args.seconds:g}")
    if args.out.suffix.lower() != ".csv":
        raise UserError(f"--out must name a .csv file, got {args.out}")
    if not args.out.parent.exists():
        raise UserError(f"the folder {args.out.parent} does not exist")
    if args.timing != "ideal" and not (args.simulate or args.replay):
        raise UserError("--timing makes the simulated station's wake-ups late like a Pi's: use it with --simulate or --replay")
    existing = [p for p in (args.out, args.out.with_suffix(".json")) if p.exists()]
    if existing and not getattr(args, "force", False):
        raise UserError(f"{existing[0]} already exists; give --force to replace it, or another --out")
    config = load_config(args)
    try:
        frames, station, source_doc, time_zero_s = _record_frames(args, config)
    except KeyboardInterrupt:  # Ctrl-C while recording: the file is written only at the end
        unchanged = f" ({' and '.join(str(p) for p in existing)} unchanged)" if existing else ""
        error = UserError(f"interrupted while recording: nothing was written{unchanged}")
        error.exit_status = 130  # as an interrupted program's
        raise error from None
    rate_hz = config.acquisition.rate_hz
    has_imu = station.hardware.imu is not None
    flags = frames["flags"]
    metadata = {
        "rate_hz": rate_hz,
        "samples": int(len(frames)),
        "started_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "station_version": __version__,
        "source": source_doc,
        "plate": {"width_cm": config.plate.width_cm, "depth_cm": config.plate.depth_cm},
        "calibration": station.calibration.to_dict(),
        "protocol": None,
        "frames_lost": int(np.sum(np.diff(frames["seq"].astype(np.int64)) - 1)) if len(frames) > 1 else 0,
        "frames_invalid": int(np.count_nonzero(flags & int(FrameFlag.INVALID))),
        "frames_low_load": int(np.count_nonzero(flags & int(FrameFlag.LOW_LOAD))),
        "imu": station.hardware.imu.name if has_imu else None,
    }
    try:
        with ignoring_interrupts():  # the CSV and its sidecar are written whole or not at all
            write_trial_csv(args.out, trial_columns(frames, rate_hz, time_zero_s=time_zero_s, include_imu=has_imu),
                            metadata)
    except TrialFileError as exc:  # its words name the file
        raise UserError(f"{exc}; nothing was written") from None
    except OSError as exc:
        raise UserError(f"cannot write {args.out}: {exc.strerror or exc}") from None
    print(f"balance-station record: wrote {len(frames)} frames to {args.out}", file=sys.stderr)
    return 0


def _record_frames(args, config):
    """The recording: ``(frames, station, source document, time_zero_s)``."""
    rate_hz = config.acquisition.rate_hz
    source_doc: dict
    time_zero_s = 0.0
    if args.replay or args.simulate:
        station, replay, source_doc = _simulated_station(args, config)
        n = round(args.seconds * rate_hz)
        if replay is not None:
            first_t_s = station.loop.next_deadline_ns / 1e9
            available = int((replay.duration_s - first_t_s) * rate_hz)
            if available < n:
                print(
                    f"balance-station record: {args.replay} holds {available / rate_hz:.2f} s after the station starts; "
                    f"recording that instead of {args.seconds:g} s",
                    file=sys.stderr,
                )
                n = max(available, 1)
        frames = station.run_frames(n)
        if replay is not None and len(frames):
            # On the replayed file's time base: the first frame's deadline, mapped to file time.
            first_deadline_ns = station.loop.deadline_of(int(frames["seq"][0]))
            time_zero_s = replay.file_time_s(first_deadline_ns / 1e9)
    else:
        station, source_doc = _real_station(config)
        try:
            frames = station.run_seconds(args.seconds)
        finally:
            station.close()
    return frames, station, source_doc, time_zero_s


def _simulated_station(args, config):
    from station.sim.station import SimulatedStation
    from station.cli import UserError
    from station.commands._common import simulated_plate_calibration

    if args.replay:
        from station.sim.replay import ReplaySource
        from station.store.trialfile import TrialFileError

        try:
            load = ReplaySource.from_file(args.replay, plate=config.plate)
        except TrialFileError as exc:  # its problem alone: the path is said once
            raise UserError(f"cannot replay {args.replay}: {exc.problem.removeprefix('cannot replay: ')}") from None
        except OSError as exc:
            raise UserError(f"cannot replay {args.replay}: {exc.strerror or exc}") from None
        source = {"kind": "replay", "file": str(args.replay), "seed": args.seed}
    else:
        from station.sim.person import VirtualPerson

        load = VirtualPerson.standing_demo(seed=args.seed, plate=config.plate)
        source = {"kind": "virtual person", "seed": args.seed}
    station = SimulatedStation(config, load, seed=args.seed, calibration=simulated_plate_calibration(config, args.seed),
                               timing=args.timing)
    return station, (load if args.replay else None), source


def _real_station(config):
    from station.acquire.calibration import nominal_calibration
    from station.acquire.hardware import open_real_hardware
    from station.acquire.local import LocalAcquisition, calibration_for
    from station.cli import UserError
    from station.clock import MonotonicClock
    from station.hw.errors import StationHardwareError

    try:
        hardware = open_real_hardware(config, MonotonicClock())
    except StationHardwareError as exc:
        raise UserError(str(exc)) from None
    calibration = calibration_for(config.data_dir, config) or nominal_calibration(config.plate)
    return LocalAcquisition(hardware, config, calibration), {"kind": "hardware", "bus": config.acquisition.bus}
