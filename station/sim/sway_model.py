"""Quiet-stance sway of one axis: a delayed-feedback inverted pendulum driven by noise.

The body is a single inverted pendulum pivoting at the ankles with its centre of mass (COM) at
height ``h``. For small angles the COM's horizontal position ``x`` and the centre of pressure (COP)
``p`` obey ``x'' = (g/h)·(x − p)``, i.e. ``p = x − (h/g)·x''`` exactly (Winter 1995, "Human balance
and posture control during standing and walking", Gait & Posture 3:193). The nervous system sets
the COP (through the ankle torque) from the COM state seen a delay earlier: a PD controller with
delay and noise (Peterka 2002, J Neurophysiol 88:1097; Maurer & Peterka 2005, J Neurophysiol
93:189), whose set point slowly wanders ("rambling", Zatsiorsky & Duarte 1999, Motor Control
3:28; a slow set point driving a damped oscillator, Dijkstra 2000 and Kiemel et al. 2006,
J Neurophysiol 95:1410). In COP units (cm)::

    x'  = v
    v'  = (g/h) · (x − p),          p = c3 + n                       (COP)
    u   = Kp·(x − r) + Kd·v + r                                      (controller command)
    c1' = (u − c1)/(τ/3),  c2' = (c1 − c2)/(τ/3),  c3' = (c2 − c3)/(τ/3)   (delay τ)
    n'' = ωn²·(b·w1 − n) − 2ζωn·n'                                   (motor noise)
    r'  = −r/τr + sqrt(2/τr)·σr·w2                                   (set-point drift)

``Kp`` (dimensionless, = K_P/(m·g·h)) and ``Kd`` (s, = K_D/(m·g·h)) are the normalised ankle
stiffness and damping of the controller; the delay is a chain of three first-order lags (a smooth
approximation of a pure delay, exact in phase to within 0.05 rad below 1 Hz for τ = 0.15 s); ``n``
is motor noise (white noise ``w1`` through a second-order low-pass with corner ``fn`` and damping
``ζ``, scaled so that its stationary SD is ``motor_cm``); ``r`` is an Ornstein-Uhlenbeck set point
with stationary SD ``drift_cm``.

Voluntary movements (a weight shift, lifting a leg) are not inputs of this model: they are planned
COM trajectories ``s(t)`` executed by feed-forward, ``COP_s = s − (h/g)·s''``, which the caller adds
to the outputs. Because the model is linear, ``x + s`` and ``p + COP_s`` then still obey
``p = x − (h/g)·x''`` exactly (the feedback acts on the deviation from the plan).

The model is linear and time-invariant, so it is simulated exactly for piecewise-constant inputs
(zero-order hold) on a fixed grid, vectorised: the discrete state matrix is diagonalised once and
each of its eight modes is a first-order (complex) recursion, run by :func:`modal_scan`. The state
carries over between blocks, so a trajectory can be produced block by block, and a block is
reproduced exactly from its start state and its noise.

numpy only: this module is imported by the acquisition process (through :mod:`station.sim.person`),
whose memory budget scipy alone would exceed (importing ``scipy.linalg`` and ``scipy.signal`` costs
about 75 MB of resident memory). The three pieces of numerical linear algebra it needs are here:
:func:`expm` (Higham's scaling and squaring Padé approximant, as in ``scipy.linalg.expm``),
:func:`solve_continuous_lyapunov` (the Kronecker/vec form, exact for the 8×8 state) and
:func:`modal_scan` (the recursions ``lfilter`` used to run: scaled cumulative sums within
blocks, the blocks joined by recursive doubling). The per-sample work uses elementwise numpy and
``einsum``, no BLAS: a multi-threaded BLAS spins on a busy 2-core machine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from station.sim.loads import STANDARD_GRAVITY_M_S2

N_STATES = 8
X, V, C1, C2, C3, N1, N2, R = range(N_STATES)
N_NOISE = 2
"""White-noise inputs per axis: motor noise, set-point drift."""

OUTPUTS = ("com_cm", "com_vel_cm_s", "com_acc_cm_s2", "cop_cm")
"""Rows of the output array of :meth:`SwayAxis.simulate`."""


@dataclass(frozen=True)
class Controller:
    """Controller and noise-shaping constants shared by all conditions (one axis).

    Attributes
    ----------
    kp : float
        Proportional gain, COP per COM displacement (= K_P/(m·g·h)); > 1 for stability.
    kd_s : float
        Derivative gain, s (= K_D/(m·g·h)).
    delay_s : float
        Feedback delay, s.
    motor_noise_corner_hz, motor_noise_damping : float
        Corner frequency (Hz) and damping ratio of the second-order low-pass shaping the motor
        noise; the COP spectrum falls as f⁻⁴ above the corner, as measured COP spectra do
        between 1 and 5 Hz.
    drift_time_constant_s : float
        Correlation time of the set-point drift, s.
    """

    kp: float = 1.3
    kd_s: float = 0.35
    delay_s: float = 0.15
    motor_noise_corner_hz: float = 1.0
    motor_noise_damping: float = 0.7
    drift_time_constant_s: float = 10.0

    def __post_init__(self) -> None:
        for name in ("kd_s", "delay_s", "motor_noise_corner_hz", "motor_noise_damping", "drift_time_constant_s"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value > 0):
                raise ValueError(f"Controller.{name} must be a positive number, got {value!r}")
        if not (np.isfinite(self.kp) and self.kp > 1.0):
            raise ValueError(f"Controller.kp must be > 1 (the COP must overtake the COM), got {self.kp!r}")


@dataclass(frozen=True)
class NoiseLevels:
    """Stationary SDs of the two noise processes of one axis, cm of COP."""

    motor_cm: float
    drift_cm: float

    def __post_init__(self) -> None:
        for name in ("motor_cm", "drift_cm"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value >= 0):
                raise ValueError(f"NoiseLevels.{name} must be a number >= 0, got {value!r}")

    def scaled(self, factor: float) -> "NoiseLevels":
        """Both levels times ``factor``."""
        return NoiseLevels(self.motor_cm * factor, self.drift_cm * factor)


class SwayAxis:
    """The sway model of one axis, discretised on a grid of step ``dt_s``.

    Parameters
    ----------
    com_height_m : float
        Height of the COM above the ankle pivot, m.
    controller : Controller
        Controller and noise-shaping constants.
    dt_s : float
        Grid step, s (1 ms in :mod:`station.sim.person`). Must be small against the fastest
        time constant of the model (τ/3 and 1/ωn): it is checked to be at most 1/10 of them.

    Raises
    ------
    ValueError
        A non-positive height or step, a step too coarse for the model, or a controller that
        does not keep the pendulum upright (an unstable closed loop).
    """

    def __init__(self, com_height_m: float, controller: Controller = Controller(), dt_s: float = 1e-3):
        if not (np.isfinite(com_height_m) and com_height_m > 0):
            raise ValueError(f"com_height_m must be a positive number of metres, got {com_height_m!r}")
        if not (np.isfinite(dt_s) and dt_s > 0):
            raise ValueError(f"dt_s must be a positive number of seconds, got {dt_s!r}")
        self.controller = controller
        self.com_height_m = float(com_height_m)
        self.dt_s = float(dt_s)
        self.omega0_sq = STANDARD_GRAVITY_M_S2 / self.com_height_m
        tc = controller.delay_s / 3.0
        wn = 2.0 * np.pi * controller.motor_noise_corner_hz
        fastest = min(tc, 1.0 / wn)
        if dt_s > fastest / 10.0:
            raise ValueError(
                f"dt_s={dt_s:g} s is too coarse for this model: use at most {fastest / 10.0:.3g} s "
                "(1/10 of its fastest time constant)"
            )
        kp, kd, zeta, tr = controller.kp, controller.kd_s, controller.motor_noise_damping, controller.drift_time_constant_s

        a = np.zeros((N_STATES, N_STATES))
        b = np.zeros((N_STATES, N_NOISE))  # inputs: w1, w2 (unit-intensity white noise)
        a[X, V] = 1.0
        a[V, X] = self.omega0_sq
        a[V, C3] = -self.omega0_sq
        a[V, N1] = -self.omega0_sq
        a[C1, X] = kp / tc
        a[C1, V] = kd / tc
        a[C1, R] = (1.0 - kp) / tc
        a[C1, C1] = -1.0 / tc
        a[C2, C1] = 1.0 / tc
        a[C2, C2] = -1.0 / tc
        a[C3, C2] = 1.0 / tc
        a[C3, C3] = -1.0 / tc
        a[N1, N2] = 1.0
        a[N2, N1] = -wn * wn
        a[N2, N2] = -2.0 * zeta * wn
        # Unit stationary SD for unit-intensity white noise: var(n) = b²·ωn/(4ζ) for this filter.
        b[N2, 0] = wn * wn * np.sqrt(4.0 * zeta / wn)
        a[R, R] = -1.0 / tr
        b[R, 1] = np.sqrt(2.0 / tr)
        eig = np.linalg.eigvals(a)
        if np.max(eig.real) >= 0:
            raise ValueError(
                f"this controller (kp={kp}, kd_s={kd}, delay_s={controller.delay_s}) does not keep a "
                f"{com_height_m:.2f} m pendulum upright (closed-loop eigenvalue {eig[np.argmax(eig.real)]:.3g}); "
                "raise kd_s or shorten the delay"
            )
        self.a = a
        self.b = b
        # Output matrix: COM, COM velocity, COM acceleration, COP.
        c = np.zeros((len(OUTPUTS), N_STATES))
        c[0, X] = 1.0
        c[1, V] = 1.0
        c[2, X] = self.omega0_sq
        c[2, C3] = -self.omega0_sq
        c[2, N1] = -self.omega0_sq
        c[3, C3] = 1.0
        c[3, N1] = 1.0
        self.c = c
        # Exact zero-order-hold discretisation.
        m = np.zeros((N_STATES + N_NOISE,) * 2)
        m[:N_STATES, :N_STATES] = a
        m[:N_STATES, N_STATES:] = b
        em = expm(m * dt_s)
        self.ad = em[:N_STATES, :N_STATES]
        self.bd = em[:N_STATES, N_STATES:]
        lam, vec = np.linalg.eig(self.ad)
        self._lam = lam
        self._vec = vec
        self._vec_inv = np.linalg.inv(vec)
        # Complex products are done as real ones (einsum, no BLAS): modal inputs = V⁻¹·Bd·w split
        # into real and imaginary parts; outputs = Re(C·V·z) = Re(C·V)·Re(z) − Im(C·V)·Im(z).
        cv = c @ vec
        self._cv_re = np.ascontiguousarray(cv.real)
        self._cv_im = np.ascontiguousarray(cv.imag)
        self._vinv_bd_re = np.ascontiguousarray((self._vec_inv @ self.bd).real)
        self._vinv_bd_im = np.ascontiguousarray((self._vec_inv @ self.bd).imag)
        self._scan_block = _scan_block(lam)

    def stationary_covariance(self, noise: NoiseLevels) -> np.ndarray:
        """Covariance of the state in steady sway (continuous Lyapunov equation), cm², cm²/s, …"""
        q = np.diag([noise.motor_cm**2, noise.drift_cm**2])
        cov = solve_continuous_lyapunov(self.a, -self.b @ q @ self.b.T)
        # In steady sway E[s·s'] = ½·d/dt E[s²] = 0 for a state s whose derivative is another state
        # (x' = v, n1' = n2): set exactly, not left as the ±1e-14 residue of the solve, whose sign
        # would otherwise choose the signs of the eigenvectors in stationary_state (and so which
        # start state a seed draws).
        for i, j in ((X, V), (N1, N2)):
            cov[i, j] = cov[j, i] = 0.0
        return cov

    def stationary_state(self, noise: NoiseLevels, rng: np.random.Generator) -> np.ndarray:
        """A random state drawn from the steady-sway distribution.

        Starting there (rather than at rest) means a trajectory sways normally from its first
        second instead of building up over the drift's time constant.
        """
        cov = self.stationary_covariance(noise)
        cov = 0.5 * (cov + cov.T)
        w, u = np.linalg.eigh(cov)
        root = u * np.sqrt(np.clip(w, 0.0, None))
        return root @ rng.standard_normal(N_STATES)

    def simulate(self, state: np.ndarray, noise: NoiseLevels, white: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Run the model over ``n`` grid steps.

        Parameters
        ----------
        state : ndarray, shape (8,)
            State at the first grid point.
        noise : NoiseLevels
            Noise SDs for this block.
        white : ndarray, shape (2, n)
            Independent standard normal numbers (motor noise, drift), one per grid step.

        Returns
        -------
        outputs : ndarray, shape (4, n)
            Rows :data:`OUTPUTS` (COM cm, COM velocity cm/s, COM acceleration cm/s², COP cm) at
            the ``n`` grid points, the first one being ``state``'s.
        end_state : ndarray, shape (8,)
            State at the grid point after the last one.
        """
        white = np.asarray(white, dtype=float)
        if white.ndim != 2 or white.shape[0] != N_NOISE:
            raise ValueError(f"white must have shape (2, n), got {white.shape}")
        n = white.shape[1]
        if n == 0:
            return np.zeros((len(OUTPUTS), 0)), np.array(state, dtype=float)
        # Continuous unit-intensity white noise held over a step has variance 1/dt.
        gain = 1.0 / np.sqrt(self.dt_s)
        inputs = np.empty((N_NOISE, n))
        inputs[0] = white[0] * (noise.motor_cm * gain)
        inputs[1] = white[1] * (noise.drift_cm * gain)
        z0 = self._vec_inv @ np.asarray(state, dtype=float)
        # One buffer, first the modal inputs V⁻¹·Bd·w, then in place the modal states after each
        # step: y[:, k] = lam·y[:, k−1] + in[:, k], y[:, −1] = z0, so y[:, k] is the state at step
        # k + 1 (see modal_scan on why in place).
        y = np.zeros((N_STATES, _scan_length(n, self._scan_block)), dtype=complex)
        np.einsum("mi,in->mn", self._vinv_bd_re, inputs, out=y.real[:, :n])
        np.einsum("mi,in->mn", self._vinv_bd_im, inputs, out=y.imag[:, :n])
        _scan_in_place(self._lam, y, z0, self._scan_block)
        outputs = np.empty((len(OUTPUTS), n))
        outputs[:, 0] = self._cv_re @ z0.real - self._cv_im @ z0.imag
        np.einsum("om,mn->on", self._cv_re, y.real[:, : n - 1], out=outputs[:, 1:])
        outputs[:, 1:] -= np.einsum("om,mn->on", self._cv_im, y.imag[:, : n - 1])
        end_state = np.real(self._vec @ y[:, n - 1])
        return outputs, end_state

    def outputs_of(self, state: np.ndarray) -> np.ndarray:
        """The four outputs (:data:`OUTPUTS`) of one state."""
        return self.c @ np.asarray(state, dtype=float)


