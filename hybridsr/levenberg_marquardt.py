"""A small Levenberg-Marquardt solver whose arithmetic is bitwise reproducible.

scipy's MINPACK wrapper occasionally returns constants that differ in the
last bits between two calls on identical inputs (seen with scipy 1.17 on
rank-deficient Jacobians, where the difference then grows along the null
space). One such bit changes which candidate wins a later comparison, so a
seeded search would not reproduce. This solver forms the damped normal
equations and solves them by Cholesky in plain compiled loops, with a fixed
summation order and no BLAS, so the same inputs always give the same steps.

Damping follows Nielsen's rule (shrink by ``max(1/3, 1 - (2 rho - 1)^3)`` on
a good step, double the growth factor on a rejected one), scaled by the
diagonal of ``J^T J`` as in Marquardt's method.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["levenberg_marquardt"]

_JIT = dict(cache=True, nogil=True, error_model="numpy")


@njit(**_JIT)
def _normal_equations(jac, r, A, g):
    """A = J^T J and g = J^T r for J of shape (n, k)."""
    n, k = jac.shape
    for a in range(k):
        ga = 0.0
        for i in range(n):
            ga += jac[i, a] * r[i]
        g[a] = ga
        for b in range(a + 1):
            s = 0.0
            for i in range(n):
                s += jac[i, a] * jac[i, b]
            A[a, b] = s
            A[b, a] = s


@njit(**_JIT)
def _damped_step(A, g, damping, step, L):
    """Solve (A + damping * diag(A)) step = -g by Cholesky; False when not positive definite."""
    k = A.shape[0]
    for a in range(k):
        for b in range(a + 1):
            s = A[a, b]
            if a == b:
                s += damping * max(A[a, a], 1e-12)
            for c in range(b):
                s -= L[a, c] * L[b, c]
            if a == b:
                if not s > 0.0 or not math.isfinite(s):
                    return False
                L[a, a] = math.sqrt(s)
            else:
                L[a, b] = s / L[b, b]
    for a in range(k):  # forward: L z = -g
        s = -g[a]
        for c in range(a):
            s -= L[a, c] * step[c]
        step[a] = s / L[a, a]
    for a in range(k - 1, -1, -1):  # backward: L^T step = z
        s = step[a]
        for c in range(a + 1, k):
            s -= L[c, a] * step[c]
        step[a] = s / L[a, a]
    return True


@njit(**_JIT)
def _predicted_decrease(A, g, step):
    """Decrease of the cost the linear model promises: -(2 step.g + step.A.step)."""
    k = step.shape[0]
    total = 0.0
    for a in range(k):
        s = 2.0 * g[a]
        for b in range(k):
            s += A[a, b] * step[b]
        total -= step[a] * s
    return total


@njit(**_JIT)
def _sum_of_squares(r):
    s = 0.0
    for i in range(r.shape[0]):
        s += r[i] * r[i]
    return s


def levenberg_marquardt(residuals, jacobian, x0: np.ndarray, max_iterations: int,
                        tolerance: float = 1e-12) -> tuple[np.ndarray, float, int]:
    """Minimise ``sum(residuals(x)**2)`` from ``x0``.

    Parameters
    ----------
    residuals : callable
        ``x -> r`` (n,), finite (map invalid points to large finite values).
    jacobian : callable
        ``x -> J`` (n, k), finite.
    x0 : ndarray of shape (k,)
    max_iterations : int
        Jacobian evaluations allowed (each followed by at most a few trial steps).
    tolerance : float
        Stop when a step lowers the cost by less than this fraction.

    Returns
    -------
    x, cost, n_evals
        The best point, its sum of squares and the evaluations spent.
    """
    x = np.array(x0, dtype=np.float64)
    k = x.shape[0]
    r = np.ascontiguousarray(residuals(x), dtype=np.float64)
    cost = _sum_of_squares(r)
    n_evals = 1
    A = np.empty((k, k))
    g = np.empty(k)
    L = np.zeros((k, k))
    step = np.empty(k)
    damping, growth = -1.0, 2.0
    for _ in range(max_iterations):
        jac = np.ascontiguousarray(jacobian(x), dtype=np.float64)
        n_evals += 1
        _normal_equations(jac, r, A, g)
        if damping < 0.0:
            damping = 1e-3
        improved = False
        for _attempt in range(8):
            if not _damped_step(A, g, damping, step, L):
                damping *= growth
                growth *= 2.0
                continue
            trial = x + step
            r_trial = np.ascontiguousarray(residuals(trial), dtype=np.float64)
            n_evals += 1
            cost_trial = _sum_of_squares(r_trial)
            if cost_trial < cost:
                # Gain ratio: actual over predicted decrease of the cost.
                predicted = _predicted_decrease(A, g, step)
                rho = (cost - cost_trial) / predicted if predicted > 0 else 1.0
                damping *= max(1.0 / 3.0, 1.0 - (2.0 * rho - 1.0) ** 3)
                growth = 2.0
                relative = (cost - cost_trial) / max(cost, 1e-300)
                x, r, cost = trial, r_trial, cost_trial
                improved = True
                break
            damping *= growth
            growth *= 2.0
        if not improved or relative < tolerance:
            break
    return x, cost, n_evals
