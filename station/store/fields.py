"""Checks for stored fields: each returns the clean value or raises ``ValueError`` with a one-line
reason (the caller names the field). JSON booleans are not numbers here, NaN and infinity are
refused, and text may not hold control characters other than tab and newline.
"""

from __future__ import annotations

import json
import math
import re

import numpy as np

_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_LINE_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


def text(value: object, *, max_chars: int, multiline: bool = False, required: bool = False) -> str:
    """A string of at most ``max_chars`` characters (stripped of surrounding white space)."""
    if not isinstance(value, str):
        raise ValueError("must be a string")
    value = value.strip()
    if required and not value:
        raise ValueError("must not be empty")
    if len(value) > max_chars:
        raise ValueError(f"must be at most {max_chars} characters (got {len(value)})")
    if (_CONTROL_RE if multiline else _LINE_CONTROL_RE).search(value):
        raise ValueError("must not contain control characters")
    return value


def integer(value: object, *, low: int, high: int) -> int:
    """An integer in [low, high]; a float with an integral value (``1960.0``) is accepted."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"must be an integer between {low} and {high}")
    if isinstance(value, float):
        if not math.isfinite(value) or value != int(value):
            raise ValueError(f"must be an integer between {low} and {high}")
        value = int(value)
    if not low <= value <= high:
        raise ValueError(f"must be between {low} and {high} (got {value})")
    return value


def number(value: object, *, low: float, high: float, unit: str = "") -> float:
    """A finite number in [low, high]."""
    suffix = f" {unit}" if unit else ""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"must be a number between {low:g} and {high:g}{suffix}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    if not low <= value <= high:
        raise ValueError(f"must be between {low:g} and {high:g}{suffix} (got {value:g})")
    return value


def boolean(value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def _json_default(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"{type(obj).__name__} is not JSON-serialisable")


def json_document(value: object, *, max_bytes: int) -> str:
    """``value`` as compact JSON text (numpy scalars and arrays converted).

    Refuses NaN and infinity (undefined values must be ``None``, DESIGN.md §5) and documents
    larger than ``max_bytes``.
    """
    try:
        doc = json.dumps(value, allow_nan=False, sort_keys=True, separators=(",", ":"), default=_json_default)
    except ValueError:
        raise ValueError("contains NaN or infinity; undefined values must be null (None)") from None
    except TypeError as exc:
        raise ValueError(f"is not JSON-serialisable ({exc})") from None
    if len(doc.encode("utf-8")) > max_bytes:
        raise ValueError(f"is too large ({len(doc)} bytes; at most {max_bytes})")
    return doc
