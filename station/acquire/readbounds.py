"""Timing a FIFO's samples from what its reads say for certain (DESIGN.md §3; s29 A8, after s28 A7).

Each read of an IMU's FIFO level bounds when its samples were made: the newest, ``k``, by the end of the
level's read (``t(k) ≤ end``), the next, ``k + 1``, not before its start (``t(k + 1) > start``). The chip
makes its samples on a straight line ``t(k) = a + k·P`` (its own clock; a clock that drifts is a line over a
few seconds), so every read cuts the plane of lines ``(P, a)``: ``a ≤ end − k·P`` and
``a > start − (k + 1)·P``. What the reads of the last seconds leave is a convex polygon, between the lower
envelope ``U(P) = min(end − k·P)`` and the upper envelope ``L(P) = max(start − (k + 1)·P)``; its centroid
is the line :class:`ReadBounds` times the samples by.

The regression (:class:`~station.acquire.chipclock.ChipClock`) fits the middles of the reads' windows;
for an MPU-6050 at 200 Hz read once per 10-ms frame, two samples a read, those middles are off by the
samples' phase against the reads, the same for every read until the phase has come round, once in
1-5 s: its samples were up to 2-2.5 ms off in their first seconds. The bounds do not average: one read
that falls at another phase (a late wake-up; the phase coming round) cuts the polygon at once.

Cost: the reads' lines come in with ever steeper slopes (``k`` grows), so each envelope is kept as a
convex hull by the monotone "convex hull trick": a read adds one line to each and drops the lines it
makes useless, amortised a few comparisons; only lines that are part of an envelope for a period within
the chip's tolerance (``ChipClock.tolerance``) are kept, and after each read's estimate only those for a
period the reads still allow. The centroid is found by walking the two envelopes' corners (a few of
each), only when a read changed the envelopes used.

The reads are kept in blocks of :data:`BLOCK_READS`; an envelope is kept for each of the last
:data:`BLOCKS` blocks' reads onwards (a new read goes into all of them), and the estimate uses the
oldest whose polygon is not empty: the lines of the last 6-9 s, so a chip whose clock drifts (with
temperature) is followed, and one whose rate changes at once is let go of once the reads across the
change allow no line (1-4 s after a 0.2 % step: until the samples have moved against the reads by up
to a period, reads made on time cannot tell; the regression lags 5-10 s). While the polygon leaves the
newest sample's time open by more than :data:`WIDE_PERIODS` periods (the first reads, or the first
after such a change), :meth:`ReadBounds.line` says None: the caller uses its regression, kept within
:meth:`ReadBounds.band`.
"""

from __future__ import annotations

BLOCK_READS = 300
"""Reads per block (3 s of 100-Hz frames)."""

BLOCKS = 3
"""Blocks whose reads onwards an envelope is kept for: the estimate is made from the last 2-3 blocks'
reads (the oldest envelope whose polygon is not empty)."""

WIDE_PERIODS = 0.8
"""A polygon that leaves the newest sample's time more than this many nominal periods open says little
(one read alone leaves a period and its level read open): the regression is used instead."""


class _Hull:
    """The lower envelope ``min(c + m·x)`` of lines added with ever smaller slopes ``m``, kept for
    ``x`` in ``[lo, hi]``: the lines in order of ``x`` and the ``x`` where each next one takes over."""

    __slots__ = ("lo", "hi", "c", "m", "x", "changed")

    def __init__(self, lo: float, hi: float) -> None:
        self.lo, self.hi = lo, hi
        self.c: list[float] = []
        self.m: list[float] = []
        self.x: list[float] = []  # x[i]: where line i + 1 takes over from line i
        self.changed = False  # whether the last line added is part of the envelope

    def add(self, c: float, m: float) -> None:
        """Add a line (:attr:`changed`: whether it is part of the envelope; else nothing changed)."""
        self.changed = False
        cs, ms, xs = self.c, self.m, self.x
        while cs:
            c1, m1 = cs[-1], ms[-1]
            if m >= m1:  # as steep as the last (same k): the lower one is kept
                if c >= c1:
                    return
            else:
                x = (c - c1) / (m1 - m)
                if x >= self.hi:
                    return  # under the others only beyond the periods kept
                if x > self.lo and (not xs or x > xs[-1]):
                    cs.append(c)
                    ms.append(m)
                    xs.append(x)
                    self.changed = True
                    return
            cs.pop()
            ms.pop()
            if xs:
                xs.pop()
        cs.append(c)
        ms.append(m)
        self.changed = True

    def keep(self, lo: float, hi: float) -> None:
        """Keep the envelope for ``x`` in ``[lo, hi]`` only (within what it kept)."""
        if lo > self.lo:
            self.lo = lo
        if hi < self.hi:
            self.hi = hi
        cs, ms, xs = self.c, self.m, self.x
        drop = 0
        while drop < len(xs) and xs[drop] <= self.lo:
            drop += 1
        if drop:
            del cs[:drop], ms[:drop], xs[:drop]
        while xs and xs[-1] >= self.hi:
            cs.pop()
            ms.pop()
            xs.pop()


