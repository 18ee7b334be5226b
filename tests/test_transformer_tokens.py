"""SR-Transformer without torch: numbers, vocabulary, tokenizer, sampler, data."""

import subprocess
import sys

import numpy as np
import pytest
import sympy
from hypothesis import given
from hypothesis import strategies as st

from hybridsr.expr import sympy_to_tree, to_string
from hybridsr.expr.tree import Constant
from hybridsr.transformer.config import TransformerConfig
from hybridsr.transformer.data import build_pool, encode_points, make_batch, sample_dataset
from hybridsr.transformer.numbers import FloatFormat
from hybridsr.transformer.sampler import ExpressionSampler, canonical_skeleton, count_trees
from hybridsr.transformer.tokenizer import TokenError, tokens_to_tree, tree_to_tokens

CONFIG = TransformerConfig()
LANGUAGE = CONFIG.language
VOCABULARY = CONFIG.vocabulary


# ------------------------------------------------------------------ numbers
@given(st.floats(min_value=-1e30, max_value=1e30, allow_nan=False, allow_infinity=False))
def test_numbers_round_trip_within_their_precision(value):
    fmt = FloatFormat(precision=3, max_exponent=40)
    back = float(fmt.round(value))
    assert abs(back - value) <= 0.5e-2 * abs(value) + 1e-38  # half a unit in the third digit
    ids = VOCABULARY.encode_numbers(np.array([value]))
    assert ids.shape == (1, 3)
    assert float(VOCABULARY.decode_numbers(ids)[0]) == back


def test_numbers_saturate_and_underflow():
    fmt = FloatFormat(precision=3, max_exponent=10)
    assert fmt.round([1e-20, 0.0, -0.0]).tolist() == [0.0, 0.0, 0.0]
    assert fmt.round([1e20])[0] == fmt.largest and fmt.round([-1e20])[0] == -fmt.largest
    assert fmt.round([9.996, 999.6]).tolist() == [10.0, 1000.0]  # rounding up a digit
    with pytest.raises(ValueError, match="finite"):
        fmt.split([np.nan])
    tokens = [VOCABULARY.tokens[i] for i in VOCABULARY.encode_numbers(np.array(-3.14159))]
    assert tokens == ["-", "N314", "E-2"]


# ------------------------------------------------------------------ tokenizer
def test_tokens_round_trip_in_both_constant_modes(rng):
    sampler = ExpressionSampler(LANGUAGE)
    for _ in range(200):
        tree = sampler.random_tree(rng, n_variables=3)
        skeleton = tree_to_tokens(tree, LANGUAGE, VOCABULARY)
        assert "C" in skeleton or not any(type(n) is Constant for n in tree)
        back = tokens_to_tree(skeleton, LANGUAGE, VOCABULARY)
        assert [n.name for n in back if type(n) is not Constant] == \
               [n.name for n in tree if type(n) is not Constant]
        floats = tree_to_tokens(tree, LANGUAGE, VOCABULARY, "float")
        values = [n.value for n in tokens_to_tree(floats, LANGUAGE, VOCABULARY) if type(n) is Constant]
        expected = [n.value for n in tree if type(n) is Constant]
        np.testing.assert_allclose(values, expected, rtol=5e-3)


def test_malformed_tokens_are_rejected():
    for tokens in (["add", "x0"], ["x0", "x1"], ["sin"], [], ["N314"], ["-", "N314"], ["foo"]):
        with pytest.raises(TokenError):
            tokens_to_tree(tokens, LANGUAGE, VOCABULARY)
    with pytest.raises(ValueError, match="constants mode"):
        tree_to_tokens(sympy_to_tree("x0", LANGUAGE), LANGUAGE, VOCABULARY, "exact")


# ------------------------------------------------------------------ sampler
def test_tree_counts_are_the_large_schroeder_numbers():
    # Unary-binary trees with n operators (Lample & Charton's D(1, n) with one operator per arity).
    assert [row[1] for row in count_trees(5)] == [1, 2, 6, 22, 90, 394]


