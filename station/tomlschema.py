"""Validation of hand-written TOML files: one mechanism for every file a person writes.

A file a clinician or an administrator writes by hand (a protocol, a programme template, the
station configuration) is read with :mod:`tomllib` into nested dicts and then taken apart table by
table with a :class:`Table`: each accessor (:meth:`Table.text`, :meth:`Table.choice`,
:meth:`Table.integer`, :meth:`Table.number`, ...) checks one field and returns its value, or
raises :class:`SchemaError` naming the **file**, the **field** (its dotted path, with list indices:
``assessments[1].protocols``) and the **problem, ending with what is allowed**. After the last
field, :meth:`Table.finish` refuses keys nobody asked for (a typo is never silently ignored) and
suggests the closest known key.

Why in-house rather than a schema library (pydantic v2 was considered): the station's messages
are the user interface of these files — "``feet``: 'tandm' is not allowed; allowed: 'apart',
'together', ..." or "a BCM GPIO number from 0 to 27 (not a header pin number)" — and most checks
are cross-field (an outcome's condition must belong to the protocol it names, a protocol must be
one the station knows). A library would add a compiled dependency to the Pi image and its
generic messages would have to be rewritten field by field anyway. One small module, whose
messages have the shape the protocol files already use, serves all three files.

Protocols (:mod:`station.protocols.schema`) and programme templates
(:mod:`station.programmes.template`) are read with :class:`Table` and stop at the first mistake.
The station configuration (:mod:`station.config_file`) reports every mistake at once, each with
its line: it uses this module's :func:`key_lines` / :func:`line_of` (tomllib keeps no positions)
and :func:`format_value`, with per-key checks of its own (:mod:`station.config_keys`).

>>> t = Table("clinic.toml", "schedule", {"weeks": 4, "sessions_per_week": 3})
>>> t.integer("weeks", lo=1, hi=52)
4
>>> t.integer("sessions_per_week", lo=1, hi=14)
3
>>> t.finish()
>>> Table("clinic.toml", "schedule", {"weeks": 0}).integer("weeks", lo=1, hi=52)
Traceback (most recent call last):
...
station.tomlschema.SchemaError: clinic.toml: schedule.weeks: 0 is out of range; allowed: 1 to 52
"""

from __future__ import annotations

import difflib
import json
import math
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ID_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
"""Identifiers inside a file (condition ids, reference ids): lower-case, digits, ``_``."""
NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
"""Names of files' subjects (protocol and programme names): lower-case, digits, ``_``, ``-``."""


class SchemaError(ValueError):
    """A hand-written file with a mistake. ``str(e)`` is one line:
    ``<file>: <field>: <problem>``, the problem ending with what is allowed."""

    def __init__(self, source: str, field_path: str | None, problem: str):
        self.source = source
        self.field = field_path
        self.problem = " ".join(problem.split())
        where = f"{source}: {field_path}: " if field_path else f"{source}: "
        super().__init__(where + self.problem)


def allowed_list(values) -> str:
    """``'a', 'b', 'c'``: allowed values as a message shows them."""
    return ", ".join(repr(v) for v in values)


def clean_text(value: str) -> str:
    """TOML text tidied: paragraphs (separated by blank lines) kept, each on one line."""
    paragraphs = re.split(r"\n\s*\n", value.strip())
    return "\n\n".join(" ".join(p.split()) for p in paragraphs)


def read_toml_file(path: str | Path, error: type[SchemaError] = SchemaError) -> dict:
    """Read and parse a TOML file; every failure is an ``error`` naming the file and what to do."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise error(str(path), None, "no such file") from None
    except IsADirectoryError:
        raise error(str(path), None, "is a directory; give the path of a .toml file") from None
    except OSError as exc:
        raise error(str(path), None, f"cannot read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(str(path), None, f"not UTF-8 text (undecodable byte at offset {exc.start}); save it as UTF-8") from None
    return parse_toml_text(text, str(path), error)


def parse_toml_text(text: str, source: str, error: type[SchemaError] = SchemaError) -> dict:
    """Parse TOML ``text``; a syntax error is an ``error`` with tomllib's line and column."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(source, None, f"not valid TOML: {exc}; fix the syntax") from None


