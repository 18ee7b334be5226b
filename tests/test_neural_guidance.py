"""The networks in use: EQL and student estimators, and the student guiding a search."""

import pickle

import numpy as np
import pytest
import sympy

torch = pytest.importorskip("torch")

from hybridsr import HybridSRRegressor  # noqa: E402
from hybridsr.guidance import StudentGenerator  # noqa: E402
from hybridsr.neural import DistilledStudentRegressor, EQLRegressor  # noqa: E402

SHORT = dict(epochs=(150, 600, 100), random_state=0)


def _product_data(n=120):
    X = np.random.default_rng(0).uniform(-2, 2, (n, 2))
    return X, X[:, 0] * X[:, 1]


def test_eql_regressor_finds_a_product():
    X, y = _product_data()
    model = EQLRegressor(unary_operators=(), binary_operators=("+", "*"), n_layers=1, **SHORT)
    model.fit(X, y, variable_names=["a", "b"])
    a, b = sympy.symbols("a b")
    assert model.expression_.free_symbols == {a, b}
    assert np.sqrt(np.mean((model.predict(X) - y) ** 2)) < 0.05 * np.std(y)
    # The prediction is the formula, and a fitted model pickles.
    values = sympy.lambdify([a, b], model.sympy())(X[:, 0], X[:, 1])
    np.testing.assert_allclose(model.predict(X), values, rtol=1e-9, atol=1e-12)
    clone = pickle.loads(pickle.dumps(model))
    np.testing.assert_allclose(clone.predict(X), model.predict(X))


def test_student_distils_a_users_network():
    X, y = _product_data()
    net = torch.nn.Bilinear(1, 1, 1, bias=False).double()
    with torch.no_grad():
        net.weight.fill_(1.0)

    class Product(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = net

        def forward(self, x):
            return self.net(x[:, :1], x[:, 1:]).squeeze(-1)

    model = DistilledStudentRegressor(unary_operators=(), binary_operators=("+", "*"), n_layers=1,
                                      teacher=Product(), n_dense=500, **SHORT).fit(X, y)
    assert model.teacher_.report.stopped == "pretrained"
    assert np.sqrt(np.mean((model.predict(X) - y) ** 2)) < 0.05 * np.std(y)


def test_student_guidance_seeds_a_search():
    X = np.random.default_rng(1).uniform(-3, 3, (150, 1))
    y = 3 * np.sin(X[:, 0]) - 0.5 * X[:, 0]
    generator = StudentGenerator(student_options={"epochs": (150, 600, 100)})
    model = HybridSRRegressor(unary_operators=["sin"], guidance=[generator], guidance_start="start",
                              niterations=3, populations=4, population_size=20,
                              ncycles_per_iteration=100, random_state=0, verbosity=0)
    model.fit(X, y, variable_names=["x"])
    report = model.guidance_[0]
    assert not report["failures"], report
    assert report["n_initial"] > 0 and report["n_donors"] > 0
    assert generator.last_report["teacher"].validation_r2 > 0.99
    assert model.score(X, y) > 0.99


def test_stalled_search_distils_a_users_teacher():
    X, _ = _product_data()
    y = 2.5 * X[:, 0] * X[:, 1] + X[:, 0]

    class Law(torch.nn.Module):
        def forward(self, x):
            return 2.5 * x[:, 0] * x[:, 1] + x[:, 0]

    generator = StudentGenerator(student_options={"epochs": (150, 600, 100), "n_layers": 1,
                                                  "n_dense": 500})
    # One cycle per iteration without constant fitting: the GP cannot get far, so it stalls.
    model = HybridSRRegressor(guidance=[generator], teacher=Law(), niterations=8, populations=2,
                              population_size=20, ncycles_per_iteration=1,
                              should_optimize_constants=False, random_state=0, verbosity=0)
    model.fit(X, y, variable_names=["a", "b"])
    report = model.guidance_[0]
    assert report["reason"] in ("stall", "latest start") and not report["failures"], report
    assert generator.last_report["teacher"].stopped == "pretrained"
    assert model.equations_["loss"].min() < 1e-3 * np.var(y)
