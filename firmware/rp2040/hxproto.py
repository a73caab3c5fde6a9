"""The front end's pure logic: register map, CRC, records, status, ring, PIO word decoding.

Runs unchanged under MicroPython on the RP2040 and under CPython on the host (the tests in
tests/firmware import it). No hardware here: ``main.py`` wires it to the PIO, the pins and the
I2C target. The register map is documented, with its version, in README.md beside this file;
``MAP_VERSION`` changes whenever a byte of it changes meaning.

Klipper (``src/sensor_hx71x.c``) is the model for the in-band errors: a corner whose value could
not be read carries an error code in place of its count, a value no 24-bit ADC can produce.
"""

import struct

WHO_AM_I = 0xB5
"""Identity byte at register 0x0000 ("balance station")."""
MAP_VERSION = 1
"""Register map version (0x0001). Bump on any change of layout or meaning."""
FW_VERSION = (1, 0)

DEFAULT_ADDRESS = 0x42
"""Default 7-bit I2C target address (clear of the NAU7802 0x2A, the IMUs 0x68/0x69/0x6A/0x6B and
the TCA9548A 0x70-0x77)."""

CHIPS = 4
CHIP_HX711 = 0
CHIP_HX717 = 1
CHIP_NAMES = {CHIP_HX711: "HX711", CHIP_HX717: "HX717"}
RATES_SPS = {CHIP_HX711: (10, 80), CHIP_HX717: (10, 20, 80, 320)}
"""Output data rates selected by each board's RATE pin(s) (datasheets: HX711 10/80 SPS; HX717
10/20/80/320 SPS)."""
GAIN_PULSES = {128: 1, 64: 3}
"""Channel A gain -> clock pulses after the 24 data bits (25 pulses: gain 128, 27: gain 64)."""

# Register addresses (16-bit, little-endian values).
REG_IDENTITY = 0x0000
IDENTITY_SIZE = 16
REG_STATUS = 0x0010
STATUS_SIZE = 32
REG_COMMAND = 0x0030
REG_ACK = 0x0034
REG_RING = 0x0100
RING_SLOTS = 128
RECORD_SIZE = 26
MEM_SIZE = REG_RING + RING_SLOTS * RECORD_SIZE

IDENTITY_FMT = "<BBBBBBHBBHBB"   # + crc16
STATUS_FMT = "<IIIIHHHBBBBHH"    # + crc16
RECORD_FMT = "<II4i"             # + crc16

# Commands written to REG_COMMAND (the firmware clears the byte when done).
CMD_NONE = 0
CMD_START = 1
"""Power-cycle the chips (SCK high > 60 µs, then low: they reset and start converting
together), empty the ring and start reading."""
CMD_STOP = 2
"""Stop reading and power the chips down (SCK held high)."""
CMD_CLEAR_COUNTERS = 3

# States (status byte).
STATE_STOPPED = 0
STATE_STARTING = 1
STATE_RUNNING = 2
STATE_NO_CHIP = 3
STATE_NAMES = {STATE_STOPPED: "stopped", STATE_STARTING: "starting", STATE_RUNNING: "running",
               STATE_NO_CHIP: "no chip ready"}

# In-band errors: a corner's value replaced by one of these (outside the 24-bit range).
ERR_BASE = 0x40000000
ERR_NOT_READY = ERR_BASE | 1
"""The chip was left out of the set: its DOUT did not go low (missing, unpowered, broken)."""
ERR_DESYNC = ERR_BASE | 2
"""The bits after the 24 data bits were not all 1: the transfer lost step with the chip."""
ERROR_NAMES = {ERR_NOT_READY: "not ready", ERR_DESYNC: "desync"}
LAST_ERROR_NONE = 0
LAST_ERROR_NOT_READY = 1
LAST_ERROR_DESYNC = 2
LAST_ERROR_NO_CHIP = 3

FULL_SCALE = (1 << 23) - 1
MIN_COUNT = -(1 << 23)


def _crc_table():
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
        table.append(crc & 0xFFFF)
    return table


_TABLE = _crc_table()


