"""station.analysis does no I/O and imports nothing else of the project (DESIGN.md §2)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ANALYSIS = Path(__file__).resolve().parents[2] / "station" / "analysis"


def test_importing_the_analysis_loads_no_other_station_module():
    code = (
        "import sys, station.analysis.metrics, station.analysis.romberg, station.analysis.cop;"
        "print(sorted(m for m in sys.modules if m.startswith('station')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    loaded = eval(out)  # a printed list of module names
    assert [m for m in loaded if m != "station" and not m.startswith("station.analysis")] == []


def test_analysis_sources_do_no_io():
    forbidden_calls = {"open", "print", "input"}
    forbidden_modules = {"os", "io", "pathlib", "shutil", "subprocess", "socket", "json", "csv", "sqlite3"}
    for path in ANALYSIS.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in forbidden_calls, f"{path.name} calls {node.func.id}()"
            if isinstance(node, ast.Import):
                names = {a.name.split(".")[0] for a in node.names}
                assert not names & forbidden_modules, f"{path.name} imports {names & forbidden_modules}"
                assert "station" not in names, f"{path.name} imports the station package"
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                root = (node.module or "").split(".")[0]
                assert root not in forbidden_modules, f"{path.name} imports from {node.module}"
                assert root != "station", f"{path.name} imports from {node.module}"