# ------------------------------------------------------------------------------------------------
# Numerical linear algebra (numpy only; see the module docstring)

# Higham (2005), "The scaling and squaring method for the matrix exponential revisited", SIAM J.
# Matrix Anal. Appl. 26:1179, Table 2.3: largest 1-norm for which the [m/m] Padé approximant is
# accurate to double precision, and the approximants' coefficients b_0..b_m.
_PADE_THETA = ((3, 1.495585217958292e-2), (5, 2.539398330063230e-1), (7, 9.504178996162932e-1), (9, 2.097847961257068e0))
_PADE_THETA_13 = 5.371920351148152e0
_PADE_B = {
    3: (120.0, 60.0, 12.0, 1.0),
    5: (30240.0, 15120.0, 3360.0, 420.0, 30.0, 1.0),
    7: (17297280.0, 8648640.0, 1995840.0, 277200.0, 25200.0, 1512.0, 56.0, 1.0),
    9: (17643225600.0, 8821612800.0, 2075673600.0, 302702400.0, 30270240.0, 2162160.0, 110880.0, 3960.0, 90.0, 1.0),
    13: (
        64764752532480000.0, 32382376266240000.0, 7771770303897600.0, 1187353796428800.0, 129060195264000.0,
        10559470521600.0, 670442572800.0, 33522128640.0, 1323241920.0, 40840800.0, 960960.0, 16380.0, 182.0, 1.0,
    ),
}  # fmt: skip


