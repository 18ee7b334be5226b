"""The methods a benchmark compares: hybridsr and its peers behind one call.

>>> out = fit_method("operon", problem, X, y, time_budget=60.0, seed=0)  # doctest: +SKIP
>>> out.selected, out.front, out.predict(X_test)                        # doctest: +SKIP

Every method gets the problem's suggested operators (as far as it has them),
the same wall-clock budget and the same seed, and answers with a
:class:`FitOutput`: the formula it picked and its front as sympy-readable
strings over the problem's variable names, and a predictor.

The peers' settings follow SRBench (``cavalab/srbench``, ``experiment/methods``)
except where a fixed time budget and the problem's operator set replace its
evaluation budget and fixed function sets; each adapter says where.

Formula strings are meant for :func:`parse_formula`, which binds every
variable name to a plain :class:`sympy.Symbol` (AI Feynman variables named
``I``, ``beta`` or ``gamma`` would otherwise read as sympy objects).
"""

from __future__ import annotations

import difflib
import functools
import importlib
import math
import re
import time
import warnings
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
import sympy

from ..operators import Operator, resolve_operator

__all__ = ["METHOD_NAMES", "FitOutput", "available_methods", "fit_method", "formula_size",
           "parse_formula", "gplearn_to_sympy_string", "operon_to_sympy_string"]

#: The methods :func:`fit_method` knows.
#: ``hybridsr`` is the hybrid (student-guided GP), ``hybridsr-gp`` the GP alone,
#: ``eql`` seed 001's network alone, ``student`` the distilled student alone,
#: ``transformer`` the pretrained SR-Transformer alone (up to 3 variables) and
#: ``hybridsr-transformer`` the GP seeded by it, ``hybridsr-structure`` the GP seeded by
#: the teacher's structure (separability and symmetries, :mod:`hybridsr.guidance.decomposition`),
#: ``hybridsr-full`` the GP seeded by the sparse basis fits (:mod:`hybridsr.guidance.sparse`)
#: and the teacher's structure.
METHOD_NAMES = ("hybridsr", "hybridsr-gp", "eql", "student", "operon", "gplearn", "feyn",
                "transformer", "hybridsr-transformer", "hybridsr-structure", "hybridsr-full")
# method -> (module that must import, the pip command that installs it)
_PACKAGES = {
    "hybridsr": ("hybridsr.neural", "pip install hybridsr (torch is a dependency)"),
    "hybridsr-gp": ("hybridsr.estimator", "pip install hybridsr"),
    "eql": ("hybridsr.neural", "pip install hybridsr (torch is a dependency)"),
    "student": ("hybridsr.neural", "pip install hybridsr (torch is a dependency)"),
    "operon": ("pyoperon.sklearn", 'pip install pyoperon (or pip install "hybridsr[peers]")'),
    "gplearn": ("gplearn.genetic", 'pip install gplearn (or pip install "hybridsr[peers]")'),
    "feyn": ("feyn", 'pip install feyn (or pip install "hybridsr[peers]")'),
    "transformer": ("hybridsr.transformer.estimator", "pip install hybridsr (torch is a dependency)"),
    "hybridsr-transformer": ("hybridsr.transformer.estimator",
                             "pip install hybridsr (torch is a dependency)"),
    "hybridsr-structure": ("hybridsr.neural", "pip install hybridsr (torch is a dependency)"),
    "hybridsr-full": ("hybridsr.neural", "pip install hybridsr (torch is a dependency)"),
}
# hybridsr stops on its timeout; this many iterations never come first.
_HYBRIDSR_ITERATIONS = 10**9
# The estimator's default maxsize (PySR's, 20) is shorter than 11 of the 105 AI Feynman laws
# with up to 5 variables as they are written (III.19.51 has 23 nodes, I.41.16 26; Operon runs
# with max_length 50): benchmarks let formulas grow to 30 nodes.
_HYBRIDSR_MAXSIZE = 30
# Operon stops on time too; its generation and evaluation caps are set out of reach.
_OUT_OF_REACH = 10**9
# Operon prints coefficients in fixed point with this many decimals (enough
# for any float32 coefficient); they are shortened again before parsing.
_OPERON_DECIMALS = 50


@dataclass(frozen=True)
class FitOutput:
    """What one method found on one problem.

    Attributes
    ----------
    selected : str
        The formula the method picked, sympy-readable over the problem's
        variable names (read it with :func:`parse_formula`).
    front : list of str
        The method's Pareto front (or final candidates), same syntax; it
        contains ``selected``.
    predict : callable
        ``predict(X) -> ndarray`` of shape (n,), for a DataFrame with the
        problem's variable names as columns (or an array in that column order).
    n_evals : int or None
        Evaluations of candidate formulas on the data, as the method counts them.
    elapsed : float
        Wall-clock seconds of the whole fit.
    info : dict
        The settings used and the method's own run statistics (JSON-able).
    timeline : list of (float, list of str)
        Snapshots of the front during the run, ``(seconds into the search,
        formulas)`` in time order, for the methods that report one (empty
        otherwise); the benchmark reads its time to solution from them.
    """

    selected: str
    front: list[str]
    predict: Callable[[pd.DataFrame], np.ndarray] = field(repr=False)
    n_evals: int | None
    elapsed: float
    info: dict
    timeline: list[tuple[float, list[str]]] = field(default_factory=list, repr=False)


