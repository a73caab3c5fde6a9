"""The order in which make test's workers take the test files (tests/handout_order.py, used by
tests/conftest.py): the hand list first in its order, every file whose tests share the reading_pages
station in one row after it, and the other browser files spread over the rest of the run, never two in
a row and none at its end (a row of browser files kept the three workers waiting at once while the two
cores idled, and the shared station was started again for almost every file)."""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import handout_order as module
from handout_order import handout_order

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent


def _suite_files() -> list[str]:
    return sorted(p.relative_to(REPO).as_posix() for p in TESTS.rglob("test_*.py"))


def _sharing(files: list[str]) -> frozenset[str]:
    """The e2e files with a test that asks for the shared station (what conftest finds by the fixture)."""
    asks = re.compile(r"def test_\w+\([^)]*\breading_pages\b")
    return frozenset(f for f in files if f.startswith("tests/e2e/") and asks.search((REPO / f).read_text()))


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
