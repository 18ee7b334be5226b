"""Exercise 2 of seed 002: Burgers' equation. Distil the shock wave's law from a solved field.

Inviscid Burgers' equation, u_t + (u^2 / 2)_x = 0, is solved numerically
(Godunov's finite-volume scheme with the exact Riemann flux) from a top-hat
start, u = 1 on 0 < x < 1 and 0 elsewhere. A rarefaction fan opens at x = 0
and a shock runs ahead at x = 1; from t = 2 the fan has caught up and the
solution is a triangle, u = x/t behind a shock whose position follows
x_s = sqrt(2t) (equal areas). Two searches recover both laws from the
numbers alone:

* the shock position x_s(t), read off the solved field for t >= 2.5;
* the field u(x, t) behind the shock.

The plot shows the solved profiles with the reconstruction from the two
formulas, and the shock path with the true law.

    python examples/exercise_burgers.py [--quick] [--seed N] [--out DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from hybridsr import HybridSRRegressor

# The solved field is exact up to the scheme's errors (a smeared shock, a fan that starts
# a few cells early), which longer formulas learn to fit: "score", the largest drop in loss
# per unit of complexity, picks the law rather than the scheme's fingerprints.
SEARCH = dict(binary_operators=["+", "-", "*", "/"], unary_operators=["sqrt"], maxsize=12,
              populations=8, ncycles_per_iteration=300, niterations=6, model_selection="score",
              verbosity=0)
QUICK = dict(niterations=2, populations=4, population_size=20, ncycles_per_iteration=100)
T_END = 16.0


def solve_burgers(n_cells: int = 1000, x_range=(-1.0, 9.0), t_end: float = T_END,
                  every: float = 0.25):
    """Godunov's scheme; returns cell centres, the output times and u at those times."""
    x_edges = np.linspace(*x_range, n_cells + 1)
    x = 0.5 * (x_edges[:-1] + x_edges[1:])
    dx = x_edges[1] - x_edges[0]
    u = np.where((x > 0) & (x < 1), 1.0, 0.0)
    times = np.arange(every, t_end + 1e-9, every)
    snapshots, t = [], 0.0
    for t_out in times:
        while t < t_out - 1e-12:
            dt = min(0.45 * dx / max(np.abs(u).max(), 1e-12), t_out - t)
            left, right = u[:-1], u[1:]
            # Godunov flux of a convex flux f(u) = u^2/2 through each interior face.
            flux = np.maximum(0.5 * np.maximum(left, 0) ** 2, 0.5 * np.minimum(right, 0) ** 2)
            u[1:-1] -= dt / dx * (flux[1:] - flux[:-1])
            t += dt
        snapshots.append(u.copy())
    return x, times, np.array(snapshots)


