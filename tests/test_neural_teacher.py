"""The teacher network: fitting, denoising, gradients, determinism, validation, pickling."""

import pickle
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from hybridsr.neural import STOP_REASONS, Teacher, TeacherError  # noqa: E402
from hybridsr.neural import teacher as teacher_module  # noqa: E402

NOISE = 0.1


def seed_function(x):
    return 3 * np.sin(x) - 0.5 * x


@pytest.fixture(scope="module")
def sin_data():
    rng = np.random.default_rng(7)
    X = rng.uniform(-3, 3, (300, 1))
    return X, seed_function(X[:, 0]) + NOISE * rng.standard_normal(300)


@pytest.fixture(scope="module")
def sin_teacher(sin_data):
    # A higher learning rate than the default stops early in a few hundred epochs.
    return Teacher.fit(*sin_data, hidden=(32, 16), learning_rate=1e-2, random_state=0)


def tiny_fit(random_state=0, **kwargs):
    """A few epochs on a small problem: enough to compare runs, cheap enough to repeat."""
    rng = np.random.default_rng(1)
    X = rng.uniform(-1, 1, (40, 2))
    y = X[:, 0] * X[:, 1] + np.cos(X[:, 0])
    kwargs = {"hidden": (8,), "max_epochs": 15, **kwargs}
    return Teacher.fit(X, y, random_state=random_state, **kwargs), X


def test_fits_the_seed_function_and_denoises_it(sin_data, sin_teacher):
    X, _ = sin_data
    report = sin_teacher.report
    assert report.validation_r2 > 0.99
    assert report.validation_rmse < 1.5 * NOISE  # the held-out targets carry the noise
    assert report.stopped in STOP_REASONS and 0 < report.epochs <= 2000 and report.seconds > 0
    # Closer to the noiseless truth than the noisy targets are.
    error = sin_teacher.predict(X) - seed_function(X[:, 0])
    assert np.sqrt(np.mean(error**2)) < 0.5 * NOISE
    assert sin_teacher.predict(X).shape == (300,) and sin_teacher(X).dtype == np.float64


def test_gradient_matches_finite_differences_and_the_truth(sin_teacher):
    x = np.linspace(-2.5, 2.5, 41)[:, None]
    grad = sin_teacher.gradient(x)
    assert grad.shape == (41, 1)
    h = 1e-2  # large enough that float32 rounding stays far below the tolerance
    finite_diff = (sin_teacher.predict(x + h) - sin_teacher.predict(x - h)) / (2 * h)
    np.testing.assert_allclose(grad[:, 0], finite_diff, atol=2e-2)
    np.testing.assert_allclose(grad[:, 0], 3 * np.cos(x[:, 0]) - 0.5, atol=0.4)


def test_hidden_returns_each_layer(sin_teacher):
    x = np.linspace(-3, 3, 7)[:, None]
    layers = sin_teacher.hidden(x)
    assert [a.shape for a in layers] == [(7, 32), (7, 16)]
    assert all(np.all(np.isfinite(a)) and np.all(a >= -0.28) for a in layers)  # silu >= -0.278


def test_sample_stays_in_the_box(sin_data, sin_teacher):
    X, _ = sin_data
    np.testing.assert_array_equal(sin_teacher.low, X.min(axis=0))
    np.testing.assert_array_equal(sin_teacher.high, X.max(axis=0))
    with pytest.raises(ValueError):
        sin_teacher.low[0] = 0.0  # read-only
    rng = np.random.default_rng(0)
    points = sin_teacher.sample(500, rng)
    assert points.shape == (500, 1)
    assert np.all(points >= sin_teacher.low) and np.all(points <= sin_teacher.high)
    wide = sin_teacher.sample(2000, rng, margin=0.5)
    width = sin_teacher.high - sin_teacher.low
    assert np.all(wide >= sin_teacher.low - 0.5 * width) and np.all(wide <= sin_teacher.high + 0.5 * width)
    assert wide.min() < sin_teacher.low[0] and wide.max() > sin_teacher.high[0]
    np.testing.assert_array_equal(sin_teacher.sample(5, np.random.default_rng(3)),
                                  sin_teacher.sample(5, np.random.default_rng(3)))
    with pytest.raises(TypeError, match="Generator"):
        sin_teacher.sample(5, 3)


def test_pickles_with_its_weights(sin_teacher):
    clone = pickle.loads(pickle.dumps(sin_teacher))
    x = np.linspace(-3, 3, 11)[:, None]
    np.testing.assert_array_equal(clone.predict(x), sin_teacher.predict(x))
    np.testing.assert_array_equal(clone.gradient(x), sin_teacher.gradient(x))
    assert clone.report == sin_teacher.report
    assert len(clone.hidden(x)) == 2 and not clone.low.flags.writeable


