"""Load and validate the station's TOML configuration file into a :class:`StationConfig`.

One file configures the station: ``/etc/balance-station/station.toml`` when installed
(:data:`INSTALLED_PATH`), any file given with ``--config`` or ``$BALANCE_STATION_CONFIG``, and no
file at all in development (the dataclass defaults of :mod:`station.config`). The file is read with
:mod:`tomllib`; its sections mirror the dataclasses (``[plate]``, ``[imu]``, ``[acquisition]``,
``[panel]``, ``[web]``, ``[backup]``, and the top-level ``data_dir``); a key left out keeps its
default. The commented default file is ``systemd/station.toml``.

Every key is validated when the file is loaded, and every problem is reported, not only the first:
each :class:`ConfigProblem` names the key, the value found, what is allowed, and the file and line.
:mod:`tomllib` keeps no positions, so lines are found by a small scanner of the file's table
headers and ``key =`` lines (:func:`key_lines`).

Relative paths in the file (``data_dir``, ``web.tls_cert``, ``web.tls_key``) are relative to the
directory of the file, not to the current directory, so a service and a shell agree on them.
"""

from __future__ import annotations

import dataclasses
import difflib
import ipaddress
import json
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from station.cli import UserError
from station.config import (
    AcquisitionConfig,
    BackupConfig,
    GateConfig,
    ImuConfig,
    PanelConfig,
    PlateConfig,
    StationConfig,
    WebConfig,
)

INSTALLED_PATH = Path("/etc/balance-station/station.toml")
"""Where the installer puts the configuration (read when no other file is named)."""
ENV_VAR = "BALANCE_STATION_CONFIG"
"""Environment variable naming the configuration file (used when ``--config`` is not given)."""

HIDDEN = "<hidden>"
"""What ``config show`` prints instead of a secret value."""


# -- problems ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConfigProblem:
    """One invalid key: which key, what value, what is allowed, and where.

    ``line`` is ``None`` when the value is a default (cross-checks against a key not in the file)
    or the file could not be parsed that far.
    """

    key: str
    value: Any
    allowed: str
    file: Path | None
    line: int | None

    def __str__(self) -> str:
        where = str(self.file) if self.file is not None else "(defaults)"
        if self.line is not None:
            where += f":{self.line}"
        if self.key:
            if self.key in _HEX_KEYS and _is_int(self.value):
                shown = f"0x{self.value:02X}"
            else:
                shown = format_value(self.value)
            return f"{where}: {self.key} = {shown}: {self.allowed}"
        return f"{where}: {self.allowed}"


class ConfigError(UserError):
    """The configuration file is missing, unreadable or invalid; ``problems`` lists every fault.

    A :class:`station.cli.UserError`, so a command that lets it propagate prints it without a
    traceback and exits with status 1.
    """

    def __init__(self, problems: list[ConfigProblem], file: Path | None):
        self.problems = list(problems)
        self.file = file
        count = len(self.problems)
        if count == 1 and not self.problems[0].key:  # the file as a whole: missing, unreadable, not TOML
            super().__init__(str(self.problems[0]))
            return
        head = (
            f"{file if file is not None else 'the configuration'}: "
            f"{count} invalid setting{'s' if count != 1 else ''}; fix the file and run "
            f"`balance-station config check`"
        )
        super().__init__(head + "\n" + "\n".join(f"  {p}" for p in self.problems))


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


# -- value checks (each returns the parsed value or raises _Invalid) ------------------------------


class _Invalid(Exception):
    """Raised by a key's parser; the message says what is allowed."""


def _is_int(raw: Any) -> bool:
    return isinstance(raw, int) and not isinstance(raw, bool)


def _int_range(lo: int, hi: int, unit: str = "") -> Callable[[Any], int]:
    suffix = f" {unit}" if unit else ""

    def parse(raw: Any) -> int:
        if not _is_int(raw) or not lo <= raw <= hi:
            raise _Invalid(f"an integer from {lo} to {hi}{suffix}")
        return raw

    return parse


