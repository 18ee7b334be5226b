"""Recover the seed's 3 sin(x) - 0.5x from noisy samples with a full search.

Run with ``make demo``. Prints the Pareto front (the picked equation marked
``>>>>``) and the picked formula as sympy writes it; about half a minute on
one core.
"""

import time

import numpy as np

from hybridsr import HybridSRRegressor


def main(seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-5, 5, size=(200, 1))
    y = 3 * np.sin(x[:, 0]) - 0.5 * x[:, 0] + 0.1 * rng.standard_normal(200)

    model = HybridSRRegressor(
        binary_operators=["+", "-", "*", "/"],
        unary_operators=["sin", "cos"],
        niterations=10,
        maxsize=15,
        random_state=seed,
    )
    print("data:    y = 3 sin(x) - 0.5 x + noise (sd 0.1), 200 points")
    start = time.perf_counter()
    model.fit(x, y, variable_names=["x"])
    result = model.search_results_[0]
    print(f"search:  {result.n_iterations} iterations, {result.n_evals:,} evaluations, "
          f"{time.perf_counter() - start:.1f} s (stopped by {result.stop_reason})\n")
    print(model)
    print(f"\npicked:  y = {model.sympy()}")
    print(f"LaTeX:   {model.latex()}")


if __name__ == "__main__":
    main()
