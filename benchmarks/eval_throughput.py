"""Evaluation throughput on one core: our numba kernels against DEAP and pyoperon.

Random trees of 5 to 40 nodes are evaluated over 1,000 and 10,000 rows of
five inputs drawn uniformly from [0.5, 2]. For each operator mix the script
prints node*rows per second for

* ours, batch: one ``Evaluator.losses`` kernel call for all programs (MSE);
* ours, single: one ``Evaluator.loss`` call per program;
* ours, +compile: ``compile_tree`` and ``ProgramBatch`` included, then one batch call;
* DEAP: ``gp.compile`` per tree (compile included), numpy on the columns, MSE;
* pyoperon: ``EvaluateTrees`` on one thread (predictions only, float32; parsing
  excluded), when pyoperon is installed;

with the ratios and the targets of the issue tracker, all measured in one run.
node*rows counts every node of every tree once per row, valid or not; our
kernels stop a tree at its first non-finite node while DEAP and pyoperon
evaluate invalid trees to the end, so the same figures are also given for the
valid trees alone. It then prints where our time goes (per-call, compile
and per-node overheads; nanoseconds per row of each operator against numpy
and pyoperon) and constant fits per second for a 5-constant expression over
1,000 rows, with Levenberg-Marquardt and BFGS.

Usage::

    python benchmarks/eval_throughput.py [--quick] [--json PATH]
"""

from __future__ import annotations

import os

# One core: thread pools are sized when numpy and numba are first imported.
for _name in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
              "OPENBLAS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_name] = "1"
if hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

import argparse  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from dataclasses import asdict, dataclass, field  # noqa: E402
from importlib import metadata  # noqa: E402

import numpy as np  # noqa: E402
from deap import gp  # noqa: E402

from hybridsr.constants import fit_constants  # noqa: E402
from hybridsr.evaluate.evaluator import Dataset, Evaluator, ProgramBatch  # noqa: E402
from hybridsr.expr.random_trees import random_trees  # noqa: E402
from hybridsr.expr.tree import Constant, Individual, Language, compile_tree  # noqa: E402
from hybridsr.operators import OperatorSet  # noqa: E402

N_FEATURES = 5
X_RANGE = (0.5, 2.0)
ROW_COUNTS = (1_000, 10_000)
SIZE_RANGE = (5, 40)
#: Rows of the batch call whose time per node is taken as the kernel's per-node overhead.
FEW_ROWS = 16
#: Rows of the constant-fit measurement: a large sample, and EmpiricalBench's size.
FIT_ROWS = (1_000, 30)

#: Operator mixes: name -> (binary, unary).
MIXES = {
    "arithmetic": (("+", "-", "*", "/"), ()),
    "trig-exp": (("+", "-", "*", "/"), ("sin", "cos", "exp")),
    "mixed": (("+", "-", "*", "/"), ("sin", "cos", "exp", "log", "sqrt")),
}

#: Targets from the issue tracker, checked on all trees.
TARGET_RATE_1K = 1.5e9
TARGET_VS_DEAP = {1_000: 10.0, 10_000: 3.0}


@dataclass(frozen=True)
class Settings:
    n_trees: int
    repeats: int
    n_fits: int
    seed: int


QUICK = Settings(n_trees=200, repeats=3, n_fits=30, seed=0)
DEFAULT = Settings(n_trees=500, repeats=5, n_fits=100, seed=0)


# -- timing ------------------------------------------------------------------------------

@dataclass
class Timing:
    """Best and median wall time of repeated calls, and the throughput of the best."""

    best_s: float
    median_s: float
    rate: float  # work units per second at best_s


def timed(function, work: float, repeats: int) -> Timing:
    """Time ``function()`` ``repeats`` times after one warm-up call, garbage collector off."""
    function()
    times = []
    gc.collect()
    gc.disable()
    try:
        for _ in range(repeats):
            start = time.perf_counter()
            function()
            times.append(time.perf_counter() - start)
    finally:
        gc.enable()
    best = min(times)
    return Timing(best, statistics.median(times), work / best)


# -- the paths compared ------------------------------------------------------------------