def shock_positions(x: np.ndarray, snapshots: np.ndarray) -> np.ndarray:
    """Where u drops the most between neighbouring cells, at each output time."""
    jumps = snapshots[:, 1:] - snapshots[:, :-1]
    i = np.argmin(jumps, axis=1)
    return 0.5 * (x[i] + x[i + 1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny searches (smoke test)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--out", type=Path, default=Path("examples/output"),
                        help="folder for the picture (default: examples/output)")
    args = parser.parse_args(argv)
    settings = {**SEARCH, **(QUICK if args.quick else {}), "random_state": args.seed}

    x, times, u = solve_burgers()
    xs = shock_positions(x, u)
    late = times >= 2.5
    print(f"solved Burgers' equation up to t = {T_END:g}; shock at x = {xs[-1]:.3f} at the end "
          f"(true law sqrt(2t) = {np.sqrt(2 * T_END):.3f})\n")

    shock = HybridSRRegressor(**settings)
    shock.fit(times[late].reshape(-1, 1), xs[late], variable_names=["t"])
    print("shock position x_s(t), t >= 2.5:")
    print(shock)
    print(f"picked: x_s = {shock.sympy()}   (true law: sqrt(2 t) = 1.4142*sqrt(t))\n")

    # The field behind the shock: cells well inside the triangle, at a few times.
    rng = np.random.default_rng(args.seed)
    rows = [(xi, t, ui) for t, profile, front in zip(times[late], u[late], xs[late])
            for xi, ui in zip(x, profile) if 0.1 < xi < 0.9 * front]
    field = np.array(rows)[rng.choice(len(rows), size=300, replace=False)]
    wave = HybridSRRegressor(**settings)
    wave.fit(field[:, :2], field[:, 2], variable_names=["x", "t"])
    print("field u(x, t) behind the shock:")
    print(wave)
    print(f"picked: u = {wave.sympy()}   (true: x/t)")
    wave.model_selection = "best"  # PySR's rule, read at prediction time
    print(f"'best' would pick u = {wave.sympy()}: the scheme's shifted fan")
    wave.model_selection = "score"
    print(f"LaTeX:  u = {wave.latex()} \\quad x_s = {shock.latex()}")

    path = plot(x, times, u, xs, shock, wave, args.out / "exercise_burgers.png")
    print(f"wrote {path}")
    return 0


def plot(x, times, u, xs, shock, wave, path: Path) -> Path:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4.6), layout="constrained")
    profiles, path_ax = fig.subplots(1, 2)
    shown = [0.5, 2.0, 4.0, 8.0, 16.0]
    colors = ["tab:gray", "tab:blue", "tab:orange", "tab:green", "tab:red"]
    for t, color in zip(shown, colors):
        k = int(np.argmin(np.abs(times - t)))
        profiles.plot(x, u[k], color=color, lw=1.5, label=f"t = {t:g}, solved")
        if t >= 2.5:  # the formulas' reconstruction: u(x, t) behind x_s(t), 0 ahead
            front = shock.predict(np.array([[t]]))[0]
            inside = (x > 0) & (x < front)
            grid = np.column_stack([x[inside], np.full(inside.sum(), t)])
            profiles.plot(np.r_[x[inside], front, front], np.r_[wave.predict(grid),
                          wave.predict(np.array([[front, t]]))[0], 0.0],
                          color="k", ls="--", lw=1)
    profiles.plot([], [], color="k", ls="--", lw=1,
                  label=f"u = {wave.sympy().evalf(3)} behind\n$x_s = {shock.latex()}$ (found)")
    profiles.set(xlabel="x", ylabel="u(x, t)", xlim=(-0.5, 7), ylim=(-0.05, 1.1),
                 title="solved profiles and the formulas' reconstruction")
    profiles.legend(fontsize=8)

    early = times < 2.5
    t_fine = np.linspace(2.5, T_END, 200)
    path_ax.plot(t_fine, np.sqrt(2 * t_fine), color="tab:green", lw=5, alpha=0.4,
                 label=r"true law: $x_s = \sqrt{2t}$")
    path_ax.plot(np.linspace(0, 2, 20), 1 + np.linspace(0, 2, 20) / 2, color="0.6", lw=5,
                 alpha=0.4, label=r"before the fan catches up: $1 + t/2$")
    path_ax.scatter(times[~early], xs[~early], s=12, color="k",
                    label="from the solved field (fitted)")
    path_ax.scatter(times[early], xs[early], s=12, color="0.6", label="not fitted (t < 2.5)")
    path_ax.plot(t_fine, shock.predict(t_fine.reshape(-1, 1)), color="tab:red", ls="--",
                 label=f"found: $x_s = {shock.latex()}$")
    path_ax.set(xlabel="t", ylabel="shock position $x_s$", title="the shock's path")
    path_ax.legend(fontsize=8, loc="lower right")
    for ax in (profiles, path_ax):
        ax.grid(alpha=0.3)
    fig.suptitle("Exercise 2: Burgers' equation, u_t + u u_x = 0, from a top-hat start")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    return path


if __name__ == "__main__":
    raise SystemExit(main())
