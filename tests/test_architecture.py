"""Every arrow of DESIGN.md §2, checked on the source: who may import whom.

Imports are read from the syntax tree of every module (also those inside functions: a lazy
import is an import), relative ones resolved. A rule names the packages a part may not import;
a failure lists each offending module and line.

The arrows (DESIGN.md §2 "The house"):

* ``station.analysis`` is pure numpy: it imports nothing else of the project and does no I/O;
* nothing in ``station`` imports ``web`` but the commands that serve it (``run``, ``hub``);
* nothing outside ``station.sim`` imports it but the composition roots (``station.commands``,
  ``station.bench``), which hand the acquisition the hardware it runs on;
* drivers (``station.hw``) receive their bus and clock as arguments: they import neither the
  acquisition, the simulation, the protocols, the store, nor anything above them;
* the composition roots are the top: nothing imports ``station.commands`` but the command line
  (``station.cli``) and the commands themselves, nothing imports ``station.bench`` but the
  ``bench`` command;
* the lower parts do not reach up: ``station.acquire`` does not import the protocols, the web
  dashboard, the commands or the benches; ``station.store`` does not import the protocols,
  the commands or the benches; the simulation does not import the commands or the benches.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROJECT = ("station", "web")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources() -> dict[str, Path]:
    found = {}
    for top in PROJECT:
        for path in sorted((ROOT / top).rglob("*.py")):
            found[_module_name(path)] = path
    return found


SOURCES = _sources()


def _imports(module: str, path: Path) -> list[tuple[str, int]]:
    """(imported module, line) for every import in ``path``, relative ones resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append((target, node.lineno))
            for alias in node.names:  # "from station import sim" imports station.sim
                found.append((f"{target}.{alias.name}", node.lineno))
    return found


IMPORTS = {module: _imports(module, path) for module, path in SOURCES.items()}


def _in(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _violations(importers, forbidden, allowed_importers=(), own=(), imports_by_module=None) -> list[str]:
    """Imports by modules in ``importers`` (but not ``allowed_importers``) of anything in
    ``forbidden`` other than ``own`` (the importer's own package)."""
    bad = []
    for module, imports in (imports_by_module or IMPORTS).items():
        if not any(_in(module, p) for p in importers) or any(_in(module, a) for a in allowed_importers):
            continue
        for target, line in imports:
            if any(_in(target, f) for f in forbidden) and not any(_in(target, o) for o in own):
                bad.append(f"{module}:{line} imports {target}")
    return sorted(set(bad))


def test_the_sources_are_found():
    assert "station.acquire.loop" in SOURCES and "web" in SOURCES and "station.sim.bus" in SOURCES


def test_analysis_imports_nothing_else_of_the_project():
    assert _violations(["station.analysis"], ["station", "web"], own=["station.analysis"]) == []


def test_analysis_does_no_io():
    forbidden_calls = {"open", "print", "input", "exec", "eval"}
    forbidden_modules = {"os", "io", "pathlib", "shutil", "subprocess", "socket", "json", "csv", "sqlite3",
                         "logging", "tempfile", "urllib", "http", "requests", "pickle", "sys"}
    bad = []
    for module, path in SOURCES.items():
        if not _in(module, "station.analysis"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in forbidden_calls:
                bad.append(f"{path.name}:{node.lineno} calls {node.func.id}()")
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in (
                    "savetxt", "loadtxt", "save", "load", "fromfile", "tofile", "genfromtxt"):
                bad.append(f"{path.name}:{node.lineno} calls .{node.func.attr}()")
        for target, line in IMPORTS[module]:
            if target.split(".")[0] in forbidden_modules:
                bad.append(f"{path.name}:{line} imports {target}")
    assert bad == []


def test_station_never_imports_web_except_the_commands_that_serve_it():
    assert _violations(["station"], ["web"], allowed_importers=["station.commands.run", "station.commands.hub"]) == []


def test_nothing_outside_the_simulation_imports_it_except_the_composition_roots():
    assert _violations(["station", "web"], ["station.sim"],
                       allowed_importers=["station.sim", "station.commands", "station.bench"]) == []


@pytest.mark.parametrize("above", ["station.acquire", "station.sim", "station.protocols", "station.store",
                                   "station.commands", "station.bench", "station.programmes", "station.reports",
                                   "station.sync", "web"])
def test_drivers_receive_bus_and_clock_and_import_nothing_above_them(above):
    assert _violations(["station.hw"], [above]) == []


def test_only_the_command_line_imports_the_commands():
    assert _violations(["station", "web"], ["station.commands"], allowed_importers=["station.cli", "station.commands"]) == []


def test_only_the_bench_command_imports_the_benches():
    assert _violations(["station", "web"], ["station.bench"],
                       allowed_importers=["station.commands.bench", "station.bench"]) == []


@pytest.mark.parametrize(("lower", "above"), [
    ("station.acquire", "station.protocols"),
    ("station.acquire", "web"),
    ("station.acquire", "station.commands"),
    ("station.acquire", "station.bench"),
    ("station.store", "station.protocols"),
    ("station.store", "station.commands"),
    ("station.store", "station.bench"),
    ("station.store", "web"),
    ("station.sim", "station.commands"),
    ("station.sim", "station.bench"),
    ("station.sim", "web"),
    ("station.protocols", "station.commands"),
    ("station.protocols", "station.bench"),
    ("station.protocols", "web"),
])
def test_lower_parts_do_not_reach_up(lower, above):
    assert _violations([lower], [above]) == []


def test_the_checker_sees_a_violation(tmp_path):
    """The rules can fail: a module that imports the simulation lazily is caught."""
    path = tmp_path / "station" / "acquire" / "bad.py"
    path.parent.mkdir(parents=True)
    path.write_text("def f():\n    from ..sim.clock import SimulatedClock\n    return SimulatedClock\n")
    imports = _imports("station.acquire.bad", path)
    assert ("station.sim.clock", 2) in imports
    found = _violations(["station"], ["station.sim"], allowed_importers=["station.commands"],
                        imports_by_module={"station.acquire.bad": imports})
    assert found == ["station.acquire.bad:2 imports station.sim.clock",
                     "station.acquire.bad:2 imports station.sim.clock.SimulatedClock"]