def deap_losses(trees, pset, columns, y) -> np.ndarray:
    """DEAP's way: ``gp.compile`` each tree, run it with numpy on the columns, take the MSE."""
    out = np.empty(len(trees))
    with np.errstate(all="ignore"):
        for i, tree in enumerate(trees):
            function = gp.compile(tree, pset)
            r = function(*columns) - y
            out[i] = np.mean(r * r)
    return out


_OPERON_INFIX = {"add": "+", "sub": "-", "mul": "*", "div": "/"}
_OPERON_FUNCTIONS = frozenset({"sin", "cos", "exp", "log", "sqrt", "tanh"})


def operon_infix(tree) -> str:
    """A tree as an infix string pyoperon 0.6.2 parses: spaced operators, names X1..Xn.

    The 0.6.2 parser needs spaces around binary operators (``X1+X2`` crashes it).
    """
    text, end = _operon_infix(tree, 0)
    assert end == len(tree)
    return text


def _operon_infix(tree, pos):
    node = tree[pos]
    if node.arity == 0:
        if type(node) is Constant:
            value = repr(float(node.value))
            return (f"({value})" if node.value < 0 else value), pos + 1
        return f"X{int(node.name[1:]) + 1}", pos + 1
    if node.name in _OPERON_INFIX:
        a, pos = _operon_infix(tree, pos + 1)
        b, pos = _operon_infix(tree, pos)
        return f"({a} {_OPERON_INFIX[node.name]} {b})", pos
    if node.name in _OPERON_FUNCTIONS and node.arity == 1:
        a, pos = _operon_infix(tree, pos + 1)
        return f"{node.name}({a})", pos
    raise KeyError(node.name)


class OperonPath:
    """pyoperon's batch interpreter over the same data and trees (parsing done up front)."""

    def __init__(self, operon, X: np.ndarray, y: np.ndarray, trees):
        self.operon = operon
        self.dataset = operon.Dataset(np.asfortranarray(np.column_stack([X, y])))
        names = {v.Name: v.Hash for v in self.dataset.Variables}
        self.trees = [operon.InfixParser.Parse(operon_infix(t), names) for t in trees]
        self.node_mismatches = sum(ot.Length != len(t) for ot, t in zip(self.trees, trees))
        self.range = operon.Range(0, X.shape[0])
        self.result = np.empty(len(self.trees) * X.shape[0], dtype=np.float32)

    def __call__(self):
        self.operon.EvaluateTrees(self.trees, self.dataset, self.range, self.result, 1)
        return self.result

    def predictions(self) -> np.ndarray:
        return self().reshape(len(self.trees), -1)


def load_pyoperon():
    try:
        import pyoperon
    except ImportError as exc:
        return None, f"not installed ({exc})"
    return pyoperon, metadata.version("pyoperon")


# -- the throughput table ------------------------------------------------------------------

@dataclass
class Row:
    mix: str
    rows: int
    subset: str  # "all" or "valid"
    n_trees: int
    mean_size: float
    valid_fraction: float  # of all trees, by our kernel
    node_rows: int
    timings: dict = field(default_factory=dict)  # path -> Timing
    notes: list = field(default_factory=list)

    def rate(self, path):
        timing = self.timings.get(path)
        return None if timing is None else timing.rate

    def ratio(self, path, other):
        a, b = self.rate(path), self.rate(other)
        return None if a is None or b is None else a / b


def make_data(rng, n_rows):
    X = rng.uniform(*X_RANGE, size=(n_rows, N_FEATURES))
    y = 2.5 * X[:, 0] * np.cos(X[:, 1]) + X[:, 2] ** 2 - X[:, 3] / X[:, 4]
    return X, y


