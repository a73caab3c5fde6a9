"""Text for PDF pages: characters the standard PDF fonts can print, numbers with their units.

The reports use the standard Helvetica fonts (no font file to ship or embed); they print the
Windows-1252 characters, so a few others that the station's words use are spelled out
(``→`` as ``->``, ``≤`` as ``<=``) and anything else becomes ``?`` rather than a blank box.

>>> pdf_text("a → b ≤ 2 cm²")
'a -> b <= 2 cm²'
>>> number(0.123456), number(1234.5), number(None), number(12.0), number(12.5)
('0.123', '1234', '–', '12', '12.5')
>>> quantity(0.5431, "m/s"), quantity(1.982, "min"), quantity(0.11, "m/s"), quantity(23.0, "")
('0.54 m/s', '1 min 59 s', '0.11 m/s', '23.0')
>>> quantity(1.0, ""), quantity(1.0, "Hz"), quantity(0.5, "cm"), quantity(123.45, "cm")
('1.00', '1.00 Hz', '0.500 cm', '123.5 cm')
>>> change(0.00485, "m/s"), change(-0.0998, "s"), change(0.0485, "m/s"), change(0.0194, "%"), change(0.002, "min")
('no change', '-0.10 s', '+0.05 m/s', 'no change', 'no change')
>>> change(-0.6, "min"), change(1.2, "min"), mean_of([12.4, 10.2], "min", "sessions")
('-36 s', '+1 min 12 s', 'mean of 2 sessions: 12 min 24 s, 10 min 12 s')
>>> belt_speed(0.5), counted(1, "trial"), counted(9, "trial"), counted(2, "visit")
('1.8 km/h (0.50 m/s)', '1 trial', '9 trials', '2 visits')
"""

from __future__ import annotations

import math
import re
from decimal import ROUND_HALF_UP, Decimal
from xml.sax.saxutils import escape

from station.store.timefmt import local_day

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


def _finite(value: object) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def number(value: object, digits: int = 3) -> str:
    """A value with ``digits`` significant digits (``–`` when there is none), a whole one as a whole
    number (``12``): for counts and settings (minutes planned, a height, a published limit). A measured
    value prints as the pages print it: :func:`num` (:func:`significant` when its unit has no rule),
    or :func:`fixed` where the page gives it decimals of its own."""
    value = _finite(value)
    if value is None:
        return "–"
    if value == 0:
        return "0"
    if value.is_integer() and abs(value) < 1e9:
        return f"{int(value)}"  # counts, whole seconds held
    magnitude = int(math.floor(math.log10(abs(value))))
    decimals = max(0, digits - 1 - magnitude)
    return f"{value:.{decimals}f}"


def _rounded(value: float, exponent: int) -> Decimal:
    """``value`` rounded to a multiple of ``10**exponent`` as the pages' JavaScript rounds (``toFixed``,
    ``toPrecision``): from the float's exact value, a tie away from zero (``62.5`` -> ``63``; Python's
    formatting makes it ``62``)."""
    return Decimal(value).quantize(Decimal(1).scaleb(exponent), rounding=ROUND_HALF_UP)


def fixed(value: object, decimals: int) -> str:
    """``value`` with ``decimals`` decimals, never ``-0.0`` (``–`` when there is none): the pages'
    ``Station.fmt`` (web/static/js/app.js), for a value a page prints with decimals of its own.

    >>> fixed(87.0, 1), fixed(-0.04, 1), fixed(31.0, 0), fixed(62.5, 0), fixed(None, 2)
    ('87.0', '0.0', '31', '63', '–')
    """
    v = _finite(value)
    if v is None:
        return "–"
    text = f"{_rounded(v, -decimals):f}"
    return text[1:] if re.fullmatch(r"-0(\.0*)?", text) else text