# ------------------------------------------------------------------ entry points
def available_methods() -> tuple[str, ...]:
    """The names in :data:`METHOD_NAMES` whose packages import here."""
    names = []
    for name in METHOD_NAMES:
        try:
            importlib.import_module(_PACKAGES[name][0])
        except Exception:  # noqa: BLE001 - a broken install counts as absent
            continue
        names.append(name)
    return tuple(names)


def fit_method(name: str, problem, X_train, y_train, *, time_budget: float = 60.0,
               seed: int = 0, n_jobs: int = 1) -> FitOutput:
    """Fit method ``name`` on ``(X_train, y_train)`` with the problem's operators.

    Parameters
    ----------
    name : str
        One of :data:`METHOD_NAMES`.
    problem : hybridsr.datasets.Problem
        Supplies the variable names and the suggested operators.
    X_train : DataFrame of shape (n, n_variables)
        Columns named as the problem's variables (an array is taken in that order).
    y_train : array of shape (n,)
    time_budget : float
        Wall-clock seconds the search may run (each method may overrun by
        about one of its iterations or generations).
    seed : int
        Random seed of the method.
    n_jobs : int
        Threads or processes the method may use.

    Raises
    ------
    ValueError
        For an unknown method name (the message lists the valid ones).
    ImportError
        When the method's package is not installed (the message says which
        ``pip install`` fixes it).
    """
    if name not in METHOD_NAMES:
        near = difflib.get_close_matches(str(name), METHOD_NAMES, n=1)
        hint = f" Did you mean {near[0]!r}?" if near else ""
        raise ValueError(f"unknown method {name!r}.{hint} Valid methods: {', '.join(METHOD_NAMES)}")
    if not (isinstance(time_budget, (int, float)) and math.isfinite(time_budget)
            and time_budget > 0):
        raise ValueError(f"time_budget must be a positive number of seconds, got {time_budget!r}")
    module, install = _PACKAGES[name]
    try:
        importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(f"method {name!r} needs the {module.split('.')[0]!r} package, which "
                          f"does not import here ({exc}); install it with: {install}") from exc
    names = tuple(problem.variable_names)
    X = _matrix(X_train, names)
    y = np.asarray(y_train, dtype=np.float64).ravel()
    if len(y) != len(X):
        raise ValueError(f"X_train has {len(X)} rows but y_train has {len(y)}")
    fit = {"hybridsr": functools.partial(_fit_hybridsr, guidance=("student",)),
           "hybridsr-gp": _fit_hybridsr, "eql": _fit_eql, "student": _fit_student,
           "operon": _fit_operon, "gplearn": _fit_gplearn, "feyn": _fit_feyn,
           "transformer": _fit_transformer,
           "hybridsr-transformer": functools.partial(_fit_hybridsr, guidance=("transformer",)),
           "hybridsr-structure": functools.partial(_fit_hybridsr, guidance=("structure",)),
           "hybridsr-full": functools.partial(_fit_hybridsr, guidance=("sparse", "structure"))}[name]
    start = time.perf_counter()
    selected, front, predict, n_evals, info, *timeline = fit(problem, names, X, y,
                                                             float(time_budget), int(seed), int(n_jobs))
    elapsed = time.perf_counter() - start
    if selected not in front:
        front = [selected, *front]
    info = {"method": name, "time_budget": float(time_budget), "seed": int(seed),
            "n_jobs": int(n_jobs), **info}
    return FitOutput(selected, list(front), predict, n_evals, elapsed, info,
                     timeline[0] if timeline else [])


def parse_formula(text: str, variable_names: Sequence[str], evaluate: bool = True) -> sympy.Expr:
    """Read a formula string with every variable name bound to a plain Symbol.

    ``evaluate=False`` keeps the formula as written: sympy's automatic
    evaluation can take minutes on a long front formula (``sqrt(u**2)`` asks
    whether ``u`` is real, expanding every ``exp`` inside it)."""
    local = {n: sympy.Symbol(n) for n in variable_names}
    return sympy.parse_expr(text, local_dict=local, evaluate=evaluate)


def formula_size(expr: sympy.Expr) -> int:
    """Nodes of a formula read with ``evaluate=False``, as written (a product nested in a
    product is not flattened), each number one node however it is written (``3/2``,
    ``1/(4*pi)``)."""
    if expr.is_Atom or expr.is_number:
        return 1
    return 1 + sum(formula_size(arg) for arg in expr.args)


# ------------------------------------------------------------------ data helpers
def _matrix(X, names: tuple[str, ...]) -> np.ndarray:
    """A fresh, writable float64 array of the problem's columns, in order."""
    if isinstance(X, pd.DataFrame):
        missing = [n for n in names if n not in X.columns]
        if missing:
            raise ValueError(f"X lacks the column(s) {missing}; needs {list(names)}")
        X = X[list(names)]
    X = np.array(X, dtype=np.float64, copy=True)
    if X.ndim != 2 or X.shape[1] != len(names):
        raise ValueError(f"X must have shape (n, {len(names)}) for columns {list(names)}, "
                         f"got {X.shape}")
    return X