def measure_mix(mix, spec, X_all, y_all, settings, operon, log):
    """The throughput rows of one operator mix (both row counts, all and valid trees)."""
    operator_set = OperatorSet.from_spec(*spec)
    language = Language(operator_set, N_FEATURES)
    rng = np.random.default_rng([settings.seed, list(MIXES).index(mix)])
    sizes = rng.integers(SIZE_RANGE[0], SIZE_RANGE[1] + 1, settings.n_trees)
    trees = random_trees(language, sizes, rng)
    programs = [compile_tree(t, language) for t in trees]

    start = time.perf_counter()
    evaluator = Evaluator(operator_set)
    evaluator.losses(programs[:2], Dataset.from_arrays(X_all[:10], y_all[:10]))
    evaluator.loss(programs[0], Dataset.from_arrays(X_all[:10], y_all[:10]))
    log(f"  {mix}: kernels loaded in {time.perf_counter() - start:.1f} s (excluded)")
    start = time.perf_counter()

    operon_ok = operon is not None and all(
        n.arity == 0 or n.name in _OPERON_INFIX or n.name in _OPERON_FUNCTIONS
        for t in trees for n in t)

    rows = []
    for n_rows in ROW_COUNTS:
        X, y = X_all[:n_rows], y_all[:n_rows]
        data = Dataset.from_arrays(X, y)
        columns = tuple(data.Xt)
        ours = evaluator.losses(ProgramBatch(programs), data)
        valid = np.isfinite(ours)
        subsets = {"all": np.arange(len(trees)), "valid": np.flatnonzero(valid)}
        for subset, index in subsets.items():
            if not len(index):
                continue
            sub_trees = [trees[i] for i in index]
            sub_programs = [programs[i] for i in index]
            batch = ProgramBatch(sub_programs)
            node_rows = sum(len(t) for t in sub_trees) * n_rows
            row = Row(mix, n_rows, subset, len(index), float(np.mean([len(t) for t in sub_trees])),
                      float(valid.mean()), node_rows)

            def ours_batch(batch=batch):
                return evaluator.losses(batch, data)

            def ours_single(sub_programs=sub_programs):
                return [evaluator.loss(p, data) for p in sub_programs]

            def ours_compiled(sub_trees=sub_trees):
                return evaluator.losses(ProgramBatch([compile_tree(t, language) for t in sub_trees]), data)

            def deap(sub_trees=sub_trees):
                return deap_losses(sub_trees, language.pset, columns, data.y)

            paths = {"ours_batch": ours_batch, "ours_single": ours_single,
                     "ours_compiled": ours_compiled, "deap": deap}
            if operon_ok:
                operon_path = OperonPath(operon, X, y, sub_trees)
                if operon_path.node_mismatches:
                    row.notes.append(f"pyoperon node counts differ on {operon_path.node_mismatches} trees")
                paths["pyoperon"] = operon_path
            for name, function in paths.items():
                row.timings[name] = timed(function, node_rows, settings.repeats)

            if subset == "valid":
                row.notes.extend(cross_check(evaluator, sub_programs, data, deap(),
                                             paths.get("pyoperon")))
            rows.append(row)
        if n_rows == ROW_COUNTS[0]:
            fixed = fixed_node_cost(evaluator, [programs[i] for i in subsets["valid"]], X, y, settings)
    log(f"  {mix}: measured in {time.perf_counter() - start:.0f} s")
    return rows, fixed


def fixed_node_cost(evaluator, programs, X, y, settings, n_rows=FEW_ROWS):
    """Seconds per node of a batch call on very few rows: the kernel's per-node overhead."""
    if not programs:
        return float("nan")
    data = Dataset.from_arrays(X[:n_rows], y[:n_rows])
    batch = ProgramBatch(programs)
    nodes = sum(len(p) for p in programs)
    return timed(lambda: evaluator.losses(batch, data), nodes, settings.repeats).best_s / nodes


