"""Every gait key on synthetic walking with known answers, and the failure paths."""

from __future__ import annotations

import math

import numpy as np
import pytest

from station.analysis.gait import (
    GAIT_KEYS,
    MIN_MINUTE_STEPS,
    MINUTE_KEYS,
    PENDULUM_CORRECTION,
    detect_initial_contacts,
    gait_by_minute,
    gait_metrics,
    walking_bouts,
)

from _gait_signals import G, body, contacts_from_steps, vertical

FS = 100.0


def cv_pct(x):
    x = np.asarray(x)
    return 100.0 * x.std(ddof=1) / x.mean()


def assert_no_nan(result: dict):
    for key, value in result.items():
        if isinstance(value, float):
            assert math.isfinite(value), f"{key} is {value}"


def test_regular_walk_every_temporal_key_known():
    contacts = contacts_from_steps(np.full(30, 0.6))  # 100 steps/min, 31 contacts from 2 s to 20 s
    m = gait_metrics(body(contacts, FS, 24.0), FS)
    assert list(m) == list(GAIT_KEYS)
    np.testing.assert_allclose(m["initial_contacts_s"], contacts, atol=0.02)
    assert m["steps"] == 31
    assert m["duration_s"] == pytest.approx(18.0, abs=0.02)
    assert m["cadence_steps_min"] == pytest.approx(100.0, abs=0.2)
    assert m["step_time_s"] == pytest.approx(0.6, abs=0.002)
    assert m["step_time_cv_pct"] < 0.5 and m["stride_time_cv_pct"] < 0.5
    assert m["step_regularity"] == pytest.approx(1.0, abs=0.01)
    assert m["stride_regularity"] == pytest.approx(1.0, abs=0.01)
    assert m["step_symmetry"] == pytest.approx(1.0, abs=0.01)
    assert m["step_length_m"] is None and m["walking_speed_m_s"] is None  # no sensor height given


def test_variable_step_times_give_their_coefficient_of_variation():
    rng = np.random.default_rng(7)
    steps = rng.normal(0.55, 0.03, 60)
    contacts = contacts_from_steps(steps)
    m = gait_metrics(body(contacts, FS, contacts[-1] + 3.0), FS)
    assert m["steps"] == contacts.size
    np.testing.assert_allclose(m["initial_contacts_s"], contacts, atol=0.02)
    assert m["step_time_cv_pct"] == pytest.approx(cv_pct(steps), abs=0.4)
    assert m["stride_time_cv_pct"] == pytest.approx(cv_pct(contacts[2:] - contacts[:-2]), abs=0.4)
    assert m["cadence_steps_min"] == pytest.approx(np.mean(120.0 / (contacts[2:] - contacts[:-2])), abs=0.5)


def test_a_rise_before_the_contact_about_as_steep_as_the_impact_does_not_take_the_contact():
    """At a fast cadence the trunk's acceleration rises steeply as the body falls onto the leading
    leg, before the heel lands; where that rise is a little steeper than the impact's on some steps
    (here every third), the contact stays on the impact, not 50 ms early on those steps."""
    contacts = contacts_from_steps(np.full(24, 0.47))  # 128 steps/min, even: step-time CV 0
    acc = body(contacts, FS, contacts[-1] + 3.0)
    t = np.arange(acc.shape[0]) / FS
    for k, ic in enumerate(contacts):
        rise_m_s2 = 7.0 if k % 3 == 0 else 6.0  # 7: steeper than the impact (measured), 6: not
        u = (t - (ic - 0.10)) / 0.10  # a raised-cosine rise over the 0.1 s before the contact
        acc[(u >= 0) & (u <= 1), 0] += rise_m_s2 * 0.5 * (1 - np.cos(np.pi * u[(u >= 0) & (u <= 1)]))
        acc[(u > 1) & (t < ic + 0.2), 0] += rise_m_s2
    m = gait_metrics(acc, FS)
    np.testing.assert_allclose(m["initial_contacts_s"], contacts, atol=0.02)  # the steepest alone: 50 ms early
    assert m["step_time_cv_pct"] < 0.5  # the steepest alone: 10.7 %


