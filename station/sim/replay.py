"""Replay of a recorded trial onto the simulated plate: the plate "feels" the recorded person.

A :class:`ReplaySource` is a load source (:class:`station.sim.loads.LoadSource`) built from a trial
file (our trial CSV or the Santos & Duarte text, read by :func:`station.store.trialfile.read_trial`)
or from arrays.

Time base
    Simulated ``t_s = 0`` is the file's first sample; :meth:`ReplaySource.file_time_s` maps a
    simulated time back to the file's clock, so a recording of the replay can be written on the
    replayed file's time base.
Between samples
    Linear interpolation of every signal. For the 100 Hz Santos & Duarte files, already low-passed
    at 10 Hz, linear interpolation changes the signal by at most a few tenths of a percent in
    amplitude at 10 Hz and returns the recorded values exactly at the sample times.
After the last sample
    The plate is empty (Fz 0, all corners 0): the recorded person has stepped off.
    :meth:`ReplaySource.ended` says so. (Before the first sample cannot happen: ``t_s >= 0``.)
Forces
    When the file has corner forces (``fl_n … br_n``), they are replayed as recorded (checked to
    reproduce the recorded COP on this plate's geometry, else the file came from another plate and
    is refused). Otherwise Fz and the COP are split onto the four corners with
    :func:`station.sim.loads.distribute_to_corners`, the exact inverse of the COP formula. A file
    without Fz needs ``mass_kg`` (Fz = m·g). Samples whose COP is NaN (load below the
    acquisition's COP gate) put their Fz at the plate centre; they are counted in
    :attr:`ReplaySource.centred_samples`.
Coordinates
    Kept as recorded: Santos & Duarte COP is in the AMTI plate's frame (not centred, e.g. AP about
    −8 cm), which fits inside our plate; a COP outside this plate's load cells is refused.
Trunk
    The IMU columns (``ax_m_s2 … gz_deg_s``) when the file has all six, finite; otherwise a still,
    upright sensor (0, 0, g) m/s² and zero rates (Santos & Duarte files have no trunk data).
"""

from __future__ import annotations

import bisect
import math
import os

import numpy as np

from station.analysis.cop import cop_from_corners
from station.config import CORNERS, PlateConfig
from station.sim.loads import STANDARD_GRAVITY_M_S2, PlateLoad, TrunkSample, distribute_to_corners

IMU_COLUMNS = ("ax_m_s2", "ay_m_s2", "az_m_s2", "gx_deg_s", "gy_deg_s", "gz_deg_s")
CORNER_COP_TOLERANCE_CM = 0.05
"""Largest disagreement between recorded COP and the COP of the recorded corners on this plate."""

_STILL_TRUNK = TrunkSample((0.0, 0.0, STANDARD_GRAVITY_M_S2), (0.0, 0.0, 0.0))


def _column(name: str, values, n: int | None) -> np.ndarray:
    a = np.asarray(values, dtype=float)
    if a.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array, got shape {a.shape}")
    if n is not None and a.shape[0] != n:
        raise ValueError(f"{name} has {a.shape[0]} samples but time_s has {n}")
    return a


