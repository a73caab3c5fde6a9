"""Load and validate the station's TOML configuration file into a :class:`StationConfig`.

One file configures the station: ``/etc/balance-station/station.toml`` when installed
(:data:`INSTALLED_PATH`), any file given with ``--config`` or ``$BALANCE_STATION_CONFIG``, and no
file at all in development (the dataclass defaults of :mod:`station.config`). The file is read with
:mod:`tomllib`; its sections mirror the dataclasses (``[plate]``, ``[imu]``, ``[acquisition]``,
``[panel]``, ``[web]``, ``[backup]``, and the top-level ``data_dir``); a key left out keeps its
default. The commented default file is ``systemd/station.toml``.

Every key is validated when the file is loaded, with the mechanism every hand-written file of the
station uses (:class:`station.tomlschema.Table`, here collecting its mistakes), and every problem
is reported, not only the first: each :class:`ConfigProblem` names the key, the value found, what
is allowed, and the file and line. :mod:`tomllib` keeps no positions, so lines are found by a
small scanner of the file's table headers and ``key =`` lines (:func:`station.tomlschema.key_lines`).
Checks that involve more than one key follow once every key has its value.

The file's keys and their checks are :mod:`station.config_keys`; showing the effective
configuration is :mod:`station.config_show`.

Relative paths in the file (``data_dir``, ``web.tls_cert``, ``web.tls_key``) are relative to the
directory of the file, not to the current directory, so a service and a shell agree on them.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from station.cli import UserError
from station.config import StationConfig
from station.config_keys import (  # noqa: F401  (re-exported: the file's keys and their checks)
    _HEX_KEYS,
    _SCHEMA,
    _TOP_LEVEL,
    _check_schema_covers_dataclasses,
    _cross_checks,
    _Invalid,
    _is_int,
    _Key,
    secret_keys,
)
from station.config_show import HIDDEN, effective_values, to_toml  # noqa: F401  (re-exported)
from station.tomlschema import INVALID, NO_VALUE, SchemaError, Table, format_value, key_lines  # noqa: F401
from station.tomlschema import NotARegularFile, read_regular_bytes
from station.tomlschema import line_of as _line_of

INSTALLED_PATH = Path("/etc/balance-station/station.toml")
"""Where the installer puts the configuration (read when no other file is named)."""
ENV_VAR = "BALANCE_STATION_CONFIG"
"""Environment variable naming the configuration file (used when ``--config`` is not given)."""



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

    @property
    def setting(self) -> str:
        """The setting the problem is about: ``section.key`` (or a top-level key), without list
        indices or the fields of a gate."""
        return ".".join(self.key.split("[")[0].split(".")[:2])

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
        data = read_regular_bytes(path)
    except NotARegularFile as exc:
        raise fail(f"this {exc}; give the path of the .toml file itself") from None
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
    found: list[SchemaError] = []  # every mistake, collected by the tables below
    keys_in_file: set[str] = set()

    def take(table: Table, name: str, spec: _Key, dotted: str, into: dict[str, Any]) -> None:
        if spec.read is not None:
            value = spec.read(table, name, _ABSENT)
        else:
            value = table.value(name, spec.parse, required=False, default=_ABSENT)
        if value is _ABSENT or value is INVALID:
            return  # not in the file, or wrong (recorded): the default stands
        keys_in_file.add(dotted)
        if spec.path and value is not None:
            value = Path(value)
            if not value.is_absolute():
                value = base_dir / value
        into[name] = value

    top = Table(str(path), "", raw, collect=found, lines=lines)
    top_values: dict[str, Any] = {}
    for name, spec in _TOP_LEVEL.items():
        take(top, name, spec, name, top_values)
    sections = {}
    for section, (cls, keys) in _SCHEMA.items():
        values: dict[str, Any] = {}
        table = top.sub(section)
        if table is not None:
            for name, spec in keys.items():
                take(table, name, spec, f"{section}.{name}", values)
            table.finish()
        sections[section] = cls(**values)
    top.finish()
    config = StationConfig(**top_values, **sections)

    problems = [_problem_of(error, path) for error in found]
    invalid_keys = {problem.setting for problem in problems}
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


_ABSENT = object()


def _problem_of(error: SchemaError, path: Path) -> ConfigProblem:
    """A mistake :class:`~station.tomlschema.Table` found, as the configuration reports it: the
    value, then what is allowed (the problem itself when it is not about the value: an unknown
    key)."""
    if error.about_value and error.allowed is not None:
        allowed = f"allowed: {error.allowed}"
    elif error.allowed is not None:
        allowed = f"{error.problem}; allowed: {error.allowed}"
    else:
        allowed = error.problem
    value = None if error.value is NO_VALUE else error.value
    return ConfigProblem(error.field or "", value, allowed, path, error.line)
