"""The virtual person: sway statistics against the Santos & Duarte (2016) norms, scripted events,
consistency of COP, COM, forces and IMU, determinism and call cost."""

from __future__ import annotations

import csv
import itertools
import math
import time
from pathlib import Path

import numpy as np
import pytest

from station.analysis.cop import cop_from_corners
from station.analysis.metrics import compute_metrics
from station.config import PlateConfig
from station.sim.loads import STANDARD_GRAVITY_M_S2 as G
from station.sim.person import CHUNK_S, VirtualPerson
from station.sim.sway_model import C3, N1, OUTPUTS, R, Controller, NoiseLevels, SwayAxis

NORMS_CSV = Path(__file__).resolve().parents[3] / "shared" / "data" / "bds" / "norms-santos-duarte-2016.csv"
SEEDS = range(16)
FS_HZ = 100.0
TRIAL_T = np.arange(6000) / FS_HZ  # a 60-s trial sampled at 100 Hz


def _norms() -> dict[tuple[str, str, str], dict[str, float]]:
    with open(NORMS_CSV, newline="") as f:
        return {
            (r["AgeGroup"].lower(), r["Vision"].lower(), r["Surface"].lower()): {k: float(v) for k, v in r.items() if "_" in k}
            for r in csv.DictReader(f)
        }


def _metrics(samples) -> tuple[float, float]:
    """Mean velocity (cm/s) and 95 % prediction-ellipse area (cm²), station profile (10 Hz
    zero-phase Butterworth low-pass, DESIGN.md §5) of a 100 Hz sampling of the true COP."""
    m = compute_metrics(samples.ap_cm, samples.ml_cm, FS_HZ, "station")["metrics"]
    return m["mean_velocity_cm_s"], m["ellipse_area_cm2"]


@pytest.fixture(scope="module")
def condition_metrics():
    """(velocity, area) of one 60-s trial per seed and condition (the same seeds in every
    condition: the same subjects)."""
    out = {}
    for key in itertools.product(("young", "old"), ("open", "closed"), ("firm", "foam")):
        age, vision, surface = key
        out[key] = np.array(
            [_metrics(VirtualPerson(s, age_group=age, vision=vision, surface=surface).sample(TRIAL_T)) for s in SEEDS]
        )
    return out


# ----------------------------------------------------------------------------------------------
# Sway statistics against the norms


@pytest.mark.parametrize("key", list(itertools.product(("young", "old"), ("open", "closed"), ("firm", "foam"))))
def test_median_over_seeds_is_near_the_published_median(condition_metrics, key):
    norms = _norms()[key]
    velocity, area = np.median(condition_metrics[key], axis=0)
    # 16 seeds: the sample median's own spread is about ±10 % (velocity) and ±25 % (area).
    assert velocity == pytest.approx(norms["COPvelo_p50"], rel=0.15)
    assert area == pytest.approx(norms["COParea_p50"], rel=0.30)


def test_young_eyes_open_firm_matches_the_published_means(condition_metrics):
    norms = _norms()[("young", "open", "firm")]
    velocity, area = condition_metrics[("young", "open", "firm")].mean(axis=0)
    assert velocity == pytest.approx(norms["COPvelo_mean"], rel=0.15)  # about 0.9 cm/s
    assert area == pytest.approx(norms["COParea_mean"], rel=0.30)  # about 2.5 cm²


def test_seeds_are_different_subjects(condition_metrics):
    velocity, area = condition_metrics[("young", "open", "firm")].T
    norms = _norms()[("young", "open", "firm")]
    # A real spread between seeds, of the size the norms show between subjects.
    assert np.percentile(velocity, 90) / np.percentile(velocity, 10) > 1.4
    assert np.percentile(area, 90) / np.percentile(area, 10) > 2.0
    assert velocity.max() < 2 * norms["COPvelo_p95"]


def _ordering_cases():
    for age, surface in itertools.product(("young", "old"), ("firm", "foam")):
        yield (age, "closed", surface), (age, "open", surface)  # eyes closed vs open
    for age, vision in itertools.product(("young", "old"), ("open", "closed")):
        yield (age, vision, "foam"), (age, vision, "firm")  # foam vs firm
    for vision, surface in itertools.product(("open", "closed"), ("firm", "foam")):
        yield ("old", vision, surface), ("young", vision, surface)  # old vs young