def _int_choice(choices: tuple[int, ...], unit: str = "") -> Callable[[Any], int]:
    suffix = f" {unit}" if unit else ""

    def parse(raw: Any) -> int:
        if not _is_int(raw) or raw not in choices:
            raise _Invalid("one of " + ", ".join(str(c) for c in choices) + suffix)
        return raw

    return parse


def _float_range(lo: float, hi: float, unit: str, *, lo_open: bool = False) -> Callable[[Any], float]:
    def parse(raw: Any) -> float:
        if isinstance(raw, bool) or not isinstance(raw, (int, float)):
            raise _Invalid(f"a number {'above' if lo_open else 'from'} {lo:g} {'and up ' if lo_open else ''}to {hi:g} {unit}")
        value = float(raw)
        if value != value or (value <= lo if lo_open else value < lo) or value > hi:
            raise _Invalid(f"a number {'above' if lo_open else 'from'} {lo:g} {'and up ' if lo_open else ''}to {hi:g} {unit}")
        return value

    return parse


def _str_choice(choices: tuple[str, ...]) -> Callable[[Any], str]:
    def parse(raw: Any) -> str:
        if not isinstance(raw, str) or raw not in choices:
            raise _Invalid("one of " + ", ".join(json.dumps(c) for c in choices))
        return raw

    return parse


def _address(lo: int, hi: int) -> Callable[[Any], int]:
    def parse(raw: Any) -> int:
        if not _is_int(raw) or not lo <= raw <= hi:
            raise _Invalid(f"an I2C address from 0x{lo:02X} to 0x{hi:02X} (write it as hex, e.g. 0x{lo:02X})")
        return raw

    return parse


_MOUNTING_AXES = ("+x", "-x", "+y", "-y", "+z", "-z")
_IMU_ADDRESSES = {"lsm6dsox": (0x6A, 0x6B), "mpu6050": (0x68, 0x69)}


def _imu_address(raw: Any) -> int | None:
    allowed = sorted(a for pair in _IMU_ADDRESSES.values() for a in pair)
    if raw == "auto":
        return None
    if not _is_int(raw) or raw not in allowed:
        raise _Invalid(
            '"auto" (probe the chip\'s usual addresses) or one of '
            + ", ".join(f"0x{a:02X}" for a in allowed)
        )
    return raw


def _mux_channels(raw: Any) -> tuple[int, int, int, int]:
    allowed = "four different mux channels 0-7, for the corners FL, FR, BL, BR in that order"
    if not isinstance(raw, list) or len(raw) != 4:
        raise _Invalid(allowed)
    if not all(_is_int(c) and 0 <= c <= 7 for c in raw) or len(set(raw)) != 4:
        raise _Invalid(allowed)
    return (raw[0], raw[1], raw[2], raw[3])


def _gpio_pin(raw: Any) -> int:
    if not _is_int(raw) or not 0 <= raw <= 27:
        raise _Invalid("a BCM GPIO number from 0 to 27 (not a header pin number)")
    if raw in _RESERVED_PINS:
        raise _Invalid(f"a free BCM GPIO: GPIO {raw} is {_RESERVED_PINS[raw]}")
    return raw


MAX_GATES = 16


