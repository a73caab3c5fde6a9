"""Plate calibration: tare, per-corner gains by least squares, storage (DESIGN.md §6).

A corner's force is ``(counts - zero_counts) * n_per_count``. Until a calibration is measured the
station uses the *nominal* one computed from the load-cell data sheet (capacity, rated output in
mV/V) and the ADC gain; frames then carry :attr:`FrameFlag.UNCALIBRATED`.

The gain fit uses, for every placement of a known mass at a known position, three equations: the
forces add up to the weight, and the two moments about the plate centre match the mass's position
(the COP formula of DESIGN.md §4). With masses at the centre and near each corner the four gains
are over-determined; the fit reports its RMS residual in N.

Low-cost plates reach 0.5–2 mm COP error after calibration (Leach et al. 2014).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from station.config import CORNERS, PlateConfig
from station.store.atomic import append_line_durably, atomic_write_text

STANDARD_GRAVITY_M_S2 = 9.80665
ADC_FULL_SCALE_COUNTS = (1 << 23) - 1
"""Largest magnitude of a signed 24-bit NAU7802 result."""
CALIBRATION_FILENAME = "calibration.json"


class CalibrationError(ValueError):
    """A calibration step was refused; the message says why and what to do."""


@dataclass(frozen=True)
class PlateCalibration:
    """Counts-to-newton conversion of the four corners (order FL, FR, BL, BR)."""

    zero_counts: tuple[float, float, float, float]
    n_per_count: tuple[float, float, float, float]
    method: str  # "nominal" or "measured"
    created_utc: str
    residual_n: float | None = None
    source: str = "hardware"  # "hardware" or "simulated:seed=N"
    details: dict = field(default_factory=dict)

    @property
    def is_measured(self) -> bool:
        return self.method == "measured"

    def forces_n(self, counts) -> np.ndarray:
        """Corner forces in N from counts, shape (..., 4)."""
        return (np.asarray(counts, dtype=float) - np.asarray(self.zero_counts)) * np.asarray(self.n_per_count)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, doc: dict) -> "PlateCalibration":
        try:
            zero = tuple(float(v) for v in doc["zero_counts"])
            gain = tuple(float(v) for v in doc["n_per_count"])
            if len(zero) != 4 or len(gain) != 4:
                raise ValueError("zero_counts and n_per_count need four values (FL, FR, BL, BR)")
            if not all(np.isfinite(zero)) or not all(np.isfinite(gain)) or min(abs(g) for g in gain) == 0:
                raise ValueError("values must be finite and gains non-zero")
            return cls(
                zero_counts=zero,
                n_per_count=gain,
                method=str(doc["method"]),
                created_utc=str(doc["created_utc"]),
                residual_n=None if doc.get("residual_n") is None else float(doc["residual_n"]),
                source=str(doc.get("source", "hardware")),
                details=dict(doc.get("details", {})),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise CalibrationError(f"calibration data is not valid ({exc})") from None


def _now_utc() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def nominal_n_per_count(plate: PlateConfig) -> float:
    """Newton per ADC count from the load-cell data sheet, before any calibration.

    The bridge is excited by the ADC's own reference (ratiometric), so the reference voltage
    cancels: a cell of capacity C (kg) and rated output R (mV/V) gives R/1000·V_ref at C·g; the
    NAU7802 maps ±V_ref/(2·gain) onto ±2²³ counts. Hence
    ``N/count = C·g·1000 / (2²⁴ · gain · R)``.
    """
    capacity_n = plate.load_cell_capacity_kg * STANDARD_GRAVITY_M_S2
    return capacity_n * 1000.0 / ((1 << 24) * plate.adc_gain * plate.load_cell_rated_output_mv_v)


def nominal_calibration(plate: PlateConfig, zero_counts=(0.0, 0.0, 0.0, 0.0), source: str = "hardware") -> PlateCalibration:
    """The data-sheet calibration (with an optional tare)."""
    gain = nominal_n_per_count(plate)
    return PlateCalibration(
        zero_counts=tuple(float(z) for z in zero_counts),
        n_per_count=(gain, gain, gain, gain),
        method="nominal",
        created_utc=_now_utc(),
        source=source,
    )


def steady_mean_counts(samples_counts, n_per_count, *, max_spread_n: float = 2.0, what: str = "tare") -> tuple[float, float, float, float]:
    """Mean counts per corner of a load that must hold still (the empty plate for the tare, a
    known mass for the gains).

    Parameters
    ----------
    samples_counts : array_like, shape (n, 4)
        Raw counts of FL, FR, BL, BR; NaN where a corner gave no reading.
    n_per_count : sequence of 4 floats
        Current gains, used to judge stability in N.
    max_spread_n : float
        Largest allowed standard deviation of the total force, N.

    Raises
    ------
    CalibrationError
        Too few samples, a corner that did not answer or saturates, or a load that moves.
    """
    counts = np.asarray(samples_counts, dtype=float)
    if counts.ndim != 2 or counts.shape[1] != 4 or counts.shape[0] < 10:
        raise CalibrationError(f"{what} needs at least 10 readings of all four corners")
    for i, name in enumerate(CORNERS):
        column = counts[:, i]
        if np.isnan(column).any():
            raise CalibrationError(
                f"corner {name.upper()} did not answer during the {what}; check its cable and run `balance-station doctor`"
            )
        if (np.abs(column) >= ADC_FULL_SCALE_COUNTS).any():
            raise CalibrationError(
                f"corner {name.upper()} saturates (reads full scale); check the load cell wiring and the ADC gain"
            )
    total_n = (counts * np.asarray(n_per_count)).sum(axis=1)
    spread_n = float(np.std(total_n))
    if spread_n > max_spread_n:
        raise CalibrationError(
            f"the load is moving (total force varies by {spread_n:.1f} N RMS, at most {max_spread_n:.1f} N allowed); "
            "clear the plate, keep away from it and try again"
        )
    return tuple(float(v) for v in counts.mean(axis=0))


@dataclass(frozen=True)
class Placement:
    """A known mass at a known position (cm, plate frame) and the mean counts it produced."""

    mass_kg: float
    ap_cm: float
    ml_cm: float
    counts: tuple[float, float, float, float]


def fit_gains(zero_counts, placements: list[Placement], width_cm: float, depth_cm: float) -> tuple[tuple[float, ...], float]:
    """Per-corner gains (N/count) by least squares, and the RMS residual in N.

    For each placement with counts ``d = counts - zero`` (per corner) and weight ``W = m·g``::

        [ dFL,  dFR,  dBL,  dBR] · g = W
        [ dFL,  dFR, -dBL, -dBR] · g = 2·W·ap/depth
        [-dFL,  dFR, -dBL,  dBR] · g = 2·W·ml/width

    Raises
    ------
    CalibrationError
        Fewer than two different masses, or placements that cannot separate the four corners.
    """
    if len({round(p.mass_kg, 6) for p in placements}) < 2:
        raise CalibrationError("gain calibration needs at least two different known masses")
    rows, rhs = [], []
    zero = np.asarray(zero_counts, dtype=float)
    for p in placements:
        d = np.asarray(p.counts, dtype=float) - zero
        w = p.mass_kg * STANDARD_GRAVITY_M_S2
        rows += [d * [1, 1, 1, 1], d * [1, 1, -1, -1], d * [-1, 1, -1, 1]]
        rhs += [w, 2 * w * p.ap_cm / depth_cm, 2 * w * p.ml_cm / width_cm]
    a = np.array(rows)
    b = np.array(rhs)
    solution, _, rank, _ = np.linalg.lstsq(a, b, rcond=None)
    if rank < 4:
        raise CalibrationError(
            "the placements cannot tell the four corners apart; put the masses at the centre and near each corner"
        )
    residual = a @ solution - b
    if np.any(solution <= 0):
        bad = [CORNERS[i].upper() for i in np.flatnonzero(solution <= 0)]
        raise CalibrationError(
            f"corner(s) {', '.join(bad)} respond with the wrong sign or not at all; check the load cell wiring"
        )
    return tuple(float(g) for g in solution), float(np.sqrt(np.mean(residual**2)))


def measured_calibration(zero_counts, gains, residual_n: float, source: str, details: dict | None = None) -> PlateCalibration:
    return PlateCalibration(
        zero_counts=tuple(float(z) for z in zero_counts),
        n_per_count=tuple(float(g) for g in gains),
        method="measured",
        created_utc=_now_utc(),
        residual_n=float(residual_n),
        source=source,
        details=details or {},
    )


HISTORY_FILENAME = "calibration-history.jsonl"
"""Every calibration saved, one JSON object a line, oldest first (a record; the station reads
:data:`CALIBRATION_FILENAME`)."""


@dataclass(frozen=True)
class SavedCalibration:
    """Where :func:`save_calibration` put a calibration: ``path`` (``calibration.json``, saved), and
    ``history_error``, the system's words when its line could not be added to the history (None when
    it was)."""

    path: Path
    history_error: str | None = None


def save_calibration(data_dir: Path, calibration: PlateCalibration) -> SavedCalibration:
    """Write ``calibration.json`` atomically, then add it to ``calibration-history.jsonl`` as one whole
    line. An ``OSError`` means the calibration was not saved (the old file, if any, stays). A history
    line the disk refuses does not undo the saved calibration: it is said in ``history_error`` and
    the history keeps no half line."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / CALIBRATION_FILENAME
    doc = calibration.to_dict()
    atomic_write_text(path, json.dumps(doc, indent=2))
    try:
        append_line_durably(data_dir / HISTORY_FILENAME, json.dumps(doc))
    except OSError as exc:
        return SavedCalibration(path, exc.strerror or str(exc))
    return SavedCalibration(path)


def load_calibration(data_dir: Path) -> PlateCalibration | None:
    """The stored calibration, or None when there is none. A corrupt file raises CalibrationError."""
    path = Path(data_dir) / CALIBRATION_FILENAME
    if not path.exists():
        return None
    try:
        doc = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise CalibrationError(f"{path} cannot be read ({exc}); run `balance-station calibrate` again") from None
    try:
        return PlateCalibration.from_dict(doc)
    except CalibrationError as exc:
        raise CalibrationError(f"{path}: {exc}; run `balance-station calibrate` again") from None
