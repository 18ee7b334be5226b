"""SR-Transformer with torch: decoding, saving, training, the shipped model, estimator, generator."""

import pickle

import numpy as np
import pytest
import sympy

torch = pytest.importorskip("torch")

from hybridsr.cli import main  # noqa: E402
from hybridsr.datasets import get_problem  # noqa: E402
from hybridsr.expr import sympy_to_tree  # noqa: E402
from hybridsr.expr.traversal import node_deletions  # noqa: E402
from hybridsr.expr.tree import Language  # noqa: E402
from hybridsr.operators import OperatorSet  # noqa: E402
from hybridsr.guidance import GuidanceTask, run_guidance  # noqa: E402
from hybridsr.transformer.config import TransformerConfig  # noqa: E402
from hybridsr.transformer.data import encode_points  # noqa: E402
from hybridsr.transformer.decoding import beam_search, grammar_mask, sample_sequences  # noqa: E402
from hybridsr.transformer.estimator import TransformerRegressor  # noqa: E402
from hybridsr.transformer.guidance import TransformerGenerator  # noqa: E402
from hybridsr.transformer.model import SRTransformer, load_model, save_model, shipped_weights_path  # noqa: E402
from hybridsr.transformer.tokenizer import tokens_to_tree  # noqa: E402

# One operator set for every test that fits constants: each new set costs a numba compilation.
UNARY = ("square", "sin", "cos", "exp", "log", "sqrt")
TINY = TransformerConfig(d_model=16, n_heads=2, n_encoder_layers=1, n_decoder_layers=1,
                         d_feedforward=32, d_number=4, max_length=16)


@pytest.fixture(scope="module")
def tiny_model():
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = SRTransformer(TINY)
    return model.eval()


def _points(config, n_variables=1, n=40, seed=0):
    X = np.random.default_rng(seed).uniform(-2, 2, (n, n_variables))
    return X, encode_points(X, X[:, 0] ** 2 + X[:, 0], config)


def _tokens(config, decoded):
    return [config.vocabulary.tokens[i] for i in decoded.tokens]


def test_grammar_keeps_every_decoded_sequence_well_formed(tiny_model):
    vocabulary = TINY.vocabulary
    _, points = _points(TINY, n_variables=2)
    banned = vocabulary.ids["sin"]
    allowed = vocabulary.arities > 0
    allowed[banned] = False
    beams = beam_search(tiny_model, points, 2, beam_size=6, allowed_operators=allowed)
    samples = sample_sequences(tiny_model, points, 2, n_samples=12, seed=1, allowed_operators=allowed)
    assert len(beams) == 6 and len(samples) == 12
    scores = [d.log_probability for d in beams]
    assert scores == sorted(scores, reverse=True)
    for decoded in beams + samples:
        tokens = _tokens(TINY, decoded)
        assert len(tokens) <= TINY.max_length and "sin" not in tokens and "x2" not in tokens
        tokens_to_tree(tokens, TINY.language, vocabulary)  # parses: one complete expression
    # The mask itself: after "add x0" one argument is missing, so no end token yet.
    mask = grammar_mask(tiny_model, [vocabulary.ids["add"], vocabulary.ids["x0"]], 1)
    assert mask[vocabulary.ids["x0"]] and mask[vocabulary.ids["C"]]
    assert not mask[vocabulary.eos] and not mask[vocabulary.ids["x1"]]
    assert grammar_mask(tiny_model, [vocabulary.ids["x0"]], 1).nonzero()[0].tolist() == [vocabulary.eos]


def test_float_mode_decodes_numbers_as_three_tokens():
    config = TransformerConfig(**{**TINY.to_dict(), "constants": "float"})
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(1)
        model = SRTransformer(config).eval()
    _, points = _points(config)
    for decoded in sample_sequences(model, points, 1, n_samples=16, seed=2):
        tokens_to_tree(_tokens(config, decoded), config.language, config.vocabulary)