def _gates(raw: Any) -> tuple[GateConfig, ...]:
    """``[[panel.gates]]`` tables, each ``pin`` (BCM GPIO) and ``position_m`` (along the walkway)."""
    allowed = ("an array of tables [[panel.gates]], each with pin = <BCM GPIO> and position_m = <metres from the "
               f"start line, 0-100>, at most {MAX_GATES} gates, no two at the same position or on the same pin; [] for none")
    if not isinstance(raw, list) or len(raw) > MAX_GATES:
        raise _Invalid(allowed)
    gates = []
    for i, table in enumerate(raw):
        if not isinstance(table, dict) or set(table) != {"pin", "position_m"}:
            raise _Invalid(f"gate {i + 1}: " + allowed)
        try:
            pin = _gpio_pin(table["pin"])
        except _Invalid as exc:
            raise _Invalid(f"gate {i + 1}: pin: {exc}") from None
        position = table["position_m"]
        if isinstance(position, bool) or not isinstance(position, (int, float)) or not 0.0 <= position <= 100.0:
            raise _Invalid(f"gate {i + 1}: position_m: a number of metres from 0 to 100")
        gates.append(GateConfig(pin=pin, position_m=float(position)))
    if len({g.pin for g in gates}) != len(gates) or len({g.position_m for g in gates}) != len(gates):
        raise _Invalid(allowed)
    return tuple(sorted(gates, key=lambda g: g.position_m))


def _dump_gates(gates: tuple[GateConfig, ...]) -> list[dict]:
    return [{"pin": g.pin, "position_m": g.position_m} for g in gates]


_RESERVED_PINS = {
    0: "the HAT EEPROM's I2C data (ID_SD)",
    1: "the HAT EEPROM's I2C clock (ID_SC)",
    2: "I2C1 SDA, used by the plate",
    3: "I2C1 SCL, used by the plate",
}


def _host(raw: Any) -> str:
    allowed = 'an IP address to listen on ("127.0.0.1" behind the HTTPS proxy, "0.0.0.0" for all)'
    if not isinstance(raw, str):
        raise _Invalid(allowed)
    try:
        ipaddress.ip_address(raw)
    except ValueError:
        if raw != "localhost":
            raise _Invalid(allowed) from None
    return raw


def _port(raw: Any) -> int:
    if not _is_int(raw) or not 1 <= raw <= 65535:
        raise _Invalid("a TCP port from 1 to 65535")
    return raw


def _path(raw: Any) -> str:
    if not isinstance(raw, str) or not raw.strip() or "\0" in raw:
        raise _Invalid("a non-empty path (relative paths are relative to this file's directory)")
    return raw


def _optional_path(raw: Any) -> str | None:
    if raw == "":
        return None
    if not isinstance(raw, str) or "\0" in raw:
        raise _Invalid('a path, or "" for none (relative paths are relative to this file\'s directory)')
    return raw


@dataclass(frozen=True)
class _Key:
    parse: Callable[[Any], Any]
    dump: Callable[[Any], Any] = lambda value: value
    path: bool = False
    secret: bool = False


def _dump_optional_path(value: Path | None) -> str:
    return "" if value is None else str(value)


def _dump_imu_address(value: int | None) -> Any:
    return "auto" if value is None else value


