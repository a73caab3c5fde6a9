"""Vector charts for the PDF reports, drawn with reportlab's graphics (no raster images).

Readable in black and white: lines in black and greys, told apart by dash patterns and marker
shapes rather than colour; a minimal detectable change is a light grey band with dashed edges.

:func:`statokinesigram`: a trial's centre-of-pressure trace in the plate frame (DESIGN.md §4: +ML
to the right, +AP toward the toes, up on the page) with its 95 % prediction ellipse, equal scales.
:func:`series_chart`: values over time (sessions or visits) with an optional band of ± the MDC
around the first value.
"""

from __future__ import annotations

import math
from datetime import datetime

import numpy as np
from reportlab.graphics.shapes import Drawing, Line, PolyLine, Polygon, Rect, String
from reportlab.lib import colors
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase.pdfmetrics import stringWidth

from station.reports.text import change_unit, pdf_text, quantity
from station.store.timefmt import local_minute

FONT = "Helvetica"
GREY_BAND = colors.HexColor("#d9d9d9")
GREY_LINE = colors.HexColor("#777777")


def _nice_step(span: float, ticks: int = 5) -> float:
    raw = span / max(1, ticks)
    power = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1.0
    for m in (1, 2, 2.5, 5, 10):
        if m * power >= raw:
            return m * power
    return 10 * power


def _ticks(lo: float, hi: float, ticks: int = 5) -> list[float]:
    step = _nice_step(hi - lo, ticks)
    start = math.ceil(lo / step - 1e-9) * step
    out = []
    v = start
    while v <= hi + 1e-9 * max(1.0, abs(hi)):
        out.append(0.0 if abs(v) < step * 1e-9 else v)
        v += step
    return out


def _tick_label(v: float, step: float) -> str:
    decimals = max(0, -int(math.floor(math.log10(step)))) if step < 1 else 0
    if step < 1 and abs(step * 10 ** decimals - round(step * 10 ** decimals)) > 1e-9:
        decimals += 1
    return f"{v:.{decimals}f}"


def decimate(values: np.ndarray, max_points: int) -> np.ndarray:
    """Every k-th value so that at most ``max_points`` remain (the last one kept)."""
    n = len(values)
    if n <= max_points:
        return values
    step = int(math.ceil(n / max_points))
    idx = np.arange(0, n, step)
    if idx[-1] != n - 1:
        idx = np.append(idx, n - 1)
    return values[idx]


STATOKINESIGRAM_MARGINS_PT = 30
"""A statokinesigram's left and right margins together (its axis labels): its title's width is the drawing's less these."""


