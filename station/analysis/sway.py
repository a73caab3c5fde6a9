"""Time-domain sway measures of a centre-of-pressure (COP) trajectory (DESIGN.md §5).

Every function takes the AP and ML coordinates in cm **after mean removal** (the caller,
:func:`station.analysis.metrics.compute_metrics`, applies the processing profile and removes the
mean) and returns plain floats; a measure that is undefined for the signal (e.g. a frequency of a
signal without sway) is returned as ``None``.

References
----------
Prieto TE, Myklebust JB, Hoffmann RG, Lovett EG, Myklebust BM (1996). Measures of postural steadiness:
differences between healthy young and elderly adults. IEEE Trans Biomed Eng 43(9):956-966.
Schubert P, Kirchner M (2014). Ellipse area calculations and their applicability in posturography.
Gait Posture 39(1):518-522.
Duarte M (2015). Comments on "Ellipse area calculations and their applicability in posturography".
Gait Posture 41(1):44-45.
"""

from __future__ import annotations

import math

import numpy as np

ELLIPSE_PROBABILITY = 0.95
"""Coverage of the prediction ellipse."""
Z_95_ONE_SIDED = 1.645
"""Prieto 1996: the 95 % confidence circle uses MDIST + z_.05 * s_RD, z_.05 = 1.645."""


def f_quantile_2(denominator_dof: int, probability: float) -> float:
    """Quantile of Fisher's F distribution with 2 numerator degrees of freedom, closed form.

    For F(2, d) the distribution function is ``1 - (1 + 2 F / d)^(-d/2)``, so the quantile of
    probability p is ``F = (d / 2) ((1 - p)^(-2/d) - 1)``, computed as
    ``(d / 2) expm1(-(2 / d) log1p(-p))`` to keep every digit when d is large (Johnson, Kotz &
    Balakrishnan 1995, *Continuous Univariate Distributions* vol. 2, ch. 27). Agrees with
    ``scipy.special.fdtri(2, d, p)`` to about 1e-15 relative (``tests/analysis/test_fast_paths.py``),
    without importing scipy.special (more than half of the ``analyze`` command's start-up).

    Parameters
    ----------
    denominator_dof : int
        Denominator degrees of freedom d (>= 1).
    probability : float
        p, 0 <= p < 1.

    Returns
    -------
    float
        The quantile (dimensionless).

    Examples
    --------
    >>> round(f_quantile_2(5998, 0.95), 6)
    2.997229
    """
    d = float(denominator_dof)
    return 0.5 * d * math.expm1(-(2.0 / d) * math.log1p(-probability))


def _none_if_not_finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def prediction_ellipse(ap_cm: np.ndarray, ml_cm: np.ndarray) -> dict[str, float | None]:
    """95 % prediction ellipse of the COP (Schubert & Kirchner 2014; Duarte 2015).

    Definition: with S the 2x2 covariance of (AP, ML) (normalised by N-1) and
    ``c = F_0.95(2, N-2) * 2 (N-1)(N+1) / (N (N-2))`` (``F`` the quantile of Fisher's F
    distribution, :func:`f_quantile_2`), the ellipse ``{x : x^T S^-1 x <= c}`` is expected to
    contain 95 % of future samples. Its area is ``pi * sqrt(det S) * c``; the semi-axes are ``sqrt(c * lambda)`` for the
    eigenvalues ``lambda`` of S.

    Parameters
    ----------
    ap_cm, ml_cm : ndarray
        Mean-removed COP coordinates, cm; N >= 3 samples.

    Returns
    -------
    dict
        ``ellipse_area_cm2`` (cm²), ``ellipse_major_cm`` and ``ellipse_minor_cm`` (semi-axes, cm),
        ``ellipse_angle_deg``: direction of the major axis in degrees from +AP toward +ML, in
        (-90, 90]; ``None`` when the ellipse is a circle or a point (no preferred direction).
    """
    n = ap_cm.shape[0]
    s_aa = float(np.einsum('i,i->', ap_cm, ap_cm)) / (n - 1)
    s_mm = float(np.einsum('i,i->', ml_cm, ml_cm)) / (n - 1)
    s_am = float(np.einsum('i,i->', ap_cm, ml_cm)) / (n - 1)
    c = f_quantile_2(n - 2, ELLIPSE_PROBABILITY) * 2.0 * (n - 1) * (n + 1) / (n * (n - 2))
    det = max(s_aa * s_mm - s_am * s_am, 0.0)
    area = math.pi * math.sqrt(det) * c
    half_trace = 0.5 * (s_aa + s_mm)
    spread = math.hypot(0.5 * (s_aa - s_mm), s_am)
    lam_major = half_trace + spread
    lam_minor = max(half_trace - spread, 0.0)
    if spread > 1e-12 * half_trace and spread > 0.0:
        # atan2 lies in (-180, 180], so the angle lies in (-90, 90]
        angle_deg: float | None = math.degrees(0.5 * math.atan2(2.0 * s_am, s_aa - s_mm))
    else:
        angle_deg = None
    return {
        "ellipse_area_cm2": area,
        "ellipse_major_cm": math.sqrt(c * lam_major),
        "ellipse_minor_cm": math.sqrt(c * lam_minor),
        "ellipse_angle_deg": angle_deg,
    }


