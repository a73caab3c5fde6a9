"""The LSM6DSOX and MPU-6050 register models: identification, data-ready bits, FIFOs, overflow,
byte order, noise."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from smbus2 import i2c_msg

from station.sim import lsm6dsox_model as lsm
from station.sim import mpu6050_model as mpu
from station.sim.bus import SimulatedBus
from station.sim.clock import SimulatedClock
from station.sim.loads import STANDARD_GRAVITY_M_S2, TrunkSample

LSM = 0x6A
MPU = 0x68


class Motion:
    def __init__(self, acc_g=(0.25, -0.5, 1.0), gyro_dps=(10.0, -20.0, 30.0)):
        self.sample = TrunkSample(tuple(a * STANDARD_GRAVITY_M_S2 for a in acc_g), gyro_dps)
        self.calls = 0

    def __call__(self, t_ns):
        self.calls += 1
        return self.sample


def lsm_rig(rate_error=0.0, **kwargs):
    clock = SimulatedClock()
    bus = SimulatedBus(clock)
    motion = Motion(**kwargs)
    model = bus.attach(lsm.LSM6DSOXModel(motion, seed=1, rate_error=rate_error), LSM)
    return clock, bus, model, motion


def lsm_start(bus, odr_code=4, fifo_mode=None):
    bus.write_byte_data(LSM, lsm.CTRL1_XL, (odr_code << 4) | (0b10 << 2))  # ±4 g
    bus.write_byte_data(LSM, lsm.CTRL2_G, (odr_code << 4) | (0b01 << 2))  # ±500 dps
    if fifo_mode is not None:
        bus.write_byte_data(LSM, lsm.FIFO_CTRL3, (odr_code << 4) | odr_code)
        bus.write_byte_data(LSM, lsm.FIFO_CTRL4, fifo_mode)


def fifo_level(bus, address=LSM):
    s1, s2 = bus.read_i2c_block_data(address, lsm.FIFO_STATUS1, 2)
    return s1 | ((s2 & 3) << 8), s2


def test_lsm_identifies_itself_and_auto_increments():
    clock, bus, model, motion = lsm_rig()
    assert bus.read_byte_data(LSM, lsm.WHO_AM_I) == 0x6C
    bus.write_i2c_block_data(LSM, lsm.CTRL1_XL, [0x48, 0x44])
    assert bus.read_i2c_block_data(LSM, lsm.CTRL1_XL, 2) == [0x48, 0x44]
    bus.write_byte_data(LSM, lsm.CTRL3_C, 0x00)  # IF_INC off: the address stays
    assert bus.read_i2c_block_data(LSM, lsm.CTRL1_XL, 2) == [0x48, 0x48]


def test_lsm_software_reset_restores_registers():
    clock, bus, model, motion = lsm_rig()
    lsm_start(bus)
    bus.write_byte_data(LSM, lsm.CTRL3_C, 0x01)
    assert bus.read_byte_data(LSM, lsm.CTRL3_C) == 0x04
    assert bus.read_byte_data(LSM, lsm.CTRL1_XL) == 0x00


def test_lsm_data_ready_bits_and_little_endian_outputs():
    clock, bus, model, motion = lsm_rig()
    lsm_start(bus)
    assert bus.read_byte_data(LSM, lsm.STATUS_REG) & 0x03 == 0
    clock.advance_ns(30_000_000)
    assert bus.read_byte_data(LSM, lsm.STATUS_REG) & 0x03 == 0x03
    raw = bytes(bus.read_i2c_block_data(LSM, lsm.OUTX_L_G, 12))
    gx, gy, gz, ax, ay, az = struct.unpack("<6h", raw)
    assert bus.read_byte_data(LSM, lsm.STATUS_REG) & 0x03 == 0  # cleared by reading the outputs
    assert az * 0.122e-3 == pytest.approx(1.0, abs=0.005)
    assert ax * 0.122e-3 == pytest.approx(0.25, abs=0.005)
    assert gz * 17.5e-3 == pytest.approx(30.0, abs=0.2)
    assert gy * 17.5e-3 == pytest.approx(-20.0, abs=0.2)


def test_lsm_noise_follows_the_density_over_half_the_odr():
    clock, bus, model, motion = lsm_rig()
    lsm_start(bus, odr_code=4)
    values = []
    for _ in range(1500):
        clock.advance_ns(10_000_000)
        values.append(struct.unpack("<6h", bytes(bus.read_i2c_block_data(LSM, lsm.OUTX_L_G, 12))))
    values = np.array(values[10:], dtype=float)  # skip the start-up (no sample yet)
    accel_std_g = values[:, 3:].std(axis=0).mean() * 0.122e-3
    gyro_std_dps = values[:, :3].std(axis=0).mean() * 17.5e-3
    assert accel_std_g == pytest.approx(75e-6 * np.sqrt(52), rel=0.1)
    assert gyro_std_dps == pytest.approx(3.8e-3 * np.sqrt(52), rel=0.1)
    assert model.accel_noise_rms_g() == pytest.approx(75e-6 * np.sqrt(52))


def test_lsm_fifo_words_tags_and_rollover_burst():
    clock, bus, model, motion = lsm_rig()
    lsm_start(bus, fifo_mode=0b110)
    clock.advance_ns(100_000_000)
    level, _ = fifo_level(bus)
    assert level % 2 == 0 and level >= 18
    write, read = i2c_msg.write(LSM, [lsm.FIFO_DATA_OUT_TAG]), i2c_msg.read(LSM, 7 * 4)
    bus.i2c_rdwr(write, read)
    words = np.frombuffer(bytes(read), dtype=np.uint8).reshape(4, 7)
    assert list(words[:, 0] >> 3) == [lsm.TAG_GYRO, lsm.TAG_ACCEL, lsm.TAG_GYRO, lsm.TAG_ACCEL]
    slots = (words[:, 0] >> 1) & 3
    assert slots[0] == slots[1] and slots[2] == slots[3] and slots[2] == (slots[0] + 1) % 4
    accel_z = int(words[1, 5]) | (int(words[1, 6]) << 8)
    assert accel_z * 0.122e-3 == pytest.approx(1.0, abs=0.005)
    assert fifo_level(bus)[0] == level - 4


def test_lsm_fifo_reads_one_word_per_7_bytes_even_byte_by_byte():
    clock, bus, model, motion = lsm_rig()
    lsm_start(bus, fifo_mode=0b110)
    clock.advance_ns(50_000_000)
    level, _ = fifo_level(bus)
    first = bus.read_i2c_block_data(LSM, lsm.FIFO_DATA_OUT_TAG, 3)  # part of a word: not popped
    assert fifo_level(bus)[0] == level
    assert first[0] >> 3 == lsm.TAG_GYRO


def test_lsm_continuous_fifo_overflow_overwrites_and_latches():
    clock, bus, model, motion = lsm_rig()
    lsm_start(bus, fifo_mode=0b110)
    clock.advance_ns(3_000_000_000)  # 3 s x 104 Hz x 2 words > 512
    level, status2 = fifo_level(bus)
    assert level == lsm.FIFO_CAPACITY_WORDS
    assert status2 & lsm.FIFO_OVR_LATCHED and status2 & lsm.FIFO_OVR_IA and status2 & lsm.FIFO_FULL_IA
    assert model.fifo_overwritten_words > 0
    assert not fifo_level(bus)[1] & lsm.FIFO_OVR_LATCHED  # cleared by reading FIFO_STATUS2


def test_lsm_fifo_mode_stops_when_full_and_bypass_empties():
    clock, bus, model, motion = lsm_rig()
    lsm_start(bus, fifo_mode=0b001)
    clock.advance_ns(10_000_000_000)
    assert fifo_level(bus)[0] == lsm.FIFO_CAPACITY_WORDS
    assert motion.calls < 2 * lsm.FIFO_CAPACITY_WORDS + 10  # refused samples are not evaluated
    bus.write_byte_data(LSM, lsm.FIFO_CTRL4, 0)
    assert fifo_level(bus)[0] == 0


def mpu_rig(rate_error=0.0, **kwargs):
    clock = SimulatedClock()
    bus = SimulatedBus(clock)
    motion = Motion(**kwargs)
    model = bus.attach(mpu.MPU6050Model(motion, seed=2, rate_error=rate_error), MPU)
    return clock, bus, model, motion


def mpu_start(bus, divider=9, dlpf=3, fifo=False, int_enable=0x11):
    bus.write_byte_data(MPU, mpu.PWR_MGMT_1, 0x01)
    bus.write_byte_data(MPU, mpu.CONFIG, dlpf)
    bus.write_byte_data(MPU, mpu.SMPLRT_DIV, divider)
    bus.write_byte_data(MPU, mpu.ACCEL_CONFIG, 1 << 3)  # ±4 g
    bus.write_byte_data(MPU, mpu.GYRO_CONFIG, 1 << 3)  # ±500 dps
    bus.write_byte_data(MPU, mpu.INT_ENABLE, int_enable)
    if fifo:
        bus.write_byte_data(MPU, mpu.FIFO_EN, 0x78)
        bus.write_byte_data(MPU, mpu.USER_CTRL, 0x40)


def test_mpu_identifies_itself_and_sleeps_after_reset():
    clock, bus, model, motion = mpu_rig()
    assert bus.read_byte_data(MPU, mpu.WHO_AM_I) == 0x68
    assert bus.read_byte_data(MPU, mpu.PWR_MGMT_1) == 0x40
    clock.advance_ns(1_000_000_000)
    assert motion.calls == 0 and bus.read_byte_data(MPU, mpu.INT_STATUS) == 0


def test_mpu_sample_rate_data_ready_and_big_endian_burst():
    clock, bus, model, motion = mpu_rig()
    mpu_start(bus)
    assert model.sample_rate_hz == 100.0
    clock.advance_ns(25_000_000)
    assert bus.read_byte_data(MPU, mpu.INT_STATUS) & 0x01
    assert bus.read_byte_data(MPU, mpu.INT_STATUS) == 0  # cleared by the read
    ax, ay, az, temp, gx, gy, gz = struct.unpack(">7h", bytes(bus.read_i2c_block_data(MPU, mpu.ACCEL_XOUT_H, 14)))
    assert az / 8192 == pytest.approx(1.0, abs=0.02)
    assert ay / 8192 == pytest.approx(-0.5, abs=0.02)
    assert gx / 65.5 == pytest.approx(10.0, abs=0.3)
    assert temp / 340 + 36.53 == pytest.approx(25.0, abs=0.01)


def test_mpu_fifo_register_does_not_auto_increment_and_keeps_order():
    clock, bus, model, motion = mpu_rig()
    mpu_start(bus, fifo=True)
    clock.advance_ns(105_000_000)
    count = mpu_fifo_count(bus)
    assert count % 12 == 0 and count >= 12 * 9
    write, read = i2c_msg.write(MPU, [mpu.FIFO_R_W]), i2c_msg.read(MPU, 24)
    bus.i2c_rdwr(write, read)
    values = struct.unpack(">12h", bytes(read))
    assert values[2] / 8192 == pytest.approx(1.0, abs=0.02)  # accel Z of sample 1
    assert values[5] / 65.5 == pytest.approx(30.0, abs=0.3)  # gyro Z of sample 1
    assert values[8] / 8192 == pytest.approx(1.0, abs=0.02)  # accel Z of sample 2
    assert model.fifo_level in (count - 24, count - 12)  # a sample may land during the reads


def mpu_fifo_count(bus):
    high, low = bus.read_i2c_block_data(MPU, mpu.FIFO_COUNTH, 2)
    return (high << 8) | low


def test_mpu_empty_fifo_repeats_the_last_byte():
    clock, bus, model, motion = mpu_rig()
    mpu_start(bus, fifo=True)
    clock.advance_ns(25_000_000)
    level = mpu_fifo_count(bus)
    assert level == 12
    data = bus.read_i2c_block_data(MPU, mpu.FIFO_R_W, level)
    assert bus.read_i2c_block_data(MPU, mpu.FIFO_R_W, 3) == [data[-1]] * 3


def test_mpu_fifo_overflow_drops_the_oldest_bytes_and_raises_the_flag():
    clock, bus, model, motion = mpu_rig()
    mpu_start(bus, fifo=True)
    clock.advance_ns(2_000_000_000)  # 200 samples x 12 bytes > 1024
    assert mpu_fifo_count(bus) == mpu.FIFO_CAPACITY_BYTES
    assert bus.read_byte_data(MPU, mpu.INT_STATUS) & 0x10
    assert model.fifo_lost_bytes > 0
    # The newest byte ends a sample: the last 12 bytes are one whole sample.
    data = bytearray()
    while len(data) < 1024:
        write, read = i2c_msg.write(MPU, [mpu.FIFO_R_W]), i2c_msg.read(MPU, 256)
        bus.i2c_rdwr(write, read)
        data += bytes(read)
    last = struct.unpack(">6h", bytes(data[-12:]))
    assert last[2] / 8192 == pytest.approx(1.0, abs=0.02)


def test_mpu_overflow_flag_needs_its_interrupt_enable():
    clock, bus, model, motion = mpu_rig()
    mpu_start(bus, fifo=True, int_enable=0x01)
    clock.advance_ns(2_000_000_000)
    assert not bus.read_byte_data(MPU, mpu.INT_STATUS) & 0x10
    assert model.fifo_lost_bytes > 0


def test_mpu_noise_follows_the_density_over_the_dlpf_bandwidth():
    clock, bus, model, motion = mpu_rig()
    mpu_start(bus)
    values = []
    for _ in range(1500):
        clock.advance_ns(10_000_000)
        values.append(struct.unpack(">7h", bytes(bus.read_i2c_block_data(MPU, mpu.ACCEL_XOUT_H, 14))))
    values = np.array(values[10:], dtype=float)  # skip the start-up (no sample yet)
    assert values[:, :3].std(axis=0).mean() / 8192 == pytest.approx(400e-6 * np.sqrt(44), rel=0.1)
    assert values[:, 4:].std(axis=0).mean() / 65.5 == pytest.approx(0.005 * np.sqrt(42), rel=0.1)


def test_imu_models_are_deterministic_per_seed():
    def run(seed):
        clock = SimulatedClock()
        bus = SimulatedBus(clock)
        bus.attach(lsm.LSM6DSOXModel(Motion(), seed=seed), LSM)
        lsm_start(bus)
        out = []
        for _ in range(20):
            clock.advance_ns(10_000_000)
            out.append(bus.read_i2c_block_data(LSM, lsm.OUTX_L_G, 12))
        return out

    assert run(5) == run(5)
    assert run(5) != run(6)
