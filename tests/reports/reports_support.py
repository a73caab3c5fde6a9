"""Helpers of the report tests: the benchmark's clinic (a patient with 50 sessions and a
programme), and poppler-utils (``pdftotext``, ``pdftoppm``, ``pdfinfo``, ``pdfimages``) to read
back what a PDF shows: its text, its words' boxes, its pages as images."""

from __future__ import annotations

import html
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from station.store.audit import Actor

REPO = Path(__file__).resolve().parents[2]
ACTOR = Actor(3, "ana", "127.0.0.1")
"""The clinician who makes the reports in these tests."""
LONG_IDENTIFIER = "LONG-IDENTIFIER-0123456789-ABCDE"
"""The longest identifier a patient may have (32 characters)."""
assert len(LONG_IDENTIFIER) == 32
POPPLER = ("pdftotext", "pdftoppm", "pdfinfo", "pdfimages")


def load_test_module(name: str, relative: str):
    """A module of the repository by its path (``relative`` to tests/, or ``../benchmarks/...``),
    loaded once under ``name`` (those folders are not packages)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, (REPO / "tests" / relative).resolve())
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def report_timing():
    """benchmarks/report_timing.py (its :func:`build_patient` is the tests' clinic)."""
    return load_test_module("report_timing", "../benchmarks/report_timing.py")


def poppler_or_skip() -> None:
    missing = [tool for tool in POPPLER if shutil.which(tool) is None]
    if not missing:
        return
    message = f"{', '.join(missing)} not installed (Debian package poppler-utils)"
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        pytest.fail(message + ": run tests/bootstrap.sh, which installs it")
    pytest.skip(message + ", and it cannot be installed here (needs root and apt-get)")


def _run(args: list[str], data: bytes | None = None) -> bytes:
    return subprocess.run(args, input=data, capture_output=True, check=True, timeout=120).stdout


def pdf_text(pdf: bytes) -> str:
    """The text of a PDF as pdftotext reads it (reading order), whitespace collapsed."""
    return " ".join(_run(["pdftotext", "-enc", "UTF-8", "-", "-"], pdf).decode("utf-8").split())


def pdf_info(pdf: bytes) -> dict:
    out = _run(["pdfinfo", "-"], pdf).decode("utf-8", "replace")
    info = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    return {k.strip(): v.strip() for k, v in info.items()}


def page_count(pdf: bytes) -> int:
    return int(pdf_info(pdf)["Pages"])


def word_boxes(pdf: bytes) -> list[tuple[float, float, list[tuple[str, float, float, float, float]]]]:
    """Per page: its width, height (points) and words with their boxes (xMin, yMin, xMax, yMax)."""
    out = _run(["pdftotext", "-bbox", "-enc", "UTF-8", "-", "-"], pdf).decode("utf-8")
    pages = []
    for page in re.finditer(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', out, re.S):
        words = [(html.unescape(m.group(5)), float(m.group(1)), float(m.group(2)), float(m.group(3)), float(m.group(4)))
                 for m in re.finditer(r'<word xMin="([\d.-]+)" yMin="([\d.-]+)" xMax="([\d.-]+)" yMax="([\d.-]+)">(.*?)</word>',
                                      page.group(3))]
        pages.append((float(page.group(1)), float(page.group(2)), words))
    return pages


def layout_problems(pdf: bytes, margin_pt: float = 8.0) -> list[str]:
    """Words outside the page (less than ``margin_pt`` from an edge) and words that overlap other
    words (intersection over a fifth of the smaller box): what a cut or overprinted page shows."""
    problems = []
    for number, (width, height, words) in enumerate(word_boxes(pdf), start=1):
        if not words:
            problems.append(f"page {number}: no text")
            continue
        box = np.array([w[1:] for w in words])
        outside = (box[:, 0] < margin_pt) | (box[:, 1] < margin_pt) | (box[:, 2] > width - margin_pt) | \
                  (box[:, 3] > height - margin_pt)
        problems += [f"page {number}: {words[i][0]!r} outside the page at {words[i][1:]}" for i in np.flatnonzero(outside)]
        x0, y0, x1, y1 = (box[:, k] for k in range(4))
        iw = np.minimum(x1[:, None], x1[None, :]) - np.maximum(x0[:, None], x0[None, :])
        ih = np.minimum(y1[:, None], y1[None, :]) - np.maximum(y0[:, None], y0[None, :])
        inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
        area = (x1 - x0) * (y1 - y0)
        smaller = np.minimum(area[:, None], area[None, :])
        overlap = np.triu(inter > 0.2 * np.maximum(smaller, 1e-9), k=1)
        for i, j in zip(*np.nonzero(overlap)):
            problems.append(f"page {number}: {words[i][0]!r} overlaps {words[j][0]!r} at {words[i][1:]}")
    return problems


def render_pages(pdf: bytes, out_dir: Path, stem: str, dpi: int = 50) -> list[Path]:
    """Every page as a PNG (pdftoppm); returns the files in page order."""
    source = out_dir / f"{stem}.pdf"
    source.write_bytes(pdf)
    _run(["pdftoppm", "-r", str(dpi), "-png", str(source), str(out_dir / stem)])
    return sorted(out_dir.glob(f"{stem}-*.png"))


def ink_fraction(png: Path) -> float:
    """Share of dark pixels of a page image (via pdftoppm's own PNG; read with Pillow)."""
    from PIL import Image

    with Image.open(png) as image:
        grey = np.asarray(image.convert("L"), dtype=float)
    return float(np.mean(grey < 128))
