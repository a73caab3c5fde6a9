"""The PIO program that reads four HX711/HX717 at once: one SCK (side-set), four DOUT pins in a row.

The source below is pioasm; ``OPCODES`` is what it assembles to (tests/firmware checks that
adafruit-circuitpython-pioasm gives exactly these words, and runs them in rp2040-pio-emulator
against simulated HX711s). The firmware loads ``OPCODES`` as they are, so no assembler runs on
the RP2040.

Timing at the state machine clock of 1 MHz (1 µs a cycle; the HX711 datasheet's limits in
brackets): SCK high 2 µs per pulse (T3: 0.2-50 µs; over 60 µs powers the chips down), SCK low
at least 2 µs (T4 ≥ 0.2 µs), the first rising edge at least 1 µs after the last DOUT fell (T1
≥ 0.1 µs), DOUT sampled at SCK's falling edge, 2 µs after the rising edge that shifted it out
(T2 ≤ 0.1 µs). Every instruction that can stall (``push``, and ``in`` when autopush finds the
RX FIFO full) drives SCK low, so a late CPU can never hold SCK high long enough to power the
chips down.
"""

SOURCE = """
.program hx71x_quad
.side_set 1
    pull block            side 0   ; OSR = the DOUT pattern that means ready (bit i: chip i left out)
.wrap_target
wait_ready:
    mov isr, null         side 0   ; SCK low: the chips convert
    in pins, 4            side 0   ; the four DOUT levels
    mov x, isr            side 0
    mov y, osr            side 0
    jmp x!=y wait_ready   side 0   ; until every chip in the set has data (DOUT low)
    irq 0                 side 0   ; the CPU timestamps the set
    mov isr, null         side 0
    set y, 23             side 0   ; 24 data bits
bit:
    nop                   side 1 [1]  ; SCK high 2 us: the chips shift the next bit out
    in pins, 4            side 0      ; SCK low; sample DOUT (held until the next rising edge)
    jmp y-- bit           side 0
extra:
    set y, 0              side 0   ; patched: gain pulses - 1 (25 pulses: gain 128, 27: gain 64)
pulse:
    nop                   side 1 [1]
    in pins, 4            side 0   ; DOUT must read 1 after the data bits (desync check)
    jmp y-- pulse         side 0
    push block            side 0   ; the last, partial word
.wrap
"""

OPCODES = (
    0x80A0, 0xA0C3, 0x4004, 0xA026, 0xA047, 0x00A1, 0xC000, 0xA0C3, 0xE057,
    0xB142, 0x4004, 0x0089, 0xE040, 0xB142, 0x4004, 0x008D, 0x8020,
)
WRAP_TARGET = 1
WRAP = 16
EXTRA_INDEX = 12
"""Index of ``set y, 0`` whose 5-bit immediate is the number of gain pulses minus one."""
SM_FREQ_HZ = 1_000_000
WORDS_PER_SET = 4
"""Autopush every 32 bits (8 nibbles): three words of data bits, then one pushed by ``push``."""


def program_opcodes(extra_pulses):
    """The opcodes with the gain pulses patched in (1 for gain 128, 3 for gain 64)."""
    if not 1 <= extra_pulses <= 3:
        raise ValueError("extra pulses must be 1 to 3")
    ops = list(OPCODES)
    ops[EXTRA_INDEX] = (ops[EXTRA_INDEX] & ~0x1F) | (extra_pulses - 1)
    return ops


def execctrl():
    """EXECCTRL bits of the program: wrap top and bottom (side-set not optional)."""
    return WRAP << 12 | WRAP_TARGET << 7


def shiftctrl(join_rx):
    """SHIFTCTRL bits: RX FIFO joined (8 words: two sets), IN shifts left (MSB first),
    autopush at 32 bits."""
    push_thresh = 32
    return join_rx << 30 | (push_thresh & 0x1F) << 20 | 0 << 18 | 1 << 16


def rp2_program(extra_pulses, join_rx, sideset_init):
    """The program in the form MicroPython's ``rp2.StateMachine`` takes (what ``@rp2.asm_pio``
    returns): [opcodes, offset PIO0, offset PIO1, EXECCTRL, SHIFTCTRL, out, set, side-set]."""
    from array import array

    return [array("H", program_opcodes(extra_pulses)), -1, -1, execctrl(), shiftctrl(join_rx), None, None,
            sideset_init]