def test_saved_weights_load_back_without_pickled_code(tiny_model, tmp_path):
    path = tmp_path / "tiny.pt"
    save_model(tiny_model, path, {"note": "test"})
    document = torch.load(path, weights_only=True)  # plain data only
    assert document["config"] == TINY.to_dict()
    model, metadata = load_model(path)
    assert metadata == {"note": "test"}
    _, points = _points(TINY)
    with torch.no_grad():
        expected = tiny_model.encode(torch.from_numpy(points)[None])
        np.testing.assert_array_equal(model.encode(torch.from_numpy(points)[None]), expected)
    with pytest.raises(FileNotFoundError, match="transformer train"):
        load_model(tmp_path / "missing.pt")


def test_a_tiny_training_run_from_the_command_line_lowers_its_loss(tmp_path, capsys):
    out = tmp_path / "model.pt"
    status = main(["transformer", "train", "--out", str(out), "--steps", "60", "--batch-size", "16",
                   "--min-points", "16", "--max-points", "24", "--pool-attempts", "300",
                   "--warmup", "10", "--log-every", "10", "--checkpoint-every", "30",
                   "--learning-rate", "3e-3", "--d-model", "32", "--n-heads", "2",
                   "--n-encoder-layers", "1", "--n-decoder-layers", "1", "--d-feedforward", "64",
                   "--d-number", "8", "--max-length", "24"])
    assert status == 0
    model, metadata = load_model(out)
    losses = metadata["losses"]
    assert metadata["complete"] and metadata["steps_done"] == 60 and len(losses) == 6
    assert losses[-1] < 0.75 * losses[0]
    assert "saved" in capsys.readouterr().out
    assert (tmp_path / "model.pt.pool.txt").is_file()


# ------------------------------------------------------------------ the shipped model
def test_the_shipped_model_loads_and_decodes():
    assert shipped_weights_path().is_file(), "the package ships sr_transformer.pt"
    assert shipped_weights_path().stat().st_size < 10 * 2**20  # a few MB
    model, metadata = load_model()
    assert metadata["options"]["seed"] == 0 and metadata["steps_done"] > 0
    _, points = _points(model.config)
    decoded = beam_search(model, points, 1, beam_size=8)
    assert len(decoded) == 8
    for d in decoded:
        tokens_to_tree(_tokens(model.config, d), model.config.language, model.config.vocabulary)


def test_the_regressor_recovers_a_simple_formula_on_fresh_data():
    rng = np.random.default_rng(7)
    X = rng.uniform(-3, 3, (200, 1))
    y = X[:, 0] ** 2 + X[:, 0]
    model = TransformerRegressor(binary_operators=("+", "-", "*", "/"),
                                 unary_operators=UNARY,
                                 beam_size=16, random_state=0).fit(X, y, variable_names=["x"])
    x = sympy.Symbol("x", real=True)
    rounded = model.expression_.xreplace({f: sympy.Float(round(float(f), 4))
                                          for f in model.expression_.atoms(sympy.Float)})
    assert sympy.simplify(rounded - (x**2 + x)) == 0, model.expression_
    X_new = rng.uniform(-3, 3, (50, 1))
    np.testing.assert_allclose(model.predict(X_new), X_new[:, 0] ** 2 + X_new[:, 0], rtol=1e-6, atol=1e-6)
    assert {"complexity", "loss", "score", "equation", "sympy", "lambda"} <= set(model.equations_.columns)
    clone = pickle.loads(pickle.dumps(model))
    np.testing.assert_allclose(clone.predict(X_new), model.predict(X_new))


def test_the_regressor_reads_data_of_any_size():
    # The same law in units a million times smaller: the model reads X / 1e6 and y / 1e12
    # (the sizes it was trained on) and writes its formula back in the raw units.
    rng = np.random.default_rng(7)
    X = rng.uniform(-3e6, 3e6, (200, 1))
    y = X[:, 0] ** 2 + 1e6 * X[:, 0]
    model = TransformerRegressor(binary_operators=("+", "-", "*", "/"), unary_operators=UNARY,
                                 beam_size=16, random_state=0).fit(X, y, variable_names=["x"])
    X_new = rng.uniform(-3e6, 3e6, (50, 1))
    np.testing.assert_allclose(model.predict(X_new), X_new[:, 0] ** 2 + 1e6 * X_new[:, 0],
                               rtol=1e-6, atol=1e-6 * 9e12)


