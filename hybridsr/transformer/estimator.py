"""The SR-Transformer alone, as a scikit-learn estimator (the seed table's SR-Transformer row)."""

from __future__ import annotations

import os

import numpy as np
import sympy
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from ..config import check_choice
from ..neural.estimators import validated_fit_data
from ..evaluate.evaluator import Evaluator
from ..export import MODEL_SELECTIONS, check_index, equations_table, rounding_loss_floor, select_index
from ..expr.tree import Language
from ..operators import OperatorSet
from .config import MODEL_BINARY_OPERATORS, MODEL_UNARY_OPERATORS
from .inference import propose_candidates
from .model import load_model
from .refit import pareto_candidates

__all__ = ["TransformerRegressor"]


class TransformerRegressor(RegressorMixin, BaseEstimator):
    """A pretrained transformer reads the data and writes formulas; their constants are refitted.

    ``fit`` runs no training: the network (by default the one shipped in
    the package) decodes candidate skeletons by beam search (and sampling,
    if asked), the core's constant fitting completes each on all rows, and
    the candidates no simpler one matches form ``equations_``, as for
    :class:`~hybridsr.HybridSRRegressor`. At most 3 input variables.

    Parameters
    ----------
    binary_operators, unary_operators : sequence of str
        Operator names as for :class:`~hybridsr.HybridSRRegressor`; the
        decoder writes only operators these can express. Default: every
        built-in operator.
    beam_size : int, default 32
        Skeletons from beam search.
    n_samples : int, default 0
        Further skeletons drawn by sampling at ``temperature``.
    temperature : float, default 1.0
    max_points : int, default 128
        Rows the network reads (drawn at random when there are more); the
        constants are fitted on all rows.
    n_starts : int, default 3
        Constant fits per skeleton from different starting points.
    max_iterations : int, default 100
        Levenberg-Marquardt iterations of each fit.
    prune : bool, default True
        Also refit every one-node deletion of each decoded formula (an
        operator replaced by one of its arguments): a small model often
        writes the law with a spurious term, ``a*D + b/D`` for ``H0*D``.
    model_selection : {"best", "accuracy", "score"}, default "best"
        Which row of ``equations_`` predicts (see :func:`hybridsr.export.select_index`).
    weights : path, optional
        A weights file from ``hybridsr transformer train``; None uses the shipped model.
    time_limit : float, optional
        Seconds for the constant fits (decoding takes a second or two on its own).
    random_state : int, optional
        Seed of the row subsample, starting constants and sampling.

    Attributes
    ----------
    equations_ : DataFrame
        complexity, loss, score, equation, sympy, lambda, tree (see :mod:`hybridsr.export`).
    selected_index_ : int
        The row ``model_selection`` picks.
    expression_ : sympy.Expr
        The selected formula, over ``variable_names_``.
    candidates_ : list of Candidate
        Every refitted candidate, in decoding order (the front is drawn from them).
    language_ : Language
    variable_names_ : tuple of str
    n_features_in_ : int
    """

    def __init__(self, *, binary_operators=MODEL_BINARY_OPERATORS, unary_operators=MODEL_UNARY_OPERATORS,
                 beam_size=32, n_samples=0, temperature=1.0, max_points=128, n_starts=3,
                 max_iterations=100, prune=True, model_selection="best", weights=None,
                 time_limit=None, random_state=None):
        self.binary_operators = binary_operators
        self.unary_operators = unary_operators
        self.beam_size = beam_size
        self.n_samples = n_samples
        self.temperature = temperature
        self.max_points = max_points
        self.n_starts = n_starts
        self.max_iterations = max_iterations
        self.prune = prune
        self.model_selection = model_selection
        self.weights = weights
        self.time_limit = time_limit
        self.random_state = random_state

    def _check_settings(self) -> None:
        check_choice("model_selection", self.model_selection, MODEL_SELECTIONS)
        for name in ("beam_size", "max_points", "n_starts", "max_iterations"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if isinstance(self.n_samples, bool) or not isinstance(self.n_samples, (int, np.integer)) \
                or self.n_samples < 0:
            raise ValueError(f"n_samples must be a non-negative integer, got {self.n_samples!r}")
        if not (isinstance(self.temperature, (int, float)) and self.temperature > 0):
            raise ValueError(f"temperature must be positive, got {self.temperature!r}")
        if not isinstance(self.prune, (bool, np.bool_)):
            raise ValueError(f"prune must be True or False, got {self.prune!r}")
        if self.time_limit is not None and not self.time_limit > 0:
            raise ValueError(f"time_limit must be positive or None, got {self.time_limit!r}")

    def fit(self, X, y, variable_names=None):
        """Decode, refit and rank formulas for ``y``; ``variable_names`` name the columns."""
        self._check_settings()
        X, y, names = validated_fit_data(self, X, y, variable_names)
        model, _ = load_model(None if self.weights is None else os.fspath(self.weights))
        language = Language(OperatorSet.from_spec(tuple(self.binary_operators),
                                                  tuple(self.unary_operators)),
                            X.shape[1], names)
        rng = np.random.default_rng(self.random_state)
        candidates = propose_candidates(
            model, X, y, language, Evaluator(language.operator_set), rng, beam_size=self.beam_size,
            n_samples=self.n_samples, temperature=self.temperature, max_points=self.max_points,
            n_starts=self.n_starts, max_iterations=self.max_iterations, time_limit=self.time_limit,
            prune=bool(self.prune))
        self.candidates_ = candidates
        self.language_ = language
        self.variable_names_ = names
        self.equations_ = equations_table(pareto_candidates(candidates), language,
                                          rounding_loss_floor(y))
        self.selected_index_ = select_index(self.equations_, self.model_selection)
        self.expression_ = self.equations_["sympy"].iloc[self.selected_index_]
        return self

    def _row(self, index):
        check_is_fitted(self, "equations_")
        return self.selected_index_ if index is None else check_index(self.equations_, index)

    def predict(self, X, index=None) -> np.ndarray:
        """Values of the selected formula (or row ``index`` of ``equations_``) at ``X``."""
        row = self._row(index)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return self.equations_["lambda"].iloc[row](X)

    def sympy(self, index=None) -> sympy.Expr:
        return self.equations_["sympy"].iloc[self._row(index)]

    def latex(self, index=None, precision: int = 3) -> str:
        return sympy.latex(self.sympy(index).evalf(precision))