def _convex_hull_vertices(points: np.ndarray) -> np.ndarray | None:
    """Vertices of the convex hull in counter-clockwise order, or None if the points are collinear.

    Points strictly inside the octagon of the extreme points in 8 directions cannot be hull
    vertices and are discarded first (Akl & Toussaint 1978), which leaves a few hundred points of
    a sway trajectory instead of thousands, and of these the ones strictly inside the 32-gon of
    extreme points (:func:`_drop_inside_polygon`), which leaves tens; their hull is Andrew's
    monotone chain (Andrew 1979), exact orientation tests, collinear points left out. O(N) filter + O(M log M) hull. (Qhull,
    used before, gave the same diameters; importing scipy.spatial cost more than a trial's analysis.)
    """
    x, y = np.ascontiguousarray(points[:, 0]), np.ascontiguousarray(points[:, 1])  # (columns: strided)
    projections = (x, x + y, y, y - x, -x, -x - y, -y, x - y)  # directions 0, 45, ... 315 degrees
    octagon = points[[int(np.argmax(p)) for p in projections]]
    keep = np.zeros(points.shape[0], dtype=bool)
    nxt = np.roll(octagon, -1, axis=0)
    distinct = np.any(octagon != nxt, axis=1)
    if distinct.sum() >= 3:
        inside = np.ones(points.shape[0], dtype=bool)
        # (vertices as Python floats: the same double arithmetic without numpy scalars' overhead)
        for a, b in zip(octagon[distinct].tolist(), nxt[distinct].tolist()):
            inside &= (b[0] - a[0]) * (y - a[1]) - (b[1] - a[1]) * (x - a[0]) > 0
        keep = ~inside
    else:
        keep[:] = True
    candidates = points[keep]
    if candidates.shape[0] > 64:
        candidates = _drop_inside_polygon(candidates, 32)
    order = np.lexsort((candidates[:, 1], candidates[:, 0]))  # by x, then y
    ordered = candidates[order].tolist()

    def chain(sequence: list) -> list:
        out: list = []
        for p in sequence:
            while len(out) >= 2:
                (ox, oy), (ax, ay) = out[-2], out[-1]
                if (ax - ox) * (p[1] - oy) - (ay - oy) * (p[0] - ox) > 0:  # a left turn: keep
                    break
                out.pop()
            out.append(p)
        return out

    lower, upper = chain(ordered), chain(ordered[::-1])
    hull = lower[:-1] + upper[:-1]
    if len(hull) < 3:
        return None
    return np.array(hull)


def _drop_inside_polygon(points: np.ndarray, directions: int) -> np.ndarray:
    """The points not strictly inside the polygon of the extreme points in ``directions`` equally
    spaced directions (a second, finer Akl-Toussaint filter on the few hundred points the octagon
    leaves, so that the monotone chain, a Python loop, sees tens). The polygon's vertices are
    points of the set, so a point strictly inside it is strictly inside the hull: the hull is
    unchanged."""
    x, y = points[:, 0], points[:, 1]
    angles = 2.0 * np.pi * np.arange(directions) / directions
    extreme = np.argmax(x[:, None] * np.cos(angles) + y[:, None] * np.sin(angles), axis=0)
    polygon = points[extreme]
    nxt = np.roll(polygon, -1, axis=0)
    distinct = np.any(polygon != nxt, axis=1)
    if distinct.sum() < 3:
        return points
    a, b = polygon[distinct], nxt[distinct]
    cross = (b[:, 0:1] - a[:, 0:1]) * (y - a[:, 1:2]) - (b[:, 1:2] - a[:, 1:2]) * (x - a[:, 0:1])
    return points[~np.all(cross > 0, axis=0)]


ALL_PAIRS_UP_TO = 96
"""Hulls of at most this many vertices: the diameter from every pair of vertices (a few thousand
distances), larger ones by rotating calipers."""


