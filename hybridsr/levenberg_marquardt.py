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

__all__ = ["SOLVER_SOURCE"]

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


#: The solver loop, compiled into each operator set's kernel module
#: (:mod:`hybridsr.evaluate.codegen`) beside its ``predict`` and ``jacobian``:
#: there it calls them without returning to Python between steps (a fit of two
#: constants on 30 rows with 2 restarts went from 900 to 220 us when the loop
#: moved out of Python; a search makes about twice the evaluations per second). Residuals are ``(prediction - y) * sqrt_weights``; a
#: non-finite residual counts as ``penalty`` and a non-finite derivative as 0.
SOLVER_SOURCE = '''

from hybridsr.levenberg_marquardt import (_damped_step, _normal_equations, _predicted_decrease,
                                          _sum_of_squares)

_EXACT_JIT = dict(cache=True, nogil=True, error_model="numpy")


@njit(**_EXACT_JIT)
def _weighted_residuals(code, arg, consts, Xt, y, sqrt_weights, buf, prediction, r, penalty):
    ok = predict(code, arg, consts, Xt, buf, prediction)
    for i in range(y.shape[0]):
        v = (prediction[i] - y[i]) * sqrt_weights[i] if ok else np.nan
        r[i] = v if math.isfinite(v) else penalty


@njit(**_EXACT_JIT)
def _weighted_jacobian(code, arg, consts, Xt, sqrt_weights, vals, grads, da, db, prediction,
                       by_constant, J):
    ok = jacobian(code, arg, consts, Xt, vals, grads, da, db, prediction, by_constant)
    n, k = J.shape
    for i in range(n):
        for j in range(k):
            v = by_constant[j, i] * sqrt_weights[i] if ok else np.nan
            J[i, j] = v if math.isfinite(v) else 0.0


@njit(**_EXACT_JIT)
def least_squares(code, arg, x0, depth, Xt, y, sqrt_weights, max_iterations, tolerance, penalty):
    """Levenberg-Marquardt on one program's constants: (x, cost, evaluations)."""
    n, k = y.shape[0], x0.shape[0]
    buf = np.empty((depth, n))
    vals = np.empty((depth, n))
    grads = np.empty((depth, max(k, 1), n))
    da, db, prediction = np.empty(n), np.empty(n), np.empty(n)
    by_constant = np.empty((k, n))
    J = np.empty((n, k))
    r, r_trial = np.empty(n), np.empty(n)
    A, g, L, step = np.empty((k, k)), np.empty(k), np.zeros((k, k)), np.empty(k)
    x = x0.copy()
    _weighted_residuals(code, arg, x, Xt, y, sqrt_weights, buf, prediction, r, penalty)
    cost = _sum_of_squares(r)
    n_evals = 1
    damping, growth, relative = -1.0, 2.0, 0.0
    for _ in range(max_iterations):
        _weighted_jacobian(code, arg, x, Xt, sqrt_weights, vals, grads, da, db, prediction,
                           by_constant, J)
        n_evals += 1
        _normal_equations(J, r, A, g)
        if damping < 0.0:
            damping = 1e-3
        improved = False
        for _attempt in range(8):
            if not _damped_step(A, g, damping, step, L):
                damping *= growth
                growth *= 2.0
                continue
            trial = x + step
            _weighted_residuals(code, arg, trial, Xt, y, sqrt_weights, buf, prediction, r_trial,
                                penalty)
            n_evals += 1
            cost_trial = _sum_of_squares(r_trial)
            if cost_trial < cost:
                # Gain ratio: actual over predicted decrease of the cost.
                predicted = _predicted_decrease(A, g, step)
                rho = (cost - cost_trial) / predicted if predicted > 0 else 1.0
                damping *= max(1.0 / 3.0, 1.0 - (2.0 * rho - 1.0) ** 3)
                growth = 2.0
                relative = (cost - cost_trial) / max(cost, 1e-300)
                x, cost = trial, cost_trial
                r, r_trial = r_trial, r
                improved = True
                break
            damping *= growth
            growth *= 2.0
        if not improved or relative < tolerance:
            break
    return x, cost, n_evals
'''
