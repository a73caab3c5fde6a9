"""Seeded white noise for the chip models, generated in vectorised chunks.

Sample ``n`` of a stream is always the same number for the same seed, whatever order and however
sparsely the samples are asked for (as long as indices never go backwards), so a model can index
noise by conversion number and skip conversions nobody reads without changing the others.
"""

from __future__ import annotations

import numpy as np

CHUNK = 4096


class WhiteNoise:
    """Standard-normal samples of ``width`` values each, indexed from 0.

    Parameters
    ----------
    rng : numpy.random.Generator
        Seeded generator owned by this stream.
    width : int
        Values per sample (3 for an accelerometer's axes).
    """

    def __init__(self, rng: np.random.Generator, width: int = 1) -> None:
        self._rng = rng
        self.width = int(width)
        self._start = 0
        self._chunk = rng.standard_normal((CHUNK, self.width))

    def _seek(self, index: int) -> None:
        if index < self._start:
            raise ValueError(f"noise index {index} is behind the stream ({self._start}): indices must not go back")
        while index >= self._start + CHUNK:
            self._chunk = self._rng.standard_normal((CHUNK, self.width))
            self._start += CHUNK

    def at(self, index: int) -> np.ndarray:
        """Sample ``index`` (a row of ``width`` values)."""
        self._seek(index)
        return self._chunk[index - self._start]

    def scalar(self, index: int) -> float:
        """First value of sample ``index`` (for ``width`` 1 streams)."""
        self._seek(index)
        return float(self._chunk[index - self._start, 0])

    def block(self, first: int, count: int) -> np.ndarray:
        """Samples ``first .. first + count - 1`` as a ``(count, width)`` array."""
        if count <= 0:
            return np.empty((0, self.width))
        self._seek(first)
        out = np.empty((count, self.width))
        filled = 0
        while filled < count:
            self._seek(first + filled)
            offset = first + filled - self._start
            take = min(CHUNK - offset, count - filled)
            out[filled : filled + take] = self._chunk[offset : offset + take]
            filled += take
        return out
