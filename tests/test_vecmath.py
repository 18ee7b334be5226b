"""The vectorisable elementary functions agree with numpy to a few ulp.

numpy's (libm's) results serve as the reference; they are themselves within
about half an ulp, so the bounds below hold for the error against the exact
value with at most that much slack. Every function is exercised through its
column helper, which is compiled with the generated kernels' fast-math flags,
so the tests also check that those flags do not disturb the arithmetic.
"""

import math
import re

import numpy as np
import pytest
from numba import njit

from hybridsr.evaluate import vecmath

NAMES = ("exp", "log", "sin", "cos", "tan", "tanh")
# Documented maximum errors in ulp (the module docstring and the report).
MAX_ULP = {"exp": 1, "log": 1, "sin": 2, "cos": 2, "tan": 3, "tanh": 2}


@pytest.fixture(scope="module")
def columns():
    """Every column helper, compiled (or loaded from numba's cache) once for this module."""
    helpers = {name: getattr(vecmath, f"{name}_column") for name in NAMES}
    x = np.linspace(0.5, 1.5, 8)
    for helper in helpers.values():
        helper(x, np.empty_like(x), x.size)
    return helpers


def evaluate(helper, x):
    out = np.empty_like(x)
    helper(x, out, x.size)
    return out


def ulp_error(got, want):
    """|got - want| in ulps of want; 0 where both are the same inf or both nan."""
    got, want = np.asarray(got, float), np.asarray(want, float)
    same = (got == want) | (np.isnan(got) & np.isnan(want))
    with np.errstate(invalid="ignore", over="ignore"):
        err = np.abs(got - want) / np.spacing(np.abs(want))
    err = np.where(same, 0.0, err)
    return np.where(np.isnan(err), np.inf, err)


def log_uniform(rng, low, high, size, signed=True):
    magnitude = np.exp(rng.uniform(np.log(low), np.log(high), size))
    return magnitude * rng.choice([-1.0, 1.0], size) if signed else magnitude


def samples(name, rng):
    """Dense inputs over the ranges each function is defined on, plus the awkward edges."""
    n = 200_000
    if name == "exp":
        return np.concatenate([rng.uniform(-750.0, 712.0, n), log_uniform(rng, 1e-300, 750.0, n),
                               rng.uniform(-746.0, -707.0, n)])  # subnormal results
    if name == "log":
        return np.concatenate([log_uniform(rng, 5e-324, 1.7e308, n, signed=False),
                               rng.uniform(0.0, 3.0, n), 1.0 + log_uniform(rng, 1e-16, 0.4, n),
                               log_uniform(rng, 5e-324, 2.3e-308, n, signed=False)])
    if name == "tanh":
        return np.concatenate([rng.uniform(-25.0, 25.0, n), log_uniform(rng, 1e-300, 100.0, n)])
    limit = vecmath.TRIG_LIMIT
    return np.concatenate([rng.uniform(-10.0, 10.0, n), log_uniform(rng, 1e-300, limit, n)])


@pytest.mark.parametrize("name", NAMES)
def test_dense_samples_are_within_the_documented_ulp_bound(columns, name):
    x = samples(name, np.random.default_rng(NAMES.index(name)))
    with np.errstate(all="ignore"):
        want = getattr(np, name)(x)
    err = ulp_error(evaluate(columns[name], x), want)
    worst = int(np.argmax(err))
    assert err[worst] <= MAX_ULP[name], f"{name}({x[worst]!r}) is {err[worst]} ulp off"


def nearest_multiples_of_half_pi():
    """The doubles nearest to k pi/2: the hardest inputs for the argument reduction."""
    import mpmath

    ks = [1, 2, 3, 6, 19, 29, 58, 116, 232, 464, 928, 1856, 3712, 7424, 14479, 29327, 58285,
          145897, 204551, 409102, 818204]  # the closest approach in each binade up to 2^20
    ks += list(np.random.default_rng(7).integers(1, 1_000_000, 300))
    with mpmath.workdps(60):
        x = np.array([float(int(k) * mpmath.pi / 2) for k in ks])
    return np.concatenate([x, -x, np.nextafter(x, 0.0), np.nextafter(x, np.inf)])


@pytest.mark.parametrize("name", ["sin", "cos", "tan"])
def test_the_reduction_is_accurate_next_to_multiples_of_half_pi(columns, name):
    x = nearest_multiples_of_half_pi()
    assert np.abs(x).max() < vecmath.TRIG_LIMIT
    err = ulp_error(evaluate(columns[name], x), getattr(np, name)(x))
    assert err.max() <= MAX_ULP[name]


