"""The RP2040 load-cell front end's register map, version 1, as the Pi reads it.

The firmware (``firmware/rp2040/hxproto.py``, MicroPython) writes these bytes; this module reads
them. Both follow ``firmware/rp2040/README.md``; ``tests/firmware`` checks that what the
firmware's own code packs is what this module parses, byte for byte.

Registers have 16-bit addresses, sent most significant byte first; values are little-endian.
Every block carries a CRC-16/CCITT-FALSE of the bytes before it, so a corrupted transfer is
recognised and never taken for data.
"""

from __future__ import annotations

import binascii
import struct
from dataclasses import dataclass
from typing import NamedTuple

WHO_AM_I = 0xB5
MAP_VERSION = 1
DEFAULT_ADDRESS = 0x42

REG_IDENTITY = 0x0000
IDENTITY_SIZE = 16
REG_STATUS = 0x0010
STATUS_SIZE = 32
REG_COMMAND = 0x0030
REG_ACK = 0x0034
REG_RING = 0x0100
RECORD_SIZE = 26

IDENTITY_FMT = "<BBBBBBHBBHBB"
STATUS_FMT = "<IIIIHHHBBBBHH"
RECORD_FMT = "<II4i"
STATUS_STRUCT = struct.Struct(STATUS_FMT + "H")
"""The whole status block, its CRC (u16) last."""
RECORD_STRUCT = struct.Struct(RECORD_FMT + "H")
"""One whole record, its CRC (u16) last: ``(seq, t_us, v0, v1, v2, v3, crc)``."""

CMD_START = 1
CMD_STOP = 2
CMD_CLEAR_COUNTERS = 3

STATE_STOPPED = 0
STATE_STARTING = 1
STATE_RUNNING = 2
STATE_NO_CHIP = 3
STATE_NAMES = {STATE_STOPPED: "stopped", STATE_STARTING: "starting", STATE_RUNNING: "running",
               STATE_NO_CHIP: "no chip ready"}

CHIP_NAMES = {0: "HX711", 1: "HX717"}
RATES_SPS = {"HX711": (10, 80), "HX717": (10, 20, 80, 320)}
GAIN_PULSES = {128: 1, 64: 3}

ERR_BASE = 0x40000000
ERR_NOT_READY = ERR_BASE | 1
ERR_DESYNC = ERR_BASE | 2
LAST_ERRORS = {0: None, 1: "a chip not ready", 2: "desync", 3: "no chip ready"}

FULL_SCALE_COUNTS = (1 << 23) - 1
MIN_COUNTS = -(1 << 23)


def crc16(data: bytes | bytearray | memoryview) -> int:
    """CRC-16/CCITT-FALSE of ``data`` (check value of ``b"123456789"``: 0x29B1): the CCITT
    polynomial 0x1021, not reflected, from 0xFFFF, which is :func:`binascii.crc_hqx` started at
    0xFFFF (in C; the firmware has no ``crc_hqx`` and uses a table).

    Examples
    --------
    >>> hex(crc16(b"123456789"))
    '0x29b1'
    """
    return binascii.crc_hqx(data, 0xFFFF)


def crc_ok(block: bytes) -> bool:
    """Whether the last two bytes of ``block`` are the CRC (little-endian) of the rest."""
    return len(block) >= 2 and crc16(block[:-2]) == int.from_bytes(block[-2:], "little")


@dataclass(frozen=True)
class Identity:
    """The identity block (register 0x0000)."""

    who_am_i: int
    map_version: int
    firmware: str
    chip: str
    chips: int
    rate_sps: int
    gain: int
    gain_pulses: int
    ring_slots: int
    record_size: int