def test_given_contacts_are_measured_exactly_as_detected_ones():
    """With initial contacts from elsewhere (a reference system), every key comes from them: the
    error of a measure is then told apart from the error of the detection."""
    contacts = contacts_from_steps(np.full(30, 0.6))
    acc = body(contacts, FS, 24.0)
    detected = gait_metrics(acc, FS, sensor_height_m=0.95)
    given = gait_metrics(acc, FS, sensor_height_m=0.95, initial_contacts_s=detected["initial_contacts_s"])
    assert given == detected
    # every other contact: the same walk measured at half the cadence, because the contacts say so
    half = gait_metrics(acc, FS, initial_contacts_s=contacts[::2])
    assert half["steps"] == 16 and half["cadence_steps_min"] == pytest.approx(50.0, abs=0.2)
    # contacts grouped into bouts as detected ones are: fewer than four make none
    assert gait_metrics(acc, FS, initial_contacts_s=contacts[:3])["steps"] == 0


def test_a_missed_or_an_extra_contact_does_not_move_step_time_or_length_but_cadence_follows_strides():
    """A bout's step time and step length do not collapse when one contact is missed (a doubled
    interval) or one is split (two short ones): such intervals are no single steps and are left out
    (STEP_TIME_RANGE). Cadence is the reference's definition (Mobilise-D, INDIP): the mean of
    120 / stride time over every stride of 0.2-3 s, so it says what the contacts say (98 or 106
    steps/min here, where a detector's job is not to miss or split contacts)."""
    contacts = contacts_from_steps(np.full(30, 0.6))  # 100 steps/min
    acc = body(contacts, FS, 24.0)
    clean = gait_metrics(acc, FS, sensor_height_m=0.95, initial_contacts_s=contacts)
    assert clean["cadence_steps_min"] == pytest.approx(100.0, abs=0.2)
    missed = np.delete(contacts, 15)
    extra = np.sort(np.append(contacts, contacts[15] + 0.25))
    for changed in (missed, extra):
        m = gait_metrics(acc, FS, sensor_height_m=0.95, initial_contacts_s=changed)
        assert m["step_time_s"] == pytest.approx(clean["step_time_s"], abs=0.005)
        assert m["step_length_m"] == pytest.approx(clean["step_length_m"], rel=0.03)
        every_stride = float(np.mean(120.0 / (changed[2:] - changed[:-2])))
        assert abs(every_stride - clean["cadence_steps_min"]) > 1.5
        assert m["cadence_steps_min"] == pytest.approx(every_stride, abs=0.2)


def test_cadence_counts_strides_of_0_2_to_3_s_only():
    """Strides longer than 3 s (Mobilise-D's stride selection) do not count for cadence: given
    contacts with a 2.9 s hesitation (strides of 3.5 s across it) keep the walk's 100 steps/min;
    a 2.0 s hesitation (strides of 2.6 s) counts, as it does in the reference's cadence."""
    before = contacts_from_steps(np.full(10, 0.6))
    for hesitation_s, counted in ((2.9, False), (2.0, True)):
        contacts = np.concatenate((before, before[-1] + hesitation_s + np.arange(11) * 0.6))
        acc = body(contacts, FS, contacts[-1] + 3.0)
        m = gait_metrics(acc, FS, initial_contacts_s=contacts)
        strides = contacts[2:] - contacts[:-2]
        expected = np.mean(120.0 / strides[strides <= 3.0])
        assert m["cadence_steps_min"] == pytest.approx(expected, abs=0.01)
        assert (m["cadence_steps_min"] < 99.0) is counted


def test_asymmetric_step_times_lower_step_regularity_not_stride_regularity():
    contacts = contacts_from_steps(np.tile([0.5, 0.7], 20))  # a limp: short, long, short, long
    m = gait_metrics(body(contacts, FS, contacts[-1] + 3.0), FS)
    np.testing.assert_allclose(m["initial_contacts_s"], contacts, atol=0.02)
    assert m["cadence_steps_min"] == pytest.approx(100.0, abs=0.3)  # 2 steps per 1.2 s stride
    assert m["step_time_cv_pct"] == pytest.approx(cv_pct(np.tile([0.5, 0.7], 20)), abs=0.5)
    assert m["stride_time_cv_pct"] < 0.5
    assert m["stride_regularity"] > 0.95
    assert m["step_regularity"] < 0.6
    assert m["step_symmetry"] == pytest.approx(m["step_regularity"] / m["stride_regularity"])


