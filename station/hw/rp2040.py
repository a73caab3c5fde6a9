"""Driver of the RP2040 load-cell front end: four HX711/HX717 sampled at once by the RP2040's
PIO, every set numbered and timestamped there, read by the Pi as an I2C target
(``firmware/rp2040``; register map in ``station/hw/rp2040_map.py`` and the firmware's README).

The plate's second front end (``[plate] front_end = "rp2040"``). Unlike the NAU7802 plate, the
four corners of a set were converted together and the RP2040 owns the sampling clock, so the Pi's
scheduling is no longer in the measurement: the Pi reads the sets it has not seen yet once per
frame, and times each by regression (:mod:`station.hw.rp2040_clock`).

Every set is delivered once, in order, or counted as lost, never invented:

* a set is asked for by its sequence number (slot ``seq % slots`` of the ring); a slot that holds
  a later set was overwritten before the Pi read it (``sets_lost_overflow``), and the firmware
  counts the overflows it sees against the Pi's acknowledgements;
* a record whose CRC fails is read again at the next poll (``crc_errors``; nothing is lost unless
  the ring overwrote it meanwhile);
* a front end that restarted (new boot id) loses what it had not handed over
  (``sets_lost_reset``, estimated from the time it was away) and is timed afresh;
* a corner whose value is an in-band error (a chip not ready, a desync) gives no value for that
  set (``not_ready_values``, ``desync_values`` per corner).

Corner states are those of :class:`station.hw.plate.PlateFrontEnd` (``ok``, ``saturated``,
``down``); ``stuck`` is not used (a frozen HX711 keeps DOUT high and is reported not ready).
"""

from __future__ import annotations

import binascii
from ctypes import create_string_buffer, memmove

from smbus2 import i2c_msg
from smbus2.smbus2 import I2C_M_RD

from station.config import CORNERS
from station.hw import rp2040_map as rmap
from station.hw.errors import (
    BusError,
    ChipNotFoundError,
    ChipTimeoutError,
    ConfigurationError,
    PlateUnavailableError,
    StationHardwareError,
    WrongChipError,
    wiring_hint,
)
from station.hw.i2c import as_retrying_bus
from station.hw.rp2040_clock import ClockSync, LinearFit, Unwrap32
from station.hw.steps import run_steps

OK = "ok"
DOWN = "down"
SATURATED = "saturated"
_ALL_OK = [OK, OK, OK, OK]

START_POLL_NS = 5_000_000
"""Status polls while the front end starts, ns."""
START_TIMEOUT_NS = 2_000_000_000
"""The chips' settling (400 ms at 10 SPS) and the firmware's start, with margin, ns."""
RECOVERY_RETRY_NS = 1_000_000_000
MAX_SETS_PER_READ = 16
"""Sets read in one poll (16 × 26 bytes ≈ 9.4 ms of bus at 400 kHz); the rest at the next."""
DOUT_PINS = ("GP2", "GP3", "GP4", "GP5")
"""Where each corner's DOUT goes with the firmware's default ``config.py``."""