def max_pairwise_distance(ap_cm: np.ndarray, ml_cm: np.ndarray) -> float:
    """Largest distance between any two samples (the trajectory's diameter), cm.

    Method: convex hull (monotone chain after Akl-Toussaint filters), then the largest distance
    between two of its vertices: every pair for a hull of at most ``ALL_PAIRS_UP_TO`` vertices
    (the usual few tens), else all antipodal vertex pairs by rotating calipers, vectorised: for
    each hull edge the vertex farthest from it is found by a binary search on the monotone edge
    directions. O(N log N) time, O(N) memory; no pairwise distance matrix of the samples.
    Collinear or identical points are handled exactly in O(N).

    Examples
    --------
    >>> t = np.linspace(0.0, 2.0 * np.pi, 1000)
    >>> round(max_pairwise_distance(2.0 * np.cos(t), np.sin(t)), 4)  # an ellipse of semi-axes 2 and 1
    4.0
    """
    points = np.column_stack((ap_cm, ml_cm))
    hull = _convex_hull_vertices(points)
    if hull is None:  # collinear (or one point): the farthest point from an extreme is the other extreme
        d0 = np.hypot(points[:, 0] - points[0, 0], points[:, 1] - points[0, 1])
        e = points[int(np.argmax(d0))]
        return float(np.max(np.hypot(points[:, 0] - e[0], points[:, 1] - e[1])))
    h = hull.shape[0]
    if h <= 8:
        diff = hull[:, None, :] - hull[None, :, :]
        return float(np.sqrt((diff**2).sum(axis=-1)).max())
    if h <= ALL_PAIRS_UP_TO:
        # every pair of vertices (the antipodal ones among them): one array operation instead of
        # the calipers' two dozen on a hull of a few tens of vertices
        return float(np.hypot(hull[:, None, 0] - hull[None, :, 0], hull[:, None, 1] - hull[None, :, 1]).max())
    edges = np.roll(hull, -1, axis=0) - hull
    theta = np.arctan2(edges[:, 1], edges[:, 0])
    theta = theta[0] + np.concatenate(([0.0], np.cumsum(np.mod(np.diff(theta), 2 * np.pi))))
    extended = np.concatenate((theta, theta + 2 * np.pi, theta + 4 * np.pi))
    m = np.searchsorted(extended, theta + np.pi)
    k = np.arange(h)
    best = 0.0
    for shift in (-1, 0, 1):
        far = hull[(m + shift) % h]
        for end in (k, (k + 1) % h):
            d = np.hypot(far[:, 0] - hull[end, 0], far[:, 1] - hull[end, 1])
            best = max(best, float(d.max()))
    return best


