"""Fitting the constants of one expression.

Levenberg-Marquardt on the numba forward-mode Jacobian is the default for
the squared-error loss (our own small solver,
:mod:`hybridsr.levenberg_marquardt`: scipy's MINPACK wrapper is not bitwise
reproducible on rank-deficient problems, and a seeded search must be); BFGS
(``scipy.optimize.minimize``) on the loss gradient is the alternative and the
method for the MAE and Huber losses. A few restarts from perturbed starting
points guard against local minima; a fit that does not improve the loss
keeps the old constants.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from .evaluate.evaluator import Dataset, Evaluator
from .expr.tree import Program

__all__ = ["OPTIMIZER_ALGORITHMS", "ConstantFit", "fit_constants"]

#: Valid values of ``algorithm``.
OPTIMIZER_ALGORITHMS = frozenset({"lm", "bfgs"})

# Residuals of an invalid trial point: large enough that every optimiser
# steps back, finite so that scipy does not abort the whole fit.
_PENALTY_RESIDUAL = 1e100
# Levenberg-Marquardt stops when a step lowers the cost by less than this fraction.
_LM_TOLERANCE = 1e-12


@dataclass(frozen=True)
class ConstantFit:
    """What a constant fit did.

    Attributes
    ----------
    constants : ndarray
        The fitted constants (the starting ones when nothing improved).
    loss : float
        The evaluator's loss at ``constants`` (inf when invalid).
    n_evals : int
        Evaluations of the expression spent (predictions and Jacobians alike).
    improved : bool
        Whether ``constants`` differ from the start and lower the loss.
    """

    constants: np.ndarray
    loss: float
    n_evals: int
    improved: bool


class _Objective:
    """Residuals, loss and derivatives of one program on one dataset, counting evaluations."""

    def __init__(self, program: Program, evaluator: Evaluator, data: Dataset):
        self.program = program
        self.evaluator = evaluator
        self.data = data
        self.n_evals = 0
        if data.weights.size:
            self.sqrt_weights = np.sqrt(data.weights / data.weights.sum())
        else:
            self.sqrt_weights = np.full(data.n_rows, 1.0 / np.sqrt(data.n_rows))

    def loss(self, constants: np.ndarray) -> float:
        self.n_evals += 1
        return self.evaluator.loss(self.program, self.data, constants)

    def loss_and_gradient(self, constants: np.ndarray):
        """The loss and its gradient, from one Jacobian evaluation."""
        self.n_evals += 1
        pred, jac, ok = self.evaluator.jacobian(self.program, self.data, constants)
        if not ok:
            return np.inf, np.zeros_like(constants)
        r = pred - self.data.y
        name, delta = self.evaluator.loss_name, self.evaluator.huber_delta
        if name == "mse":
            value, dloss = r * r, 2.0 * r
        elif name == "mae":
            value, dloss = np.abs(r), np.sign(r)
        else:
            small = np.abs(r) <= delta
            value = np.where(small, 0.5 * r * r, delta * (np.abs(r) - 0.5 * delta))
            dloss = np.where(small, r, delta * np.sign(r))
        w = self.data.weights if self.data.weights.size else None
        total = float(np.average(value, weights=w))
        if not np.isfinite(total):
            return np.inf, np.zeros_like(constants)
        return total, np.average(dloss[:, None] * jac, axis=0, weights=w)


def fit_constants(
    program: Program,
    evaluator: Evaluator,
    data: Dataset,
    *,
    rng: np.random.Generator,
    algorithm: str = "lm",
    n_restarts: int = 2,
    max_iterations: int = 50,
) -> ConstantFit:
    """Fit ``program``'s constants to ``data``; never raises for a bad expression.

    Parameters
    ----------
    program : Program
        Starting constants are ``program.constants``; the program is not changed.
    evaluator : Evaluator
        Its loss is the one minimised and reported.
    data : Dataset
    rng : numpy.random.Generator
        Draws the restart points.
    algorithm : {"lm", "bfgs"}
        ``"lm"`` applies to the MSE loss; other losses always use BFGS.
    n_restarts : int
        Extra fits from the best constants scaled by ``1 + N(0, 1/2)`` noise, as PySR does.
    max_iterations : int
        Iteration budget of each fit.
    """
    if algorithm not in OPTIMIZER_ALGORITHMS:
        raise ValueError(f"unknown optimizer algorithm {algorithm!r}; choose one of {sorted(OPTIMIZER_ALGORITHMS)}")
    if n_restarts < 0 or max_iterations < 1:
        raise ValueError("n_restarts must be >= 0 and max_iterations >= 1")
    objective = _Objective(program, evaluator, data)
    start = np.array(program.constants, dtype=np.float64)
    start_loss = objective.loss(start)
    if start.size == 0:
        return ConstantFit(start, start_loss, objective.n_evals, False)

    use_lm = algorithm == "lm" and evaluator.loss_name == "mse"
    best, best_loss = start, start_loss
    # np.errstate is per thread; warnings.catch_warnings is process-wide and would hide
    # other threads' warnings (islands run in threads on a threaded Dask worker), so the
    # compiled Levenberg-Marquardt path, which warns about nothing, does without it.
    with np.errstate(all="ignore"):
        for attempt in range(n_restarts + 1):
            if attempt == 0:
                x0 = start
            else:
                x0 = best * (1.0 + 0.5 * rng.standard_normal(best.size)) + 0.01 * rng.standard_normal(best.size)
            if not np.isfinite(objective.loss(x0)):
                continue
            x = (_least_squares(objective, x0, data, max_iterations) if use_lm
                 else _bfgs(objective, x0, max_iterations))
            if x is None or not np.all(np.isfinite(x)):
                # An infinite constant can leave a finite loss (exp(-inf*x) is 0) but no
                # readable formula.
                continue
            value = objective.loss(x)
            if value < best_loss:
                best, best_loss = x, value
    return ConstantFit(best, best_loss, objective.n_evals, best_loss < start_loss)


def _least_squares(objective: _Objective, x0, data: Dataset, max_iterations: int):
    x, _, n_evals = objective.evaluator.least_squares(
        objective.program, data, x0, objective.sqrt_weights, max_iterations,
        _LM_TOLERANCE, _PENALTY_RESIDUAL)
    objective.n_evals += n_evals
    return x if np.all(np.isfinite(x)) else None


def _bfgs(objective: _Objective, x0, max_iterations: int):
    try:
        # scipy's line search warns when it gives up on a step; the fit keeps its best point.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = minimize(objective.loss_and_gradient, x0, jac=True, method="BFGS",
                              options={"maxiter": max_iterations})
    except (ValueError, np.linalg.LinAlgError):
        return None
    return result.x if np.all(np.isfinite(result.x)) else None