def _predict_frame(model, names: tuple[str, ...], X) -> np.ndarray:
    """hybridsr's predictions (it reads the columns by name)."""
    with np.errstate(all="ignore"):
        return np.asarray(model.predict(pd.DataFrame(_matrix(X, names), columns=list(names))),
                          dtype=float)


def _predict_array(model, names: tuple[str, ...], X) -> np.ndarray:
    """A peer's predictions, fed a plain array in the problem's column order."""
    with np.errstate(all="ignore"):
        return np.asarray(model.predict(np.asfortranarray(_matrix(X, names))), dtype=float)


# ------------------------------------------------------------------ operators
# A custom operator counts as a named function when its definition is that function of a.
_A = sympy.Symbol("a")
_NAMED_FUNCTIONS = {sympy.asin(_A): "asin", sympy.acos(_A): "acos", sympy.atan(_A): "atan",
                    sympy.sinh(_A): "sinh", sympy.cosh(_A): "cosh"}


def _operator_key(spec: str | Operator) -> str:
    """hybridsr's name of an operator spec, or the plain function a custom one defines."""
    operator = resolve_operator(spec)
    if operator.definition is not None and operator.arity == 1:
        return _NAMED_FUNCTIONS.get(operator.to_sympy(_A), operator.name)
    return operator.name


def _map_operators(problem, table: Mapping[str, str | None]) -> tuple[list[str], list[str]]:
    """The peer's names for the problem's operators, and the operators it lacks."""
    mapped, dropped = [], []
    for spec in (*problem.binary_operators, *problem.unary_operators):
        key = _operator_key(spec)
        peer = table.get(key)
        if peer is None:
            dropped.append(key)
        elif peer not in mapped:
            mapped.append(peer)
    return mapped, dropped


# ------------------------------------------------------------------ hybridsr
def _fit_hybridsr(problem, names, X, y, time_budget, seed, n_jobs, guidance=None):
    from ..estimator import HybridSRRegressor
    from ..expr.sympy_convert import variable_symbols

    settings = dict(binary_operators=list(problem.binary_operators),
                    unary_operators=list(problem.unary_operators),
                    timeout_in_seconds=time_budget, niterations=_HYBRIDSR_ITERATIONS,
                    maxsize=_HYBRIDSR_MAXSIZE, random_state=seed, verbosity=0, n_jobs=n_jobs,
                    guidance=None if guidance is None else list(guidance))
    model = HybridSRRegressor(**settings)
    model.fit(pd.DataFrame(X, columns=list(names)), y)
    # hybridsr renames only columns that clash with operators or keywords; map them back.
    back = {symbol: sympy.Symbol(n)
            for symbol, s, n in zip(variable_symbols(model.language_), model.variable_names_, names)
            if s != n}
    front = [str(expr.xreplace(back)) for expr in model.equations_["sympy"]]
    selected = str(model.sympy().xreplace(back))
    results = model.search_results_
    info = {"settings": {k: v for k, v in settings.items() if k != "random_state"},
            "stop_reason": results[0].stop_reason, "iterations": results[0].n_iterations,
            "guidance": model.guidance_, "equations": _selection_inputs(model.equations_)}
    n_evals = int(sum(r.n_evals for r in results))
    # Snapshot times count from the search's start; guidance started "before the search"
    # (guidance_start="start") shifts them, guidance started on a stall ran inside it.
    before_search = sum(report["seconds"] for report in model.guidance_[:1]
                        if report.get("reason") == "start")
    timeline = [(before_search + seconds, formulas)
                for seconds, formulas in _hybridsr_timeline(results[0].history, model.language_, back)]
    return selected, front, functools.partial(_predict_frame, model, names), n_evals, info, timeline


def _selection_inputs(table) -> list[dict]:
    """What model selection weighed for each front equation, in the front's order, so that a
    change to the selection rule can be replayed on saved runs without searching again; with
    the tree as written (``equation``: every node and constant in full), which the sympy form
    of the front merges and rounds."""
    from ..expr import constants_of

    def number(value):
        value = float(value)
        return value if math.isfinite(value) else None

    return [{"complexity": int(row.complexity), "n_constants": int(constants_of(row.tree).size),
             "loss": number(row.loss), "validation_loss": number(row.validation_loss),
             "description_length": number(row.description_length), "equation": row.equation}
            for row in table.itertuples(index=False)]


#: Fronts kept of a hybridsr run's iterations for its time to solution.
_TIMELINE_SNAPSHOTS = 48


