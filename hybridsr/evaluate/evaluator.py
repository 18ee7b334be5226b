"""Evaluating programs over data: predictions, losses and constant Jacobians.

:class:`Dataset` holds the data in the layout the kernels read (features as
contiguous rows). :class:`Evaluator` binds the compiled kernels of one
operator set to a loss and keeps reusable work buffers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..expr.tree import CONSTANT, VARIABLE, Program
from ..operators import OperatorSet
from .codegen import load_kernels

__all__ = ["LOSSES", "Dataset", "Evaluator", "ProgramBatch"]

#: Loss names understood by the kernels, with their kernel ids.
LOSSES = {"mse": 0, "mae": 1, "huber": 2}


@dataclass(frozen=True)
class Dataset:
    """Inputs, targets and optional weights in kernel layout.

    Attributes
    ----------
    Xt : ndarray of shape (n_features, n_rows)
        The inputs, transposed and C-contiguous.
    y : ndarray of shape (n_rows,) or None
    weights : ndarray of shape (n_rows,)
        Empty when unweighted.
    """

    Xt: np.ndarray
    y: np.ndarray | None
    weights: np.ndarray

    @classmethod
    def from_arrays(cls, X, y=None, weights=None) -> "Dataset":
        """Check and lay out ``X`` (n_rows, n_features), ``y`` and ``weights``."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim == 1:
            X = X[:, None]
        if X.ndim != 2:
            raise ValueError(f"X must be 2-D (n_rows, n_features), got shape {X.shape}")
        if X.shape[0] == 0 or X.shape[1] == 0:
            raise ValueError(f"X is empty (shape {X.shape}); pass at least one row and one feature")
        if not np.all(np.isfinite(X)):
            raise ValueError("X contains NaN or inf; drop or impute those rows first")
        n = X.shape[0]
        if y is not None:
            y = np.ascontiguousarray(y, dtype=np.float64).reshape(-1)
            if y.shape[0] != n:
                raise ValueError(f"X has {n} rows but y has {y.shape[0]}; pass one target per row")
            if not np.all(np.isfinite(y)):
                raise ValueError("y contains NaN or inf; drop or impute those rows first")
        if weights is None:
            w = np.empty(0, dtype=np.float64)
        else:
            w = np.ascontiguousarray(weights, dtype=np.float64).reshape(-1)
            if w.shape[0] != n:
                raise ValueError(f"X has {n} rows but weights has {w.shape[0]}; pass one weight per row")
            if not np.all(np.isfinite(w)) or np.any(w < 0) or not w.sum() > 0:
                raise ValueError("weights must be finite, non-negative and not all zero")
        return cls(np.ascontiguousarray(X.T), y, w)

    @property
    def n_rows(self) -> int:
        return self.Xt.shape[1]

    @property
    def n_features(self) -> int:
        return self.Xt.shape[0]

    def rows(self, index) -> "Dataset":
        """The dataset restricted to some rows (mini-batches, validation splits)."""
        return Dataset(np.ascontiguousarray(self.Xt[:, index]),
                       None if self.y is None else self.y[index],
                       self.weights[index] if self.weights.size else self.weights)


class ProgramBatch:
    """Many programs concatenated for one kernel call."""

    __slots__ = ("codes", "args", "offsets", "constants", "constant_offsets", "depth")

    def __init__(self, programs: Sequence[Program]):
        self.offsets = np.zeros(len(programs) + 1, dtype=np.int64)
        self.constant_offsets = np.zeros(len(programs) + 1, dtype=np.int64)
        np.cumsum([len(p) for p in programs], out=self.offsets[1:])
        np.cumsum([len(p.constants) for p in programs], out=self.constant_offsets[1:])
        empty_i = np.empty(0, np.int32)
        self.codes = np.concatenate([p.code for p in programs]) if programs else empty_i
        self.args = np.concatenate([p.arg for p in programs]) if programs else empty_i
        self.constants = (np.concatenate([p.constants for p in programs]) if programs
                          else np.empty(0, np.float64))
        self.depth = max((p.depth for p in programs), default=1)

    def __len__(self):
        return len(self.offsets) - 1


