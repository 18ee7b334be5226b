"""The networks alone, as scikit-learn estimators (the benchmark's ``eql`` and ``student`` rows).

:class:`EQLRegressor` is seed 001 on its own: an EQL network fitted to the
data, pruned and read out as a formula. :class:`DistilledStudentRegressor`
is seed 000 on its own: a teacher network fitted to the data (or one you
trained), and an EQL student distilled from it. Both take the operator names
of :class:`~hybridsr.HybridSRRegressor`, so their formulas are in the same
language as the search's.
"""

from __future__ import annotations

import time

import numpy as np
import sympy
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from .eql import fit_eql, fit_student, units_for
from .teacher import Teacher

__all__ = ["EQLRegressor", "DistilledStudentRegressor"]


def validated_fit_data(estimator, X, y, variable_names):
    """``fit``'s checks for the network estimators: finite float arrays (through
    scikit-learn, which records the feature names) and the variable names, by
    default a DataFrame's columns or x0, x1, ...; returns (X, y, names)."""
    X, y = validate_data(estimator, X, y, dtype=np.float64, ensure_all_finite=True, y_numeric=True)
    names = variable_names
    if names is None:
        names = getattr(estimator, "feature_names_in_", None)
        names = [f"x{i}" for i in range(X.shape[1])] if names is None else [str(n) for n in names]
    names = tuple(names)
    if len(names) != X.shape[1] or not all(n.isidentifier() for n in names):
        raise ValueError(f"variable_names must be {X.shape[1]} Python identifiers, got {names!r}")
    return X, y, names