def test_same_seed_same_teacher_whatever_the_threads():
    previous = torch.get_num_threads()
    rng_state = torch.get_rng_state()
    try:
        torch.set_num_threads(2)
        first, X = tiny_fit(3)
        assert torch.get_num_threads() == 2  # restored after fit
        torch.set_num_threads(1)
        second, _ = tiny_fit(3)
    finally:
        torch.set_num_threads(previous)
    assert torch.equal(torch.get_rng_state(), rng_state)  # the global RNG was not used
    np.testing.assert_array_equal(first.predict(X), second.predict(X))
    assert first.report.validation_rmse == second.report.validation_rmse
    assert not np.array_equal(tiny_fit(4)[0].predict(X), first.predict(X))
    # A SeedSequence is the int it was built from; a Generator gives a seed of its own.
    np.testing.assert_array_equal(tiny_fit(np.random.SeedSequence(3))[0].predict(X), first.predict(X))
    np.testing.assert_array_equal(tiny_fit(np.random.default_rng(5))[0].predict(X),
                                  tiny_fit(np.random.default_rng(5))[0].predict(X))


def test_polishing_lowers_the_error_and_keeps_float64():
    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, (400, 2))
    y = np.sin(X[:, 0]) * X[:, 1] + X[:, 1] ** 2
    X_test = rng.uniform(-2, 2, (400, 2))
    y_test = np.sin(X_test[:, 0]) * X_test[:, 1] + X_test[:, 1] ** 2
    errors = {}
    for polish in (None, 2.0):
        teacher = Teacher.fit(X, y, hidden=(32, 32), max_epochs=300, polish_seconds=polish,
                              random_state=0)
        errors[polish] = np.sqrt(np.mean((teacher.predict(X_test) - y_test) ** 2))
    assert errors[2.0] < 0.5 * errors[None]
    assert teacher._dtype == torch.float64


def test_minibatches_and_time_limit():
    teacher, X = tiny_fit(0, batch_size=16, max_epochs=3)
    assert teacher.report.epochs == 3 and teacher.report.stopped == "max_epochs"
    limited, _ = tiny_fit(0, max_epochs=1000, time_limit=1e-6)
    assert limited.report.stopped == "time_limit" and limited.report.epochs == 1


def test_a_time_limit_is_spent_training_not_importing():
    # torch imports torch._dynamo when the first optimizer is built (seconds); a fresh
    # process shows whether that import ate a short time limit (it left one epoch).
    import subprocess
    import sys

    script = ("import numpy as np\n"
              "from hybridsr.neural import Teacher\n"
              "X = np.random.default_rng(0).uniform(-2, 2, (200, 1))\n"
              "teacher = Teacher.fit(X, np.sin(X[:, 0]), hidden=(8,), time_limit=0.5, random_state=0)\n"
              "print(teacher.report.epochs)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.split()[-1]) > 10


def test_early_stopping_restores_a_finite_teacher():
    teacher, X = tiny_fit(0, max_epochs=1000, patience=2, learning_rate=0.05)
    assert teacher.report.stopped == "early_stopping" and teacher.report.epochs < 1000
    assert np.all(np.isfinite(teacher.predict(X)))


def test_no_warnings_reach_the_user():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        teacher, X = tiny_fit(0, max_epochs=3)
        teacher.gradient(X), teacher.hidden(X), pickle.loads(pickle.dumps(teacher))


def test_from_module_wraps_a_linear_model():
    module = torch.nn.Linear(2, 1)
    with torch.no_grad():
        module.weight.copy_(torch.tensor([[2.0, -1.0]]))
        module.bias.fill_(0.5)
    X = np.random.default_rng(0).uniform(-1, 1, (20, 2))
    y = 2 * X[:, 0] - X[:, 1] + 0.5
    teacher = Teacher.from_module(module, X, y)
    np.testing.assert_allclose(teacher.predict(X), y, atol=1e-6)
    np.testing.assert_allclose(teacher.gradient(X[:3]), [[2.0, -1.0]] * 3, atol=1e-6)
    assert teacher.hidden(X) == []
    assert teacher.report.validation_r2 > 0.999999 and teacher.report.stopped == "pretrained"
    assert module.training  # the user's module was copied, not switched to eval mode
    assert np.isnan(Teacher.from_module(module, X).report.validation_rmse)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(teacher)).predict(X), teacher.predict(X))
    with pytest.raises(ValueError, match=r"\(n,\) or \(n, 1\)"):
        Teacher.from_module(torch.nn.Linear(2, 3), X)
    with pytest.raises(TypeError, match="torch.nn.Module"):
        Teacher.from_module(lambda x: x, X)