def cross_check(evaluator, programs, data, deap_values, operon_path):
    """Notes when DEAP's losses or pyoperon's predictions disagree with ours on valid trees."""
    notes = []
    n = len(programs)
    ours = evaluator.losses(programs, data)
    close = np.count_nonzero(np.isclose(ours, deap_values, rtol=1e-6, atol=1e-9))
    if close < n:
        notes.append(f"DEAP's loss agrees with ours to 1e-6 on {close} of {n} valid trees "
                     f"(the rest: huge intermediates, rounding-sensitive)")
    if operon_path is not None:
        reference = evaluator.predict_many(programs, data)
        theirs = operon_path.predictions().astype(np.float64)
        with np.errstate(all="ignore"):
            scale = np.maximum(np.abs(reference).max(axis=1, keepdims=True), 1.0)
            error = np.nan_to_num(np.abs(theirs - reference) / scale, nan=np.inf).max(axis=1)
        close = np.count_nonzero(error < 1e-3)
        if close < n:
            notes.append(f"pyoperon's float32 predictions agree with ours to 1e-3 on {close} of {n} "
                         f"valid trees (the rest: float32 overflow or ill-conditioning)")
    return notes


# -- where the time goes -------------------------------------------------------------------

def overheads(settings, X_all, y_all):
    """Fixed costs at 1,000 rows: per call, per tree compiled, per node."""
    operator_set = OperatorSet.from_spec(*MIXES["arithmetic"])
    language = Language(operator_set, N_FEATURES)
    evaluator = Evaluator(operator_set)
    data = Dataset.from_arrays(X_all[:1_000], y_all[:1_000])
    rng = np.random.default_rng([settings.seed, 99])
    trees = random_trees(language, rng.integers(SIZE_RANGE[0], SIZE_RANGE[1] + 1, settings.n_trees), rng)
    programs = [compile_tree(t, language) for t in trees]
    leaf = compile_tree(Individual([language.variable(0)]), language)
    k = 2_000
    leaves = [leaf] * k
    batch = ProgramBatch(leaves)
    r = settings.repeats
    return {
        "loss_call_us": timed(lambda: [evaluator.loss(leaf, data) for _ in range(k)], k, r).best_s / k * 1e6,
        "batch_per_program_us": timed(lambda: evaluator.losses(batch, data), k, r).best_s / k * 1e6,
        "compile_tree_us": timed(lambda: [compile_tree(t, language) for t in trees], 1, r).best_s
        / len(trees) * 1e6,
        "program_batch_us": timed(lambda: ProgramBatch(programs), 1, r).best_s / len(trees) * 1e6,
        "gp_compile_us": timed(lambda: [gp.compile(t, language.pset) for t in trees], 1, r).best_s
        / len(trees) * 1e6,
    }


def operator_costs(settings, X_all, y_all, operon, n_rows=10_000, copies=100):
    """Nanoseconds per row of each operator of the mixed set: ours, numpy, pyoperon.

    Ours: a batch of ``op(x0)`` (or ``x0 op x1``) programs less a batch of ``x0``
    programs (the loss pass); in place: ``op(op(x0))`` less ``op(x0)`` (or
    ``x0 op (x0 op x1)`` less ``x0 op x1``), where the outer operator overwrites
    its argument's row; pyoperon: as ours with ``EvaluateTrees``.
    """
    operator_set = OperatorSet.from_spec(*MIXES["mixed"])
    language = Language(operator_set, N_FEATURES)
    evaluator = Evaluator(operator_set)
    X, y = X_all[:n_rows], y_all[:n_rows]
    data = Dataset.from_arrays(X, y)
    x0, x1 = language.variable(0), language.variable(1)
    work = copies * n_rows
    r = max(settings.repeats, 9)  # cheap, and single operators are noisy

    def ours(tree):
        batch = ProgramBatch([compile_tree(Individual(tree), language)] * copies)
        return timed(lambda: evaluator.losses(batch, data), work, r).best_s

    def theirs(tree):
        path = OperonPath(operon, X, y, [Individual(tree)] * copies)
        return timed(path, work, r).best_s

    ours_leaf = ours([x0])
    operon_leaf = theirs([x0]) if operon is not None else None
    columns = data.Xt
    costs = {}
    for op in operator_set.operators:
        prim = language.primitive(op.name)
        tree = [prim, x0] if op.arity == 1 else [prim, x0, x1]
        nested = [prim, *tree] if op.arity == 1 else [prim, x0, *tree]
        function = language.pset.context[prim.name]
        args = tuple(columns[:op.arity])
        with np.errstate(all="ignore"):
            numpy_s = timed(lambda: [function(*args) for _ in range(copies)], work, r).best_s
        single = ours(tree)
        costs[op.name] = {
            "ours_ns": (single - ours_leaf) / work * 1e9,
            "ours_inplace_ns": (ours(nested) - single) / work * 1e9,
            "numpy_ns": numpy_s / work * 1e9,
            "pyoperon_ns": None if operon is None else (theirs(tree) - operon_leaf) / work * 1e9,
        }
    return costs