class ReadBounds:
    """The lines ``t(k) = a + k·P`` a FIFO's reads allow, and the centroid of them.

    Parameters
    ----------
    nominal_period_ns : float
        The chip's nominal sample period, ns.
    tolerance : float
        Largest relative error of the chip's clock: only periods within it are considered.

    Examples
    --------
    A chip 0.3 % slow whose samples are read two at a time every 10 ms, every read's level read 0.1 ms
    long, and now and then a read late by some ms (another phase of the samples against the reads):

    >>> bounds = ReadBounds(5e6)
    >>> truth = lambda k: 1_234_567 + k * 5_015_000
    >>> for j in range(300):
    ...     start = 2_000_000 + j * 10_000_000 + (3_300_000 if j % 37 == 0 else 0)
    ...     k = max(i for i in range(2 * j + 3) if truth(i) <= start + 100_000)
    ...     bounds.add(k, start, start + 100_000)
    >>> a, period = bounds.line()
    >>> abs(a + 400 * period - truth(400)) < 200_000, round(period / 5e6, 3)
    (True, 1.003)
    """

    __slots__ = ("nominal_period_ns", "tolerance", "_hulls", "_in_block", "_k0", "_t0", "_line", "_corners",
                 "_open_to", "_newest")

    def __init__(self, nominal_period_ns: float, *, tolerance: float = 0.02) -> None:
        self.nominal_period_ns = float(nominal_period_ns)
        self.tolerance = float(tolerance)
        self.reset()

    def reset(self) -> None:
        """Forget every read (the FIFO overflowed or was emptied, its numbering starts again)."""
        self._hulls: list[tuple[_Hull, _Hull]] = []  # (upper, lower) per block onwards, oldest first
        self._in_block = BLOCK_READS
        self._k0 = 0
        self._t0 = 0
        self._line: tuple[float, float] | None = None
        self._corners: list[tuple[float, float, float]] = []  # the polygon's (P, a's top, a's bottom)
        self._open_to: float = -1  # the last sample (k − k0) the line times (_open_until)
        self._newest = 0

    def _new_hulls(self) -> tuple[_Hull, _Hull]:
        lo = self.nominal_period_ns * (1.0 - self.tolerance)
        hi = self.nominal_period_ns * (1.0 + self.tolerance)
        # the upper bound's envelope in x = P; the lower bound's, negated, in x = −P (so that both are lower
        # envelopes of lines whose slopes fall as reads come in)
        return _Hull(lo, hi), _Hull(-hi, -lo)

    def add(self, k: int, start_ns: int, end_ns: int) -> None:
        """Sample ``k`` was made by ``end_ns``, sample ``k + 1`` after ``start_ns``; then the estimate
        (:meth:`line`) is made again, if this read changed what the reads allow."""
        hulls = self._hulls
        if not hulls:
            self._k0, self._t0 = k, end_ns
        changed = False
        if self._in_block >= BLOCK_READS:
            hulls.append(self._new_hulls())
            if len(hulls) > BLOCKS:
                del hulls[0]
                changed = True
            self._in_block = 0
        self._in_block += 1
        kk = k - self._k0
        up_c, lo_c = end_ns - self._t0, self._t0 - start_ns
        up_m, lo_m = -kk, -(kk + 1)
        for upper, lower in hulls:
            # a ≤ end − k·P; −a < −start + (k + 1)·P, in x = −P: −start − (k + 1)·x
            upper.add(up_c, up_m)
            lower.add(lo_c, lo_m)
        upper, lower = hulls[0]
        if changed or upper.changed or lower.changed or self._line is None:
            self._line = None
            while hulls:
                found = self._centroid(hulls[0][0], hulls[0][1])
                if found is not None:
                    break
                del hulls[0]  # the reads since that block allow no line: a clock that changed rate
            else:  # not even this block's: start again from this read
                self._in_block = BLOCK_READS
                self._open_to = -1
                self._corners = []
                self.add(k, start_ns, end_ns)
                return
            a, period = found
            self._line = (self._t0 + a - self._k0 * period, period)
            self._open_to = self._open_until(kk)
        self._newest = kk

    def _open_until(self, kk: int) -> float:
        """The last sample (``k − k0``) whose time the polygon leaves open by :data:`WIDE_PERIODS` periods
        or less (−1 if sample ``kk``'s already more). Sample ``r``'s time is open from ``min(bottom + r·P)``
        to ``max(top + r·P)`` over the corners, wider as ``r`` leaves the reads behind: by corners ``i``
        and ``j`` more than ``W`` once ``(top_i − bottom_j) + r·(P_i − P_j) > W``."""
        corners = self._corners
        wide = WIDE_PERIODS * self.nominal_period_ns
        if max(t + kk * x for x, t, _ in corners) - min(b + kk * x for x, _, b in corners) > wide:
            return -1
        until = float("inf")
        for x_i, top, _ in corners:
            for x_j, _, bottom in corners:
                if x_i > x_j:
                    until = min(until, (wide - top + bottom) / (x_i - x_j))
        return until

    def band(self, k: int) -> tuple[float, float] | None:
        """When sample ``k`` may have been made by the lines the reads allow, ns: ``(earliest, latest)``
        (None before the first read)."""
        corners = self._corners
        if not corners:
            return None
        r = k - self._k0
        t0 = self._t0
        return (t0 + min(b + r * x for x, _, b in corners), t0 + max(t + r * x for x, t, _ in corners))

    def line(self) -> tuple[float, float] | None:
        """``(a, P)``: the time of sample ``k`` is ``a + k·P``, ns; None while the reads allow no line
        or leave the newest sample's time open more than :data:`WIDE_PERIODS` periods."""
        if self._newest > self._open_to:
            return None
        return self._line

    def _centroid(self, upper: _Hull, lower: _Hull) -> tuple[float, float] | None:
        """The centroid ``(a, P)`` of the polygon between the envelopes (``a``: the time of sample ``k0``
        less ``t0``), its corners kept in ``_corners``; None if the polygon is empty. The envelopes are
        then kept only for the periods the polygon spans."""
        uc, um, ux = upper.c, upper.m, upper.x
        lc, lm, lx = lower.c, lower.m, lower.x
        # walk both envelopes' corners in order of P: the lower bound's corners are at −x, last first
        x = upper.lo
        end = upper.hi
        i = 0
        n_u = len(ux)
        j = len(lc) - 1
        area = sum_a = sum_p = 0.0
        corners = []
        x0 = u0 = l0 = w0 = None
        while True:
            u = uc[i] + um[i] * x
            low = lm[j] * x - lc[j]
            w = u - low
            if w0 is not None and (w0 > 0 or w > 0):
                x1, u1, l1, w1 = x, u, low, w
                if w0 <= 0:  # enters the polygon in this stretch
                    f = w0 / (w0 - w1)
                    x0 += f * (x1 - x0)
                    u0 = l0 = u0 + f * (u1 - u0)
                    w0 = 0.0
                    corners.append((x0, u0, l0))
                if w1 < 0:  # leaves it
                    f = w0 / (w0 - w1)
                    x1 = x0 + f * (x1 - x0)
                    u1 = l1 = u0 + f * (u1 - u0)
                    w1 = 0.0
                corners.append((x1, u1, l1))
                # ∫ w, ∫ w·(u + l)/2, ∫ w·P over the stretch (w, u, l linear in P)
                h = x1 - x0
                area += h * (w0 + w1) * 0.5
                sum_a += h / 12.0 * (2 * w0 * (u0 + l0) + w0 * (u1 + l1) + w1 * (u0 + l0) + 2 * w1 * (u1 + l1))
                sum_p += h / 6.0 * (2 * w0 * x0 + w0 * x1 + w1 * x0 + 2 * w1 * x1)
            elif w0 is None and w > 0:
                corners.append((x, u, low))
            x0, u0, l0, w0 = x, u, low, w
            if x >= end:
                break
            # the next corner: the upper envelope's next take-over or the lower's (at −lx[j − 1]), or both
            nxt = end
            if i < n_u and ux[i] < nxt:
                nxt = ux[i]
            if j > 0 and -lx[j - 1] < nxt:
                nxt = -lx[j - 1]
            if i < n_u and ux[i] <= nxt:
                i += 1
            if j > 0 and -lx[j - 1] <= nxt:
                j -= 1
            x = nxt
        if area <= 0.0:
            return None
        self._corners = corners
        margin = 1e-9 * self.nominal_period_ns
        p_lo, p_hi = corners[0][0] - margin, corners[-1][0] + margin
        upper.keep(p_lo, p_hi)
        lower.keep(-p_hi, -p_lo)
        return sum_a / area, sum_p / area
