"""The version says which software measured a trial: the release and the commit it was built from
(``0.1.0+g1a2b3c4d5e``), in ``--version``, every report's footer and every stored trial's
``station_version``. An installed station has no ``.git``: pip's build of a checkout (as
systemd/install.sh runs it) writes the version into the package (``station/_build.py``); a development
checkout reads its ``.git`` files. Found by a review: ``0.1.0`` across 1,141 commits."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from station.version import RELEASE, checkout_commit, compose

REPO = Path(__file__).resolve().parents[2]


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "-C", str(cwd), *args],
                          check=True, capture_output=True, text=True).stdout.strip()


def new_repo(path: Path) -> Path:
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    (path / "a.txt").write_text("a\n")
    git(path, "add", "a.txt")
    git(path, "commit", "-qm", "first")
    return path


def test_the_commit_is_read_from_a_checkouts_files_without_git(tmp_path):
    repo = new_repo(tmp_path / "repo")
    assert checkout_commit(repo) == git(repo, "rev-parse", "HEAD")
    (repo / "a.txt").write_text("b\n")
    git(repo, "commit", "-qam", "second")
    git(repo, "pack-refs", "--all")  # the branch's ref only in packed-refs
    assert not (repo / ".git/refs/heads/main").exists()
    assert checkout_commit(repo) == git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "-q", "--detach", "HEAD~1")
    assert checkout_commit(repo) == git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "-q", "main")
    git(repo, "worktree", "add", "-q", "-b", "other", str(tmp_path / "tree"), "HEAD~1")  # a .git file
    assert checkout_commit(tmp_path / "tree") == git(tmp_path / "tree", "rev-parse", "HEAD")
    assert checkout_commit(tmp_path / "none") is None and checkout_commit(tmp_path) is None


def test_a_development_checkout_says_its_commit(tmp_path):
    """Read in a clone of its own at one commit: the shared checkout's HEAD can move (a commit landing)
    between the test's reads, so its commit is never read from the shared checkout twice."""
    if not (REPO / ".git").exists():
        pytest.skip("not run from a git checkout")
    clone = tmp_path / "checkout"
    git(tmp_path, "clone", "-q", "--shared", "--no-checkout", str(REPO), str(clone))
    git(clone, "sparse-checkout", "set", "--no-cone", "/station/")  # the package alone: what `import station` reads
    git(clone, "checkout", "-q", "--detach", git(REPO, "rev-parse", "HEAD"))
    head = git(clone, "rev-parse", "HEAD")
    assert compose(head) == f"{RELEASE}+g{head[:10]}"
    read = subprocess.run([sys.executable, "-c", "import station; print(station.__file__); print(station.__version__)"],
                          capture_output=True, text=True, cwd=clone)
    assert read.stdout.split() == [str(clone / "station" / "__init__.py"), compose(head)], read.stderr
    done = subprocess.run([sys.executable, "-m", "station.cli", "--version"], capture_output=True, text=True, cwd=clone)
    assert done.stdout.strip() == f"balance-station {compose(head)}", done.stderr


def _checkout_copy(path: Path) -> Path:
    """The files pip builds the package from, in a checkout of their own."""
    path.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md", "LICENSE"):
        shutil.copy2(REPO / name, path / name)
    for name in ("station", "web"):
        shutil.copytree(REPO / name, path / name, ignore=shutil.ignore_patterns("__pycache__", "_build.py"))
    return path


def _built_version(source: Path, out: Path) -> tuple[str, str]:
    """pip's build of ``source`` (as install.sh's ``pip install SRC``): the wheel's version and the
    version its ``station/_build.py`` says."""
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--disable-pip-version-check",
                           "-w", str(out), str(source)], capture_output=True, text=True, timeout=600)
    if done.returncode != 0 and "setuptools" in done.stderr and "distribution" in done.stderr:
        pytest.skip(f"pip cannot fetch the build's setuptools here: {done.stderr.strip().splitlines()[-1]}")
    assert done.returncode == 0, done.stderr
    (wheel,) = out.glob("*.whl")
    with zipfile.ZipFile(wheel) as z:
        built = re.search(r"VERSION = '([^']+)'", z.read("station/_build.py").decode()).group(1)
    wheel.unlink()
    return wheel.name.split("-")[1], built


def test_pips_build_of_a_checkout_writes_the_commit_into_the_package(tmp_path):
    source = _checkout_copy(tmp_path / "src")
    git(source, "init", "-q")
    git(source, "add", "-A")
    git(source, "commit", "-qm", "release")
    head = git(source, "rev-parse", "HEAD")
    assert _built_version(source, tmp_path / "w") == (f"{RELEASE}+g{head[:10]}",) * 2
    with (source / "station" / "version.py").open("a") as f:  # a change not committed
        f.write("\n")
    assert _built_version(source, tmp_path / "w") == (f"{RELEASE}+g{head[:10]}.dirty",) * 2
    shutil.rmtree(source / ".git")  # a copy without .git: the release alone
    assert _built_version(source, tmp_path / "w") == (RELEASE, RELEASE)


def _sdist(source: Path, out: Path) -> Path:
    """The sdist of ``source``, as ``python -m build`` makes it (setuptools' PEP 517 ``build_sdist``, with
    the setuptools pyproject.toml requires, installed apart from the test's environment)."""
    tools = out.parent / "build-tools"
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                           "--target", str(tools), "setuptools>=77"], capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        pytest.skip(f"pip cannot fetch the build's setuptools here: {done.stderr.strip().splitlines()[-1]}")
    done = subprocess.run([sys.executable, "-S", "-c", "import sys; from setuptools import build_meta; "
                           "print(build_meta.build_sdist(sys.argv[1]))", str(out)],
                          cwd=source, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tools)},
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return out / done.stdout.strip().splitlines()[-1]


def test_an_sdist_carries_the_commit_to_its_wheel_and_its_install(tmp_path):
    """An sdist has no ``.git``: its build step cannot ask git, so the sdist carries ``station/_build.py``
    (written at sdist time), and its wheel and ``pip install SDIST`` say the commit, not the release alone."""
    source = _checkout_copy(tmp_path / "src")
    git(source, "init", "-q")
    git(source, "add", "-A")
    git(source, "commit", "-qm", "release")
    expected = f"{RELEASE}+g{git(source, 'rev-parse', 'HEAD')[:10]}"
    sdist = _sdist(source, tmp_path / "sdist")
    assert sdist.name == f"balance_station-{expected}.tar.gz"
    assert not (source / "station" / "_build.py").exists()  # the checkout itself keeps reading .git
    assert _built_version(sdist, tmp_path / "w") == (expected, expected)
    target = tmp_path / "installed"
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--disable-pip-version-check",
                           "--target", str(target), str(sdist)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    said = subprocess.run([sys.executable, "-c", "import station; print(station.__file__, station.__version__)"],
                          cwd=tmp_path, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(target)},
                          capture_output=True, text=True, timeout=60)
    assert said.returncode == 0, said.stderr
    where, version = said.stdout.split()
    assert Path(where).is_relative_to(target) and version == expected
