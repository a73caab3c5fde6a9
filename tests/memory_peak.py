"""The peak of Python's traced memory while a reader runs, for the readers' memory bounds."""

from __future__ import annotations

import tracemalloc


def traced_peak(function, *args, **kwargs):
    """``(result, peak)``: what ``function(*args, **kwargs)`` returns, and the peak of the memory
    traced by :mod:`tracemalloc` while it ran (bytes; numpy's arrays included)."""
    tracemalloc.start()
    try:
        result = function(*args, **kwargs)
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
