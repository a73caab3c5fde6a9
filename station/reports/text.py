"""Text for PDF pages: characters the standard PDF fonts can print, numbers with their units.

The reports use the standard Helvetica fonts (no font file to ship or embed); they print the
Windows-1252 characters, so a few others that the station's words use are spelled out
(``→`` as ``->``, ``≤`` as ``<=``) and anything else becomes ``?`` rather than a blank box.

>>> pdf_text("a → b ≤ 2 cm²")
'a -> b <= 2 cm²'
>>> number(0.123456), number(1234.5), number(None), number(12.0), number(12.5)
('0.1235', '1234', '–', '12', '12.50')
"""

from __future__ import annotations

import math
from xml.sax.saxutils import escape

_SPELLED = {"→": "->", "←": "<-", "≤": "<=", "≥": ">=", "≈": "~", "−": "-", "\u2009": " ", "\u202f": " ",
            "\u00a0": " ", "✓": "yes", "✗": "no", "₀": "0", "₉": "9", "₅": "5", "√": "sqrt"}


def pdf_text(text: object) -> str:
    """``text`` with only characters the standard PDF fonts print (Windows-1252)."""
    out = []
    for ch in str(text):
        ch = _SPELLED.get(ch, ch)
        try:
            ch.encode("cp1252")
        except UnicodeEncodeError:
            ch = "?"
        out.append(ch)
    return "".join(out)


def para(text: object) -> str:
    """``text`` made safe for a reportlab Paragraph (printable, markup characters escaped)."""
    return escape(pdf_text(text))


def number(value: object, digits: int = 4) -> str:
    """A measure's value with ``digits`` significant digits (``–`` when there is none)."""
    if value is None or isinstance(value, bool):
        return "–"
    try:
        value = float(value)
    except (TypeError, ValueError):
        return "–"
    if not math.isfinite(value):
        return "–"
    if value == 0:
        return "0"
    if value.is_integer() and abs(value) < 1e9:
        return f"{int(value)}"  # counts, whole seconds held
    magnitude = int(math.floor(math.log10(abs(value))))
    decimals = max(0, digits - 1 - magnitude)
    return f"{value:.{decimals}f}"


def with_unit(value: object, unit: str, digits: int = 4) -> str:
    """``number(value)`` followed by its unit (none for a missing value)."""
    shown = number(value, digits)
    return shown if shown == "–" or not unit else f"{shown} {unit}"


def ordinal(n: float) -> str:
    """``n`` rounded, as an ordinal (``1st``, ``22nd``, ``13th``).

    >>> ordinal(51.2), ordinal(12), ordinal(3)
    ('51st', '12th', '3rd')
    """
    k = int(round(n))
    suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{k}{suffix}"


def day(iso: str | None) -> str:
    """The date part of an ISO 8601 time (``2026-01-31T09:15:02Z`` → ``2026-01-31``)."""
    return "–" if not iso else str(iso)[:10]
