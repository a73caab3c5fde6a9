"""The force plate's front end: four NAU7802 ADCs behind a TCA9548A mux (DESIGN.md §6).

All four NAU7802 answer at 0x2A, so each sits on its own mux channel; reading a corner is: select
its channel (one byte), read ``PU_CTRL`` for ``CR`` (one register), and when a conversion is
ready read the 24-bit result in one transaction. Each chip converts on its own clock, so corner
samples are up to one conversion period apart; a corner with no new conversion since the last
call is reported as stale (``None``), never repeated or interpolated here.

Corner states (:attr:`PlateFrontEnd.corner_state`):

``"ok"``
    Converting normally.
``"saturated"``
    The last conversion is at full scale (``±FULL_SCALE_COUNTS``): the value is returned, but the
    force is unknown (the acquisition flags the frame SATURATED).
``"stuck"``
    No new conversion for :attr:`PlateFrontEnd.stuck_timeout_ns` (``CR`` never sets), or the same
    value :attr:`PlateFrontEnd.stuck_repeats` times in a row (real noise makes that practically
    impossible at gain 128). Its value is not trusted: the corner is in the fault mask. It returns
    to ``"ok"`` by itself when a new, different conversion arrives.
``"down"``
    Bring-up failed, an I2C error outlasted the retries, or the chip was found reset (it lost
    power). It is not read again until :meth:`PlateFrontEnd.try_recover` brings it back.

Bring-up (:meth:`PlateFrontEnd.begin`) brings every corner up it can: a corner that fails is
marked down with the reason in :attr:`PlateFrontEnd.corner_error` (the acquisition flags its
frames FAULT_x and keeps going, and recovery is retried later); only when the mux is missing or no
corner at all comes up does it raise.
"""

from __future__ import annotations

from station.config import CORNERS
from station.hw.errors import (
    BusError,
    CalibrationError,
    ChipResetError,
    ChipTimeoutError,
    ConfigurationError,
    PlateUnavailableError,
    StationHardwareError,
)
from station.hw.i2c import as_retrying_bus
from station.hw.nau7802 import (
    FULL_SCALE_COUNTS,
    GAIN_CODES,
    LDO_CODES,
    LDO_SETTLE_NS,
    MIN_COUNTS,
    NAU7802,
    NAU7802_ADDRESS,
    PUR_POLL_NS,
    PUR_TIMEOUT_NS,
    RATE_CODES,
)
from station.hw.tca9548a import TCA9548A

RECOVERY_RETRY_NS = 1_000_000_000
"""A corner whose recovery failed is tried again this long after, ns."""
RECOVERY_FIRST_NS = 100_000_000
"""A corner that went down is first tried again this long after, ns."""

OK = "ok"
DOWN = "down"
SATURATED = "saturated"
STUCK = "stuck"


