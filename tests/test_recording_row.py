"""The files whose tests share the recording station (tests/e2e/conftest.py ``recording_station``) are the files of
handout_order.RECORDING_ROW, which tests/conftest.py hands out to one worker as one unit: a file that asks for the
station but is not in the row would start one of its own wherever it ran (and one not using it would hold the row's
worker for nothing)."""

from __future__ import annotations

import ast
from pathlib import Path

from handout_order import RECORDING_ROW

TESTS = Path(__file__).resolve().parent


def _asks_for(path: Path, fixture: str) -> bool:
    return any(isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
               and fixture in [a.arg for a in node.args.args] for node in ast.walk(ast.parse(path.read_text())))


def test_the_recording_row_is_the_files_that_share_the_recording_station():
    users = {f"tests/e2e/{p.name}" for p in (TESTS / "e2e").glob("test_*.py") if _asks_for(p, "recording_station")}
    assert users == set(RECORDING_ROW) and len(RECORDING_ROW) == len(users)
