"""The structure generator: ask a teacher network how the law splits, solve the pieces, recombine.

AI Feynman's recipe (Udrescu & Tegmark 2020) in the hybrid's terms:

1. a :class:`~hybridsr.neural.Teacher` learns the data (a small network
   polished by L-BFGS: the tests below need a relative error near 1e-3), or
   the user's network is taken as it is;
2. :func:`~hybridsr.guidance.structure.find_structures` asks it whether the
   law, or ``1/y``, ``exp(y)`` or ``y**2`` (:data:`~hybridsr.guidance.transforms.TRANSFORMS`), is
   additively or multiplicatively separable, or depends on a pair of
   variables only through their ratio (times a power of one of them),
   difference, product or sum; each structure found makes smaller problems
   (a :class:`Plan`), recursively, until one coordinate is left or nothing
   more splits;
3. the smallest problems (*leaves*, such as a function of ``v/c``) are solved
   by the sparse generator (:mod:`~hybridsr.guidance.sparse`) where it fits a
   leaf's real data exactly, else by short searches it seeds. A symmetry passes the real data down unchanged
   (in the new coordinates); of a split, the part of fewer coordinates is
   solved on points the teacher labels, and the other on the real data with
   that part divided out (``y / g`` or ``y - g``), so the hard part is fitted
   to the data, not to the network's approximation of it;
4. the pieces are put back together into whole formulas, which seed the main
   search; it refits their constants on the data.

A relativistic momentum ``m0*v/sqrt(1 - v**2/c**2)`` depends on ``(v, c)``
as ``v`` times a function of ``v/c``, and splits ``m0`` off; the
one-variable search on ``y/(m0*v)`` against ``v/c`` then finds
``1/sqrt(1 - u*u)`` in a second or two, where the whole three-variable
problem is a twelve-node needle for plain GP.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import sympy

from ..scaling import decade_scales
from .candidates import candidate_trees
from .structure import SEPARATIONS, Hypothesis, Support, View, find_structures
from .transforms import TRANSFORMS, usable_transforms

__all__ = ["Leaf", "Split", "Merge", "Plan", "StructureGenerator", "plan_structure"]

#: Rows the teacher is trained on.
_TEACHER_ROWS = 4000
#: Rows of the data kept as the views' points (tests draw pairs from them).
_VIEW_POINTS = 2000
#: Rows a leaf's search fits (real data when the leaf has them, else teacher-labelled points).
_LEAF_ROWS = 500
#: Formulas kept from each leaf's front, and from each combination.
_LEAF_FORMULAS = 5
_COMBINED_FORMULAS = 12
#: Views of at most this many coordinates are also searched whole, beside a split of them
#: that scores above :data:`_SURE`: a near-separable function (a 2% interaction) passes the
#: tests without being separable.
_ALSO_WHOLE = 2
_SURE = 0.05
#: A leaf's search on data stops at a mean squared error this far below the values' mean
#: square. On the 105 Feynman equations with up to 5 variables the leaves' exact sparse fits
#: reached 8e-30 at most, and the closest series 1.7e-22 (III.4.32's Bose-Einstein
#: occupation, written as powers and exponentials of h*omega/(kb*T)), which a looser 1e-20
#: took for the law, so that no search ran.
_EXACT_LOSS = 1e-26
#: Share of a leaf's time the sparse generator may take before its search.
_SPARSE_SHARE = 0.3

#: The target transforms planned (log(y), exp(-y) and 1/y**2 separate exactly where y, exp(y)
#: and 1/y do).
_TRANSFORMS = ("identity", "inverse", "exp", "square")


@dataclass
class Leaf:
    """A problem solved by a search of its own: the view's coordinates in, its values out."""

    view: View


@dataclass
class Split:
    """``F = g(x_A) + h(x_B)`` or ``g(x_A) * h(x_B)``.

    ``first`` is the part of fewer coordinates (of the two, the one whose
    values vary most: the teacher shows its shape most clearly); it is
    solved on teacher-labelled points, and where the real data reached this
    view, the other part is solved on the data with the first part taken out
    (``y - g`` or ``y / g``). Without real data both parts come from the
    teacher and meet as ``g + h - F(r)`` or ``g * h / F(r)``, ``r`` the point
    where the other coordinates were held.
    """

    hypothesis: Hypothesis
    view: View
    at_reference: float
    first: list
    second: list


