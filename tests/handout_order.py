"""The order in which ``make test``'s pytest-xdist workers take the test files (tests/conftest.py's
``pytest_collection_modifyitems``; under ``--dist loadfile --no-loadscope-reorder`` each file goes to one
worker, in collection order). A module of its own name, not conftest's, so that a test can import it
(tests/test_test_files_together.py)."""

from __future__ import annotations

E2E = "tests/e2e/"


def handout_order(paths: list[str], first: tuple[str, ...], sharing: frozenset[str] = frozenset()) -> list[str]:
    """The files ``paths`` (in collection order) in the order the workers take them: those of ``first``
    in its order; then the other ``sharing`` files (their tests share one station and browsers,
    tests/e2e/conftest.py ``reading_pages``), in a row with ``first``'s own, which ends with them; then
    the rest in collection order, its browser files (tests/e2e/) spread evenly over its first four
    fifths, so that the workers do not take a row of browser files at once while the cores idle, and
    none starts at the very end.

    >>> handout_order(["tests/a/test_1.py", "tests/a/test_2.py", "tests/e2e/test_x.py", "tests/e2e/test_y.py",
    ...                "tests/e2e/test_r.py", "tests/b/test_3.py", "tests/b/test_4.py", "tests/e2e/test_dashboard.py"],
    ...               ("tests/e2e/test_dashboard.py",), sharing=frozenset({"tests/e2e/test_r.py"}))
    ... # doctest: +NORMALIZE_WHITESPACE
    ['tests/e2e/test_dashboard.py', 'tests/e2e/test_r.py', 'tests/e2e/test_x.py', 'tests/a/test_1.py',
     'tests/a/test_2.py', 'tests/e2e/test_y.py', 'tests/b/test_3.py', 'tests/b/test_4.py']
    """
    rank = {path: i for i, path in enumerate(first)}
    listed = sorted((p for p in paths if p in rank), key=rank.__getitem__)
    rest = [p for p in paths if p not in rank]
    shared = [p for p in rest if p in sharing]
    browser = [p for p in rest if p not in sharing and p.startswith(E2E)]
    others = [p for p in rest if p not in sharing and not p.startswith(E2E)]
    step = 0.8 * len(others) / len(browser) if browser else 0.0
    spread = sorted([(i * step, 0, p) for i, p in enumerate(browser)] + [(float(i), 1, p) for i, p in enumerate(others)])
    return listed + shared + [p for _, _, p in spread]
