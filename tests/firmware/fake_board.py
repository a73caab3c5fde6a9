"""Just enough of MicroPython's ``machine``, ``rp2`` and ``time`` for firmware/rp2040/main.py to run
on the host against a board whose pins, PIO state machine and I2C target the test drives.

Time is a microsecond counter that moves when the firmware sleeps, by a microsecond at each
reading of the clock, and when the test advances it; ``ticks_us`` wraps at 2^30 as on the RP2040.
"""

from __future__ import annotations

import importlib
import sys
import time as real_time
import types
from collections import deque

TICKS_PERIOD = 1 << 30


class Board:
    def __init__(self) -> None:
        self.us = 5_000_000
        self.pins: dict[int, "Pin"] = {}
        self.pin_log: list[tuple[int, int, int]] = []  # (us, pin, level) of outputs
        self.dout_levels = 0b0000  # bit i: DOUT of chip i high
        self.dout_base = 2
        self.state_machines: list["StateMachine"] = []
        self.target: "I2CTarget | None" = None

    # -- time --
    def ticks_us(self) -> int:
        self.us += 1  # reading the clock takes time too (the firmware's busy waits end)
        return self.us % TICKS_PERIOD

    def ticks_ms(self) -> int:
        return (self.us // 1000) % TICKS_PERIOD

    def sleep_us(self, n: int) -> None:
        self.us += n

    def advance(self, us: int) -> None:
        self.us += us

    @property
    def sm(self) -> "StateMachine":
        return self.state_machines[-1]


BOARD: Board | None = None


class Pin:
    OUT = 1
    IN = 0
    PULL_UP = 1

    def __init__(self, pin: int, mode: int | None = None, pull: int | None = None, value: int | None = None) -> None:
        self.id = pin
        self.mode = mode
        BOARD.pins[pin] = self
        if mode == Pin.OUT and value is not None:
            BOARD.pin_log.append((BOARD.us, pin, value))

    def value(self, v: int | None = None) -> int:
        if v is not None:
            BOARD.pin_log.append((BOARD.us, self.id, v))
            return v
        chip = self.id - BOARD.dout_base
        return (BOARD.dout_levels >> chip) & 1 if 0 <= chip < 4 else 0


class I2CTarget:
    IRQ_ADDR_MATCH_READ = 1
    IRQ_END_READ = 2

    def __init__(self, id, addr, *, mem=None, mem_addrsize=8, scl=None, sda=None) -> None:
        self.addr = addr
        self.mem = mem
        self.mem_addrsize = mem_addrsize
        self.handler = None
        self._flags = 0
        BOARD.target = self

    def irq(self, handler=None, trigger=0, hard=False):
        if handler is not None:
            self.handler = handler
        return self

    def flags(self) -> int:
        return self._flags

    def fire(self, flags: int) -> None:
        self._flags = flags
        self.handler(self)


class StateMachine:
    def __init__(self, id, program, *, freq, in_base, sideset_base) -> None:
        self.program = program
        self.freq = freq
        self.in_base = in_base.id
        self.sideset_base = sideset_base.id
        self.tx: list[int] = []
        self.rx: deque[int] = deque()
        self.handler = None
        self.running = False
        BOARD.state_machines.append(self)

    def irq(self, handler=None, trigger=0, hard=False):
        self.handler = handler

    def put(self, value: int) -> None:
        self.tx.append(value)

    def active(self, v: int | None = None):
        if v is not None:
            self.running = bool(v)
        return self.running

    def rx_fifo(self) -> int:
        return len(self.rx)

    def get(self) -> int:
        return self.rx.popleft()

    def push_set(self, words) -> None:
        """The PIO found a set ready (IRQ 0: the firmware stamps it), then pushed its words."""
        self.handler(self)
        self.rx.extend(words)


def load_main(board: Board):
    """Import firmware/rp2040/main.py with this board as its hardware."""
    global BOARD
    BOARD = board
    machine = types.ModuleType("machine")
    machine.Pin, machine.I2CTarget = Pin, I2CTarget
    rp2 = types.ModuleType("rp2")
    rp2.StateMachine = StateMachine
    rp2.PIO = types.SimpleNamespace(JOIN_RX=2, OUT_LOW=0)
    fake_time = types.ModuleType("time")
    fake_time.ticks_us, fake_time.ticks_ms, fake_time.sleep_us = board.ticks_us, board.ticks_ms, board.sleep_us
    fake_time.ticks_add = lambda a, b: (a + b) % TICKS_PERIOD
    fake_time.ticks_diff = lambda a, b: ((a - b + TICKS_PERIOD // 2) % TICKS_PERIOD) - TICKS_PERIOD // 2
    saved = {name: sys.modules.get(name) for name in ("machine", "rp2", "time", "main")}
    sys.modules.update(machine=machine, rp2=rp2, time=fake_time)
    sys.modules.pop("main", None)
    try:
        return importlib.import_module("main")
    finally:
        for name, module in saved.items():
            if name == "main":
                continue
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
        sys.modules.pop("main", None)
        assert sys.modules["time"] is real_time
