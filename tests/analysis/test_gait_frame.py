"""Body frame of the lower-back IMU: vertical from gravity, toes from the mounting, the check."""

from __future__ import annotations

import numpy as np
import pytest

from station.analysis.gait import detect_initial_contacts
from station.analysis.imu_frame import align_to_body, axis_vector, check_mounting, gravity_direction

from _gait_signals import body, contacts_from_steps, rotation, to_sensor

FS = 100.0


def walk(backward=False):
    contacts = contacts_from_steps(np.full(24, 0.55))
    return contacts, body(contacts, FS, 20.0, backward=backward)


def test_axis_vector_parses_signed_axes_and_refuses_others():
    assert axis_vector("+y").tolist() == [0.0, 1.0, 0.0]
    assert axis_vector("-Z").tolist() == [0.0, 0.0, -1.0]
    assert axis_vector("x").tolist() == [1.0, 0.0, 0.0]
    for bad in ("up", "+w", "", None, 3):
        with pytest.raises(ValueError, match="mounting axis"):
            axis_vector(bad)


def test_untilted_sensor_gives_back_the_body_frame_columns():
    _contacts, acc_body = walk()
    sensor = to_sensor(acc_body)
    got, gyro = align_to_body(sensor, None, up_axis="+x", toes_axis="+z", fs_hz=FS)
    assert gyro is None
    # gravity's direction is the mean acceleration, which the sway tilts by a hair: 1e-3 m/s² level
    np.testing.assert_allclose(got, acc_body, atol=0.02)


@pytest.mark.parametrize("axis,angle", [((0, 1, 0), 30.0), ((0, 1, 0), -45.0), ((0, 0, 1), 45.0),
                                        ((1, 1, 0), 45.0), ((0.3, 1, 0.5), 40.0)])
def test_tilted_sensor_up_to_45_degrees_gives_the_same_contacts(axis, angle):
    contacts, acc_body = walk()
    sensor = to_sensor(acc_body, rotation(axis, angle))
    got, _ = align_to_body(sensor, None, up_axis="+x", toes_axis="+z", fs_hz=FS)
    np.testing.assert_allclose(got[:, 0], acc_body[:, 0], atol=0.05)  # vertical recovered from gravity
    straight = detect_initial_contacts(acc_body[:, 0], FS)
    tilted = detect_initial_contacts(got[:, 0], FS)
    assert tilted.size == straight.size == contacts.size
    np.testing.assert_allclose(tilted, straight, atol=1.0 / FS)
    assert check_mounting(sensor, up_axis="+x", toes_axis="+z") is None


def test_tilt_about_the_vertical_axis_turns_ap_into_ap_not_ml():
    # a sensor pitched forward 30°: its toes axis points partly down; ap must stay horizontal
    _contacts, acc_body = walk()
    sensor = to_sensor(acc_body, rotation((0, 1, 0), 30.0))
    got, _ = align_to_body(sensor, None, up_axis="+x", toes_axis="+z", fs_hz=FS)
    corr_ap = np.corrcoef(got[:, 1], acc_body[:, 1])[0, 1]
    assert corr_ap > 0.99


def test_ml_points_to_the_right_for_the_configured_mounting():
    push_right = np.tile([9.81, 0.0, 0.0], (3000, 1))
    push_right[1500, 1] = 1.0  # a brief push along sensor +y: toes (+z) × up (+x) = the right
    got, _ = align_to_body(push_right, None, up_axis="+x", toes_axis="+z")
    assert got[1500, 2] == pytest.approx(1.0, abs=0.01)
    assert got[1500, 1] == pytest.approx(0.0, abs=0.01)
    worn_backwards, _ = align_to_body(push_right, None, up_axis="+x", toes_axis="-z")
    assert worn_backwards[1500, 2] == pytest.approx(-1.0, abs=0.01)


def test_backward_walking_gives_the_same_contacts_and_flipped_ap():
    contacts, fwd = walk()
    _, bwd = walk(backward=True)
    a = detect_initial_contacts(fwd[:, 0], FS)
    b = detect_initial_contacts(bwd[:, 0], FS)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(bwd[:, 1], -fwd[:, 1])


def test_gyro_is_rotated_with_the_acceleration():
    _contacts, acc_body = walk()
    n = acc_body.shape[0]
    gyro_sensor = np.tile([0.0, 0.0, 10.0], (n, 1))  # 10 deg/s about the sensor's toes axis
    _acc, gyro = align_to_body(to_sensor(acc_body), gyro_sensor, up_axis="+x", toes_axis="+z", fs_hz=FS)
    np.testing.assert_allclose(gyro.mean(axis=0), [0.0, 10.0, 0.0], atol=0.1)


