"""The order in which ``make test``'s pytest-xdist workers take the test files (tests/conftest.py's
``pytest_collection_modifyitems``; under ``--dist loadfile --no-loadscope-reorder`` each file goes to one
worker, in collection order), and which files go to one worker together (:func:`work_unit`, tests/conftest.py's
``pytest_xdist_make_scheduler``). A module of its own name, not conftest's, so that a test can import it
(tests/test_test_files_together.py)."""

from __future__ import annotations

import ast
from pathlib import Path

E2E = "tests/e2e/"

RECORDING_ROW = tuple(f"tests/e2e/{name}.py" for name in (
    "test_session_notice", "test_slow_card_live", "test_trial_saving_live", "test_live_open_test_words",
    "test_live_state_races", "test_stance_controls", "test_game", "test_los_browser", "test_live_held_tag_colour",
    "test_slow_card_opening_live", "test_session_ends_notice"))
"""The files whose tests record on one shared station (tests/e2e/conftest.py ``recording_station``; each used to start
a station of its own): one unit of work (:func:`work_unit`, tests/conftest.py's ``pytest_xdist_make_scheduler``), so
that one worker runs them one after another on one station. tests/conftest.py hands it out third, beside
test_dashboard's browsers and test_timing's simulated clock: its wall time, 6 min (alone, -n 3, at load 5-10, s32),
ends well before the run's (18-19 min); the other workers take the rest meanwhile."""


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


def files_asking_for(root: Path, fixture: str, folder: str = E2E) -> frozenset[str]:
    """The files ``folder/test_*.py`` of the checkout ``root`` (paths from it, as in node ids) with a test function
    that asks for ``fixture`` by name (an argument of a ``test_`` function; read, not imported: the scheduler runs in
    pytest-xdist's controller, which collects nothing)."""
    found = set()
    for path in sorted((root / folder).glob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if any(isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
               and fixture in [a.arg for a in node.args.args] for node in ast.walk(tree)):
            found.add(path.relative_to(root).as_posix())
    return frozenset(found)


def rows(root: Path) -> dict[str, frozenset[str]]:
    """The rows of files that each go to one worker as one unit of work (:func:`work_unit`), by name: the files of
    RECORDING_ROW (tests/e2e/conftest.py ``recording_station``), and the files whose tests read pages on the shared
    station and browsers (``reading_pages``, 45 files in s33). Handed out file by file, the reading row went to all
    three workers at once (each started the station and two browsers, again after a test of another fixture:
    5 starts of ~10 s and ~9 station CPU-s each in a full run on 367e781, and three workers waiting on browsers
    together while the cores idled); as one unit it is one worker's, one start, ~250 s at load 5-10."""
    return {"tests/e2e: the recording_station row": frozenset(RECORDING_ROW),
            "tests/e2e: the reading_pages row": files_asking_for(root, "reading_pages")}


def work_unit(nodeid: str, rows: dict[str, frozenset[str]]) -> str:
    """The unit of work a test goes to a worker in (pytest-xdist's scope): its file (``--dist loadfile``), or the
    name of the row of ``rows`` (name: files) that holds its file, whose files then go to one worker together, one
    after another (their tests share one station, tests/e2e/conftest.py ``recording_station`` or ``reading_pages``:
    handed out file by file, a worker that finished a file took the next one of the row and started a station of its
    own for it).

    >>> rows = {"recording row": frozenset({"tests/e2e/test_r.py", "tests/e2e/test_s.py"}),
    ...         "reading row": frozenset({"tests/e2e/test_p.py"})}
    >>> [work_unit(n, rows) for n in ("tests/e2e/test_r.py::test_a", "tests/e2e/test_s.py::test_b[x]",
    ...                               "tests/e2e/test_p.py::test_e", "tests/e2e/test_x.py::test_c",
    ...                               "tests/a/test_1.py::T::test_d")]
    ['recording row', 'recording row', 'reading row', 'tests/e2e/test_x.py', 'tests/a/test_1.py']
    """
    path = nodeid.split("::", 1)[0]
    return next((name for name, files in rows.items() if path in files), path)


def make_scheduler(config, log):
    """pytest-xdist's ``--dist loadfile`` scheduling with each of :func:`rows` (found under ``config.rootpath``) one
    unit of work (:func:`work_unit`): tests/conftest.py's ``pytest_xdist_make_scheduler``."""
    from xdist.scheduler import LoadFileScheduling

    units = rows(Path(config.rootpath))

    class RowScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid, units)

    return RowScheduling(config, log)
