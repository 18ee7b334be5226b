"""Coupling with neural networks: distil a physics-informed network into a formula.

Seed 002's workflow. A small PINN (a torch MLP) learns the solution of the ODE

    du/dt = 3 cos(t) - 0.5,   u(0) = 0,   t in [-5, 5]

from the equation alone (no solution data; the loss is the ODE residual at
collocation points plus the initial condition). Its exact solution is the
seed's recovered expression u = 3 sin(t) - 0.5 t. The network's predictions
``y_sr`` are then handed to the symbolic search, with the network itself as
the *teacher* (``teacher=pinn``, ``guidance=["student"]``): an interpretable
EQL student is distilled from it, and the student's formula and its parts
seed the genetic search. The plot compares the exact solution, the PINN and
the formula.

    python examples/pinn_distill.py [--quick] [--seed N] [--out DIR]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from hybridsr import HybridSRRegressor

T_MIN, T_MAX = -5.0, 5.0
QUICK = dict(niterations=3, populations=4, population_size=20, ncycles_per_iteration=100,
             timeout_in_seconds=8.0)


def exact(t):
    return 3 * np.sin(t) - 0.5 * t


class PINN(torch.nn.Module):
    """u(t) as a tanh MLP; maps a tensor of shape (n, 1) to (n, 1)."""

    def __init__(self, width: int = 32):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(1, width), torch.nn.Tanh(),
                                       torch.nn.Linear(width, width), torch.nn.Tanh(),
                                       torch.nn.Linear(width, 1))

    def forward(self, t):
        return self.net(t / T_MAX)  # inputs scaled to [-1, 1]


def train_pinn(steps: int, seed: int) -> tuple[PINN, list[float]]:
    """Minimise the ODE residual at collocation points plus the initial condition."""
    torch.manual_seed(seed)
    pinn = PINN()
    t = torch.linspace(T_MIN, T_MAX, 200).reshape(-1, 1).requires_grad_(True)
    t0 = torch.zeros(1, 1)
    optimizer = torch.optim.Adam(pinn.parameters(), lr=1e-2)
    schedule = torch.optim.lr_scheduler.StepLR(optimizer, step_size=max(steps // 3, 1), gamma=0.3)
    history = []
    for _ in range(steps):
        optimizer.zero_grad()
        u = pinn(t)
        dudt = torch.autograd.grad(u, t, torch.ones_like(u), create_graph=True)[0]
        residual = dudt - (3 * torch.cos(t) - 0.5)
        loss = residual.pow(2).mean() + pinn(t0).pow(2).mean()
        loss.backward()
        optimizer.step()
        schedule.step()
        history.append(loss.item())
    return pinn, history


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short training and search")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--out", type=Path, default=Path("examples/output"),
                        help="folder for the picture (default: examples/output)")
    args = parser.parse_args(argv)

    torch.set_num_threads(1)  # a network this small trains fastest on one thread
    start = time.perf_counter()
    pinn, history = train_pinn(300 if args.quick else 2000, args.seed)
    t = np.linspace(T_MIN, T_MAX, 200)
    with torch.no_grad():
        y_sr = pinn(torch.tensor(t, dtype=torch.float32).reshape(-1, 1)).numpy().ravel()
    print(f"PINN: {len(history)} steps in {time.perf_counter() - start:.1f} s, final loss "
          f"{history[-1]:.2e}, max |u_PINN - u_exact| = {np.max(np.abs(y_sr - exact(t))):.3g}")

    settings = dict(binary_operators=["+", "-", "*", "/"], unary_operators=["sin", "cos"],
                    niterations=10, maxsize=15, timeout_in_seconds=30.0,
                    # The PINN is accurate to about 1e-3, so a loss of 1e-6 is as exact
                    # as its predictions allow: stop there.
                    early_stop_condition=1e-6,
                    guidance=["student"], teacher=pinn, guidance_time_fraction=0.25,
                    random_state=args.seed)
    model = HybridSRRegressor(**{**settings, **(QUICK if args.quick else {})})
    start = time.perf_counter()
    model.fit(t.reshape(-1, 1), y_sr, variable_names=["t"])
    report = model.guidance_[0]
    print(f"search with the PINN as teacher: {time.perf_counter() - start:.1f} s "
          f"({report['seconds']:.1f} s distilling the student)")
    if report["candidates"]:
        student = report["candidates"][0]
        print(f"student's formula: {student if len(student) < 160 else student[:157] + '...'}")
    print(f"seeded {report['n_initial']} trees and {report['n_donors']} graft donors; "
          f"failures: {report['failures'] or 'none'}\n")
    print(model)
    print(f"\npicked: u(t) = {model.sympy()}   (exact: 3 sin(t) - 0.5 t)")
    print(f"LaTeX:  {model.latex()}")
    t_out = np.array([[7.0]])
    print(f"outside the training range, u(7) = {model.predict(t_out)[0]:.4f} from the formula, "
          f"{pinn(torch.tensor([[7.0]])).item():.4f} from the PINN, exact {exact(7.0):.4f}")

    path = plot(t, y_sr, pinn, model, args.out / "pinn_distill.png")
    print(f"wrote {path}")
    return 0


def plot(t, y_sr, pinn: PINN, model: HybridSRRegressor, path: Path) -> Path:
    from matplotlib.figure import Figure

    wide = np.linspace(-8, 8, 400)  # beyond the training range on both sides
    with torch.no_grad():
        pinn_wide = pinn(torch.tensor(wide, dtype=torch.float32).reshape(-1, 1)).numpy().ravel()
    formula = model.predict(wide.reshape(-1, 1))
    fig = Figure(figsize=(6.8, 6.0), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1.6])
    for ax in (top, bottom):
        ax.axvspan(T_MIN, T_MAX, color="0.92", zorder=0)
    top.plot(wide, exact(wide), color="tab:green", lw=5, alpha=0.4,
             label="exact: u = 3 sin t - 0.5 t")
    top.plot(wide, pinn_wide, color="tab:blue", label="PINN")
    top.plot(wide, formula, color="tab:red", ls="--", label=f"formula: {model.sympy().evalf(4)}")
    top.set(ylabel="u(t)", title="A PINN's solution distilled into a formula")
    top.legend(loc="lower left", fontsize=9)
    top.text(0, top.get_ylim()[1], "training range", ha="center", va="top", fontsize=9,
             color="0.35")
    floor = 1e-8
    bottom.semilogy(wide, np.abs(pinn_wide - exact(wide)) + floor, color="tab:blue", label="PINN")
    bottom.semilogy(wide, np.abs(formula - exact(wide)) + floor, color="tab:red", ls="--",
                    label="formula")
    bottom.set(xlabel="t", ylabel="|error|")
    bottom.legend(loc="upper center", ncols=2, fontsize=9)
    for ax in (top, bottom):
        ax.grid(alpha=0.3)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    return path


if __name__ == "__main__":
    raise SystemExit(main())