def test_asymmetric_step_amplitude_is_seen_in_symmetry():
    contacts = contacts_from_steps(np.full(30, 0.6))
    amplitude = np.tile([3.0, 2.25], 16)[: contacts.size]  # one leg loads the trunk 25 % less
    m = gait_metrics(body(contacts, FS, 24.0, amplitude=amplitude), FS)
    assert m["steps"] == contacts.size
    assert m["stride_regularity"] > 0.95
    assert 0.6 < m["step_symmetry"] < 0.97


@pytest.mark.parametrize("step_s", [0.45, 0.6, 0.8])
@pytest.mark.parametrize("weak", [0.5, 0.33])
@pytest.mark.parametrize("backward", [False, True])
def test_strongly_asymmetric_gait_counts_the_weak_legs_steps(step_s, weak, backward):
    # a hemiparetic pattern: one leg loads the trunk half (or a third) as much as the other
    contacts = contacts_from_steps(np.full(30, step_s))
    amplitude = np.tile([3.0, 3.0 * weak], 16)[: contacts.size]
    acc = body(contacts, FS, contacts[-1] + 3.0, amplitude=amplitude, backward=backward)
    m = gait_metrics(acc, FS)
    assert m["steps"] == contacts.size
    np.testing.assert_allclose(m["initial_contacts_s"], contacts, atol=0.02)
    assert m["cadence_steps_min"] == pytest.approx(60.0 / step_s, rel=0.005)
    assert m["step_symmetry"] < 0.8
    # from the vertical alone the weak steps may vanish (one lobe per stride); the medio-lateral
    # sway tells steps from strides
    if step_s <= 0.6:
        assert detect_initial_contacts(acc[:, 0], FS).size < contacts.size
    with_ml = detect_initial_contacts(acc[:, 0], FS, acc_ml_m_s2=-acc[:, 2])  # either ML sign
    np.testing.assert_allclose(with_ml, contacts, atol=0.02)


def _side_aligned_contacts(step_s: float, n_steps: int = 24) -> np.ndarray:
    """Contacts at whole multiples of the step, so that ``body``'s medio-lateral sway (a sine at
    half the step frequency) crosses the midline at each contact, as a trunk's does."""
    return contacts_from_steps(np.full(n_steps, step_s), start_s=math.ceil(2.0 / step_s) * step_s)


@pytest.mark.parametrize("step_s", [0.5, 0.6, 0.8, 1.0])
@pytest.mark.parametrize("weak_steps", [1, 2])
def test_weak_steps_are_taken_back(step_s, weak_steps):
    """Steps that load the trunk a tenth as much as the others leave no lobes of their own.

    One such step: the contacts either side of it sit on the same side (the sway does not change
    side between them), so a step is missing there and the gait band's peak where the sway changes
    side is taken back. Two in a row: the contacts either side are three steps apart, on opposite
    sides; the interval holds three of the bout's median steps, so the two missing contacts are
    taken back where the step period puts them (the band's peaks there, on the expected sides).
    From the vertical alone they stay missed."""
    contacts = _side_aligned_contacts(step_s)
    amplitude = np.full(contacts.size, 3.0)
    amplitude[12 : 12 + weak_steps] = 0.3
    acc = body(contacts, FS, contacts[-1] + 3.0, amplitude=amplitude)
    assert detect_initial_contacts(acc[:, 0], FS).size == contacts.size - weak_steps
    found = detect_initial_contacts(acc[:, 0], FS, acc_ml_m_s2=acc[:, 2])
    assert found.size == contacts.size
    np.testing.assert_allclose(found, contacts, atol=0.02)
    m = gait_metrics(acc, FS)
    assert m["steps"] == contacts.size
    assert m["cadence_steps_min"] == pytest.approx(60.0 / step_s, rel=0.005)


