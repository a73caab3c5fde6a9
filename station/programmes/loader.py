"""Finding and loading programme templates: the built-ins (package data) and a clinic's own.

Built-in templates are ``station/programmes/builtin/<name>.toml``. A clinic adds a template by
dropping ``<name>.toml`` into ``<protocols directory>/programmes/`` (by default
``<data_dir>/protocols/programmes``: beside its protocol files, in a folder of its own so the
protocol loader, which reads ``<protocols directory>/*.toml``, never mistakes one for a protocol).
A clinic file may not reuse a built-in's name. Templates are checked against the protocols the
station knows (built-in and the clinic's), since their assessments run those protocols.

Every problem is a :class:`~station.programmes.template.ProgrammeError` naming the file, the field
and what is allowed.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from station.programmes.template import ProgrammeError, ProgrammeTemplate, programme_from_dict
from station.protocols.schema import Protocol
from station.tomlschema import key_lines, parse_toml_text, read_toml_document

BUILTIN_PACKAGE = "station.programmes"
BUILTIN_DIR = "builtin"
CLINIC_SUBDIR = "programmes"


def clinic_programmes_dir(protocols_dir: str | Path) -> Path:
    """Where a clinic's templates live, given its protocols directory."""
    return Path(protocols_dir) / CLINIC_SUBDIR


def _checked_name(template: ProgrammeTemplate, source: str, expected: str) -> ProgrammeTemplate:
    if template.name != expected:
        raise ProgrammeError(source, "programme.name",
                             f"{template.name!r} does not match the file name; allowed: {expected!r} "
                             f"(or rename the file to {template.name}.toml)")
    return template


def load_programme_text(text: str, source: str, protocols: dict[str, Protocol],
                        expected_name: str | None = None) -> ProgrammeTemplate:
    """Parse and validate template TOML ``text`` (``source`` names it in messages)."""
    template = programme_from_dict(parse_toml_text(text, source, ProgrammeError), source, protocols,
                                   lines=key_lines(text))
    return template if expected_name is None else _checked_name(template, source, expected_name)


def load_programme_file(path: str | Path, protocols: dict[str, Protocol]) -> ProgrammeTemplate:
    """Load and validate one template file (``<name>.toml``)."""
    path = Path(path)
    data, lines = read_toml_document(path, ProgrammeError)
    return _checked_name(programme_from_dict(data, str(path), protocols, lines=lines), str(path), path.stem)


def builtin_programmes(protocols: dict[str, Protocol]) -> dict[str, ProgrammeTemplate]:
    """The built-in templates by name."""
    root = resources.files(BUILTIN_PACKAGE) / BUILTIN_DIR
    found: dict[str, ProgrammeTemplate] = {}
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            stem = entry.name[: -len(".toml")]
            found[stem] = load_programme_text(entry.read_text(encoding="utf-8"), f"builtin:{entry.name}",
                                              protocols, expected_name=stem)
    return found


def load_programmes(protocols: dict[str, Protocol], protocols_dir: str | Path | None = None) -> dict[str, ProgrammeTemplate]:
    """Built-in templates plus every ``*.toml`` of the clinic's programmes folder, by name.

    Raises
    ------
    ProgrammeError
        For the first file with a mistake, or a clinic file reusing a built-in's name.
    """
    templates = builtin_programmes(protocols)
    if protocols_dir is None:
        return templates
    directory = clinic_programmes_dir(protocols_dir)
    if not directory.exists():
        return templates
    if not directory.is_dir():
        raise ProgrammeError(str(directory), None, "is not a directory; it must be the folder of the clinic's programme files")
    for path in sorted(directory.glob("*.toml")):
        template = load_programme_file(path, protocols)
        if template.name in templates:
            raise ProgrammeError(str(path), "programme.name",
                                 f"{template.name!r} is already the name of {templates[template.name].source}; "
                                 "allowed: a name no other programme uses")
        templates[template.name] = template
    return templates
