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

All three are read with :class:`Table`. Each field's check is a function that returns the value
to keep or raises :class:`Invalid` saying what is allowed: the ones here (:func:`number_check`,
:func:`integer_check`, :func:`integer_choice_check`, :func:`choice_check`, behind the accessors)
and a file's own (a GPIO pin that is not the I2C bus's, an I2C address), applied with
:meth:`Table.value`. Protocols (:mod:`station.protocols.schema`) and programme templates
(:mod:`station.programmes.template`) stop at the first mistake. The station configuration
(:mod:`station.config_file`, keys in :mod:`station.config_keys`) reports every mistake at once:
its tables *collect* them (``collect=[]``), and with the positions :func:`key_lines` finds
(tomllib keeps none) each mistake carries its line (``station.toml:12: plate.adc_gain = 3:
allowed: one of 1, 2, 4, ...``).

>>> t = Table("clinic.toml", "schedule", {"weeks": 4, "sessions_per_week": 3})
>>> t.integer("weeks", lo=1, hi=52)
4
>>> t.integer("sessions_per_week", lo=1, hi=14)
3
>>> t.finish()
>>> Table("clinic.toml", "schedule", {"weeks": 0}).integer("weeks", lo=1, hi=52)
Traceback (most recent call last):
...
station.tomlschema.SchemaError: clinic.toml: schedule.weeks: 0 is out of range; allowed: a whole number from 1 to 52
"""

from __future__ import annotations

import difflib
import errno
import json
import math
import os
import re
import stat
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ID_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
"""Identifiers inside a file (condition ids, reference ids): lower-case, digits, ``_``."""
NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
"""Names of files' subjects (protocol and programme names): lower-case, digits, ``_``, ``-``."""


NO_VALUE = object()
"""What :attr:`SchemaError.value` holds when the mistake is not about a value (a missing field)."""
INVALID = object()
"""What an accessor of a collecting :class:`Table` returns for a field it recorded a mistake for."""


class SchemaError(ValueError):
    """A hand-written file with a mistake. ``str(e)`` is one line:
    ``<file>[:<line>]: <field>: <problem>``, the problem ending with what is allowed.

    Attributes: ``source``, ``field`` (dotted path with list indices, or None for the file as a
    whole), ``keys`` (the same path as a tuple: names and list indices), ``problem``, ``allowed``
    (what is allowed, or None where the problem says it all), ``value`` (the value found, or
    :data:`NO_VALUE`), ``line`` (1-based, when known) and ``about_value`` (True when the value is
    the wrong type, out of range or not among the allowed ones: ``allowed`` then says it all).
    """

    def __init__(self, source: str, field_path: str | None, problem: str, *, allowed: str | None = None,
                 value: Any = NO_VALUE, keys: tuple = (), line: int | None = None, about_value: bool = False):
        self.source = source
        self.field = field_path
        self.keys = tuple(keys) if keys else _keys_of(field_path or "")
        self.problem = " ".join(problem.split())
        self.allowed = " ".join(allowed.split()) if allowed is not None else None
        self.value = value
        self.line = line
        self.about_value = about_value
        text = f"{self.problem}; allowed: {self.allowed}" if self.allowed is not None else self.problem
        place = f"{source}:{line}" if line is not None else source
        where = f"{place}: {field_path}: " if field_path else f"{place}: "
        super().__init__(where + text)


class Invalid(ValueError):
    """Raised by a field's check (:meth:`Table.value`): ``allowed`` says what is allowed; ``problem``
    what is wrong (by default "<value> is not allowed")."""

    def __init__(self, allowed: str, problem: str | None = None):
        super().__init__(allowed)
        self.allowed = allowed
        self.problem = problem


_INDEX_RE = re.compile(r"\[(\d+)\]")


def _keys_of(dotted: str) -> tuple:
    """``"assessments[1].protocols"`` -> ``("assessments", 1, "protocols")``."""
    keys: list = []
    for part in dotted.split(".") if dotted else ():
        name = _INDEX_RE.split(part)
        if name[0]:
            keys.append(name[0])
        keys.extend(int(i) for i in name[1::2])
    return tuple(keys)


def allowed_list(values) -> str:
    """``'a', 'b', 'c'``: allowed values as a message shows them."""
    return ", ".join(repr(v) for v in values)


