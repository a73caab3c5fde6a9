"""What the PIO program pushes for one set of four values (for the host tests)."""

from __future__ import annotations


def encode(values, extra, extras_low=0):
    """What the PIO pushes for these values (MSB-first nibbles, autopush every 32 bits)."""
    nibbles = []
    for bit in range(23, -1, -1):
        nibbles.append(sum(((v >> bit) & 1) << c for c, v in enumerate(values)))
    words = []
    for w in range(3):
        word = 0
        for n in nibbles[8 * w:8 * w + 8]:
            word = (word << 4) | n
        words.append(word)
    last = 0
    for _ in range(extra):
        last = (last << 4) | (0xF & ~extras_low)
    words.append(last)
    return words
