"""Centre of pressure from the four corner forces (DESIGN.md §4, contract).

Plate frame, seen by the person standing on it: origin at the plate centre, +AP toward the toes,
+ML toward the person's right. Corners FL, FR, BL, BR. ``width_cm`` is the distance between left
and right load-cell centres, ``depth_cm`` between front and back ones::

    COP_ML = (width/2) * ((FR + BR) - (FL + BL)) / Fz
    COP_AP = (depth/2) * ((FL + FR) - (BL + BR)) / Fz
"""

from __future__ import annotations

import numpy as np


def cop_from_corners(fl_n, fr_n, bl_n, br_n, width_cm: float, depth_cm: float, min_fz_n: float = 0.0):
    """COP in cm and total vertical force in N from corner forces in N.

    Parameters
    ----------
    fl_n, fr_n, bl_n, br_n : float or array_like
        Vertical force on the front-left, front-right, back-left and back-right load cells, N.
    width_cm, depth_cm : float
        Distance between left and right, and between front and back load-cell centres, cm.
    min_fz_n : float
        Below this total force the COP is undefined and returned as NaN (COP is unreliable on a
        lightly loaded plate; DESIGN.md §6 suggests gating around 300 N for a standing adult).

    Returns
    -------
    ap_cm, ml_cm, fz_n : ndarray or float
        COP anterior-posterior and medio-lateral coordinates in cm, total force in N.
    """
    if all(type(v) is float for v in (fl_n, fr_n, bl_n, br_n)):
        # Scalar fast path for the acquisition loop (one frame at a time): plain float arithmetic
        # is ~20x faster than numpy on 0-d arrays. Same formulas as below.
        fz = fl_n + fr_n + bl_n + br_n
        if fz == 0.0 or abs(fz) <= min_fz_n:
            return float("nan"), float("nan"), fz
        return (depth_cm / 2.0) * ((fl_n + fr_n) - (bl_n + br_n)) / fz, (width_cm / 2.0) * (
            (fr_n + br_n) - (fl_n + bl_n)
        ) / fz, fz
    fl = np.asarray(fl_n, dtype=float)
    fr = np.asarray(fr_n, dtype=float)
    bl = np.asarray(bl_n, dtype=float)
    br = np.asarray(br_n, dtype=float)
    fz = fl + fr + bl + br
    loaded = np.abs(fz) > max(min_fz_n, 0.0) if min_fz_n > 0 else fz != 0
    safe_fz = np.where(loaded, fz, 1.0)
    ml = np.where(loaded, (width_cm / 2.0) * ((fr + br) - (fl + bl)) / safe_fz, np.nan)
    ap = np.where(loaded, (depth_cm / 2.0) * ((fl + fr) - (bl + br)) / safe_fz, np.nan)
    if ap.ndim == 0:
        return float(ap), float(ml), float(fz)
    return ap, ml, fz