@pytest.mark.parametrize("step_s", [0.8, 1.0])
@pytest.mark.parametrize("at", [0.4, 0.5])
def test_a_jolt_inside_a_stance_is_not_a_step(step_s, at):
    """A jolt in the middle of a stance (half a step's impact, e.g. a knock or a turn's push) makes
    a lobe of its own, so the vertical alone reads an extra step. Its side is doubtful (the sway
    over the step after it covers two stances) and it sits on the side of a neighbour, within one
    step: it is dropped, and every true contact stays."""
    contacts = _side_aligned_contacts(step_s)
    acc = body(contacts, FS, contacts[-1] + 3.0)
    acc[:, 0] += vertical([contacts[12] + at * step_s], FS, contacts[-1] + 3.0, amplitude=1.5) - G
    assert detect_initial_contacts(acc[:, 0], FS).size == contacts.size + 1
    found = detect_initial_contacts(acc[:, 0], FS, acc_ml_m_s2=acc[:, 2])
    np.testing.assert_allclose(found, contacts, atol=0.02)


def test_sides_are_not_used_where_the_sway_does_not_alternate():
    """Where the medio-lateral acceleration does not swing from side to side (noise only), the
    sides tell nothing and the contacts are those of the vertical alone."""
    contacts = _side_aligned_contacts(1.0)
    acc = body(contacts, FS, contacts[-1] + 3.0)
    acc[:, 0] += vertical([contacts[12] + 0.5], FS, contacts[-1] + 3.0, amplitude=1.5) - G
    noise = np.random.default_rng(5).normal(0.0, 0.8, acc.shape[0])
    np.testing.assert_array_equal(detect_initial_contacts(acc[:, 0], FS, acc_ml_m_s2=noise),
                                  detect_initial_contacts(acc[:, 0], FS))


def test_noise_and_standing_before_and_after_do_not_add_steps():
    contacts = contacts_from_steps(np.full(20, 0.55), start_s=5.0)
    acc = body(contacts, FS, contacts[-1] + 6.0, noise_m_s2=0.05, seed=3)
    m = gait_metrics(acc, FS)
    assert m["steps"] == contacts.size
    np.testing.assert_allclose(m["initial_contacts_s"], contacts, atol=0.03)


def test_backward_walk_gives_identical_metrics():
    contacts = contacts_from_steps(np.full(24, 0.65))
    fwd = gait_metrics(body(contacts, FS, 22.0), FS, sensor_height_m=0.9)
    bwd = gait_metrics(body(contacts, FS, 22.0, backward=True), FS, sensor_height_m=0.9)
    assert fwd == bwd


def test_step_length_and_speed_from_a_pendulum_of_known_height_change():
    # trunk rises and falls by h = 2 cm every step (0.55 s); pendulum length 0.95 m
    h, l, step = 0.02, 0.95, 0.55
    t = np.arange(int(30 * FS)) / FS
    walking = (t >= 3) & (t < 27)
    z = np.where(walking, -(h / 2) * np.cos(2 * np.pi * (t - 3) / step), -(h / 2))
    acc_v = G + np.gradient(np.gradient(z, 1 / FS), 1 / FS)
    acc = np.column_stack((acc_v, np.zeros_like(t), np.zeros_like(t)))
    m = gait_metrics(acc, FS, sensor_height_m=l)
    expected_step = PENDULUM_CORRECTION * 2 * math.sqrt(2 * l * h - h * h)
    # the 1 Hz velocity high-pass of the processing passes 1.8 Hz steps at 99 % (zero-phase, 4th order)
    assert m["step_length_m"] == pytest.approx(expected_step, rel=0.03)
    assert m["walking_speed_m_s"] == pytest.approx(expected_step / step, rel=0.03)
    taller = gait_metrics(acc, FS, sensor_height_m=1.1)
    assert taller["step_length_m"] > m["step_length_m"]


