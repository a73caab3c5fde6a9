"""Register-level model of the RP2040 load-cell front end (``firmware/rp2040``) with its four
HX711/HX717 boards, on the simulated I2C bus.

It behaves as the firmware does, at the level the Pi sees: the register map of
``firmware/rp2040/README.md`` (identity, status, command, acknowledgement, the ring of CRC'd
records) behind a 16-bit register pointer; sets made when every chip in the set has data (the
PIO waits for the last DOUT to fall), timestamped on the RP2040's own crystal (a seeded error of
up to ±30 ppm) with the interrupt's latency (3-12 µs), visible to the Pi once the firmware has
decoded them; the chips' settling discarded after a start; the ring overwriting sets the Pi did
not acknowledge (counted as overflows); a chip that stops converting is found by the firmware's
watch (no set for three periods, then two periods of watching DOUT), left out of the sets (its
value the in-band ``not ready`` error) and taken back when it converts again (checked once a
second); a restart (power lost: :meth:`power_on_reset`, or :meth:`reboot`) gives a new boot id
and starts counting sets from 0.

Faults: the chips' (``chip(corner).set_not_ready()``), :meth:`inject_desync`, :meth:`reboot`,
and the bus-level ones of :class:`station.sim.bus.SimulatedBus` (corrupted bytes make CRCs fail).
"""

from __future__ import annotations

import struct
from collections import deque

import numpy as np

from station.config import CORNERS
from station.hw import rp2040_map as rmap
from station.sim.bus import SimDevice
from station.sim.hx711_model import HX711Model

RING_SLOTS = 128
MEM_SIZE = rmap.REG_RING + RING_SLOTS * rmap.RECORD_SIZE
READ_NS = 110_000
"""One set's transfer: 25-27 SCK pulses of 4 µs plus the wait's last loop, ns."""
DECODE_NS = 600_000
"""From the end of the transfer until the set is in the ring (MicroPython decodes the words), ns."""
SETTLE_MS = {10: 400, 20: 200, 80: 50, 320: 15}
WATCH_PERIODS = 3
REJOIN_CHECK_NS = 1_000_000_000


