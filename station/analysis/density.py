"""Sway density (Baratto et al. 2002; Jacono et al. 2004), DESIGN.md §5.

**Sway-density curve (SDC).** For each sample i, the time the COP stays within a circle of radius
``R`` (default 0.3 cm) centred on it: the number of consecutive samples after i that lie within
``R`` of COP[i], divided by the sample rate (s). (Forward count, as in the reference code of
Quijoux et al. 2021; a stay still running at the end of the recording is counted to the end.)

**Peaks.** The SDC is split into excursions above its median; each complete excursion (one that
starts and ends inside the recording) contributes one peak, its maximum. ``sway_density_mean_peak_s``
is the mean SDC value at the peaks (s) and ``sway_density_mean_distance_cm`` the mean distance
between the COP positions of consecutive peaks (cm). Fewer than one (or two) peaks: None.

**Algorithm and cost.** Exact for the circle, without scanning every stay sample by sample:

1. *Rounds of safe jumps*, vectorised over all samples still unresolved (M): (a) path-length
   bound: if sample j is known to be inside, at distance d from COP[i], no sample can leave the
   circle before the path travelled from j exceeds ``R - d``; the next candidate is found by binary
   search in the cumulative path length (``searchsorted``, O(log N)); (b) every ``BOX_EVERY``
   rounds, binary lifting over a sparse table of bounding boxes of blocks of 2^k samples (a block
   whose box fits in the circle is skipped whole; O(log N) per sample); then the candidate is
   tested exactly. Each round costs O(M log N); a stay without motion, or with only noise well
   inside the circle, is crossed in one round. (c) Once at most ``SCAN_QUERIES`` samples are
   unresolved, a round tests each one's next samples one by one with the same exact test, in a
   window of ``SCAN_WINDOW`` samples that doubles every round up to ``MAX_SCAN_WINDOW``: the last
   few stays would otherwise cost a round's fixed numpy overhead for a few samples each.
2. Rounds are capped at ``MAX_ROUNDS``. Samples still unresolved (more than ``SCAN_QUERIES`` paths
   that graze the inside of their circle for a long time, e.g. a circle of diameter just under
   ``R``) are finished by an exact
   search for the first sample outside the regular ``POLYGON_SIDES``-gon inscribed in the circle:
   each of its ``POLYGON_SIDES / 2`` slabs is a 1-D max/min condition, aggregated in a segment
   tree over time, so a descent costs O(log N) block tests. Such a stay ends at its first sample
   in the thin ring between polygon and circle (radius difference ``1 - cos(pi / POLYGON_SIDES)``
   = 0.5 % of ``R``), so it may be counted shorter than it is. (Finishing the last few stays by the
   scan of step 1c made one synthetic signal exact that this fallback had cut short: filtered
   noise at 200 Hz with stays of thousands of samples; the published trials never reach it.)

Total cost O(N log N) in the worst case (``MAX_ROUNDS`` rounds of O(N log N), plus a segment tree
of O(N) size and O(log N) descents, plus at most ``SCAN_QUERIES`` windows of at most
``MAX_SCAN_WINDOW`` samples a round); no pairwise distances.

References
----------
Baratto L, Morasso PG, Re C, Spada G (2002). A new look at posturographic analysis in the clinical
context: sway-density versus other parameterization techniques. Motor Control 6(3):246-270.
Jacono M, Casadio M, Morasso PG, Sanguineti V (2004). The sway-density curve and the annulus of
sway: tools for the analysis of postural control. Gait Posture 19 (suppl.) / Motor Control 8.
Quijoux F et al. (2021). A review of center of pressure (COP) variables to quantify standing
balance in elderly people: algorithms and open-access code. Physiol Rep 9(22):e15067.
"""

from __future__ import annotations

import math

import numpy as np

DEFAULT_RADIUS_CM = 0.3
MAX_ROUNDS = 48
BOX_EVERY = 4
MAX_BOX_LEVEL = 12
POLYGON_SIDES = 32
SCAN_QUERIES = 128
"""At most this many unresolved samples: scanned sample by sample (algorithm step 1c)."""
SCAN_WINDOW = 16
MAX_SCAN_WINDOW = 1024