@dataclass
class Merge:
    """``F`` depends on a pair of coordinates only through one combination of them."""

    hypothesis: Hypothesis
    view: View
    child: list


Plan = Leaf | Split | Merge


@dataclass(frozen=True)
class RealData:
    """Data rows that reached a view: original variables, the view's coordinates, targets."""

    X: np.ndarray
    Z: np.ndarray
    y: np.ndarray

    def down(self, view: View) -> "RealData":
        """The same rows in the coordinates of ``view`` (a part of a split: same values)."""
        return RealData(self.X, view.from_root(self.X), self.y)


def plan_structure(view: View, rng: np.random.Generator, *, binary_operators, accept: float,
                   beam: int = 1, depth: int = 4, structures: list | None = None) -> list[Plan]:
    """Alternative decompositions of ``view``, best first: up to ``beam``
    structures scoring at most ``accept`` (one per level below), and the whole
    view as a :class:`Leaf` when nothing splits, or when it is small and the
    best structure is not sure. ``structures``: the view's
    :func:`~hybridsr.guidance.structure.find_structures`, when already known."""
    if view.dimension == 1 or depth == 0:
        return [Leaf(view)]
    if structures is None:
        structures = find_structures(view, rng, binary_operators=binary_operators)
    found = [h for h in structures if h.score <= accept]
    whole = ([Leaf(view)] if not found or (view.dimension <= _ALSO_WHOLE and found[0].score > _SURE)
             else [])
    plans = []
    for hypothesis in found[:beam]:
        def deeper(child):
            return plan_structure(child, rng, binary_operators=binary_operators, accept=accept,
                                  depth=depth - 1)

        if hypothesis.kind in SEPARATIONS:
            one = tuple(hypothesis.indices)
            other = tuple(k for k in range(view.dimension) if k not in one)
            reference = view.reference()
            parts = [view.separated(one, reference), view.separated(other, reference)]
            if (parts[1].dimension, -_spread_of(parts[1], hypothesis.kind)) < \
                    (parts[0].dimension, -_spread_of(parts[0], hypothesis.kind)):
                parts.reverse()
            plans.append(Split(hypothesis, view, float(view(reference[None, :])[0]),
                               deeper(parts[0]), deeper(parts[1])))
        else:
            plans.append(Merge(hypothesis, view, deeper(view.combined(
                hypothesis.kind, *hypothesis.indices, degree=hypothesis.degree))))
    return plans + whole


def _spread_of(view: View, kind: str) -> float:
    """How much ``view`` varies (of ``log|F|`` for a product), 0 when unknown."""
    values = view(view.points)
    values = values[np.isfinite(values)]
    if kind == "multiplicative":
        values = np.log(np.abs(values[values != 0]))
    return float(np.std(values)) if len(values) > 1 else 0.0


def count_leaves(plans: list[Plan]) -> float:
    """The leaves of ``plans`` weighted by the search time they need (doubling per coordinate)."""
    total = 0.0
    for plan in plans:
        if isinstance(plan, Leaf):
            total += 2.0 ** (plan.view.dimension - 1)
        elif isinstance(plan, Split):
            total += count_leaves(plan.first) + count_leaves(plan.second)
        else:
            total += count_leaves(plan.child)
    return total


def largest_leaf(plans: list[Plan]) -> int:
    """The most coordinates any leaf of ``plans`` has."""
    sizes = [0]
    for plan in plans:
        if isinstance(plan, Leaf):
            sizes.append(plan.view.dimension)
        elif isinstance(plan, Split):
            sizes += [largest_leaf(plan.first), largest_leaf(plan.second)]
        else:
            sizes.append(largest_leaf(plan.child))
    return max(sizes)


