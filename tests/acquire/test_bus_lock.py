"""One process owns the I2C bus: a second opener is refused with what to do."""

import os
from types import SimpleNamespace

import pytest

from station.acquire.hardware import HardwareUnavailableError, lock_bus


def test_second_owner_of_the_bus_is_refused(tmp_path):
    # lock_bus only needs the bus's file descriptor (smbus2.SMBus.fd); a plain file stands in
    # for /dev/i2c-1, whose ioctls a laptop does not have.
    device = tmp_path / "i2c-1"
    device.write_bytes(b"")
    first = SimpleNamespace(fd=os.open(device, os.O_RDWR))
    second = SimpleNamespace(fd=os.open(device, os.O_RDWR))
    try:
        lock_bus(first, str(device))
        with pytest.raises(HardwareUnavailableError, match="in use by another process.*systemctl stop"):
            lock_bus(second, str(device))
        os.close(first.fd)  # closing the bus releases the lock
        lock_bus(second, str(device))
    finally:
        os.close(second.fd)
