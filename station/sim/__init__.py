"""Register-level simulation of the station's hardware (DESIGN.md §2, §6).

Chip models answer the same I2C transactions as the real chips on a :class:`~station.sim.bus.SimulatedBus`;
a virtual person (or a replayed recording) loads the simulated plate and moves the IMU.
"""