def statokinesigram(ml_cm: np.ndarray, ap_cm: np.ndarray, ellipse: dict | None, *, size: float,
                    half_cm: float | None = None, title: str = "", title_rows: int = 0, max_points: int = 1500) -> Drawing:
    """A square drawing ``size`` points wide: the COP trace (cm, mean removed by the caller)
    and the 95 % prediction ellipse ``{"major_cm", "minor_cm", "angle_deg"}`` (semi-axes; the
    major axis at ``angle_deg`` from +AP toward +ML), both axes at one scale of ±``half_cm``. A ``title`` wider than
    the drawing goes on two lines (the second cut with "…" if it still does not fit), never into the next drawing;
    ``title_rows`` keeps room for that many lines (drawings side by side: their plots at one height and size)."""
    d = Drawing(size, size)
    pad_l = 26
    pad_r = STATOKINESIGRAM_MARGINS_PT - pad_l
    titles = title_lines(title, size - pad_l - pad_r) if title else []
    pad_b, pad_t = 22, 4 + 8 * max(len(titles), title_rows)
    plot = min(size - pad_l - pad_r, size - pad_b - pad_t)
    x0, y0 = pad_l, pad_b
    ml = np.asarray(ml_cm, dtype=float)
    ap = np.asarray(ap_cm, dtype=float)
    finite = np.isfinite(ml) & np.isfinite(ap)
    ml, ap = ml[finite], ap[finite]
    if half_cm is None:
        reach = float(np.max(np.abs(np.concatenate([ml, ap])))) if len(ml) else 1.0
        if ellipse and ellipse.get("major_cm"):
            reach = max(reach, float(ellipse["major_cm"]))
        half_cm = max(0.5, reach * 1.1)
    scale = plot / (2 * half_cm)

    def X(v):
        return x0 + (v + half_cm) * scale

    def Y(v):
        return y0 + (v + half_cm) * scale

    d.add(Rect(x0, y0, plot, plot, fillColor=None, strokeColor=colors.black, strokeWidth=0.6))
    step = _nice_step(2 * half_cm, 4)
    for t in _ticks(-half_cm, half_cm, 4):
        label = _tick_label(t, step)
        d.add(Line(X(t), y0, X(t), y0 - 2.5, strokeWidth=0.5))
        d.add(String(X(t), y0 - 9, label, fontName=FONT, fontSize=6, textAnchor="middle"))
        d.add(Line(x0, Y(t), x0 - 2.5, Y(t), strokeWidth=0.5))
        d.add(String(x0 - 4, Y(t) - 2, label, fontName=FONT, fontSize=6, textAnchor="end"))
    d.add(Line(X(0), y0, X(0), y0 + plot, strokeColor=GREY_BAND, strokeWidth=0.4))
    d.add(Line(x0, Y(0), x0 + plot, Y(0), strokeColor=GREY_BAND, strokeWidth=0.4))
    d.add(String(x0 + plot / 2, 2, pdf_text("ML (cm), right ->"), fontName=FONT, fontSize=6.5, textAnchor="middle"))
    label = String(0, 0, pdf_text("AP (cm), toes ->"), fontName=FONT, fontSize=6.5, textAnchor="middle")
    from reportlab.graphics.shapes import Group

    g = Group(label)
    g.translate(7, y0 + plot / 2)
    g.rotate(90)
    d.add(g)
    if len(ml) >= 2:
        ml_d, ap_d = decimate(ml, max_points), decimate(ap, max_points)
        clip_ml = np.clip(ml_d, -half_cm, half_cm)
        clip_ap = np.clip(ap_d, -half_cm, half_cm)
        points = np.column_stack([X(clip_ml), Y(clip_ap)]).ravel().tolist()
        d.add(PolyLine(points, strokeColor=GREY_LINE, strokeWidth=0.35))
    if ellipse and ellipse.get("major_cm") and ellipse.get("minor_cm"):
        a, b = float(ellipse["major_cm"]), float(ellipse["minor_cm"])
        theta = math.radians(float(ellipse.get("angle_deg") or 0.0))
        t = np.linspace(0, 2 * math.pi, 97)
        # major axis direction in (ML, AP): (sin θ, cos θ); minor axis perpendicular
        e_ml = a * np.cos(t) * math.sin(theta) + b * np.sin(t) * math.cos(theta)
        e_ap = a * np.cos(t) * math.cos(theta) - b * np.sin(t) * math.sin(theta)
        e_ml = np.clip(e_ml, -half_cm, half_cm)
        e_ap = np.clip(e_ap, -half_cm, half_cm)
        d.add(PolyLine(np.column_stack([X(e_ml), Y(e_ap)]).ravel().tolist(), strokeColor=colors.black,
                       strokeWidth=1.1, strokeDashArray=[3, 1.5]))
    for k, line in enumerate(titles):
        d.add(String(x0, size - 9 - 8 * k, line, fontName="Helvetica-Bold", fontSize=7))
    return d


def title_lines(title: str, width: float) -> list[str]:
    """A chart's title in at most two lines of ``width`` points (7 pt bold), the second cut with "…".

    >>> title_lines("Eyes open, attempt 1 · #3", 130)
    ['Eyes open, attempt 1 · #3']
    >>> title_lines("Standing on the right leg, trial 2, attempt 2 · #1234", 130)
    ['Standing on the right leg, trial 2,', 'attempt 2 · #1234']
    """
    lines = simpleSplit(pdf_text(title), "Helvetica-Bold", 7, width) or [""]
    if len(lines) <= 2:
        return lines
    rest = " ".join(lines[1:])
    while rest and stringWidth(rest + " …", "Helvetica-Bold", 7) > width:
        rest = rest[:-1]
    return [lines[0], rest.rstrip() + " …"]


MARKERS = ("circle", "square", "triangle", "diamond")
LABEL_GAP = 40.0
"""Least distance between two x labels, points (a 10-character date at 6 pt is ~28 pt wide)."""