class RP2040FrontEndModel(SimDevice):
    """The front end and its four boards.

    Parameters
    ----------
    analog_inputs : sequence of 4 callables
        Each corner's bridge, ``(t_ns, excitation_v) -> volts``, in corner order.
    chip : {"hx711", "hx717"}
    rate_sps, gain : int
    seed : int or numpy.random.SeedSequence
    clock_start_us : int or None
        The front end's microsecond clock at boot (None: drawn; a value near 2^32 tests the
        wrap).
    now_ns : int
        Bus time of the power-up.
    """

    name = "RP2040 front end"

    def __init__(self, analog_inputs, *, chip: str = "hx711", rate_sps: int = 80, gain: int = 128, seed=0,
                 clock_start_us: int | None = None, now_ns: int = 0) -> None:
        super().__init__()
        seq = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        params_seed, jitter_seed, *chip_seeds = seq.spawn(2 + len(CORNERS))
        params = np.random.default_rng(params_seed)
        self._rng = np.random.default_rng(jitter_seed)
        self.chip_kind = 1 if chip == "hx717" else 0
        if rate_sps not in rmap.RATES_SPS["HX717" if self.chip_kind else "HX711"]:
            raise ValueError(f"an {chip.upper()} has no {rate_sps} SPS rate")
        self.rate_sps = int(rate_sps)
        self.gain = int(gain)
        self.ppm = float(params.uniform(-30e-6, 30e-6))
        self.clock_start_us = int(params.integers(0, 1 << 32)) if clock_start_us is None else int(clock_start_us)
        self.chips = tuple(
            HX711Model(corner, analog_inputs[i], rate_sps=rate_sps, gain=gain, seed=chip_seeds[i])
            for i, corner in enumerate(CORNERS)
        )
        self.period_ns = 1e9 / self.rate_sps
        self.boots = 0
        self.sets_made = 0
        self._desync_pending = [0, 0, 0, 0]
        self.reboot(now_ns)

    # ------------------------------------------------------------------ firmware life
    def reboot(self, now_ns: int) -> None:
        """The firmware starts again (as after power returns): empty memory, a new boot id, set
        numbers from 0, and it starts reading the chips at once (its ``main()``)."""
        self.boots += 1
        self._boot_ns = int(now_ns)
        self.boot_id = int(self._rng.integers(0, 1 << 16))
        self.mem = bytearray(MEM_SIZE)
        self.mem[: rmap.IDENTITY_SIZE] = rmap.pack_identity(self.chip_kind, self.rate_sps, self.gain, RING_SLOTS)
        self._pointer = 0
        self.seq = 0
        self.acked = 0
        self.overflows = 0
        self.truth = deque(maxlen=100_000)
        """``(seq, t_ns)`` of this boot's sets: when the PIO found them ready, on the bus clock."""
        self.desyncs = 0
        self.not_ready_events = 0
        self.last_error = 0
        self.state = rmap.STATE_STOPPED
        self.left_out = 0
        self._start(now_ns)

    def power_on_reset(self, now_ns: int) -> None:
        self.reboot(now_ns)

    def _start(self, now_ns: float) -> None:
        for chip in self.chips:
            chip.power_up(now_ns + 100_000)  # SCK high 100 µs, then low: the chips restart together
        self.acked = self.seq
        self.left_out = 0
        self.state = rmap.STATE_STARTING
        self._settle_ns = now_ns + 100_000 + SETTLE_MS[self.rate_sps] * 1e6
        self._last_k = [-1, -1, -1, -1]
        self._runs = [chip.runs for chip in self.chips]
        self._last_end_ns = float(now_ns) + 100_000
        self._rejoin_ns = None
        self._restart_ns = None

    def fe_us(self, t_ns: float) -> int:
        """The front end's microsecond clock at bus time ``t_ns`` (low 32 bits)."""
        return (self.clock_start_us + int((t_ns - self._boot_ns) * (1.0 + self.ppm) / 1000.0)) & 0xFFFFFFFF

    def chip(self, corner: str) -> HX711Model:
        return self.chips[CORNERS.index(corner)]

    def inject_desync(self, corner: str, sets: int = 1) -> None:
        """The next ``sets`` sets lose step with ``corner``'s chip (its value is the desync error)."""
        self._desync_pending[CORNERS.index(corner)] += int(sets)

    # ------------------------------------------------------------------ making sets
    def _next_set_ns(self) -> float | None:
        t = self._last_end_ns
        runs = self._runs
        for i, chip in enumerate(self.chips):
            if chip.runs != runs[i]:  # the board lost power and started again: its count restarts
                runs[i] = chip.runs
                self._last_k[i] = -1
            if self.left_out >> i & 1:
                continue
            if not chip.ready:
                return None
            t = max(t, chip.time_of(self._last_k[i] + 1))
        return t

    def _advance(self, now_ns: int) -> None:
        while self.state in (rmap.STATE_STARTING, rmap.STATE_RUNNING, rmap.STATE_NO_CHIP):
            if self.state == rmap.STATE_NO_CHIP:
                if self._restart_ns is None or now_ns < self._restart_ns:
                    return
                self._start(self._restart_ns)
                continue
            t = self._next_set_ns()
            if self.left_out and self._rejoin_ns is not None and self._rejoin_ns <= now_ns and (t is None or self._rejoin_ns <= t):
                self._rejoin_check(self._rejoin_ns)
                continue
            if t is None or t - self._last_end_ns > WATCH_PERIODS * self.period_ns:
                watch_ns = self._last_end_ns + WATCH_PERIODS * self.period_ns
                end_ns = watch_ns + 2 * self.period_ns
                if now_ns < end_ns:
                    return
                self._watch(end_ns)
                continue
            if t + READ_NS + DECODE_NS > now_ns:
                return
            self._make_set(t)

    def _watch(self, end_ns: float) -> None:
        left = 0
        for i, chip in enumerate(self.chips):
            if not chip.ready:
                left |= 1 << i
        self.left_out = left
        if left == 0xF:
            self.state = rmap.STATE_NO_CHIP
            self.last_error = 3
            self._restart_ns = end_ns + REJOIN_CHECK_NS
            return
        if left:
            self.not_ready_events += 1
            self.last_error = 1
        self._rejoin_ns = end_ns + REJOIN_CHECK_NS
        self._resume(end_ns)

    def _resume(self, t_ns: float) -> None:
        """The PIO starts again at ``t_ns``: each chip's newest conversion is read first."""
        for i, chip in enumerate(self.chips):
            if chip.runs != self._runs[i]:
                self._runs[i] = chip.runs
                self._last_k[i] = -1
            self._last_k[i] = max(self._last_k[i], chip.index_at(t_ns) - 1)
        self._last_end_ns = t_ns

    def _rejoin_check(self, t_ns: float) -> None:
        back = [i for i in range(4) if self.left_out >> i & 1 and self.chips[i].ready]
        if back:
            self.left_out = 0
            self._rejoin_ns = None
            self._resume(t_ns)
        else:
            self._rejoin_ns = t_ns + REJOIN_CHECK_NS

    def _make_set(self, t: float) -> None:
        values = [0, 0, 0, 0]
        desynced = False
        for i, chip in enumerate(self.chips):
            if self.left_out >> i & 1:
                values[i] = rmap.ERR_NOT_READY
                continue
            k = max(chip.index_at(t), self._last_k[i] + 1)  # t is at or after that conversion (rounding)
            self._last_k[i] = k
            if self._desync_pending[i]:
                self._desync_pending[i] -= 1
                values[i] = rmap.ERR_DESYNC
                desynced = True
                continue
            values[i] = chip.code(k)
        self._last_end_ns = t + READ_NS
        if self.state == rmap.STATE_STARTING:
            if t < self._settle_ns:
                return  # not settled yet: the firmware drops it
            self.state = rmap.STATE_RUNNING
        if desynced:
            self.desyncs += 1
            self.last_error = 2
        if self.left_out:
            self.last_error = 1
        stamp_us = self.fe_us(t + float(self._rng.uniform(3_000, 12_000)))
        seq = self.seq
        if seq - self.acked >= RING_SLOTS:
            self.overflows += 1
            self.acked = seq - RING_SLOTS + 1
        offset = rmap.REG_RING + (seq % RING_SLOTS) * rmap.RECORD_SIZE
        self.mem[offset:offset + rmap.RECORD_SIZE] = rmap.pack_record(seq, stamp_us, values)
        self.truth.append((seq, t))
        self.seq = seq + 1
        self.sets_made += 1

    def _status_block(self, now_ns: int) -> bytes:
        status = rmap.Status(
            clock_us=self.fe_us(now_ns), next_seq=self.seq, acked_seq=self.acked, overflows=self.overflows,
            desyncs=self.desyncs, not_ready_events=self.not_ready_events, boot_id=self.boot_id, state=self.state,
            not_ready_mask=self.left_out, last_error=self.last_error, buffered=self.seq - self.acked,
            capacity=RING_SLOTS)
        return rmap.pack_status(status)

    # ------------------------------------------------------------------ I2C
    def i2c_write(self, data: bytes, now_ns: int) -> None:
        if len(data) < 2:
            return
        self._advance(now_ns)
        pointer = (data[0] << 8) | data[1]
        payload = bytes(data[2:])
        if payload:
            end = min(MEM_SIZE, pointer + len(payload))
            self.mem[pointer:end] = payload[: end - pointer]
            if pointer <= rmap.REG_COMMAND < end:
                self._command(self.mem[rmap.REG_COMMAND], now_ns)
                self.mem[rmap.REG_COMMAND] = 0
            if pointer <= rmap.REG_ACK and rmap.REG_ACK + 4 <= end:
                self._ack(struct.unpack_from("<I", self.mem, rmap.REG_ACK)[0])
            pointer = end
        self._pointer = pointer

    def i2c_read(self, length: int, now_ns: int) -> bytes:
        self._advance(now_ns)
        pointer = self._pointer
        if pointer < rmap.REG_STATUS + rmap.STATUS_SIZE and pointer + length > rmap.REG_STATUS:
            self.mem[rmap.REG_STATUS:rmap.REG_STATUS + rmap.STATUS_SIZE] = self._status_block(now_ns)
        end = min(MEM_SIZE, pointer + length)
        out = bytes(self.mem[pointer:end]) + b"\xff" * (length - (end - pointer))
        self._pointer = end
        return out

    def _command(self, cmd: int, now_ns: int) -> None:
        if cmd == rmap.CMD_START:
            self._start(now_ns)
        elif cmd == rmap.CMD_STOP:
            self.state = rmap.STATE_STOPPED
        elif cmd == rmap.CMD_CLEAR_COUNTERS:
            self.overflows = self.desyncs = self.not_ready_events = 0
            self.last_error = 0

    def _ack(self, seq32: int) -> None:
        seq = self.seq - ((self.seq - seq32) & 0xFFFFFFFF)  # the nearest at or before the newest
        if seq > self.acked:
            self.acked = min(seq, self.seq)