def test_a_step_up_a_stair_is_not_read_as_a_long_step():
    """The pendulum's rise is the smaller of the trunk's rise and fall in a step: the 17 cm the
    trunk climbs with a step onto a stair is no pendulum excursion. The range between contacts
    (Zijlstra & Hof's original h) reads the steps around it 45-52 % long."""
    from station.analysis.gait import pendulum_step_lengths

    h, l, step = 0.02, 0.95, 0.55
    t = np.arange(int(20 * FS)) / FS
    contacts = np.arange(4.0, 16.01, step)
    climb = 0.17 * (0.5 - 0.5 * np.cos(np.pi * np.clip((t - contacts[10]) / step, 0.0, 1.0)))
    z = -(h / 2) * np.cos(2 * np.pi * (t - 4.0) / step) + climb
    acc_v = G + np.gradient(np.gradient(z, 1 / FS), 1 / FS)
    lengths = pendulum_step_lengths(acc_v, FS, contacts, l)
    expected = PENDULUM_CORRECTION * 2 * math.sqrt(2 * l * h - h * h)
    assert lengths.max() <= 1.2 * expected
    assert lengths.mean() == pytest.approx(expected, rel=0.03)
    steady = np.r_[lengths[:6], lengths[14:]]  # away from the climb: the pendulum's own length
    np.testing.assert_allclose(steady, expected, rtol=0.01)


def test_no_walking_gives_zero_steps_and_nulls_never_nan():
    still = np.column_stack((np.full(1000, G), np.zeros(1000), np.zeros(1000)))
    m = gait_metrics(still, FS, sensor_height_m=0.95)
    assert m["steps"] == 0 and m["duration_s"] == 0.0 and m["initial_contacts_s"] == []
    assert all(m[k] is None for k in GAIT_KEYS if k not in ("steps", "duration_s", "initial_contacts_s"))
    assert walking_bouts(still, FS) == []
    assert detect_initial_contacts(still[:, 0], FS).size == 0


def test_three_steps_are_not_a_walking_bout():
    contacts = contacts_from_steps(np.full(2, 0.6), start_s=3.0)  # 3 contacts: one stride
    acc = body(contacts, FS, 8.0)
    assert detect_initial_contacts(acc[:, 0], FS).size == 0


def test_walking_bouts_and_a_window():
    first = contacts_from_steps(np.full(14, 0.55), start_s=2.0)
    second = contacts_from_steps(np.full(14, 0.6), start_s=20.0)
    acc_v = vertical(np.concatenate((first, second)), FS, 32.0)
    acc = np.column_stack((acc_v, np.zeros_like(acc_v), np.zeros_like(acc_v)))
    bouts = walking_bouts(acc, FS)
    assert len(bouts) == 2
    np.testing.assert_allclose(bouts[0], (first[0], first[-1]), atol=0.02)
    np.testing.assert_allclose(bouts[1], (second[0], second[-1]), atol=0.02)
    whole = gait_metrics(acc, FS)
    assert whole["steps"] == 30
    assert whole["duration_s"] == pytest.approx(14 * 0.55 + 14 * 0.6, abs=0.05)
    only_second = gait_metrics(acc, FS, window_s=(19.9, 30.0))
    assert only_second["steps"] == 15
    assert only_second["cadence_steps_min"] == pytest.approx(100.0, abs=0.3)


def test_a_stop_longer_than_the_break_splits_bouts_but_a_hesitation_does_not():
    before = contacts_from_steps(np.full(10, 0.6), start_s=2.0)
    hesitation = contacts_from_steps(np.full(10, 0.6), start_s=before[-1] + 2.5)
    acc_v = vertical(np.concatenate((before, hesitation)), FS, hesitation[-1] + 3.0)
    acc = np.column_stack((acc_v, np.zeros_like(acc_v), np.zeros_like(acc_v)))
    assert len(walking_bouts(acc, FS)) == 1
    m = gait_metrics(acc, FS)
    assert m["cadence_steps_min"] == pytest.approx(100.0, abs=0.3)  # the 2.5 s gap is not a step
    assert m["step_time_cv_pct"] < 0.5
    stop = contacts_from_steps(np.full(10, 0.6), start_s=before[-1] + 4.0)
    acc_v = vertical(np.concatenate((before, stop)), FS, stop[-1] + 3.0)
    acc = np.column_stack((acc_v, np.zeros_like(acc_v), np.zeros_like(acc_v)))
    assert len(walking_bouts(acc, FS)) == 2