# Every key of the file. A section's keys must match its dataclass's fields exactly (checked at
# import below), so a field added to station.config cannot be forgotten here.
_SCHEMA: dict[str, tuple[type, dict[str, _Key]]] = {
    "plate": (
        PlateConfig,
        {
            "front_end": _Key(_str_choice(("nau7802",))),
            "width_cm": _Key(_float_range(5.0, 200.0, "cm")),
            "depth_cm": _Key(_float_range(5.0, 200.0, "cm")),
            "mux_address": _Key(_address(0x70, 0x77)),
            "mux_channels": _Key(_mux_channels, dump=list),
            "adc_rate_sps": _Key(_int_choice((10, 20, 40, 80, 320), "samples/s (NAU7802 rates)")),
            "adc_gain": _Key(_int_choice((1, 2, 4, 8, 16, 32, 64, 128), "(NAU7802 PGA gains)")),
            "load_cell_capacity_kg": _Key(_float_range(0.0, 2000.0, "kg", lo_open=True)),
            "load_cell_rated_output_mv_v": _Key(_float_range(0.0, 10.0, "mV/V", lo_open=True)),
            "cop_min_force_n": _Key(_float_range(0.0, 5000.0, "N")),
        },
    ),
    "imu": (
        ImuConfig,
        {
            "model": _Key(_str_choice(("auto", "lsm6dsox", "mpu6050", "none"))),
            "address": _Key(_imu_address, dump=_dump_imu_address),
            "rate_hz": _Key(_float_range(1.0, 1000.0, "Hz")),
            "accel_range_g": _Key(_int_choice((2, 4, 8, 16), "g")),
            "gyro_range_dps": _Key(_int_choice((125, 250, 500, 1000, 2000), "deg/s")),
            "mounting_up": _Key(_str_choice(_MOUNTING_AXES)),
            "mounting_toes": _Key(_str_choice(_MOUNTING_AXES)),
        },
    ),
    "acquisition": (
        AcquisitionConfig,
        {
            "bus": _Key(_int_range(0, 255, "(the N of /dev/i2c-N; 1 on a Raspberry Pi)")),
            "bus_clock_hz": _Key(_int_range(10_000, 400_000, "Hz (400000 is the chips' fast mode)")),
            "rate_hz": _Key(_float_range(1.0, 1000.0, "Hz")),
            "ring_frames": _Key(_int_range(2, 1_048_576, "frames")),
        },
    ),
    "panel": (
        PanelConfig,
        {
            "button_pin": _Key(_gpio_pin),
            "buzzer_pin": _Key(_gpio_pin),
            "led_pin": _Key(_gpio_pin),
            "gates": _Key(_gates, dump=_dump_gates),
        },
    ),
    "web": (
        WebConfig,
        {
            "host": _Key(_host),
            "port": _Key(_port),
            "tls_cert": _Key(_optional_path, dump=_dump_optional_path, path=True),
            "tls_key": _Key(_optional_path, dump=_dump_optional_path, path=True),
            "https_port": _Key(_port),
            "http_redirect_port": _Key(_port),
            "session_timeout_min": _Key(_float_range(1.0, 24 * 60.0, "min")),
        },
    ),
    "backup": (
        BackupConfig,
        {
            "interval_h": _Key(_float_range(0.25, 24 * 31.0, "h")),
            "keep": _Key(_int_range(1, 10_000, "backups")),
        },
    ),
}
_TOP_LEVEL: dict[str, _Key] = {"data_dir": _Key(_path, path=True)}


def _check_schema_covers_dataclasses() -> None:
    for section, (cls, keys) in _SCHEMA.items():
        fields = {f.name for f in dataclasses.fields(cls)}
        if fields != set(keys):
            raise RuntimeError(
                f"station.config_file: [{section}] keys {sorted(keys)} do not match "
                f"{cls.__name__} fields {sorted(fields)}"
            )
    top = {f.name for f in dataclasses.fields(StationConfig)} - set(_SCHEMA)
    if top != set(_TOP_LEVEL):
        raise RuntimeError(f"station.config_file: top-level keys {sorted(_TOP_LEVEL)} != {sorted(top)}")


_check_schema_covers_dataclasses()


def secret_keys() -> frozenset[str]:
    """Dotted names of the keys whose values ``config show`` hides."""
    names = {k for k, spec in _TOP_LEVEL.items() if spec.secret}
    for section, (_cls, keys) in _SCHEMA.items():
        names.update(f"{section}.{k}" for k, spec in keys.items() if spec.secret)
    return frozenset(names)


# -- line numbers --------------------------------------------------------------------------------

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
    inline tables are not listed; :func:`_line_of` falls back to the enclosing key's line.
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


def _line_of(lines: Mapping[tuple[str, ...], int], path: tuple[str, ...]) -> int | None:
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return None


# -- loading -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadedConfig:
    """A validated configuration and where it came from.

    ``path`` is ``None`` when no file was read (development defaults); ``keys_in_file`` holds the
    dotted names of the keys the file set (the others are defaults).
    """

    config: StationConfig
    path: Path | None
    keys_in_file: frozenset[str]


