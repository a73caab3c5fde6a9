"""Bring-up and recovery as steps, so that the acquisition never blocks on one chip.

A chip's bring-up is written as a generator: each step does a few I2C transactions and then
``yield``\\ s the earliest time (ns, on the driver's clock) at which the next step may run (a
reset to finish, an LDO to settle, a calibration to end). The acquisition loop advances such a
generator by one step per frame, between reading the other chips, so a corner or an IMU coming
back costs the others nothing (DESIGN.md §3). Outside the loop, :func:`run_steps` simply waits
between the steps.
"""

from __future__ import annotations

from collections.abc import Generator

Steps = Generator[int, None, None]
"""A bring-up in steps: yields the earliest time of the next step, ns."""


def run_steps(steps: Steps, clock) -> None:
    """Run every step of ``steps``, sleeping on ``clock`` until each next one is due."""
    for resume_ns in steps:
        clock.sleep_until_ns(resume_ns)
