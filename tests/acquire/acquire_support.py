"""What the frame ring's tests share (tests/acquire/test_ring.py, test_source_batches.py): :func:`ring_frame`, one
frame to write. The ``ring`` fixture built on :class:`station.acquire.ring.FrameRing` is in conftest.py (a helper
module of its own name: a conftest is never imported, tests/test_test_files_together.py)."""

from __future__ import annotations

from station.acquire.frame import empty_frames


def ring_frame(seq: int) -> tuple:
    """Frame ``seq`` as :meth:`FrameRing.write` takes it: ``t_ns`` 10 ms apart (100 Hz), ``ap_cm`` ``seq`` / 100 (a
    value to tell frames apart by), the rest zero."""
    row = empty_frames(1)[0]
    row["seq"] = seq
    row["t_ns"] = seq * 10_000_000
    row["ap_cm"] = seq / 100
    return row.item()
