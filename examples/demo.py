"""Fit the constants of a*sin(x) + b*x to noisy samples of the seed's 3 sin(x) - 0.5x.

Run with ``make demo``. A later version turns this into a full search.
"""

import numpy as np

from hybridsr import Dataset, Evaluator, Language, OperatorSet, fit_constants
from hybridsr.expr import Constant, Individual, compile_tree, to_string, with_constants


def main(seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-5, 5, size=(200, 1))
    y = 3 * np.sin(x[:, 0]) - 0.5 * x[:, 0] + 0.1 * rng.standard_normal(200)

    language = Language(OperatorSet.from_spec(["+", "*"], ["sin"]), 1, variable_names=("x",))
    P, var = language.primitive, language.variable(0)
    guess = Individual([P("+"), P("*"), Constant(1.0), P("sin"), var, P("*"), Constant(1.0), var])

    data = Dataset.from_arrays(x, y)
    evaluator = Evaluator(language.operator_set)
    fit = fit_constants(compile_tree(guess, language), evaluator, data, rng=rng)
    fitted = with_constants(guess, fit.constants)

    print("data:    y = 3 sin(x) - 0.5 x + noise (sd 0.1), 200 points")
    print(f"start:   {to_string(guess, language)}")
    print(f"fitted:  {to_string(fitted, language, precision=4)}")
    print(f"MSE:     {fit.loss:.5f} after {fit.n_evals} evaluations")


if __name__ == "__main__":
    main()
