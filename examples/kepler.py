"""Kepler's third law, P^2 = k a^3, from the orbits of the eight planets (a PySR use case).

The data are the planets' semi-major axes (AU) and sidereal orbital periods
(days), rounded published values; the columns carry their units. With
``+ - * /`` and ``sqrt`` the search should find ``P = 365.25 * a * sqrt(a)``
(one year per AU^1.5). The script prints the Pareto front, the picked formula
as sympy and LaTeX, and the period it predicts for a dwarf planet beyond
Neptune, and plots the orbits with the law on log axes.

    python examples/kepler.py [--quick] [--seed N] [--out DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from hybridsr import HybridSRRegressor

PLANETS = pd.DataFrame(
    [("Mercury", 0.38710, 87.969), ("Venus", 0.72333, 224.701), ("Earth", 1.00000, 365.256),
     ("Mars", 1.52371, 686.980), ("Jupiter", 5.20289, 4332.59), ("Saturn", 9.53668, 10759.2),
     ("Uranus", 19.18916, 30685.4), ("Neptune", 30.06992, 60189.0)],
    columns=["planet", "a (AU)", "P (days)"])
YEAR = 365.256  # days: the true law is P = YEAR * a**1.5
QUICK = dict(niterations=3, populations=4, population_size=20, ncycles_per_iteration=100)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tiny search (smoke test)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--out", type=Path, default=Path("examples/output"),
                        help="folder for the picture (default: examples/output)")
    args = parser.parse_args(argv)

    X, y = PLANETS[["a (AU)"]], PLANETS["P (days)"]
    settings = dict(binary_operators=["+", "-", "*", "/"], unary_operators=["sqrt"],
                    niterations=8, maxsize=12, random_state=args.seed,
                    # Eight nearly exact points: "best" may prefer a longer formula that also
                    # fits the planets' small deviations from the law (they are real, so
                    # cross-validation keeps it); "score" picks the largest drop in loss
                    # per unit of complexity.
                    model_selection="score")
    model = HybridSRRegressor(**{**settings, **(QUICK if args.quick else {})})
    # Periods span three decades: weights 1/P^2 make the loss a relative error, so
    # that Mercury counts as much as Neptune.
    model.fit(X, y, weights=1.0 / y**2)

    print(model)  # the Pareto front (model.equations_); >>>> marks the pick
    print(f"\npicked: P = {model.sympy()}")
    print(f"LaTeX:  P = {model.latex(precision=4)}")
    model.model_selection = "best"  # read at prediction time: no refit needed
    print(f"'best' would pick: P = {model.sympy()}")
    model.model_selection = "score"
    pluto = pd.DataFrame({"a (AU)": [39.48]})
    print(f"Pluto (a = 39.48 AU): predicted period {model.predict(pluto)[0] / YEAR:.1f} years "
          f"(observed 247.9 years)")

    path = plot(model, args.out / "kepler.png")
    print(f"wrote {path}")
    return 0


def plot(model: HybridSRRegressor, path: Path) -> Path:
    from matplotlib.figure import Figure

    a = np.geomspace(0.3, 40, 200)
    found = model.predict(pd.DataFrame({"a (AU)": a}))
    fig = Figure(figsize=(6.4, 6.0), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1.3])
    top.plot(a, YEAR * a**1.5, color="tab:green", lw=4, alpha=0.45,
             label=r"true law: $P = 365.256\,a^{3/2}$")
    top.plot(a, found, color="tab:red", ls="--", label=f"found: P = {model.sympy().evalf(4)}")
    top.scatter(PLANETS["a (AU)"], PLANETS["P (days)"], color="k", zorder=3, s=20,
                label="the eight planets")
    for _, row in PLANETS.iterrows():
        top.annotate(row["planet"], (row["a (AU)"], row["P (days)"]),
                     textcoords="offset points", xytext=(6, -10), fontsize=8)
    top.set(xscale="log", yscale="log", ylabel="orbital period P (days)",
            title="Kepler's third law from the planets' orbits")
    top.legend(loc="upper left")
    # How far each planet lies from the found formula, in per cent.
    residual = 100 * (PLANETS["P (days)"] / model.predict(PLANETS[["a (AU)"]]) - 1)
    bottom.axhline(0, color="tab:red", ls="--")
    bottom.scatter(PLANETS["a (AU)"], residual, color="k", s=20)
    bottom.set(xlabel="semi-major axis a (AU)", ylabel="data / formula - 1 (%)")
    for ax in (top, bottom):
        ax.grid(alpha=0.3, which="both")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    return path


if __name__ == "__main__":
    raise SystemExit(main())
