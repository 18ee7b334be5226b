"""Seed 001's kind of benchmark for EQLRegressor: does the extracted formula equal the function?

    .venv/bin/python benchmarks/eql_accuracy.py [--regularization l05 l0] [--quick]

Each function is sampled on [-2, 2]^d (200 noiseless rows) and fitted once
(random_state=0) with each regularizer, with identity, square, sin and exp
units and two products per layer. The formula matches when its relative RMSE
on fresh points of the wider box [-3, 3]^d (extrapolation) is below 1e-3.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import sympy

from hybridsr.neural import EQLRegressor, StudentError

FUNCTIONS = [
    ("x", 1, lambda x: x[:, 0]),
    ("x**2", 1, lambda x: x[:, 0] ** 2),
    ("x**3", 1, lambda x: x[:, 0] ** 3),
    ("sin(x)", 1, lambda x: np.sin(x[:, 0])),
    ("sin(2x)+x", 1, lambda x: np.sin(2 * x[:, 0]) + x[:, 0]),
    ("x**2+x", 1, lambda x: x[:, 0] ** 2 + x[:, 0]),
    ("exp(x)-x", 1, lambda x: np.exp(x[:, 0]) - x[:, 0]),
    ("x0*x1", 2, lambda x: x[:, 0] * x[:, 1]),
    ("x0+x1**2", 2, lambda x: x[:, 0] + x[:, 1] ** 2),
    ("sin(x0)+x1**2", 2, lambda x: np.sin(x[:, 0]) + x[:, 1] ** 2),
    ("x0*x1+sin(x0)", 2, lambda x: x[:, 0] * x[:, 1] + np.sin(x[:, 0])),
]


def relative_rmse(model: EQLRegressor, function, X: np.ndarray) -> float:
    truth = function(X)
    return float(np.sqrt(np.mean((model.predict(X) - truth) ** 2)) / np.std(truth))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--regularization", nargs="+", default=["l05", "l0"])
    parser.add_argument("--quick", action="store_true", help="three functions, short training")
    args = parser.parse_args(argv)
    functions = FUNCTIONS[:3] if args.quick else FUNCTIONS
    options = dict(epochs=(100, 300, 50)) if args.quick else {}
    summary = []
    for regularization in args.regularization:
        rng = np.random.default_rng(0)
        hits, seconds = 0, []
        for name, d, function in functions:
            X = rng.uniform(-2, 2, (200, d))
            outside = rng.uniform(-3, 3, (1000, d))
            model = EQLRegressor(unary_operators=("square", "sin", "exp"), binary_operators=("+", "-", "*"),
                                 regularization=regularization, random_state=0, **options)
            start = time.perf_counter()
            try:
                model.fit(X, function(X))
            except StudentError as error:
                print(f"{regularization:4s} {name:14s} extracted nothing ({error})")
                continue
            seconds.append(time.perf_counter() - start)
            error = relative_rmse(model, function, outside)
            hits += error < 1e-3
            terms = len(sympy.Add.make_args(model.expression_))
            print(f"{regularization:4s} {name:14s} {'match' if error < 1e-3 else 'miss ':5s} "
                  f"extrapolation rel. RMSE {error:.1e}  active {model.result_.n_active:3d}  "
                  f"terms {terms}  {seconds[-1]:5.1f} s  {model.expression_}")
        summary.append(f"{regularization}: {hits}/{len(functions)} matched, "
                       f"mean {np.mean(seconds) if seconds else float('nan'):.1f} s per fit")
    print("\n" + "\n".join(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
