"""Weight bearing from the four corner forces: left/right and front/back shares, symmetry index.

Corners FL, FR, BL, BR in the plate frame of DESIGN.md §4 (+ML toward the person's right, +AP
toward the toes). Shares use the mean forces over the trial (ratio of means), so that brief
moments of low load do not dominate:

* ``weight_left_pct``  = 100 * mean(FL + BL) / mean(FL + FR + BL + BR); ``weight_right_pct`` = 100 - left
* ``weight_front_pct`` = 100 * mean(FL + FR) / mean(total);             ``weight_back_pct``  = 100 - front
* ``weight_symmetry_index_pct`` = 100 * (L - R) / ((L + R) / 2) with L, R the mean left and right
  loads (Robinson et al. 1987 symmetry index; 0 = symmetric, positive = more load on the left,
  range -200..200).

For a person standing with the feet placed symmetrically about the plate centre, the left share
equals the share of body weight on the left leg (the COP_ML of DESIGN.md §4 is
``(width/2) * (right% - left%) / 100``).

Reference: Robinson RO, Herzog W, Nigg BM (1987). Use of force platform variables to quantify the
effects of chiropractic manipulation on gait symmetry. J Manipulative Physiol Ther 10(4):172-176.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

CORNER_KEYS = ("fl_n", "fr_n", "bl_n", "br_n")
WEIGHT_KEYS = (
    "weight_left_pct",
    "weight_right_pct",
    "weight_front_pct",
    "weight_back_pct",
    "weight_symmetry_index_pct",
)


def weight_bearing(corners_n: Mapping[str, np.ndarray] | None) -> dict[str, float | None]:
    """Left/right and front/back load shares (%) and the left-right symmetry index (%).

    Parameters
    ----------
    corners_n : mapping, array or None
        Corner forces in N: a mapping with keys ``fl_n, fr_n, bl_n, br_n`` (equally long arrays), or
        an array of shape (N, 4) with the columns FL, FR, BL, BR; or None.

    Returns
    -------
    dict
        The keys of ``WEIGHT_KEYS``; all None without corner forces or when the mean total force
        is not positive (nobody on the plate).

    Raises
    ------
    ValueError
        If a corner is missing, the arrays differ in length, or contain NaN or infinite values.
    """
    if corners_n is None:
        return dict.fromkeys(WEIGHT_KEYS, None)
    if isinstance(corners_n, Mapping):
        missing = [k for k in CORNER_KEYS if k not in corners_n]
        if missing:
            raise ValueError(f"corner forces missing: {', '.join(missing)}")
        arrays = [np.asarray(corners_n[k], dtype=np.float64) for k in CORNER_KEYS]
    else:
        table = np.asarray(corners_n, dtype=np.float64)
        if table.ndim != 2 or table.shape[1] != 4:
            raise ValueError(f"corner forces must be a mapping or an (N, 4) array, got shape {table.shape}")
        arrays = [table[:, i] for i in range(4)]
    if len({a.shape for a in arrays}) != 1 or arrays[0].ndim != 1 or arrays[0].size == 0:
        raise ValueError("corner forces must be non-empty 1-D arrays of equal length")
    if not all(np.isfinite(a).all() for a in arrays):
        raise ValueError("corner forces contain NaN or infinite values")
    fl, fr, bl, br = (float(a.mean()) for a in arrays)
    total = fl + fr + bl + br
    if not total > 0:
        return dict.fromkeys(WEIGHT_KEYS, None)
    left, right = fl + bl, fr + br
    left_pct = 100.0 * left / total
    front_pct = 100.0 * (fl + fr) / total
    mean_lr = 0.5 * (left + right)
    return {
        "weight_left_pct": left_pct,
        "weight_right_pct": 100.0 - left_pct,
        "weight_front_pct": front_pct,
        "weight_back_pct": 100.0 - front_pct,
        "weight_symmetry_index_pct": 100.0 * (left - right) / mean_lr if mean_lr > 0 else None,
    }