# -- constant fits ---------------------------------------------------------------------------

def constant_fits(settings, log):
    """Fits per second of c0*sin(c1*x0) + c2*exp(c3*x1) + c4 over 1,000 and over 30 rows
    (the size of EmpiricalBench's samples, where the solver's own overhead counts)."""
    results = []
    for n_rows in FIT_ROWS:
        results += _constant_fits(settings, n_rows)
    log(f"  constant fits done ({settings.n_fits} fits per setting)")
    return results


def _constant_fits(settings, n_rows):
    operator_set = OperatorSet.from_spec(*MIXES["mixed"])
    language = Language(operator_set, N_FEATURES)
    evaluator = Evaluator(operator_set)
    add, mul, sin, exp = (language.primitive(n) for n in ("+", "*", "sin", "exp"))
    x0, x1 = language.variable(0), language.variable(1)

    def expression(c):
        return Individual([add, add, mul, Constant(c[0]), sin, mul, Constant(c[1]), x0,
                           mul, Constant(c[2]), exp, mul, Constant(c[3]), x1, Constant(c[4])])

    truth = np.array([1.5, 2.0, -0.7, 0.8, 0.3])
    rng = np.random.default_rng([settings.seed, 7])
    X = rng.uniform(*X_RANGE, size=(n_rows, N_FEATURES))
    noise = 0.01
    y = evaluator.predict(compile_tree(expression(truth), language), Dataset.from_arrays(X))
    data = Dataset.from_arrays(X, y + noise * rng.standard_normal(len(y)))
    # Starting points within a factor of about 1.6 of the truth, as after a mutation.
    starts = [compile_tree(expression(truth * np.exp(0.5 * rng.standard_normal(5))), language)
              for _ in range(settings.n_fits)]
    fit_constants(starts[0], evaluator, data, rng=rng, algorithm="lm", n_restarts=0)  # warm-up
    fit_constants(starts[0], evaluator, data, rng=rng, algorithm="bfgs", n_restarts=0)

    results = []
    for algorithm in ("lm", "bfgs"):
        for n_restarts in (0, 2):
            fit_rng = np.random.default_rng([settings.seed, 8])
            gc.collect()
            start = time.perf_counter()
            fits = [fit_constants(p, evaluator, data, rng=fit_rng, algorithm=algorithm,
                                  n_restarts=n_restarts) for p in starts]
            elapsed = time.perf_counter() - start
            evals = sum(f.n_evals for f in fits)
            results.append({
                "rows": n_rows, "algorithm": algorithm, "n_restarts": n_restarts, "n_fits": len(fits),
                "fits_per_s": len(fits) / elapsed, "ms_per_fit": elapsed / len(fits) * 1e3,
                "evals_per_fit": evals / len(fits), "evals_per_s": evals / elapsed,
                "recovered": float(np.mean([f.loss < 2 * noise**2 for f in fits])),
            })
    return results


# -- printing --------------------------------------------------------------------------------

def _g(value):
    return "-" if value is None else f"{value / 1e9:.3f}"


def _x(value):
    return "-" if value is None else f"{value:.1f}x"


def print_table(rows, subset, title):
    print(f"\n{title}")
    header = (f"{'mix':<11} {'rows':>6} {'trees':>5} {'valid':>6} {'ours':>8} {'single':>8} "
              f"{'+compile':>8} {'DEAP':>8} {'operon':>8} {'ours/DEAP':>9} {'ours/operon':>11}")
    print(header)
    print("-" * len(header))
    for r in rows:
        if r.subset != subset:
            continue
        print(f"{r.mix:<11} {r.rows:>6} {r.n_trees:>5} {r.valid_fraction:>6.1%} "
              f"{_g(r.rate('ours_batch')):>8} {_g(r.rate('ours_single')):>8} "
              f"{_g(r.rate('ours_compiled')):>8} {_g(r.rate('deap')):>8} {_g(r.rate('pyoperon')):>8} "
              f"{_x(r.ratio('ours_batch', 'deap')):>9} {_x(r.ratio('ours_batch', 'pyoperon')):>11}")