class PlateFrontEnd:
    """The four corner ADCs of the plate, in corner order FL, FR, BL, BR.

    Parameters
    ----------
    bus
        smbus2-compatible bus (wrapped in a :class:`~station.hw.i2c.RetryingBus` if not one).
    clock : station.clock.Clock
    mux_address : int
        TCA9548A address, 0x70..0x77.
    channels : tuple of 4 ints
        Mux channel of FL, FR, BL, BR.
    rate_sps : int
        NAU7802 conversion rate (10, 20, 40, 80, 320).
    gain : int
        NAU7802 PGA gain.
    ldo_v : float
        NAU7802 LDO voltage = load-cell excitation, V.
    bus_name : str
        For messages.
    stuck_timeout_periods : int
        A corner without a new conversion for this many nominal conversion periods is "stuck".
    stuck_repeats : int
        A corner returning the same value this many times in a row is "stuck".
    ldo_settle_ns : int
        Wait between powering the chips and calibrating them, ns.

    Attributes
    ----------
    FULL_SCALE_COUNTS : int
        Largest count (the smallest is ``-FULL_SCALE_COUNTS - 1``).
    corner_state : list of str
        Per corner: ``"ok"``, ``"down"``, ``"saturated"`` or ``"stuck"``.
    corner_error : list of (str or None)
        Per corner: why it went down or stuck (one line, user-facing), ``None`` when ``"ok"``.
    adcs : tuple of NAU7802
        The corner drivers.
    new_counts, stale_counts, fault_counts, recoveries : list of int
        Per corner: new conversions read, calls without a new one, calls with the corner in the
        fault mask, successful recoveries.
    """

    FULL_SCALE_COUNTS = FULL_SCALE_COUNTS
    MIN_COUNTS = MIN_COUNTS
    CORNERS = CORNERS

    def __init__(
        self,
        bus,
        clock,
        *,
        mux_address: int = 0x70,
        channels: tuple[int, int, int, int] = (0, 1, 2, 3),
        rate_sps: int = 320,
        gain: int = 128,
        ldo_v: float = 3.0,
        bus_name: str = "i2c-1",
        stuck_timeout_periods: int = 20,
        stuck_repeats: int = 32,
        ldo_settle_ns: int = LDO_SETTLE_NS,
    ) -> None:
        if len(channels) != 4 or len(set(channels)) != 4 or not all(0 <= c <= 7 for c in channels):
            raise ConfigurationError(f"the plate needs four different mux channels 0..7, got {channels!r}")
        if rate_sps not in RATE_CODES:
            raise ConfigurationError(f"NAU7802 rate {rate_sps!r} SPS is not available; choose 10, 20, 40, 80 or 320")
        if gain not in GAIN_CODES:
            raise ConfigurationError(f"NAU7802 gain {gain!r} is not available; choose 1, 2, 4, 8, 16, 32, 64 or 128")
        if round(float(ldo_v), 1) not in LDO_CODES:
            raise ConfigurationError(f"NAU7802 LDO voltage {ldo_v!r} V is not available; choose 2.4 to 4.5 V in 0.3 V steps")
        self.bus = as_retrying_bus(bus, clock, bus_name=bus_name)
        self._clock = clock
        self.bus_name = bus_name
        self.mux = TCA9548A(self.bus, clock, address=mux_address, bus_name=bus_name)
        self.channels = tuple(channels)
        self.rate_sps = rate_sps
        self.gain = gain
        self.ldo_v = ldo_v
        self.ldo_settle_ns = int(ldo_settle_ns)
        self.adcs = tuple(
            NAU7802(
                self.bus,
                clock,
                address=NAU7802_ADDRESS,
                bus_name=bus_name,
                where=f"corner {name}, mux 0x{mux_address:02x} channel {channel}",
            )
            for name, channel in zip(CORNERS, channels)
        )
        self._select = tuple(1 << c for c in channels)
        self._mux_address = mux_address
        self.corner_state = [DOWN] * 4
        self.corner_error: list[str | None] = ["not brought up yet"] * 4
        period_ns = 1_000_000_000 // rate_sps
        self.stuck_timeout_ns = stuck_timeout_periods * period_ns
        self.stuck_repeats = int(stuck_repeats)
        self._last_value: list[int | None] = [None] * 4
        self._repeats = [0] * 4
        self._last_new_ns = [0] * 4
        self.new_counts = [0] * 4
        self.stale_counts = [0] * 4
        self.fault_counts = [0] * 4
        self.recoveries = [0] * 4
        self.read_ns = [0] * 4
        self.prev_read_ns = [0] * 4
        self.recovery_retry_ns = RECOVERY_RETRY_NS
        self._recovering: list = [None] * 4  # per corner: the recovery's step generator
        self._resume_ns = [0] * 4  # per corner: when its recovery's next step may run
        self._retry_ns = [0] * 4  # per corner: when a new recovery may start

    # ------------------------------------------------------------------ bring-up
    def begin(self) -> None:
        """Bring up the mux and every corner it can (reset, power-up, configuration, one shared
        LDO settling wait, then the four internal calibrations running concurrently).

        Raises
        ------
        ChipNotFoundError, WrongChipError
            The mux is missing (nothing behind it can work).
        PlateUnavailableError
            No corner came up; the message lists each corner's reason.
        """
        self.mux.begin()
        for i in range(4):
            self._configure_corner(i)
        configured = [i for i in range(4) if self.corner_error[i] is None]
        if configured and self.ldo_settle_ns > 0:
            self._clock.sleep_ns(self.ldo_settle_ns)
        self._calibrate_corners(configured)
        now = self._clock.monotonic_ns()
        for i in configured:
            if self.corner_error[i] is None:
                self._mark_ok(i, now)
        if all(state == DOWN for state in self.corner_state):
            reasons = "; ".join(f"{name}: {err}" for name, err in zip(CORNERS, self.corner_error))
            raise PlateUnavailableError(f"no corner of the force plate came up ({reasons})")

    def _configure_corner(self, i: int) -> None:
        self.corner_state[i] = DOWN
        try:
            self.mux.select(self.channels[i])
            self.adcs[i].configure(rate_sps=self.rate_sps, gain=self.gain, ldo_v=self.ldo_v)
        except StationHardwareError as exc:
            self.corner_error[i] = self._reason(i, exc)
        else:
            self.corner_error[i] = None

    def _calibrate_corners(self, corners: list[int]) -> None:
        """Start the internal calibration on ``corners`` and wait for all of them."""
        clock = self._clock
        pending = []
        for i in corners:
            try:
                self.mux.select(self.channels[i])
                self.adcs[i].start_calibration()
                pending.append(i)
            except StationHardwareError as exc:
                self.corner_error[i] = self._reason(i, exc)
        if not pending:
            return
        attempts = {i: 1 for i in pending}
        timeout_ns = max(self.adcs[i].calibration_timeout_ns() for i in pending)
        poll_ns = max(self.adcs[pending[0]].conversion_period_ns // 2, 500_000)
        deadline = clock.monotonic_ns() + timeout_ns
        while pending:
            clock.sleep_ns(poll_ns)
            for i in list(pending):
                adc = self.adcs[i]
                try:
                    self.mux.select(self.channels[i])
                    state = adc.calibration_state()
                    if state == "busy":
                        continue
                    if state == "error" and attempts[i] < 2:
                        # CAL_ERR: the datasheet recommends calibrating again (§8.6.3).
                        attempts[i] += 1
                        adc.calibration_retries += 1
                        adc.start_calibration()
                        deadline = max(deadline, clock.monotonic_ns() + timeout_ns)
                        continue
                    if state == "error":
                        self.corner_error[i] = (
                            f"{adc.location}: the NAU7802 internal offset calibration failed (CAL_ERR = 1) twice; "
                            "check the load cell wiring (an open or shorted bridge input) and the excitation"
                        )
                except StationHardwareError as exc:
                    self.corner_error[i] = self._reason(i, exc)
                pending.remove(i)
            if pending and clock.monotonic_ns() >= deadline:
                for i in pending:
                    self.corner_error[i] = (
                        f"{self.adcs[i].location}: the NAU7802 internal calibration did not finish in "
                        f"{timeout_ns / 1e6:g} ms (CALS still set); check the chip's supply"
                    )
                return

    def _mark_ok(self, i: int, now_ns: int) -> None:
        self.corner_state[i] = OK
        self.corner_error[i] = None
        self._last_value[i] = None
        self._repeats[i] = 0
        self._last_new_ns[i] = now_ns

    def _reason(self, i: int, exc: Exception) -> str:
        """One-line reason for corner ``i``; bus errors get the corner's place prefixed."""
        if isinstance(exc, BusError):
            return f"corner {CORNERS[i]} ({self.adcs[i].where}): {exc}"
        return str(exc)

    def _mark_down(self, i: int, reason: str) -> None:
        if self.corner_state[i] != DOWN:
            # The first attempt to bring it back waits a little: a glitch passes, and a chip
            # that lost power is usually back within this time.
            self._retry_ns[i] = self._clock.monotonic_ns() + RECOVERY_FIRST_NS
        self.corner_state[i] = DOWN
        self.corner_error[i] = reason

    # ------------------------------------------------------------------ reading
    def read_corners(self, mask: int = 0b1111, order: tuple[int, ...] = (0, 1, 2, 3)) -> tuple[list[int | None], int]:
        """Poll the corners in ``mask`` (bit i: corner i; all four by default) once, in ``order``
        (corner indices; the acquisition reads first the corner whose unread conversion will be
        overwritten soonest).

        The time right after each polled corner's status read is kept in :attr:`read_ns`, the
        one before it in :attr:`prev_read_ns` (a new conversion happened between the two): the
        acquisition times each chip's conversions from these (:mod:`station.acquire.chipclock`).

        Returns
        -------
        values : list of 4 (int or None)
            Per corner, in order FL, FR, BL, BR: the new signed count, or ``None`` when no new
            conversion completed since the previous call (stale) or the corner faulted.
        fault_mask : int
            Bit i set when corner i faulted this call: it is down (I2C error after retries, found
            reset, or still down from before) or stuck. Saturated corners are not in the mask
            (their value is returned; see :attr:`corner_state`).
        """
        values: list[int | None] = [None, None, None, None]
        fault_mask = 0
        # Hot path (the acquisition calls this ~400 times a second): everything used per corner
        # is a local name.
        write_byte = self.bus.write_byte
        mux_address = self._mux_address
        select = self._select
        adcs = self.adcs
        state = self.corner_state
        monotonic_ns = self._clock.monotonic_ns
        read_ns = self.read_ns
        prev_read_ns = self.prev_read_ns
        last_value = self._last_value
        repeats = self._repeats
        last_new_ns = self._last_new_ns
        for i in order:
            if not mask >> i & 1:
                continue
            corner_state = state[i]
            if corner_state == DOWN:
                fault_mask |= 1 << i
                self.fault_counts[i] += 1
                continue
            # "Stuck" is judged on the time before the transaction: CR is sampled at its start, and a
            # process woken late inside or after it (a Pi under load; the bus's coalesced sleep) must
            # not read its own delay as a chip that stopped converting.
            before = monotonic_ns()
            try:
                write_byte(mux_address, select[i])
                value = adcs[i].read_if_ready()
            except (BusError, ChipResetError) as exc:
                self._mark_down(i, self._reason(i, exc))
                fault_mask |= 1 << i
                self.fault_counts[i] += 1
                continue
            now = monotonic_ns()
            prev_read_ns[i] = read_ns[i]
            read_ns[i] = now
            if value is None:
                self.stale_counts[i] += 1
                if before - last_new_ns[i] > self.stuck_timeout_ns:
                    if corner_state != STUCK:
                        corner_state = state[i] = STUCK
                        self.corner_error[i] = (
                            f"{adcs[i].location}: no new conversion for "
                            f"{(before - last_new_ns[i]) / 1e6:.0f} ms (CR never set)"
                        )
                if corner_state == STUCK:
                    fault_mask |= 1 << i
                    self.fault_counts[i] += 1
                continue
            self.new_counts[i] += 1
            last_new_ns[i] = now
            if value == last_value[i]:
                repeats[i] += 1
            else:
                repeats[i] = 1
                last_value[i] = value
            if value >= FULL_SCALE_COUNTS or value <= MIN_COUNTS:
                state[i] = SATURATED
                self.corner_error[i] = None
                values[i] = value
            elif repeats[i] >= self.stuck_repeats:
                if corner_state != STUCK:
                    state[i] = STUCK
                    self.corner_error[i] = f"{adcs[i].location}: the same value {value} {repeats[i]} times in a row"
                fault_mask |= 1 << i
                self.fault_counts[i] += 1
            else:
                if corner_state != OK:
                    state[i] = OK
                    self.corner_error[i] = None
                values[i] = value
        return values, fault_mask

    # ------------------------------------------------------------------ recovery
    def recovery_step(self, now_ns: int, *, include_stuck: bool = False) -> list[str]:
        """Advance the recovery of every corner that is down (and stuck, with ``include_stuck``;
        a stuck corner otherwise returns to ``"ok"`` by itself) by one short step.

        Recovery is a sequence of steps (:meth:`_recovery_steps`), each a few I2C transactions
        (at most about 1 ms of bus time: the register writes are split in two), with the waits
        between them (power-up, LDO settling, the internal calibration) spent across later calls
        instead of sleeping. The acquisition calls this once per frame, so the other corners and
        the IMU keep being read on time while one corner comes back. A recovery that fails marks
        the corner down with the reason and starts again :attr:`recovery_retry_ns` later.

        Returns
        -------
        list of str
            Names of the corners that came back in this call.
        """
        recovered = []
        for i in range(4):
            steps = self._recovering[i]
            if steps is None:
                state = self.corner_state[i]
                if not (state == DOWN or (include_stuck and state == STUCK)) or now_ns < self._retry_ns[i]:
                    continue
                steps = self._recovering[i] = self._recovery_steps(i)
                self._resume_ns[i] = now_ns
            if now_ns < self._resume_ns[i]:
                continue
            try:
                self._resume_ns[i] = next(steps)
            except StopIteration:
                self._recovering[i] = None
                self._finish_recovery(i, CORNERS[i], recovered)
            except StationHardwareError as exc:
                self._recovering[i] = None
                self._mark_down(i, self._reason(i, exc))
                self._retry_ns[i] = now_ns + self.recovery_retry_ns
        return recovered

    def recovering(self, i: int) -> bool:
        """Whether corner ``i`` is in the middle of a recovery."""
        return self._recovering[i] is not None

    def _recovery_steps(self, i: int):
        """The steps of corner ``i``'s recovery; each ``yield`` gives the earliest time of the next.

        A chip that still holds this driver's configuration (a transient fault) is back at once;
        one found in its power-on state (it lost power) is reset, powered up, configured, left
        for the LDO to settle and calibrated again, as :meth:`begin` does.
        """
        clock, adc, select = self._clock, self.adcs[i], self.mux.select
        channel = self.channels[i]
        select(channel)
        adc.probe()
        if self.corner_state[i] == DOWN and adc.is_configured():
            return
        yield clock.monotonic_ns()
        select(channel)
        adc.reset_and_power_up()
        pur_deadline = clock.monotonic_ns() + PUR_TIMEOUT_NS
        while True:
            yield clock.monotonic_ns() + PUR_POLL_NS
            select(channel)
            if adc.power_up_ready():
                break
            if clock.monotonic_ns() >= pur_deadline:
                raise adc.power_up_timeout(PUR_TIMEOUT_NS)
        yield clock.monotonic_ns()
        select(channel)
        adc.write_configuration(rate_sps=self.rate_sps, gain=self.gain, ldo_v=self.ldo_v)
        yield clock.monotonic_ns() + self.ldo_settle_ns
        for attempt in (1, 2):
            select(channel)
            adc.start_calibration()
            deadline = clock.monotonic_ns() + adc.calibration_timeout_ns()
            poll_ns = max(adc.conversion_period_ns // 2, 500_000)
            while True:
                yield clock.monotonic_ns() + poll_ns
                select(channel)
                state = adc.calibration_state()
                if state != "busy":
                    break
                if clock.monotonic_ns() >= deadline:
                    raise ChipTimeoutError(
                        f"{adc.location}: the NAU7802 internal calibration did not finish within "
                        f"{adc.calibration_timeout_ns() / 1e6:g} ms (CALS still set); check the chip's supply"
                    )
            if state == "done":
                return
            if attempt == 1:
                adc.calibration_retries += 1
        raise CalibrationError(
            f"{adc.location}: the NAU7802 internal offset calibration failed (CAL_ERR = 1) twice; "
            "check the load cell wiring (an open or shorted bridge input) and the excitation voltage"
        )

    def try_recover(self) -> list[str]:
        """Bring back the corners that are down or stuck now, waiting as long as that takes
        (the same steps as :meth:`recovery_step`, for bring-up and tests; the acquisition uses
        :meth:`recovery_step` so that it never blocks).

        Returns
        -------
        list of str
            Names of the corners recovered (``"fl"``...).
        """
        clock = self._clock
        saved_retry = self._retry_ns
        self._retry_ns = [0] * 4
        recovered: list[str] = []
        try:
            recovered += self.recovery_step(clock.monotonic_ns(), include_stuck=True)
            while any(steps is not None for steps in self._recovering):
                wake = min(self._resume_ns[i] for i in range(4) if self._recovering[i] is not None)
                clock.sleep_until_ns(wake)
                self._retry_ns = [1 << 62] * 4  # no new attempt within this call
                recovered += self.recovery_step(clock.monotonic_ns(), include_stuck=True)
        finally:
            self._retry_ns = saved_retry
        return recovered

    def _finish_recovery(self, i: int, name: str, recovered: list[str]) -> None:
        self._mark_ok(i, self._clock.monotonic_ns())
        self.recoveries[i] += 1
        recovered.append(name)

    # ------------------------------------------------------------------ reporting
    def health(self) -> dict:
        """Per-corner state, reason and counters, and the bus error counters (JSON-friendly)."""
        return {
            "corners": {
                name: {
                    "state": self.corner_state[i],
                    "error": self.corner_error[i],
                    "new": self.new_counts[i],
                    "stale": self.stale_counts[i],
                    "faults": self.fault_counts[i],
                    "recoveries": self.recoveries[i],
                    "register_rewrites": self.adcs[i].register_rewrites,
                    "calibration_retries": self.adcs[i].calibration_retries,
                }
                for i, name in enumerate(CORNERS)
            },
            "bus": {
                "errors": self.bus.errors_total,
                "retries": self.bus.retries_total,
                "failures": self.bus.failures_total,
            },
        }
