"""Quick start: recover the seed's f(x) = 3 sin(x) - 0.5x from 200 samples.

Fits :class:`hybridsr.HybridSRRegressor` with PySR's example operators and
prints what PySR prints: the Pareto front (the best formula at each
complexity, the picked one marked ``>>>>``), then the picked formula as sympy
and LaTeX, and a prediction.

    python examples/quickstart.py            # about 10 s after the first run
    python examples/quickstart.py --quick    # a smoke run of a few seconds

The first run on a machine compiles the numba kernels of the operator set
(15-30 s, cached on disk afterwards).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from hybridsr import HybridSRRegressor

#: Settings for ``--quick``: a tiny search that finishes in seconds (it may not recover the law).
QUICK = dict(niterations=3, populations=4, population_size=20, ncycles_per_iteration=100)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tiny search (smoke test)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    args = parser.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    X = rng.uniform(-5, 5, size=(200, 1))
    y = 3 * np.sin(X[:, 0]) - 0.5 * X[:, 0]

    settings = dict(
        binary_operators=["+", "-", "*", "/"],
        unary_operators=["sin", "cos"],
        niterations=20,
        maxsize=15,
        early_stop_condition=1e-12,  # stop once a formula fits the (noise-free) data exactly
        random_state=args.seed,
    )
    model = HybridSRRegressor(**{**settings, **(QUICK if args.quick else {})})
    start = time.perf_counter()
    model.fit(X, y, variable_names=["x"])
    print(f"searched for {time.perf_counter() - start:.1f} s; the Pareto front:\n")
    print(model)

    print(f"\npicked:     y = {model.sympy()}")
    print(f"LaTeX:      {model.latex()}")
    print(f"predict:    f(1.0) = {model.predict(np.array([[1.0]]))[0]:.6f} "
          f"(true {3 * np.sin(1.0) - 0.5:.6f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
