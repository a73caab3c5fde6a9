"""The guided calibration a technician runs (``balance-station calibrate``), step by step.

1. Tare: the empty plate, held still, gives each corner's zero (refused while the load moves or a
   corner saturates or does not answer).
2. Gains: each known mass (at least two different ones) is placed at the centre and over the
   middle of each quadrant; the four per-corner gains are fitted by least squares to the weights
   and positions, and the RMS residual in N is reported (:func:`station.acquire.calibration.fit_gains`).

The steps talk to an *operator* that carries them out: a person at the terminal, or the simulation
placing simulated masses (:func:`station.sim.station.calibrate_simulated`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from station.acquire.calibration import (
    CalibrationError,
    PlateCalibration,
    Placement,
    fit_gains,
    measured_calibration,
    nominal_calibration,
    steady_mean_counts,
)
from station.acquire.frame import CORNER_COUNT_FIELDS, FAULT_CORNER_FLAGS

SETTLE_S = 0.5
"""Frames discarded after each change, while the plate settles, s."""
SAMPLE_S = 1.5
"""Frames averaged per step, s."""


@dataclass(frozen=True)
class CalibrationStep:
    """One instruction: an empty plate (``mass_kg`` None) or a mass at (ap_cm, ml_cm)."""

    instruction: str
    mass_kg: float | None = None
    ap_cm: float = 0.0
    ml_cm: float = 0.0


class CalibrationOperator(Protocol):
    def perform(self, step: CalibrationStep) -> None:
        """Carry out ``step`` (return once the plate is as the step says)."""
        ...


def calibration_steps(masses_kg: list[float], width_cm: float, depth_cm: float) -> list[CalibrationStep]:
    """Tare, then each mass at the centre and over the middle of each quadrant."""
    if len({round(m, 6) for m in masses_kg}) < 2:
        raise CalibrationError("give at least two different known masses (for example --mass 10 --mass 20)")
    if any(not (0 < m <= 200) for m in masses_kg):
        raise CalibrationError("known masses must be between 0 and 200 kg")
    spots = [
        ("the centre of the plate", 0.0, 0.0),
        ("the middle of the front-left quarter", depth_cm / 4, -width_cm / 4),
        ("the middle of the front-right quarter", depth_cm / 4, width_cm / 4),
        ("the middle of the back-left quarter", -depth_cm / 4, -width_cm / 4),
        ("the middle of the back-right quarter", -depth_cm / 4, width_cm / 4),
    ]
    steps = [CalibrationStep("Clear the plate completely and step away from it.")]
    for mass in masses_kg:
        for where, ap, ml in spots:
            steps.append(
                CalibrationStep(
                    f"Place the {mass:g} kg mass on {where} (AP {ap:+.1f} cm, ML {ml:+.1f} cm), nothing else on the plate.",
                    mass,
                    ap,
                    ml,
                )
            )
    return steps


def measure_steady_counts(acquisition, n_per_count, what: str) -> tuple[float, float, float, float]:
    acquisition.run_seconds(SETTLE_S)
    frames = acquisition.run_seconds(SAMPLE_S)
    counts = np.column_stack([frames[f].astype(float) for f in CORNER_COUNT_FIELDS])
    for i, flag in enumerate(FAULT_CORNER_FLAGS):
        counts[(frames["flags"] & int(flag)) != 0, i] = np.nan
    return steady_mean_counts(counts, n_per_count, what=what)


def run_guided_calibration(acquisition, masses_kg: list[float], operator: CalibrationOperator, *, source: str = "hardware",
                           progress=None) -> PlateCalibration:
    """Run tare and gain steps on ``acquisition`` (a :class:`~station.acquire.local.LocalAcquisition`).

    Returns the measured calibration (not yet saved or applied). Raises CalibrationError with a
    reason the technician can act on.
    """
    plate = acquisition.config.plate
    nominal = nominal_calibration(plate)
    steps = calibration_steps(masses_kg, plate.width_cm, plate.depth_cm)
    zero = None
    placements: list[Placement] = []
    for number, step in enumerate(steps, 1):
        operator.perform(step)
        if progress:
            progress(number, len(steps), step)
        if step.mass_kg is None:
            zero = measure_steady_counts(acquisition, nominal.n_per_count, "tare")
        else:
            counts = measure_steady_counts(acquisition, nominal.n_per_count, f"the {step.mass_kg:g} kg step")
            placements.append(Placement(step.mass_kg, step.ap_cm, step.ml_cm, counts))
    gains, residual_n = fit_gains(zero, placements, plate.width_cm, plate.depth_cm)
    return measured_calibration(
        zero,
        gains,
        residual_n,
        source,
        details={"masses_kg": list(masses_kg), "placements": len(placements), "width_cm": plate.width_cm, "depth_cm": plate.depth_cm},
    )


DEFAULT_MASSES_KG = (10.0, 20.0)
"""Known masses used when none are given, kg (also those the simulation places)."""