def _marker(d: Drawing, kind: str, x: float, y: float, r: float = 2.2) -> None:
    if kind == "square":
        d.add(Rect(x - r, y - r, 2 * r, 2 * r, fillColor=colors.white, strokeColor=colors.black, strokeWidth=0.7))
    elif kind == "triangle":
        d.add(Polygon([x, y + r * 1.2, x - r, y - r, x + r, y - r], fillColor=colors.black, strokeColor=colors.black,
                      strokeWidth=0.5))
    elif kind == "diamond":
        d.add(Polygon([x, y + r * 1.3, x - r, y, x, y - r * 1.3, x + r, y], fillColor=colors.white,
                      strokeColor=colors.black, strokeWidth=0.7))
    else:
        from reportlab.graphics.shapes import Circle

        d.add(Circle(x, y, r, fillColor=colors.black, strokeColor=colors.black, strokeWidth=0.5))


def _as_time(label: str) -> float | None:
    try:
        return datetime.fromisoformat(str(label).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def series_chart(points: list[tuple[str, float | None]], *, width: float, height: float, unit: str,
                 mdc: float | None = None, floor: float | None = None, x_labels: list[str] | None = None,
                 by_time: bool = True, top_at_least: float | None = None,
                 apart: set[int] | None = None, cutoffs: list[tuple[float, str]] | None = None,
                 ceiling: float | None = None) -> Drawing:
    """Values over time: ``points`` are ``(ISO time or label, value)``; ``by_time`` places them
    by their dates (else evenly, labelled with ``x_labels``). ``mdc``: a grey band of ±MDC around
    the first value (a later value outside it changed by more than the measurement error).
    ``floor``: the y axis starts there (0 for amounts) when the values allow. ``top_at_least``: the
    y axis reaches at least this value (a count's: no pause in any session on an axis of 0 to 4, not
    of ticks in thousandths). ``apart``: indices of points not joined to the one before them (a treadmill
    session of another plan or belt speed: a line between them read as a change). ``cutoffs``: ``(value, label)`` of
    published cut-offs that apply to the patient, each a dashed line across the chart labelled at its left end (the
    y axis reaches them). ``ceiling``: the most a value can be (a time held: the trial's length); the MDC band stops
    there, as at the floor (30 s ± 24.1 s drew a band up to 54.1 s, a time no 30-s trial can hold)."""
    d = Drawing(width, height)
    pad_l, pad_r, pad_b, pad_t = 38, 12, 24, 8
    pw, ph = width - pad_l - pad_r, height - pad_b - pad_t
    x0, y0 = pad_l, pad_b
    values = [v for _, v in points if v is not None]
    d.add(Rect(x0, y0, pw, ph, fillColor=None, strokeColor=colors.black, strokeWidth=0.6))
    if not values:
        d.add(String(x0 + pw / 2, y0 + ph / 2, "no values", fontName=FONT, fontSize=7, textAnchor="middle"))
        return d
    lo, hi = min(values), max(values)
    base = next((v for _, v in points if v is not None), None)
    if mdc is not None and base is not None:
        lo, hi = min(lo, base - mdc), max(hi, min(base + mdc, ceiling if ceiling is not None else base + mdc))
    if floor is not None and min(values) >= floor:  # an amount (a time held) is never below its floor, nor its MDC band
        lo = floor
    if top_at_least is not None:
        hi = max(hi, top_at_least)
    for value, _ in cutoffs or ():
        lo, hi = min(lo, value), max(hi, value)
    if hi - lo < 1e-12:
        hi, lo = hi + max(1e-3, abs(hi) * 0.1), lo - max(1e-3, abs(lo) * 0.1)
        if floor is not None and lo < floor <= min(values):
            lo = floor
    margin = 0.06 * (hi - lo)
    hi += margin
    if floor is None or lo > floor:
        lo -= margin

    def Y(v):
        return y0 + (v - lo) / (hi - lo) * ph

    times = [_as_time(t) for t, _ in points] if by_time else [None] * len(points)
    use_time = by_time and all(t is not None for t in times) and len(set(times)) > 1
    n = len(points)
    if use_time:
        t_lo, t_hi = min(times), max(times)
        xs = [x0 + 6 + (t - t_lo) / (t_hi - t_lo) * (pw - 12) for t in times]
    else:
        xs = [x0 + pw / 2] if n == 1 else [x0 + 6 + i / (n - 1) * (pw - 12) for i in range(n)]
    if mdc is not None and base is not None:
        band_lo, band_hi = max(lo, base - mdc), min(hi, base + mdc, ceiling if ceiling is not None else hi)
        d.add(Rect(x0, Y(band_lo), pw, Y(band_hi) - Y(band_lo), fillColor=GREY_BAND, strokeColor=None))
        for v in (band_lo, band_hi):
            d.add(Line(x0, Y(v), x0 + pw, Y(v), strokeColor=GREY_LINE, strokeWidth=0.5, strokeDashArray=[2, 2]))
    _cutoff_lines(d, cutoffs, x0, pw, Y)
    step = _nice_step(hi - lo, 4)
    for t in _ticks(lo, hi, 4):
        d.add(Line(x0 - 2.5, Y(t), x0, Y(t), strokeWidth=0.5))
        d.add(String(x0 - 4, Y(t) - 2, _tick_label(t, step), fontName=FONT, fontSize=6, textAnchor="end"))
    if unit:
        d.add(String(2, y0 + ph + 1, pdf_text(unit), fontName=FONT, fontSize=6))
    line_pts: list[float] = []
    for i, (x, (_, v)) in enumerate(zip(xs, points)):
        if v is None or i in (apart or ()):
            if len(line_pts) >= 4:
                d.add(PolyLine(line_pts, strokeColor=colors.black, strokeWidth=0.8))
            line_pts = []
            if v is None:
                continue
        line_pts += [x, Y(v)]
    if len(line_pts) >= 4:
        d.add(PolyLine(line_pts, strokeColor=colors.black, strokeWidth=0.8))
    radius = 2.2 if n <= 30 else 1.5
    for x, (_, v) in zip(xs, points):
        if v is not None:
            _marker(d, "circle", x, Y(v), radius)
    # x labels: left to right, each at least LABEL_GAP from the one before; the last always shown
    labels = x_labels if x_labels is not None else _date_labels([_local_stamp(str(t)) for t, _ in points])
    shown: list[int] = []
    for i in range(n):
        if not shown or xs[i] - xs[shown[-1]] >= LABEL_GAP:
            shown.append(i)
    if n > 1 and shown[-1] != n - 1:
        if xs[n - 1] - xs[shown[-1]] < LABEL_GAP:
            shown.pop()
        shown.append(n - 1)
    for i in shown:
        d.add(Line(xs[i], y0, xs[i], y0 - 2.5, strokeWidth=0.5))
        d.add(String(xs[i], y0 - 9, pdf_text(labels[i])[:12], fontName=FONT, fontSize=6, textAnchor="middle"))
    if n > len(shown):
        d.add(String(x0 + pw, 2, f"{n} values", fontName=FONT, fontSize=6, textAnchor="end"))
    return d


def _cutoff_lines(d: Drawing, cutoffs, x0: float, pw: float, Y) -> None:
    """Published cut-offs that apply to the patient, ``(value, label)``, each a dashed line across the plot (x0 to
    x0 + pw, a value at Y(value)) labelled at its left end: dashed, darker and longer-dashed than an MDC band's edges.
    The history's charts and a visit's times held draw them alike."""
    for value, label in cutoffs or ():
        d.add(Line(x0, Y(value), x0 + pw, Y(value), strokeColor=colors.black, strokeWidth=0.6, strokeDashArray=[5, 2]))
        d.add(String(x0 + 3, Y(value) + 2, pdf_text(label), fontName=FONT, fontSize=6))


def times_held_chart(bars: list[tuple[str, float, bool]], *, width: float, height: float, top: float | None = None,
                     cutoffs: list[tuple[float, str]] | None = None) -> Drawing:
    """A visit's times held, one bar a trial in the order recorded: ``bars`` ``(label, seconds, unable)``, each with
    its label and time under it ("Trial 1", "3.5 s"); a 0 s, unable, an open circle on the axis. The y axis from 0 s to
    ``top`` (the trial's length) at least; ``cutoffs``: ``(value, label)`` of published cut-offs that apply, drawn as
    the history's charts draw them (:func:`series_chart`)."""
    from station.reports.text import time_held

    d = Drawing(width, height)
    pad_l, pad_r, pad_b, pad_t = 38, 12, 24, 8
    pw, ph = width - pad_l - pad_r, height - pad_b - pad_t
    x0, y0 = pad_l, pad_b
    d.add(Rect(x0, y0, pw, ph, fillColor=None, strokeColor=colors.black, strokeWidth=0.6))
    hi = max([top or 0.0, 1.0] + [v * 1.1 for _, v, _ in bars] + [v * 1.1 for v, _ in cutoffs or ()])

    def Y(v):
        return y0 + v / hi * ph

    step = _nice_step(hi, 4)
    for t in _ticks(0.0, hi, 4):
        d.add(Line(x0 - 2.5, Y(t), x0, Y(t), strokeWidth=0.5))
        d.add(String(x0 - 4, Y(t) - 2, _tick_label(t, step), fontName=FONT, fontSize=6, textAnchor="end"))
    d.add(String(2, y0 + ph + 1, "s", fontName=FONT, fontSize=6))
    slot = pw / max(1, len(bars))
    for i, (label, value, unable) in enumerate(bars):
        x = x0 + slot * (i + 0.5)
        if unable:
            from reportlab.graphics.shapes import Circle

            d.add(Circle(x, y0, 2.6, fillColor=colors.white, strokeColor=colors.black, strokeWidth=0.8))
        else:
            w = min(22.0, slot * 0.5)
            d.add(Rect(x - w / 2, y0, w, Y(value) - y0, fillColor=GREY_LINE, strokeColor=colors.black, strokeWidth=0.4))
        d.add(String(x, y0 - 8, pdf_text(label)[:14], fontName=FONT, fontSize=6, textAnchor="middle"))
        d.add(String(x, y0 - 16, "unable" if unable else pdf_text(time_held(value)), fontName=FONT, fontSize=6,
                     textAnchor="middle"))
    _cutoff_lines(d, cutoffs, x0, pw, Y)
    return d


def _local_stamp(label: str) -> str:
    """A stored ISO time as the clinic's ``YYYY-MM-DD HH:MM`` (its local time zone, as the report's
    dates: :func:`~station.store.timefmt.local_minute`); a date or another label as it is."""
    try:
        return local_minute(label)[:16]
    except ValueError:
        return label


def _date_labels(times: list[str]) -> list[str]:
    """A chart's x labels of the clinic's local times (``YYYY-MM-DD HH:MM``, :func:`_local_stamp`):
    each one's date, and a date shared by several (two tests of one visit) with its time, never the
    same label twice.

    >>> _date_labels(["2026-12-05 20:00", "2026-12-05 20:29", "2026-12-12 09:00"])
    ['12-05 20:00', '12-05 20:29', '2026-12-12']
    """
    dates = [t[:10] for t in times]
    return [f"{d[5:]} {t[11:16]}" if dates.count(d) > 1 else d for d, t in zip(dates, times)]


def mdc_caption(mdc: float | None, unit: str, said: str | None = None, *, first: float | None = None,
                ceiling: float | None = None, ceiling_said: str | None = None) -> str:
    """Words under a chart with an MDC band; ``said``: the MDC as the words beside it say it (a time held's, one
    decimal), else by the unit's rule. A band that :func:`series_chart` stops at its ``ceiling`` (the first value plus
    the MDC beyond it: a time held's trial length) says so, ``ceiling_said`` the ceiling in the words' precision.

    >>> mdc_caption(24.1, "s", "24.1 s")
    'Grey band: first value ± MDC (24.1 s)'
    >>> mdc_caption(24.1, "s", "24.1 s", first=30.0, ceiling=30.0, ceiling_said="30.0 s")
    'Grey band: first value ± MDC (24.1 s), stopped at 30.0 s, the longest a trial runs'
    >>> mdc_caption(4.0, "s", "4.0 s", first=12.0, ceiling=30.0, ceiling_said="30.0 s")
    'Grey band: first value ± MDC (4.0 s)'
    """
    if mdc is None:
        return ""
    words = f"Grey band: first value ± MDC ({said or quantity(mdc, change_unit(unit))})"
    if ceiling is not None and first is not None and first + mdc > ceiling:
        words += f", stopped at {ceiling_said or quantity(ceiling, unit)}, the longest a trial runs"
    return words.strip()
