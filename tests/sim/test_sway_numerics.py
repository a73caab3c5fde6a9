"""The sway model's own numerics (numpy only): matrix exponential, Lyapunov solve, modal scan,
and that the simulation modules stay free of scipy (the acquisition process's memory budget)."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from station.sim.sway_model import (
    N1,
    N2,
    SCAN_BLOCK_MAX,
    V,
    X,
    NoiseLevels,
    SwayAxis,
    _scan_block,
    expm,
    modal_scan,
    solve_continuous_lyapunov,
)


def _taylor_expm(a: np.ndarray, terms: int = 60) -> np.ndarray:
    """exp(A) by its power series (converges well for ‖A‖ of a few units)."""
    result = np.eye(len(a))
    term = np.eye(len(a))
    for k in range(1, terms):
        term = term @ a / k
        result = result + term
    return result


# ----------------------------------------------------------------------------------------------
# expm


def test_expm_of_known_matrices():
    np.testing.assert_array_equal(expm(np.zeros((3, 3))), np.eye(3))
    np.testing.assert_allclose(expm(np.diag([1.0, -2.0, 0.5])), np.diag(np.exp([1.0, -2.0, 0.5])), rtol=1e-14)
    theta = 0.7  # a rotation generator gives the rotation
    rot = expm(np.array([[0.0, -theta], [theta, 0.0]]))
    np.testing.assert_allclose(rot, [[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]], rtol=1e-14)
    # A nilpotent Jordan block: exp(N) = I + N + N²/2 exactly.
    n = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(expm(3.0 * n), [[1.0, 3.0, 4.5], [0.0, 1.0, 3.0], [0.0, 0.0, 1.0]], rtol=1e-14)


def test_expm_needs_scaling_and_squaring_for_a_large_norm():
    # Moler & Van Loan (1978, 2003): A = V·diag(-1, -17)·V⁻¹ with V = [[1, 3], [2, 4]]; a naive
    # Taylor series loses everything here (‖A‖ = 113).
    a = np.array([[-49.0, 24.0], [-64.0, 31.0]])
    v = np.array([[1.0, 3.0], [2.0, 4.0]])
    exact = v @ np.diag(np.exp([-1.0, -17.0])) @ np.linalg.inv(v)
    np.testing.assert_allclose(expm(a), exact, rtol=1e-12, atol=1e-15)
    big = np.array([[0.0, 30.0], [-30.0, 0.0]])  # rotation by 30 rad: |entries| stay ≤ 1
    np.testing.assert_allclose(expm(big), [[math.cos(30), math.sin(30)], [-math.sin(30), math.cos(30)]], atol=1e-12)


@pytest.mark.parametrize("norm", [0.01, 0.2, 0.9, 2.0, 5.0])
def test_expm_matches_the_power_series_at_every_pade_degree(norm):
    a = np.random.default_rng(int(norm * 100)).standard_normal((6, 6))
    a *= norm / np.max(np.sum(np.abs(a), axis=0))  # 1-norm chooses the Padé degree (3, 5, 7, 9, 13)
    np.testing.assert_allclose(expm(a), _taylor_expm(a, 80), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(expm(a) @ expm(-a), np.eye(6), atol=1e-13)


def test_expm_rejects_what_is_not_a_finite_square_matrix():
    with pytest.raises(ValueError, match="square"):
        expm(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="finite"):
        expm(np.array([[0.0, np.nan], [0.0, 0.0]]))


def test_sway_discretisation_is_the_exact_zero_order_hold():
    axis = SwayAxis(0.935)
    lam, vec = np.linalg.eig(axis.a)  # the continuous model is diagonalisable
    ad = (vec @ np.diag(np.exp(lam * axis.dt_s)) @ np.linalg.inv(vec)).real
    np.testing.assert_allclose(axis.ad, ad, rtol=1e-12, atol=1e-15)
    # Bd = ∫₀^dt exp(A·s) ds · B = A⁻¹·(Ad − I)·B (A is invertible: the model is stable).
    bd = np.linalg.solve(axis.a, (axis.ad - np.eye(8)) @ axis.b)
    np.testing.assert_allclose(axis.bd, bd, rtol=1e-8, atol=1e-15)


@pytest.mark.parametrize("n", [1, 2, 64, 129])
def test_short_simulations_follow_the_state_space_recursion(n):
    axis = SwayAxis(0.935)
    noise = NoiseLevels(0.2, 0.5)
    rng = np.random.default_rng(n)
    state = axis.stationary_state(noise, rng)
    white = rng.standard_normal((2, n))
    out, end = axis.simulate(state, noise, white)
    s, direct = state.copy(), []
    for k in range(n):
        direct.append(axis.c @ s)
        s = axis.ad @ s + axis.bd @ (white[:, k] * np.array([noise.motor_cm, noise.drift_cm]) / math.sqrt(axis.dt_s))
    np.testing.assert_allclose(out, np.array(direct).T, rtol=0, atol=1e-10)
    np.testing.assert_allclose(end, s, rtol=0, atol=1e-10)


# ----------------------------------------------------------------------------------------------
# Lyapunov


def test_lyapunov_of_an_ornstein_uhlenbeck_process_is_its_variance():
    tau_s, sd = 10.0, 0.5
    x = solve_continuous_lyapunov(np.array([[-1.0 / tau_s]]), np.array([[-2.0 * sd**2 / tau_s]]))
    assert x[0, 0] == pytest.approx(sd**2, rel=1e-14)


def test_lyapunov_matches_the_eigenvector_solution_of_a_random_stable_system():
    rng = np.random.default_rng(5)
    a = rng.standard_normal((8, 8))
    a -= (np.max(np.linalg.eigvals(a).real) + 0.5) * np.eye(8)  # shift every eigenvalue left of −0.5
    b = rng.standard_normal((8, 2))
    q = -b @ b.T
    x = solve_continuous_lyapunov(a, q)
    np.testing.assert_allclose(a @ x + x @ a.T, q, atol=1e-12)
    # Independent solution: in A's eigenbasis the equation is diagonal, X̃ᵢⱼ = Q̃ᵢⱼ/(λᵢ + λⱼ).
    lam, vec = np.linalg.eig(a)
    inv = np.linalg.inv(vec)
    qt = inv @ q @ inv.T
    expected = (vec @ (qt / (lam[:, None] + lam[None, :])) @ vec.T).real
    np.testing.assert_allclose(x, expected, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(x, x.T, atol=1e-13)
    assert np.all(np.linalg.eigvalsh(0.5 * (x + x.T)) > -1e-12)  # a covariance


def test_lyapunov_without_a_unique_solution_is_an_error():
    with pytest.raises(ValueError, match="no unique solution"):
        solve_continuous_lyapunov(np.diag([1.0, -1.0]), np.eye(2))
    with pytest.raises(ValueError, match="same shape"):
        solve_continuous_lyapunov(np.eye(2), np.eye(3))


def test_stationary_covariance_has_exact_zeros_and_a_stable_start_state():
    axis = SwayAxis(0.935)
    cov = axis.stationary_covariance(NoiseLevels(0.36, 0.55))
    assert cov[X, V] == cov[V, X] == cov[N1, N2] == cov[N2, N1] == 0.0
    # The drawn start state depends continuously on the model: a 1e-13 relative change of the
    # height must not flip the covariance's eigenvectors (it did when cov[X, V] was left as the
    # solve's ±1e-14 residue).
    noise = NoiseLevels(0.3623135689842099, 0.5497418031302013)
    states = [
        SwayAxis(0.935 * (1 + k * 1e-13)).stationary_state(noise, np.random.default_rng(1)) for k in range(20)
    ]
    np.testing.assert_allclose(states, [states[0]] * len(states), rtol=0, atol=1e-9)


# ----------------------------------------------------------------------------------------------
# Modal scan


def _loop_scan(lam, u, y_before):
    y = np.empty(u.shape, dtype=complex)
    prev = np.asarray(y_before, dtype=complex).copy()
    for k in range(u.shape[1]):
        prev = lam * prev + u[:, k]
        y[:, k] = prev
    return y


RADII = {
    # The sway model's range: blocks of 64 samples.
    "slow": [0.9999, 0.999, 0.99, 0.98, 0.975, 0.9995, 1.0, 0.97],
    # A faster mode shortens the blocks (|lam|^−(B−1) ≤ 8: B = 20 here).
    "fast": [0.9999, 0.9, 0.99, 0.95, 0.5 ** (1 / 8), 0.999, 1.0, 0.92],
    # A mode without memory (or below 1/8) allows no blocks: recursive doubling throughout.
    "memoryless": [0.0, 0.3, 0.97, 0.9999, 1.0, 0.99, 0.5, 0.999],
}


@pytest.mark.parametrize("n", [0, 1, 2, 3, 63, 64, 65, 128, 1000, 4097])
@pytest.mark.parametrize("radii", list(RADII))
def test_modal_scan_equals_the_sequential_recursion(n, radii):
    rng = np.random.default_rng(n)
    radius = np.array(RADII[radii])
    lam = radius * np.exp(1j * rng.uniform(-0.5, 0.5, 8))
    lam[radius == 1.0] = 1.0  # a pure accumulator (|lam| = 1 is still stable here)
    u = rng.standard_normal((8, n)) + 1j * rng.standard_normal((8, n))
    y_before = rng.standard_normal(8) + 1j * rng.standard_normal(8)
    expected = _loop_scan(lam, u, y_before)
    got = modal_scan(lam, u, y_before)
    assert got.shape == (8, n)
    scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12 * scale)


def test_modal_scan_blocks_follow_the_fastest_mode():
    assert _scan_block(np.array(RADII["slow"])) == SCAN_BLOCK_MAX
    assert _scan_block(np.array(RADII["fast"])) == 20
    assert _scan_block(np.array(RADII["memoryless"])) == 1
    assert _scan_block(SwayAxis(0.935)._lam) == SCAN_BLOCK_MAX


def test_modal_scan_takes_real_input_and_rejects_bad_arguments():
    lam = np.array([0.5, 0.9])
    u = np.ones((2, 5))
    np.testing.assert_allclose(modal_scan(lam, u, np.zeros(2)), _loop_scan(lam, u, np.zeros(2)), atol=1e-15)
    with pytest.raises(ValueError, match="shape"):
        modal_scan(lam, np.ones((3, 5)), np.zeros(2))
    with pytest.raises(ValueError, match="shape"):
        modal_scan(lam, np.ones(5), np.zeros(2))
    with pytest.raises(ValueError, match="stable"):
        modal_scan(np.array([0.5, 1.01]), u, np.zeros(2))


# ----------------------------------------------------------------------------------------------
# Import weight


ACQUISITION_MODULES = (
    "station.sim.person",
    "station.sim.sway_model",
    "station.sim.hardware",
    "station.sim.replay",
    "station.sim.masses",
    "station.acquire.process",
    "station.acquire.local",
    "station.acquire.hardware",
    "station.acquire.loop",
)


def test_the_acquisition_side_imports_no_scipy():
    """scipy costs the acquisition process ~75 MB of its 60 MB budget: none of what it imports
    may load it, nor any analysis module but the numpy-only COP."""
    code = (
        f"import sys; import {', '.join(ACQUISITION_MODULES)}; "
        "print(sorted({m.split('.')[0] for m in sys.modules if m.startswith('scipy')} "
        "| {m for m in sys.modules if m.startswith('station.analysis.') and m != 'station.analysis.cop'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