def test_sampler_gives_the_requested_sizes_and_every_shape_alike(rng):
    sampler = ExpressionSampler(LANGUAGE, max_operators=6, scale_probability=0.0)
    for n in range(1, 7):
        for _ in range(20):
            tree = sampler.random_tree(rng, n_operators=n)
            assert sum(1 for node in tree if node.arity) == n
            assert len(tree) == n + 1 + sum(1 for node in tree if node.arity == 2)
    # With two operators there are six shapes; each should come up about a sixth of the time.
    shapes = [tuple(node.arity for node in sampler.random_tree(rng, n_operators=2)) for _ in range(1200)]
    counts = np.array(list({s: shapes.count(s) for s in set(shapes)}.values()))
    assert len(counts) == 6 and counts.min() > 140 and counts.max() < 260


def test_canonical_skeletons_are_simplified_varied_and_deduplicated(rng):
    def skeleton(text):
        return " ".join(tree_to_tokens(canonical_skeleton(sympy_to_tree(text, LANGUAGE), LANGUAGE, rng),
                                       LANGUAGE, VOCABULARY))
    assert skeleton("x0 + x0") == "mul C x0"
    assert skeleton("2.5*x0 - x0 + 1.5") == skeleton("0.7*x0 + 3.1")
    assert skeleton("sin(1.3)*x0*x0") == "mul C square x0"
    assert canonical_skeleton(sympy_to_tree("x0 - x0 + 2.0", LANGUAGE), LANGUAGE, rng) is None
    pool = build_pool(CONFIG, 600, seed=3)
    assert len(pool) == len(set(pool)) > 300  # distinct, and most raw trees survive
    sizes = {len(entry.tokens) for entry in pool}
    assert min(sizes) <= 3 and max(sizes) >= 12
    assert {entry.n_variables for entry in pool} == {1, 2, 3}
    # Each was valid on one draw; validity on another draw is likely but not certain
    # (log(exp(exp(x0 + sqrt(x0)))) overflows for large x0).
    valid = sum(sample_dataset(tokens_to_tree(e.tokens, LANGUAGE, VOCABULARY), CONFIG, e.n_variables,
                               32, rng) is not None for e in pool[:50])
    assert valid >= 45
    assert build_pool(CONFIG, 600, seed=3) == pool  # the seed fixes the pool


def test_invalid_expressions_are_rejected(rng):
    always_nan = sympy_to_tree("log(-exp(x0))", LANGUAGE)
    assert sample_dataset(always_nan, CONFIG, 1, 32, rng) is None
    fine = sympy_to_tree("x0**2 + x0", LANGUAGE)
    sample = sample_dataset(fine, CONFIG, 1, 32, rng)
    assert sample is not None and np.all(np.isfinite(sample.y))


# ------------------------------------------------------------------ data
def test_points_and_batches_have_the_documented_layout(rng):
    X = rng.normal(size=(10, 2))
    ids = encode_points(X, X[:, 0], CONFIG)
    assert ids.shape == (10, CONFIG.point_width)
    assert np.all(ids[:, 6:9] == VOCABULARY.pad)  # the third variable is absent
    np.testing.assert_allclose(VOCABULARY.decode_numbers(ids[:, 9:12]), X[:, 0], rtol=5e-3)
    with pytest.raises(ValueError, match="at most 3"):
        encode_points(rng.normal(size=(5, 4)), np.zeros(5), CONFIG)
    pool = build_pool(CONFIG, 100, seed=1)
    points, targets = make_batch(pool, CONFIG, 8, 20, rng)
    assert points.shape == (8, 20, CONFIG.point_width)
    assert np.all(targets[:, 0] == VOCABULARY.bos)
    assert all(VOCABULARY.eos in row for row in targets.tolist())


def test_the_light_modules_do_not_import_torch():
    code = ("import sys, hybridsr.transformer, hybridsr.transformer.data, hybridsr.cli; "
            "from hybridsr.transformer import TransformerGenerator, TransformerConfig; "
            "hybridsr.cli.build_parser(); assert 'torch' not in sys.modules, 'torch imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