def describe(plan: Plan) -> str:
    """The plan in words, e.g. ``[leaf(m_0) * ratio(v, c) -> leaf(v/c)]``."""
    if isinstance(plan, Leaf):
        return "leaf(" + ", ".join(str(s) for s in plan.view.symbols) + ")"

    def options(plans):
        text = " | ".join(describe(p) for p in plans)
        return f"{{{text}}}" if len(plans) > 1 else text

    if isinstance(plan, Split):
        operator = "+" if plan.hypothesis.kind == "additive" else "*"
        return f"[{options(plan.first)} {operator} {options(plan.second)}]"
    i, j = plan.hypothesis.indices
    pair = f"{plan.view.symbols[i]}, {plan.view.symbols[j]}"
    degree = f", degree {plan.hypothesis.degree:g}" if plan.hypothesis.degree else ""
    return f"{plan.hypothesis.kind}({pair}{degree}) -> {options(plan.child)}"


@dataclass
class StructureGenerator:
    """Propose formulas assembled from the pieces a teacher's structure splits the law into.

    Parameters
    ----------
    teacher_share : float, default 0.4
        Share of the time spent training the teacher (none with a user's network).
    accept : float, default 0.15
        A structure whose test scores at most this is explored (0: exact;
        about 1: absent); false ones cost only time, since every proposal is
        refitted and judged on the data by the search.
    beam : int, default 1
        Alternative decompositions explored at the top level.
    max_depth : int, default 4
        Levels of decomposition at most.
    """

    name: str = "structure"
    teacher_share: float = 0.4
    accept: float = 0.15
    beam: int = 1
    max_depth: int = 4
    #: What the last call found (the teacher's report, the plans, the proposals).
    last_report: dict = field(default_factory=dict, repr=False, compare=False)

    def prepare(self) -> None:
        """Import torch and load its optimizers (seconds, once per process)."""
        from ..neural import load_optimizers

        load_optimizers()

    def propose(self, task) -> list[sympy.Expr]:
        start = time.monotonic()
        from ..neural import Teacher

        rng = np.random.default_rng(task.seed)
        X = np.asarray(task.X, dtype=float)
        y = np.asarray(task.y, dtype=float)
        if X.shape[1] < 2:
            raise ValueError("one variable has no structure to split; the search handles it alone")
        if task.teacher is not None:
            teacher = Teacher.from_module(task.teacher, X, y)
        else:
            # Structure tests need a precise fit more than a large one: a small network
            # polished by L-BFGS on a few thousand rows reaches a relative error near 1e-3
            # where Adam alone stays near 1e-2 in the same time.
            seconds = self.teacher_share * task.time_limit
            rows = rng.choice(len(X), min(len(X), _TEACHER_ROWS), replace=False)
            teacher = Teacher.fit(X[rows], y[rows], hidden=(32, 32), time_limit=seconds / 3,
                                  polish_seconds=2 * seconds / 3, random_state=task.seed)
        support = Support(X, rng=rng)

        def root(points):
            out = np.full(len(points), np.nan)
            inside = support.contains(points)
            if inside.any():
                out[inside] = teacher.predict(points[inside])
            return out

        symbols = tuple(sympy.Symbol(name) for name in task.variable_names)
        rows = np.sort(rng.choice(len(X), min(len(X), _VIEW_POINTS), replace=False))
        transform, plans = _best_transform(root, X[rows], symbols, y, task, rng, accept=self.accept,
                                           beam=self.beam, depth=self.max_depth)
        self.last_report = {"teacher": teacher.report, "transform": transform.name,
                            "plans": [describe(p) for p in plans]}
        if not plans:
            raise ValueError("the teacher shows no separability or pair symmetry")
        solver = _Solver(task, deadline=start + task.time_limit, weight=count_leaves(plans))
        with np.errstate(all="ignore"):
            target = transform.forward(y)
        usable = np.isfinite(target)
        formulas = [transform.inverse(f) for f in
                    solver.union(plans, RealData(X[usable], X[usable], target[usable]))]
        self.last_report["formulas"] = [str(f) for f in formulas]
        return formulas


# Between transforms whose plans split the law into leaves of the same size, another is
# taken over the identity only when its best structure scores this much lower.
_IDENTITY_PREFERENCE = 2.0


