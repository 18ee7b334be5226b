"""Hubble's law, v = H0 * D, from noisy distances and velocities (a use case of the PySR paper).

The data follow the paper's generator: 30 galaxies at distances uniform in
1-20 Mpc, H0 = 73.3 km/s/Mpc, and 100 km/s of measurement noise. The columns
carry their units, ``distance (Mpc)`` and ``velocity (km/s)``; hybridsr turns
them into the variable name ``distance_Mpc``. The script prints the Pareto
front (``equations_``), the picked formula as sympy and LaTeX, the fitted
Hubble constant and a prediction, and plots the data with the law.

    python examples/hubble.py [--quick] [--seed N] [--out DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from hybridsr import HybridSRRegressor

H0 = 73.3  # km/s/Mpc, the paper's value
QUICK = dict(niterations=3, populations=4, population_size=20, ncycles_per_iteration=100)


def make_data(seed: int, n: int = 30) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    distance = rng.uniform(1, 20, n)
    velocity = H0 * distance + rng.normal(0, 100, n)
    return pd.DataFrame({"distance (Mpc)": distance, "velocity (km/s)": velocity})


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tiny search (smoke test)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--out", type=Path, default=Path("examples/output"),
                        help="folder for the picture (default: examples/output)")
    args = parser.parse_args(argv)

    data = make_data(args.seed)
    X, y = data[["distance (Mpc)"]], data["velocity (km/s)"]
    settings = dict(binary_operators=["+", "-", "*", "/"], niterations=10, maxsize=12,
                    random_state=args.seed)
    model = HybridSRRegressor(**{**settings, **(QUICK if args.quick else {})})
    model.fit(X, y)

    print(model)  # the Pareto front, model.equations_ (a DataFrame); >>>> marks the pick
    print(f"\nequations_ columns: {list(model.equations_.columns)}")
    best = model.get_best()  # the picked row of equations_
    print(f"picked (complexity {best['complexity']:g}): velocity = {model.sympy()}")
    print(f"LaTeX:  v = {model.latex()}")
    far = pd.DataFrame({"distance (Mpc)": [0.0, 1.0, 50.0]})
    v0, v1, v50 = model.predict(far)
    print(f"slope:  {v1 - v0:.1f} km/s per Mpc (the true H0 is {H0})")
    print(f"predicted velocity at 50 Mpc: {v50:,.0f} km/s (true law: {H0 * 50:,.0f})")

    path = plot(data, model, args.out / "hubble.png")
    print(f"wrote {path}")
    return 0


def plot(data: pd.DataFrame, model: HybridSRRegressor, path: Path) -> Path:
    from matplotlib.figure import Figure

    grid = pd.DataFrame({"distance (Mpc)": np.linspace(0, 21, 200)})
    D = grid["distance (Mpc)"]
    fig = Figure(figsize=(6.4, 4.4), layout="constrained")
    ax = fig.add_subplot()
    ax.scatter(data["distance (Mpc)"], data["velocity (km/s)"], s=18, color="0.3",
               label="data (30 galaxies, noise 100 km/s)")
    ax.plot(D, H0 * D, color="tab:green", lw=3, alpha=0.5, label=f"true law: v = {H0} D")
    ax.plot(D, model.predict(grid), color="tab:red", ls="--",
            label=f"found: v = {model.sympy().evalf(4)}")
    ax.set(xlabel="distance D (Mpc)", ylabel="recession velocity v (km/s)",
           title="Hubble's law recovered from noisy data")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    return path


if __name__ == "__main__":
    raise SystemExit(main())
