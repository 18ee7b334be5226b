"""Exercise 3 of seed 002: remove ``sin`` from the operators. Does a polynomial appear?

The data are the seed's f(x) = 3 sin(x) - 0.5x on [-pi, pi] (200 points, no
noise). Two searches run without ``sin``:

* ``cos`` only (the exercise as written): the search may rebuild the sine as
  a shifted cosine, ``cos(x - 1.5708)``;
* no unary operator at all (``+ - * /``): only polynomials and rational
  functions are left, and the Pareto front fills with approximations of the
  sine wave, to be compared with its Taylor polynomials
  ``2.5x - 0.5x^3 + 0.025x^5 - ...`` written in Horner form (complexity 3, 9,
  15, 21).

The script prints both fronts and the Taylor polynomials' losses, and plots
the approximations against the sine wave (inside and beyond the data's range)
and the fronts' loss against complexity with the Taylor polynomials marked.

    python examples/exercise_taylor.py [--quick] [--seed N] [--out DIR]
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import sympy

from hybridsr import HybridSRRegressor, OperatorSet
from hybridsr.expr import Language, complexity, sympy_to_tree

SEARCH = dict(binary_operators=["+", "-", "*", "/"], maxsize=21, populations=8,
              ncycles_per_iteration=400, niterations=8, verbosity=0)
QUICK = dict(niterations=2, populations=4, population_size=20, ncycles_per_iteration=100)


def f(x):
    return 3 * np.sin(x) - 0.5 * x


def taylor_polynomials(max_degree: int = 7) -> list[tuple[int, sympy.Expr]]:
    """The Taylor polynomials of f at 0 of odd degree 1..max_degree, in Horner form."""
    x = sympy.Symbol("x")
    polynomials = []
    for degree in range(1, max_degree + 1, 2):
        # odd coefficients of 3 sin(x) - 0.5x: c_k x^k for k = 1, 3, ...
        coefficients = [(3 * (-1) ** (k // 2) / math.factorial(k)) - (0.5 if k == 1 else 0.0)
                        for k in range(1, degree + 1, 2)]
        horner = sympy.Float(coefficients[-1])
        for c in reversed(coefficients[:-1]):
            horner = sympy.Add(sympy.Float(c), sympy.Mul(x * x, horner, evaluate=False),
                               evaluate=False)
        polynomials.append((degree, sympy.Mul(x, horner, evaluate=False)))
    return polynomials


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny searches (smoke test)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--out", type=Path, default=Path("examples/output"),
                        help="folder for the picture (default: examples/output)")
    args = parser.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    X = rng.uniform(-np.pi, np.pi, size=(200, 1))
    y = f(X[:, 0])
    settings = {**SEARCH, **(QUICK if args.quick else {}), "random_state": args.seed}

    fronts = {}
    for label, unary in (("cos only", ["cos"]), ("no unary operators", [])):
        model = HybridSRRegressor(unary_operators=unary, **settings).fit(X, y, variable_names=["x"])
        fronts[label] = model
        print(f"without sin, {label}:")
        print(model)
        print()

    language = Language(OperatorSet.from_spec(["+", "-", "*", "/"], []), 1, variable_names=("x",))
    taylor = []
    print("Taylor polynomials of f at 0 (Horner form):")
    for degree, polynomial in taylor_polynomials():
        values = sympy.lambdify(sympy.Symbol("x"), polynomial)(X[:, 0])
        loss = float(np.mean((values - y) ** 2))
        size = complexity(sympy_to_tree(polynomial, language), language)
        taylor.append((degree, size, loss, polynomial))
        print(f"  degree {degree}: complexity {size:g}, loss {loss:.3g}")

    path = plot(fronts, taylor, args.out / "exercise_taylor.png")
    print(f"\nwrote {path}")
    return 0


def plot(fronts: dict, taylor: list, path: Path, floor: float = 1e-12) -> Path:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4.8), layout="constrained")
    curves, losses = fig.subplots(1, 2)
    wide = np.linspace(-1.5 * np.pi, 1.5 * np.pi, 400)
    curves.axvspan(-np.pi, np.pi, color="0.93", zorder=0, label="data range")
    curves.plot(wide, f(wide), color="tab:green", lw=5, alpha=0.4, label="f(x) = 3 sin(x) - 0.5x")
    # The front's knees (the two largest drops in loss per unit of complexity),
    # each next to the Taylor polynomial of about the same complexity.
    table = fronts["no unary operators"].equations_
    knees = table[table["complexity"] >= 5].nlargest(2, "score").sort_values("complexity")
    for (_, row), color in zip(knees.iterrows(), ["tab:red", "tab:purple"]):
        text = str(row["sympy"].evalf(3))
        text = text if len(text) <= 48 else text[:45] + "..."
        curves.plot(wide, row["lambda"](wide.reshape(-1, 1)), color=color,
                    label=f"front, C={row['complexity']:g}: {text}")
        degree, size, _, polynomial = min(taylor, key=lambda t: abs(t[1] - row["complexity"]))
        values = sympy.lambdify(sympy.Symbol("x"), polynomial)(wide)
        curves.plot(wide, values, color=color, ls=":", lw=2,
                    label=f"Taylor, degree {degree} (C={size:g})")
    curves.set(xlabel="x", ylabel="y", ylim=(-8, 8),
               title="without sin or cos: the front's polynomials")
    curves.legend(fontsize=7.5, loc="lower left")

    styles = {"cos only": ("tab:blue", "o"), "no unary operators": ("tab:red", "s")}
    for label, model in fronts.items():
        color, marker = styles[label]
        front = model.equations_
        expr = model.sympy()
        picked = str(expr.xreplace({c: sympy.Float(c, 3) for c in expr.atoms(sympy.Float)}))
        picked = picked if len(picked) <= 30 else picked[:27] + "..."
        losses.step(front["complexity"], np.maximum(front["loss"], floor), where="post",
                    color=color, marker=marker, ms=4, label=f"front, {label}\n(picks {picked})")
    losses.scatter([t[1] for t in taylor], [max(t[2], floor) for t in taylor], marker="*",
                   s=140, color="k", zorder=3, label="Taylor polynomials")
    for degree, size, loss, _ in taylor:
        losses.annotate(f"degree {degree}", (size, max(loss, floor)), textcoords="offset points",
                        xytext=(6, 4), fontsize=8)
    losses.axhline(floor, color="k", lw=0.8, ls=":")
    losses.text(0.5, floor, " exact (drawn at 1e-12)", va="bottom", fontsize=8)
    losses.set(yscale="log", ylim=(floor / 10, 100), xlabel="complexity",
               ylabel="training loss (MSE)", title="Pareto fronts against the Taylor polynomials")
    losses.legend(fontsize=8, loc="lower left", bbox_to_anchor=(0, 0.1))
    for ax in (curves, losses):
        ax.grid(alpha=0.3)
    fig.suptitle("Exercise 3: remove sin from the operators")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    return path


if __name__ == "__main__":
    raise SystemExit(main())
