"""Newton's law of gravitation, F = G m1 m2 / r^2, from noisy laboratory measurements.

A PySR use case: 200 simulated torsion-balance measurements of the force
between two masses of 1-10 kg at 0.5-5 m, with 1% relative noise; the columns
carry their units (``m1 (kg)``, ``m2 (kg)``, ``r (m)``, ``F (N)``). The search
must find the structure and the tiny constant G = 6.674e-11 together. The
script prints the Pareto front, the picked formula as sympy and LaTeX, the
fitted G and a prediction, and plots F r^2 / (m1 m2) against r: flat at G
where the law holds.

    python examples/newton.py [--quick] [--seed N] [--out DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from hybridsr import HybridSRRegressor

G = 6.674e-11  # m^3 kg^-1 s^-2
QUICK = dict(niterations=3, populations=4, population_size=20, ncycles_per_iteration=100)


def make_data(seed: int, n: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    m1, m2, r = rng.uniform(1, 10, n), rng.uniform(1, 10, n), rng.uniform(0.5, 5, n)
    force = G * m1 * m2 / r**2 * (1 + 0.01 * rng.standard_normal(n))
    return pd.DataFrame({"m1 (kg)": m1, "m2 (kg)": m2, "r (m)": r, "F (N)": force})


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tiny search (smoke test)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--out", type=Path, default=Path("examples/output"),
                        help="folder for the picture (default: examples/output)")
    args = parser.parse_args(argv)

    data = make_data(args.seed)
    X, y = data[["m1 (kg)", "m2 (kg)", "r (m)"]], data["F (N)"]
    settings = dict(binary_operators=["+", "-", "*", "/"], niterations=10, maxsize=15,
                    random_state=args.seed)
    model = HybridSRRegressor(**{**settings, **(QUICK if args.quick else {})})
    # The noise is relative and F spans four decades: weights 1/F^2 fit relative errors.
    model.fit(X, y, weights=1.0 / y**2)

    print(model)  # the Pareto front (model.equations_); >>>> marks the pick
    print(f"\nvariables: {model.variable_names_}  (from the column names)")
    print(f"picked: F = {model.sympy()}")
    print(f"LaTeX:  F = {model.latex(precision=4)}")
    unit = pd.DataFrame({"m1 (kg)": [1.0], "m2 (kg)": [1.0], "r (m)": [1.0]})
    print(f"G from the formula (F at 1 kg, 1 kg, 1 m): {model.predict(unit)[0]:.4g} "
          f"(true {G})")
    earth_moon = pd.DataFrame({"m1 (kg)": [5.972e24], "m2 (kg)": [7.342e22], "r (m)": [3.844e8]})
    print(f"extrapolated to the Earth and the Moon: F = {model.predict(earth_moon)[0]:.3e} N "
          f"(true law {G * 5.972e24 * 7.342e22 / 3.844e8**2:.3e} N)")

    path = plot(data, model, args.out / "newton.png")
    print(f"wrote {path}")
    return 0


def plot(data: pd.DataFrame, model: HybridSRRegressor, path: Path) -> Path:
    from matplotlib.figure import Figure

    X = data[["m1 (kg)", "m2 (kg)", "r (m)"]]
    scale = data["r (m)"] ** 2 / (data["m1 (kg)"] * data["m2 (kg)"])
    order = np.argsort(data["r (m)"].to_numpy())
    fig = Figure(figsize=(6.4, 5.0), layout="constrained")
    ax = fig.add_subplot()
    ax.scatter(data["r (m)"], data["F (N)"] * scale, s=10, color="0.4",
               label="measurements (1% noise)")
    ax.axhline(G, color="tab:green", lw=4, alpha=0.45, label=f"true law: G = {G:.4g}")
    ax.plot(data["r (m)"].to_numpy()[order], (model.predict(X) * scale).to_numpy()[order],
            color="tab:red", ls="--", label=f"found: F = {model.sympy().evalf(4)}")
    ax.set(xlabel="distance r (m)", ylabel=r"$F\,r^2/(m_1 m_2)$ (m$^3$ kg$^{-1}$ s$^{-2}$)",
           title="Newton's gravitation: the found law is flat at G")
    ax.grid(alpha=0.3)
    fig.legend(loc="outside lower center", ncols=2, fontsize=9)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    return path


if __name__ == "__main__":
    raise SystemExit(main())
