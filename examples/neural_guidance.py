"""Neural guidance side by side: the same problem with and without the student.

``guidance=None`` is the plain genetic search. ``guidance=["student"]``
first trains a teacher network on the data, distils an EQL student from it
and seeds the search with the student's formula and its parts (it takes
``guidance_time_fraction`` of the time budget; here ``guidance_start="start"``
runs it before the search, where the default waits for the search to stall).
``["structure"]`` asks a teacher whether the law separates or depends on a
pair of variables through their ratio (and so on), solves the pieces and
seeds the search with the reassembled formulas (it needs two variables or
more: try ``--problem feynman_I_15_1``); ``["transformer"]`` decodes the data
with the pretrained transformer. Each is added when this version of hybridsr
has it. Every run gets the same
time budget and stops early once a formula fits the noise-free data exactly,
so the wall time is the time to the solution; the script prints, per run, the
time spent guiding and searching, the picked formula, held-out R^2 and
whether a formula fits exactly (the data are noise-free), and plots the
times and the Pareto fronts.

    python examples/neural_guidance.py [--problem seed] [--seeds 2] [--time 15]
                                       [--quick] [--out DIR]

Any built-in problem works (``--problem kepler``, ``--problem nguyen_7``; see
``hybridsr.datasets``); problems with noise rarely stop early.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import sympy

from hybridsr import HybridSRRegressor
from hybridsr.bench.judge import r2_score
from hybridsr.datasets import get_problem
from hybridsr.guidance import BUILTIN_GENERATORS

QUICK = dict(niterations=3, populations=4, population_size=20, ncycles_per_iteration=100)


def guidance_choices() -> list:
    """None, ["student"], and ["structure"] and ["transformer"] where this version has them."""
    return [None, ["student"]] + [[name] for name in ("structure", "transformer")
                                  if name in BUILTIN_GENERATORS]


def tidy(expr: sympy.Expr) -> sympy.Expr:
    """Four significant digits, and constants below 1e-12 dropped: a search that stops
    early can end before it has simplified its front (``3.0*sin(x) + 4.2e-17``)."""
    tiny = {c: 0 for c in expr.atoms(sympy.Float) if abs(c) < 1e-12}
    return expr.xreplace(tiny).evalf(4)


def run(problem, guidance, seed: int, budget: float, quick: bool) -> dict:
    X, y = problem.sample(seed=seed, noise=0.0)
    X_test, y_test = problem.sample(500, seed=seed + 1000, noise=0.0)
    settings = dict(binary_operators=problem.binary_operators,
                    unary_operators=problem.unary_operators,
                    niterations=1000, timeout_in_seconds=budget,
                    ncycles_per_iteration=100,  # short iterations: more points on the curve
                    early_stop_condition=1e-12 * float(np.var(y)),  # an exact fit
                    # "start": the networks run before the search, so the comparison shows
                    # their cost and effect (by default they wait for the search to stall,
                    # which on this problem it never does before it is solved).
                    guidance=guidance, guidance_start="start", random_state=seed, verbosity=0)
    model = HybridSRRegressor(**{**settings, **(QUICK if quick else {})})
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a failed generator warns; its report says why
        model.fit(X, y)
    seconds = time.perf_counter() - start
    report = model.guidance_[0] if model.guidance_ else {"seconds": 0.0, "failures": {}}
    # The data are noise-free, so reaching the early-stop loss means the law was found.
    exact = bool((model.equations_["loss"] <= settings["early_stop_condition"]).any())
    return {"guidance": "none" if guidance is None else "+".join(guidance), "seed": seed,
            "seconds": seconds, "guidance_seconds": report["seconds"],
            "failures": report["failures"], "formula": str(tidy(model.sympy())),
            "r2": r2_score(y_test, model.predict(X_test)), "exact": exact,
            "curve": convergence(model, report["seconds"], float(np.var(y)))}


def convergence(model: HybridSRRegressor, guidance_seconds: float, var: float) -> list:
    """(seconds, best loss / var(y)) after each iteration and at the end; the search
    starts after the guidance."""
    result = model.search_results_[0]
    points = [(guidance_seconds + p.elapsed, p.best_loss / var) for p in result.history]
    return points + [(guidance_seconds + result.elapsed, model.equations_["loss"].min() / var)]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problem", default="seed", help="a built-in problem (default: seed)")
    parser.add_argument("--seeds", type=int, default=2, help="seeds per setting (default: 2)")
    parser.add_argument("--time", type=float, default=15.0,
                        help="seconds per run, guidance included (default: 15)")
    parser.add_argument("--quick", action="store_true", help="one tiny run per setting")
    parser.add_argument("--out", type=Path, default=Path("examples/output"),
                        help="folder for the picture (default: examples/output)")
    args = parser.parse_args(argv)
    seeds, budget = (1, 4.0) if args.quick else (args.seeds, args.time)

    problem = get_problem(args.problem)
    import torch  # noqa: F401  - imported now, so its import time is not charged to a run
    print(f"{problem.title}: {problem.target} = {problem.sympy()}, {problem.n_samples} rows, "
          f"{budget:g} s per run\n")
    rows = [run(problem, guidance, seed, budget, args.quick)
            for seed in range(seeds) for guidance in guidance_choices()]

    print(f"{'guidance':12s} {'seed':>4s} {'total s':>8s} {'guiding s':>9s} {'R^2':>9s} "
          f"{'exact fit':>9s}  picked formula")
    for r in rows:
        print(f"{r['guidance']:12s} {r['seed']:4d} {r['seconds']:8.1f} "
              f"{r['guidance_seconds']:9.1f} "
              f"{r['r2']:9.6f} {'yes' if r['exact'] else 'no':>9s}  {r['formula']}")
        for name, failure in r["failures"].items():
            print(f"{'':12s} ({name} failed: {failure})")
    path = plot(rows, problem, args.out / "neural_guidance.png")
    print(f"\nwrote {path}")
    return 0


def plot(rows: list[dict], problem, path: Path, floor: float = 1e-12) -> Path:
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    names = list(dict.fromkeys(r["guidance"] for r in rows))
    colors = dict(zip(names, ["tab:gray", "tab:blue", "tab:orange", "tab:purple"]))
    fig = Figure(figsize=(10, 4.4), layout="constrained")
    times, fronts = fig.subplots(1, 2, width_ratios=[1, 1.3])

    x = np.arange(len(rows))
    guiding = np.array([r["guidance_seconds"] for r in rows])
    total = np.array([r["seconds"] for r in rows])
    color = [colors[r["guidance"]] for r in rows]
    times.bar(x, guiding, color=color, alpha=0.45, hatch="//", edgecolor="white")
    times.bar(x, total - guiding, bottom=guiding, color=color)
    for xi, r in zip(x, rows):
        times.text(xi, total[xi], "exact fit" if r["exact"] else "no exact fit", ha="center",
                   va="bottom", fontsize=8)
    times.set_xticks(x, [f"{r['guidance']}\nseed {r['seed']}" for r in rows], fontsize=8)
    times.set(ylabel="wall time (s)", ylim=(0, 1.3 * total.max()),
              title="time to the solution (or the budget)")
    times.legend(handles=[Patch(facecolor="0.6", alpha=0.45, hatch="//", edgecolor="white",
                                label="guidance (networks, before the search)"),
                          Patch(facecolor="0.6", label="genetic search")],
                 loc="upper left", fontsize=8)

    fronts.set_yscale("log")
    for r in rows:
        seconds, loss = np.array(r["curve"]).T
        fronts.step(seconds, np.maximum(loss, floor), where="post", alpha=0.8,
                    color=colors[r["guidance"]], marker="os^v"[r["seed"] % 4], ms=4,
                    label=f"{r['guidance']}, seed {r['seed']}")
    fronts.axhline(floor, color="k", lw=0.8, ls=":")
    fronts.text(0, floor, " exact (drawn at 1e-12)", va="bottom", fontsize=8)
    fronts.set_ylim(floor / 5, 2)
    fronts.set_xlim(left=0)
    fronts.set(xlabel="wall time (s), guidance included",
               ylabel="best training loss / var(y)",
               title=f"convergence after each iteration: {problem.title}")
    fronts.legend(fontsize=8, loc="center right")
    for ax in (times, fronts):
        ax.grid(alpha=0.3)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    return path


if __name__ == "__main__":
    raise SystemExit(main())
