"""The firmware's pure logic on the host (CPython): CRC, records, status, ring, time, decoding,
readiness; and that the Pi's side (station.hw.rp2040_map) reads exactly what it writes."""

from __future__ import annotations

import random
import struct

import hxproto as hp
import pytest
from pio_words import encode as _encode

from station.hw import rp2040_map as rmap


def test_crc_is_ccitt_false_on_both_sides():
    assert hp.crc16(b"123456789") == 0x29B1 == rmap.crc16(b"123456789")
    data = bytes(random.Random(1).randrange(256) for _ in range(300))
    assert hp.crc16(data) == rmap.crc16(data)
    assert hp.crc16(data, 10, 50) == rmap.crc16(data[10:50])


def test_register_map_constants_agree_with_the_station():
    for name in ("WHO_AM_I", "MAP_VERSION", "DEFAULT_ADDRESS", "REG_IDENTITY", "IDENTITY_SIZE", "REG_STATUS",
                 "STATUS_SIZE", "REG_COMMAND", "REG_ACK", "REG_RING", "RECORD_SIZE", "IDENTITY_FMT", "STATUS_FMT",
                 "RECORD_FMT", "CMD_START", "CMD_STOP", "CMD_CLEAR_COUNTERS", "STATE_STOPPED", "STATE_STARTING",
                 "STATE_RUNNING", "STATE_NO_CHIP", "ERR_BASE", "ERR_NOT_READY", "ERR_DESYNC", "GAIN_PULSES"):
        assert getattr(hp, name) == getattr(rmap, name), name
    assert hp.FULL_SCALE == rmap.FULL_SCALE_COUNTS and hp.MIN_COUNT == rmap.MIN_COUNTS
    assert struct.calcsize(hp.IDENTITY_FMT) + 2 == hp.IDENTITY_SIZE
    assert struct.calcsize(hp.STATUS_FMT) + 2 == hp.STATUS_SIZE
    assert struct.calcsize(hp.RECORD_FMT) + 2 == hp.RECORD_SIZE
    assert hp.REG_STATUS + hp.STATUS_SIZE <= hp.REG_COMMAND < hp.REG_ACK < hp.REG_RING


def test_identity_status_and_records_written_by_the_firmware_are_read_by_the_station():
    mem = bytearray(hp.MEM_SIZE)
    hp.pack_identity(mem, hp.CHIP_HX717, 320, 64)
    identity = rmap.parse_identity(bytes(mem[:hp.IDENTITY_SIZE]))
    assert identity == rmap.Identity(0xB5, 1, "1.0", "HX717", 4, 320, 64, 3, hp.RING_SLOTS, hp.RECORD_SIZE)
    ring = hp.Ring(mem)
    status = hp.Status(boot_id=0xBEEF)
    status.state = hp.STATE_RUNNING
    ring.append(123_456, [1, -2, hp.ERR_NOT_READY, (1 << 23) - 1])
    ring.append(0xFFFF_FFFF + 5, [0, 0, 0, -(1 << 23)])  # time beyond 32 bits: its low 32 bits travel
    ring.ack(1)
    status.pack(mem, 0x1_0000_0007, ring)
    st = rmap.parse_status(bytes(mem[hp.REG_STATUS:hp.REG_STATUS + hp.STATUS_SIZE]))
    assert (st.clock_us, st.next_seq, st.acked_seq, st.buffered, st.capacity, st.boot_id, st.state_name) == (
        7, 2, 1, 1, hp.RING_SLOTS, 0xBEEF, "running")
    first = rmap.parse_record(bytes(mem[hp.REG_RING:hp.REG_RING + hp.RECORD_SIZE]))
    assert first == (0, 123_456, (1, -2, rmap.ERR_NOT_READY, (1 << 23) - 1))
    second = rmap.parse_record(bytes(mem[hp.REG_RING + hp.RECORD_SIZE:hp.REG_RING + 2 * hp.RECORD_SIZE]))
    assert second == (1, 4, (0, 0, 0, -(1 << 23)))
    corrupted = bytearray(mem[hp.REG_RING:hp.REG_RING + hp.RECORD_SIZE])
    corrupted[9] ^= 0x04
    assert rmap.parse_record(bytes(corrupted)) is None
    block = bytearray(mem[hp.REG_STATUS:hp.REG_STATUS + hp.STATUS_SIZE])
    block[0] ^= 1
    assert rmap.parse_status(bytes(block)) is None