@pytest.mark.parametrize("harder,easier", list(_ordering_cases()))
def test_conditions_are_ordered_like_the_norms(condition_metrics, harder, easier):
    """Harder conditions sway more on average over seeds. Where the norms' medians differ by
    less than 10 % (old vs young, eyes closed on a firm surface: 2.23 vs 2.14 cm²), the model must
    only not invert the difference by more than 15 %."""
    norms = _norms()
    ratio = condition_metrics[harder].mean(axis=0) / condition_metrics[easier].mean(axis=0)
    for i, name in enumerate(("COPvelo_p50", "COParea_p50")):
        norm_ratio = norms[harder][name] / norms[easier][name]
        if norm_ratio > 1.10 or name == "COPvelo_p50":
            assert ratio[i] > 1.0, (harder, easier, name, ratio[i], norm_ratio)
        else:
            assert ratio[i] > 0.85, (harder, easier, name, ratio[i], norm_ratio)


# ----------------------------------------------------------------------------------------------
# The sway model


def test_block_simulation_matches_the_plain_state_space_recursion():
    axis = SwayAxis(0.935)
    rng = np.random.default_rng(7)
    noise = NoiseLevels(0.1, 0.4)
    state = axis.stationary_state(noise, rng)
    white = rng.standard_normal((2, 2500))
    out, end = axis.simulate(state, noise, white)
    s = state.copy()
    gain = 1.0 / math.sqrt(axis.dt_s)
    direct = []
    for k in range(white.shape[1]):
        direct.append(axis.c @ s)
        s = axis.ad @ s + axis.bd @ (white[:, k] * np.array([noise.motor_cm, noise.drift_cm]) * gain)
    np.testing.assert_allclose(out, np.array(direct).T, atol=1e-9)
    np.testing.assert_allclose(end, s, atol=1e-9)
    # Splitting a block in two gives the same trajectory.
    a, mid = axis.simulate(state, noise, white[:, :1000])
    b, end2 = axis.simulate(mid, noise, white[:, 1000:])
    np.testing.assert_allclose(np.hstack([a, b]), out, atol=1e-12)
    np.testing.assert_allclose(end2, end, atol=1e-12)


def test_cop_is_com_minus_h_over_g_times_com_acceleration():
    axis = SwayAxis(0.9)
    out, _ = axis.simulate(np.zeros(8), NoiseLevels(0.1, 0.4), np.random.default_rng(1).standard_normal((2, 3000)))
    com, _, acc, cop = (out[OUTPUTS.index(n)] for n in OUTPUTS)
    np.testing.assert_allclose(cop, com - (0.9 / G) * acc, atol=1e-12)


def test_noise_levels_are_stationary_sds():
    axis = SwayAxis(0.935)
    noise = NoiseLevels(0.2, 0.5)
    cov = axis.stationary_covariance(noise)
    assert math.sqrt(cov[N1, N1]) == pytest.approx(0.2, rel=1e-6)
    assert math.sqrt(cov[R, R]) == pytest.approx(0.5, rel=1e-6)
    # A long simulation reaches the COP variance the Lyapunov equation predicts.
    out, _ = axis.simulate(axis.stationary_state(noise, np.random.default_rng(3)), noise,
                           np.random.default_rng(4).standard_normal((2, 600_000)))
    predicted = cov[C3, C3] + 2 * cov[C3, N1] + cov[N1, N1]
    assert np.var(out[3]) == pytest.approx(predicted, rel=0.15)


def test_sway_model_rejects_bad_parameters():
    with pytest.raises(ValueError, match="kp must be > 1"):
        Controller(kp=0.9)
    with pytest.raises(ValueError, match="does not keep"):
        SwayAxis(0.935, Controller(kd_s=0.01, delay_s=0.4))
    with pytest.raises(ValueError, match="too coarse"):
        SwayAxis(0.935, dt_s=0.01)
    with pytest.raises(ValueError, match="motor_cm"):
        NoiseLevels(-1.0, 0.1)
    with pytest.raises(ValueError, match="shape"):
        SwayAxis(0.935).simulate(np.zeros(8), NoiseLevels(0.1, 0.1), np.zeros((3, 10)))


# ----------------------------------------------------------------------------------------------
# Determinism and access patterns


