"""The PIO program, assembled by adafruit-circuitpython-pioasm and run in rp2040-pio-emulator
against pin-level HX711s that follow the datasheet's timing (tests/firmware/hx711_pins.py).

The emulator has no ``irq`` instruction: it runs as a ``nop`` here and the tests record when it
executes (the moment the firmware timestamps the set). No ``from __future__ import annotations``
here: the emulator reads the input source's parameter annotation (``State``) at run time."""


from collections import deque

import adafruit_pioasm
import hx_pio
import hxproto as hp
import pytest
from hx711_pins import SCK_PIN, HX711Pins
from pioemu import State, emulate

IRQ_INDEX = 6
NOP = 0xA042  # mov y, y side 0


def test_the_source_assembles_to_the_opcodes_the_firmware_loads():
    program = adafruit_pioasm.Program(hx_pio.SOURCE)
    assert list(program.assembled) == list(hx_pio.OPCODES)
    assert program.pio_kwargs["wrap_target"] == hx_pio.WRAP_TARGET and program.pio_kwargs["wrap"] == hx_pio.WRAP
    assert program.pio_kwargs["sideset_pin_count"] == 1 and not program.pio_kwargs["sideset_enable"]
    assert hx_pio.OPCODES[IRQ_INDEX] == 0xC000  # irq 0: the CPU's timestamp
    assert hx_pio.program_opcodes(3)[hx_pio.EXTRA_INDEX] == adafruit_pioasm.assemble(".side_set 1\nset y, 2 side 0")[0]
    with pytest.raises(ValueError):
        hx_pio.program_opcodes(4)


def _values(c: int, n: int = 200) -> list[int]:
    # Distinct per chip and conversion, both signs, near full scale too.
    out = []
    for k in range(n):
        v = ((c + 1) * 1_234_567 + k * 98_765) % (1 << 24) - (1 << 23)
        out.append(v)
    return out


class Run:
    """The program run for ``cycles`` µs with ``chips`` on DOUT 0..3 and SCK on pin 4."""

    def __init__(self, chips, *, cycles: int, extra: int = 1, pattern: int = 0, drain: bool = True) -> None:
        ops = hx_pio.program_opcodes(extra)
        ops[IRQ_INDEX] = NOP
        self.chips = chips
        self.words: list[int] = []
        self.irq_at: list[int] = []
        self.sck: list[tuple[int, int, int]] = []  # (from, to, level) intervals

        def pins(state: State) -> int:
            sck = (state.pin_values >> SCK_PIN) & 1
            levels = 0
            for i, chip in enumerate(chips):
                levels |= chip.step(state.clock, sck) << i
            return levels

        start = State(pin_directions=1 << SCK_PIN, transmit_fifo=deque([pattern]))
        for prev, cur in emulate(ops, stop_when=lambda _op, s: s.clock >= cycles, initial_state=start, input_source=pins,
                                 auto_push=True, push_threshold=32, shift_isr_right=False, side_set_base=SCK_PIN,
                                 side_set_count=1, wrap_target=hx_pio.WRAP_TARGET, wrap_top=hx_pio.WRAP):
            level = (cur.pin_values >> SCK_PIN) & 1
            self.sck.append((prev.clock, cur.clock, level))
            if prev.program_counter == IRQ_INDEX and cur.program_counter != IRQ_INDEX:
                self.irq_at.append(prev.clock)
            if drain:
                while cur.receive_fifo:
                    self.words.append(cur.receive_fifo.popleft())

    def sets(self, extra: int = 1) -> list[tuple[list[int], int]]:
        return [hp.decode_words(self.words[j:j + 4], extra) for j in range(0, len(self.words) - 3, 4)]

    def pulses(self) -> list[tuple[int, int]]:
        """SCK high pulses as (start, width) in µs, merged from the instruction intervals."""
        out = []
        start = None
        for t0, t1, level in self.sck:
            if level and start is None:
                start = t0
            elif not level and start is not None:
                out.append((start, t0 - start))
                start = None
        return out


def _four(period_us=(300, 307, 311, 296), first=(100, 113, 126, 139), **kw):
    return [HX711Pins(_values(c), period_us=period_us[c], first_ready_us=first[c], **kw) for c in range(4)]