def test_ring_overwrites_unacknowledged_sets_and_counts_them():
    mem = bytearray(hp.MEM_SIZE)
    ring = hp.Ring(mem, slots=8)
    for k in range(8):
        ring.append(k, [k, 0, 0, 0])
    assert ring.buffered == 8 and ring.overflows == 0
    ring.append(8, [8, 0, 0, 0])  # slot of set 0, never acknowledged
    assert ring.overflows == 1 and ring.acked == 1 and ring.buffered == 8
    ring.ack(5)
    ring.append(9, [9, 0, 0, 0])
    assert ring.overflows == 1 and ring.buffered == 5
    ring.ack(100)  # beyond what exists: clamped
    assert ring.acked == ring.next_seq == 10 and ring.buffered == 0
    ring.ack(3)  # an old acknowledgement never moves back
    assert ring.acked == 10
    ring.clear()
    assert ring.buffered == 0 and ring.next_seq == 10


def test_pio_words_decode_to_four_signed_counts():
    rng = random.Random(7)
    for _ in range(200):
        values = [rng.randrange(-(1 << 23), 1 << 23) for _ in range(4)]
        extra = rng.choice((1, 3))
        words = _encode(values, extra)
        assert hp.decode_words(words, extra) == (values, 0)
    words = _encode([5, 6, 7, 8], 1, extras_low=0b0100)
    assert hp.decode_words(words, 1)[1] == 0b0100


def test_in_band_errors_replace_the_counts():
    values, last = hp.set_values([1, 2, 3, 4], desync_mask=0b0010, left_out_mask=0b1000)
    assert values == [1, hp.ERR_DESYNC, 3, hp.ERR_NOT_READY] and last == hp.LAST_ERROR_NOT_READY
    assert all(hp.is_error(v) for v in (hp.ERR_DESYNC, hp.ERR_NOT_READY))
    assert not hp.is_error((1 << 23) - 1) and not hp.is_error(-(1 << 23))
    status = hp.Status(1)
    status.note_set(0b0010, 0b1000, last)
    assert (status.desyncs, status.not_ready_events, status.last_error) == (1, 1, hp.LAST_ERROR_NOT_READY)


def test_ticks_extend_over_the_wrap_and_tolerate_late_stamps():
    ext = hp.TicksExtender(period=1000)
    assert [ext.extend(t) for t in (10, 400, 900)] == [10, 400, 900]
    assert ext.extend(880) == 880  # an IRQ's stamp handled after a later clock read
    assert ext.extend(20) == 1020  # wrapped
    assert ext.extend(990) == 990  # a late stamp from before the wrap
    assert [ext.extend(t) for t in (400, 800, 150)] == [1400, 1800, 2150]


def test_readiness_leaves_out_chips_whose_dout_never_fell():
    r = hp.Readiness()
    r.start_watch()
    for levels in (0b1111, 0b1011, 0b1110, 0b1111):
        r.sample(levels)
    assert r.end_watch() == 0b1010
    assert not r.rejoin(0b1111) and r.rejoin(0b0111)
    r.start_watch()
    assert r.end_watch() == 0b1111  # nothing seen low at all: no chip


def test_commands_and_acknowledgements_are_taken_from_the_target_memory():
    mem = bytearray(hp.MEM_SIZE)
    assert hp.take_command(mem) == hp.CMD_NONE
    mem[hp.REG_COMMAND] = hp.CMD_START
    assert hp.take_command(mem) == hp.CMD_START and mem[hp.REG_COMMAND] == 0
    struct.pack_into("<I", mem, hp.REG_ACK, 4242)
    assert hp.take_ack(mem) == 4242


@pytest.mark.parametrize(("chip", "rate"), [(hp.CHIP_HX711, 10), (hp.CHIP_HX711, 80), (hp.CHIP_HX717, 320)])
def test_rates_are_those_of_the_chips(chip, rate):
    assert rate in hp.RATES_SPS[chip] and rate in rmap.RATES_SPS[hp.CHIP_NAMES[chip]]