class Evaluator:
    """Evaluates programs of one operator set with one loss.

    Parameters
    ----------
    operator_set : OperatorSet
    loss : {"mse", "mae", "huber"}
    huber_delta : float
        Where the Huber loss turns from quadratic to linear.

    Notes
    -----
    Work buffers are kept between calls and grown on demand, so one evaluator
    must not be shared between threads.
    """

    def __init__(self, operator_set: OperatorSet, loss: str = "mse", huber_delta: float = 1.0):
        if loss not in LOSSES:
            raise ValueError(f"unknown loss {loss!r}; choose one of {sorted(LOSSES)}")
        if not (np.isfinite(huber_delta) and huber_delta > 0):
            raise ValueError(f"huber_delta must be positive and finite, got {huber_delta!r}")
        self.operator_set = operator_set
        self.loss_name = loss
        self.huber_delta = float(huber_delta)
        self._kernels = load_kernels(operator_set)
        self._buffers: dict = {}

    def __reduce__(self):
        return (Evaluator, (self.operator_set, self.loss_name, self.huber_delta))

    def _buffer(self, key: str, shape: tuple) -> np.ndarray:
        """A reusable work array at least as large as ``shape`` (views are trimmed)."""
        buf = self._buffers.get(key)
        if buf is None or buf.ndim != len(shape) or any(a < b for a, b in zip(buf.shape, shape)):
            grown = tuple(max(a, b) for a, b in zip(buf.shape, shape)) if (
                buf is not None and buf.ndim == len(shape)) else shape
            buf = np.empty(grown, dtype=np.float64)
            self._buffers[key] = buf
        return buf

    def _work(self, depth: int, n_rows: int) -> np.ndarray:
        # Kernels read only the first n_rows of each row, so one buffer serves every size.
        return self._buffer("work", (depth, n_rows))[:depth]

    def compile_kernels(self, n_features: int) -> None:
        """Call every kernel once on two rows, so that numba compiles them (or loads them
        from its cache) now rather than inside a timed search: compiling a new operator
        set's kernels takes tens of seconds, which a 30 s search would otherwise spend."""
        binary = [k for k, op in enumerate(self.operator_set.operators) if op.arity == 2]
        if binary:  # x0 (op) c: a constant, so the Jacobian and the fit have one to work on
            program = Program(np.array([VARIABLE, CONSTANT, binary[0]], dtype=np.int32),
                              np.zeros(3, dtype=np.int32), np.ones(1), 2)
        else:
            program = Program(np.array([VARIABLE], dtype=np.int32), np.zeros(1, dtype=np.int32),
                              np.empty(0), 1)
        X = np.full((2, max(int(n_features), 1)), 1.5)
        data = Dataset.from_arrays(X, np.array([1.0, 2.0]))
        with np.errstate(all="ignore"):
            self.predict(program, data)
            self.predict_many([program], data)
            self.loss(program, data)
            self.losses([program], data)
            if program.constants.size:
                self.jacobian(program, data)
                self.least_squares(program, data, program.constants, np.full(2, 0.5 ** 0.5),
                                   2, 1e-12, 0.0)

    # -- predictions -----------------------------------------------------------
    def predict(self, program: Program, data: Dataset, constants: np.ndarray | None = None) -> np.ndarray:
        """Predictions of one program; all NaN when it is invalid on the data."""
        consts = program.constants if constants is None else np.ascontiguousarray(constants, np.float64)
        out = np.empty(data.n_rows, dtype=np.float64)
        ok = self._kernels.predict(program.code, program.arg, consts, data.Xt,
                                   self._work(program.depth, data.n_rows), out)
        if not ok:
            out[:] = np.nan
        return out

    def predict_many(self, programs: Sequence[Program], data: Dataset) -> np.ndarray:
        """Predictions of many programs, shape (n_programs, n_rows); NaN rows for invalid ones."""
        batch = programs if isinstance(programs, ProgramBatch) else ProgramBatch(programs)
        out = np.full((len(batch), data.n_rows), np.nan)
        valid = np.zeros(len(batch), dtype=np.bool_)
        self._kernels.predict_many(batch.codes, batch.args, batch.offsets, batch.constants,
                                   batch.constant_offsets, data.Xt,
                                   self._work(batch.depth, data.n_rows), out, valid)
        out[~valid] = np.nan
        return out

    # -- losses ----------------------------------------------------------------
    def loss(self, program: Program, data: Dataset, constants: np.ndarray | None = None) -> float:
        """Loss of one program (inf when invalid); ``constants`` overrides its own."""
        consts = program.constants if constants is None else np.ascontiguousarray(constants, np.float64)
        return float(self._kernels.loss(program.code, program.arg, consts, data.Xt, data.y,
                                         data.weights, LOSSES[self.loss_name], self.huber_delta,
                                         self._work(program.depth, data.n_rows)))

    def losses(self, programs: Sequence[Program] | ProgramBatch, data: Dataset) -> np.ndarray:
        """Losses of many programs in one kernel call (inf for invalid ones)."""
        batch = programs if isinstance(programs, ProgramBatch) else ProgramBatch(programs)
        out = np.empty(len(batch), dtype=np.float64)
        self._kernels.loss_many(batch.codes, batch.args, batch.offsets, batch.constants,
                                batch.constant_offsets, data.Xt, data.y, data.weights,
                                LOSSES[self.loss_name], self.huber_delta,
                                self._work(batch.depth, data.n_rows), out)
        return out

    # -- derivatives -------------------------------------------------------------
    def jacobian(self, program: Program, data: Dataset, constants: np.ndarray | None = None):
        """Predictions and their Jacobian with respect to the constants.

        Returns
        -------
        predictions : ndarray of shape (n_rows,)
        jacobian : ndarray of shape (n_rows, n_constants)
        ok : bool
            False when a value or derivative is non-finite on the data;
            predictions and Jacobian are then all NaN.
        """
        consts = program.constants if constants is None else np.ascontiguousarray(constants, np.float64)
        n, m, depth = data.n_rows, len(consts), program.depth
        vals = self._buffer("jacobian_values", (depth, n))[:depth]
        grads = np.empty((depth, max(m, 1), n))
        da = self._buffer("partial_a", (n,))
        db = self._buffer("partial_b", (n,))
        out = np.empty(n)
        jac = np.empty((m, n))
        ok = self._kernels.jacobian(program.code, program.arg, consts, data.Xt, vals, grads,
                                    da, db, out, jac)
        if not ok:
            # The kernel stops at the first non-finite node and leaves the rest unwritten.
            out[:] = np.nan
            jac[:] = np.nan
        return out, jac.T, bool(ok)

    # -- constant fitting ----------------------------------------------------------
    def least_squares(self, program: Program, data: Dataset, x0: np.ndarray, sqrt_weights: np.ndarray,
                      max_iterations: int, tolerance: float, penalty: float):
        """Levenberg-Marquardt on the program's constants from ``x0``, compiled whole
        (:mod:`hybridsr.levenberg_marquardt`): returns ``(x, cost, n_evals)``, where
        ``cost`` is the sum of squared weighted residuals."""
        return self._kernels.least_squares(
            program.code, program.arg, np.ascontiguousarray(x0, dtype=np.float64), program.depth,
            data.Xt, data.y, sqrt_weights, int(max_iterations), float(tolerance), float(penalty))