def test_pruning_drops_the_spurious_term_the_model_writes_beside_hubbles_law():
    # On Hubble's 30 noisy points the shipped model decodes the law only with a spurious
    # term (a*D + b/D); deleting one node of its formulas gives a*D, which the selection picks.
    problem = get_problem("hubble")
    X, y = problem.sample(seed=0)
    D = sympy.Symbol("D", real=True)
    settings = dict(binary_operators=problem.binary_operators,
                    unary_operators=problem.unary_operators, random_state=0)
    plain = TransformerRegressor(prune=False, **settings).fit(X, y)
    pruned = TransformerRegressor(**settings).fit(X, y)
    assert (plain.expression_ / D).free_symbols, plain.expression_
    assert not (pruned.expression_ / D).free_symbols, pruned.expression_
    assert any(c.skeleton.endswith("(pruned)") for c in pruned.candidates_)


def test_node_deletions_replace_each_operator_by_each_argument():
    language = Language(OperatorSet.from_spec(("+", "*", "/"), ("sin",)), 1, ("x",))
    tree = sympy_to_tree("2.5*x + sin(x)", language)
    found = [" ".join(node.name for node in t) for t in node_deletions(tree)]
    assert found == ["mul 2.5 x0", "sin x0", "add 2.5 sin x0", "add x0 sin x0", "add mul 2.5 x0 x0"]


def test_the_regressor_checks_its_settings_and_inputs():
    X = np.random.default_rng(0).normal(size=(20, 4))
    with pytest.raises(ValueError, match="at most 3 variables"):
        TransformerRegressor(beam_size=2).fit(X, X[:, 0])
    with pytest.raises(ValueError, match="beam_size"):
        TransformerRegressor(beam_size=0).fit(X[:, :1], X[:, 0])
    with pytest.raises(ValueError, match="model_selection"):
        TransformerRegressor(model_selection="bets").fit(X[:, :1], X[:, 0])
    with pytest.raises(ValueError, match="prune must be True or False"):
        TransformerRegressor(prune="yes").fit(X[:, :1], X[:, 0])
    assert TransformerRegressor(beam_size=4).get_params()["beam_size"] == 4


def test_the_generator_proposes_formulas_for_the_search():
    X = np.random.default_rng(1).uniform(0.5, 3, (100, 2))
    y = X[:, 0] * X[:, 1] + X[:, 0]
    task = GuidanceTask(X, y, ("a", "b"), UNARY, ("+", "-", "*", "/"), 20.0, 0)
    generator = TransformerGenerator(beam_size=8)
    outcome = run_guidance([generator], task)
    assert outcome.candidates and not outcome.failures
    a, b = sympy.symbols("a b")
    for candidate in outcome.candidates:
        assert candidate.free_symbols <= {a, b}
    assert generator.last_report["candidates"] >= 1


def test_the_regressor_documents_every_parameter():
    import inspect

    parameters = inspect.signature(TransformerRegressor.__init__).parameters
    documented = TransformerRegressor.__doc__.split("Attributes")[0]
    for name in list(parameters)[1:]:
        assert name in documented, f"{name} is not documented"


def test_training_is_reproducible_from_its_options(tmp_path):
    from hybridsr.transformer.training import train
    from hybridsr.transformer.training_options import TrainingOptions

    options = TrainingOptions(steps=8, batch_size=8, min_points=10, max_points=16, pool_attempts=150,
                              warmup=2, log_every=4, checkpoint_every=0, seed=5)
    first, _ = train(TINY, options, tmp_path / "a.pt", log=lambda line: None)
    second, report = train(TINY, options, tmp_path / "b.pt", log=lambda line: None)
    assert report.steps == 8 and report.complete
    for (name, a), b in zip(first.state_dict().items(), second.state_dict().values()):
        assert torch.equal(a, b), name