def resolve_config_path(path: str | os.PathLike | None, env: Mapping[str, str] | None = None) -> Path | None:
    """The file to read: ``path`` if given, else ``$BALANCE_STATION_CONFIG`` if set, else
    :data:`INSTALLED_PATH` if it exists, else ``None`` (use the defaults)."""
    if path is not None and str(path) != "":
        return Path(path)
    env = os.environ if env is None else env
    from_env = env.get(ENV_VAR, "")
    if from_env:
        return Path(from_env)
    if INSTALLED_PATH.exists():
        return INSTALLED_PATH
    return None


def load_station_config(path: str | os.PathLike | None = None) -> StationConfig:
    """The station's validated configuration (see :func:`resolve_config_path` for which file).

    Raises
    ------
    ConfigError
        The file named is missing or unreadable, is not valid TOML, or has invalid settings.
    """
    return load_config(path).config


def load_config(path: str | os.PathLike | None = None, env: Mapping[str, str] | None = None) -> LoadedConfig:
    """Like :func:`load_station_config`, also telling which file and which keys were used."""
    resolved = resolve_config_path(path, env)
    if resolved is None:
        return LoadedConfig(StationConfig(), None, frozenset())
    return parse_config_text(_read(resolved), resolved)


def _read(path: Path) -> str:
    def fail(what: str) -> ConfigError:
        return ConfigError([ConfigProblem("", None, what, path, None)], path)

    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise fail(
            "no such configuration file; check the path given with --config or "
            f"${ENV_VAR}, or leave both unset to use the defaults"
        ) from None
    except IsADirectoryError:
        raise fail("this is a directory; give the path of the .toml file") from None
    except PermissionError:
        raise fail("permission denied; run as a user that may read it (e.g. with sudo)") from None
    except OSError as exc:
        raise fail(f"cannot read the file ({exc.strerror}); check the disk and the path") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(
            [ConfigProblem("", None, "not UTF-8 text; save the file as UTF-8", path, line)], path
        ) from None


_TOML_POSITION = re.compile(r"\(at line (\d+), column \d+\)|\(at end of document\)")