DBL_MAX = 1.7976931348623157e308
SPECIAL_CASES = [
    # (function, input, expected)
    ("exp", 0.0, 1.0), ("exp", -0.0, 1.0), ("exp", 709.78, math.exp(709.78)),
    ("exp", 710.0, math.inf), ("exp", 1e300, math.inf), ("exp", math.inf, math.inf),
    ("exp", -745.0, 5e-324), ("exp", -746.0, 0.0), ("exp", -1e300, 0.0),
    ("exp", -math.inf, 0.0), ("exp", math.nan, math.nan),
    ("log", 1.0, 0.0), ("log", 0.0, -math.inf), ("log", -0.0, -math.inf),
    ("log", -1.0, math.nan), ("log", -math.inf, math.nan), ("log", math.inf, math.inf),
    ("log", math.nan, math.nan), ("log", 5e-324, math.log(5e-324)),
    ("log", DBL_MAX, math.log(DBL_MAX)),
    ("sin", 0.0, 0.0), ("sin", 1e-310, 1e-310), ("sin", math.inf, math.nan),
    ("sin", -math.inf, math.nan), ("sin", math.nan, math.nan),
    ("cos", 0.0, 1.0), ("cos", math.inf, math.nan), ("cos", math.nan, math.nan),
    ("tan", 0.0, 0.0), ("tan", math.inf, math.nan), ("tan", math.nan, math.nan),
    ("tanh", 0.0, 0.0), ("tanh", 1e-310, 1e-310), ("tanh", 19.5, 1.0), ("tanh", -19.5, -1.0),
    ("tanh", 1e300, 1.0), ("tanh", math.inf, 1.0), ("tanh", -math.inf, -1.0),
    ("tanh", math.nan, math.nan),
]


@pytest.mark.parametrize(("name", "x", "expected"), SPECIAL_CASES)
def test_special_values_match_numpy(columns, name, x, expected):
    scalar = getattr(vecmath, f"v{name}")
    column = evaluate(columns[name], np.array([x]))[0]
    for got in (scalar(x), column):
        if math.isnan(expected):
            assert math.isnan(got)
        else:
            assert got == expected and math.copysign(1.0, got) == math.copysign(1.0, expected)


@pytest.mark.parametrize("name", ["sin", "tan", "tanh"])
def test_odd_functions_keep_the_sign_of_zero(columns, name):
    assert math.copysign(1.0, getattr(vecmath, f"v{name}")(-0.0)) == -1.0
    assert math.copysign(1.0, evaluate(columns[name], np.array([-0.0]))[0]) == -1.0


@pytest.mark.parametrize("name", ["sin", "cos", "tan"])
def test_huge_trig_arguments_flag_nan_and_the_column_falls_back_to_libm(columns, name):
    scalar = getattr(vecmath, f"v{name}")
    assert math.isnan(scalar(2.0 * vecmath.TRIG_LIMIT))
    assert not math.isnan(scalar(vecmath.TRIG_LIMIT))
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.uniform(-3.0, 3.0, 500), log_uniform(rng, 1e6, 1e300, 20)])
    rng.shuffle(x)
    # libm element by element: numpy's SIMD tan can differ from it in the last bit.
    libm = np.vectorize(getattr(math, name), otypes=[float])
    np.testing.assert_array_equal(evaluate(columns[name], x), libm(x))
    x[7] = math.inf
    assert not columns[name](x, np.empty_like(x), x.size)


@pytest.mark.parametrize("name", ["log", "sin"])  # each in-place loop is another compilation
def test_in_place_evaluation_equals_out_of_place(columns, name):
    x = samples(name, np.random.default_rng(11))[::97].copy()
    expected = evaluate(columns[name], x)
    columns[name](x, x, x.size)
    np.testing.assert_array_equal(x, expected)


def test_the_result_reports_whether_every_value_is_finite(columns):
    x = np.array([0.5, 1.0, 2.0, 700.0])
    assert columns["exp"](x, np.empty(4), 4)
    assert columns["log"](x, np.empty(4), 4)
    assert not columns["exp"](x + 20.0, np.empty(4), 4)  # exp(720) overflows
    assert not columns["log"](x - 1.0, np.empty(4), 4)  # log(-0.5)
    tail_invalid = np.array([2.0, 3.0, -1.0])
    assert columns["log"](tail_invalid, np.empty(3), 2)  # only the first n elements count
    assert not columns["log"](tail_invalid, np.empty(3), 3)
    assert not columns["tanh"](np.array([np.nan]), np.empty(1), 1)


def test_a_kernel_loop_calling_them_is_vectorised():
    @njit(cache=False, error_model="numpy", fastmath={"reassoc", "contract", "nsz"})
    def loop(src, dst, n):
        acc = 0.0
        for i in range(n):
            v = vecmath.vsin(src[i]) * vecmath.vexp(src[i])
            dst[i] = v
            acc += v * 0.0
        return acc == 0.0

    x = np.linspace(-1.0, 1.0, 64)
    out = np.empty_like(x)
    assert loop(x, out, x.size)
    np.testing.assert_allclose(out, np.sin(x) * np.exp(x), rtol=1e-15)
    ir = loop.inspect_llvm(loop.signatures[0])
    assert re.search(r"<\d+ x double>", ir), "the loop was not vectorised"
    assert not re.search(r"call [^\n]*@_ZN\w*7vecmath", ir), "a vecmath function was not inlined"
    assert not re.search(r"@(sin|exp)\(", ir), "libm is still called"


def test_the_name_tables_point_at_the_functions():
    for op, name in vecmath.SCALAR_FUNCTIONS.items():
        assert getattr(vecmath, name) is getattr(vecmath, f"v{op}")
    for op, name in vecmath.COLUMN_FUNCTIONS.items():
        assert getattr(vecmath, name) is getattr(vecmath, f"{op}_column")
    assert set(vecmath.SCALAR_FUNCTIONS) == set(vecmath.COLUMN_FUNCTIONS) == set(NAMES)
    assert re.fullmatch(r"[0-9a-f]{16}", vecmath.source_digest())
