"""What the simulated hardware senses: the contract between load sources and chip models.

A *load source* (the virtual person in :mod:`station.sim.person`, a replayed recording in
:mod:`station.sim.replay`, calibration masses) says, at any simulated time, what stands on the plate
and how the trunk moves. The chip models (:mod:`station.sim.nau7802_model`, the IMU models) ask
it at the instant of each of their own conversions, so corner samples are not simultaneous, as on
the real plate (DESIGN.md §6).

Plate frame (DESIGN.md §4): origin at the plate centre, +AP toward the toes, +ML toward the
person's right. IMU frame (sensor worn at the lower back, ISB convention): +x anterior, +y left,
+z up; a still, upright sensor reads acc = (0, 0, +9.81) m/s².
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

STANDARD_GRAVITY_M_S2 = 9.80665


@dataclass(frozen=True)
class PlateLoad:
    """Vertical load on the plate at one instant: total force in N and its COP in cm."""

    fz_n: float
    ap_cm: float
    ml_cm: float


@dataclass(frozen=True)
class TrunkSample:
    """Specific force (m/s², gravity included) and angular rate (deg/s) in the IMU frame."""

    acc_m_s2: tuple[float, float, float]
    gyro_deg_s: tuple[float, float, float]


class LoadSource(Protocol):
    """Anything that can stand on the simulated plate."""

    def plate_load(self, t_s: float) -> PlateLoad:
        """Load at simulated time ``t_s`` (s since the simulation started). Fz 0 when empty."""
        ...

    def corner_forces_n(self, t_s: float) -> tuple[float, float, float, float]:
        """Forces on FL, FR, BL, BR in N at ``t_s``: what each load cell feels (excluding the
        plate's own dead weight, which the plate model adds)."""
        ...

    def trunk(self, t_s: float) -> TrunkSample:
        """IMU reading at ``t_s`` of a sensor worn at the lower back."""
        ...


def distribute_to_corners(fz_n, ap_cm, ml_cm, width_cm: float, depth_cm: float):
    """Split a vertical force at a COP onto the four corners of a rigid plate.

    The bilinear split ``F_c = Fz * (1/2 ± AP/depth) * (1/2 ± ML/width)`` is the exact inverse of
    the COP formula of DESIGN.md §4 (:func:`station.analysis.cop.cop_from_corners`): it gives back
    the same Fz, AP and ML. Works on floats or arrays.

    Returns
    -------
    fl_n, fr_n, bl_n, br_n
    """
    front = 0.5 + np.asarray(ap_cm, dtype=float) / depth_cm
    right = 0.5 + np.asarray(ml_cm, dtype=float) / width_cm
    back = 1.0 - front
    left = 1.0 - right
    fz = np.asarray(fz_n, dtype=float)
    out = (fz * front * left, fz * front * right, fz * back * left, fz * back * right)
    if fz.ndim == 0 and front.ndim == 0:
        return tuple(float(v) for v in out)
    return out