def clean_text(value: str) -> str:
    """TOML text tidied: paragraphs (separated by blank lines) kept, each on one line."""
    paragraphs = re.split(r"\n\s*\n", value.strip())
    return "\n\n".join(" ".join(p.split()) for p in paragraphs)


def read_toml_file(path: str | Path, error: type[SchemaError] = SchemaError) -> dict:
    """Read and parse a TOML file; every failure is an ``error`` naming the file and what to do."""
    return parse_toml_text(read_toml_text(path, error), str(path), error)


def read_toml_document(path: str | Path, error: type[SchemaError] = SchemaError) -> tuple[dict, dict[tuple, int]]:
    """Like :func:`read_toml_file`, also giving the line of each key (:func:`key_lines`), for a
    :class:`Table` whose mistakes should name their line."""
    text = read_toml_text(path, error)
    return parse_toml_text(text, str(path), error), key_lines(text)


MAX_TOML_BYTES = 2**20
"""Largest hand-written TOML file read (1 MiB): a protocol, a programme template or station.toml is a
few kB; a bigger file is not one (``/dev/zero`` given as a protocol file took 9 GB in a minute)."""


class NotARegularFile(ValueError):
    """A path that is not a regular file of at most the bound (its words: what it is)."""


_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def file_kind(mode: int) -> str:
    """What a file that is not a regular file is, in words (its ``st_mode``).

    >>> file_kind(os.stat("/dev/null").st_mode)
    'a character device'
    """
    return next((words for test, words in _KINDS if test(mode)), "not a regular file")


def _is_null_device(info: os.stat_result) -> bool:
    """Whether ``info`` is the null device's (a character device with /dev/null's device number)."""
    if not stat.S_ISCHR(info.st_mode):
        return False
    try:
        null = os.stat(os.devnull)
    except OSError:
        return False
    return stat.S_ISCHR(null.st_mode) and info.st_rdev == null.st_rdev


def open_regular(path: str | Path, limit: int | None):
    """``(file, size)``: a regular file opened for reading in binary, and its size in bytes, at most
    ``limit`` (checked with ``os.stat`` before it is opened).

    Only a regular file is opened: a named pipe would block the reader until a writer comes (for
    ever, in a batch), a device such as ``/dev/zero`` never ends. The file is opened non-blocking and
    checked again on its descriptor, so one swapped for a pipe after the ``stat`` cannot block
    either.

    Raises
    ------
    NotARegularFile
        What the path is instead (a directory too), or its size against the bound, in words.
    OSError
        What the system refuses (missing, permission, a symbolic link that loops).
    """
    def check(info: os.stat_result) -> None:
        if not stat.S_ISREG(info.st_mode):
            raise NotARegularFile(f"is {file_kind(info.st_mode)}, not a regular file")
        if limit is not None and info.st_size > limit:
            raise NotARegularFile(f"is {info.st_size / 1e6:.1f} MB, over the {limit / 1e6:.1f} MB bound")

    check(os.stat(path))
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    f = open(fd, "rb", closefd=True)
    try:
        info = os.fstat(f.fileno())
        check(info)
    except BaseException:
        f.close()
        raise
    return f, info.st_size


def read_regular_bytes(path: str | Path, limit: int = MAX_TOML_BYTES) -> bytes:
    """The bytes of a small hand-written file: only a regular file of at most ``limit`` bytes is read
    (:func:`open_regular`; a file growing meanwhile is refused too).

    Raises
    ------
    NotARegularFile
        What the path is instead, or its size against the bound, in words.
    OSError
        What the system refuses (missing, permission, a symbolic link that loops); ``IsADirectoryError``
        for a directory.

    The null device is the one device read, as the empty file it is (``--config /dev/null``: no
    configuration file, every key its default, the usual Unix way to say "none"):

    >>> read_regular_bytes("/dev/null")
    b''
    >>> read_regular_bytes("/dev/zero")
    Traceback (most recent call last):
    ...
    station.tomlschema.NotARegularFile: is a character device, not a regular file
    """
    info = os.stat(path)
    if _is_null_device(info):
        return b""
    if stat.S_ISDIR(info.st_mode):
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    f, _ = open_regular(path, limit)
    with f:
        raw = f.read(limit + 1)
    if len(raw) > limit:  # it grew after it was opened
        raise NotARegularFile(f"is over the {limit / 1e6:.1f} MB bound (it grew while it was read)")
    return raw


