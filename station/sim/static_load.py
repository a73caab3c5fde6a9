"""A constant load: the simplest :class:`~station.sim.loads.LoadSource`.

Test support and diagnostics: an empty plate, a dead weight at a known centre of pressure, a
still IMU. The virtual person (:mod:`station.sim.person`), recordings (:mod:`station.sim.replay`)
and calibration masses (:mod:`station.sim.masses`) are the load sources with behaviour.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from station.sim.loads import STANDARD_GRAVITY_M_S2, PlateLoad, TrunkSample, distribute_to_corners


@dataclass(frozen=True)
class ConstantLoad:
    """The same load at every instant.

    Parameters
    ----------
    fz_n : float
        Total vertical force, N (0: empty plate).
    ap_cm, ml_cm : float
        Its centre of pressure in the plate frame, cm (DESIGN.md §4).
    width_cm, depth_cm : float
        Plate geometry used to split the force onto the corners.
    acc_m_s2, gyro_deg_s : tuple of 3 floats
        What an IMU reads (default: upright and still).
    """

    fz_n: float = 0.0
    ap_cm: float = 0.0
    ml_cm: float = 0.0
    width_cm: float = 40.0
    depth_cm: float = 40.0
    acc_m_s2: tuple[float, float, float] = (0.0, 0.0, STANDARD_GRAVITY_M_S2)
    gyro_deg_s: tuple[float, float, float] = (0.0, 0.0, 0.0)
    _corners: tuple[float, float, float, float] = field(init=False, repr=False, compare=False)
    _trunk: TrunkSample = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        corners = distribute_to_corners(self.fz_n, self.ap_cm, self.ml_cm, self.width_cm, self.depth_cm)
        object.__setattr__(self, "_corners", tuple(float(c) for c in corners))
        object.__setattr__(self, "_trunk", TrunkSample(tuple(self.acc_m_s2), tuple(self.gyro_deg_s)))

    def plate_load(self, t_s: float) -> PlateLoad:
        return PlateLoad(self.fz_n, self.ap_cm, self.ml_cm)

    def corner_forces_n(self, t_s: float) -> tuple[float, float, float, float]:
        return self._corners

    def trunk(self, t_s: float) -> TrunkSample:
        return self._trunk
