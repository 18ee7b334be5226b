"""Custom operators, per-operator complexities and constraints.

The seed's custom operator ``special(x, y) = cos(x) * (x + y)`` is written as
in PySR, as a definition string; hybridsr parses it with sympy, checks it on
probe values, differentiates it for the constant fits and compiles it into
the numba kernels with the built-ins. The data follow
``y = 1.5 special(a, b) + c^2``, which the custom operator makes a formula of
complexity 10 instead of 13.

The search also shows the other knobs of the search space:

* ``complexity_of_operators``: ``special`` counts 2 and ``exp`` 3 (default 1);
* ``constraints``: the denominator of ``/`` at most complexity 3, the
  argument of ``exp`` at most 3;
* ``nested_constraints``: no ``special`` inside ``special``, no ``cos`` in ``cos``.

    python examples/custom_operators.py [--quick] [--seed N]

The first run compiles the kernels of this operator set (about 20 s).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from hybridsr import HybridSRRegressor, OperatorSet

SPECIAL = "special(x, y) = cos(x) * (x + y)"
QUICK = dict(niterations=3, populations=4, population_size=20, ncycles_per_iteration=100)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tiny search (smoke test)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    args = parser.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    X = rng.uniform(-3, 3, size=(300, 3))
    a, b, c = X.T
    y = 1.5 * np.cos(a) * (a + b) + c**2

    settings = dict(
        binary_operators=["+", "-", "*", "/", SPECIAL],
        unary_operators=["cos", "exp"],
        complexity_of_operators={"special": 2, "exp": 3},
        constraints={"/": (-1, 3), "exp": 3},
        nested_constraints={"special": {"special": 0}, "cos": {"cos": 0}},
        niterations=15,
        maxsize=20,
        early_stop_condition=1e-12,  # noise-free data: stop at an exact fit
        random_state=args.seed,
    )
    model = HybridSRRegressor(**{**settings, **(QUICK if args.quick else {})})
    start = time.perf_counter()
    model.fit(X, y, variable_names=["a", "b", "c"])
    print(f"searched for {time.perf_counter() - start:.1f} s\n")

    print("operators of this search (name, arity, complexity):")
    for op in model.language_.operator_set.operators:
        print(f"  {op.name:8s} {op.arity}  {op.complexity:g}"
              + (f"   defined as {op.definition!r}" if op.definition else ""))
    print()
    print(model)
    print(f"\npicked: y = {model.get_best()['equation']}")
    print(f"as sympy (special expanded): y = {model.sympy()}")
    print(f"LaTeX: {model.latex()}")

    # Mistakes in a definition are reported before any work, with the fix.
    for definition in ("bad(x, y) = cos(x) * z", "sin(x) = x - x**3/6"):
        try:
            OperatorSet.from_spec(["+", definition], [])
        except ValueError as error:
            print(f"\n{definition!r} is rejected:\n  {error}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