def time_domain(ap_cm: np.ndarray, ml_cm: np.ndarray, fs_hz: float) -> dict[str, float | None]:
    """Distance, velocity, range and area measures of Prieto et al. (1996) and DESIGN.md §5.

    Parameters
    ----------
    ap_cm, ml_cm : ndarray
        Mean-removed COP coordinates, cm, N samples at ``fs_hz``.
    fs_hz : float
        Sample rate, Hz. The duration is T = N / fs (s).

    Returns
    -------
    dict
        ``path_length_cm`` = sum of |ΔCOP| (resultant), ``path_length_ap_cm`` = sum |ΔAP|,
        ``path_length_ml_cm``; ``mean_velocity_*_cm_s`` = path / T; ``mean_distance_cm`` (MDIST) =
        mean radial distance from the mean, ``mean_distance_ap_cm`` = mean |AP|,
        ``mean_distance_ml_cm``; ``rms_distance_cm`` (RDIST), ``rms_ap_cm``, ``rms_ml_cm`` with 1/N;
        ``max_distance_cm``; ``range_ap_cm``, ``range_ml_cm`` (max - min) and ``range_cm`` (largest
        distance between two samples); ``confidence_circle_area_cm2`` (AREA-CC) =
        pi (MDIST + 1.645 s_RD)², s_RD = sqrt(RDIST² - MDIST²); ``sway_area_per_s_cm2_s``
        (AREA-SW) = sum |AP[n+1] ML[n] - AP[n] ML[n+1]| / (2T); ``mean_frequency_hz`` (MFREQ) =
        MVELO / (2 pi MDIST), per axis MVELO_axis / (4 sqrt(2) MDIST_axis) (Hz); and the fractal
        dimensions ``fractal_dimension_cc`` / ``_ce`` = ln N / ln(N d / TOTEX), TOTEX the path length
        and d = 2 (MDIST + 1.645 s_RD) (CC) or the diameter of the circle whose area is the 95 %
        prediction ellipse's (CE; needs ``ellipse_area_cm2``, so it is added by
        :func:`fractal_dimension_ce`). Undefined values (zero sway) are None.
    """
    n = ap_cm.shape[0]
    duration_s = n / fs_hz
    # (np.diff and .mean() by slices and sums: the same numbers without their Python layers; a mean is
    # the pairwise sum divided by N, as ndarray.mean computes it)
    add = np.add.reduce
    d_ap = ap_cm[1:] - ap_cm[:-1]
    d_ml = ml_cm[1:] - ml_cm[:-1]
    path = float(add(np.sqrt(d_ap * d_ap + d_ml * d_ml)))
    path_ap = float(add(np.abs(d_ap)))
    path_ml = float(add(np.abs(d_ml)))
    radial = np.sqrt(ap_cm * ap_cm + ml_cm * ml_cm)
    mdist = float(add(radial)) / n
    mdist_ap = float(add(np.abs(ap_cm))) / n
    mdist_ml = float(add(np.abs(ml_cm))) / n
    ss_ap = float(np.einsum('i,i->', ap_cm, ap_cm))
    ss_ml = float(np.einsum('i,i->', ml_cm, ml_cm))
    rdist2 = (ss_ap + ss_ml) / n
    rms_ap = math.sqrt(ss_ap / n)
    rms_ml = math.sqrt(ss_ml / n)
    s_rd = math.sqrt(max(rdist2 - mdist * mdist, 0.0))
    cc_radius = mdist + Z_95_ONE_SIDED * s_rd
    sway_area = float(np.abs(ap_cm[1:] * ml_cm[:-1] - ap_cm[:-1] * ml_cm[1:]).sum()) / (2.0 * duration_s)
    mvelo = path / duration_s

    def ratio(num: float, den: float) -> float | None:
        return num / den if den > 0 else None

    fd_cc = None
    if path > 0 and cc_radius > 0:
        fd_cc = _fractal_dimension(n, 2.0 * cc_radius, path)
    return {
        "path_length_cm": path,
        "path_length_ap_cm": path_ap,
        "path_length_ml_cm": path_ml,
        "mean_velocity_cm_s": mvelo,
        "mean_velocity_ap_cm_s": path_ap / duration_s,
        "mean_velocity_ml_cm_s": path_ml / duration_s,
        "mean_distance_cm": mdist,
        "mean_distance_ap_cm": mdist_ap,
        "mean_distance_ml_cm": mdist_ml,
        "rms_distance_cm": math.sqrt(rdist2),
        "rms_ap_cm": rms_ap,
        "rms_ml_cm": rms_ml,
        "max_distance_cm": float(radial.max()),
        "range_ap_cm": float(ap_cm.max() - ap_cm.min()),
        "range_ml_cm": float(ml_cm.max() - ml_cm.min()),
        "range_cm": max_pairwise_distance(ap_cm, ml_cm),
        "confidence_circle_area_cm2": math.pi * cc_radius * cc_radius,
        "sway_area_per_s_cm2_s": sway_area,
        "mean_frequency_hz": ratio(mvelo, 2.0 * math.pi * mdist),
        "mean_frequency_ap_hz": ratio(path_ap / duration_s, 4.0 * math.sqrt(2.0) * mdist_ap),
        "mean_frequency_ml_hz": ratio(path_ml / duration_s, 4.0 * math.sqrt(2.0) * mdist_ml),
        "fractal_dimension_cc": fd_cc,
    }


def _fractal_dimension(n: int, diameter_cm: float, path_cm: float) -> float | None:
    """Prieto 1996 FD = ln N / ln(N d / TOTEX); None when the denominator is not positive."""
    den = math.log(n * diameter_cm / path_cm)
    return _none_if_not_finite(math.log(n) / den) if den > 0 else None


def fractal_dimension_ce(n: int, ellipse_area_cm2: float, path_length_cm: float) -> float | None:
    """Prieto 1996 FD-CE with d the diameter of the circle of the 95 % prediction ellipse's area.

    d = 2 sqrt(area / pi) (cm); FD = ln N / ln(N d / TOTEX), TOTEX the path length (cm).
    Note: Prieto used his 95 % *confidence* ellipse; the station uses the prediction ellipse of
    DESIGN.md §5 (``ellipse_area_cm2``) so that both FD and area refer to the same ellipse.
    """
    if path_length_cm <= 0 or ellipse_area_cm2 <= 0:
        return None
    return _fractal_dimension(n, 2.0 * math.sqrt(ellipse_area_cm2 / math.pi), path_length_cm)