def test_same_seed_same_signals_in_any_call_order():
    times = np.sort(np.random.default_rng(0).uniform(0, 30, 3000))
    a = VirtualPerson(11).sample(times)
    p = VirtualPerson(11)
    backwards = np.array([p.corner_forces_n(float(t)) for t in times[::-1]])[::-1]
    np.testing.assert_array_equal(backwards.T, a.corners_n)
    q = VirtualPerson(11)
    q.plate_load(29.0)  # jump ahead first, then come back: chunks are regenerated identically
    for t in np.linspace(0, 29, 50):
        q.plate_load(float(t))
    b = q.sample(times)
    np.testing.assert_array_equal(b.ap_cm, a.ap_cm)
    np.testing.assert_array_equal(b.acc_m_s2, a.acc_m_s2)
    c = VirtualPerson(12).sample(times)
    assert not np.allclose(c.ap_cm, a.ap_cm)


def test_scalar_calls_agree_with_vectorised_sampling_and_each_other():
    p = VirtualPerson(2)
    times = np.random.default_rng(1).uniform(0, 3 * CHUNK_S, 400)
    s = p.sample(times)
    for k, t in enumerate(times.tolist()):
        load = p.plate_load(t)
        assert (load.fz_n, load.ap_cm, load.ml_cm) == pytest.approx((s.fz_n[k], s.ap_cm[k], s.ml_cm[k]), abs=1e-9)
        assert p.corner_forces_n(t) == pytest.approx(tuple(s.corners_n[:, k]), abs=1e-9)
        trunk = p.trunk(t)
        assert trunk.acc_m_s2 == pytest.approx(tuple(s.acc_m_s2[:, k]), abs=1e-12)
        assert trunk.gyro_deg_s == pytest.approx(tuple(s.gyro_deg_s[:, k]), abs=1e-12)
        assert p.com_cm(t) == pytest.approx((s.com_ap_cm[k], s.com_ml_cm[k]), abs=1e-12)


def test_chunk_boundaries_are_seamless():
    p = VirtualPerson(4)
    t = np.arange(CHUNK_S - 0.05, CHUNK_S + 0.05, 0.001)
    s = p.sample(t)
    for signal in (s.ap_cm, s.ml_cm, s.fz_n, s.acc_m_s2[0]):
        jumps = np.abs(np.diff(signal))
        assert jumps.max() < 5 * np.median(jumps) + 1e-9


def test_bad_times_and_parameters_are_refused():
    p = VirtualPerson(0)
    for bad in (-0.1, float("nan"), float("inf"), "1"):
        with pytest.raises(ValueError, match="t_s"):
            p.corner_forces_n(bad)
    with pytest.raises(ValueError, match="time_s"):
        p.sample([1.0, -1.0])
    with pytest.raises(ValueError, match="seed"):
        VirtualPerson(-1)
    with pytest.raises(ValueError, match="age_group must be one of young, old"):
        VirtualPerson(0, age_group="teen")
    with pytest.raises(ValueError, match="vision"):
        VirtualPerson(0, vision="blind")
    with pytest.raises(ValueError, match="mass_kg"):
        VirtualPerson(0, mass_kg=0)
    with pytest.raises(ValueError, match="height_cm"):
        VirtualPerson(0, height_cm=20)
    with pytest.raises(ValueError, match="feet_apart_cm"):
        VirtualPerson(0, feet_apart_cm=45)
    # Upper case as in the norms CSV is accepted.
    assert VirtualPerson(0, age_group="Old", vision="Closed", surface="Foam").age_group == "old"


# ----------------------------------------------------------------------------------------------
# Loads: body weight, corners, stepping on and off, weight shift


def test_quiet_standing_loads_body_weight_and_corners_reproduce_the_cop():
    plate = PlateConfig(width_cm=44.0, depth_cm=36.0)
    p = VirtualPerson(5, mass_kg=82.0, plate=plate)
    s = p.sample(TRIAL_T[:3000])
    assert s.fz_n.mean() == pytest.approx(82.0 * G, rel=1e-4)
    assert np.ptp(s.fz_n) < 0.01 * 82.0 * G  # the dynamic part is small in quiet stance
    ap, ml, fz = cop_from_corners(*s.corners_n, plate.width_cm, plate.depth_cm)
    np.testing.assert_allclose(fz, s.fz_n, rtol=1e-12)
    np.testing.assert_allclose(ap, s.ap_cm, atol=1e-9)
    np.testing.assert_allclose(ml, s.ml_cm, atol=1e-9)
    assert np.all(s.corners_n > 0)


