"""Making trees smaller without changing what they compute.

:func:`fold_constants` is cheap and needs no sympy: every subtree without
variables becomes one constant. :func:`remove_inert_nodes` is as cheap: it
drops what a constant of 0 or 1 leaves without effect (``t + 0``, ``1*t``)
and inverse pairs that cancel on the data. :func:`simplify_tree` asks sympy
for shorter forms and keeps one only when it is expressible in the language,
less complex than the input, and evaluates like the input on random points.
"""

from __future__ import annotations

import math
import time
from operator import itemgetter
from typing import Sequence

import numpy as np
import sympy

from .sympy_convert import sympy_to_tree, tree_to_sympy
from .traversal import is_constant, reduce_tree
from .tree import Constant, Individual, Language, complexity

__all__ = ["fold_constants", "remove_inert_nodes", "simplify_tree", "evaluate_tree"]

# sympy rewrites tried by simplify_tree, cheapest first. All are bounded
# algebraic passes; sympy.simplify is left out because it tries many
# strategies (trigsimp, nsimplify ...) and can take seconds on a formula that
# GP produces in microseconds.
_REWRITES = (
    sympy.factor_terms,   # pulls out common factors: 2*x + 2*y -> 2*(x + y)
    sympy.expand,         # multiplies out: (x + 1)*(x - 1) -> x**2 - 1
    sympy.cancel,         # rational function p/q in lowest terms: (x**2 - 1)/(x - 1) -> x + 1
    sympy.together,       # one fraction over a common denominator
    sympy.powsimp,        # merges powers: x**a * x**b -> x**(a + b)
)
# Points at which a simplified tree is checked against its input. Most are
# positive because sqrt and log are undefined elsewhere.
_CHECK_POINTS = 32
_CHECK_POSITIVE_SHARE = 0.75
# Relative tolerance of that check: sympy reorders floating-point arithmetic,
# which changes the last digits but not more.
_CHECK_RTOL = 1e-6


def evaluate_tree(tree: Sequence, language: Language, X: np.ndarray) -> np.ndarray:
    """Evaluate a tree on the rows of ``X`` with numpy (a slow reference, not the kernels).

    Parameters
    ----------
    tree : Individual or sequence of DEAP nodes
    language : Language
    X : ndarray of shape (n_samples, n_features)

    Returns
    -------
    ndarray of shape (n_samples,)
        float64 values; NaN or inf where an operator leaves its domain.
    """
    X = np.asarray(X, dtype=np.float64)
    functions = language.pset.context

    def leaf(node) -> np.ndarray:
        if is_constant(node):
            return np.full(len(X), node.value)
        return X[:, language.variable_index(node)]

    def operator(node, arguments) -> np.ndarray:
        # A custom operator may ignore its argument and give a scalar.
        values = np.asarray(functions[node.name](*arguments), dtype=np.float64)
        return np.broadcast_to(values, (len(X),))

    with np.errstate(all="ignore"):
        # A copy, so that a tree of one variable never hands out a view of X.
        return np.array(reduce_tree(tree, leaf, operator), dtype=np.float64)


def fold_constants(tree: Sequence, language: Language) -> Individual:
    """Replace every subtree without variables by one constant of its value.

    Values are computed in float64 with the language's numpy functions. A
    subtree whose value is not finite is left as it is, and so is every
    subtree above it, so that an invalid formula stays visibly invalid
    instead of turning into a constant NaN.

    Returns
    -------
    Individual
        A new tree; ``tree`` is not changed.
    """
    functions = language.pset.context

    # Each partial result is (prefix nodes, value or None when not a finite constant).
    def leaf(node) -> tuple[list, float | None]:
        value = node.value if is_constant(node) and math.isfinite(node.value) else None
        return [node], value

    def operator(node, arguments) -> tuple[list, float | None]:
        values = [value for _, value in arguments]
        if None not in values:
            folded = _apply(functions[node.name], values)
            if folded is not None:
                return [Constant(folded)], folded
        return [node, *(n for nodes, _ in arguments for n in nodes)], None

    return Individual(reduce_tree(tree, leaf, operator)[0])