class EQLRegressor(RegressorMixin, BaseEstimator):
    """An EQL network (Kim et al. 2020) fitted to the data and read out as a formula.

    Parameters
    ----------
    binary_operators, unary_operators : sequence of str
        Operator names as for :class:`~hybridsr.HybridSRRegressor`; they pick
        the units (``sin`` a sine unit, ``*`` product units, ``/`` the
        EQL-div output; ``identity`` is always there).
    n_layers : int, default 2
        Hidden layers of units.
    n_products : int, default 2
        Product units per layer (when ``*`` is an operator).
    regularization : {"l05", "l0"}, default "l05"
        Smoothed L0.5 penalty, or relaxed L0 through hard-concrete gates.
    reg_strength : float, optional
        Weight of the penalty (None: the network's default).
    epochs : (int, int, int), default (400, 2000, 300)
        Dense, regularised and fine-tuning epochs.
    learning_rate : float, default 1e-2
    prune_threshold : float, default 0.01
        Weights smaller than this are cut before fine-tuning.
    time_limit : float, optional
        Seconds for the whole fit.
    random_state : int, optional
        Seed; the same seed gives the same formula.

    Attributes
    ----------
    expression_ : sympy.Expr
        The formula, over ``variable_names_``.
    result_ : EQLResult
        Subexpressions, active weights, errors, seconds.
    variable_names_ : tuple of str
    n_features_in_ : int
    """

    def __init__(self, *, binary_operators=("+", "-", "*", "/"), unary_operators=("sin", "cos", "exp"),
                 n_layers=2, n_products=2, regularization="l05", reg_strength=None,
                 epochs=(400, 2000, 300), learning_rate=1e-2, prune_threshold=0.01,
                 time_limit=None, random_state=None):
        self.binary_operators = binary_operators
        self.unary_operators = unary_operators
        self.n_layers = n_layers
        self.n_products = n_products
        self.regularization = regularization
        self.reg_strength = reg_strength
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.prune_threshold = prune_threshold
        self.time_limit = time_limit
        self.random_state = random_state

    def _network_options(self) -> dict:
        units = units_for(self.unary_operators, self.binary_operators, n_products=self.n_products)
        return dict(units.options(), n_layers=self.n_layers, regularization=self.regularization,
                    reg_strength=self.reg_strength, epochs=tuple(self.epochs),
                    learning_rate=self.learning_rate, prune_threshold=self.prune_threshold,
                    random_state=self.random_state)

    def fit(self, X, y, variable_names=None):
        """Train, prune and read out the network; ``variable_names`` name the columns."""
        X, y, names = validated_fit_data(self, X, y, variable_names)
        self.result_ = fit_eql(X, y, variable_names=names, time_limit=self.time_limit,
                               **self._network_options())
        return self._finish(names)

    def _finish(self, names):
        self.variable_names_ = names
        self.expression_ = self.result_.expression
        self._function = sympy.lambdify([sympy.Symbol(n) for n in names], self.expression_, "numpy")
        return self

    def predict(self, X) -> np.ndarray:
        check_is_fitted(self, "expression_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        with np.errstate(all="ignore"):
            values = self._function(*(X[:, i] for i in range(X.shape[1])))
        return np.broadcast_to(np.asarray(values, dtype=float), (X.shape[0],)).copy()

    def sympy(self) -> sympy.Expr:
        check_is_fitted(self, "expression_")
        return self.expression_

    def latex(self, precision: int = 3) -> str:
        check_is_fitted(self, "expression_")
        return sympy.latex(self.expression_.evalf(precision))

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_function", None)  # a lambdified function does not pickle
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        if "expression_" in state:
            self._finish(self.variable_names_)


class DistilledStudentRegressor(EQLRegressor):
    """A teacher network learns the data; an EQL student distilled from it is the formula.

    Takes :class:`EQLRegressor`'s parameters and these:

    Parameters
    ----------
    teacher : torch.nn.Module, optional
        A network you trained (maps a float tensor of shape (n, n_features)
        to the targets); None trains a :class:`~hybridsr.neural.Teacher`.
    teacher_hidden : tuple of int, default (64, 64)
        Hidden widths of a trained teacher.
    teacher_time_fraction : float, default 0.4
        Share of ``time_limit`` for training the teacher.
    n_dense : int, default 2000
        Points sampled in the data's box and labelled by the teacher.
    gradient_weight, hint_weight : float, default 0.0
        Weights of matching the teacher's input gradients and (FitNets-style)
        its hidden layers.

    Attributes
    ----------
    teacher_ : Teacher
        The teacher, with its validation report.
    """

    def __init__(self, *, binary_operators=("+", "-", "*", "/"), unary_operators=("sin", "cos", "exp"),
                 n_layers=2, n_products=2, regularization="l05", reg_strength=None,
                 epochs=(400, 2000, 300), learning_rate=1e-2, prune_threshold=0.01,
                 time_limit=None, random_state=None, teacher=None, teacher_hidden=(64, 64),
                 teacher_time_fraction=0.4, n_dense=2000, gradient_weight=0.0, hint_weight=0.0):
        super().__init__(binary_operators=binary_operators, unary_operators=unary_operators,
                         n_layers=n_layers, n_products=n_products, regularization=regularization,
                         reg_strength=reg_strength, epochs=epochs, learning_rate=learning_rate,
                         prune_threshold=prune_threshold, time_limit=time_limit,
                         random_state=random_state)
        self.teacher = teacher
        self.teacher_hidden = teacher_hidden
        self.teacher_time_fraction = teacher_time_fraction
        self.n_dense = n_dense
        self.gradient_weight = gradient_weight
        self.hint_weight = hint_weight

    def fit(self, X, y, variable_names=None):
        """Fit (or wrap) the teacher, then distil the student from it."""
        X, y, names = validated_fit_data(self, X, y, variable_names)
        if not 0.0 < self.teacher_time_fraction < 1.0:
            raise ValueError(f"teacher_time_fraction must lie in (0, 1), got {self.teacher_time_fraction!r}")
        start = time.monotonic()
        if self.teacher is not None:
            self.teacher_ = Teacher.from_module(self.teacher, X, y)
        else:
            limit = None if self.time_limit is None else self.teacher_time_fraction * self.time_limit
            self.teacher_ = Teacher.fit(X, y, hidden=tuple(self.teacher_hidden), time_limit=limit,
                                        random_state=self.random_state)
        left = None
        if self.time_limit is not None:
            left = max(self.time_limit - (time.monotonic() - start), 0.1 * self.time_limit)
        self.result_ = fit_student(X, y, teacher=self.teacher_, n_dense=self.n_dense,
                                   gradient_weight=self.gradient_weight, hint_weight=self.hint_weight,
                                   variable_names=names, time_limit=left, **self._network_options())
        return self._finish(names)