def test_step_on_and_off_load_profile():
    p = VirtualPerson(3, mass_kg=60.0, on_plate=False)
    p.step_on(2.0, first_foot="right", duration_s=0.5)
    p.step_off(10.0, first_foot="left", duration_s=0.4)
    t = np.arange(0.0, 12.0, 0.001)
    s = p.sample(t)
    w = 60.0 * G
    assert np.all(s.fz_n[t < 2.0] == 0) and np.all(s.corners_n[:, t < 2.0] == 0)
    ramp = (t >= 2.0) & (t <= 2.3)  # the first foot takes the load over 60 % of the ramp
    assert np.all(np.diff(s.fz_n[ramp]) >= -1e-9)
    assert s.fz_n[np.searchsorted(t, 2.3)] == pytest.approx(w, rel=0.01)
    rising = t[(s.fz_n > 0.1 * w) & (s.fz_n < 0.9 * w) & (t < 5)]
    assert 0.1 < rising[-1] - rising[0] < 0.4  # 10-90 % rise time of a 0.3-0.6 s step
    loaded_first = (t > 2.01) & (t < 2.3)
    np.testing.assert_allclose(s.ml_cm[loaded_first], +10.0)  # under the right foot
    assert abs(s.ml_cm[np.searchsorted(t, 2.6)]) < 2.0  # both feet down: near the middle
    assert s.fz_n[(t > 3) & (t < 10)].mean() == pytest.approx(w, rel=1e-3)
    # Step off: the COP first goes under the foot that leaves last (right), then Fz falls.
    k = np.searchsorted(t, 10.16)
    assert s.ml_cm[k] == pytest.approx(10.0) and s.fz_n[k] == pytest.approx(w, rel=0.01)
    assert np.all(s.fz_n[t >= 10.4] == 0)
    assert p.events[0] == (2.0, "step on (right foot first, 0.5 s)")


@pytest.mark.parametrize("left_pct", [35.0, 50.0, 65.0, 72.0])
def test_weight_shift_gives_the_requested_left_share(left_pct):
    p = VirtualPerson(8)
    p.shift_weight(1.0, left_pct=left_pct)
    s = p.sample(np.arange(6.0, 36.0, 0.01))
    left = (s.corners_n[0] + s.corners_n[2]).sum() / s.fz_n.sum() * 100
    assert left == pytest.approx(left_pct, abs=1.0)


def test_initial_weight_share_and_impossible_shares():
    s = VirtualPerson(1, left_pct=40.0).sample(np.arange(0, 30, 0.01))
    assert (s.corners_n[0] + s.corners_n[2]).sum() / s.fz_n.sum() * 100 == pytest.approx(40.0, abs=1.0)
    p = VirtualPerson(1)
    with pytest.raises(ValueError, match="outside the feet"):
        p.shift_weight(1.0, left_pct=90)
    with pytest.raises(ValueError, match="outside the feet"):
        VirtualPerson(1, left_pct=10)


def test_weight_shift_moves_the_cop_against_the_shift_first():
    """Anticipatory postural adjustment: to move the COM left the COP first goes right."""
    p = VirtualPerson(0, vision="open")
    p.shift_weight(5.0, left_pct=70, duration_s=1.0)
    s = p.sample(np.arange(4.0, 8.0, 0.001))
    before = s.ml_cm[:1000].mean()
    early = s.ml_cm[(s.time_s > 5.0) & (s.time_s < 5.4)]
    assert early.max() > before + 1.0
    assert s.com_ml_cm[-500:].mean() == pytest.approx(-8.0, abs=1.0)


# ----------------------------------------------------------------------------------------------
# Scripted events