def test_gait_by_minute_on_a_treadmill_session_with_a_stop():
    # 3 minutes at 110 steps/min, stopped from 70 s to 95 s
    step = 60.0 / 110.0
    contacts = np.concatenate((np.arange(1.0, 70.0, step), np.arange(95.0, 179.0, step)))
    acc = body(contacts, FS, 180.0)
    rows = gait_by_minute(acc, FS, sensor_height_m=0.95)
    assert [r["minute"] for r in rows] == [1, 2, 3]
    assert all(list(r) == list(MINUTE_KEYS) for r in rows)
    assert rows[0]["walking_s"] == pytest.approx(59.0, abs=0.6)
    assert rows[1]["walking_s"] == pytest.approx(35.0, abs=1.2)
    assert [r["pauses"] for r in rows] == [0, 1, 0]
    assert rows[1]["pause_s"] == pytest.approx(25.0, abs=1.2)
    for r, lo, hi in zip(rows, (0, 60, 120), (60, 120, 180)):
        assert r["steps"] == int(np.count_nonzero((contacts >= lo - 0.02) & (contacts < hi - 0.02)))
        assert r["cadence_steps_min"] == pytest.approx(110.0, abs=0.5)
        assert r["step_length_m"] > 0 and r["walking_speed_m_s"] > 0
        assert_no_nan(r)
    assert sum(r["steps"] for r in rows) == contacts.size


def test_a_minute_without_walking_has_nulls():
    acc = body(contacts_from_steps(np.full(40, 0.6), start_s=1.0), FS, 150.0)  # walks the first 25 s
    rows = gait_by_minute(acc, FS)
    assert rows[1]["steps"] == 0 and rows[1]["walking_s"] == 0.0
    assert rows[1]["cadence_steps_min"] is None and rows[1]["step_time_cv_pct"] is None
    assert rows[1]["pause_s"] == pytest.approx(60.0)
    assert rows[2]["end_s"] == pytest.approx(150.0)


@pytest.mark.parametrize("last_steps", [1, 2, 3])
def test_a_minute_with_too_few_steps_gives_no_cadence_length_or_speed(last_steps):
    """A session whose walking ends just into a minute: that minute's one to three steps are counted
    but not measured (before, one step gave the minute a cadence of 94, a step length and a speed)."""
    step = 0.6
    contacts = np.arange(1.0, 60.0 + step * last_steps, step)  # 60.4, 61.0, 61.6 s: one to three into minute 2
    acc = body(contacts, FS, 90.0)
    rows = gait_by_minute(acc, FS, sensor_height_m=0.95)
    assert rows[0]["cadence_steps_min"] == pytest.approx(100.0, abs=1.0) and rows[0]["walking_speed_m_s"] > 0
    assert 1 <= rows[1]["steps"] <= last_steps + 1 and rows[1]["steps"] < MIN_MINUTE_STEPS
    assert {k: rows[1][k] for k in ("cadence_steps_min", "step_time_s", "step_time_cv_pct", "stride_time_cv_pct",
                                    "step_length_m", "walking_speed_m_s")} == dict.fromkeys(
        ("cadence_steps_min", "step_time_s", "step_time_cv_pct", "stride_time_cv_pct", "step_length_m", "walking_speed_m_s"))


@pytest.mark.parametrize(
    "call,message",
    [
        (lambda a: gait_metrics(a, 0.0), "positive number of Hz"),
        (lambda a: gait_metrics(a, float("nan")), "positive number of Hz"),
        (lambda a: gait_metrics(a, True), "number of Hz"),
        (lambda a: gait_metrics(a, 10.0), "too low for gait analysis"),
        (lambda a: gait_metrics(a[:, :2], FS), r"shape \(N, 3\)"),
        (lambda a: gait_metrics(a[:150], FS), "too short for gait analysis"),
        (lambda a: gait_metrics(np.where(np.arange(a.shape[0])[:, None] == 500, np.nan, a), FS), "NaN or infinite"),
        (lambda a: gait_metrics(a, FS, sensor_height_m=0.1), "not a plausible height"),
        (lambda a: gait_metrics(a, FS, sensor_height_m=float("inf")), "not a plausible height"),
        (lambda a: gait_metrics(a, FS, sensor_height_m="1"), "number of metres"),
        (lambda a: gait_metrics(a, FS, window_s=(5.0, 2.0)), "start_s < end_s"),
        (lambda a: gait_metrics(a, FS, window_s=(100.0, 200.0)), "outside the recording"),
        (lambda a: gait_metrics(a, FS, window_s=3.0), "pair"),
        (lambda a: gait_by_minute(a, FS, minute_s=0), "positive number of seconds"),
        (lambda a: gait_metrics(a, FS, initial_contacts_s=[1.0, float("nan")]), "finite times"),
        (lambda a: gait_metrics(a, FS, initial_contacts_s=[1.0, 2.0, 3.0, 40.0]), "inside the recording"),
        (lambda a: detect_initial_contacts(a, FS), "must be 1-D"),
        (lambda a: detect_initial_contacts(a[:, 0], FS, acc_ml_m_s2=a[:-5, 2]), "one per sample for both"),
        (lambda a: walking_bouts(a[:, 0], FS), r"shape \(N, 3\)"),
    ],
)
def test_bad_input_is_refused_with_a_specific_message(call, message):
    acc = body(contacts_from_steps(np.full(10, 0.6)), FS, 10.0)
    with pytest.raises(ValueError, match=message):
        call(acc)


