"""What lower-back IMU dropouts leave of a treadmill session (station/protocols/walk_parts.py).

Runs the 30-s backward treadmill session on the simulated station (virtual walker, seed 12, belt
0.5 m/s) once without a dropout and once per dropout: frames lost for 0.25 s, IMU readings
missing (frames arriving without them, as when the sensor's bus fails) for 3, 12 and 16 s, and the
whole acquisition stalling (station.sim.faults: nothing arrives, then the loop wakes up late) for
1.5 s and 3 s at 10 s, and for good at 20 s. Prints per case whether the session is valid, why it
ended, the minutes walked, the steps and cadence, the time not measured and the dropouts and
stalls counted. Nothing is asserted: tests/protocols/test_walk_treadmill_dropouts.py and
test_walk_station_faults.py hold the behaviour.

    python3 benchmarks/treadmill_dropouts.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from station.protocols.walk import WalkSettings  # noqa: E402
from station.sim.faults import StationFault  # noqa: E402
from tests.protocols.test_walk_imu_gaps import _gap_after_the_go  # noqa: E402
from tests.protocols.test_walk_treadmill_dropouts import _no_imu_after_the_go  # noqa: E402
from tests.protocols.walk_support import run_walk  # noqa: E402

SETTINGS = WalkSettings(belt_speed_m_s=0.5, planned_min=0.5, sensor_height_m=0.98)
CASES = (
    ("no dropout", None),
    ("frames lost 0.25 s at 10 s", lambda r: _gap_after_the_go(r, after_frames=1000, frames=25)),
    ("IMU readings missing 3 s at 10 s", lambda r: _no_imu_after_the_go(r, after_frames=1000, frames=300)),
    ("IMU readings missing 12 s at 10 s", lambda r: _no_imu_after_the_go(r, after_frames=1000, frames=1200)),
    ("IMU readings missing 16 s at 5 s", lambda r: _no_imu_after_the_go(r, after_frames=500, frames=1600)),
    ("station stall 1.5 s at 10 s", StationFault("stall", 10.0, 1.5)),
    ("station stall 3 s at 10 s", StationFault("stall", 10.0, 3.0)),
    ("station's data lost for good at 20 s", StationFault("stall", 20.0, 60.0)),
)


def main() -> None:
    for label, hook in CASES:
        fault = hook if isinstance(hook, StationFault) else None
        run = run_walk("backward-treadmill", seed=12, settings=SETTINGS, on_runner=None if fault else hook,
                       faults=(fault,) if fault else ())
        result = run.runner.records[0].result
        walk, m = result.walk, (result.metrics or {}).get("metrics") or {}
        cadence = m.get("cadence_steps_min")
        print(f"{label}: valid {result.valid} ({result.end_reason}), walking {walk['walking_min']} min, "
              f"steps {m.get('steps')}, cadence {'-' if cadence is None else f'{cadence:.1f}'} steps/min, "
              f"not measured {walk.get('imu_not_measured_s')} s, dropouts {walk.get('imu_dropouts')}, "
              f"stalls {walk.get('imu_stalls')}")


if __name__ == "__main__":
    main()
