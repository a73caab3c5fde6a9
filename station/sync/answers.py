"""The hub's answers as a station reads them: every value checked before it is used.

Whatever answers at the hub's address (the hub, an older or broken one, a proxy's page) may send
anything. A station takes no value of an answer unchecked: a wrong one is one
:class:`~station.sync.client.BadAnswer` naming the request, the key and what came instead of what
was expected, e.g. ``the hub's answer to GET /api/hub/patient-updates had text where a whole number
was expected (until)``, never a ``TypeError`` deep in the sync. The message names kinds of JSON
values only, never a value: a value may be patient data, and the message reaches the station's
journal and its sync page.

>>> take({"until": "later"}, "until", "GET /x", WHOLE)
Traceback (most recent call last):
...
station.sync.client.BadAnswer: the hub's answer to GET /x had text where a whole number was expected (until); is [hub] url the hub's own address?
"""

from __future__ import annotations

from typing import Callable, NamedTuple

from station.sync.client import BadAnswer


class Expected(NamedTuple):
    """What a value must be: its words in a message, and the check."""

    words: str
    ok: Callable[[object], bool]


def _whole(value: object) -> bool:
    return type(value) is int and 0 <= value < 2**62


WHOLE = Expected("a whole number", _whole)
"""An id, count or cursor: an integer in [0, 2^62) (never true/false)."""
WHOLE_OR_NULL = Expected("a whole number or null", lambda v: v is None or _whole(v))
LIST = Expected("a list", lambda v: isinstance(v, list))
OBJECT = Expected("an object", lambda v: isinstance(v, dict))
TEXT = Expected("text", lambda v: isinstance(v, str))
BOOLEAN = Expected("true or false", lambda v: isinstance(v, bool))
_ABSENT = object()


_KINDS = ((bool, "true/false"), (float, "a fraction"), (str, "text"), (list, "a list"), (dict, "an object"))
"""JSON kinds in words (bool before int: true is an int in Python)."""


def kind_of(value: object) -> str:
    """A JSON value's kind in words (never the value itself).

    >>> kind_of([1]), kind_of("P-1"), kind_of(True), kind_of(2.5)
    ('a list', 'text', 'true/false', 'a fraction')
    """
    if value is _ABSENT:
        return "nothing"
    if value is None:
        return "null"
    for kind, words in _KINDS:
        if isinstance(value, kind):
            return words
    if isinstance(value, int):
        return "a whole number" if _whole(value) else "a number out of range"
    return type(value).__name__


def wrong(what: str, key: str, had: str, expected: str) -> BadAnswer:
    """The error of the answer to ``what`` (e.g. ``GET /api/hub/x``) holding ``had`` (words: a
    value's :func:`kind_of`, never the value) at ``key`` where ``expected`` was expected."""
    return BadAnswer(f"the hub's answer to {what} had {had} where {expected} was expected ({key}); "
                     "is [hub] url the hub's own address?")


def take(answer: object, key: str, what: str, expected: Expected, *, where: str = ""):
    """``answer[key]`` if it is what ``expected`` says; else :func:`wrong` (a missing key reads
    "nothing"). ``where`` names the key's place in the answer for the message (``patients[]``)."""
    value = answer.get(key, _ABSENT) if isinstance(answer, dict) else _ABSENT
    if value is _ABSENT or not expected.ok(value):
        raise wrong(what, f"{where}{key}", kind_of(value), expected.words)
    return value


def items(answer: object, key: str, what: str, expected: Expected = OBJECT) -> list:
    """The list ``answer[key]``, each of whose items is what ``expected`` says."""
    out = take(answer, key, what, LIST)
    for item in out:
        if not expected.ok(item):
            raise wrong(what, f"{key}[]", kind_of(item), expected.words)
    return out