def _best_transform(root, points: np.ndarray, symbols: tuple, y: np.ndarray, task,
                    rng: np.random.Generator, *, accept: float, beam: int, depth: int):
    """The transform whose law splits into the smallest leaves, and its plans (no bare leaf).

    ``m*sqrt(a**2 + b**2)`` splits into ``m`` and a two-variable leaf, while its
    square splits all the way down to one-variable leaves: the plan whose
    largest leaf is smallest wins (a search's difficulty grows steeply with
    its coordinates), then the one with less leaf work (:func:`count_leaves`),
    then the clearer structure (lower score, the identity preferred).
    """
    tested = []
    for transform in usable_transforms(y, (*task.binary_operators, *task.unary_operators),
                                        _TRANSFORMS):

        def function(P, forward=transform.forward):
            with np.errstate(all="ignore"):
                return forward(root(P))

        view = View.of_function(function, points, symbols)
        found = [h for h in find_structures(view, rng, binary_operators=task.binary_operators)
                 if h.score <= accept]
        if found:
            preference = 1.0 if transform.name == "identity" else _IDENTITY_PREFERENCE
            tested.append((found[0].score * preference, transform, view, found))
    if not tested:
        return TRANSFORMS[0], []
    # Smaller leaves count only between structures that are sure (or as clear as the clearest);
    # only those are planned (planning recurses through the tests, seconds on five variables).
    clear = max(_SURE, min(score for score, *_ in tested))
    options = []
    for score, transform, view, found in tested:
        if score > clear:
            continue
        plans = [p for p in plan_structure(view, rng, binary_operators=task.binary_operators,
                                           accept=accept, beam=beam, depth=depth, structures=found)
                 if not isinstance(p, Leaf)]
        if plans:
            options.append((largest_leaf(plans), count_leaves(plans), score, transform, plans))
    if not options:
        return TRANSFORMS[0], []
    *_, transform, plans = min(options, key=lambda o: o[:3])
    return transform, plans