def significant(value: object) -> str:
    """A measured value whose unit has no rule in :data:`UNIT_DIGITS` (a ratio, a step symmetry, a fractal
    dimension, sway in cm, a frequency) as the pages print it (``Station.fmtSig``, web/static/js/app.js):
    one decimal from 10, two from 1, three significant digits below; a whole value keeps its decimals as on
    the page (``1.00``, not ``1``); ``0``, and ``–`` for none.

    >>> significant(1.0), significant(12.0), significant(123.45), significant(0.5), significant(0.0012345)
    ('1.00', '12.0', '123.5', '0.500', '0.00123')
    >>> significant(0.99996), significant(-0.25), significant(0.0), significant(None)
    ('1.00', '-0.250', '0', '–')
    """
    v = _finite(value)
    if v is None:
        return "–"
    if v == 0:
        return "0"
    if abs(v) >= 10:
        return fixed(v, 1)
    if abs(v) >= 1:
        return fixed(v, 2)
    exponent = Decimal(abs(v)).adjusted()  # toPrecision(3): three digits from the first, after rounding
    shown = _rounded(v, exponent - 2)
    if shown.adjusted() > exponent:  # 0.99996 -> 1.00
        exponent += 1
        shown = _rounded(v, exponent - 2)
    if exponent >= -6:
        return f"{shown:f}"
    return f"{shown.scaleb(-exponent):f}e{exponent}"  # as JavaScript writes it: 1.00e-7


UNIT_DIGITS = {
    "m/s": 2, "km/h": 1, "s": 2, "m": 2, "min": 1, "steps/min": 1, "%": 1, "points": 1, "% of limit": 0,
    "cm/s": 2, "cm²": 2, "deg/s": 1,
}
"""The one rule per unit of the PDFs (the pages': ``UNIT_DIGITS`` in web/static/js/app.js): the
decimals a quantity is printed with, fitting what the station resolves and what a clinician
reads; a value, a change and a minimal detectable change of one unit print alike."""


def change_unit(unit: str) -> str:
    """The unit of a difference: a change of a percentage is in percentage points."""
    return "points" if unit == "%" else unit or ""


def num(value: object, unit: str) -> str:
    """``value`` by its unit's rule, without the unit (``0.54`` for m/s); no rule: :func:`significant`,
    as the pages' ``Station.num``."""
    v = _finite(value)
    if v is None:
        return "–"
    return fixed(v, UNIT_DIGITS[unit]) if unit in UNIT_DIGITS else significant(v)


def quantity(value: object, unit: str) -> str:
    """``value`` and its unit by the unit's rule (``0.54 m/s``); no rule: as the pages (:func:`significant`);
    ``–`` for none. A time walked (``min``, the treadmill's time walking) in minutes and seconds, as the pages say it
    (:func:`station.protocols.walk_words.walked_words`): ``1 min 59 s``, not ``2.0 min``."""
    v = _finite(value)
    if v is None:
        return "–"
    if unit == "min":
        from station.protocols.walk_words import walked_words

        return walked_words(v)
    shown = num(v, unit)
    return f"{shown} {unit}" if unit else shown


def change(value: object, unit: str) -> str:
    """A change, always signed (``+0.05 m/s``, ``-0.10 s``), a percentage's in points (``+1.2 points``); one
    that rounds to nothing said in words, ``no change``, never ``0.00 cm/s`` (:func:`held_change`'s rule). The
    pages say it alike (``Station.change``, web/static/js/app.js)."""
    v = _finite(value)
    if v is None:
        return "–"
    if unit == "min":  # a time walked's change in its words: "-36 s", "+1 min 12 s"
        shown = quantity(abs(v), unit)
        return ("+" if v > 0 else "-") + shown if re.search(r"[1-9]", shown) else "no change"
    shown = quantity(v, change_unit(unit))
    if not re.search(r"[1-9]", shown.split(" ")[0]):
        return "no change"
    return "+" + shown if v > 0 else shown


def held_change(value: object) -> str:
    """A change of a time held (s) in the precision the test is scored in, one decimal as :func:`time_held`
    says the time itself, always signed; one that rounds to nothing said in words, never ``0.0 s``. The
    pages say it alike (``Station.heldChange``, web/static/js/app.js).

    >>> held_change(12.46), held_change(-3.04), held_change(0.0), held_change(-0.04), held_change(None)
    ('+12.5 s', '-3.0 s', 'no change', 'no change', '–')
    """
    v = _finite(value)
    if v is None:
        return "–"
    shown = fixed(v, 1)
    if not re.search(r"[1-9]", shown):
        return "no change"
    return f"{'+' if v > 0 else ''}{shown} s"


