"""What the acquisition process imports on simulated hardware with a scenario (the spawned child runs
the virtual patient, which reads the built-in protocols): not scipy.signal. Its import alone cost the
child ~2-3 s of CPU and ~65 MB of resident memory at every start (119 -> 53 MB measured with `make
run`), all of it frozen by ``gc.freeze`` for the child's life; the protocols need only the gait keys'
names (``station.analysis.gait_keys``)."""

import subprocess
import sys

CHILD_IMPORTS = """
import sys
import station.acquire.process, station.acquire.loop, station.acquire.hardware
import station.sim.station, station.sim.scenarios, station.sim.faults, station.sim.walker
from station.protocols.loader import builtin_protocols
builtin_protocols()
heavy = sorted(m for m in ("scipy.signal", "scipy.stats") if m in sys.modules)
print(",".join(heavy))
"""


def test_the_simulated_acquisition_child_does_not_import_scipy_signal():
    done = subprocess.run([sys.executable, "-c", CHILD_IMPORTS], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "", f"the acquisition child imports {done.stdout.strip()}"


def test_the_gait_analysis_still_gives_the_same_keys():
    from station.analysis import gait, gait_keys

    assert gait.GAIT_KEYS is gait_keys.GAIT_KEYS and gait.MINUTE_KEYS is gait_keys.MINUTE_KEYS
    assert "GAIT_KEYS" in gait.__all__ and "MINUTE_KEYS" in gait.__all__