class _Solver:
    """Solves plans depth first, each leaf by a short search on its share of the time left."""

    def __init__(self, task, deadline: float, weight: float):
        self.task, self.deadline, self.weight_left = task, deadline, weight
        self.searches = 0
        # Alternatives meet the same leaf on the same values (a split found in either order).
        self.solved: dict = {}

    def union(self, plans: list[Plan], data: RealData | None) -> list[sympy.Expr]:
        found: dict[sympy.Expr, None] = {}
        for plan in plans:
            found.update(dict.fromkeys(self.solve(plan, data)))
        return list(found)

    def solve(self, plan: Plan, data: RealData | None) -> list[sympy.Expr]:
        if isinstance(plan, Leaf):
            return self.leaf(plan.view, data)
        if isinstance(plan, Merge):
            return self.merge(plan, data)
        return self.split(plan, data)

    def merge(self, plan: Merge, data: RealData | None) -> list[sympy.Expr]:
        child = plan.child[0].view
        if data is not None:
            # The child's values are the parent's times the power divided out.
            with np.errstate(all="ignore"):
                ratio = child.factor_at(data.X) / plan.view.factor_at(data.X)
            data = RealData(data.X, child.from_root(data.X), data.y * ratio)
        power = child.factor / plan.view.factor
        return [f / power for f in self.union(plan.child, data)]

    def split(self, plan: Split, data: RealData | None) -> list[sympy.Expr]:
        additive = plan.hypothesis.kind == "additive"
        firsts = self.union(plan.first, None)
        if not firsts:
            self._skip(plan.second)
            return []
        if data is None:
            seconds = self.union(plan.second, None)
            c = sympy.Float(plan.at_reference)
            if not seconds or (not additive and not (plan.at_reference != 0
                                                     and math.isfinite(plan.at_reference))):
                return []
            combined = [g + h - c if additive else g * h / c for g in firsts for h in seconds]
            return _best(combined, plan.view)
        g = firsts[0]
        # The first part was fitted to F(x_A, r_B) = g(x_A) (+ or *) h(r_B); taking it out of
        # the data and putting F(r) back leaves F(r_A, x_B), the second view's own values, so
        # that a split further down meets teacher-labelled parts on the same scale (without
        # F(r), y / g is h(x_B) / h(r_B), and a nested split's parts disagree by F(r)).
        c = plan.at_reference
        if not math.isfinite(c) or (c == 0 and not additive):
            c = 0.0 if additive else 1.0  # the teacher gave no usable F(r): scale left as it is
        with np.errstate(all="ignore"):
            known = _evaluate(g, plan.view.variables, data.X)
            rest = data.y - known + c if additive else data.y / known * c
        keep = np.isfinite(rest) & (additive or np.abs(known) > 1e-12 * np.max(np.abs(known)))
        remainder = RealData(data.X[keep], data.Z[keep], rest[keep])
        seconds = self.union(plan.second, remainder.down(plan.second[0].view)) if keep.sum() >= 5 else []
        c = sympy.Float(c)
        return [g + h - c if additive else g * h / c for h in seconds]

    def _skip(self, plans: list[Plan]) -> None:
        self.weight_left -= count_leaves(plans)

    def leaf(self, view: View, data: RealData | None) -> list[sympy.Expr]:
        weight = 2.0 ** (view.dimension - 1)
        key = (tuple(map(str, view.symbols)), None if data is None else data.y.tobytes())
        if key in self.solved:
            self.weight_left -= weight
            return self.solved[key]
        seconds = (self.deadline - time.monotonic()) * weight / max(self.weight_left, weight)
        self.weight_left -= weight
        if seconds <= 0.05:
            return []
        self.searches += 1
        seed = self.task.seed + self.searches
        rng = np.random.default_rng(seed)
        if data is not None:
            Z, values = data.Z, data.y
        else:
            Z = view.points
            values = view(Z)
        keep = np.all(np.isfinite(Z), axis=1) & np.isfinite(values)
        Z, values = Z[keep], values[keep]
        if len(Z) > _LEAF_ROWS:
            rows = np.sort(rng.choice(len(Z), _LEAF_ROWS, replace=False))
            Z, values = Z[rows], values[rows]
        formulas = [] if len(Z) < 5 else _search_leaf(Z, values, view.symbols, self.task, seconds,
                                                      seed, stop_when_exact=data is not None)
        self.solved[key] = formulas
        return formulas


def _evaluate(formula: sympy.Expr, variables, X: np.ndarray) -> np.ndarray:
    function = sympy.lambdify(variables, formula, "numpy")
    with np.errstate(all="ignore"):
        return np.broadcast_to(np.asarray(function(*X.T), dtype=float), (len(X),)).copy()


