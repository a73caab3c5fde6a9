"""Any test files run together in one pytest call (s26 P4, item 4). Every test folder has a conftest.py and
pytest imports each of them as the module ``conftest``, so a test that did ``from conftest import set_size``
got whichever folder's conftest was loaded last: ``pytest tests/e2e/test_programme_visit_marks.py
tests/programmes/test_api.py`` failed at collection ("cannot import name 'set_size' from 'conftest'
(tests/programmes/conftest.py)"). What test files share is imported from a helper module of a name of its own
(tests/e2e/e2e_support.py, tests/web/web_support.py, ...), never from ``conftest``."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _imports_conftest(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[-1] == "conftest":
            return True
        if isinstance(node, ast.Import) and any(a.name.split(".")[-1] == "conftest" for a in node.names):
            return True
    return False


def test_no_test_file_imports_a_conftest():
    found = sorted(str(p.relative_to(TESTS)) for p in TESTS.rglob("*.py") if _imports_conftest(p))
    assert found == [], f"import what these share from a helper module of its own name, not conftest: {found}"


def test_helper_modules_have_names_of_their_own():
    """Two test folders' modules of one name would shadow each other the same way once both folders are on
    sys.path (each test file's folder is put there as it is collected)."""
    names: dict[str, list[str]] = {}
    for path in TESTS.rglob("*.py"):
        if path.name not in ("conftest.py", "__init__.py"):
            names.setdefault(path.name, []).append(str(path.relative_to(TESTS)))
    assert {n: p for n, p in names.items() if len(p) > 1} == {}


def test_an_e2e_file_and_every_other_folders_file_collect_in_one_call():
    """An e2e file first (its conftest loaded first), then a file of every other folder with a conftest: each
    of those conftests is loaded after the e2e one, as when a programmes test was named after an e2e test."""
    folders = sorted(p.parent for p in TESTS.glob("*/conftest.py") if p.parent.name != "e2e")
    files = [TESTS / "e2e" / "test_programme_visit_marks.py", TESTS / "e2e" / "test_report_downloads.py"]
    files += [min(f.glob("test_*.py")) for f in folders]
    done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                           *map(str, files)], cwd=TESTS.parent, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    collected = {line.split("::")[0] for line in done.stdout.splitlines() if "::" in line}
    assert collected == {str(f.relative_to(TESTS.parent)) for f in files}