def crc16(data, start=0, end=None):
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final XOR) of
    ``data[start:end]``; the check value of b"123456789" is 0x29B1."""
    if end is None:
        end = len(data)
    crc = 0xFFFF
    table = _TABLE
    for i in range(start, end):
        crc = ((crc << 8) & 0xFFFF) ^ table[(crc >> 8) ^ data[i]]
    return crc


def is_error(value):
    """Whether a corner value is an in-band error code rather than a count."""
    return value >= ERR_BASE


def pack_identity(buf, chip_kind, rate_sps, gain):
    """Write the 16-byte identity block at REG_IDENTITY of ``buf``."""
    struct.pack_into(IDENTITY_FMT, buf, REG_IDENTITY, WHO_AM_I, MAP_VERSION, FW_VERSION[0], FW_VERSION[1],
                     chip_kind, CHIPS, rate_sps, gain, GAIN_PULSES[gain], RING_SLOTS, RECORD_SIZE, 0)
    end = REG_IDENTITY + IDENTITY_SIZE - 2
    struct.pack_into("<H", buf, end, crc16(buf, REG_IDENTITY, end))


def pack_record(buf, offset, seq, t_us, values):
    """Write one sample set (26 bytes) at ``offset``: sequence, front-end time (µs, low 32
    bits), four signed counts or in-band errors, CRC-16 of the 24 bytes before it."""
    struct.pack_into(RECORD_FMT, buf, offset, seq & 0xFFFFFFFF, t_us & 0xFFFFFFFF,
                     values[0], values[1], values[2], values[3])
    struct.pack_into("<H", buf, offset + 24, crc16(buf, offset, offset + 24))


def decode_words(words, extra_pulses):
    """Turn the PIO's words for one conversion into four values.

    The PIO samples the four DOUT pins once per SCK pulse, shifting the nibble in MSB-first
    (bit i of a nibble is chip i): words 0-2 hold the 24 data bits, 8 nibbles each, word 3 the
    ``extra_pulses`` nibbles of the gain pulses in its low bits. After the 24th bit a chip pulls
    DOUT high, so every extra nibble must read 1 for every chip; a chip for which one does not has
    lost step (desync, as Klipper checks).

    Returns (values, desync_mask): four signed 24-bit counts, and bit i set for a chip whose
    transfer was out of step (its value is then meaningless).
    """
    values = [0, 0, 0, 0]
    for w in range(3):
        word = words[w]
        for shift in range(28, -4, -4):
            nibble = (word >> shift) & 0xF
            for c in range(4):
                values[c] = (values[c] << 1) | ((nibble >> c) & 1)
    for c in range(4):
        if values[c] & 0x800000:
            values[c] -= 0x1000000
    extras = words[3]
    desync = 0
    for e in range(extra_pulses):
        nibble = (extras >> (4 * e)) & 0xF
        desync |= (~nibble) & 0xF
    return values, desync


def set_values(values, desync_mask, left_out_mask):
    """The four values of a record: counts, or the in-band error of a chip left out of the set
    (not ready) or out of step (desync). Returns (values, last_error)."""
    out = list(values)
    last = LAST_ERROR_NONE
    for c in range(4):
        if left_out_mask >> c & 1:
            out[c] = ERR_NOT_READY
            last = LAST_ERROR_NOT_READY
        elif desync_mask >> c & 1:
            out[c] = ERR_DESYNC
            last = LAST_ERROR_DESYNC
    return out, last


class TicksExtender:
    """A 64-bit microsecond clock from a wrapping tick counter (MicroPython's ``ticks_us``
    wraps at ``period``, 2^30 on the RP2040). Calls may come slightly out of order (an IRQ's
    timestamp handled after a later reading of the clock): a tick more than half a period
    behind the newest one seen starts a new lap, one less than that belongs to the current or
    the previous lap. Call at least once per half period (9 minutes)."""

    def __init__(self, period=1 << 30):
        self.period = period
        self._last = None
        self._high = 0

    def extend(self, ticks):
        last = self._last
        if last is None:
            self._last = ticks
            return ticks
        half = self.period // 2
        if ticks >= last:
            if ticks - last > half:  # a late tick from before the last wrap
                return self._high - self.period + ticks
            self._last = ticks
            return self._high + ticks
        if last - ticks > half:  # wrapped
            self._high += self.period
            self._last = ticks
            return self._high + ticks
        return self._high + ticks  # slightly out of order, same lap


class Ring:
    """Sample sets in numbered slots of the I2C target's memory.

    Set ``seq`` lives in slot ``seq % RING_SLOTS`` at ``REG_RING + slot * RECORD_SIZE``; the Pi
    reads slots by sequence number and acknowledges (REG_ACK) the next sequence it wants. A set
    written over one the Pi has not acknowledged is an overflow (counted here; the Pi sees the
    gap in sequence numbers).
    """

    def __init__(self, mem, slots=RING_SLOTS):
        self.mem = mem
        self.slots = slots
        self.next_seq = 0
        self.acked = 0
        self.overflows = 0

    def clear(self):
        """Forget every set (sequence numbers keep counting: the Pi sees no reuse)."""
        self.acked = self.next_seq

    def append(self, t_us, values):
        seq = self.next_seq
        if seq - self.acked >= self.slots:
            self.overflows += 1
            self.acked = seq - self.slots + 1
        pack_record(self.mem, REG_RING + (seq % self.slots) * RECORD_SIZE, seq, t_us, values)
        self.next_seq = seq + 1

    def ack(self, seq):
        """The Pi has every set before ``seq`` (clamped to what exists)."""
        if seq > self.next_seq:
            seq = self.next_seq
        if seq > self.acked:
            self.acked = seq

    @property
    def buffered(self):
        return self.next_seq - self.acked


class Status:
    """Counters of the status block (REG_STATUS)."""

    def __init__(self, boot_id):
        self.boot_id = boot_id & 0xFFFF
        self.state = STATE_STOPPED
        self.desyncs = 0
        self.not_ready_events = 0
        self.not_ready_mask = 0
        self.last_error = LAST_ERROR_NONE

    def clear(self):
        self.desyncs = 0
        self.not_ready_events = 0
        self.last_error = LAST_ERROR_NONE

    def note_set(self, desync_mask, left_out_mask, last_error):
        if desync_mask & ~left_out_mask & 0xF:
            self.desyncs += 1
        if left_out_mask:
            self.not_ready_events += 1
        if last_error != LAST_ERROR_NONE:
            self.last_error = last_error

    def pack(self, buf, clock_us, ring, offset=REG_STATUS):
        """Write the status block (32 bytes) at ``offset`` of ``buf`` (``main.py`` packs it
        into a buffer of its own and copies it into the target memory in one go)."""
        struct.pack_into(STATUS_FMT, buf, offset, clock_us & 0xFFFFFFFF, ring.next_seq & 0xFFFFFFFF,
                         ring.acked & 0xFFFFFFFF, ring.overflows & 0xFFFFFFFF, self.desyncs & 0xFFFF,
                         self.not_ready_events & 0xFFFF, self.boot_id, self.state, self.not_ready_mask,
                         self.last_error, 0, min(ring.buffered, 0xFFFF), ring.slots)
        end = offset + STATUS_SIZE - 2
        struct.pack_into("<H", buf, end, crc16(buf, offset, end))


def take_command(mem):
    """The command the Pi wrote (and clear it), CMD_NONE if none."""
    cmd = mem[REG_COMMAND]
    if cmd:
        mem[REG_COMMAND] = CMD_NONE
    return cmd


def take_ack(mem):
    """The sequence number the Pi acknowledged (REG_ACK, u32 LE)."""
    return struct.unpack_from("<I", mem, REG_ACK)[0]


class Readiness:
    """Which chips are left out of the sets, from the DOUT levels the firmware samples when no
    set arrived for too long.

    A chip whose DOUT stayed high through a whole watch (longer than its slowest conversion) is
    not ready: missing, unpowered or broken. The PIO then waits for the others only (its
    ``ready`` pattern has that chip's bit set). A left-out chip seen low again is taken back.
    """

    def __init__(self):
        self.left_out = 0
        self._seen_low = 0

    def start_watch(self):
        self._seen_low = 0

    def sample(self, dout_levels):
        """One sample of the four DOUT pins (bit i = chip i high)."""
        self._seen_low |= (~dout_levels) & 0xF

    def end_watch(self):
        """Close the watch; returns the new left-out mask."""
        self.left_out = (~self._seen_low) & 0xF
        return self.left_out

    def rejoin(self, dout_levels):
        """Whether a left-out chip's DOUT is low (it converts again): then restart with it."""
        return bool(self.left_out & ~dout_levels & 0xF)