def check_targets(rows):
    checks = []
    for r in rows:
        if r.subset != "all":
            continue
        if r.rows == 1_000:
            checks.append({"mix": r.mix, "rows": r.rows, "what": "ours node*rows/s",
                           "value": r.rate("ours_batch"), "target": TARGET_RATE_1K})
        if r.rows in TARGET_VS_DEAP:
            checks.append({"mix": r.mix, "rows": r.rows, "what": "ours/DEAP",
                           "value": r.ratio("ours_batch", "deap"), "target": TARGET_VS_DEAP[r.rows]})
    for c in checks:
        c["passed"] = bool(c["value"] >= c["target"])
    return checks


def print_report(rows, checks, fixed, op_costs, over, fits, operon_status):
    print_table(rows, "all", "Throughput, all trees, in 1e9 node*rows/s (best of repeats; "
                             "valid = share of trees our kernel finds finite)")
    print_table(rows, "valid", "Throughput, valid trees only, in 1e9 node*rows/s")
    notes = [f"{r.mix} {r.rows} {r.subset}: {n}" for r in rows for n in r.notes]
    if operon_status:
        notes.insert(0, f"pyoperon: {operon_status}")
    if notes:
        print("notes: " + "\n       ".join(notes))

    print("\nTargets (all trees)")
    for c in checks:
        value = f"{c['value']:.3g}" if c["what"].startswith("ours node") else f"{c['value']:.2f}x"
        target = f"{c['target']:.3g}" if c["what"].startswith("ours node") else f"{c['target']:.0f}x"
        print(f"  {c['mix']:<11} {c['rows']:>6} rows  {c['what']:<17} {value:>8} >= {target:<6} "
              f"{'PASS' if c['passed'] else 'FAIL'}")

    print("\nWhere the time goes (arithmetic, 1,000 rows)")
    print(f"  Evaluator.loss per call on a 1-node program: {over['loss_call_us']:.2f} us  "
          f"(in a batch: {over['batch_per_program_us']:.2f} us per program)")
    print(f"  compile_tree {over['compile_tree_us']:.1f} us/tree, ProgramBatch "
          f"{over['program_batch_us']:.1f} us/tree, DEAP gp.compile {over['gp_compile_us']:.1f} us/tree")
    print("  kernel on valid trees: ns per node*row at 1,000 / 10,000 rows; per-node overhead "
          f"(time per node at {FEW_ROWS} rows less {FEW_ROWS} rows at the 10,000-row cost)")
    for mix, seconds in fixed.items():
        per_row = [1e9 / r.rate("ours_batch") for n in ROW_COUNTS for r in rows
                   if r.mix == mix and r.rows == n and r.subset == "valid"]
        if len(per_row) != len(ROW_COUNTS):
            continue
        overhead = seconds * 1e9 - FEW_ROWS * per_row[-1]
        print(f"    {mix:<11} {per_row[0]:.3f} / {per_row[1]:.3f} ns per node*row, "
              f"overhead {overhead:.0f} ns/node")
    print("  ns per row of one operator over 10,000 rows (ours: kernel pass, reading a column or "
          "overwriting a row in place; numpy: one ufunc call; pyoperon: interpreter)")
    print("    " + "  ".join(f"{name:>8}" for name in ["op", *op_costs]))
    for path, label in (("ours_ns", "ours"), ("ours_inplace_ns", "in place"), ("numpy_ns", "numpy"),
                        ("pyoperon_ns", "pyoperon")):
        print("    " + "  ".join([f"{label:>8}", *(f"{'-' if c[path] is None else format(c[path], '.2f'):>8}"
                                                 for c in op_costs.values())]))
    print_fits(fits)