def _hybridsr_timeline(history, language, back) -> list[tuple[float, list[str]]]:
    """Evenly spaced snapshots of the hall of fame (the last one always), as sympy strings
    in the readable form of the final front (:func:`~hybridsr.expr.readable_form`)."""
    from ..expr import readable_form, tree_to_sympy

    if not history:
        return []
    step = max(1, -(-len(history) // _TIMELINE_SNAPSHOTS))
    picked = list(range(len(history) - 1, -1, -step))[::-1]
    written = {}  # members repeat across snapshots; each is written once

    def write(tree) -> str:
        key = str(tree)
        if key not in written:
            written[key] = str(readable_form(tree_to_sympy(tree, language)).xreplace(back))
        return written[key]

    return [(float(history[i].elapsed), [write(m.tree) for m in history[i].hall_of_fame])
            for i in picked]


# ------------------------------------------------------------------ EQL and the student
def _network_output(model, names, info):
    """A fitted EQLRegressor (or student) as a one-formula front."""
    text = str(model.expression_)
    info = {**info, "n_active": int(model.result_.n_active),
            "validation_rmse": float(model.result_.validation_rmse)}
    return text, [text], functools.partial(_predict_array, model, names), None, info


def _network_settings(problem, time_budget, seed) -> dict:
    return dict(binary_operators=tuple(problem.binary_operators),
                unary_operators=tuple(problem.unary_operators), time_limit=time_budget,
                random_state=seed)


def _fit_eql(problem, names, X, y, time_budget, seed, n_jobs):
    from ..neural import EQLRegressor, units_for

    model = EQLRegressor(**_network_settings(problem, time_budget, seed)).fit(X, y, variable_names=names)
    units = units_for(problem.unary_operators, problem.binary_operators).options()
    return _network_output(model, names, {"units": {k: list(v) if isinstance(v, tuple) else v
                                                    for k, v in units.items()}})


def _fit_student(problem, names, X, y, time_budget, seed, n_jobs):
    from ..neural import DistilledStudentRegressor

    model = DistilledStudentRegressor(**_network_settings(problem, time_budget, seed))
    model.fit(X, y, variable_names=names)
    report = model.teacher_.report
    return _network_output(model, names, {"teacher_validation_r2": float(report.validation_r2),
                                          "teacher_seconds": float(report.seconds)})


def _fit_transformer(problem, names, X, y, time_budget, seed, n_jobs):
    from ..transformer.estimator import TransformerRegressor

    model = TransformerRegressor(**_network_settings(problem, time_budget, seed))
    model.fit(X, y, variable_names=names)
    front = [str(expr) for expr in model.equations_["sympy"]]
    return (str(model.expression_), front, functools.partial(_predict_array, model, names), None,
            {"candidates": len(model.candidates_)})


# ------------------------------------------------------------------ Operon
#: hybridsr operator -> Operon symbol (None: Operon has no such primitive).
#: ``neg`` and ``inv`` come from Operon's unary use of sub and div; cube has no symbol.
OPERON_SYMBOLS: Mapping[str, str | None] = {
    "+": "add", "-": "sub", "*": "mul", "/": "div", "^": "pow", "neg": "sub", "inv": "div",
    "square": "square", "cube": None, "sqrt": "sqrt", "exp": "exp", "log": "log", "sin": "sin",
    "cos": "cos", "tan": "tan", "tanh": "tanh", "abs": "abs", "asin": "asin", "acos": "acos",
    "atan": "atan", "sinh": "sinh", "cosh": "cosh",
}

# SRBench's Operon entry (experiment/methods/operon/regressor.py, ``default_params``;
# its optuna search over allowed_symbols and max_length is replaced by the problem's
# operators and max_length 50, the top of that search's range and pyoperon's default).
# max_evaluations and generations are lifted so that max_time is what stops a run.
OPERON_SETTINGS = {
    "offspring_generator": "basic", "initialization_method": "btc",
    "objectives": ["r2", "length"], "epsilon": 1e-5, "optimizer": "lm",
    "optimizer_iterations": 1, "reinserter": "keep-best", "female_selector": "tournament",
    "male_selector": "tournament", "brood_size": 5, "population_size": 1000,
    "pool_size": None, "max_length": 50,
    "model_selection_criterion": "minimum_description_length",
    "max_evaluations": _OUT_OF_REACH, "generations": _OUT_OF_REACH,
}


def _noise_sigma(X, y, seed: int, n_jobs: int) -> float:
    """SRBench's noise estimate for Operon's MDL: a random forest's training RMSE."""
    from sklearn.ensemble import RandomForestRegressor  # imported by _fit_operon, off the clock

    forest = RandomForestRegressor(random_state=seed, n_jobs=n_jobs).fit(X, y)
    return float(np.sqrt(np.mean((y - forest.predict(X)) ** 2)))


def _short_numbers(text: str) -> str:
    """Fixed-point numbers as their shortest exact decimal (float32 when they are one)."""
    def shorten(match):
        value = float(match.group())
        single = np.float32(value)
        return str(single) if float(single) == value else repr(value)
    return re.sub(r"\d+\.\d+", shorten, text)


def _operon_string(model, tree) -> str:
    return _short_numbers(model.get_model_string(tree, _OPERON_DECIMALS))


def _fit_operon(problem, names, X, y, time_budget, seed, n_jobs):
    import sklearn.ensemble  # noqa: F401 - a slow import that should not eat the budget
    from pyoperon.sklearn import SymbolicRegressor

    start = time.perf_counter()
    symbols, dropped = _map_operators(problem, OPERON_SYMBOLS)
    sigma = _noise_sigma(X, y, seed, n_jobs)
    # Operon takes whole seconds; the forest's time comes out of the budget.
    max_time = max(1, int(time_budget - (time.perf_counter() - start)))
    settings = dict(OPERON_SETTINGS, allowed_symbols=",".join([*symbols, "constant", "variable"]),
                    uncertainty=[sigma], max_time=max_time, n_threads=n_jobs, random_state=seed)
    model = SymbolicRegressor(**settings)
    model.fit(np.asfortranarray(X), y)
    # Fitted on an array, Operon names the variables X1, X2, ... in column order.
    selected = operon_to_sympy_string(_operon_string(model, model.model_), names)
    front = [operon_to_sympy_string(_operon_string(model, entry["tree"]), names)
             for entry in getattr(model, "pareto_front_", [])]
    stats = {k: (int(v) if isinstance(v, (int, np.integer)) else v)
             for k, v in model.stats_.items()}
    n_evals = stats.get("evaluation_count") or stats.get("residual_evaluations")
    info = {"settings": {k: v for k, v in settings.items() if k != "random_state"},
            "dropped_operators": dropped, "stats": stats,
            "source": "cavalab/srbench experiment/methods/operon/regressor.py default_params"}
    return selected, front, functools.partial(_predict_array, model, names), n_evals, info


_OPERON_FUNCTIONS = {"abs": sympy.Abs, "min": sympy.Min, "max": sympy.Max, "ceil": sympy.ceiling,
                     "floor": sympy.floor, "cbrt": sympy.cbrt, "nan": sympy.nan, "inf": sympy.oo}


def operon_to_sympy_string(text: str, variable_names: Sequence[str]) -> str:
    """An Operon infix model string over ``X1, X2, ...`` as a sympy string over ``variable_names``.

    Operon writes ``((2.5 * X1) ^ 2)``, ``min(a, b)``, ``abs(a)``; ``X{i+1}``
    is the i-th name. Raises ValueError for a name that is neither.

    >>> operon_to_sympy_string("(1.5 + (2.0 * X2) ^ 2)", ["a", "b"])
    '4.0*b**2 + 1.5'
    """
    local = {f"X{i + 1}": sympy.Symbol(n) for i, n in enumerate(variable_names)}
    local.update(_OPERON_FUNCTIONS)
    try:
        expr = sympy.parse_expr(text.replace("^", "**"), local_dict=local)
    except Exception as exc:  # sympy raises many kinds for bad syntax
        raise ValueError(f"cannot read the Operon model {text!r} ({exc})") from None
    _check_symbols(expr, variable_names, text)
    return str(expr)


# ------------------------------------------------------------------ gplearn
def _protected_exp(x):
    """exp with its argument capped at 100 (finite everywhere, as gplearn requires)."""
    with np.errstate(over="ignore"):
        return np.exp(np.minimum(x, 100.0))


def _tanh(x):
    return np.tanh(x)


# Added to gplearn's built-ins so that it gets the problem's operators (SRBench's
# gplearn has neither); module-level, so the programs stay picklable.
_GPLEARN_EXTRA = {"exp": _protected_exp, "tanh": _tanh}

#: hybridsr operator -> gplearn function (None: gplearn has none; square and
#: cube are products, which ``mul`` builds).
GPLEARN_FUNCTIONS: Mapping[str, str | None] = {
    "+": "add", "-": "sub", "*": "mul", "/": "div", "neg": "neg", "inv": "inv", "abs": "abs",
    "sqrt": "sqrt", "log": "log", "sin": "sin", "cos": "cos", "tan": "tan", "exp": "exp",
    "tanh": "tanh", "square": None, "cube": None, "^": None,
}

# SRBench's gplearn entry (experiment/methods/gplearn/regressor.py): everything but
# generations (here as many as the time budget allows) and function_set (the problem's).
GPLEARN_SETTINGS = {
    "population_size": 1000, "tournament_size": 20, "init_depth": (2, 6),
    "init_method": "half and half", "metric": "mean absolute error",
    "parsimony_coefficient": 0.001, "p_crossover": 0.9, "p_subtree_mutation": 0.01,
    "p_hoist_mutation": 0.01, "p_point_mutation": 0.01, "p_point_replace": 0.05,
    "max_samples": 1.0,
}


def _gplearn_function_set(problem):
    from gplearn.functions import make_function

    names, dropped = _map_operators(problem, GPLEARN_FUNCTIONS)
    functions = [make_function(function=_GPLEARN_EXTRA[n], name=n, arity=1, wrap=False)
                 if n in _GPLEARN_EXTRA else n for n in names]
    return names, functions, dropped


def _program_text(program) -> str:
    """A gplearn program in its own prefix syntax, constants in full (``str`` keeps 3 decimals)."""
    parts, open_args = [], []
    for node in program.program:
        if hasattr(node, "arity"):  # a function
            parts.append(f"{node.name}(")
            open_args.append(node.arity)
            continue
        parts.append(f"X{node}" if isinstance(node, (int, np.integer)) else repr(float(node)))
        while open_args:
            open_args[-1] -= 1
            if open_args[-1] > 0:
                parts.append(", ")
                break
            parts.append(")")
            open_args.pop()
    return "".join(parts)


def _gplearn_front(programs) -> list:
    """The final population's non-dominated programs by (length, raw fitness), shortest first."""
    best: dict[int, object] = {}
    for program in programs:
        if program is None or not math.isfinite(program.raw_fitness_):
            continue
        kept = best.get(program.length_)
        if kept is None or program.raw_fitness_ < kept.raw_fitness_:
            best[program.length_] = program
    front, lowest = [], math.inf
    for length in sorted(best):
        if best[length].raw_fitness_ < lowest:
            front.append(best[length])
            lowest = best[length].raw_fitness_
    return front


def _fit_gplearn(problem, names, X, y, time_budget, seed, n_jobs):
    from gplearn.genetic import SymbolicRegressor

    start = time.perf_counter()
    deadline = start + time_budget
    function_names, functions, dropped = _gplearn_function_set(problem)
    # gplearn has no time limit: grow the run one generation at a time (warm
    # start continues the same random stream, so this is one ordinary run) and
    # stop when the next generation, as long as the last, would pass the deadline.
    model = SymbolicRegressor(**GPLEARN_SETTINGS, function_set=functions, generations=1,
                              warm_start=True, n_jobs=n_jobs, random_state=seed)
    generations, last = 0, 0.0
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        while generations == 0 or time.perf_counter() + last <= deadline:
            began = time.perf_counter()
            model.set_params(generations=generations + 1)
            model.fit(X, y)
            generations = len(model._programs)
            last = time.perf_counter() - began
            if model._program.raw_fitness_ <= model.stopping_criteria:
                break  # gplearn's own early stop: a perfect fit
    selected = gplearn_to_sympy_string(_program_text(model._program), names)
    front = [gplearn_to_sympy_string(_program_text(p), names)
             for p in _gplearn_front(model._programs[-1])]
    settings = dict(GPLEARN_SETTINGS, init_depth=list(GPLEARN_SETTINGS["init_depth"]),
                    function_set=function_names, generations=generations)
    info = {"settings": settings, "dropped_operators": dropped,
            "source": "cavalab/srbench experiment/methods/gplearn/regressor.py"}
    n_evals = generations * GPLEARN_SETTINGS["population_size"]
    return selected, front, functools.partial(_predict_array, model, names), n_evals, info


# gplearn protects div, sqrt, log and inv: a/b (1 where |b| <= 0.001), sqrt(|a|),
# log|a| (0 where |a| <= 0.001) and 1/a (0 where |a| <= 0.001). For judging, a
# function of the variables is read as the plain function (a/b, sqrt(a), log(a),
# 1/a), as SRBench does; a function of constants only, and a division by a
# constant, follow gplearn's own rule, so that sqrt(-0.5) is the number gplearn
# used and not 0.707*I. The capped exp added here reads as exp.
def _folding(protected, plain):
    def build(*args):
        if all(isinstance(a, sympy.Number) for a in args):
            return sympy.Float(protected(*(float(a) for a in args)))
        return plain(*args)
    return build


def _gp_div(a, b):
    """gplearn's division; exact whenever the divisor is a number."""
    if isinstance(b, sympy.Number) and abs(float(b)) <= 0.001:
        return sympy.Integer(1)
    return a / b


def _gp_log(a):
    return math.log(abs(a)) if abs(a) > 0.001 else 0.0


def _gp_inv(a):
    return 1.0 / a if abs(a) > 0.001 else 0.0


_GPLEARN_SYMPY = {
    "add": (2, sympy.Add), "sub": (2, lambda a, b: a - b), "mul": (2, sympy.Mul),
    "div": (2, _gp_div), "max": (2, sympy.Max),
    "min": (2, sympy.Min), "sqrt": (1, _folding(lambda a: math.sqrt(abs(a)), sympy.sqrt)),
    "log": (1, _folding(_gp_log, sympy.log)), "neg": (1, lambda a: -a),
    "inv": (1, _folding(_gp_inv, lambda a: 1 / a)), "abs": (1, sympy.Abs),
    "sin": (1, sympy.sin), "cos": (1, sympy.cos), "tan": (1, sympy.tan),
    "exp": (1, _folding(lambda a: math.exp(min(a, 100.0)), sympy.exp)), "tanh": (1, sympy.tanh),
}
# One token: a name, a number or one of "(),"; each in its own group.
_GPLEARN_TOKEN = re.compile(
    r"\s*(?:([A-Za-z_]\w*)|([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)|([(),]))")


def gplearn_to_sympy_string(text: str, variable_names: Sequence[str]) -> str:
    """A gplearn program string (prefix, ``add(mul(X0, X1), 0.5)``) as a sympy
    string over ``variable_names`` (``X{i}`` is the i-th name).

    Protected functions of variables are read as the plain ones, of constants
    as gplearn computes them (see ``_GPLEARN_SYMPY``).
    Raises ValueError for text that is not a well-formed program.

    >>> gplearn_to_sympy_string("add(mul(X0, X1), div(X0, -2.0))", ["a", "b"])
    'a*b - 0.5*a'
    """
    tokens, position = [], 0
    text = text.strip()
    while position < len(text):
        match = _GPLEARN_TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise ValueError(f"cannot read the gplearn program {text!r} at {text[position:]!r}")
        tokens.append(match.groups())
        position = match.end()
    symbols = {f"X{i}": sympy.Symbol(n) for i, n in enumerate(variable_names)}
    expr, end = _gplearn_node(tokens, 0, symbols, text)
    if end != len(tokens):
        raise ValueError(f"cannot read the gplearn program {text!r}: text after the program")
    return str(expr)


def _gplearn_node(tokens, i, symbols, text):
    """Read the node starting at token ``i``; return (expr, index after it)."""
    if i >= len(tokens):
        raise ValueError(f"cannot read the gplearn program {text!r}: it ends early")
    name, number, punct = tokens[i]
    if number is not None:
        return sympy.Float(float(number)), i + 1
    if name is None:
        raise ValueError(f"cannot read the gplearn program {text!r}: unexpected {punct!r}")
    if name in symbols:
        return symbols[name], i + 1
    if name not in _GPLEARN_SYMPY:
        raise ValueError(f"cannot read the gplearn program {text!r}: unknown name {name!r} "
                         f"(variables {sorted(symbols)}, functions {sorted(_GPLEARN_SYMPY)})")
    arity, build = _GPLEARN_SYMPY[name]
    args, i = [], i + 1
    for k in range(arity):
        expected = "(" if k == 0 else ","
        if i >= len(tokens) or tokens[i][2] != expected:
            raise ValueError(f"cannot read the gplearn program {text!r}: {name} takes {arity} "
                             f"argument(s), expected {expected!r}")
        arg, i = _gplearn_node(tokens, i + 1, symbols, text)
        args.append(arg)
    if i >= len(tokens) or tokens[i][2] != ")":
        raise ValueError(f"cannot read the gplearn program {text!r}: {name} takes {arity} "
                         f"argument(s), expected ')'")
    return build(*args), i + 1


# ------------------------------------------------------------------ feyn (Abzu's QLattice)
#: hybridsr operator -> the feyn functions that write it (None: feyn has none;
#: (): none needed, feyn's weights already give it). feyn divides by multiplying
#: with ``inverse``; its ``linear`` (w*a + b, which also writes a subtraction of
#: inner nodes) is always allowed, see :func:`_feyn_function_names`.
FEYN_FUNCTIONS: Mapping[str, tuple[str, ...] | None] = {
    "+": ("add",), "-": ("add",), "*": ("multiply",), "/": ("multiply", "inverse"),
    "inv": ("inverse",), "neg": (), "square": ("squared",), "exp": ("exp",), "log": ("log",),
    "sqrt": ("sqrt",), "tanh": ("tanh",), "cube": None, "^": None, "sin": None, "cos": None,
    "tan": None, "abs": None, "asin": None, "acos": None, "atan": None, "sinh": None,
    "cosh": None,
}

# SRBench's QLattice entry, written by Abzu's staff (cavalab/srbench
# experiment/methods/qlattice/regressor.py): regression, max_complexity 10 (edges of
# the model graph), criterion wide_parsimony; the rest are feyn's defaults (squared
# error, each model fitted on 20000 resampled rows per epoch, every input numeric).
# Its n_epochs=200 under a max_time of an hour is replaced by the time budget, its
# full function set by the problem's operators and its threads="auto" by n_jobs.
FEYN_SETTINGS = {"kind": "regression", "max_complexity": 10, "criterion": "wide_parsimony",
                 "loss_function": "squared_error"}
# Models fitted per call and thread: the deadline is checked between calls (~0.3 s each).
_FEYN_CHUNK = 64
# Significant digits of the coefficients in feyn's formulas (it prints them with 16),
# enough for the formula to compute what the model predicts.
_FEYN_SIGNIF = 15


def _feyn_inputs(n: int) -> list[str]:
    """The column names feyn sees: x0, x1, ... (the problem's names may upset its parser)."""
    return [f"x{i}" for i in range(n)]


def _feyn_function_names(problem) -> tuple[list[str], list[str]]:
    """feyn's function names for the problem's operators, and the operators it lacks.

    feyn cannot be restricted further: every input enters as w*x + b and the
    output leaves as w*y + b, whatever the operators. ``linear`` (the same map
    on an inner node) is always allowed, which also keeps the list from being
    empty (feyn reads an empty list as "all functions"); ``gaussian``
    (exp(-2a^2), exp(-2(a^2 + b^2))) when exp, square and + are all there.
    """
    keys, dropped = _map_operators(problem, {k: k for k, v in FEYN_FUNCTIONS.items()
                                             if v is not None})
    names = list(dict.fromkeys(n for key in keys for n in FEYN_FUNCTIONS[key]))
    if {"exp", "squared", "add"} <= set(names):
        names.append("gaussian")
    return [*names, "linear"], dropped


def _feyn_formula(model, names: tuple[str, ...]) -> str:
    """A feyn model as a sympy string over the problem's variable names."""
    back = {sympy.Symbol(x): sympy.Symbol(n) for x, n in zip(_feyn_inputs(len(names)), names)}
    expr = model.sympify(signif=_FEYN_SIGNIF).xreplace(back)
    _check_symbols(expr, names, str(expr))
    return str(expr)


def _predict_feyn(model, names: tuple[str, ...], X) -> np.ndarray:
    """A feyn model's predictions (it reads the columns x0, x1, ... by name).

    They use feyn's protected functions (exp, log, sqrt, inverse and squared
    clamped at feyn's limits), the formula the plain ones, as for gplearn.
    """
    frame = pd.DataFrame(_matrix(X, names), columns=_feyn_inputs(len(names)))
    with np.errstate(all="ignore"):
        return np.asarray(model.predict(frame), dtype=float)


def _feyn_epoch(feyn, ql, models, data, functions, deadline, threads, last_call):
    """One epoch of ``QLattice.auto_run``'s loop, fitted a chunk at a time while time is left.

    A chunk starts only if it should end by ``deadline``, judged by the
    previous one (``last_call`` seconds; 0 before the run's first chunk, which
    always starts). Survivors there was no time to refit keep their last fit.
    Updates ``ql``.
    Returns (the pruned models, models fitted, whether the epoch finished,
    seconds of the last chunk).
    """
    sample = ql.sample_models(list(data.columns[:-1]), "y", FEYN_SETTINGS["kind"], None,
                              FEYN_SETTINGS["max_complexity"], None, functions)
    batch, size = [*models, *sample], _FEYN_CHUNK * threads
    fitted, n = [], 0
    while n < len(batch) and (not last_call or time.perf_counter() + last_call <= deadline):
        began = time.perf_counter()
        fitted += feyn.fit_models(batch[n:n + size], data,
                                  loss_function=FEYN_SETTINGS["loss_function"],
                                  criterion=FEYN_SETTINGS["criterion"], threads=threads)
        n = min(n + size, len(batch))
        last_call = time.perf_counter() - began
    if n == 0:
        return models, 0, False, last_call
    # fit_models sorts each chunk by the criterion; sort the whole epoch the same way.
    pool = sorted([*fitted, *batch[n:len(models)]],
                  key=lambda m: getattr(m, FEYN_SETTINGS["criterion"]))
    models = feyn.prune_models(pool)
    ql.update(models)
    return models, n, n == len(batch), last_call


def _fit_feyn(problem, names, X, y, time_budget, seed, n_jobs):
    import random

    import feyn

    deadline = time.perf_counter() + time_budget
    data = pd.DataFrame(X, columns=_feyn_inputs(len(names))).assign(y=y)
    functions, dropped = _feyn_function_names(problem)
    # feyn has no time limit: run auto_run's loop (priors, then sample, fit, prune,
    # update each epoch) until the budget is spent. QLattice(random_seed=...) also
    # seeds Python's and numpy's global generators; they are put back afterwards.
    saved = random.getstate(), np.random.get_state()
    try:
        ql = feyn.QLattice(random_seed=seed)
        ql.update_priors(feyn.tools.estimate_priors(data, "y"))
        models, epochs, fits, last_call, finished = [], 0, 0, 0.0, True
        while finished and (not last_call or time.perf_counter() + last_call <= deadline):
            models, n, finished, last_call = _feyn_epoch(feyn, ql, models, data, functions,
                                                         deadline, n_jobs, last_call)
            epochs, fits = epochs + finished, fits + n
        if not models:
            raise RuntimeError("feyn fitted no model with a finite loss")
        best = feyn.get_diverse_models(models)  # auto_run's answer: up to 10, best first
    finally:
        random.setstate(saved[0])
        np.random.set_state(saved[1])
    selected = _feyn_formula(best[0], names)
    front = [_feyn_formula(m, names) for m in best]
    info = {"settings": dict(FEYN_SETTINGS, function_names=functions, threads=n_jobs,
                             signif=_FEYN_SIGNIF),
            "dropped_operators": dropped, "epochs": epochs, "models_fitted": fits,
            "last_epoch_cut": not finished, "feyn_version": feyn.__version__,
            "source": "cavalab/srbench experiment/methods/qlattice/regressor.py"}
    return selected, front, functools.partial(_predict_feyn, best[0], names), fits, info


def _check_symbols(expr: sympy.Expr, variable_names: Sequence[str], text: str) -> None:
    unknown = sorted(str(s) for s in expr.free_symbols if str(s) not in set(variable_names))
    unknown += sorted(str(f.func) for f in expr.atoms(sympy.core.function.AppliedUndef))
    if unknown:
        raise ValueError(f"the model {text!r} uses unknown name(s) {unknown}; "
                         f"variables: {list(variable_names)}")