class _BoxTable:
    """Bounding boxes of the blocks [j, j + 2^k) for k <= MAX_BOX_LEVEL (a sparse table, O(N) per
    level). ``advance`` moves each query's first unverified sample past whole blocks whose box lies
    inside the query's circle (binary lifting, one vectorised step per level). Boxes are a
    conservative test: a box inside the circle proves every sample inside.

    A level is built only if one of its blocks is at most ``2 r`` wide and ``2 r`` high (with a
    rounding margin): a box that fits in a circle of radius r is no wider, so on a level without
    such a block the test fails for every query, and as a block of the next level contains one of
    this level, no higher level can have one either. Short stays thus cost few levels (the tables
    are memory-bound: each level is 32 bytes per sample)."""

    def __init__(self, x: np.ndarray, y: np.ndarray, r: float):
        self.x, self.y = x, y
        n = x.shape[0]
        # columns: max x, max y, max -x, max -y over each block (one maximum per level);
        # rows are blocks, so gathering a block's box reads 32 contiguous bytes. Every level has a
        # row for every start j: the blocks that would run past the end are cut there (the box of
        # [j, n)), so a query never needs a bounds test, and skipping such a block says that every
        # sample to the end of the recording is inside.
        levels = [np.column_stack((x, y, -x, -y))]
        # widest block that can fit, with a margin far above the rounding of max(box - q, box + q)
        scale = max(float(np.max(np.abs(levels[0]))), r) if n else r
        limit = 2.0 * r + 64.0 * np.finfo(np.float64).eps * scale
        step = 1
        while 2 * step <= n and len(levels) <= MAX_BOX_LEVEL:
            prev = levels[-1]
            table = np.empty_like(prev)
            np.maximum(prev[:-step], prev[step:], out=table[:-step])
            table[-step:] = prev[-step:]
            # (levels 1-2, blocks of 2 and 4 samples, nearly always fit: not worth the test)
            whole = table[: n - 2 * step + 1]  # the blocks of 2 * step samples (not those cut at the end)
            whole = whole[:: max(1, step // 4)]  # (a sample of them: stopping early only costs speed)
            if step >= 4 and not np.any(np.maximum(whole[:, 0] + whole[:, 2], whole[:, 1] + whole[:, 3]) <= limit):
                break  # no block of this level (nor of any higher one) fits in a circle of radius r
            levels.append(table)
            step *= 2
        self.levels = levels

    def advance(self, qx: np.ndarray, qy: np.ndarray, pos: np.ndarray, r: float) -> np.ndarray:
        """``pos`` moved past the blocks that fit in the circles of radius r around (qx, qy); a
        ``pos`` at or past the end (``n``) means every sample from the old ``pos`` on is inside."""
        x, y, n = self.x, self.y, self.x.shape[0]
        r2 = r * r
        # Every block that starts at pos contains sample pos, and its box test rounds no lower than
        # that sample's own (level-0) test: where the sample at pos is outside, no block can be
        # skipped, so only the queries whose sample at pos passes are lifted (same result).
        at = np.minimum(pos, n - 1)
        xa, ya = x.take(at), y.take(at)
        fx = np.maximum(xa - qx, qx - xa)
        fy = np.maximum(ya - qy, qy - ya)
        lift = np.flatnonzero((pos < n) & (fx * fx + fy * fy <= r2))
        if lift.size == 0:
            return pos
        out = pos.copy()
        pos = pos[lift]
        # the query point in the boxes' layout: box - q is (max x - qx, max y - qy, max -x + qx,
        # max -y + qy) in one contiguous operation (a - (-b) is a + b exactly)
        q = np.empty((lift.shape[0], 4))
        q[:, 0], q[:, 1] = qx[lift], qy[lift]
        np.negative(q[:, :2], out=q[:, 2:])
        for k in range(len(self.levels) - 1, -1, -1):
            # past the end, the clipped index reads the last block: whatever it says, pos stays >= n
            far = self.levels[k].take(pos, axis=0, mode="clip")
            far -= q
            fx = np.maximum(far[:, 0], far[:, 2])  # the farthest corner's offsets
            fy = np.maximum(far[:, 1], far[:, 3])
            fx *= fx
            fy *= fy
            fx += fy
            pos += (fx <= r2) << k
        out[lift] = pos
        return out


def stay_counts(ap_cm: np.ndarray, ml_cm: np.ndarray, radius_cm: float = DEFAULT_RADIUS_CM) -> np.ndarray:
    """For each sample i, the number of consecutive samples after i within ``radius_cm`` of it.

    Parameters
    ----------
    ap_cm, ml_cm : ndarray
        COP coordinates, cm (any origin).
    radius_cm : float
        Radius of the circle, cm (> 0).

    Returns
    -------
    ndarray of int64
        ``count[i] = e(i) - i - 1`` where ``e(i)`` is the first index after i farther than
        ``radius_cm`` from sample i (or N if none). See the module docstring for the algorithm.

    Examples
    --------
    >>> stay_counts(np.array([0.0, 0.1, 0.2, 1.0, 1.1]), np.zeros(5), 0.3).tolist()
    [2, 1, 0, 1, 0]
    """
    x = np.ascontiguousarray(ap_cm, dtype=np.float64)
    y = np.ascontiguousarray(ml_cm, dtype=np.float64)
    n = x.shape[0]
    r = float(radius_cm)
    exit_index = np.full(n, n, dtype=np.int64)
    if n < 2:
        return exit_index - np.arange(n) - 1
    cum = np.empty(n)
    cum[0] = 0.0
    dx, dy = x[1:] - x[:-1], y[1:] - y[:-1]
    np.cumsum(np.sqrt(dx * dx + dy * dy), out=cum[1:])
    boxes = _BoxTable(x, y, r)
    query = np.arange(n)
    qx, qy = x, y  # the coordinates of the unresolved samples, kept alongside ``query``
    # everything within path length r of sample i is inside its circle: j is the first sample beyond,
    # the number of cum values <= cum[i] + r (searchsorted's side="right"); the keys are sorted, so
    # one stable merge of the two sorted runs counts them for all samples (ties: cum's values first,
    # as they come first in the concatenation), some 40 % cheaper than N binary searches
    order = np.argsort(np.concatenate((cum, cum + r)), kind="stable")
    j = np.maximum(np.flatnonzero(order >= n) - query, query + 1)
    window = SCAN_WINDOW
    for round_no in range(MAX_ROUNDS):
        if query.shape[0] <= SCAN_QUERIES:
            # few left: each one's next `window` samples tested one by one (the same exact test)
            ahead = j[:, None] + np.arange(window)
            at = np.minimum(ahead, n - 1)
            dx, dy = x.take(at) - qx[:, None], y.take(at) - qy[:, None]
            outside = (np.sqrt(dx * dx + dy * dy) > r) | (ahead >= n)
            first = outside.argmax(axis=1)
            hit = outside[np.arange(first.shape[0]), first]
            exit_index[query[hit]] = np.minimum(j[hit] + first[hit], n)
            keep = ~hit
            if not keep.any():
                return exit_index - np.arange(n) - 1
            query, qx, qy, j = query[keep], qx[keep], qy[keep], j[keep] + window
            window = min(2 * window, MAX_SCAN_WINDOW)
            continue
        if round_no % BOX_EVERY == 0:
            j = boxes.advance(qx, qy, j, r)
        at_end = j >= n
        jc = np.minimum(j, n - 1)
        dx, dy = x.take(jc) - qx, y.take(jc) - qy
        d = np.sqrt(dx * dx + dy * dy)
        resolved = at_end | (d > r)
        exit_index[query[resolved]] = np.minimum(j[resolved], n)
        keep = ~resolved
        if not keep.any():
            return exit_index - np.arange(n) - 1
        query, j, d, qx, qy = query[keep], j[keep], d[keep], qx[keep], qy[keep]
        j = np.maximum(np.searchsorted(cum, cum.take(j) + (r - d), side="right"), j + 1)
    exit_index[query] = _polygon_exits(x, y, r, query, j)
    return exit_index - np.arange(n) - 1


def _polygon_exits(x: np.ndarray, y: np.ndarray, r: float, query: np.ndarray, start: np.ndarray) -> np.ndarray:
    """First index >= start outside the regular polygon inscribed in the circle of radius r around
    each query sample (all samples before ``start`` are known to be inside). Exact segment-tree
    descent: O(N) build, O(log N) vectorised steps."""
    n = x.shape[0]
    half = POLYGON_SIDES // 2
    angles = np.pi * np.arange(half) / half
    ux, uy = np.cos(angles), np.sin(angles)
    apothem = r * math.cos(math.pi / POLYGON_SIDES)
    proj = np.outer(ux, x) + np.outer(uy, y)  # (half, n)
    # segment tree levels: level k holds max/min over aligned blocks [m 2^k, (m+1) 2^k)
    maxima, minima, offsets = [proj], [proj], [0]
    size = n
    while size > 1:
        hi, lo = maxima[-1], minima[-1]
        if size % 2:
            hi = np.concatenate((hi, hi[:, -1:]), axis=1)
            lo = np.concatenate((lo, lo[:, -1:]), axis=1)
        offsets.append(offsets[-1] + size)
        maxima.append(np.maximum(hi[:, 0::2], hi[:, 1::2]))
        minima.append(np.minimum(lo[:, 0::2], lo[:, 1::2]))
        size = maxima[-1].shape[1]
    top = len(maxima) - 1
    tree_max = np.concatenate(maxima, axis=1)
    tree_min = np.concatenate(minima, axis=1)
    offsets = np.asarray(offsets)
    centre = proj[:, query]  # (half, q)

    def inside(level: np.ndarray, block: np.ndarray, which: np.ndarray) -> np.ndarray:
        col = offsets[level] + block
        c = centre[:, which]
        return np.all((tree_max[:, col] - c <= apothem) & (c - tree_min[:, col] <= apothem), axis=0)

    def lowest_level(pos: np.ndarray) -> np.ndarray:
        low = pos & -pos
        level = np.where(pos == 0, top, np.log2(np.maximum(low, 1)).astype(np.int64))
        return np.minimum(level, top)

    result = np.full(query.shape[0], n, dtype=np.int64)
    active = np.arange(query.shape[0])
    pos = start.astype(np.int64).copy()
    level = lowest_level(pos)
    descending = np.zeros(query.shape[0], dtype=bool)
    # each sample climbs at most `top` levels and descends at most `top` levels: 2 top + 2 steps
    for _ in range(2 * top + 4):
        live = pos < n
        result[active[~live]] = n
        active, pos, level, descending = active[live], pos[live], level[live], descending[live]
        if active.size == 0:
            break
        ok = inside(level, pos >> level, active)
        left_child = ((pos >> level) & 1) == 0
        found = ~ok & (level == 0)
        result[active[found]] = pos[found]
        climb = ok & ~(descending & left_child)  # passed a whole block: continue upward
        go_down = ~ok & (level > 0)
        pos = np.where(ok, pos + (1 << level), pos)
        level = np.where(go_down, level - 1, np.where(climb, lowest_level(pos), level))
        descending = np.where(climb, False, descending | go_down)
        keep = ~found
        active, pos, level, descending = active[keep], pos[keep], level[keep], descending[keep]
    if active.size:  # cannot happen with an exact block test; kept as a guard against a silent error
        raise RuntimeError("sway density: polygon descent did not converge")
    return result


def sway_density(ap_cm: np.ndarray, ml_cm: np.ndarray, fs_hz: float, radius_cm: float = DEFAULT_RADIUS_CM):
    """Sway-density peaks (see the module docstring).

    Parameters
    ----------
    ap_cm, ml_cm : ndarray
        COP coordinates, cm, N samples at ``fs_hz``.
    fs_hz : float
        Sample rate, Hz.
    radius_cm : float
        Circle radius, cm (Jacono et al. 2004; default 0.3 cm).

    Returns
    -------
    dict
        ``sway_density_mean_peak_s`` (s) and ``sway_density_mean_distance_cm`` (cm); None when the
        SDC has no complete excursion above its median (e.g. no sway) or only one peak.

    Examples
    --------
    Two seconds at each of six spots 1 cm apart (100 Hz), moving between them at once:

    >>> spots = np.array([(0, 0), (1, 0), (1, 1), (0, 1), (0, 0), (1, 0)], dtype=float)
    >>> out = sway_density(np.repeat(spots[:, 0], 200), np.repeat(spots[:, 1], 200), 100.0)
    >>> round(out["sway_density_mean_peak_s"], 2), round(out["sway_density_mean_distance_cm"], 2)
    (1.99, 1.0)
    """
    counts = stay_counts(ap_cm, ml_cm, radius_cm)
    n = counts.shape[0]
    if n == 0:
        return {"sway_density_mean_peak_s": None, "sway_density_mean_distance_cm": None}
    # above the median: the middle count, or the mean of the two middle ones, as np.median gives
    # (computed here because np.median's NaN check imports numpy.ma, ~20 ms in each worker of a batch)
    half = n // 2
    middle = np.partition(counts, (half - 1, half) if n % 2 == 0 else half)
    median = float(middle[half]) if n % 2 else (middle[half - 1] + middle[half]) / 2.0
    above = counts > median
    edges = np.diff(above.astype(np.int8))
    starts = np.flatnonzero(edges == 1) + 1
    ends = np.flatnonzero(edges == -1) + 1  # exclusive
    if starts.size and ends.size:
        ends = ends[ends > starts[0]]
        starts = starts[: ends.size]
    if starts.size == 0:
        return {"sway_density_mean_peak_s": None, "sway_density_mean_distance_cm": None}
    # argmax within each excursion (first maximum): encode (count, -index) in one integer key
    key = counts * (n + 1) + (n - np.arange(n))
    # segments [s0, e0), [e0, s1), ..., [ek, end): the even ones are the excursions (ends < n)
    best = np.maximum.reduceat(key, np.ravel(np.column_stack((starts, ends))))[0::2]
    peak_index = n - (best % (n + 1))
    mean_peak = float(counts[peak_index].mean()) / fs_hz
    mean_distance = None
    if peak_index.size >= 2:
        mean_distance = float(
            np.hypot(np.diff(np.asarray(ap_cm)[peak_index]), np.diff(np.asarray(ml_cm)[peak_index])).mean()
        )
    return {"sway_density_mean_peak_s": mean_peak, "sway_density_mean_distance_cm": mean_distance}
