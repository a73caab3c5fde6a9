"""The build's one addition to pyproject.toml: the installed package says which commit it was built
from. Built from a git checkout (``pip install CHECKOUT``, as systemd/install.sh does), the version is
the release and the commit (``0.1.0+g1a2b3c4d5e``, ``.dirty`` with changes not committed), written into
the package as ``station/_build.py`` (an installed station has no ``.git``) and given to the
distribution. An sdist has no ``.git`` either: ``setup.py sdist`` (``python -m build``) writes the same
``station/_build.py`` into the sdist, and a build of that sdist (its wheel, ``pip install SDIST``) takes
the version from it. Built elsewhere (no ``.git``, no ``git``, no ``_build.py``), the release alone.
See station/version.py."""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

HERE = Path(__file__).resolve().parent


def _version_module():
    spec = importlib.util.spec_from_file_location("_station_version", HERE / "station" / "version.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _git(*args: str) -> str | None:
    # safe.directory: sudo install.sh builds a checkout another user owns, which git refuses by default
    try:
        done = subprocess.run(["git", "-c", f"safe.directory={HERE}", "-C", str(HERE), *args],
                              capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


BUILD_MODULE = Path("station") / "_build.py"


def _sdist_version() -> str | None:
    """The version an sdist's ``station/_build.py`` says (written by :class:`SdistWithVersion`)."""
    path = HERE / BUILD_MODULE
    if not path.is_file():
        return None
    spec = importlib.util.spec_from_file_location("_station_build", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, "VERSION", None)


def built_version() -> str:
    version = _version_module()
    if not (HERE / ".git").exists():
        return _sdist_version() or version.RELEASE
    commit = _git("rev-parse", "HEAD") or version.checkout_commit(HERE)
    changes = _git("status", "--porcelain", "--untracked-files=no")
    return version.compose(commit, dirty=bool(changes))


VERSION = built_version()


def write_build_module(root: Path) -> None:
    """``station/_build.py`` with :data:`VERSION` under ``root`` (a new file: an sdist's tree holds
    hard links to the checkout's files, which must not change)."""
    target = root / BUILD_MODULE
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    target.write_text('"""Written by setup.py when the package was built: see station/version.py."""\n\n'
                      f"VERSION = {VERSION!r}\n")


class BuildPyWithVersion(build_py):
    """build_py, then ``station/_build.py`` with :data:`VERSION` in the built package."""

    def run(self) -> None:
        super().run()
        write_build_module(Path(self.build_lib))


class SdistWithVersion(sdist):
    """sdist, with ``station/_build.py`` in the sdist: the sdist has no ``.git`` to read the commit from
    when its wheel is built."""

    def make_release_tree(self, base_dir, files) -> None:
        super().make_release_tree(base_dir, files)
        write_build_module(Path(base_dir))


setup(version=VERSION, cmdclass={"build_py": BuildPyWithVersion, "sdist": SdistWithVersion})
