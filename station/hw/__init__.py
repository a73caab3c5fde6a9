"""Chip drivers over an smbus2-compatible bus (DESIGN.md §2, §6).

Drivers receive their bus and clock as arguments; the same code talks to ``smbus2.SMBus(1)`` on
the Pi and to :class:`station.sim.bus.SimulatedBus` in tests.
"""