def expm(a: np.ndarray) -> np.ndarray:
    """Matrix exponential of a real square matrix (scaling and squaring with a Padé approximant).

    Higham (2005), Algorithm 2.3 (the method of ``scipy.linalg.expm`` before its 2009 refinements):
    the smallest Padé degree m ∈ {3, 5, 7, 9} whose bound θ_m covers ‖A‖₁, else degree 13 on
    A/2^s with ‖A/2^s‖₁ ≤ θ₁₃, squared s times. Relative accuracy near machine precision for the
    well-conditioned, small matrices used here (the sway model's 10×10 augmented matrix times a
    1 ms step has ‖·‖₁ ≈ 0.05, so one [5/5] approximant and no squaring).

    Raises
    ------
    ValueError
        ``a`` is not a finite square matrix.
    """
    a = np.asarray(a, dtype=float)
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"expm needs a square matrix, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError("expm needs a finite matrix (it has NaN or infinite entries)")
    n = a.shape[0]
    if n == 0:
        return np.zeros((0, 0))
    ident = np.eye(n)
    norm1 = float(np.max(np.sum(np.abs(a), axis=0)))
    for m, theta in _PADE_THETA:
        if norm1 <= theta:
            b = _PADE_B[m]
            a2 = a @ a
            powers = [ident, a2]
            for _ in range(2, (m + 1) // 2):
                powers.append(powers[-1] @ a2)
            u = a @ sum(b[2 * k + 1] * powers[k] for k in range(len(powers)))
            v = sum(b[2 * k] * powers[k] for k in range(len(powers)))
            return np.linalg.solve(v - u, v + u)
    s = max(0, math.ceil(math.log2(norm1 / _PADE_THETA_13)))
    a = a / 2.0**s
    b = _PADE_B[13]
    a2 = a @ a
    a4 = a2 @ a2
    a6 = a4 @ a2
    u = a @ (a6 @ (b[13] * a6 + b[11] * a4 + b[9] * a2) + b[7] * a6 + b[5] * a4 + b[3] * a2 + b[1] * ident)
    v = a6 @ (b[12] * a6 + b[10] * a4 + b[8] * a2) + b[6] * a6 + b[4] * a4 + b[2] * a2 + b[0] * ident
    r = np.linalg.solve(v - u, v + u)
    for _ in range(s):
        r = r @ r
    return r


def solve_continuous_lyapunov(a: np.ndarray, q: np.ndarray) -> np.ndarray:
    """The X solving A·X + X·Aᵀ = Q (real A and Q), as ``scipy.linalg.solve_continuous_lyapunov``.

    Solved in the Kronecker (vec) form (A ⊗ I + I ⊗ A)·vec(X) = vec(Q) (row-major vec), an
    n²×n² linear system: exact up to rounding and cheap for the 8×8 sway state (64 unknowns),
    not meant for large n. For a stable A (every eigenvalue with a negative real part) the
    solution exists and is unique, and for Q = −B·W·Bᵀ it is the stationary covariance of
    x' = A·x + B·w driven by white noise of intensity W.

    Raises
    ------
    ValueError
        Shapes that do not fit, or an A with two eigenvalues summing to zero (no unique solution).
    """
    a = np.asarray(a, dtype=float)
    q = np.asarray(q, dtype=float)
    if a.ndim != 2 or a.shape[0] != a.shape[1] or q.shape != a.shape:
        raise ValueError(f"solve_continuous_lyapunov needs square A and Q of the same shape, got {a.shape} and {q.shape}")
    n = a.shape[0]
    ident = np.eye(n)
    k = np.kron(a, ident) + np.kron(ident, a)
    try:
        x = np.linalg.solve(k, q.reshape(n * n))
    except np.linalg.LinAlgError:
        raise ValueError("the Lyapunov equation has no unique solution (two eigenvalues of A sum to zero)") from None
    return x.reshape(n, n)


SCAN_BLOCK_MAX = 64
"""Longest block of :func:`modal_scan`'s within-block pass, samples."""
SCAN_GROWTH_MAX = 8.0
"""Largest factor by which :func:`modal_scan`'s within-block pass may scale an input up (|lam|^−(B−1)
for a block of B samples): it costs at most log2(8) = 3 bits of the 53."""


def modal_scan(lam: np.ndarray, u: np.ndarray, y_before: np.ndarray) -> np.ndarray:
    """Run m first-order recursions y[:, k] = lam·y[:, k−1] + u[:, k] at once, y[:, −1] = ``y_before``.

    What ``scipy.signal.lfilter([1], [1, −lam], u, zi=[lam·y_before])`` computes per row, but
    vectorised over the rows and the samples, for stable factors (|lam| ≤ 1):

    1. The samples are cut into blocks of B. A block's recursion from zero ends at
       lam^(B−1)·Σ_l lam^−l·u[l]. B is the longest (≤ 64) for which the scaling |lam|^−(B−1)
       stays within :data:`SCAN_GROWTH_MAX` for every row, so no intermediate grows by more than
       that factor and the rounding error stays within a few units in the last place of the
       inputs' size.
    2. The values e entering the blocks follow the same recursion on those block ends, with
       factor lam^B: that short recursion (n/B samples) is run by recursive doubling (after the
       step of 2^k, each value holds its last 2^(k+1) inputs weighted by powers of lam, all ≤ 1).
    3. Within every block at once, y[j] = lam^j·(lam·e + Σ_{l≤j} lam^−l·u[l]): one scaled
       cumulative sum.

    A row with |lam| < 1/8 allows no block (B would be 1): then the whole length is run by
    recursive doubling (log2 n vectorised steps). Either way the result equals the sequential
    recursion to rounding (relative differences of order 1e-14). The work is done in place in
    one buffer: a full-size temporary (0.5 MB for the sway model's 4000-sample chunks) would be
    mapped fresh by malloc on each call, and its page faults cost more than the arithmetic.

    Parameters
    ----------
    lam : ndarray, shape (m,)
        The factors (complex or real), |lam| ≤ 1.
    u : ndarray, shape (m, n)
        The inputs.
    y_before : ndarray, shape (m,)
        The values before the first sample.

    Returns
    -------
    ndarray, shape (m, n), complex

    Raises
    ------
    ValueError
        Shapes that do not fit, or an unstable factor (|lam| > 1).
    """
    lam = np.asarray(lam, dtype=complex)
    u = np.asarray(u)
    if u.ndim != 2:
        raise ValueError(f"modal_scan needs u of shape (m, n), got {u.shape}")
    m, n = u.shape
    if lam.shape != (m,) or np.shape(y_before) != (m,):
        raise ValueError(f"modal_scan needs lam and y_before of shape ({m},), got {lam.shape} and {np.shape(y_before)}")
    radius = np.abs(lam)
    if np.any(radius > 1.0):
        raise ValueError(f"modal_scan needs |lam| <= 1 (stable recursions), got {radius.max():.6g}")
    if n == 0:
        return np.zeros((m, 0), dtype=complex)
    block = _scan_block(lam)
    y = np.zeros((m, _scan_length(n, block)), dtype=complex)
    y[:, :n] = u
    _scan_in_place(lam, y, np.asarray(y_before, dtype=complex), block)
    return y[:, :n]


def _scan_block(lam: np.ndarray) -> int:
    """Block length of :func:`modal_scan` for these factors: the longest (≤ :data:`SCAN_BLOCK_MAX`)
    with |lam|^−(B−1) ≤ :data:`SCAN_GROWTH_MAX` for all of them; 1 when a factor is below 1/8."""
    smallest = float(np.min(np.abs(lam)))
    if smallest >= 1.0:
        return SCAN_BLOCK_MAX
    if smallest == 0.0:
        return 1
    return int(min(SCAN_BLOCK_MAX, 1 + math.log(SCAN_GROWTH_MAX) / -math.log(smallest)))


def _scan_length(n: int, block: int) -> int:
    """Samples :func:`_scan_in_place` needs for ``n`` inputs: whole blocks (zero inputs after)."""
    return n if block < 2 else -(-n // block) * block


def _scan_in_place(lam: np.ndarray, y: np.ndarray, y_before: np.ndarray, block: int) -> None:
    """:func:`modal_scan` on ``y`` (complex, C-contiguous, (m, L) with L a multiple of ``block``),
    the inputs replaced by the outputs."""
    m, length = y.shape
    if block < 2 or length < 2 * block:
        _doubling_scan_in_place(lam, y, y_before)
        return
    n_blocks = length // block
    blocks = y.reshape(m, n_blocks, block)  # a view: y is contiguous
    powers = np.empty((m, block + 1), dtype=complex)  # lam**0 .. lam**block, by repeated products
    powers[:, 0] = 1.0
    powers[:, 1:] = lam[:, None]
    np.cumprod(powers[:, 1:], axis=1, out=powers[:, 1:])
    blocks *= (1.0 / powers[:, :block])[:, None, :]  # u[l]·lam^−l
    # Zero-start block ends lam^(B−1)·Σ_l lam^−l·u[l]; from them the values entering the blocks.
    entering = np.empty((m, n_blocks), dtype=complex)
    entering[:, 0] = y_before
    entering[:, 1:] = blocks[:, :-1, :].sum(axis=2) * powers[:, block - 1, None]
    _doubling_scan_in_place(powers[:, block], entering[:, 1:], entering[:, 0])
    # lam·(entering value) joins the first input, so one cumulative sum gives the whole block:
    # y[j] = lam^j·(lam·e + Σ_{l≤j} lam^−l·u[l]) = lam^(j+1)·e + Σ_{l≤j} lam^(j−l)·u[l].
    blocks[:, :, 0] += lam[:, None] * entering
    np.cumsum(blocks, axis=2, out=blocks)
    blocks *= powers[:, None, :block]


def _doubling_scan_in_place(lam: np.ndarray, y: np.ndarray, y_before: np.ndarray) -> None:
    """:func:`modal_scan` by recursive doubling over the whole length of ``y`` (Hillis & Steele
    1986), in place: log2(n) vectorised steps, every factor a power of lam (stable for |lam| ≤ 1)."""
    n = y.shape[1]
    if n == 0:
        return
    y[:, 0] += lam * y_before
    factor = lam.copy()
    shifted = np.empty_like(y)
    step = 1
    while step < n:
        part = shifted[:, step:]
        np.multiply(factor[:, None], y[:, :-step], out=part)
        y[:, step:] += part
        factor = factor * factor
        step *= 2
