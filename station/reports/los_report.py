"""The limits-of-stability test in the session report: the composite of each measure with its unit
and which way is better, per direction the five measures and the lean's quality in words, and an
octagon of the maximum excursion (% of the limit) seen from above (vector, black and white).
Built from the ``limits_of_stability`` part of a results section
(:func:`station.protocols.lean.los_summary`)."""

from __future__ import annotations

import math

from reportlab.graphics.shapes import Circle, Drawing, Line, Polygon, String
from reportlab.lib import colors
from reportlab.lib.units import mm

from station.reports.layout import p, table
from station.reports.references import Citations
from station.reports.text import fixed, num, number, quantity

ORDER = ("f", "fr", "r", "br", "b", "bl", "l", "fl")
SHORT = {"f": "F", "fr": "FR", "r": "R", "br": "BR", "b": "B", "bl": "BL", "l": "L", "fl": "FL"}
ANGLE_DEG = {d: 90.0 - 45.0 * i for i, d in enumerate(ORDER)}
"""On the page: forward up, the patient's right to the right (seen from above)."""
EDGE_PCT = 125.0
SOURCE_ROLES = {"nashner1997": ("method",), "neurocom": ("method",), "lininger2018": ("names", "reliability"),
                "physiosensing2024": ("limits",), "clark2001": ("reliability",), "pickerill2011": ("reliability",)}
"""What each reference of the built-in protocol (limits-of-stability.toml) supports where the report
cites it: the test and its five measures (Nashner 1997; NeuroCom's manual), the measures' names
(Lininger et al. 2018), the theoretical limits (PhysioSensing 2024), the test's reliability and
validity (Lininger et al. 2018; Clark and Rose 2001; Pickerill and Harter 2011). A clinic copy's
other references are cited with the reliability papers, as the test's literature."""


def octagon(los: dict, size: float) -> Drawing:
    """Maximum excursion per direction (% of the limit): rings at 25 % steps, the limit bold."""
    d = Drawing(size, size)
    c, radius = size / 2, size / 2 - 9 * mm

    def point(direction: str, pct: float) -> tuple[float, float]:
        r = radius * max(0.0, min(pct, EDGE_PCT)) / EDGE_PCT
        a = math.radians(ANGLE_DEG[direction])
        return c + r * math.cos(a), c + r * math.sin(a)

    for pct in (25, 50, 75, 100):
        pts = [v for direction in ORDER for v in point(direction, pct)]
        d.add(Polygon(pts, fillColor=None, strokeColor=colors.black if pct == 100 else colors.HexColor("#999999"),
                      strokeWidth=1.2 if pct == 100 else 0.4, strokeDashArray=None if pct == 100 else [2, 2]))
    values = {k: (los["directions"].get(k) or {}).get("values", {}).get("los_max_excursion_pct") for k in ORDER}
    pts = [v for k in ORDER for v in point(k, values[k] or 0.0)]
    d.add(Polygon(pts, fillColor=colors.HexColor("#dddddd"), strokeColor=colors.black, strokeWidth=1.6))
    for k in ORDER:
        x, y = point(k, values[k] or 0.0)
        d.add(Circle(x, y, 1.6, fillColor=colors.white if values[k] is None else colors.black, strokeColor=colors.black))
        ex, ey = point(k, EDGE_PCT)
        d.add(Line(c, c, ex, ey, strokeColor=colors.HexColor("#bbbbbb"), strokeWidth=0.3))
        a = math.radians(ANGLE_DEG[k])
        lx, ly = c + (radius + 5 * mm) * math.cos(a), c + (radius + 5 * mm) * math.sin(a) - 2.5
        label = f"{SHORT[k]} {'–' if values[k] is None else num(values[k], '% of limit') + ' %'}"
        d.add(String(lx, ly, label, fontName="Helvetica", fontSize=7, textAnchor="middle"))
    return d


def _cite(section: dict, citations: Citations, role: str) -> str:
    """"[1], [2]": the section's references that support ``role`` (:data:`SOURCE_ROLES`), cited."""
    refs = [r for r in section.get("references") or [] if role in SOURCE_ROLES.get(r.get("id"), ("reliability",))]
    return ", ".join(filter(None, (citations.cite(r.get("citation"), r.get("doi")) for r in refs)))


def _method_words(section: dict, citations: Citations) -> list:
    """The test's method and measures with the sources that define them, and its literature on
    reliability, cited (the report lists only the sources it cites)."""
    los = section["limits_of_stability"]
    method, names = _cite(section, citations, "method"), _cite(section, citations, "names")
    words = ("Method: eight targets, one lean each, and the test's five measures" + (f" {method}" if method else "")
             + (f" (their names as in {names})" if names else "") + ". ")
    words += f"Height {fixed(los.get('height_cm'), 0)} cm; targets" if los.get("height_cm") else "Targets"  # as the page
    deg = los.get("theoretical_limits_deg") or {}
    if los.get("limits_source") == "previous":
        words += " at the limits reached in the previous test."
    elif deg.get("forward") is not None and deg.get("forward") == deg.get("lateral") and deg.get("backward") is not None:
        limits = _cite(section, citations, "limits")
        words += (f" at the theoretical limits, {number(deg['forward'], 2)}° forward and to each side and "
                  f"{number(deg['backward'], 2)}° backward" + (f" {limits}" if limits else "") + ".")
    else:
        words += " at the theoretical limits."
    out = [p(words + " Composite: the mean of the directions with a valid lean. Measured on the centre of pressure.",
             "small")]
    reliability = _cite(section, citations, "reliability")
    if reliability:
        out.append(p(f"Reliability and validity of the test: {reliability}; no published cut-off or norm is applied "
                     "here.", "small"))
    return out


def los_flowables(section: dict, width: float, citations: Citations) -> list:
    """The test's part of the report (method with its sources cited in ``citations``, composite,
    directions, octagon)."""
    los = section["limits_of_stability"]
    out = _method_words(section, citations)
    rows: list[list] = [["Measure", "Composite", "Better"]]
    for m in los["measures"]:
        value = los["metrics"].get(m["key"])
        rows.append([m["label"], quantity(value, m["unit"]), m["better"]])  # the unit's decimals (text.UNIT_DIGITS)
    size = min(62 * mm, 0.4 * width)
    composite = table(rows, [0.22 * width, 0.2 * width, 0.12 * width])
    side = table([[octagon(los, size), composite]], [size + 4 * mm, width - size - 4 * mm], header=False, zebra=False)
    out.append(side)
    out.append(p("Octagon: maximum excursion per direction in % of the limit, seen from above (forward up, the "
                 "patient's right to the right); the bold octagon is the limit; farther is better.", "small"))
    head = ["Direction"] + [f"{m['label']} ({m['unit']})" for m in los["measures"]] + ["Quality"]
    rows = [head]
    for k in ORDER:
        info = los["directions"].get(k)
        if info is None:
            continue
        rows.append([info["label"]] + [num(info["values"].get(m["key"]), m["unit"]) for m in los["measures"]]
                    + [info["quality_words"]])
    w = width / 8
    out.append(table(rows, [1.1 * w] + [0.95 * w] * 5 + [2.15 * w]))
    return out