def test_single_leg_stance_and_touch_down():
    p = VirtualPerson(6)
    p.single_leg(5.0, side="right", duration_s=1.0)
    p.touch_down(25.0, fall_s=0.4)
    t = np.arange(0.0, 30.0, 0.001)
    s = p.sample(t)
    double = (t > 0.5) & (t < 4.5)
    single = (t > 7.0) & (t < 24.0)
    assert s.ml_cm[single].mean() == pytest.approx(10.0, abs=1.0)  # under the right foot
    assert np.std(np.diff(s.ml_cm[single][::10])) > 2 * np.std(np.diff(s.ml_cm[double][::10]))
    # The fall goes toward the free (left) foot, the COP jumps toward it at the touch-down.
    k = np.searchsorted(t, 25.0)
    assert s.com_ml_cm[k] < s.com_ml_cm[k - 400]
    assert s.ml_cm[k + 5] < s.ml_cm[k - 5] - 5.0
    fz = s.fz_n[(t > 25.0) & (t < 25.6)]
    assert np.ptp(fz) > 0.1 * p.body_weight_n  # the landing shows in Fz
    assert abs(s.ml_cm[(t > 28) & (t < 30)].mean()) < 2.0  # back on both feet, centred


def test_stumble_gives_a_large_recovered_cop_excursion_and_a_load_jump():
    p = VirtualPerson(2)
    p.stumble(10.0, direction="forward", speed_cm_s=10.0)
    t = np.arange(8.0, 16.0, 0.001)
    s = p.sample(t)
    base = s.ap_cm[t < 10.0]
    after = s.ap_cm[(t > 10.0) & (t < 11.0)]
    assert after.max() > base.max() + 3.0
    load = s.fz_n[(t > 10.0) & (t < 10.6)]
    assert load.max() > 1.2 * p.body_weight_n and load.min() < 0.9 * p.body_weight_n
    assert abs(s.ap_cm[t > 14.0].mean() - base.mean()) < 1.5  # recovered
    assert s.gyro_deg_s[1][(t > 10.0) & (t < 10.2)].max() > 3.0  # the trunk pitches forward


def test_condition_change_mid_session_increases_sway():
    p = VirtualPerson(9)
    p.set_condition(60.0, vision="closed", surface="foam")
    first = _metrics(p.sample(TRIAL_T))
    second = _metrics(p.sample(TRIAL_T + 60.0))
    assert second[0] > 2.0 * first[0]
    s = p.sample(np.arange(59.9, 60.1, 0.001))  # the trajectory stays continuous
    assert np.abs(np.diff(s.ap_cm)).max() < 0.05


@pytest.mark.parametrize(
    "script,message",
    [
        (lambda p: p.step_off(1.0), "not on the plate"),
        (lambda p: (p.step_on(1.0), p.step_on(3.0)), "already on the plate"),
        (lambda p: (p.step_on(1.0), p.step_off(1.2)), "still stepping on"),
        (lambda p: p.touch_down(1.0), "standing on both feet"),
        (lambda p: (p.single_leg(1.0, "left"), p.single_leg(3.0, "right")), "standing on the left leg"),
        (lambda p: (p.single_leg(1.0, "left"), p.touch_down(1.5)), "before the foot lifted"),
        (lambda p: (p.set_condition(5.0, vision="closed"), p.stumble(4.0)), "schedule events in time order"),
        (lambda p: p.single_leg(1.0, "middle"), "side must be one of left, right"),
        (lambda p: p.stumble(1.0, direction="up"), "direction"),
        (lambda p: p.set_condition(1.0), "needs vision= and/or surface="),
        (lambda p: p.shift_weight(-1.0, 50), "at_s"),
    ],
)
def test_impossible_schedules_are_refused(script, message):
    with pytest.raises(ValueError, match=message):
        script(VirtualPerson(0, on_plate=False))


def test_events_change_only_the_future():
    a = VirtualPerson(4)
    s_before = a.sample(np.arange(0, 20, 0.01))
    b = VirtualPerson(4)
    b.sample(np.arange(0, 20, 0.01))  # generated, cached
    b.set_condition(10.0, surface="foam")  # scheduled afterwards: caches after 10 s are dropped
    s_after = b.sample(np.arange(0, 20, 0.01))
    early = s_before.time_s < 10.0
    np.testing.assert_array_equal(s_after.ap_cm[early], s_before.ap_cm[early])
    assert not np.allclose(s_after.ap_cm[~early], s_before.ap_cm[~early])


# ----------------------------------------------------------------------------------------------
# Trunk (IMU)