def print_fits(fits):
    print("\nConstant fits: c0*sin(c1*x0) + c2*exp(c3*x1) + c4, 5 constants")
    print(f"  {'rows':>5} {'algorithm':<9} {'restarts':>8} {'fits/s':>8} {'ms/fit':>7} {'evals/fit':>9} "
          f"{'evals/s':>8} {'recovered':>9}")
    for f in fits:
        print(f"  {f['rows']:>5} {f['algorithm']:<9} {f['n_restarts']:>8} {f['fits_per_s']:>8.0f} "
              f"{f['ms_per_fit']:>7.2f} {f['evals_per_fit']:>9.1f} {f['evals_per_s']:>8.0f} "
              f"{f['recovered']:>9.0%}")


def environment(operon_version):
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as handle:
            cpu = next(line.split(":", 1)[1].strip() for line in handle if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    import numba
    import scipy
    return {
        "cpu": cpu,
        "cpus_used": sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "python": platform.python_version(),
        "numpy": np.__version__, "numba": numba.__version__, "scipy": scipy.__version__,
        "deap": metadata.version("deap"), "pyoperon": operon_version,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer trees, repeats and fits (smoke run)")
    parser.add_argument("--json", metavar="PATH", help="also write the figures to PATH as JSON")
    parser.add_argument("--trees", type=int, help="trees per operator mix")
    parser.add_argument("--repeats", type=int, help="timed repeats per measurement (best is reported)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fits-only", action="store_true", help="only the constant-fit figures")
    args = parser.parse_args(argv)
    base = QUICK if args.quick else DEFAULT
    settings = Settings(n_trees=args.trees or base.n_trees, repeats=args.repeats or base.repeats,
                        n_fits=base.n_fits, seed=args.seed)

    operon, operon_version = load_pyoperon()
    operon_status = None if operon is not None else f"{operon_version}; its column is skipped"
    env = environment(operon_version if operon is not None else None)

    def log(message):
        print(message, flush=True)

    log(f"eval_throughput: {settings.n_trees} trees of {SIZE_RANGE[0]}-{SIZE_RANGE[1]} nodes per mix, "
        f"{N_FEATURES} inputs ~ U{X_RANGE}, best of {settings.repeats} repeats, one core "
        f"(cpu {env['cpus_used']}, {env['cpu']})")
    log(f"numpy {env['numpy']}, numba {env['numba']}, deap {env['deap']}, "
        f"pyoperon {env['pyoperon'] or 'absent'}")
    if args.fits_only:
        print_fits(constant_fits(settings, log))
        return
    X_all, y_all = make_data(np.random.default_rng(settings.seed), max(ROW_COUNTS))
    started = time.perf_counter()
    rows, fixed = [], {}
    for mix, spec in MIXES.items():
        mix_rows, fixed[mix] = measure_mix(mix, spec, X_all, y_all, settings, operon, log)
        rows.extend(mix_rows)
    over = overheads(settings, X_all, y_all)
    op_costs = operator_costs(settings, X_all, y_all, operon)
    fits = constant_fits(settings, log)
    checks = check_targets(rows)
    print_report(rows, checks, fixed, op_costs, over, fits, operon_status)
    print(f"\n(total {time.perf_counter() - started:.0f} s; ours = Evaluator.losses in one kernel call; "
          f"single = Evaluator.loss per program; +compile adds compile_tree and ProgramBatch; "
          f"DEAP includes gp.compile; pyoperon = EvaluateTrees, 1 thread, float32 predictions without loss)")

    if args.json:
        payload = {
            "settings": asdict(settings), "environment": env,
            "mixes": {name: {"binary": list(b), "unary": list(u)} for name, (b, u) in MIXES.items()},
            "throughput": [asdict(r) for r in rows], "targets": checks,
            "kernel_seconds_per_node_few_rows": fixed, "few_rows": FEW_ROWS,
            "operator_ns_per_row": op_costs, "overheads": over, "constant_fits": fits,
        }
        with open(args.json, "w") as handle:
            json.dump(payload, handle, indent=2)
        print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
