"""Known calibration masses on the simulated plate, for the guided calibration (DESIGN.md §6).

A :class:`KnownMasses` is a load source (:class:`station.sim.loads.LoadSource`): a schedule of
sets of masses, each mass at a known position, e.g. an empty plate for the tare, then 20 kg at the
centre, then near each corner. A mass ``m`` at (AP, ML) loads the corners by the rigid-plate split
of :func:`station.sim.loads.distribute_to_corners` with Fz = m·g (standard gravity, 9.80665 m/s²);
several masses add up. Putting a new set down is not instantaneous: the corner forces move from
the old set's to the new set's along a smooth ramp over ``settle_s`` (default 0.3 s), like hands
setting a mass down; a calibration must wait for the load to be stable.

Masses have no trunk: :meth:`KnownMasses.trunk` is a still, level sensor (0, 0, g) m/s².

Example::

    masses, windows = KnownMasses.guided_sequence(20.0, plate=PlateConfig())
    # windows: [("empty", 0.0, 5.0), ("centre", 5.0, 10.0), ("fl", 10.0, 15.0), ...]
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from typing import Iterable

from station.analysis.cop import cop_from_corners
from station.config import CORNERS, PlateConfig
from station.sim.loads import STANDARD_GRAVITY_M_S2, PlateLoad, TrunkSample, distribute_to_corners

_STILL_TRUNK = TrunkSample((0.0, 0.0, STANDARD_GRAVITY_M_S2), (0.0, 0.0, 0.0))


@dataclass(frozen=True)
class Placement:
    """One mass (kg) with its centre at (AP, ML) in the plate frame (cm)."""

    mass_kg: float
    ap_cm: float
    ml_cm: float

    @property
    def fz_n(self) -> float:
        return self.mass_kg * STANDARD_GRAVITY_M_S2


def corner_positions_cm(plate: PlateConfig, inset_cm: float = 5.0) -> dict[str, tuple[float, float]]:
    """Positions (AP, ML) in cm for the guided calibration: the centre and ``inset_cm`` inside
    each load cell (keys ``centre``, ``fl``, ``fr``, ``bl``, ``br``)."""
    ap = plate.depth_cm / 2.0 - inset_cm
    ml = plate.width_cm / 2.0 - inset_cm
    if not (ap >= 0 and ml >= 0 and inset_cm >= 0):
        raise ValueError(
            f"inset_cm={inset_cm} does not fit a {plate.width_cm} × {plate.depth_cm} cm plate: use 0 to "
            f"{min(plate.width_cm, plate.depth_cm) / 2:g} cm"
        )
    return {"centre": (0.0, 0.0), "fl": (ap, -ml), "fr": (ap, ml), "bl": (-ap, -ml), "br": (-ap, ml)}


class KnownMasses:
    """A schedule of known masses on the plate (see the module docstring).

    Parameters
    ----------
    placements : iterable of Placement or (mass_kg, ap_cm, ml_cm)
        What lies on the plate from t = 0 (default: nothing).
    plate : PlateConfig
        Geometry for the corner split and the position check.
    settle_s : float
        Duration of the ramp between two sets, s (0: instantaneous).

    Raises
    ------
    ValueError
        A mass that is not positive, a position outside the load cells' rectangle (the plate
        would tip), a negative ramp, or events out of time order.
    """

    def __init__(self, placements: Iterable = (), *, plate: PlateConfig = PlateConfig(), settle_s: float = 0.3):
        self.plate = plate
        settle = float(settle_s)
        if not (math.isfinite(settle) and settle >= 0):
            raise ValueError(f"settle_s must be a number of seconds >= 0, got {settle_s!r}")
        self.settle_s = settle
        self._times: list[float] = [0.0]
        self._sets: list[tuple[Placement, ...]] = [self._validate(placements)]
        self._corners: list[tuple[float, float, float, float]] = [self._split(self._sets[0])]

    def _validate(self, placements: Iterable) -> tuple[Placement, ...]:
        out = []
        for p in placements:
            if not isinstance(p, Placement):
                try:
                    mass, ap, ml = p
                    p = Placement(float(mass), float(ap), float(ml))
                except (TypeError, ValueError):
                    raise ValueError(f"a placement is (mass_kg, ap_cm, ml_cm) or a Placement, got {p!r}") from None
            if not (math.isfinite(p.mass_kg) and p.mass_kg > 0):
                raise ValueError(f"mass_kg must be a positive number, got {p.mass_kg!r}")
            half_ap, half_ml = self.plate.depth_cm / 2.0, self.plate.width_cm / 2.0
            if not (abs(p.ap_cm) <= half_ap and abs(p.ml_cm) <= half_ml):
                raise ValueError(
                    f"a {p.mass_kg:g} kg mass at AP {p.ap_cm:g}, ML {p.ml_cm:g} cm lies outside the load cells "
                    f"(|AP| <= {half_ap:g}, |ML| <= {half_ml:g} cm): the plate would tip; move it inside"
                )
            out.append(p)
        return tuple(out)

    def _split(self, placements: tuple[Placement, ...]) -> tuple[float, float, float, float]:
        total = [0.0, 0.0, 0.0, 0.0]
        for p in placements:
            parts = distribute_to_corners(p.fz_n, p.ap_cm, p.ml_cm, self.plate.width_cm, self.plate.depth_cm)
            total = [a + b for a, b in zip(total, parts)]
        return tuple(total)

    def put(self, at_s: float, placements: Iterable) -> None:
        """From ``at_s`` the plate carries exactly ``placements`` (after a ramp of ``settle_s``)."""
        t = float(at_s)
        if not (math.isfinite(t) and t >= 0):
            raise ValueError(f"at_s must be a time >= 0 s, got {at_s!r}")
        earliest = self._times[-1] + (self.settle_s if len(self._times) > 1 else 0.0)
        if t < earliest:
            raise ValueError(
                f"put at {t:g} s comes before the previous change has settled ({earliest:g} s): "
                "schedule changes in time order, at least settle_s apart"
            )
        valid = self._validate(placements)
        self._times.append(t)
        self._sets.append(valid)
        self._corners.append(self._split(valid))

    def clear(self, at_s: float) -> None:
        """Take everything off the plate from ``at_s``."""
        self.put(at_s, ())

    def placements_at(self, t_s: float) -> tuple[Placement, ...]:
        """The set of masses scheduled at ``t_s`` (the newest set once its ramp has started)."""
        return self._sets[bisect.bisect_right(self._times, t_s) - 1]

    @classmethod
    def guided_sequence(
        cls,
        mass_kg: float,
        *,
        plate: PlateConfig = PlateConfig(),
        tare_s: float = 5.0,
        dwell_s: float = 5.0,
        inset_cm: float = 5.0,
        settle_s: float = 0.3,
    ) -> tuple["KnownMasses", list[tuple[str, float, float]]]:
        """The guided calibration: empty for ``tare_s``, then ``mass_kg`` at the centre and near
        each corner (FL, FR, BL, BR) for ``dwell_s`` each, then empty again.

        Returns
        -------
        masses : KnownMasses
        windows : list of (label, start_s, end_s)
            ``empty``, ``centre``, ``fl``, ``fr``, ``bl``, ``br``, ``empty``: when each state is
            scheduled (the first ``settle_s`` of each window is the ramp).
        """
        positions = corner_positions_cm(plate, inset_cm)
        masses = cls(plate=plate, settle_s=settle_s)
        windows = [("empty", 0.0, float(tare_s))]
        t = float(tare_s)
        for label in ("centre",) + CORNERS:
            ap, ml = positions[label]
            masses.put(t, [(mass_kg, ap, ml)])
            windows.append((label, t, t + dwell_s))
            t += dwell_s
        masses.clear(t)
        windows.append(("empty", t, t + dwell_s))
        return masses, windows

    # ------------------------------------------------------------------------------------------

    def corner_forces_n(self, t_s: float) -> tuple[float, float, float, float]:
        """Forces on FL, FR, BL, BR in N at ``t_s``."""
        if not (t_s >= 0.0):
            raise ValueError(f"t_s must be a time >= 0 s, got {t_s!r}")
        k = bisect.bisect_right(self._times, t_s) - 1
        new = self._corners[k]
        if k == 0 or self.settle_s == 0.0:
            return new
        u = (t_s - self._times[k]) / self.settle_s
        if u >= 1.0:
            return new
        w = u * u * (3.0 - 2.0 * u)
        old = self._corners[k - 1]
        return tuple(o + w * (n - o) for o, n in zip(old, new))

    def plate_load(self, t_s: float) -> PlateLoad:
        """Total force (N) and its COP (cm); COP (0, 0) when the plate is empty."""
        fl, fr, bl, br = (float(f) for f in self.corner_forces_n(t_s))
        ap, ml, fz = cop_from_corners(fl, fr, bl, br, self.plate.width_cm, self.plate.depth_cm)
        if not fz > 0.0:
            return PlateLoad(0.0, 0.0, 0.0)
        return PlateLoad(fz, ap, ml)

    def trunk(self, t_s: float) -> TrunkSample:
        """A still, level sensor: masses have no trunk."""
        return _STILL_TRUNK