class Status(NamedTuple):
    """The status block (register 0x0010): the front end's clock (µs, low 32 bits), the next
    sequence number it will give, what the Pi acknowledged, counters and the state.

    A named tuple, not a dataclass: the acquisition parses one per frame, and a frozen
    dataclass's construction costs several times a tuple's."""

    clock_us: int
    next_seq: int
    acked_seq: int
    overflows: int
    desyncs: int
    not_ready_events: int
    boot_id: int
    state: int
    not_ready_mask: int
    last_error: int
    buffered: int
    capacity: int

    @property
    def state_name(self) -> str:
        return STATE_NAMES.get(self.state, f"state {self.state}")


def parse_identity(block: bytes) -> Identity | None:
    """The identity block, or None if its CRC does not match."""
    if len(block) != IDENTITY_SIZE or not crc_ok(block):
        return None
    who, version, major, minor, chip, chips, rate, gain, pulses, slots, size, _ = struct.unpack_from(IDENTITY_FMT, block)
    return Identity(who, version, f"{major}.{minor}", CHIP_NAMES.get(chip, f"chip {chip}"), chips, rate, gain,
                    pulses, slots, size)


def parse_status(block: bytes) -> Status | None:
    """The status block, or None if its CRC does not match."""
    if len(block) != STATUS_SIZE:
        return None
    (clock, next_seq, acked, overflows, desyncs, not_ready, boot, state, mask, last, _reserved, buffered,
     capacity, check) = STATUS_STRUCT.unpack(block)
    if binascii.crc_hqx(block[:STATUS_SIZE - 2], 0xFFFF) != check:
        return None
    return Status(clock, next_seq, acked, overflows, desyncs, not_ready, boot, state, mask, last, buffered, capacity)


def record_ok(block, offset: int, check: int) -> bool:
    """Whether the record at ``offset`` of ``block`` matches its CRC ``check`` (as unpacked by
    :data:`RECORD_STRUCT`)."""
    return binascii.crc_hqx(block[offset:offset + RECORD_SIZE - 2], 0xFFFF) == check


def parse_record(block: bytes) -> tuple[int, int, tuple[int, int, int, int]] | None:
    """One sample set ``(seq, t_us, (v0, v1, v2, v3))`` (low 32 bits of seq and time), or None
    if its CRC does not match."""
    if len(block) != RECORD_SIZE:
        return None
    seq, t_us, a, b, c, d, check = RECORD_STRUCT.unpack(block)
    if not record_ok(block, 0, check):
        return None
    return seq, t_us, (a, b, c, d)


def pack_identity(chip: int, rate_sps: int, gain: int, ring_slots: int, firmware: tuple[int, int] = (1, 0)) -> bytes:
    """The identity block as the firmware writes it (used by the register-level model)."""
    body = struct.pack(IDENTITY_FMT, WHO_AM_I, MAP_VERSION, firmware[0], firmware[1], chip, 4, rate_sps, gain,
                       GAIN_PULSES[gain], ring_slots, RECORD_SIZE, 0)
    return body + crc16(body).to_bytes(2, "little")


def pack_status(s: Status) -> bytes:
    """The status block as the firmware writes it (used by the register-level model)."""
    body = struct.pack(STATUS_FMT, s.clock_us & 0xFFFFFFFF, s.next_seq & 0xFFFFFFFF, s.acked_seq & 0xFFFFFFFF,
                       s.overflows & 0xFFFFFFFF, s.desyncs & 0xFFFF, s.not_ready_events & 0xFFFF, s.boot_id & 0xFFFF,
                       s.state, s.not_ready_mask, s.last_error, 0, min(s.buffered, 0xFFFF), s.capacity)
    return body + crc16(body).to_bytes(2, "little")


def pack_record(seq: int, t_us: int, values) -> bytes:
    """One sample set as the firmware writes it (used by the register-level model)."""
    body = struct.pack(RECORD_FMT, seq & 0xFFFFFFFF, t_us & 0xFFFFFFFF, *values)
    return body + crc16(body).to_bytes(2, "little")


def address_bytes(register: int) -> list[int]:
    """A 16-bit register address as sent on the bus (most significant byte first)."""
    return [(register >> 8) & 0xFF, register & 0xFF]