def test_vertical_follows_a_slow_change_of_posture():
    # 60 s: upright for 20 s, then leaning the sensor 40° over 10 s and staying there
    n = int(60 * FS)
    t = np.arange(n) / FS
    lean = np.radians(np.clip((t - 20.0) / 10.0, 0, 1) * 40.0)
    sensor = np.column_stack((9.81 * np.cos(lean), np.zeros(n), -9.81 * np.sin(lean)))
    g = gravity_direction(sensor, FS)
    assert np.degrees(np.arccos(g[-1] @ [1.0, 0.0, 0.0])) == pytest.approx(40.0, abs=1.0)
    got, _ = align_to_body(sensor, None, fs_hz=FS)
    np.testing.assert_allclose(got[int(35 * FS):, 0], 9.81, atol=0.05)
    np.testing.assert_allclose(got[:int(15 * FS), 0], 9.81, atol=0.05)


def test_check_mounting_reports_what_disagrees():
    still = np.tile([9.81, 0.0, 0.0], (200, 1))
    assert check_mounting(still, up_axis="+x", toes_axis="+z") is None
    upside_down = check_mounting(still, up_axis="-x", toes_axis="+z")
    assert "upside down" in upside_down and "-x" in upside_down and "\n" not in upside_down
    turned = check_mounting(still, up_axis="+y", toes_axis="+z")
    assert "90°" in turned and "+x is nearest to up" in turned
    in_g = check_mounting(still / 9.81, up_axis="+x", toes_axis="+z")
    assert "in g instead of m/s²" in in_g
    tilted = still @ rotation((0, 1, 0), 45.0).T
    assert check_mounting(tilted, up_axis="+x", toes_axis="+z") is None


def test_alignment_refuses_bad_input_with_specific_messages():
    still = np.tile([9.81, 0.0, 0.0], (200, 1))
    with pytest.raises(ValueError, match="different sensor axes"):
        align_to_body(still, None, up_axis="+x", toes_axis="-x")
    with pytest.raises(ValueError, match=r"shape \(N, 3\)"):
        align_to_body(still[:, :2], None)
    with pytest.raises(ValueError, match="NaN or infinite"):
        align_to_body(np.vstack((still, [np.nan, 0, 0])), None)
    with pytest.raises(ValueError, match="one row per sample"):
        align_to_body(still, still[:10])
    with pytest.raises(ValueError, match="points nearly vertically"):
        align_to_body(np.tile([0.0, 0.0, 9.81], (200, 1)), None, up_axis="+x", toes_axis="+z")
    with pytest.raises(ValueError, match="no gravity"):
        align_to_body(np.zeros((200, 3)), None)
    with pytest.raises(ValueError, match="positive number of Hz"):
        gravity_direction(still, fs_hz=-1.0)


def test_bending_or_reclining_beyond_the_toes_axis_limit_keeps_the_frame():
    """A trunk that pitches so far that the toes axis nears the vertical (bending to the floor,
    reclining, a sensor tilted on the belt on top) is not a wrong mounting: the heading then comes
    from the medio-lateral axis, and the recording is analysed."""
    n = int(60 * FS)
    t = np.arange(n) / FS
    pitch = np.radians(np.interp(t, [0, 20, 25, 35, 40, 60], [0, 0, 75, 75, 0, 0]))  # 75° forward, 10 s
    up = np.column_stack((np.cos(pitch), np.zeros(n), -np.sin(pitch)))  # gravity's up in sensor axes
    sensor = 9.81 * up
    push = (t >= 30.0) & (t < 30.1)
    sensor[push, 1] += 0.5  # a brief push toward the right (sensor +y) while bent
    got, _ = align_to_body(sensor, None, up_axis="+x", toes_axis="+z", fs_hz=FS)
    bent = (t > 29) & (t < 31)
    steady = bent | (t < 15) | (t > 50)
    np.testing.assert_allclose(got[steady, 0], 9.81, atol=0.05)  # vertical while still, bent or upright
    before = (t >= 29.8) & (t < 29.9)
    change = got[push].mean(axis=0) - got[before].mean(axis=0)
    assert change[2] == pytest.approx(0.5, abs=0.03)  # the push is still to the right
    assert change[1] == pytest.approx(0.0, abs=0.03) and change[0] == pytest.approx(0.0, abs=0.03)
    # a sensor whose configured toes axis is vertical for the whole recording is still refused
    with pytest.raises(ValueError, match="points nearly vertically"):
        align_to_body(np.tile([0.0, 0.0, 9.81], (200, 1)), None, up_axis="+x", toes_axis="+z")