def _search_leaf(Z: np.ndarray, values: np.ndarray, symbols, task, seconds: float,
                 seed: int, stop_when_exact: bool = False) -> list[sympy.Expr]:
    """A search of ``values`` on ``Z``, seeded by the sparse generator's fits; its best
    formulas, in the original variables. Where the best fit reproduces real data (not the
    teacher's) to rounding error, it is the answer and no search runs.

    With ``stop_when_exact`` (values from the data, not the teacher) it ends
    as soon as a formula fits them to rounding error, leaving the rest of
    its time to the leaves after it.

    Coordinates and values far from unit size (a ratio of frequency to
    temperature near 1e12) are searched divided by a power of ten, which
    the formulas undo: the search's constants start near 1, where
    ``exp(c * z)`` of such a coordinate would overflow before a fit could
    shrink ``c``.
    """
    from ..config import SearchConfig
    from ..engine.search import run_search
    from ..evaluate.evaluator import Dataset
    from ..expr import tree_to_sympy
    from ..expr.sympy_convert import variable_symbols
    from ..expr.tree import Language
    from ..export import pareto_scores
    from ..operators import OperatorSet

    operator_set = task.operator_set or OperatorSet.from_spec(task.binary_operators,
                                                              task.unary_operators)
    language = Language(operator_set, len(symbols), tuple(f"z{k}" for k in range(len(symbols))))
    z_scale, y_scale = decade_scales(Z, within=1), float(decade_scales(values[:, None], within=1)[0])
    zs = variable_symbols(language)
    scaled_Z, scaled_values = Z / z_scale, values / y_scale
    started = time.monotonic()
    sparse = _sparse_leaf(scaled_Z, scaled_values, zs, task, _SPARSE_SHARE * seconds, seed)
    if stop_when_exact and sparse and _fits_exactly(sparse[0], zs, scaled_Z, scaled_values):
        found = [sparse[0]]  # the real data's own law: no search needed
    else:
        exact = _EXACT_LOSS * float(np.mean(scaled_values ** 2)) if stop_when_exact else None
        config = SearchConfig(populations=6, population_size=30, ncycles_per_iteration=150,
                              niterations=10 ** 6,
                              timeout_in_seconds=max(seconds - (time.monotonic() - started), 0.05),
                              early_stop_condition=exact)
        initial, donors = candidate_trees(sparse, language, config.maxsize,
                                          n_initial=config.population_size)
        result = run_search(Dataset.from_arrays(scaled_Z, scaled_values), language, config,
                            random_state=seed, initial_trees=initial, donor_trees=donors)
        front = sorted(result.hall_of_fame, key=lambda m: m.complexity)
        if not front:
            return []
        scores = pareto_scores([m.loss for m in front], [m.complexity for m in front])
        # The knee of the front first: where the loss falls most per node.
        order = sorted(range(len(front)), key=lambda k: -scores[k])
        picked = order[:_LEAF_FORMULAS - 1] + [k for k in [len(front) - 1]
                                               if k not in order[:_LEAF_FORMULAS - 1]]
        found = [tree_to_sympy(front[k].tree, language) for k in picked]
    substitution = {z: symbol / sympy.Float(scale) for z, symbol, scale in zip(zs, symbols, z_scale)}
    return [sympy.Float(y_scale) * formula.xreplace(substitution) for formula in found]


def _sparse_leaf(Z: np.ndarray, values: np.ndarray, zs, task, seconds: float,
                 seed: int) -> list[sympy.Expr]:
    """The sparse generator's proposals for a leaf (in ``zs``), or none where its operators
    write no linear combination."""
    from .generators import GuidanceTask
    from .sparse import SparseGenerator

    leaf_task = GuidanceTask(Z, values, tuple(map(str, zs)), tuple(task.unary_operators),
                             tuple(task.binary_operators), seconds, seed,
                             operator_set=task.operator_set)
    try:
        formulas = SparseGenerator(max_proposals=_LEAF_FORMULAS).propose(leaf_task)
    except ValueError:
        return []
    # The generator writes plain symbols of the names; the leaf's language has its own.
    named = {sympy.Symbol(str(z)): z for z in zs}
    return [formula.xreplace(named) for formula in formulas]


def _fits_exactly(formula: sympy.Expr, zs, Z: np.ndarray, values: np.ndarray) -> bool:
    prediction = _evaluate(formula, zs, Z)
    error = float(np.mean((prediction - values) ** 2))
    return math.isfinite(error) and error <= _EXACT_LOSS * float(np.mean(values ** 2))


def _best(formulas: list[sympy.Expr], view: View) -> list[sympy.Expr]:
    """The formulas closest to ``view`` on its points, at most :data:`_COMBINED_FORMULAS`."""
    if len(formulas) <= _COMBINED_FORMULAS:
        return formulas
    X = view.lift(view.points)
    target = view(view.points)
    keep = np.all(np.isfinite(X), axis=1) & np.isfinite(target)
    columns, target = list(X[keep].T), target[keep]
    errors = []
    for formula in formulas:
        error = math.inf
        try:
            function = sympy.lambdify(view.variables, formula, "numpy")
            with np.errstate(all="ignore"):
                prediction = np.broadcast_to(function(*columns), target.shape)
            error = float(np.sqrt(np.mean((prediction - target) ** 2)))
        except Exception:  # noqa: BLE001 - a formula numpy cannot evaluate is ranked last
            pass
        errors.append(error if math.isfinite(error) else math.inf)
    order = np.argsort(errors, kind="stable")[:_COMBINED_FORMULAS]
    return [formulas[k] for k in order]