class RP2040FrontEnd:
    """The plate's four corners through the RP2040 front end, in corner order FL, FR, BL, BR.

    Parameters
    ----------
    bus
        smbus2-compatible bus (wrapped in a :class:`~station.hw.i2c.RetryingBus`).
    clock : station.clock.Clock
    address : int
        The front end's 7-bit I2C address (``plate.rp2040_address``).
    rate_sps : int
        What the boards' RATE pins select (HX711: 10, 80; HX717: 10, 20, 80, 320); checked
        against the firmware's identity.
    gain : int
        Channel A gain, 128 or 64; checked against the firmware's identity.
    bus_name : str
        For messages.

    Attributes
    ----------
    timestamps_samples : bool
        True: the acquisition reads :meth:`read_sets` once per frame instead of polling
        conversions (the front end keeps them).
    corner_state, corner_error : list
        As :class:`station.hw.plate.PlateFrontEnd`.
    sets, sets_lost_overflow, sets_lost_reset, crc_errors, front_end_resets : int
        Sets delivered; lost because the ring overwrote them or because the front end restarted;
        records or status blocks whose CRC failed (read again); restarts seen.
    new_counts, not_ready_values, desync_values : list of int
        Per corner: values delivered, sets in which the chip was not ready or out of step.
    """

    timestamps_samples = True
    FULL_SCALE_COUNTS = rmap.FULL_SCALE_COUNTS
    MIN_COUNTS = rmap.MIN_COUNTS
    CORNERS = CORNERS

    def __init__(self, bus, clock, *, address: int = rmap.DEFAULT_ADDRESS, rate_sps: int = 80, gain: int = 128,
                 bus_name: str = "i2c-1") -> None:
        if not 0x08 <= address <= 0x77:
            raise ConfigurationError(f"RP2040 front end address must be 0x08..0x77, got 0x{address:02x}")
        if gain not in rmap.GAIN_PULSES:
            raise ConfigurationError(f"HX711 gain {gain!r} is not available on channel A; choose 128 or 64")
        if rate_sps not in rmap.RATES_SPS["HX717"]:
            raise ConfigurationError(f"HX711/HX717 rate {rate_sps!r} SPS is not available; choose 10, 20, 80 or 320 (HX717)")
        self.bus = as_retrying_bus(bus, clock, bus_name=bus_name)
        self._clock = clock
        self.address = address
        self.rate_sps = rate_sps
        self.gain = gain
        self.bus_name = bus_name
        self.location = f"RP2040 front end at 0x{address:02x} on {bus_name}"
        self.kind = "load cell ADC (HX711 via RP2040)"
        self.where = [f"HX711 board with DOUT on {pin}" for pin in DOUT_PINS]
        self.identity: rmap.Identity | None = None
        self.status: rmap.Status | None = None
        self.corner_state = [DOWN] * 4
        self.corner_error: list[str | None] = ["not brought up yet"] * 4
        self.new_counts = [0] * 4
        self.stale_counts = [0] * 4
        self.fault_counts = [0] * 4
        self.recoveries = [0] * 4
        self.not_ready_values = [0] * 4
        self.desync_values = [0] * 4
        self.sets = 0
        self.sets_lost_overflow = 0
        self.sets_lost_reset = 0
        self.crc_errors = 0
        self.front_end_resets = 0
        self.sync = ClockSync()
        self.set_fit = LinearFit(1e6 / rate_sps, decay=1.0 / 256, min_fit=16, tolerance=0.2)
        self._fe_unwrap = Unwrap32()
        self._t_unwrap = Unwrap32()
        self._boot_id: int | None = None
        self._expected = 0
        self._last_read_ns = 0
        self._front_end_down = True
        self._recovery = None
        self._resume_ns = 0
        self._retry_ns = 0
        self._valid_share = [1.0, 1.0, 1.0, 1.0]  # per corner, over about the last 2 s of sets
        self._share_decay = 1.0 / (2 * rate_sps)
        self._came_back: list[str] = []
        # The messages of the transfers made every frame, built once (a new i2c_msg and its
        # buffer cost more than the rest of a transfer's Python work): the status read, the
        # ring's register pointers and one read buffer for up to MAX_SETS_PER_READ records,
        # the acknowledgement (its 4 value bytes rewritten in place).
        self._status_buf = create_string_buffer(rmap.STATUS_SIZE)
        self._status_msgs = (i2c_msg.write(address, rmap.address_bytes(rmap.REG_STATUS)),
                             i2c_msg(addr=address, flags=I2C_M_RD, len=rmap.STATUS_SIZE, buf=self._status_buf))
        self._ring_buf = create_string_buffer(MAX_SETS_PER_READ * rmap.RECORD_SIZE)
        self._ring_read = i2c_msg(addr=address, flags=I2C_M_RD, len=0, buf=self._ring_buf)
        self._ring_pointers: dict[int, i2c_msg] = {}
        self._ack_msg = i2c_msg.write(address, rmap.address_bytes(rmap.REG_ACK) + [0, 0, 0, 0])
        self._ack_prefix = bytes(rmap.address_bytes(rmap.REG_ACK))

    # ------------------------------------------------------------------ bus
    def _read(self, register: int, length: int) -> bytes:
        write = i2c_msg.write(self.address, rmap.address_bytes(register))
        read = i2c_msg.read(self.address, length)
        self.bus.i2c_rdwr(write, read)
        return bytes(read)

    def _read_ring(self, slot: int, count: int) -> bytes:
        """``count`` records from ring slot ``slot`` on, in one transfer (prepared messages)."""
        register = rmap.REG_RING + slot * rmap.RECORD_SIZE
        pointer = self._ring_pointers.get(register)
        if pointer is None:
            pointer = self._ring_pointers[register] = i2c_msg.write(self.address, rmap.address_bytes(register))
        read = self._ring_read
        read.len = length = count * rmap.RECORD_SIZE
        self.bus.i2c_rdwr(pointer, read)
        return self._ring_buf.raw[:length]

    def _write_ack(self) -> None:
        """Acknowledge every set before the next one wanted (``_expected``)."""
        msg = self._ack_msg
        memmove(msg.buf, self._ack_prefix + (self._expected & 0xFFFFFFFF).to_bytes(4, "little"), 6)
        self.bus.i2c_rdwr(msg)

    def _write(self, register: int, data: bytes) -> None:
        self.bus.i2c_rdwr(i2c_msg.write(self.address, rmap.address_bytes(register) + list(data)))

    def _read_status(self) -> tuple[rmap.Status | None, int, int]:
        """The status block and the window of the read that brought it; a block that fails its
        CRC (corrupted on the wire, or replaced by the firmware in the middle of the read) is
        read once more at once."""
        monotonic_ns = self._clock.monotonic_ns
        rdwr, msgs, buf = self.bus.i2c_rdwr, self._status_msgs, self._status_buf
        for _attempt in range(2):
            lo = monotonic_ns()
            rdwr(*msgs)
            hi = monotonic_ns()
            status = rmap.parse_status(buf.raw)
            if status is not None:
                return status, lo, hi
            self.crc_errors += 1
        return None, lo, hi

    # ------------------------------------------------------------------ bring-up
    def read_identity(self) -> rmap.Identity:
        """Read and check the identity block (WHO_AM_I, map version, rate and gain).

        Raises
        ------
        ChipNotFoundError, WrongChipError, ConfigurationError
        """
        for _attempt in range(3):
            try:
                block = self._read(rmap.REG_IDENTITY, rmap.IDENTITY_SIZE)
            except BusError as exc:
                if exc.errno == 121:
                    raise ChipNotFoundError(
                        f"no RP2040 front end answers at 0x{self.address:02x} on {self.bus_name}: "
                        f"{wiring_hint(self.bus_name)}; is the firmware of firmware/rp2040 flashed (docs/wiring.md)?",
                        bus_name=self.bus_name, address=self.address, chip="RP2040 front end") from None
                raise
            identity = rmap.parse_identity(block)
            if identity is not None:
                break
            self.crc_errors += 1
        else:
            raise WrongChipError(
                f"the device at 0x{self.address:02x} on {self.bus_name} is not an RP2040 front end (its identity block "
                "fails its CRC three times): check the address (plate.rp2040_address) and the firmware",
                bus_name=self.bus_name, address=self.address, chip="RP2040 front end", read_value=block[0])
        if identity.who_am_i != rmap.WHO_AM_I:
            raise WrongChipError(
                f"the device at 0x{self.address:02x} on {self.bus_name} reads WHO_AM_I 0x{identity.who_am_i:02x}, "
                f"not the RP2040 front end's 0x{rmap.WHO_AM_I:02x}: check plate.rp2040_address",
                bus_name=self.bus_name, address=self.address, chip="RP2040 front end", read_value=identity.who_am_i)
        if identity.map_version != rmap.MAP_VERSION:
            raise ConfigurationError(
                f"{self.location} speaks register map version {identity.map_version}, this station version "
                f"{rmap.MAP_VERSION}: flash the firmware in firmware/rp2040 of this station version")
        if identity.rate_sps != self.rate_sps:
            raise ConfigurationError(
                f"{self.location}: its boards run at {identity.rate_sps} SPS (firmware config.py RATE_SPS) but "
                f"plate.adc_rate_sps = {self.rate_sps}: make them agree (and the boards' RATE pins)")
        if identity.gain != self.gain:
            raise ConfigurationError(
                f"{self.location}: the firmware reads gain {identity.gain} but plate.adc_gain = {self.gain}: make them agree")
        if identity.rate_sps not in rmap.RATES_SPS.get(identity.chip, ()):
            raise ConfigurationError(f"{self.location}: an {identity.chip} has no {identity.rate_sps} SPS rate")
        self.identity = identity
        self.kind = f"load cell ADC ({identity.chip} via RP2040)"
        self.where = [f"{identity.chip} board with DOUT on {pin}" for pin in DOUT_PINS]
        return identity

    def begin_steps(self):
        """Bring-up as steps (see :mod:`station.hw.steps`): identity, START, wait until running."""
        clock = self._clock
        self.read_identity()
        if self._boot_id is not None:
            status, lo, hi = self._read_status()
            if status is not None and status.boot_id == self._boot_id and status.state == rmap.STATE_RUNNING:
                # It kept running (the bus failed, not the front end): carry on from the next set
                # wanted, which it still holds unless its ring went round meanwhile (then counted).
                self._front_end_down = False
                self.sync.observe(self._fe_unwrap(status.clock_us), lo, hi)
                for i in range(4):
                    self.corner_state[i], self.corner_error[i] = OK, None
                self._apply_not_ready_mask(status)
                return
        self._write(rmap.REG_COMMAND, bytes((rmap.CMD_START,)))
        deadline = clock.monotonic_ns() + START_TIMEOUT_NS
        while True:
            yield clock.monotonic_ns() + START_POLL_NS
            status, lo, hi = self._read_status()
            if status is None:
                continue
            if status.state == rmap.STATE_RUNNING:
                break
            if status.state == rmap.STATE_NO_CHIP:
                raise PlateUnavailableError(
                    f"{self.location}: no HX711 is ready (every DOUT stays high): check the boards' power (VCC, VDD, GND) "
                    "and the DOUT wires")
            if clock.monotonic_ns() >= deadline:
                raise ChipTimeoutError(
                    f"{self.location} did not start reading within {START_TIMEOUT_NS / 1e9:g} s "
                    f"(state: {status.state_name}): check the boards' power and wiring")
        self._adopt(status, lo, hi)

    def begin(self) -> None:
        """Bring the front end up, waiting as long as that takes.

        Raises
        ------
        ChipNotFoundError, WrongChipError, ConfigurationError, PlateUnavailableError, ChipTimeoutError
        """
        run_steps(self.begin_steps(), self._clock)

    def _adopt(self, status: rmap.Status, lo: int, hi: int) -> None:
        """Start reading a (re)started front end from the oldest set it holds."""
        self.sync.reset()
        self.set_fit.reset()
        self._fe_unwrap.reset()
        self._t_unwrap.reset()
        self._boot_id = status.boot_id
        self._expected = status.acked_seq
        self.sync.observe(self._fe_unwrap(status.clock_us), lo, hi)
        self._last_read_ns = hi
        self._front_end_down = False
        self.status = status
        for i in range(4):
            if self.corner_state[i] == DOWN:
                self.corner_state[i] = OK
                self.corner_error[i] = None
        self._apply_not_ready_mask(status)

    def _apply_not_ready_mask(self, status: rmap.Status) -> None:
        mask = status.not_ready_mask
        if mask:
            for i in range(4):
                if mask >> i & 1:
                    self._chip_not_ready(i)

    def _chip_not_ready(self, i: int) -> None:
        self.corner_state[i] = DOWN
        self.corner_error[i] = (
            f"corner {CORNERS[i].upper()} ({self.where[i]}): not ready (its DOUT never goes low): "
            "check the board's power and its DOUT wire")

    # ------------------------------------------------------------------ reading
    def read_sets(self, until_ns: float | None = None) -> list[tuple[float, list[int | None]]]:
        """Every set the front end made since the last call, oldest first, as
        ``(time_ns, values)``: the set's time on this clock (by regression, see the module) and
        per corner the signed count, or None when that chip gave no value in the set (not ready,
        out of step) or the corner is down. Empty while the front end is down (then every corner
        is down with the reason).

        With ``until_ns`` (ns on this clock, a frame's deadline), only the sets timed up to it and
        the next one are read; the rest wait in the front end's ring for the next call. A frame
        catching up after a late wake-up then spends the bus time of its own sets only, not of
        the whole backlog (16 sets take 9.4 ms of a 10 ms frame at 400 kHz), so the frames
        behind catch up instead of falling further behind."""
        if self._front_end_down:
            return []
        try:
            status, lo, hi = self._read_status()
            if status is None:
                return []
            if status.boot_id != self._boot_id:
                self._restarted(status, hi)
                return []
            if status.state == rmap.STATE_STOPPED:  # stopped by someone else: start it again
                self._write(rmap.REG_COMMAND, bytes((rmap.CMD_START,)))
                return []
            if status.state == rmap.STATE_STARTING:
                return []
            self.status = status
            self.sync.observe(self._fe_unwrap(status.clock_us), lo, hi)
            self._last_read_ns = hi
            if status.state == rmap.STATE_NO_CHIP:
                for i in range(4):
                    self._chip_not_ready(i)
                return []
            out = self._read_records(status, until_ns)
            self._write_ack()
        except (BusError, OSError) as exc:
            self._front_end_failed(exc)
            return []
        self._apply_not_ready_mask(status)
        return out

    def skip_backlog(self) -> int:
        """Acknowledge every set made so far without delivering it (the acquisition starts: they
        belong to no frame; not counted as lost). Returns how many were skipped."""
        if self._front_end_down:
            return 0
        try:
            status, lo, hi = self._read_status()
            if status is None or status.boot_id != self._boot_id:
                return 0
            self.sync.observe(self._fe_unwrap(status.clock_us), lo, hi)
            self._last_read_ns = hi
            skipped = max(0, self._full_seq(status.next_seq) - self._expected)
            self._expected += skipped
            self._write_ack()
            # The firmware counted overwriting those unread sets as overflows: start its counts
            # afresh with the acquisition.
            self._write(rmap.REG_COMMAND, bytes((rmap.CMD_CLEAR_COUNTERS,)))
        except (BusError, OSError) as exc:
            self._front_end_failed(exc)
            return 0
        return skipped

    def skip_sets_until(self, until_ns: float) -> int:
        """Give up, without reading them, the sets timed more than half a set period before
        ``until_ns`` (ns on this clock): the frames they belonged to were lost, and reading them
        would only delay the frames that follow. The next :meth:`read_sets` acknowledges them.
        Returns how many (the caller counts them; those near ``until_ns`` are read and sorted
        by their times)."""
        if self._front_end_down or not self.set_fit.n:
            return 0
        limit = until_ns - 0.5e9 / self.rate_sps
        n = 0
        while self.sync.host_ns(self.set_fit.predict(self._expected + n)) <= limit:
            n += 1
        self._expected += n
        return n

    def _full_seq(self, seq32: int) -> int:
        """A 32-bit sequence number as the nearest full one to the next expected."""
        delta = (seq32 - self._expected) & 0xFFFFFFFF
        if delta >= 0x80000000:
            delta -= 0x100000000
        return self._expected + delta

    def _read_records(self, status: rmap.Status, until_ns: float | None = None) -> list:
        """The sets from the next one wanted up to ``status``'s newest (at most
        MAX_SETS_PER_READ; with ``until_ns``, those timed up to it and one more), each checked
        against its CRC and sequence number, timed and delivered (see :meth:`read_sets`).

        Every set is handled inline (one struct unpack, one CRC call, the regression); a set
        whose four values are counts in range while every corner is ``ok`` (nearly all of them)
        takes a short path with the same result as :meth:`_values_of`."""
        slots = status.capacity
        expected = self._expected
        next_seq = self._full_seq(status.next_seq)
        available = next_seq - expected
        if available <= 0:
            return []
        if available > slots:  # the ring went round before the Pi came back: those are gone
            lost = available - slots
            self.sets_lost_overflow += lost
            self._expected = expected = expected + lost
            available = slots
        n = min(available, MAX_SETS_PER_READ)
        set_fit, sync = self.set_fit, self.sync
        # Only the sets due by until_ns and the next one. Their predicted times rise with the
        # sequence number (both fits' slopes are positive), so when the last but one is due,
        # all before it are: one prediction decides the usual case.
        if until_ns is not None and set_fit.n and n > 1 and sync.host_ns(set_fit.predict(expected + n - 2)) > until_ns:
            due = 0
            while due < n and sync.host_ns(set_fit.predict(expected + due)) <= until_ns:
                due += 1
            n = min(n, due + 1)
        out: list = []
        unpack, crc = rmap.RECORD_STRUCT.unpack_from, binascii.crc_hqx
        size = rmap.RECORD_SIZE
        body = size - 2
        low, high = rmap.MIN_COUNTS, rmap.FULL_SCALE_COUNTS
        t_unwrap, observe, predict, host_ns = self._t_unwrap, set_fit.observe, set_fit.predict, sync.host_ns
        state, new_counts, share, decay = self.corner_state, self.new_counts, self._valid_share, self._share_decay
        first = expected
        while n > 0:
            slot = first % slots
            run = min(n, slots - slot)
            block = self._read_ring(slot, run)
            for offset in range(0, run * size, size):
                seq32, t_us, a, b, c, d, check = unpack(block, offset)
                if crc(block[offset:offset + body], 0xFFFF) != check:
                    self.crc_errors += 1
                    return out  # read it again at the next poll
                delta = (seq32 - expected) & 0xFFFFFFFF  # the full sequence number, as _full_seq
                if delta:
                    if delta < 0x80000000:  # overwritten by a later set while the Pi was reading
                        self.sets_lost_overflow += 1
                        self._expected = expected = expected + 1
                        continue
                    return out  # not written yet (cannot happen below next_seq): read again later
                observe(expected, t_unwrap(t_us))
                t_ns = host_ns(predict(expected))
                if low < a < high and low < b < high and low < c < high and low < d < high and state == _ALL_OK:
                    values: tuple | list = (a, b, c, d)
                    new_counts[0] += 1
                    new_counts[1] += 1
                    new_counts[2] += 1
                    new_counts[3] += 1
                    share[0] += decay * (1 - share[0])
                    share[1] += decay * (1 - share[1])
                    share[2] += decay * (1 - share[2])
                    share[3] += decay * (1 - share[3])
                else:
                    values = self._values_of((a, b, c, d))
                self.sets += 1
                self._expected = expected = expected + 1
                out.append((t_ns, values))
            first += run
            n -= run
        return out

    def _values_of(self, raw: tuple[int, int, int, int]) -> list[int | None]:
        """A set's values, per corner the count or None (an in-band error, counted), and the
        corners' states from them."""
        values: list[int | None] = [None, None, None, None]
        state = self.corner_state
        for i in range(4):
            v = raw[i]
            if v == rmap.ERR_NOT_READY:
                self.not_ready_values[i] += 1
                self._chip_not_ready(i)
                self.fault_counts[i] += 1
                continue
            if v >= rmap.ERR_BASE:
                self.desync_values[i] += 1  # this set's value of this chip is lost; the chip is fine
                continue
            if state[i] == DOWN:
                self.recoveries[i] += 1
                self._came_back.append(CORNERS[i])
            if v >= rmap.FULL_SCALE_COUNTS or v <= rmap.MIN_COUNTS:
                state[i] = SATURATED
            else:
                state[i] = OK
            self.corner_error[i] = None
            self.new_counts[i] += 1
            values[i] = v
        decay, share = self._share_decay, self._valid_share
        for i in range(4):
            share[i] += decay * ((values[i] is not None) - share[i])
        return values

    def _restarted(self, status: rmap.Status, now_ns: int) -> None:
        """The front end restarted (power, watchdog, a new flash): what it had not handed over
        is gone (estimated from the time since the last read, less what the new run holds); it
        is timed afresh from what it holds now."""
        self.front_end_resets += 1
        away_s = (now_ns - self._last_read_ns) / 1e9
        self.sets_lost_reset += max(0, round(away_s * self.rate_sps) - status.buffered)
        if status.state == rmap.STATE_STOPPED:
            self._write(rmap.REG_COMMAND, bytes((rmap.CMD_START,)))
        self._adopt(status, now_ns, now_ns)

    def _front_end_failed(self, exc: Exception) -> None:
        self._front_end_down = True
        self._retry_ns = self._clock.monotonic_ns() + 100_000_000
        self._mark_all_down(f"{self.location}: {exc}")

    def _mark_all_down(self, reason: str) -> None:
        for i in range(4):
            self.corner_state[i] = DOWN
            self.corner_error[i] = reason

    # ------------------------------------------------------------------ recovery
    def recovery_step(self, now_ns: int, *, include_stuck: bool = False) -> list[str]:
        """One short step of bringing a front end that stopped answering (or restarted) back;
        chips that were not ready come back by themselves (the firmware takes them back). Returns
        the corners that came back since the last call."""
        came_back = self._came_back
        self._came_back = []
        if not self._front_end_down:
            return came_back
        if self._recovery is None:
            if now_ns < self._retry_ns:
                return came_back
            self._recovery = self.begin_steps()
            self._resume_ns = now_ns
        if now_ns < self._resume_ns:
            return came_back
        try:
            self._resume_ns = next(self._recovery)
        except StopIteration:
            self._recovery = None
            for i in range(4):
                if self.corner_state[i] != DOWN:
                    self.recoveries[i] += 1
                    came_back.append(CORNERS[i])
        except (StationHardwareError, OSError) as exc:
            self._recovery = None
            self._retry_ns = now_ns + RECOVERY_RETRY_NS
            self._mark_all_down(str(exc) if isinstance(exc, StationHardwareError) else f"{self.location}: {exc}")
        return came_back

    def recovering(self, i: int) -> bool:
        """Whether corner ``i`` is on its way back: the front end is being brought up again, or
        the chip is not ready (the firmware takes it back by itself once it converts again; the
        acquisition then learns from :meth:`recovery_step` that it came back)."""
        return self._recovery is not None or self.corner_state[i] == DOWN

    def try_recover(self) -> list[str]:
        """Bring the front end back now, waiting as long as that takes."""
        self._retry_ns = 0
        recovered: list[str] = []
        clock = self._clock
        recovered += self.recovery_step(clock.monotonic_ns())
        while self._recovery is not None:
            clock.sleep_until_ns(self._resume_ns)
            recovered += self.recovery_step(clock.monotonic_ns())
        return recovered

    # ------------------------------------------------------------------ reporting
    def set_rate_hz(self) -> float | None:
        """Sets per second on this clock, by the two regressions (None until fitted)."""
        if not self.set_fit.fitted or not self.sync.fit.fitted:
            return None
        return 1e9 / (self.set_fit.slope * self.sync.fit.slope)

    def chip_rates_hz(self) -> dict[str, float | None]:
        """Per corner: the values it delivered per second over about the last two seconds (the
        set rate times its share of valid values: a board dragging the set rate down shows in all
        four, a failing one in its own; None when it delivers next to nothing)."""
        rate = self.set_rate_hz()
        out: dict[str, float | None] = {}
        for i, corner in enumerate(CORNERS):
            share = self._valid_share[i]
            out[corner] = None if rate is None or share < 0.01 else rate * share
        return out

    def health(self) -> dict:
        status = self.status
        return {
            "corners": {
                name: {
                    "state": self.corner_state[i],
                    "error": self.corner_error[i],
                    "new": self.new_counts[i],
                    "not_ready": self.not_ready_values[i],
                    "desync": self.desync_values[i],
                    "recoveries": self.recoveries[i],
                }
                for i, name in enumerate(CORNERS)
            },
            "front_end": {
                "address": f"0x{self.address:02X}",
                "chip": None if self.identity is None else self.identity.chip,
                "firmware": None if self.identity is None else self.identity.firmware,
                "state": None if status is None else status.state_name,
                "sets": self.sets,
                "sets_lost_overflow": self.sets_lost_overflow,
                "sets_lost_reset": self.sets_lost_reset,
                "crc_errors": self.crc_errors,
                "resets": self.front_end_resets,
                "firmware_overflows": None if status is None else status.overflows,
                "firmware_desyncs": None if status is None else status.desyncs,
                "last_error": None if status is None else rmap.LAST_ERRORS.get(status.last_error),
                "clock_sync_skipped": self.sync.skipped,
            },
            "bus": {
                "errors": self.bus.errors_total,
                "retries": self.bus.retries_total,
                "failures": self.bus.failures_total,
            },
        }

    @property
    def sets_lost(self) -> int:
        return self.sets_lost_overflow + self.sets_lost_reset
