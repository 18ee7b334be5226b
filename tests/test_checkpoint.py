"""Checkpoints: atomic files, refused versions, and a resume that ends where an uninterrupted run does."""

import datetime
import pickle
import warnings

import numpy as np
import pytest

from hybridsr import HybridSRRegressor
from hybridsr.config import SearchConfig
from hybridsr.engine import checkpoint as ckpt
from hybridsr.engine.checkpoint import (CHECKPOINT_FORMAT, CheckpointError, CheckpointWarning,
                                        Checkpointer, FitProgress, parse_checkpoint_every,
                                        read_checkpoint, write_checkpoint)
from hybridsr.engine.search import run_search
from hybridsr.evaluate import Dataset
from hybridsr.expr import Language
from hybridsr.operators import OperatorSet

# The operators of tests/test_search.py, so no new kernels are compiled.
LANGUAGE = Language(OperatorSet.from_spec(("+", "-", "*", "/"), ("sin", "cos", "sqrt")), 1, ("x",))
SMALL = dict(populations=3, population_size=20, ncycles_per_iteration=80, tournament_selection_n=6,
             binary_operators=("+", "-", "*", "/"), unary_operators=("sin", "cos", "sqrt"),
             random_state=3, verbosity=0, validation_folds=0)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.uniform(-5, 5, (120, 1))
    return X, 3 * np.sin(X[:, 0]) - 0.5 * X[:, 0]


def _front(model):
    return model.equations_[["complexity", "loss", "equation"]].values.tolist()


def _progress():
    return FitProgress([None], LANGUAGE, "digest", {"niterations": 1})


def test_checkpoint_every_takes_iterations_or_durations():
    assert parse_checkpoint_every(5) == (5, None)
    assert parse_checkpoint_every("90s") == (None, 90.0)
    assert parse_checkpoint_every("10min") == (None, 600.0)
    assert parse_checkpoint_every("1.5 h") == (None, 5400.0)
    assert parse_checkpoint_every(datetime.timedelta(minutes=2)) == (None, 120.0)
    for bad in (0, -1, True, 2.5, "often", "0s", None):
        with pytest.raises(ValueError, match="checkpoint_every must be"):
            parse_checkpoint_every(bad)


def test_checkpointer_saves_every_n_iterations_and_at_the_end():
    saved = []

    class State:
        iteration = 0

    checkpointer = Checkpointer(lambda state: saved.append(state.iteration), every_iterations=3)
    state = State()
    for i in range(1, 8):
        state.iteration = i
        checkpointer(state, False)
    checkpointer(state, True)
    assert saved == [3, 6, 7]


def test_write_is_atomic_and_read_back(tmp_path):
    path = tmp_path / "run.ckpt"
    write_checkpoint(path, _progress())
    assert read_checkpoint(path).options == {"niterations": 1}
    broken = _progress()
    broken.options = {"bad": lambda: None}  # cannot be pickled: the write fails half-way
    with pytest.raises(Exception):
        write_checkpoint(path, broken)
    assert read_checkpoint(path).options == {"niterations": 1}, "the previous file survives"
    assert [p.name for p in tmp_path.iterdir()] == ["run.ckpt"], "no temporary file left behind"


def test_refuses_other_formats_and_other_files(tmp_path):
    other = tmp_path / "old.ckpt"
    with open(other, "wb") as handle:
        handle.write(ckpt._MAGIC)
        pickle.dump({"format": CHECKPOINT_FORMAT + 1, "hybridsr": "9.9.9"}, handle)
        pickle.dump(_progress(), handle)
    with pytest.raises(CheckpointError, match=r"written by hybridsr 9\.9\.9 in checkpoint format"):
        read_checkpoint(other)
    not_one = tmp_path / "data.csv"
    not_one.write_text("x,y\n1,2\n")
    with pytest.raises(CheckpointError, match="not a hybridsr checkpoint"):
        read_checkpoint(not_one)
    with pytest.raises(CheckpointError, match="no checkpoint file"):
        read_checkpoint(tmp_path / "missing.ckpt")
    truncated = tmp_path / "cut.ckpt"
    write_checkpoint(truncated, _progress())
    truncated.write_bytes(truncated.read_bytes()[:-20])
    with pytest.raises(CheckpointError, match="cannot be read"):
        read_checkpoint(truncated)