def belt_speed(m_s: object) -> str:
    """A treadmill's belt speed (stored in m/s) as the clinician entered it, in km/h; a visit's sessions'
    (a list, one a session, as :func:`station.protocols.results.summarise` keeps a setting) each said, in
    order, never their mean, a speed nobody set. The pages say it alike (``Station.beltSpeed``).

    >>> belt_speed([0.5, 0.6])
    '1.8 and 2.2 km/h (0.50 and 0.60 m/s; 2 sessions)'
    >>> belt_speed([0.5, 0.5]), belt_speed([])
    ('1.8 km/h (0.50 m/s)', '–')
    """
    if isinstance(m_s, (list, tuple)):
        from station.protocols.walk_words import listed

        each = [v for v in map(_finite, m_s) if v is not None]
        if len({num(v, "m/s") for v in each}) <= 1:
            return belt_speed(each[0] if each else None)
        return (f"{listed([num(v * 3.6, 'km/h') for v in each])} km/h "
                f"({listed([num(v, 'm/s') for v in each])} m/s; {len(each)} sessions)")
    v = _finite(m_s)
    return "–" if v is None else f"{quantity(v * 3.6, 'km/h')} ({quantity(v, 'm/s')})"


def dose_speed(speed_m_s: object, belt_m_s: object) -> str:
    """A training session's speed in its dose (station.programmes.dose), said once: the belt's as the
    clinician entered it (km/h, m/s as entered), and a walking speed only when it is not the belt's own
    (a treadmill trial's dose stores the belt speed in both); ``–`` for none. As the programme page says
    it (web/static/js/programme.js).

    >>> dose_speed(0.6, 0.6), dose_speed(0.42, None), dose_speed(0.42, 0.6), dose_speed(None, None)
    ('belt 2.2 km/h (0.60 m/s)', '0.42 m/s', '0.42 m/s, belt 2.2 km/h (0.60 m/s)', '–')
    """
    speed, belt = _finite(speed_m_s), _finite(belt_m_s)
    parts = [quantity(speed, "m/s") if speed is not None and (belt is None or abs(speed - belt) > 1e-9) else "",
             f"belt {belt_speed(belt)}" if belt is not None else ""]
    return ", ".join(filter(None, parts)) or "–"


def belt_change(change_m_s: object, since: str, was_m_s: object) -> str:
    """A treadmill's belt speed changed ``since`` an earlier session (m/s, as stored) in the words of the
    setting it is: the clinician's entry, the session's dose, not a measured change (no MDC). The pages
    say it alike (``Station.beltChange``, web/static/js/app.js).

    >>> print(belt_change(0.1, "2026-12-05", 0.5))
    Set +0.4 km/h since 2026-12-05, when it was 1.8 km/h (0.50 m/s): a change of the session's dose, not a measured change.
    >>> print(belt_change(0.001, "the first session", 0.5))
    Unchanged since the first session: 1.8 km/h (0.50 m/s).

    Sessions of a visit at different speeds (``was_m_s`` a list, or the change None): each said, no change
    made up from a mean nobody set.

    >>> print(belt_change(None, "the visit of 2026-11-02", [0.5, 0.6]))
    Set at 1.8 and 2.2 km/h (0.50 and 0.60 m/s; 2 sessions) at the visit of 2026-11-02: the session's dose, not a measured value.
    """
    v = _finite(change_m_s)
    if v is None:
        shown = belt_speed(was_m_s)
        return "" if shown == "–" else f"Set at {shown} at {since}: the session's dose, not a measured value."
    shown = change(v * 3.6, "km/h")
    if not re.search(r"[1-9]", shown.split(" ")[0]):
        return f"Unchanged since {since}: {belt_speed(was_m_s)}."
    return f"Set {shown} since {since}, when it was {belt_speed(was_m_s)}: a change of the session's dose, not a measured change."


def counted(n: int, word: str, plural: str | None = None) -> str:
    """``n word`` with the word's plural when n is not 1 (``1 trial``, ``9 trials``)."""
    return f"{n} {word if n == 1 else plural or word + 's'}"


def with_unit(value: object, unit: str, digits: int | None = None) -> str:
    """``value`` followed by its unit: by the unit's rule (:func:`quantity`), or with ``digits``
    significant digits when given; none for a missing value."""
    if digits is None:
        return quantity(value, unit)
    shown = number(value, digits)
    return shown if shown == "–" or not unit else f"{shown} {unit}"


