"""The effective configuration as the TOML the file would hold (``balance-station config show``),
secrets hidden, each key marked when it is a default."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from station.config import StationConfig
from station.config_keys import _HEX_KEYS, _SCHEMA, _TOP_LEVEL, _is_int
from station.tomlschema import format_value

HIDDEN = "<hidden>"
"""What ``config show`` prints instead of a secret value."""

def effective_values(config: StationConfig, *, hide_secrets: bool = True) -> dict[str, Any]:
    """The configuration as the nested dict of TOML values the file would hold (secrets replaced
    by :data:`HIDDEN`; an empty one, which reveals nothing, shown as it is)."""
    out: dict[str, Any] = {}
    for name, spec in _TOP_LEVEL.items():
        value = spec.dump(getattr(config, name))
        out[name] = HIDDEN if spec.secret and hide_secrets else _plain(value)
    for section, (_cls, keys) in _SCHEMA.items():
        obj = getattr(config, section)
        table = {}
        for key, spec in keys.items():
            value = spec.dump(getattr(obj, key))
            table[key] = HIDDEN if spec.secret and hide_secrets and value not in ("", None) else _plain(value)
        out[section] = table
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return list(value)
    return value


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