def test_run_search_offers_each_state_and_a_final_one():
    rng = np.random.default_rng(1)
    X = rng.uniform(-2, 2, (50, 1))
    data = Dataset.from_arrays(X, X[:, 0] ** 2)
    offered = []
    config = SearchConfig(populations=2, population_size=12, ncycles_per_iteration=30,
                          tournament_selection_n=4, niterations=3)
    run_search(data, LANGUAGE, config, random_state=0,
               checkpoint=lambda state, final: offered.append((state.iteration, final)))
    assert offered == [(1, False), (2, False), (3, False), (3, True)]


def test_interrupted_fit_resumes_to_the_uninterrupted_result(data, tmp_path, monkeypatch):
    X, y = data
    uninterrupted = HybridSRRegressor(niterations=4, **SMALL).fit(X, y)

    path = tmp_path / "search.ckpt"
    writes = []
    real_write = ckpt.write_checkpoint

    def crash_after_second_save(target, progress):
        if len(writes) == 2:
            raise KeyboardInterrupt("the job was killed")
        writes.append(progress.targets[0].state.iteration)
        real_write(target, progress)

    monkeypatch.setattr(ckpt, "write_checkpoint", crash_after_second_save)
    with pytest.raises(KeyboardInterrupt):
        HybridSRRegressor(niterations=4, checkpoint_file=path, checkpoint_every=1, **SMALL).fit(X, y)
    monkeypatch.undo()
    assert writes == [1, 2]

    resumed = HybridSRRegressor(niterations=4, checkpoint_file=path, **SMALL).fit(X, y, resume_from=path)
    assert resumed.search_results_[0].n_iterations == 2
    assert _front(resumed) == _front(uninterrupted)
    assert resumed.search_results_[0].state.n_evals == uninterrupted.search_results_[0].state.n_evals

    # The finished checkpoint resumes to the same front without searching, or goes on when
    # niterations grows.
    again = HybridSRRegressor(niterations=4, **SMALL).fit(X, y, resume_from=path)
    assert again.search_results_[0].n_iterations == 0 and _front(again) == _front(uninterrupted)
    longer = HybridSRRegressor(niterations=5, **SMALL).fit(X, y, resume_from=path)
    assert longer.search_results_[0].n_iterations == 1


def test_resume_checks_data_and_warns_about_changed_settings(data, tmp_path):
    X, y = data
    path = tmp_path / "search.ckpt"
    HybridSRRegressor(niterations=1, checkpoint_file=path, **SMALL).fit(X, y)
    with pytest.raises(CheckpointError, match="other data"):
        HybridSRRegressor(niterations=2, **SMALL).fit(X, y + 1.0, resume_from=path)
    with pytest.raises(CheckpointError, match="operators"):
        HybridSRRegressor(niterations=2, **{**SMALL, "unary_operators": ("sin",)}).fit(
            X, y, resume_from=path)
    with pytest.warns(CheckpointWarning, match="parsimony"):
        HybridSRRegressor(niterations=1, parsimony=0.01, **SMALL).fit(X, y, resume_from=path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a larger budget is no change of settings
        HybridSRRegressor(niterations=2, **SMALL).fit(X, y, resume_from=path)


@pytest.mark.parametrize("value, message", [
    ({"checkpoint_file": 3}, "checkpoint_file must be"),
    ({"checkpoint_every": "sometimes"}, "checkpoint_every must be"),
])
def test_invalid_checkpoint_parameters(data, value, message):
    X, y = data
    with pytest.raises(ValueError, match=message):
        HybridSRRegressor(**value).fit(X, y)