def remove_inert_nodes(tree: Sequence, language: Language, X: np.ndarray) -> Individual:
    """``tree`` without the nodes that change nothing on the rows of ``X``.

    Simplifying a fitted formula's constants (:mod:`hybridsr.constant_tying`)
    sets some to 0 or 1, where they leave nodes without effect: ``t + 0``,
    ``0 + t``, ``t - 0``, ``t*1``, ``1*t`` and ``t/1`` become ``t``; ``t*0``,
    ``0*t`` and ``0/t`` become 0. Inverse pairs then cancel: ``log(exp(t))``
    becomes ``t``, and ``sqrt(t**2)`` becomes ``t`` where ``t >= 0`` on every
    row (``|t|`` is ``t`` there: ``sqrt(nu**2)`` is the frequency ``nu``).
    Subtrees without variables are folded (:func:`fold_constants`), so
    ``exp(0*x)`` ends as 1.

    The result computes what ``tree`` does on every row where ``tree`` is
    finite, up to rounding; only the built-in operators are read.

    Parameters
    ----------
    tree : Individual or sequence of DEAP nodes
    language : Language
    X : ndarray of shape (n_samples, n_features)
        The rows on which ``sqrt(t**2)`` must equal ``t``.

    Returns
    -------
    Individual
        A new tree, no more complex than ``tree``.
    """
    X = np.asarray(X, dtype=np.float64)

    def value(nodes: list) -> float | None:
        return nodes[0].value if len(nodes) == 1 and is_constant(nodes[0]) else None

    def operator(node, arguments: list[list]) -> list:
        op = language.operator(node)
        name = op.name if op.definition is None else None
        if node.arity == 2:
            left, right = arguments
            a, b = value(left), value(right)
            if (name in ("+", "-") and b == 0) or (name in ("*", "/") and b == 1):
                return left
            if (name == "+" and a == 0) or (name == "*" and a == 1):
                return right
            if (name == "*" and (a == 0 or b == 0)) or (name == "/" and a == 0):
                return [Constant(0.0)]
        elif arguments[0][0].arity == 1:
            inner, argument = language.operator(arguments[0][0]), arguments[0][1:]
            pair = (name, inner.name if inner.definition is None else None)
            if pair == ("log", "exp"):
                return argument
            if pair == ("sqrt", "square"):
                with np.errstate(all="ignore"):
                    if np.all(evaluate_tree(argument, language, X) >= 0):
                        return argument
        return [node, *(n for nodes in arguments for n in nodes)]

    pruned = reduce_tree(tree, lambda node: [node], operator)
    return fold_constants(pruned, language)


def simplify_tree(
    tree: Sequence,
    language: Language,
    *,
    timeout: float | None = None,
    rng: np.random.Generator | None = None,
) -> Individual:
    """A shorter tree that computes the same values, or the input with its constants folded.

    The folded tree goes to sympy (whose automatic evaluation already merges
    like terms), each rewrite in ``_REWRITES`` is tried on it, and every
    result that the language can express is folded again and weighed with
    :func:`~hybridsr.expr.tree.complexity`. The least complex candidate that
    is strictly less complex than the folded input and agrees with it
    wherever the input is finite on random points wins; without one the
    folded input is returned. Where the input is NaN or inf the candidate may
    differ (``sqrt(x)**2`` may become ``x``).

    Parameters
    ----------
    tree : Individual or sequence of DEAP nodes
    language : Language
    timeout : float, optional
        Seconds after which no further rewrite or conversion is started. A
        sympy call that has started is not interrupted (the conversion to
        sympy alone can take a second for deeply nested trigonometry), so
        this bounds the work only softly.
    rng : numpy.random.Generator, optional
        Draws the check points; by default a generator seeded with 0, so the
        result does not depend on global state.

    Returns
    -------
    Individual
        A new tree; never raises for a valid tree of ``language``.
    """
    folded = fold_constants(tree, language)
    deadline = math.inf if timeout is None else time.monotonic() + timeout
    limit = complexity(folded, language)
    scored = [(complexity(c, language), c) for c in _candidates(folded, language, deadline)]
    shorter = [c for score, c in sorted(scored, key=itemgetter(0)) if score < limit]
    if not shorter:
        return folded
    rng = np.random.default_rng(0) if rng is None else rng
    for candidate in shorter:
        if _agree(folded, candidate, language, rng):
            return candidate
    return folded


def _apply(function, values: list[float]) -> float | None:
    """``function(*values)`` as a finite float, or None."""
    with np.errstate(all="ignore"):
        try:
            result = function(*(np.float64(v) for v in values))
        except (ArithmeticError, ValueError):
            return None
    result = complex(result)
    if result.imag != 0 or not math.isfinite(result.real):
        return None
    return result.real


def _candidates(tree: Individual, language: Language, deadline: float):
    """Trees for sympy's forms of ``tree`` that the language can write, folded."""
    try:
        # Display names, because sympy_to_tree lets them win over clashing x0 .. names.
        expression = tree_to_sympy(tree, language)
    except Exception:  # sympy can fail in many ways on odd constants; then nothing simplifies
        return
    forms = [expression]
    for rewrite in _REWRITES:
        if time.monotonic() > deadline:
            break
        try:
            forms.append(rewrite(expression))
        except Exception:  # a rewrite that fails only removes one candidate
            continue
    seen = set()
    for form in forms:
        if form in seen or time.monotonic() > deadline:
            continue
        seen.add(form)
        try:
            yield fold_constants(sympy_to_tree(form, language), language)
        except Exception:  # mostly ValueError: not expressible with this language's operators
            continue


def _agree(reference: Sequence, candidate: Sequence, language: Language,
           rng: np.random.Generator) -> bool:
    """Whether ``candidate`` matches ``reference`` wherever ``reference`` is finite."""
    X = rng.uniform(-3.0, 3.0, size=(_CHECK_POINTS, language.n_features))
    positive = rng.random(X.shape) < _CHECK_POSITIVE_SHARE
    X[positive] = np.abs(X[positive]) + 0.05
    expected = evaluate_tree(reference, language, X)
    actual = evaluate_tree(candidate, language, X)
    finite = np.isfinite(expected)
    if not finite.any():
        return False  # nothing to compare on: keep the input
    scale = max(1.0, float(np.max(np.abs(expected[finite]))))
    close = np.isclose(actual[finite], expected[finite], rtol=_CHECK_RTOL, atol=1e-12 * scale)
    return bool(np.all(close))
