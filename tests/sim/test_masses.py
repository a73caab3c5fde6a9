"""Known calibration masses on the simulated plate."""

from __future__ import annotations

import numpy as np
import pytest

from station.analysis.cop import cop_from_corners
from station.config import PlateConfig
from station.sim.loads import STANDARD_GRAVITY_M_S2 as G
from station.sim.masses import KnownMasses, Placement, corner_positions_cm

PLATE = PlateConfig(width_cm=40.0, depth_cm=36.0)


def test_empty_plate_has_no_load():
    masses = KnownMasses(plate=PLATE)
    assert masses.corner_forces_n(3.0) == (0.0, 0.0, 0.0, 0.0)
    load = masses.plate_load(3.0)
    assert (load.fz_n, load.ap_cm, load.ml_cm) == (0.0, 0.0, 0.0)


def test_a_mass_at_the_centre_loads_each_corner_with_a_quarter():
    masses = KnownMasses([(20.0, 0.0, 0.0)], plate=PLATE)
    assert masses.corner_forces_n(0.0) == pytest.approx((20.0 * G / 4,) * 4)
    load = masses.plate_load(1.0)
    assert load.fz_n == pytest.approx(20.0 * G)
    assert (load.ap_cm, load.ml_cm) == pytest.approx((0.0, 0.0), abs=1e-12)


@pytest.mark.parametrize("ap_cm,ml_cm", [(13.0, -15.0), (-13.0, 15.0), (18.0, 20.0), (-5.5, 2.25)])
def test_the_corners_reproduce_the_position_of_the_mass(ap_cm, ml_cm):
    masses = KnownMasses([Placement(12.5, ap_cm, ml_cm)], plate=PLATE)
    corners = masses.corner_forces_n(0.0)
    ap, ml, fz = cop_from_corners(*corners, PLATE.width_cm, PLATE.depth_cm)
    assert (ap, ml, fz) == pytest.approx((ap_cm, ml_cm, 12.5 * G))
    assert min(corners) >= -1e-9  # inside the load cells nothing pulls up


def test_several_masses_add_up():
    masses = KnownMasses([(10.0, 10.0, 0.0), (30.0, -10.0, 8.0)], plate=PLATE)
    load = masses.plate_load(0.0)
    assert load.fz_n == pytest.approx(40.0 * G)
    assert load.ap_cm == pytest.approx((10.0 * 10 + 30.0 * -10) / 40)
    assert load.ml_cm == pytest.approx(30.0 * 8 / 40)
    single = np.array(KnownMasses([(10.0, 10.0, 0.0)], plate=PLATE).corner_forces_n(0.0))
    other = np.array(KnownMasses([(30.0, -10.0, 8.0)], plate=PLATE).corner_forces_n(0.0))
    np.testing.assert_allclose(masses.corner_forces_n(0.0), single + other)


def test_putting_masses_down_ramps_smoothly_then_holds():
    masses = KnownMasses(plate=PLATE, settle_s=0.4)
    masses.put(5.0, [(20.0, 0.0, 0.0)])
    masses.put(10.0, [(20.0, 13.0, -15.0)])
    masses.clear(20.0)
    fz = [masses.plate_load(t).fz_n for t in np.arange(4.9, 5.6, 0.01)]
    assert fz[0] == 0.0 and fz[-1] == pytest.approx(20.0 * G)
    assert all(b >= a - 1e-9 for a, b in zip(fz, fz[1:]))  # monotone
    assert masses.plate_load(5.2).fz_n == pytest.approx(10.0 * G)  # half-way through the ramp
    assert masses.plate_load(9.9).ap_cm == pytest.approx(0.0, abs=1e-12)
    assert masses.plate_load(10.5).ap_cm == pytest.approx(13.0)
    assert masses.plate_load(10.2).fz_n == pytest.approx(20.0 * G)  # moving keeps the total
    assert masses.corner_forces_n(20.5) == (0.0, 0.0, 0.0, 0.0)
    assert masses.placements_at(12.0) == (Placement(20.0, 13.0, -15.0),)
    assert masses.trunk(7.0).acc_m_s2 == (0.0, 0.0, G)


def test_guided_sequence_tare_centre_and_each_corner():
    masses, windows = KnownMasses.guided_sequence(15.0, plate=PLATE, tare_s=4.0, dwell_s=3.0, inset_cm=4.0)
    assert [w[0] for w in windows] == ["empty", "centre", "fl", "fr", "bl", "br", "empty"]
    expected = {"centre": (0.0, 0.0), "fl": (14.0, -16.0), "fr": (14.0, 16.0), "bl": (-14.0, -16.0), "br": (-14.0, 16.0)}
    for label, start, end in windows:
        load = masses.plate_load((start + end) / 2 + masses.settle_s)
        if label == "empty":
            assert load.fz_n == 0.0
        else:
            assert load.fz_n == pytest.approx(15.0 * G)
            assert (load.ap_cm, load.ml_cm) == pytest.approx(expected[label])
    fl_window = next(w for w in windows if w[0] == "fl")
    corners = masses.corner_forces_n(fl_window[1] + 1.0)
    assert corners[0] == max(corners)  # near the front-left cell, that cell carries the most


@pytest.mark.parametrize(
    "placements,message",
    [
        ([(0.0, 0.0, 0.0)], "mass_kg must be a positive number"),
        ([(-2.0, 0.0, 0.0)], "mass_kg must be a positive number"),
        ([(5.0, 19.0, 0.0)], "outside the load cells"),
        ([(5.0, 0.0, -20.5)], "outside the load cells"),
        ([(5.0, 1.0)], r"\(mass_kg, ap_cm, ml_cm\)"),
        ([5.0], r"\(mass_kg, ap_cm, ml_cm\)"),
        ([("ten", 1.0, 2.0)], r"\(mass_kg, ap_cm, ml_cm\)"),
    ],
)
def test_impossible_placements_are_refused(placements, message):
    with pytest.raises(ValueError, match=message):
        KnownMasses(placements, plate=PLATE)
    with pytest.raises(ValueError, match=message):
        KnownMasses(plate=PLATE).put(1.0, placements)


def test_schedule_must_be_in_order_and_settled():
    masses = KnownMasses(plate=PLATE, settle_s=0.3)
    masses.put(2.0, [(10.0, 0.0, 0.0)])
    with pytest.raises(ValueError, match="time order"):
        masses.put(1.0, [])
    with pytest.raises(ValueError, match="settled"):
        masses.put(2.1, [])
    with pytest.raises(ValueError, match="at_s"):
        masses.put(float("nan"), [])
    with pytest.raises(ValueError, match="settle_s"):
        KnownMasses(settle_s=-1.0)
    with pytest.raises(ValueError, match="t_s"):
        masses.corner_forces_n(-1.0)
    with pytest.raises(ValueError, match="inset_cm"):
        corner_positions_cm(PLATE, inset_cm=25.0)