def test_divergence_raises_teacher_error(monkeypatch):
    # Adam's first step moves every weight by the learning rate, so the outputs overflow float32.
    with pytest.raises(TeacherError, match="diverged"):
        tiny_fit(0, learning_rate=1e20)

    def nan_loss(prediction, target):
        return torch.mean((prediction - target) ** 2) * float("nan")

    monkeypatch.setattr(teacher_module, "_mse", nan_loss)
    with pytest.raises(TeacherError, match="lower learning_rate"):
        tiny_fit(0)


GOOD_X = np.linspace(0, 1, 20)[:, None]
GOOD_Y = np.linspace(0, 1, 20)
NAN_X = GOOD_X.copy()
NAN_X[4, 0] = np.nan


@pytest.mark.parametrize("X, y, kwargs, match", [
    (NAN_X, GOOD_Y, {}, r"X contains 1 NaN or inf.*row 4.*impute"),
    (GOOD_X, np.r_[GOOD_Y[:-1], np.inf], {}, r"y contains 1 NaN or inf.*row 19"),
    (GOOD_X[:, 0], GOOD_Y, {}, r"X must be 2-D.*reshape\(-1, 1\)"),
    (GOOD_X, GOOD_Y[:, None], {}, r"y must be 1-D.*ravel"),
    (GOOD_X, GOOD_Y * 1e200, {}, r"so large.*rescale"),
    (GOOD_X, GOOD_Y[:-1], {}, r"20 rows but y has 19"),
    (GOOD_X[:5], GOOD_Y[:5], {}, r"only 5 rows.*at least 10"),
    (GOOD_X, GOOD_Y, {"hidden": (16, 0)}, r"hidden must be.*positive"),
    (GOOD_X, GOOD_Y, {"hidden": ()}, r"hidden must be"),
    (GOOD_X, GOOD_Y, {"activation": "sigmod"}, r"activation='sigmod'.*'silu'.*'tanh'"),
    (GOOD_X, GOOD_Y, {"activation": "tanhh"}, r"Did you mean 'tanh'"),
    (GOOD_X, GOOD_Y, {"validation_fraction": 0.0}, r"validation_fraction must lie in \(0"),
    (GOOD_X, GOOD_Y, {"validation_fraction": 0.6}, r"validation_fraction must lie in .*0.5\]"),
    (GOOD_X, GOOD_Y, {"learning_rate": -1.0}, r"learning_rate"),
    (GOOD_X, GOOD_Y, {"max_epochs": 0}, r"max_epochs must be an integer >= 1"),
    (GOOD_X, GOOD_Y, {"time_limit": 0}, r"time_limit"),
    (GOOD_X, GOOD_Y, {"polish_seconds": -1.0}, r"polish_seconds"),
    (GOOD_X, GOOD_Y, {"random_state": "seed"}, r"random_state must be"),
    (GOOD_X, GOOD_Y, {"device": "gpu"}, r"device='gpu'"),
])
def test_bad_inputs_are_explained(X, y, kwargs, match):
    with pytest.raises(ValueError, match=match):
        Teacher.fit(X, y, **kwargs)


def test_bad_prediction_inputs_are_explained(sin_teacher):
    with pytest.raises(ValueError, match="2 columns but the teacher was built on 1"):
        sin_teacher.predict(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="2-D"):
        sin_teacher.gradient(np.zeros(3))
    assert sin_teacher.predict(np.zeros((0, 1))).shape == (0,)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only fallback")
def test_device_without_cuda():
    teacher, _ = tiny_fit(0, max_epochs=1)
    assert teacher.device.type == "cpu"
    with pytest.raises(ValueError, match="CUDA is not available"):
        tiny_fit(0, device="cuda")



def test_columns_spanning_decades_enter_as_logarithms():
    # log F of masses and distances spanning eight decades (Newton's law): linear in the
    # logarithms, hopeless for a network that sees the raw columns standardised.
    rng = np.random.default_rng(0)
    X = np.exp(rng.uniform(np.log([1e22, 1e22, 1e9]), np.log([1e30, 1e30, 1e13]), (300, 3)))
    y = np.log(6.67e-11 * X[:, 0] * X[:, 1] / X[:, 2] ** 2)
    teacher = Teacher.fit(X, y, hidden=(32, 32), learning_rate=1e-2, random_state=0)
    assert teacher.report.validation_r2 > 0.999
    grad = teacher.gradient(X[:20])
    np.testing.assert_allclose(grad * X[:20], np.tile([1.0, 1.0, -2.0], (20, 1)), atol=0.1)
    points = teacher.sample(4000, np.random.default_rng(1))
    assert np.all((points >= teacher.low) & (points <= teacher.high))
    # log-uniform: half of the draws below the geometric middle of the box
    middle = np.sqrt(teacher.low * teacher.high)
    np.testing.assert_allclose(np.mean(points < middle, axis=0), 0.5, atol=0.05)
