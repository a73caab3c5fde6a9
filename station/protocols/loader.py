"""Finding and loading protocol files: the built-ins (package data) and a clinic's own.

Built-in protocols are ``station/protocols/builtin/<name>.toml``, read through
:mod:`importlib.resources` so they work from an installed wheel. A clinic adds a protocol by
dropping ``<name>.toml`` into its protocols directory (by default ``<data_dir>/protocols``);
a clinic file may not reuse a built-in's name (copy it under a new name to change it).

Every problem is a :class:`~station.protocols.schema.ProtocolError` naming the file, the field and
what is allowed.
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from importlib import resources
from pathlib import Path

from station.protocols.schema import Protocol, ProtocolError, protocol_from_dict
from station.tomlschema import NotARegularFile, read_regular_bytes

BUILTIN_PACKAGE = "station.protocols"
BUILTIN_DIR = "builtin"


def load_protocol_text(text: str, source: str, expected_name: str | None = None) -> Protocol:
    """Parse and validate protocol TOML ``text``; ``source`` names it in error messages.

    ``expected_name``: the name the file's name promises (``<name>.toml``); a different
    ``protocol.name`` is refused.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProtocolError(source, None, f"not valid TOML: {exc}; fix the syntax (see station/protocols/builtin/ for examples)") from None
    protocol = protocol_from_dict(data, source)
    if expected_name is not None and protocol.name != expected_name:
        raise ProtocolError(source, "protocol.name",
                            f"{protocol.name!r} does not match the file name; allowed: {expected_name!r} "
                            f"(or rename the file to {protocol.name}.toml)")
    return protocol


def load_protocol_file(path: str | Path) -> Protocol:
    """Load and validate one protocol file (``<name>.toml``)."""
    path = Path(path)
    try:
        raw = read_regular_bytes(path)
    except FileNotFoundError:
        raise ProtocolError(str(path), None, "no such file") from None
    except IsADirectoryError:
        raise ProtocolError(str(path), None, "is a directory, not a protocol file") from None
    except NotARegularFile as exc:
        raise ProtocolError(str(path), None, f"{exc}; give the protocol's .toml file itself") from None
    except OSError as exc:
        raise ProtocolError(str(path), None, f"cannot read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProtocolError(str(path), None, f"not UTF-8 text (undecodable byte at offset {exc.start}); save it as UTF-8") from None
    return load_protocol_text(text, str(path), expected_name=path.stem)


@lru_cache(maxsize=1)
def _builtins() -> tuple[Protocol, ...]:
    root = resources.files(BUILTIN_PACKAGE) / BUILTIN_DIR
    found = []
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            stem = entry.name[: -len(".toml")]
            found.append(load_protocol_text(entry.read_text(encoding="utf-8"), f"builtin:{entry.name}", expected_name=stem))
    return tuple(found)


def builtin_protocols() -> dict[str, Protocol]:
    """The built-in protocols by name (validated once, then cached)."""
    return {p.name: p for p in _builtins()}


def load_protocols(directory: str | Path | None = None) -> dict[str, Protocol]:
    """Built-in protocols plus every ``*.toml`` in ``directory`` (if given and present), by name.

    Raises
    ------
    ProtocolError
        For the first file with a mistake, or a clinic file reusing a built-in's name.
    """
    protocols = builtin_protocols()
    if directory is None:
        return protocols
    directory = Path(directory)
    if not directory.exists():
        return protocols
    if not directory.is_dir():
        raise ProtocolError(str(directory), None, "is not a directory; give the folder that holds the clinic's protocol files")
    for path in sorted(directory.glob("*.toml")):
        protocol = load_protocol_file(path)
        if protocol.name in protocols:
            raise ProtocolError(str(path), "protocol.name",
                                f"{protocol.name!r} is already the name of {protocols[protocol.name].source}; "
                                "allowed: a name no other protocol uses")
        protocols[protocol.name] = protocol
    return protocols


def get_protocol(name: str, directory: str | Path | None = None) -> Protocol:
    """The protocol called ``name`` (built-in or in ``directory``)."""
    protocols = load_protocols(directory)
    try:
        return protocols[name]
    except KeyError:
        raise ProtocolError(name, None, f"no protocol of that name; allowed: {', '.join(sorted(protocols))}") from None
