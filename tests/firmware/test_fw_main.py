"""firmware/rp2040/main.py itself (the glue: pins, state machine, interrupt, I2C target, main
loop) on a fake board (tests/firmware/fake_board.py), read through its target memory with the
station's register-map parser."""

from __future__ import annotations

import struct

import hxproto as hp
import pytest
from fake_board import Board, load_main
from pio_words import encode as _encode

from station.hw import rp2040_map as rmap

SCK, DOUT_BASE = 6, 2


@pytest.fixture
def board():
    return Board()


@pytest.fixture
def fw(board):
    main = load_main(board)
    front_end = main.FrontEnd()
    return main, front_end


def _status(front_end) -> rmap.Status:
    return rmap.parse_status(bytes(front_end.mem[hp.REG_STATUS:hp.REG_STATUS + hp.STATUS_SIZE]))


def _records(front_end, first, n):
    out = []
    for seq in range(first, first + n):
        offset = hp.REG_RING + (seq % hp.RING_SLOTS) * hp.RECORD_SIZE
        out.append(rmap.parse_record(bytes(front_end.mem[offset:offset + hp.RECORD_SIZE])))
    return out


def _run_sets(board, front_end, sets, period_us=12_500):
    for values in sets:
        board.advance(period_us)
        board.sm.push_set(_encode(values, 1))
        front_end.poll()


def test_boot_powers_the_chips_down_and_start_power_cycles_them(board, fw):
    main, front_end = fw
    identity = rmap.parse_identity(bytes(front_end.mem[:hp.IDENTITY_SIZE]))
    assert identity.chip == "HX711" and identity.rate_sps == 80 and identity.gain == 128
    assert board.target.addr == 0x42 and board.target.mem_addrsize == 16
    assert board.pin_log[-1][1:] == (SCK, 1)  # SCK high: the chips are powered down
    front_end.start()
    highs = [t for t, pin, level in board.pin_log if pin == SCK and level == 1]
    lows = [t for t, pin, level in board.pin_log if pin == SCK and level == 0]
    assert lows[-1] - highs[-1] >= 60  # high for more than 60 µs: a reset of every chip
    sm = board.sm
    assert sm.running and sm.tx == [0] and sm.in_base == DOUT_BASE and sm.sideset_base == SCK
    assert list(sm.program[0]) == [*hp_opcodes()] and sm.freq == 1_000_000


def hp_opcodes():
    import hx_pio

    return hx_pio.program_opcodes(1)


def test_sets_after_the_settling_time_are_numbered_stamped_and_kept(board, fw):
    main, front_end = fw
    front_end.start()
    start_us = board.us
    _run_sets(board, front_end, [[k, -k, 2 * k, 7] for k in range(12)])  # 150 ms at 80 SPS
    status = _status(front_end)
    assert status.state_name == "running" and status.boot_id == front_end.status.boot_id
    # The first 50 ms (settling) were dropped: sets 4.. are kept, numbered from 0.
    kept = status.next_seq
    assert 7 <= kept <= 9
    records = _records(front_end, 0, kept)
    assert [r[2][0] for r in records] == list(range(12 - kept, 12))
    stamps = [r[1] for r in records]
    assert all(abs(b - a - 12_500) < 20 for a, b in zip(stamps, stamps[1:]))
    assert abs(stamps[-1] - (start_us + 12 * 12_500)) < 100
    assert abs(status.clock_us - board.us) < 10


def test_the_pis_acknowledgement_and_commands_reach_the_firmware(board, fw):
    main, front_end = fw
    front_end.start()
    _run_sets(board, front_end, [[1, 2, 3, 4]] * 12)
    struct.pack_into("<I", front_end.mem, hp.REG_ACK, 5)
    front_end.poll()
    assert _status(front_end).acked_seq == 5 and _status(front_end).buffered == front_end.ring.next_seq - 5
    front_end.mem[hp.REG_COMMAND] = hp.CMD_STOP
    front_end.poll()
    assert _status(front_end).state == hp.STATE_STOPPED and board.pin_log[-1][1:] == (SCK, 1)
    assert front_end.mem[hp.REG_COMMAND] == 0
    front_end.mem[hp.REG_COMMAND] = hp.CMD_START
    front_end.poll()
    assert _status(front_end).state == hp.STATE_STARTING and _status(front_end).buffered == 0


def test_a_chip_out_of_step_gives_its_error_in_band(board, fw):
    main, front_end = fw
    front_end.start()
    _run_sets(board, front_end, [[1, 2, 3, 4]] * 8)
    board.advance(12_500)
    words = _encode([9, 9, 9, 9], 1, extras_low=0b0010)
    board.sm.push_set(words)
    front_end.poll()
    status = _status(front_end)
    record = _records(front_end, status.next_seq - 1, 1)[0]
    assert record[2] == (9, hp.ERR_DESYNC, 9, 9) and status.desyncs == 1 and status.last_error == hp.LAST_ERROR_DESYNC


def test_a_chip_that_stops_is_left_out_and_taken_back(board, fw):
    main, front_end = fw
    front_end.start()
    _run_sets(board, front_end, [[1, 2, 3, 4]] * 8)
    board.dout_levels = 0b0100  # BL's DOUT stays high: no set any more
    for _ in range(5):
        board.advance(12_500)
        front_end.poll()
    status = _status(front_end)
    assert status.not_ready_mask == 0b0100 and status.not_ready_events == 1
    sm = board.sm
    assert sm.tx == [0b0100] and sm.running  # restarted waiting for the other three
    board.advance(12_500)
    sm.push_set(_encode([5, 6, -1, 8], 1))
    front_end.poll()
    status = _status(front_end)
    assert _records(front_end, status.next_seq - 1, 1)[0][2] == (5, 6, hp.ERR_NOT_READY, 8)
    board.dout_levels = 0b0000  # BL converts again: taken back at the next check (once a second)
    board.advance(1_000_000)
    front_end.poll()
    assert board.sm.tx == [0] and _status(front_end).not_ready_mask == 0


def test_the_status_is_not_replaced_while_the_pi_reads_it(board, fw):
    main, front_end = fw
    front_end.start()
    _run_sets(board, front_end, [[1, 2, 3, 4]] * 8)
    before = bytes(front_end.mem[hp.REG_STATUS:hp.REG_STATUS + hp.STATUS_SIZE])
    board.target.fire(board.target.IRQ_ADDR_MATCH_READ)
    _run_sets(board, front_end, [[1, 2, 3, 4]] * 2)
    assert bytes(front_end.mem[hp.REG_STATUS:hp.REG_STATUS + hp.STATUS_SIZE]) == before
    board.target.fire(board.target.IRQ_END_READ)
    front_end.poll()
    assert _status(front_end).next_seq == rmap.parse_status(before).next_seq + 2