def test_slow_sample_rates_and_other_rates_give_the_same_contacts():
    contacts = contacts_from_steps(np.full(20, 0.6))
    ref = detect_initial_contacts(vertical(contacts, 100.0, 16.0), 100.0)
    for fs in (52.0, 104.0, 200.0):
        got = detect_initial_contacts(vertical(contacts, fs, 16.0), fs)
        np.testing.assert_allclose(got, ref, atol=2.5 / fs + 0.01)



def _walk_stand_walk(pause_steps: int, step_s: float = 0.6) -> tuple[np.ndarray, np.ndarray]:
    """Contacts and body-frame acceleration of a walk, ``pause_steps`` step times of standing
    still (no impacts, no sway; sensor noise only) and another walk. Contacts sit at whole steps so
    that the medio-lateral sway crosses the midline at each, as a trunk's does; the trunk sways
    onto the last stance leg before it settles, so the contacts either side of the pause both have
    a clear side."""
    first = _side_aligned_contacts(step_s, 12)
    second = first[-1] + pause_steps * step_s + np.arange(13) * step_s
    contacts = np.concatenate((first, second))
    acc = body(contacts, FS, contacts[-1] + 3.0, noise_m_s2=0.05, seed=4)
    t = np.arange(acc.shape[0]) / FS
    standing = (t > first[-1] + step_s) & (t < second[0])
    acc[standing, 2] = np.random.default_rng(5).normal(0.0, 0.05, np.count_nonzero(standing))
    return contacts, acc


@pytest.mark.parametrize("pause_steps", [3, 4])
def test_standing_still_inside_a_bout_gets_no_steps(pause_steps):
    """Standing still for three or four step times (1.8 or 2.4 s, shorter than the 3 s break, so
    still one bout) leaves an interval of several steps between two trusted sides, but no
    medio-lateral sway: nothing is taken back, and cadence counts the hesitation's strides as the
    reference's definition does (strides up to 3 s)."""
    contacts, acc = _walk_stand_walk(pause_steps)
    assert len(walking_bouts(acc, FS)) == 1
    m = gait_metrics(acc, FS)
    assert m["steps"] == contacts.size
    np.testing.assert_allclose(m["initial_contacts_s"], contacts, atol=0.03)
    strides = contacts[2:] - contacts[:-2]
    strides = strides[strides <= 3.0]
    assert m["cadence_steps_min"] == pytest.approx(np.mean(120.0 / strides), abs=0.5)
    assert m["cadence_steps_min"] < 100.0 - 1.0  # the hesitation lowers it
    assert m["step_time_s"] == pytest.approx(0.6, abs=0.005)  # not the hesitation's intervals


def test_a_pause_longer_than_the_break_is_not_filled():
    """Standing still for 3.6 s, longer than the Mobilise-D break of 3 s, ends the walking bout:
    two bouts, no step taken back in the pause, and the cadence of two 100 steps/min walks."""
    contacts, acc = _walk_stand_walk(6)
    assert len(walking_bouts(acc, FS)) == 2
    m = gait_metrics(acc, FS)
    np.testing.assert_allclose(m["initial_contacts_s"], contacts, atol=0.03)
    assert m["cadence_steps_min"] == pytest.approx(100.0, abs=0.3)
