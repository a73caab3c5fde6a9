"""The order in which make test's workers take the test files (tests/handout_order.py, used by
tests/conftest.py): the hand list first in its order, every file whose tests share the reading_pages
station in one row after it, and the other browser files spread over the rest of the run, never two in
a row and none at its end (a row of browser files kept the three workers waiting at once while the two
cores idled, and the shared station was started again for almost every file)."""

from __future__ import annotations

import ast
import doctest
import importlib.util
from pathlib import Path
from types import SimpleNamespace

import handout_order as module
from handout_order import RECORDING_ROW, files_asking_for, handout_order

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent


def _suite_files() -> list[str]:
    return sorted(p.relative_to(REPO).as_posix() for p in TESTS.rglob("test_*.py"))


def _sharing(files: list[str]) -> frozenset[str]:
    """The e2e files with a test that asks for the shared station (what conftest finds by the fixture)."""
    return files_asking_for(REPO, "reading_pages") & frozenset(files)


def test_the_example():
    result = doctest.testmod(module)
    assert result.attempted >= 1 and result.failed == 0


def test_the_suites_files_each_once_in_the_hand_lists_order_then_the_shared_row_then_spread():
    files = _suite_files()
    sharing = _sharing(files)
    assert len(sharing) >= 10 and len([f for f in files if f.startswith("tests/e2e/")]) > len(sharing) + 5
    first = ("tests/e2e/test_dashboard.py", "tests/acquire/test_timing.py", sorted(sharing)[0])  # a hand list
    order = handout_order(files, first, sharing)
    assert sorted(order) == files  # each file once
    assert order[:3] == list(first)
    shared = [i for i, f in enumerate(order) if f in sharing]
    assert shared == list(range(2, 2 + len(sharing))), shared  # one row, after the hand list's own
    rest = order[2 + len(sharing):]
    browser = [i for i, f in enumerate(rest) if f.startswith("tests/e2e/")]
    assert browser and all(b - a > 1 for a, b in zip(browser, browser[1:])), browser  # never two in a row
    assert browser[-1] < 0.85 * len(rest), (browser[-1], len(rest))  # none at the end of the run
    others = [f for f in rest if not f.startswith("tests/e2e/")]
    assert others == [f for f in files if f not in first and not f.startswith("tests/e2e/")]  # collection order


def _suite_scheduler():
    """The scheduler ``make test``'s controller gets from tests/conftest.py's ``pytest_xdist_make_scheduler``
    (conftest loaded from its file under a name of its own; a configuration of ``-n 3 --dist loadfile``)."""
    spec = importlib.util.spec_from_file_location("suite_conftest", TESTS / "conftest.py")
    conftest = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conftest)
    config = SimpleNamespace(rootpath=REPO, getvalue={"dist": "loadfile", "tx": ["3*popen"]}.__getitem__)
    return conftest.pytest_xdist_make_scheduler(config, None)


def test_each_row_of_files_sharing_a_station_goes_to_one_worker_as_one_unit():
    """Handed out file by file, the reading_pages files went to all three workers at once, each starting the station
    and two browsers (5 starts in a full run on 367e781)."""
    scheduling = _suite_scheduler()
    reading = files_asking_for(REPO, "reading_pages")
    assert len(reading) >= 40, reading
    units = {f: scheduling._split_scope(f"{f}::test_a[x]") for f in sorted(reading)}
    assert len(set(units.values())) == 1, f"the reading_pages files went out as {len(set(units.values()))} units"
    recording = {scheduling._split_scope(f"{f}::test_b") for f in RECORDING_ROW}
    assert len(recording) == 1 and recording.isdisjoint(units.values()), recording
    other = "tests/e2e/test_dashboard.py"
    assert other not in reading and other not in RECORDING_ROW
    assert scheduling._split_scope(f"{other}::test_c") == other  # any other file is a unit of its own


def test_every_test_of_a_file_of_a_row_asks_for_its_shared_station():
    """A test without the fixture between two that share the station stops it (tests/e2e/conftest.py
    ``pytest_runtest_teardown``: its next test does not ask for it), and the next one starts it again (~10 s and a
    station's and two browsers' start); test_live_strip_lost_words.py had such a test until s33."""
    mixed = []
    for fixture in ("reading_pages", "recording_station"):
        for path in sorted(files_asking_for(REPO, fixture)):
            tests = [node for node in ast.parse((REPO / path).read_text()).body
                     if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")]
            mixed += [f"{path}::{t.name} (no {fixture})" for t in tests if fixture not in [a.arg for a in t.args.args]]
    assert not mixed, mixed