class ReplaySource:
    """A recorded trial as a load source (see the module docstring for the rules).

    Parameters
    ----------
    time_s, ap_cm, ml_cm : array_like
        Sample times (s, strictly increasing, any origin) and COP (cm, plate frame; NaN allowed
        where the load was too small for a COP).
    fz_n : array_like, optional
        Total vertical force, N. Needed unless ``corners_n`` or ``mass_kg`` is given.
    corners_n : mapping, optional
        ``{"fl_n": …, "fr_n": …, "bl_n": …, "br_n": …}`` recorded corner forces, N.
    imu : mapping, optional
        The six IMU columns (:data:`IMU_COLUMNS`): m/s² and deg/s in the IMU frame.
    mass_kg : float, optional
        Body mass for a recording without forces (Fz = m·g at every sample).
    plate : PlateConfig
        The simulated plate's geometry.
    source : str
        A name for messages (the file path when built by :meth:`from_file`).

    Raises
    ------
    ValueError
        With a message naming the source and saying what to change.
    """

    def __init__(
        self,
        time_s,
        ap_cm,
        ml_cm,
        fz_n=None,
        corners_n=None,
        *,
        imu=None,
        mass_kg: float | None = None,
        plate: PlateConfig = PlateConfig(),
        source: str = "replay arrays",
    ):
        self.source = source
        self.plate = plate
        t = _column("time_s", time_s, None)
        n = t.shape[0]
        if n < 2:
            raise ValueError(f"{source}: a replay needs at least 2 samples, got {n}")
        if not np.all(np.isfinite(t)):
            raise ValueError(f"{source}: time_s contains NaN or infinite values")
        steps = np.diff(t)
        if np.any(steps <= 0):
            i = int(np.argmax(steps <= 0)) + 1
            raise ValueError(f"{source}: time_s is not strictly increasing at sample {i} ({t[i]:g} s)")
        ap = _column("ap_cm", ap_cm, n)
        ml = _column("ml_cm", ml_cm, n)
        if np.any(np.isinf(ap)) or np.any(np.isinf(ml)):
            raise ValueError(f"{source}: the COP contains infinite values")

        if corners_n is not None:
            missing = [f"{c}_n" for c in CORNERS if f"{c}_n" not in corners_n]
            if missing:
                raise ValueError(f"{source}: corner forces lack {', '.join(missing)}")
            corners = np.vstack([_column(f"{c}_n", corners_n[f"{c}_n"], n) for c in CORNERS])
            if not np.all(np.isfinite(corners)):
                i = int(np.argmax(~np.all(np.isfinite(corners), axis=0)))
                raise ValueError(f"{source}: corner forces are not finite at sample {i} ({t[i]:g} s)")
            fz = corners.sum(axis=0)
            if fz_n is not None:
                fz_rec = _column("fz_n", fz_n, n)
                bad = ~(np.abs(fz_rec - fz) <= 1e-6 * np.abs(fz) + 0.01)
                if bad.any():
                    i = int(np.argmax(bad))
                    raise ValueError(
                        f"{source}: fz_n ({fz_rec[i]:g} N) is not the sum of the corner forces ({fz[i]:g} N) "
                        f"at sample {i} ({t[i]:g} s)"
                    )
            self._check_corner_cop(corners, fz, ap, ml, t)
        else:
            if fz_n is not None:
                fz = _column("fz_n", fz_n, n).copy()
                if not np.all(np.isfinite(fz)):
                    i = int(np.argmax(~np.isfinite(fz)))
                    raise ValueError(f"{source}: fz_n is not finite at sample {i} ({t[i]:g} s)")
            elif mass_kg is not None:
                m = float(mass_kg)
                if not (math.isfinite(m) and m > 0):
                    raise ValueError(f"{source}: mass_kg must be a positive number of kg, got {mass_kg!r}")
                fz = np.full(n, m * STANDARD_GRAVITY_M_S2)
            else:
                raise ValueError(f"{source}: no fz_n and no corner forces: pass mass_kg= to replay it with Fz = m·g")
            corners = None

        # COP where it is missing: from the corners when there are some, else the plate centre.
        nan_cop = np.isnan(ap) | np.isnan(ml)
        ap, ml = ap.copy(), ml.copy()
        if corners is not None and nan_cop.any():
            cap, cml, _ = cop_from_corners(*corners, plate.width_cm, plate.depth_cm)
            ap[nan_cop], ml[nan_cop] = cap[nan_cop], cml[nan_cop]
        still_nan = np.isnan(ap) | np.isnan(ml)
        ap[still_nan] = 0.0
        ml[still_nan] = 0.0
        self.centred_samples = int(np.count_nonzero(still_nan)) if corners is None else 0
        loaded = fz > plate.cop_min_force_n  # below the COP gate the recorded COP is noise
        outside = loaded & ((np.abs(ap) > plate.depth_cm / 2) | (np.abs(ml) > plate.width_cm / 2))
        if outside.any():
            i = int(np.argmax(outside))
            raise ValueError(
                f"{source}: COP (AP {ap[i]:+.1f}, ML {ml[i]:+.1f} cm) at sample {i} ({t[i]:g} s) lies outside "
                f"this plate's load cells (±{plate.depth_cm / 2:g} AP, ±{plate.width_cm / 2:g} ML cm): "
                "the recording does not fit the simulated plate"
            )
        if corners is None:
            corners = np.vstack(distribute_to_corners(fz, ap, ml, plate.width_cm, plate.depth_cm))

        self.format = "arrays"
        self.fs_hz = float(1.0 / np.median(steps))
        self.file_start_s = float(t[0])
        self.samples = n
        self._rel = (t - t[0]).tolist()
        self.duration_s = self._rel[-1]
        self._fz, self._ap, self._ml = fz.tolist(), ap.tolist(), ml.tolist()
        self._corners = tuple(c.tolist() for c in corners)
        self.has_imu = False
        if imu is not None and all(c in imu for c in IMU_COLUMNS):
            cols = [_column(c, imu[c], n) for c in IMU_COLUMNS]
            if all(np.all(np.isfinite(c)) for c in cols):
                self._imu = tuple(c.tolist() for c in cols)
                self.has_imu = True
        self._i = 0

    def _check_corner_cop(self, corners, fz, ap, ml, t) -> None:
        gate = max(self.plate.cop_min_force_n, 1e-9)
        cap, cml, _ = cop_from_corners(*corners, self.plate.width_cm, self.plate.depth_cm, min_fz_n=gate)
        usable = np.isfinite(cap) & np.isfinite(ap) & np.isfinite(ml)
        err = np.where(usable, np.hypot(cap - ap, cml - ml), 0.0)
        if err.max(initial=0.0) > CORNER_COP_TOLERANCE_CM:
            i = int(np.argmax(err))
            raise ValueError(
                f"{self.source}: the recorded corner forces give a COP {err[i]:.2f} cm away from the recorded "
                f"COP at sample {i} ({t[i]:g} s) on a {self.plate.width_cm:g} × {self.plate.depth_cm:g} cm plate: "
                "the file comes from a plate of another size; use that plate's configuration"
            )

    @classmethod
    def from_file(
        cls, path: str | os.PathLike, *, mass_kg: float | None = None, plate: PlateConfig = PlateConfig()
    ) -> "ReplaySource":
        """Replay a trial file (our CSV or Santos & Duarte text).

        Raises
        ------
        station.store.trialfile.TrialFileError
            (a :class:`ValueError`) The file cannot be read, or cannot be replayed on this plate;
            the one-line message names the file and says why.
        """
        from station.store.trialfile import TrialFileError, read_trial

        trial = read_trial(path, allow_nan=True)
        try:
            source = cls(
                trial.time_s,
                trial.ap_cm,
                trial.ml_cm,
                trial.fz_n,
                trial.corners_n,
                imu=trial.extra,
                mass_kg=mass_kg,
                plate=plate,
                source="",
            )
        except ValueError as exc:
            raise TrialFileError(path, f"cannot replay: {str(exc).removeprefix(': ')}") from None
        source.source = str(path)
        source.format = trial.format
        source.fs_hz = trial.fs_hz
        return source

    # ------------------------------------------------------------------------------------------

    def file_time_s(self, t_s: float) -> float:
        """The file's time stamp (s) corresponding to simulated time ``t_s``."""
        return self.file_start_s + t_s

    def ended(self, t_s: float) -> bool:
        """True after the last recorded sample (the plate is then empty)."""
        return t_s > self.duration_s

    def _locate(self, t_s: float) -> tuple[int, float]:
        """Index i and fraction f with t between samples i and i+1; i = -1 after the end."""
        rel = self._rel
        i = self._i
        if rel[i] <= t_s < rel[i + 1]:
            return i, (t_s - rel[i]) / (rel[i + 1] - rel[i])
        if i + 2 < len(rel) and rel[i + 1] <= t_s < rel[i + 2]:  # the next interval: in-order calls
            i += 1
            self._i = i
            return i, (t_s - rel[i]) / (rel[i + 1] - rel[i])
        if not (t_s >= 0.0):  # also catches NaN
            raise ValueError(f"t_s must be a time >= 0 s, got {t_s!r}")
        if t_s >= self.duration_s:
            if t_s == self.duration_s:
                return len(rel) - 2, 1.0
            return -1, 0.0
        i = bisect.bisect_right(rel, t_s) - 1
        self._i = i
        return i, (t_s - rel[i]) / (rel[i + 1] - rel[i])

    def corner_forces_n(self, t_s: float) -> tuple[float, float, float, float]:
        """Forces on FL, FR, BL, BR in N at ``t_s`` (0 after the end)."""
        i, f = self._locate(t_s)
        if i < 0:
            return (0.0, 0.0, 0.0, 0.0)
        fl, fr, bl, br = self._corners
        j = i + 1
        return (
            fl[i] + f * (fl[j] - fl[i]),
            fr[i] + f * (fr[j] - fr[i]),
            bl[i] + f * (bl[j] - bl[i]),
            br[i] + f * (br[j] - br[i]),
        )

    def plate_load(self, t_s: float) -> PlateLoad:
        """Recorded Fz (N) and COP (cm) at ``t_s``; Fz 0 after the end (COP: the last one)."""
        i, f = self._locate(t_s)
        if i < 0:
            return PlateLoad(0.0, self._ap[-1], self._ml[-1])
        fz, ap, ml = self._fz, self._ap, self._ml
        j = i + 1
        return PlateLoad(fz[i] + f * (fz[j] - fz[i]), ap[i] + f * (ap[j] - ap[i]), ml[i] + f * (ml[j] - ml[i]))

    def trunk(self, t_s: float) -> TrunkSample:
        """Recorded IMU at ``t_s`` if the file has it, else a still upright sensor."""
        if not self.has_imu:
            if not (t_s >= 0.0):
                raise ValueError(f"t_s must be a time >= 0 s, got {t_s!r}")
            return _STILL_TRUNK
        i, f = self._locate(t_s)
        if i < 0:
            i, f = self.samples - 2, 1.0  # the sensor stays as last recorded
        ax, ay, az, gx, gy, gz = self._imu
        j = i + 1
        return TrunkSample(
            (ax[i] + f * (ax[j] - ax[i]), ay[i] + f * (ay[j] - ay[i]), az[i] + f * (az[j] - az[i])),
            (gx[i] + f * (gx[j] - gx[i]), gy[i] + f * (gy[j] - gy[i]), gz[i] + f * (gz[j] - gz[i])),
        )