def read_toml_text(path: str | Path, error: type[SchemaError] = SchemaError) -> str:
    """The text of a TOML file (UTF-8); every failure is an ``error`` naming the file and what to do."""
    path = Path(path)
    try:
        raw = read_regular_bytes(path)
    except FileNotFoundError:
        raise error(str(path), None, "no such file") from None
    except IsADirectoryError:
        raise error(str(path), None, "is a directory; give the path of a .toml file") from None
    except NotARegularFile as exc:
        raise error(str(path), None, f"{exc}; give the path of a .toml file") from None
    except OSError as exc:
        raise error(str(path), None, f"cannot read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(str(path), None, f"not UTF-8 text (undecodable byte at offset {exc.start}); save it as UTF-8") from None
    return text


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

    By default the first mistake is raised. Given a list as ``collect``, mistakes are appended to it
    instead (every mistake of a file at once, as the station configuration reports them): an
    accessor then returns :data:`INVALID` for a field it found wrong, :meth:`sub` returns None for a
    sub-table that is not a table, and :meth:`finish` records every unknown key. ``lines`` (from
    :func:`key_lines`) gives each mistake its line.
    """

    def __init__(self, source: str, prefix: str, table: Any, error: type[SchemaError] = SchemaError, *,
                 collect: list[SchemaError] | None = None, lines: Mapping[tuple, int] | None = None,
                 keys: tuple | None = None):
        self.source = source
        self.prefix = prefix
        self.error_type = error
        self.collect = collect
        self.lines = lines
        self.keys = _keys_of(prefix) if keys is None else tuple(keys)
        if not isinstance(table, dict):
            raise self._make(None, f"must be a table, not {_kind(table)}", value=table)
        self.table = dict(table)
        self.known: list[str] = []

    def path(self, key: str) -> str:
        return f"{self.prefix}.{key}" if self.prefix else key

    def _make(self, key: str | None, problem: str, *, allowed: str | None = None, value: Any = NO_VALUE,
              about_value: bool = False) -> SchemaError:
        keys = self.keys + ((key,) if key else ())
        line = line_of(self.lines, keys) if self.lines is not None else None
        return self.error_type(self.source, self.path(key) if key else (self.prefix or None), problem,
                               allowed=allowed, value=value, keys=keys, line=line, about_value=about_value)

    def error(self, key: str | None, problem: str, *, allowed: str | None = None, value: Any = NO_VALUE,
              about_value: bool = False) -> SchemaError:
        """A mistake in field ``key`` (of this table when None), to raise or :meth:`record` (the
        checks of a file kind that involve more than one field)."""
        return self._make(key, problem, allowed=allowed, value=value, about_value=about_value)

    def record(self, error: SchemaError) -> Any:
        """Raise ``error``, or, when collecting, keep it and return :data:`INVALID`."""
        if self.collect is None:
            raise error
        self.collect.append(error)
        return INVALID

    def has(self, key: str) -> bool:
        return key in self.table

    def _get(self, key: str, required: bool, default):
        self.known.append(key)
        if key not in self.table:
            if required:
                return self.record(self._make(key, "is missing; it is required")), False
            return default, False
        return self.table[key], True

    def value(self, key: str, check, *, required: bool = True, default: Any = None) -> Any:
        """The field ``key`` as ``check(value)`` returns it; ``check`` raises :class:`Invalid`
        saying what is allowed. The one way every accessor below checks a value."""
        value, present = self._get(key, required, default)
        if not present:
            return value
        try:
            return check(value)
        except Invalid as exc:
            problem = exc.problem or f"{value!r} is not allowed"
            return self.record(self._make(key, problem, allowed=exc.allowed, value=value, about_value=True))

    def text(self, key: str, required: bool = True, default: str = "", max_chars: int | None = None) -> str:
        """Non-empty text, whitespace tidied (:func:`clean_text`); at most ``max_chars`` if given."""
        def check(value):
            return clean_text(_nonempty_text(value, max_chars))

        return self.value(key, check, required=required, default=default)

    def optional_text(self, key: str, max_chars: int | None = None) -> str | None:
        return self.value(key, lambda v: _nonempty_text(v, max_chars).strip(), required=False, default=None)

    def choice(self, key: str, allowed, required: bool = True, default: str | None = None) -> str | None:
        return self.value(key, choice_check(allowed), required=required, default=default)

    def ident(self, key: str, pattern: re.Pattern = ID_RE) -> str:
        chars = "'_' or '-'" if pattern is NAME_RE else "'_'"

        def check(value):
            if not isinstance(value, str) or not pattern.fullmatch(value):  # (match: "$" lets "x\n" through)
                raise Invalid(f"lower-case letters, digits and {chars}, starting with a letter, at most 40 characters")
            return value

        return self.value(key, check)

    def number(self, key: str, *, lo: float, hi: float, required: bool = True, default: float | None = None,
               lo_open: bool = False, unit: str = "") -> float | None:
        """A number (an integer is taken as a float): :func:`number_check`."""
        return self.value(key, number_check(lo, hi, unit=unit, lo_open=lo_open), required=required, default=default)

    def integer(self, key: str, *, lo: int, hi: int, required: bool = True, default: int | None = None,
                unit: str = "") -> int | None:
        """A whole number: :func:`integer_check`."""
        return self.value(key, integer_check(lo, hi, unit=unit), required=required, default=default)

    def integer_choice(self, key: str, allowed: tuple[int, ...], *, unit: str = "", required: bool = True,
                       default: int | None = None) -> int | None:
        """One of the whole numbers ``allowed``: :func:`integer_choice_check`."""
        return self.value(key, integer_choice_check(allowed, unit=unit), required=required, default=default)

    def choices(self, key: str, allowed, default: tuple[str, ...] = (), required: bool = False,
                min_items: int = 0) -> tuple[str, ...]:
        """A list of allowed text values (duplicates removed, order kept)."""
        def check(value):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise Invalid(f"a list of {allowed_list(allowed)}", f"must be a list of text, not {value!r}")
            for v in value:
                if v not in allowed:
                    raise Invalid(allowed_list(allowed), f"{v!r} is not allowed")
            if len(value) < min_items:
                raise Invalid(f"at least {min_items} of {allowed_list(allowed)}", "is empty")
            return tuple(dict.fromkeys(value))

        return self.value(key, check, required=required, default=default)

    def table_of(self, key: str, required: bool = False) -> dict | None:
        """The sub-table ``key`` as a dict (None when absent and not required, or found wrong while
        collecting)."""
        def check(value):
            if not isinstance(value, dict):
                raise Invalid(f"a table [{self.path(key)}]", f"must be a table, not {_kind(value)}")
            return value

        value = self.value(key, check, required=required, default=None)
        return None if value is INVALID else value

    def sub(self, key: str, required: bool = False) -> "Table | None":
        """The sub-table ``key`` as a :class:`Table` (None when absent and not required)."""
        value = self.table_of(key, required=required)
        if value is None:
            return None
        return self._child(self.path(key), self.keys + (key,), value)

    def array_of_tables(self, key: str, required: bool = False) -> list["Table"]:
        """``[[key]]`` tables, each as a :class:`Table` at ``key[i]``."""
        def check(value):
            if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
                raise Invalid(f"an array of tables [[{self.path(key)}]]", f"must be an array of tables, not {_kind(value)}")
            return value

        value = self.value(key, check, required=required, default=[])
        if value is INVALID:
            return []
        return [self._child(f"{self.path(key)}[{i}]", self.keys + (key, i), v) for i, v in enumerate(value)]

    def _child(self, prefix: str, keys: tuple, table: dict) -> "Table":
        return Table(self.source, prefix, table, self.error_type, collect=self.collect, lines=self.lines, keys=keys)

    def finish(self) -> None:
        """Refuse keys no accessor asked for, suggesting the closest known one (every such key when
        collecting, else the first)."""
        for key in [k for k in self.table if k not in self.known]:
            close = difflib.get_close_matches(str(key), self.known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            self.record(self._make(str(key), f"unknown field{hint}", allowed=allowed_list(self.known),
                                   value=self.table[key]))


# -- checks: each takes a value and returns what to keep, or raises Invalid saying what is allowed --


def number_check(lo: float, hi: float, *, unit: str = "", lo_open: bool = False):
    """A finite number from ``lo`` (above it if ``lo_open``) to ``hi``, returned as a float.

    >>> number_check(0, 3, unit="m/s", lo_open=True)(0)
    Traceback (most recent call last):
    ...
    station.tomlschema.Invalid: a number above 0 and up to 3 m/s
    """
    span = (f"a number {'above' if lo_open else 'from'} {lo:g} {'and up ' if lo_open else ''}to {hi:g}"
            f"{' ' + unit if unit else ''}")

    def check(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise Invalid(span, f"must be a number, not {value!r}")
        if value < lo or value > hi or (lo_open and value == lo):
            raise Invalid(span, f"{value!r} is out of range")
        return float(value)

    return check


def integer_check(lo: int, hi: int, *, unit: str = ""):
    """A whole number from ``lo`` to ``hi`` (true/false and 1.0 are refused)."""
    span = f"a whole number from {lo} to {hi}{' ' + unit if unit else ''}"

    def check(value: Any) -> int:
        if not _is_whole(value):
            raise Invalid(span, f"must be a whole number, not {value!r}")
        if not lo <= value <= hi:
            raise Invalid(span, f"{value!r} is out of range")
        return value

    return check


def integer_choice_check(allowed: tuple[int, ...], *, unit: str = ""):
    """One of the whole numbers ``allowed`` (a chip's rates or gains)."""
    span = "one of " + ", ".join(str(a) for a in allowed) + (f" {unit}" if unit else "")

    def check(value: Any) -> int:
        if not _is_whole(value):
            raise Invalid(span, f"must be a whole number, not {value!r}")
        if value not in allowed:
            raise Invalid(span)
        return value

    return check


def choice_check(allowed):
    """One of the values ``allowed`` (text, as a rule)."""
    def check(value: Any):
        try:
            known = not isinstance(value, bool) and value in allowed
        except TypeError:  # a list or table where a set or dict of allowed values is asked
            known = False
        if not known:
            raise Invalid(allowed_list(allowed))
        return value

    return check


def _is_whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _nonempty_text(value: Any, max_chars: int | None) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Invalid("non-empty text", f"must be non-empty text, not {value!r}")
    if max_chars is not None and len(value) > max_chars:
        raise Invalid(f"at most {max_chars}", f"is {len(value)} characters long")
    return value


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

    Keys are full paths: ``("plate", "width_cm")`` for ``width_cm`` under ``[plate]``; in arrays of
    tables with the table's index: ``("panel", "gates", 1, "pin")`` under the second
    ``[[panel.gates]]`` (the array itself, ``("panel", "gates")``, is at its first header). Keys
    inside inline tables are not listed; :func:`line_of` falls back to the enclosing key's line.
    """
    lines: dict[tuple, int] = {}
    table: tuple = ()
    arrays: dict[tuple, int] = {}  # each array of tables (its path, with indices) -> tables so far
    scanner = _ValueScanner()
    for number, line in enumerate(text.splitlines(), start=1):
        if scanner.continuing:
            scanner.feed(line)
            continue
        match = _TABLE_RE.match(line)
        if match:
            table = _table_path(_split_key(match.group(2)), match.group(1) == "[[", arrays, lines, number)
            lines.setdefault(table, number)
            continue
        match = _KEYVAL_RE.match(line)
        if match:
            path = table + _split_key(match.group(1))
            for depth in range(len(table) + 1, len(path) + 1):
                lines.setdefault(path[:depth], number)
            scanner.feed(line[match.end() :])
    return lines


def _table_path(parts: tuple[str, ...], new_array: bool, arrays: dict[tuple, int], lines: dict[tuple, int],
                number: int) -> tuple:
    """The path of a table header: an array of tables on the way contributes its current index
    (``[[panel.gates]]`` the second time is ``("panel", "gates", 1)``)."""
    path: tuple = ()
    for n, part in enumerate(parts):
        path += (part,)
        if new_array and n == len(parts) - 1:
            index = arrays.get(path, 0)
            arrays[path] = index + 1
            lines.setdefault(path, number)
            path += (index,)
        elif path in arrays:
            path += (arrays[path] - 1,)
    return path


def line_of(lines: Mapping[tuple, int], path: tuple) -> int | None:
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
