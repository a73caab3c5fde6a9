"""Load cells of the simulated plate: force on a corner -> differential voltage at the ADC input.

A strain-gauge load cell is a resistive bridge: its output is proportional to its excitation
voltage, ``V_out = V_exc * (zero_balance + rated_output * F / capacity)`` with the rated output
and zero balance in mV/V. Each corner's bridge is excited by its NAU7802's AVDD (the chip's LDO
output when ``AVDDS`` is set), which is also the ADC reference, so the reading is ratiometric
(DESIGN.md §6).

Datasheet ranges of the low-cost 50 kg cells such plates use: rated output 1.0 ± 0.1 mV/V and
zero balance within ± 0.1 mV/V; :func:`make_load_cells` draws each cell's values uniformly inside
those tolerances from a seeded generator, so every simulated plate is a little different, as real
ones are, and needs calibrating. The plate's own dead weight sits on the cells all the time.
The bridge's thermal noise (about 4 nV/√Hz for 1 kΩ) is far below the ADC's and is not modelled;
cells are linear (no creep, no hysteresis).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from station.config import CORNERS, PlateConfig
from station.sim.loads import STANDARD_GRAVITY_M_S2, TrunkSample


@dataclass(frozen=True)
class LoadCell:
    """One corner's load cell, as built (the truth tests compare against).

    Attributes
    ----------
    corner : str
        ``"fl"``, ``"fr"``, ``"bl"`` or ``"br"``.
    capacity_n : float
        Rated capacity, N.
    rated_output_mv_v : float
        This cell's output at capacity, mV per V of excitation.
    zero_balance_mv_v : float
        This cell's output with no load at all, mV/V.
    dead_weight_n : float
        Share of the plate's own weight resting on it, N.
    """

    corner: str
    capacity_n: float
    rated_output_mv_v: float
    zero_balance_mv_v: float
    dead_weight_n: float

    def output_v(self, force_n: float, excitation_v: float) -> float:
        """Differential output voltage, V, for ``force_n`` N on the plate above this corner
        (dead weight excluded) and ``excitation_v`` V of excitation."""
        return excitation_v * 1e-3 * (
            self.zero_balance_mv_v + self.rated_output_mv_v * (force_n + self.dead_weight_n) / self.capacity_n
        )

    def sensitivity_v_per_n(self, excitation_v: float) -> float:
        """Output change per newton, V/N."""
        return excitation_v * 1e-3 * self.rated_output_mv_v / self.capacity_n


def make_load_cells(
    plate: PlateConfig,
    rng: np.random.Generator,
    *,
    plate_mass_kg: float = 8.0,
    rated_output_tolerance: float = 0.10,
    zero_balance_mv_v: float = 0.1,
) -> tuple[LoadCell, ...]:
    """Four load cells in corner order (fl, fr, bl, br).

    Parameters
    ----------
    plate : PlateConfig
        Nominal capacity (kg) and rated output (mV/V) of the cells.
    rng : numpy.random.Generator
        Seeded generator (the spread of every simulated plate is reproducible).
    plate_mass_kg : float
        Mass of the plate itself, kg, shared equally by the four corners.
    rated_output_tolerance : float
        Relative tolerance of the rated output (0.10: ± 10 %).
    zero_balance_mv_v : float
        Half-width of the zero-balance tolerance, mV/V.
    """
    capacity_n = plate.load_cell_capacity_kg * STANDARD_GRAVITY_M_S2
    dead_n = plate_mass_kg * STANDARD_GRAVITY_M_S2 / 4.0
    spread = rng.uniform(-rated_output_tolerance, rated_output_tolerance, size=4)
    zero = rng.uniform(-zero_balance_mv_v, zero_balance_mv_v, size=4)
    return tuple(
        LoadCell(
            corner=corner,
            capacity_n=capacity_n,
            rated_output_mv_v=plate.load_cell_rated_output_mv_v * (1.0 + float(spread[i])),
            zero_balance_mv_v=float(zero[i]),
            dead_weight_n=dead_n,
        )
        for i, corner in enumerate(CORNERS)
    )


class LoadedPlate:
    """What the simulated sensors feel: the current load source on the plate's load cells.

    Chip models query it at the instants of their own conversions; swapping :attr:`load_source`
    (calibration masses, then a person) takes effect at the next conversion.

    Parameters
    ----------
    cells : tuple of LoadCell
        In corner order.
    load_source : station.sim.loads.LoadSource
    t0_ns : int
        Clock time that load sources see as ``t_s = 0``.
    """

    def __init__(self, cells, load_source, t0_ns: int) -> None:
        if len(cells) != 4:
            raise ValueError(f"a plate has 4 load cells, got {len(cells)}")
        self.cells = tuple(cells)
        self.load_source = load_source
        self.t0_ns = int(t0_ns)

    def bridge_v(self, index: int, t_ns: float, excitation_v: float) -> float:
        """Output voltage of corner ``index``'s cell at bus time ``t_ns``, V."""
        forces = self.load_source.corner_forces_n((t_ns - self.t0_ns) * 1e-9)
        return self.cells[index].output_v(forces[index], excitation_v)

    def trunk(self, t_ns: float) -> TrunkSample:
        """IMU motion at bus time ``t_ns``."""
        return self.load_source.trunk((t_ns - self.t0_ns) * 1e-9)

    def bridge(self, index: int) -> "CornerBridge":
        """The analog input of corner ``index``'s ADC."""
        return CornerBridge(self, index)


class CornerBridge:
    """Callable ``(t_ns, excitation_v) -> volts``: one corner's bridge output (the NAU7802 model's
    analog input on channel 1)."""

    __slots__ = ("plate", "index")

    def __init__(self, plate: LoadedPlate, index: int) -> None:
        self.plate = plate
        self.index = index

    def __call__(self, t_ns: float, excitation_v: float) -> float:
        return self.plate.bridge_v(self.index, t_ns, excitation_v)