def test_imu_at_rest_reads_gravity_and_tilts_with_the_com():
    p = VirtualPerson(1, height_cm=180.0)
    s = p.sample(np.arange(0.0, 60.0, 0.01))
    assert s.acc_m_s2.mean(axis=1) == pytest.approx((0.0, 0.0, G), abs=0.05)
    assert np.abs(s.gyro_deg_s.mean(axis=1)).max() < 0.05

    # The same rigid body: tilt θ = COM / h, sensor at 0.58 × height on it. Small angles:
    # ax = h_imu·θ_ap'' − g·θ_ap, ay = −h_imu·θ_ml'' + g·θ_ml (+y is left), gy = θ_ap', gx = θ_ml'.
    t = np.arange(10.0, 20.0, 0.001)
    s = p.sample(t)
    h, h_imu = 0.55 * 1.80, 0.58 * 1.80
    th_ap = (s.com_ap_cm - p.stance_ap_cm) / 100 / h
    th_ml = s.com_ml_cm / 100 / h
    inner = slice(10, -10)
    for th, acc, gyro, sign in ((th_ap, s.acc_m_s2[0], s.gyro_deg_s[1], -1.0), (th_ml, s.acc_m_s2[1], s.gyro_deg_s[0], 1.0)):
        rate = np.gradient(th, t)
        expected_acc = -sign * h_imu * np.gradient(rate, t) + sign * G * th
        err = (acc - expected_acc)[inner]
        assert np.sqrt(np.mean(err**2)) < 0.03 * np.std(acc)
        assert np.corrcoef(acc[inner], expected_acc[inner])[0, 1] > 0.999
        np.testing.assert_allclose(gyro[inner], np.degrees(rate)[inner], atol=0.01 * np.abs(np.degrees(rate)).max())
    # Leaning right (weight shifted onto the right foot) tilts the sensor's +y (left) axis up.
    q = VirtualPerson(1, left_pct=30.0)
    lean = q.sample(np.arange(0.0, 20.0, 0.01))
    assert lean.acc_m_s2[1].mean() == pytest.approx(G * math.sin(0.08 / 0.935), rel=0.1)


def test_com_and_cop_obey_the_inverted_pendulum():
    p = VirtualPerson(3, height_cm=160.0)
    t = np.arange(5.0, 15.0, 0.001)
    s = p.sample(t)
    h_over_g = 0.55 * 1.60 / G
    com_acc = np.gradient(np.gradient(s.com_ap_cm, t), t)
    inner = slice(5, -5)
    predicted = s.com_ap_cm - h_over_g * com_acc
    err = (predicted - s.ap_cm)[inner]
    assert np.sqrt(np.mean(err**2)) < 0.02 * np.std(s.ap_cm)


# ----------------------------------------------------------------------------------------------
# Cost per call (measured and printed, not asserted)


def test_call_cost_benchmark(capsys):
    """Print the cost of the calls the chip models make, interleaved in time as on the simulated
    plate (four corners at 320 SPS each, an IMU at 208 Hz): generation included, then from the
    cache alone."""
    p = VirtualPerson(5)
    seconds = 30.0
    schedule = sorted([(t, 0) for t in np.arange(0.0, seconds, 1 / 1280).tolist()]
                      + [(t, 1) for t in np.arange(0.0, seconds, 1 / 208).tolist()])
    corners, trunk = p.corner_forces_n, p.trunk
    t0 = time.perf_counter()
    out = [trunk(t) if kind else corners(t) for t, kind in schedule]
    t1 = time.perf_counter()
    window = [t for t, kind in schedule if kind == 0 and seconds - 1.0 <= t]
    t2 = time.perf_counter()
    again = [corners(t) for t in window]
    t3 = time.perf_counter()
    imu_window = [t for t, kind in schedule if kind == 1 and seconds - 1.0 <= t]
    t4 = time.perf_counter()
    for t in imu_window:
        trunk(t)
    t5 = time.perf_counter()
    with capsys.disabled():
        print(
            f"\n[person cost] {1e6 * (t1 - t0) / len(schedule):.2f} us/call over {len(schedule)} interleaved calls "
            f"(generation included; {seconds:g} simulated s in {t1 - t0:.3f} s); from the cache: "
            f"corner_forces_n {1e6 * (t3 - t2) / len(window):.2f} us, trunk {1e6 * (t5 - t4) / len(imu_window):.2f} us"
        )
    assert again == [o for (t, kind), o in zip(schedule, out) if kind == 0 and seconds - 1.0 <= t]
    assert all(math.isfinite(o.acc_m_s2[2]) for (t, kind), o in zip(schedule, out) if kind)
