"""Acquisition inside the calling process: for recording, calibration, diagnostics and tests.

:class:`LocalAcquisition` runs the same :class:`~station.acquire.loop.AcquisitionLoop` as the
acquisition process, but hands frames to the caller instead of a shared-memory ring. The caller
hands it the hardware (real, or simulated by a composition root: see
:class:`station.sim.station.SimulatedStation`, where under a simulated clock a 60 s trial runs in
a fraction of a second and is identical for the same seed).
"""

from __future__ import annotations

import numpy as np

from station.acquire.calibration import PlateCalibration, load_calibration, nominal_calibration
from station.acquire.frame import FRAME_DTYPE
from station.acquire.hardware import StationHardware
from station.acquire.loop import AcquisitionLoop
from station.acquire.ring import FrameBlock
from station.config import StationConfig


def _simulation_health(sim):
    """What the health adds on simulated hardware: that it is simulated, and the CPU time the
    simulated chips took, s, when the bus accounts it (``sim.bus.account_cpu``)."""
    bus = sim.bus

    def extra() -> dict:
        if bus.account_cpu:
            return {"simulated": True, "sim_model_cpu_s": bus.model_cpu_ns / 1e9}
        return {"simulated": True}

    return extra


class LocalAcquisition:
    """An acquisition loop whose frames the caller collects (implements FrameSource).

    Parameters
    ----------
    hardware : StationHardware
        Opened bus and drivers (real or simulated).
    config : StationConfig
    calibration : PlateCalibration, optional
        Defaults to the nominal (data-sheet) calibration.
    """

    def __init__(self, hardware: StationHardware, config: StationConfig, calibration: PlateCalibration | None = None) -> None:
        self.hardware = hardware
        self.config = config
        self.clock = hardware.clock
        self.rate_hz = float(config.acquisition.rate_hz)
        self._pending: list[tuple] = []
        sim = hardware.simulation
        self.loop = AcquisitionLoop(
            clock=hardware.clock,
            plate=hardware.plate,
            imu=hardware.imu,
            calibration=calibration or nominal_calibration(config.plate),
            config=config,
            sink=self._pending.append,
            bus_errors=hardware.bus_errors,
            imu_error=hardware.imu_error,
            imu_absent_reason=hardware.imu_absent_reason,
            extra_health=_simulation_health(sim) if sim else None,
        )
        self.loop.start()

    @property
    def calibration(self) -> PlateCalibration:
        return self.loop.calibration

    def set_calibration(self, calibration: PlateCalibration) -> None:
        self.loop.set_calibration(calibration)

    def read_frames(self, max_wait_s: float) -> FrameBlock:
        """Run the loop for ``max_wait_s`` of clock time (at least one frame) and return the frames."""
        end_ns = self.clock.monotonic_ns() + int(max_wait_s * 1e9)
        step = self.loop.step
        step()
        while self.loop.next_deadline_ns <= end_ns:
            step()
        return FrameBlock(self._take(), 0)

    def run_frames(self, n: int) -> np.ndarray:
        """Exactly ``n`` frames."""
        for _ in range(n):
            self.loop.step()
        return self._take()

    def run_seconds(self, seconds: float) -> np.ndarray:
        """Frames for ``seconds`` at the configured rate."""
        return self.run_frames(max(1, round(seconds * self.rate_hz)))

    def health(self) -> dict:
        return self.loop.health()

    def _take(self) -> np.ndarray:
        frames = np.array(self._pending, dtype=FRAME_DTYPE)
        self._pending.clear()
        return frames

    def close(self) -> None:
        self.hardware.close()


def calibration_for(data_dir, config: StationConfig, *, simulated_seed: int | None = None) -> PlateCalibration | None:
    """The stored calibration if it fits this plate (a simulated plate's calibration is only
    used for the same simulated seed, and never for real hardware); else None."""
    stored = load_calibration(data_dir)
    if stored is None:
        return None
    wanted = "hardware" if simulated_seed is None else f"simulated:seed={simulated_seed}"
    return stored if stored.source == wanted else None