class Table:
    """Takes checked fields out of one TOML table of file ``source`` at dotted path ``prefix``.

    Every accessor records the key as known; :meth:`finish` then refuses any other key. Errors are
    ``error`` (a :class:`SchemaError` subclass, so each file kind can keep its own exception type).
    """

    def __init__(self, source: str, prefix: str, table: Any, error: type[SchemaError] = SchemaError):
        self.source = source
        self.prefix = prefix
        self.error_type = error
        if not isinstance(table, dict):
            raise error(source, prefix or None, f"must be a table, not {_kind(table)}")
        self.table = dict(table)
        self.known: list[str] = []

    def path(self, key: str) -> str:
        return f"{self.prefix}.{key}" if self.prefix else key

    def error(self, key: str | None, problem: str) -> SchemaError:
        return self.error_type(self.source, self.path(key) if key else (self.prefix or None), problem)

    def has(self, key: str) -> bool:
        return key in self.table

    def _get(self, key: str, required: bool, default):
        self.known.append(key)
        if key not in self.table:
            if required:
                raise self.error(key, "is missing; it is required")
            return default, False
        return self.table[key], True

    def text(self, key: str, required: bool = True, default: str = "", max_chars: int | None = None) -> str:
        """Non-empty text, whitespace tidied (:func:`clean_text`); at most ``max_chars`` if given."""
        value, present = self._get(key, required, default)
        if not present:
            return value
        if not isinstance(value, str) or not value.strip():
            raise self.error(key, f"must be non-empty text, not {value!r}")
        if max_chars is not None and len(value) > max_chars:
            raise self.error(key, f"is {len(value)} characters long; allowed: at most {max_chars}")
        return clean_text(value)

    def optional_text(self, key: str, max_chars: int | None = None) -> str | None:
        value, present = self._get(key, False, None)
        if not present:
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.error(key, f"must be non-empty text, not {value!r}")
        if max_chars is not None and len(value) > max_chars:
            raise self.error(key, f"is {len(value)} characters long; allowed: at most {max_chars}")
        return value.strip()

    def choice(self, key: str, allowed, required: bool = True, default: str | None = None) -> str | None:
        value, present = self._get(key, required, default)
        if not present:
            return value
        if value not in allowed:
            raise self.error(key, f"{value!r} is not allowed; allowed: {allowed_list(allowed)}")
        return value

    def ident(self, key: str, pattern: re.Pattern = ID_RE) -> str:
        value, _ = self._get(key, True, None)
        if not isinstance(value, str) or not pattern.match(value):
            chars = "'_' or '-'" if pattern is NAME_RE else "'_'"
            raise self.error(
                key,
                f"{value!r} is not allowed; allowed: lower-case letters, digits and {chars}, "
                "starting with a letter, at most 40 characters",
            )
        return value

    def number(self, key: str, *, lo: float, hi: float, required: bool = True, default: float | None = None,
               lo_open: bool = False, unit: str = "") -> float | None:
        value, present = self._get(key, required, default)
        if not present:
            return value
        span = f"{'more than' if lo_open else 'from'} {lo:g} to {hi:g}{' ' + unit if unit else ''}"
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise self.error(key, f"must be a number, not {value!r}; allowed: {span}")
        if value < lo or value > hi or (lo_open and value == lo):
            raise self.error(key, f"{value!r} is out of range; allowed: {span}")
        return float(value)

    def integer(self, key: str, *, lo: int, hi: int, required: bool = True, default: int | None = None,
                unit: str = "") -> int | None:
        value, present = self._get(key, required, default)
        if not present:
            return value
        span = f"{lo} to {hi}{' ' + unit if unit else ''}"
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, f"must be a whole number, not {value!r}; allowed: {span}")
        if not lo <= value <= hi:
            raise self.error(key, f"{value!r} is out of range; allowed: {span}")
        return value

    def choices(self, key: str, allowed, default: tuple[str, ...] = (), required: bool = False,
                min_items: int = 0) -> tuple[str, ...]:
        """A list of allowed text values (duplicates removed, order kept)."""
        value, present = self._get(key, required, default)
        if not present:
            return value
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error(key, f"must be a list of text, not {value!r}; allowed values: {allowed_list(allowed)}")
        for v in value:
            if v not in allowed:
                raise self.error(key, f"{v!r} is not allowed; allowed: {allowed_list(allowed)}")
        if len(value) < min_items:
            raise self.error(key, f"is empty; give at least {min_items} of {allowed_list(allowed)}")
        return tuple(dict.fromkeys(value))

    def table_of(self, key: str, required: bool = False) -> dict | None:
        value, present = self._get(key, required, None)
        if not present:
            return None
        if not isinstance(value, dict):
            raise self.error(key, f"must be a table ([{self.path(key)}]), not {_kind(value)}")
        return value

    def sub(self, key: str, required: bool = False) -> "Table | None":
        """The sub-table ``key`` as a :class:`Table` (None when absent and not required)."""
        value = self.table_of(key, required=required)
        if value is None:
            return None
        return Table(self.source, self.path(key), value, self.error_type)

    def array_of_tables(self, key: str, required: bool = False) -> list["Table"]:
        """``[[key]]`` tables, each as a :class:`Table` at ``key[i]``."""
        value, present = self._get(key, required, [])
        if not present:
            return []
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.error(key, f"must be an array of tables ([[{self.path(key)}]]), not {_kind(value)}")
        return [Table(self.source, f"{self.path(key)}[{i}]", v, self.error_type) for i, v in enumerate(value)]

    def finish(self) -> None:
        """Refuse keys no accessor asked for, suggesting the closest known one."""
        unknown = [k for k in self.table if k not in self.known]
        if unknown:
            close = difflib.get_close_matches(str(unknown[0]), self.known, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise self.error(str(unknown[0]), f"unknown field; {hint}allowed: {allowed_list(self.known)}")


def _kind(value: Any) -> str:
    return {dict: "a table", list: "a list", str: "text", bool: "true/false", int: "a number",
            float: "a number"}.get(type(value), type(value).__name__)


# -- positions and values of a TOML text (tomllib keeps no positions) ------------------------


_BARE = r"[A-Za-z0-9_-]+"
_QUOTED = r'"(?:[^"\\]|\\.)*"|\'[^\']*\''
_PART = rf"(?:{_BARE}|{_QUOTED})"
_DOTTED = rf"{_PART}(?:\s*\.\s*{_PART})*"
_TABLE_RE = re.compile(rf"^\s*(\[\[?)\s*({_DOTTED})\s*\]\]?")
_KEYVAL_RE = re.compile(rf"^\s*({_DOTTED})\s*=")
_PART_RE = re.compile(_PART)


def _split_key(dotted: str) -> tuple[str, ...]:
    parts = []
    for part in _PART_RE.findall(dotted):
        if part.startswith('"'):
            part = json.loads(part)
        elif part.startswith("'"):
            part = part[1:-1]
        parts.append(part)
    return tuple(parts)


class _ValueScanner:
    """Tracks whether a value continues on the next line (open array, inline table or
    multi-line string), so keys are only looked for where a key can start."""

    def __init__(self) -> None:
        self.depth = 0
        self.in_string: str | None = None  # '"""' or "'''" while inside a multi-line string

    @property
    def continuing(self) -> bool:
        return self.depth > 0 or self.in_string is not None

    def feed(self, text: str) -> None:
        i, n = 0, len(text)
        while i < n:
            if self.in_string is not None:
                end = text.find(self.in_string, i)
                if self.in_string == '"""':
                    while end > 0 and _escaped(text, end):
                        end = text.find('"""', end + 1)
                if end < 0:
                    return
                i = end + 3
                self.in_string = None
                continue
            ch = text[i]
            if ch == "#":
                return
            if text.startswith('"""', i) or text.startswith("'''", i):
                self.in_string = text[i : i + 3]
                i += 3
                continue
            if ch == '"':
                i += 1
                while i < n and text[i] != '"':
                    i += 2 if text[i] == "\\" else 1
                i += 1
                continue
            if ch == "'":
                close = text.find("'", i + 1)
                i = n if close < 0 else close + 1
                continue
            if ch in "[{":
                self.depth += 1
            elif ch in "]}":
                self.depth = max(0, self.depth - 1)
            i += 1


def _escaped(text: str, pos: int) -> bool:
    backslashes = 0
    while pos - 1 - backslashes >= 0 and text[pos - 1 - backslashes] == "\\":
        backslashes += 1
    return backslashes % 2 == 1


def key_lines(text: str) -> dict[tuple[str, ...], int]:
    """Map each table header and key of a (valid) TOML text to its 1-based line number.

    Keys are full paths: ``("plate", "width_cm")`` for ``width_cm`` under ``[plate]``. Keys inside
    inline tables are not listed; :func:`line_of` falls back to the enclosing key's line.
    """
    lines: dict[tuple[str, ...], int] = {}
    table: tuple[str, ...] = ()
    scanner = _ValueScanner()
    for number, line in enumerate(text.splitlines(), start=1):
        if scanner.continuing:
            scanner.feed(line)
            continue
        match = _TABLE_RE.match(line)
        if match:
            table = _split_key(match.group(2))
            lines.setdefault(table, number)
            continue
        match = _KEYVAL_RE.match(line)
        if match:
            path = table + _split_key(match.group(1))
            for depth in range(len(table) + 1, len(path) + 1):
                lines.setdefault(path[:depth], number)
            scanner.feed(line[match.end() :])
    return lines


def line_of(lines: Mapping[tuple[str, ...], int], path: tuple[str, ...]) -> int | None:
    """The line of ``path``, or of its nearest enclosing key or table that :func:`key_lines` found."""
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return None


def format_value(value: Any) -> str:
    """A value as it would be written in TOML (``None`` shown as ``(none)``)."""
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (str, Path)):
        return json.dumps(str(value))
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k} = {format_value(v)}" for k, v in value.items()) + "}"
    return repr(value)