def parse_config_text(text: str, path: Path) -> LoadedConfig:
    """Parse and validate the text of the configuration file at ``path`` (used for messages and
    to resolve relative paths)."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = _TOML_POSITION.search(message)
        line = None
        if match and match.group(1):
            line = int(match.group(1))
        elif match:
            line = text.count("\n") + 1
        problem = ConfigProblem("", None, f"not valid TOML: {message}", path, line)
        raise ConfigError([problem], path) from None
    lines = key_lines(text)
    base_dir = path.parent
    problems: list[ConfigProblem] = []
    keys_in_file: set[str] = set()
    invalid_keys: set[str] = set()

    def problem(key: tuple[str, ...], value: Any, allowed: str) -> None:
        invalid_keys.add(".".join(key))
        problems.append(ConfigProblem(".".join(key), value, allowed, path, _line_of(lines, key)))

    def convert(spec: _Key, key: tuple[str, ...], value: Any) -> tuple[bool, Any]:
        try:
            parsed = spec.parse(value)
        except _Invalid as exc:
            problem(key, value, f"allowed: {exc}")
            return False, None
        keys_in_file.add(".".join(key))
        if spec.path and parsed is not None:
            parsed = Path(parsed)
            if not parsed.is_absolute():
                parsed = base_dir / parsed
        return True, parsed

    top_values: dict[str, Any] = {}
    section_values: dict[str, dict[str, Any]] = {name: {} for name in _SCHEMA}
    for name, value in raw.items():
        if name in _TOP_LEVEL:
            ok, parsed = convert(_TOP_LEVEL[name], (name,), value)
            if ok:
                top_values[name] = parsed
        elif name in _SCHEMA:
            if not isinstance(value, dict):
                problem((name,), value, f"allowed: a table [{name}] of settings")
                continue
            _cls, keys = _SCHEMA[name]
            for key, item in value.items():
                if key not in keys:
                    problem((name, key), item, _unknown(key, keys, f"[{name}]"))
                    continue
                ok, parsed = convert(keys[key], (name, key), item)
                if ok:
                    section_values[name][key] = parsed
        else:
            problem((name,), value, _unknown(name, [*_TOP_LEVEL, *_SCHEMA], "the file's top level"))

    sections = {}
    for name, (cls, _keys) in _SCHEMA.items():
        sections[name] = cls(**section_values[name])
    config = StationConfig(**top_values, **sections)

    for key, value, allowed, related in _cross_checks(config, keys_in_file):
        if ".".join(key) in invalid_keys or (related is not None and ".".join(related) in invalid_keys):
            continue  # already reported; its default stands in and would only confuse
        # Point at the key's line, or at the line of the key it conflicts with when only that one
        # is in the file (e.g. tls_cert set without tls_key).
        line = None
        for candidate in (key, related):
            if candidate is not None and ".".join(candidate) in keys_in_file:
                line = _line_of(lines, candidate)
                break
        problems.append(ConfigProblem(".".join(key), value, allowed, path, line))
    if problems:
        problems.sort(key=lambda p: (p.line is None, p.line or 0, p.key))
        raise ConfigError(problems, path)
    return LoadedConfig(config, path, frozenset(keys_in_file))


def _unknown(key: str, known, where: str) -> str:
    close = difflib.get_close_matches(key, list(known), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown key in {where}{hint} (known: {', '.join(sorted(known))})"


_Key2 = tuple[str, ...]


def _cross_checks(config: StationConfig, keys_in_file: set[str]) -> list[tuple[_Key2, Any, str, _Key2 | None]]:
    """Checks that involve more than one key: (key, value, what is allowed, the related key)."""
    out: list[tuple[_Key2, Any, str, _Key2 | None]] = []

    def file_last(section: str, names: list[str]) -> list[str]:
        # Among keys that collide, blame the one the file sets: defaults claim values first.
        return sorted(names, key=lambda n: f"{section}.{n}" in keys_in_file)
    plate, imu, acq, panel, web = config.plate, config.imu, config.acquisition, config.panel, config.web

    if acq.rate_hz > plate.adc_rate_sps:
        out.append(
            (
                ("acquisition", "rate_hz"),
                acq.rate_hz,
                f"allowed: at most plate.adc_rate_sps = {plate.adc_rate_sps} (a faster frame rate "
                "only repeats stale corner values); raise the ADC rate or lower the frame rate",
                ("plate", "adc_rate_sps"),
            )
        )
    min_ring = int(10 * acq.rate_hz)
    if acq.ring_frames < min_ring:
        out.append(
            (
                ("acquisition", "ring_frames"),
                acq.ring_frames,
                f"allowed: at least {min_ring} frames (10 s at acquisition.rate_hz = {acq.rate_hz:g}), "
                "so a reader that pauses does not lose frames",
                ("acquisition", "rate_hz"),
            )
        )
    if imu.model in _IMU_ADDRESSES and imu.address is not None and imu.address not in _IMU_ADDRESSES[imu.model]:
        addresses = ", ".join(f"0x{a:02X}" for a in _IMU_ADDRESSES[imu.model])
        out.append(
            (("imu", "address"), imu.address, f'allowed for imu.model = "{imu.model}": {addresses} or "auto"', ("imu", "model"))
        )
    if imu.mounting_up[1] == imu.mounting_toes[1]:
        first, second = file_last("imu", ["mounting_up", "mounting_toes"])
        out.append(
            (
                ("imu", second),
                getattr(imu, second),
                f"allowed: a sensor axis other than imu.{first}'s ({getattr(imu, first)}): up and toes are "
                "perpendicular",
                ("imu", first),
            )
        )
    if imu.model == "mpu6050" and imu.gyro_range_dps == 125:
        out.append(
            (
                ("imu", "gyro_range_dps"),
                imu.gyro_range_dps,
                'allowed for imu.model = "mpu6050": 250, 500, 1000, 2000 deg/s',
                ("imu", "model"),
            )
        )
    pins: dict[int, str] = {}
    panel_pins = [(name, getattr(panel, name)) for name in ("button_pin", "buzzer_pin", "led_pin")]
    panel_pins += [(f"gates[{i}].pin", gate.pin) for i, gate in enumerate(panel.gates)]
    for name in file_last("panel", [name for name, _ in panel_pins]):
        pin = dict(panel_pins)[name]
        if pin in pins:
            key = "gates" if name.startswith("gates[") else name
            other = "gates" if pins[pin].startswith("gates[") else pins[pin]
            out.append(
                (
                    ("panel", key),
                    pin,
                    f"allowed: a GPIO not used by another panel device (panel.{pins[pin]} uses GPIO {pin})",
                    ("panel", other),
                )
            )
        else:
            pins[pin] = name
    ports: dict[int, str] = {}
    for name in file_last("web", ["port", "https_port", "http_redirect_port"]):
        port = getattr(web, name)
        if port in ports:
            out.append(
                (
                    ("web", name),
                    port,
                    f"allowed: a port not used by web.{ports[port]} (both would listen on {port})",
                    ("web", ports[port]),
                )
            )
        else:
            ports[port] = name
    if (web.tls_cert is None) != (web.tls_key is None):
        missing = "tls_key" if web.tls_key is None else "tls_cert"
        present = "tls_cert" if missing == "tls_key" else "tls_key"
        out.append(
            (
                ("web", missing),
                None,
                f"allowed: a path whenever web.{present} is set (a certificate needs its key and the "
                "key its certificate); set both or neither",
                ("web", present),
            )
        )
    return out


# -- showing -------------------------------------------------------------------------------------


def effective_values(config: StationConfig, *, hide_secrets: bool = True) -> dict[str, Any]:
    """The configuration as the nested dict of TOML values the file would hold (secrets replaced
    by :data:`HIDDEN`)."""
    out: dict[str, Any] = {}
    for name, spec in _TOP_LEVEL.items():
        value = spec.dump(getattr(config, name))
        out[name] = HIDDEN if spec.secret and hide_secrets else _plain(value)
    for section, (_cls, keys) in _SCHEMA.items():
        obj = getattr(config, section)
        table = {}
        for key, spec in keys.items():
            value = spec.dump(getattr(obj, key))
            table[key] = HIDDEN if spec.secret and hide_secrets else _plain(value)
        out[section] = table
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return list(value)
    return value


_HEX_KEYS = {"plate.mux_address", "imu.address"}


def to_toml(values: Mapping[str, Any], keys_in_file: frozenset[str] | None = None) -> str:
    """Render :func:`effective_values` as TOML; when ``keys_in_file`` is given, keys not in it
    are marked ``# default``."""
    mark = keys_in_file is not None
    keys_in_file = keys_in_file or frozenset()

    def line(dotted: str, key: str, value: Any) -> str:
        if dotted in _HEX_KEYS and _is_int(value):
            text = f"0x{value:02X}"
        else:
            text = format_value(value)
        suffix = "  # default" if mark and dotted not in keys_in_file else ""
        return f"{key} = {text}{suffix}"

    lines = [line(k, k, v) for k, v in values.items() if not isinstance(v, Mapping)]
    for section, table in values.items():
        if isinstance(table, Mapping):
            lines.append("")
            lines.append(f"[{section}]")
            lines.extend(line(f"{section}.{k}", k, v) for k, v in table.items())
    return "\n".join(lines) + "\n"
