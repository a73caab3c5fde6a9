"""The firmware's modules (firmware/rp2040) are MicroPython files, not a package: put their
directory on the path so the host tests import them as the board does (``import hxproto``;
the tests import only hxproto and hx_pio, never config or main)."""

from __future__ import annotations

import sys
from pathlib import Path

FIRMWARE = Path(__file__).resolve().parents[2] / "firmware" / "rp2040"
HERE = Path(__file__).resolve().parent
for path in (FIRMWARE, HERE):
    if str(path) not in sys.path:
        # Appended, not prepended: the firmware's config.py and main.py must never shadow a
        # module of the same name that anything else in the session imports.
        sys.path.append(str(path))
