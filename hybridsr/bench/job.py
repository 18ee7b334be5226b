"""One benchmark job: a method on a problem with a seed, judged and saved.

Run in its own process by the runner (``python -m hybridsr.bench.job ...``)
so a hard wall-clock limit can kill it without harming anything else.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import sys
import time
import traceback

import numpy as np

from ..datasets import Problem, get_suite
from .judge import first_exact_time, judge, r2_score

__all__ = ["job_key", "run_job", "extrapolation_problem", "rejudge"]

#: Rows of each held-out test set.
TEST_ROWS = 1000
#: Test rows on which the judge first compares a formula with the truth numerically.
JUDGE_ROWS = 200


def job_key(method: str, problem: str, seed: int) -> str:
    return f"{method}/{problem}/{seed}"


def extrapolation_problem(problem: Problem) -> Problem | None:
    """The problem with each continuous range stretched 50% beyond its top (None if not possible)."""
    if problem.sampler is not None or problem.data is not None:
        return None
    variables = []
    for v in problem.variables:
        if v.distribution in ("uniform", "log-uniform"):
            high = v.high + 0.5 * (v.high - v.low) if v.distribution == "uniform" else v.high * 1.5
            variables.append(dataclasses.replace(v, high=high))
        else:
            variables.append(v)
    return dataclasses.replace(problem, variables=tuple(variables))


def _nmse(y, prediction) -> float:
    if not np.all(np.isfinite(prediction)):
        return math.inf
    return float(np.mean((y - prediction) ** 2) / max(np.var(y), 1e-300))


def _test_sample(problem: Problem, seed: int):
    """The noiseless held-out rows of a job (drawn again, identically, by :func:`rejudge`)."""
    return problem.sample(TEST_ROWS, seed=np.random.SeedSequence([seed, 1]), noise=0.0)


def _judge_points(problem: Problem, X_test) -> dict:
    """The test values of each variable on which the judge screens formulas numerically."""
    return {n: np.asarray(X_test[n], dtype=float)[:JUDGE_ROWS] for n in problem.variable_names}


def positive_variables(problem: Problem) -> tuple[str, ...]:
    """The variables the problem only samples above zero (declared positive to the judge).

    A uniform range from 0 counts: a draw of exactly 0 has probability 2**-53,
    and without it ``exp(x2*log(x1))`` would not equal Nguyen-11's ``x1**x2``.
    """
    def positive(v) -> bool:
        return v.low > 0 or (v.low == 0 and v.distribution == "uniform")
    return tuple(v.name for v in problem.variables if positive(v))


def front_metrics(front: list[str], names: tuple[str, ...], X_test, y_test) -> tuple[list, list]:
    """Each front formula's size (sympy nodes as written,
    :func:`~hybridsr.bench.methods.formula_size`) and held-out NMSE (inf when it cannot be
    evaluated)."""
    import sympy

    from .methods import formula_size, parse_formula

    columns = [np.asarray(X_test[n], dtype=float) for n in names]
    sizes, errors = [], []
    for text in front:
        try:
            expr = parse_formula(text, names, evaluate=False)
        except Exception:  # noqa: BLE001 - sympy raises many kinds for text it cannot read
            sizes.append(0)
            errors.append(math.inf)
            continue
        sizes.append(formula_size(expr))
        try:
            function = sympy.lambdify([sympy.Symbol(n) for n in names], expr, modules="numpy")
            with np.errstate(all="ignore"):
                prediction = np.broadcast_to(np.asarray(function(*columns), dtype=float), y_test.shape)
            errors.append(_nmse(y_test, prediction))
        except Exception:  # noqa: BLE001 - a formula numpy cannot evaluate scores as unusable
            errors.append(math.inf)
    return sizes, errors


def run_job(method: str, problem: Problem, seed: int, time_budget: float, *,
            noise: float | None = None, n_samples: int | None = None, n_jobs: int = 1) -> dict:
    """Fit, predict on held-out data inside and outside the training box, judge; a JSON-able record."""
    from .methods import fit_method

    record = {"key": job_key(method, problem.name, seed), "method": method, "problem": problem.name,
              "title": problem.title or problem.name, "suite": problem.suite, "seed": seed,
              "time_budget": time_budget, "n_jobs": n_jobs, "truth": str(problem.sympy()) if problem.formula else None}
    started = time.monotonic()
    try:
        X, y = problem.sample(n_samples, seed=seed, noise=noise)
        output = fit_method(method, problem, X, y, time_budget=time_budget, seed=seed,
                            n_jobs=n_jobs)
        record.update(selected=output.selected, front=list(output.front), n_evals=output.n_evals,
                      fit_seconds=output.elapsed, info=output.info)
        X_test, y_test = _test_sample(problem, seed)
        prediction = np.asarray(output.predict(X_test), dtype=float)
        record.update(test_r2=r2_score(y_test, prediction), test_nmse=_nmse(y_test, prediction))
        outside = extrapolation_problem(problem)
        if outside is not None:
            X_out, y_out = outside.sample(TEST_ROWS, seed=np.random.SeedSequence([seed, 2]), noise=0.0)
            prediction = np.asarray(output.predict(X_out), dtype=float)
            record.update(extrapolation_r2=r2_score(y_out, prediction),
                          extrapolation_nmse=_nmse(y_out, prediction))
        sizes, errors = front_metrics(list(output.front), problem.variable_names, X_test, y_test)
        record.update(front_size=sizes, front_test_nmse=errors)
        if problem.formula:
            names, positive = problem.variable_names, positive_variables(problem)
            points = _judge_points(problem, X_test)
            verdict = judge(output.selected, list(output.front), record["truth"], record["test_r2"],
                            names=names, positive=positive, points=points)
            record.update(outcome=verdict.outcome, selected_exact=verdict.selected_exact,
                          front_exact=verdict.front_exact,
                          front_exact_indices=list(verdict.front_exact_indices),
                          selected_form=verdict.selected_form, front_form=verdict.front_form)
            # Time to solution: from the method's own snapshots, else the end of its fit.
            if output.timeline and verdict.front_exact:
                record["solved_seconds"] = first_exact_time(output.timeline, record["truth"],
                                                            names=names, positive=positive,
                                                            points=points)
            else:
                record["solved_seconds"] = output.elapsed if verdict.front_exact else None
        else:
            record.update(outcome="accurate" if record["test_r2"] > 0.999 else "failed")
        record["status"] = "ok"
    except Exception as error:  # noqa: BLE001 - a failing method is a result, not a crash
        record.update(status="error", outcome="failed", error=f"{type(error).__name__}: {error}",
                      traceback=traceback.format_exc(limit=5))
    record["seconds"] = time.monotonic() - started
    return _finite(record)


def rejudge(record: dict, problem: Problem) -> dict:
    """``record`` judged again from its saved formulas with this version's judge.

    The test points are drawn again from the problem and the record's seed,
    as the job drew them. A time to solution saved from the method's
    snapshots is kept; one found only now is the end of the fit (an upper
    bound), and one that no longer holds is dropped.
    """
    if record.get("status") != "ok" or not problem.formula or "front" not in record:
        return record
    X_test, _ = _test_sample(problem, record["seed"])
    test_r2 = float(record.get("test_r2", -math.inf))
    verdict = judge(record["selected"], list(record["front"]), record["truth"], test_r2,
                    names=problem.variable_names, positive=positive_variables(problem),
                    points=_judge_points(problem, X_test))
    solved = record.get("solved_seconds") if verdict.front_exact else None
    if verdict.front_exact and solved is None:
        solved = record.get("fit_seconds")
    return {**record, "outcome": verdict.outcome, "selected_exact": verdict.selected_exact,
            "front_exact": verdict.front_exact,
            "front_exact_indices": list(verdict.front_exact_indices), "solved_seconds": solved,
            "selected_form": verdict.selected_form, "front_form": verdict.front_form}


def _finite(record: dict) -> dict:
    """JSON has no inf/NaN: write them as strings."""
    def clean(value):
        if isinstance(value, float) and not math.isfinite(value):
            return str(value)
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        return [clean(v) for v in value] if isinstance(value, (list, tuple)) else value

    return {k: clean(v) for k, v in record.items()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hybridsr.bench.job")
    parser.add_argument("--method", required=True)
    parser.add_argument("--suite", required=True)
    parser.add_argument("--problem", required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--time", type=float, required=True)
    parser.add_argument("--noise", type=float, default=None)
    parser.add_argument("--n-samples", type=int, default=None)
    parser.add_argument("--n-jobs", type=int, default=1, help="cores the method may use")
    parser.add_argument("--out", required=True, help="file to write the JSON record to")
    args = parser.parse_args(argv)
    problem = next(p for p in get_suite(args.suite) if p.name == args.problem)
    record = run_job(args.method, problem, args.seed, args.time, noise=args.noise, n_samples=args.n_samples,
                     n_jobs=args.n_jobs)
    tmp = f"{args.out}.tmp{os.getpid()}"
    with open(tmp, "w") as handle:
        json.dump(record, handle)
    os.replace(tmp, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
