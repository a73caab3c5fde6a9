"""Build the station's simulated hardware: the plate (TCA9548A + four NAU7802 + load cells) and
the IMU on one simulated I2C bus, from the station configuration.

::

    hw = build_simulated_hardware(clock, ConstantLoad(), config, seed=1)
    plate = PlateFrontEnd(hw.bus, clock, mux_address=config.plate.mux_address, ...)
    plate.begin()
    hw.load_source = person          # whatever stands on the plate from now on

Every random choice (load-cell spread, ADC clocks and noise, IMU clock and noise) comes from
``seed``, so the same seed and the same driver schedule give the same readings.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from station.config import CORNERS, StationConfig
from station.sim.bus import SimulatedBus
from station.sim.loadcell import LoadCell, LoadedPlate, make_load_cells
from station.sim.lsm6dsox_model import LSM6DSOXModel
from station.sim.mpu6050_model import MPU6050Model
from station.sim.nau7802_model import NAU7802_ADDRESS, NAU7802Model
from station.sim.rp2040_model import RP2040FrontEndModel
from station.sim.static_load import ConstantLoad
from station.sim.tca9548a_model import TCA9548AModel

IMU_MODELS = {"lsm6dsox": (LSM6DSOXModel, 0x6A), "mpu6050": (MPU6050Model, 0x68)}


@dataclass
class SimulatedHardware:
    """The simulated hardware of one station.

    Attributes
    ----------
    bus : SimulatedBus
        The I2C bus to hand to the drivers (fault knobs, ``model_cpu_ns``, ``busy_ns``).
    clock
        The clock the bus charges.
    adcs : dict[str, NAU7802Model or HX711Model]
        Corner ADC models, keys ``"fl"``, ``"fr"``, ``"bl"``, ``"br"``.
    mux : TCA9548AModel or None
    imu : LSM6DSOXModel or MPU6050Model or None
    plate : LoadedPlate
        The load cells under the current load source.
    cells : tuple of LoadCell
        The load cells as built, in corner order (the truth: sensitivity, zero balance, dead
        weight).
    imu_address : int or None
    """

    bus: SimulatedBus
    clock: object
    adcs: dict
    mux: TCA9548AModel
    imu: object
    plate: LoadedPlate
    cells: tuple[LoadCell, ...]
    imu_address: int | None = None
    front_end: object = None
    """The RP2040 front end's model (``plate.front_end = "rp2040"``; then ``adcs`` are its
    HX711 models and ``mux`` is None), else None."""

    @property
    def load_source(self):
        """What stands on the plate (and moves the IMU) now."""
        return self.plate.load_source

    @load_source.setter
    def load_source(self, source) -> None:
        self.plate.load_source = source if source is not None else ConstantLoad()

    def set_load_source(self, source) -> None:
        """Swap what stands on the plate (calibration masses, then a person); ``None`` empties it."""
        self.load_source = source

    def adc(self, corner: str) -> NAU7802Model:
        """The ADC model of ``corner`` (``"fl"``...), e.g. to inject a fault on it."""
        return self.adcs[corner]


def build_simulated_hardware(
    clock,
    load_source,
    config: StationConfig,
    *,
    seed: int = 0,
    imu_model: str | None = "lsm6dsox",
    plate_mass_kg: float = 8.0,
    account_cpu: bool = False,
) -> SimulatedHardware:
    """Simulated bus with the plate and the IMU, as the configuration describes them.

    Parameters
    ----------
    clock : station.clock.Clock
        Charged by the bus; its time at this call is ``t_s = 0`` for the load source.
    load_source : station.sim.loads.LoadSource or None
        What stands on the plate (``None``: nothing).
    config : StationConfig
        Plate geometry, mux address and channels, load-cell capacity and rated output, IMU
        address, bus clock.
    seed : int
        Seeds every random choice.
    imu_model : str or None
        ``"lsm6dsox"``, ``"mpu6050"``, or ``None`` / ``"none"`` for no IMU (``"auto"`` means the
        LSM6DSOX, the station's reference IMU).
    plate_mass_kg : float
        The plate's own mass resting on the four cells, kg.
    account_cpu : bool
        Have the bus account the CPU time of the simulated chips (``bus.model_cpu_ns``, see
        :mod:`station.sim.bus`): only for whoever reports or subtracts it, as it costs time.
    """
    model_name = (imu_model or "none").lower()
    if model_name == "auto":
        model_name = "lsm6dsox"
    if model_name != "none" and model_name not in IMU_MODELS:
        raise ValueError(f"unknown IMU model {imu_model!r}; choose lsm6dsox, mpu6050 or none")
    root = np.random.SeedSequence(seed)
    cells_seed, mux_seed, imu_seed, *adc_seeds = root.spawn(3 + len(CORNERS))
    del mux_seed  # the mux has nothing random; spawned so adding randomness later keeps the others
    bus = SimulatedBus(clock, bus_clock_hz=config.acquisition.bus_clock_hz, bus_name=f"i2c-{config.acquisition.bus}",
                       account_cpu=account_cpu)
    cells = make_load_cells(config.plate, np.random.default_rng(cells_seed), plate_mass_kg=plate_mass_kg)
    plate = LoadedPlate(cells, load_source if load_source is not None else ConstantLoad(), clock.monotonic_ns())
    front_end = None
    if config.plate.front_end == "rp2040":
        # Four HX711 (HX717 for 20 and 320 SPS) boards read by the RP2040 front end at its address.
        chip = "hx717" if config.plate.adc_rate_sps in (20, 320) else "hx711"
        front_end = bus.attach(
            RP2040FrontEndModel([plate.bridge(i) for i in range(4)], chip=chip, rate_sps=config.plate.adc_rate_sps,
                                gain=config.plate.adc_gain, seed=adc_seeds[0], now_ns=clock.monotonic_ns()),
            config.plate.rp2040_address)
        mux = None
        adcs = {corner: front_end.chip(corner) for corner in CORNERS}
    else:
        mux = bus.attach(TCA9548AModel(), config.plate.mux_address)
        adcs = {}
        for i, (corner, channel) in enumerate(zip(CORNERS, config.plate.mux_channels)):
            adcs[corner] = mux.attach(channel, NAU7802Model(corner, plate.bridge(i), seed=adc_seeds[i]), NAU7802_ADDRESS)
    imu = None
    imu_address = None
    if model_name != "none":
        cls, default_address = IMU_MODELS[model_name]
        imu_address = config.imu.address if config.imu.address is not None else default_address
        imu = bus.attach(cls(plate.trunk, seed=imu_seed), imu_address)
    return SimulatedHardware(
        bus=bus, clock=clock, adcs=adcs, mux=mux, imu=imu, plate=plate, cells=cells, imu_address=imu_address,
        front_end=front_end,
    )