def time_held(value: object, how: str | None = None) -> str:
    """A timed hold's time as the results page gives it (results.js valueText): one decimal, 0 s
    said unable (the patient could not take the position), with ``how`` it was scored when given (a
    history point's ``unable_words``: the clinician scored it); ``–`` for none. The pages say it alike
    (``Station.timeHeld``).

    >>> time_held(30), time_held(5.234), time_held(0.0), time_held(None)
    ('30.0 s', '5.2 s', '0 s (unable)', '–')
    >>> time_held(0.0, "scored by the clinician, not measured")
    '0 s (unable; scored by the clinician, not measured)'
    """
    v = _finite(value)
    if v is None:
        return "–"
    if v == 0:
        return f"0 s (unable; {how})" if how else "0 s (unable)"
    return f"{fixed(v, 1)} s"


_IN_ANOTHER_UNIT = re.compile(r"-?\d+(\.\d+)? \S+")


def bracketed(value: str, words: str) -> str:
    """A value and words about it (how it was made, its day) in one bracket, never two in a row: "12.5 s (1 trial)";
    a value whose words end in a bracket of their own (a 0 s: "unable; scored by the clinician, not measured"; a
    count's trials) takes ``words`` at that bracket's front, "0 s (1 trial: unable; ...)"; a value said in a second
    unit ("1.8 km/h (0.50 m/s)", the same value) takes them after it, "1.8 km/h (0.50 m/s; 1 trial)". One rule for
    the history PDF (a point's day) and the history page (a point's trials: ``Station.bracketed``, the same rule).

    >>> bracketed("12.5 s", "1 trial"), bracketed("0 s (unable; scored by the clinician, not measured)", "2026-11-02")
    ('12.5 s (1 trial)', '0 s (2026-11-02: unable; scored by the clinician, not measured)')
    >>> bracketed("1.8 km/h (0.50 m/s)", "best of 2 trials")
    '1.8 km/h (0.50 m/s; best of 2 trials)'
    """
    head, bracket, inner = value.partition(" (")
    if not (head and bracket and value.endswith(")")):
        return f"{value} ({words})"
    if _IN_ANOTHER_UNIT.fullmatch(inner[:-1]):
        return f"{value[:-1]}; {words})"
    return f"{head} ({words}: {inner}"


def ordinal(n: float) -> str:
    """``n`` rounded, as an ordinal (``1st``, ``22nd``, ``13th``).

    >>> ordinal(51.2), ordinal(12), ordinal(3)
    ('51st', '12th', '3rd')
    """
    k = int(round(n))
    suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{k}{suffix}"


def day(iso: str | None) -> str:
    """The clinic's date of a stored ISO 8601 time, in the station's local time zone
    (:func:`~station.store.timefmt.local_day`: ``2026-12-05T23:08:00Z`` is 2026-12-06 in Sydney); a
    date (``2026-01-31``) as it is.

    >>> day("2026-01-31"), day(None)
    ('2026-01-31', '–')
    """
    if not iso:
        return "–"
    try:
        return local_day(str(iso))
    except ValueError:  # a date, or a time without its zone: as written
        return str(iso)[:10]


def mean_of(each: list[float], unit: str, noun: str = "trials") -> str:
    """What a value that is the mean of several trials' (or sessions') values is the mean of, each by its unit's rule.

    A unit without a rule (:func:`significant`) gives each in the decimals its mean is shown with, as the pages'
    ``Station.eachOf``: a step symmetry of 1.00 is the mean of 1.01 and 0.99, not of "1.01, 0.994".

    >>> mean_of([3.69, 3.63], "s"), mean_of([19.08, 15.2, 16.24], "cm²")
    ('mean of 2 trials: 3.69, 3.63 s', 'mean of 3 trials: 19.08, 15.20, 16.24 cm²')
    >>> mean_of([1.006, 0.994], "")
    'mean of 2 trials: 1.01, 0.99'
    """
    if unit == "min":  # times walked, each in its words
        return f"mean of {len(each)} {noun}: {', '.join(quantity(v, unit) for v in each)}"
    if unit in UNIT_DIGITS:
        shown = [num(v, unit) for v in each]
    else:  # each in the mean's decimals (three significant digits of each mixed them)
        digits = len(num(sum(float(v) for v in each) / len(each), unit).partition(".")[2])
        shown = [fixed(v, digits) for v in each]
    return f"mean of {len(each)} {noun}: {', '.join(shown)}" + (f" {unit}" if unit else "")