def test_four_chips_are_read_at_once_with_the_datasheet_timing():
    chips = _four()
    run = Run(chips, cycles=6_000)
    sets = run.sets()
    assert len(sets) >= 15
    previous = [-1, -1, -1, -1]
    for values, desync in sets:
        assert desync == 0
        # Every set holds a new conversion of every chip: the newest it had when the set was read.
        for c, chip in enumerate(chips):
            k = chip.latched.index(values[c])
            assert k > previous[c]
            previous[c] = k
    # The chip with the fastest clock skipped conversions (overwritten before the set), the others did not.
    assert [v[0][3] for v in sets] == chips[3].latched[: len(sets)]
    for chip in chips:
        assert chip.transfers and set(chip.transfers) == {25}  # 24 data bits + 1 pulse: gain 128
        assert chip.power_downs == 0
    pulses = run.pulses()
    widths = [w for _, w in pulses]
    assert min(widths) >= 1 and max(widths) <= 50  # T3: 0.2-50 µs (2 µs here)
    lows = [b - (a + w) for (a, w), (b, _) in zip(pulses, pulses[1:])]
    assert min(lows) >= 1  # T4 >= 0.2 µs
    # T1: the first rising edge of a set comes after every DOUT fell.
    for at in run.irq_at[:10]:
        first_rise = min(t for t, _ in pulses if t > at)
        assert all(any(r <= at for r in chip.ready_at) for chip in chips)
        assert first_rise - at >= 1


def test_gain_64_gives_27_pulses_and_the_same_values():
    chips = _four()
    run = Run(chips, cycles=4_000, extra=3)
    sets = run.sets(extra=3)
    assert sets and all(desync == 0 for _, desync in sets)
    assert all(values[c] in chips[c].latched for values, _ in sets for c in range(4))
    assert set(chips[1].transfers) == {27}


def test_a_cpu_that_does_not_drain_the_fifo_never_holds_sck_high():
    # RX FIFO full: autopush stalls the program in the middle of a transfer. Every instruction
    # that can stall drives SCK low, so the chips wait instead of powering down (> 60 µs high).
    chips = _four()
    run = Run(chips, cycles=8_000, drain=False)
    pulses = run.pulses()
    assert max(w for _, w in pulses) <= 2
    assert all(chip.power_downs == 0 for chip in chips)
    stalled_from = pulses[-1][0]
    assert run.sck[-1][2] == 0 and 8_000 - stalled_from > 60  # stalled low for far longer than 60 µs


def test_a_chip_that_is_never_ready_stops_the_sets_until_it_is_left_out():
    chips = _four()
    chips[2] = HX711Pins(_values(2), period_us=300, first_ready_us=100, never_ready=True)
    blocked = Run(chips, cycles=3_000)
    assert blocked.words == [] and blocked.pulses() == []  # SCK stays low: nobody is read
    chips = _four()
    chips[2] = HX711Pins(_values(2), period_us=300, first_ready_us=100, never_ready=True)
    run = Run(chips, cycles=3_000, pattern=0b0100)  # the firmware leaves chip 2 out
    sets = run.sets()
    assert len(sets) >= 6
    for values, desync in sets:
        out, last = hp.set_values(values, desync, 0b0100)
        assert out[2] == hp.ERR_NOT_READY and last == hp.LAST_ERROR_NOT_READY
        assert all(out[c] in chips[c].latched for c in (0, 1, 3))


def test_a_chip_out_of_step_is_caught_by_the_pulses_after_its_data():
    chips = _four()
    chips[1] = HX711Pins(_values(1), period_us=307, first_ready_us=113, dout_stuck_low=True)
    run = Run(chips, cycles=3_000)
    sets = run.sets()
    assert sets
    for values, desync in sets:
        assert desync == 0b0010  # DOUT did not go high after the 24 bits
        out, last = hp.set_values(values, desync, 0)
        assert out[1] == hp.ERR_DESYNC and last == hp.LAST_ERROR_DESYNC
        assert out[0] in chips[0].latched


def test_the_set_rate_follows_the_slowest_chip():
    chips = _four(period_us=(250, 260, 400, 255))
    run = Run(chips, cycles=8_000)
    spacing = [b - a for a, b in zip(run.irq_at, run.irq_at[1:])]
    spacing = spacing[1:]  # the first set waits for the chips' first conversions
    assert spacing and min(spacing) >= 390 and sum(spacing) / len(spacing) == pytest.approx(400, abs=15)
