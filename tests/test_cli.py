"""The ``hybridsr`` command line: argument parsing, errors, and one small ``fit``."""

import json

import numpy as np
import pandas as pd
import pytest

from hybridsr.cli import build_parser, main
from hybridsr.config import SearchConfig

TINY = ["--populations", "2", "--population-size", "12", "--ncycles-per-iteration", "30",
        "--niterations", "3", "--random-state", "0", "--verbosity", "0"]


@pytest.fixture
def csv(tmp_path):
    rng = np.random.default_rng(0)
    a, b = rng.uniform(1, 3, size=(2, 60))
    path = tmp_path / "data.csv"
    pd.DataFrame({"a": a, "b": b, "w": np.ones(60), "y": a * b + 1.0}).to_csv(path, index=False)
    return path


def test_parse_fit_options():
    args = build_parser().parse_args([
        "fit", "data.csv", "--target", "y", "--binary-operators", "+", "-", "*", "/",
        "special(x, y) = cos(x) * (x + y)", "--unary-operators", "sin", "cos",
        "--niterations", "7", "--timeout", "60", "--populations", "4", "--maxsize", "12",
        "--random-state", "3", "--output", "front.csv"])
    assert args.command == "fit" and args.target == "y"
    assert args.binary_operators == ["+", "-", "*", "/", "special(x, y) = cos(x) * (x + y)"]
    assert args.unary_operators == ["sin", "cos"]
    assert (args.niterations, args.timeout, args.populations, args.maxsize) == (7, 60.0, 4, 12)
    assert args.random_state == 3 and str(args.output) == "front.csv" and args.json is None


def test_defaults_follow_the_search_config():
    args = build_parser().parse_args(["fit", "data.csv", "--target", "y"])
    defaults = SearchConfig()
    assert args.niterations == defaults.niterations
    assert args.populations == defaults.populations
    assert args.population_size == defaults.population_size
    assert args.maxsize == defaults.maxsize
    assert args.binary_operators == ["+", "-", "*", "/"] and args.unary_operators == []
    assert args.timeout is None and args.output is None


@pytest.mark.parametrize("argv", [[], ["fit", "data.csv"], ["fit", "--target", "y"],
                                  ["fit", "data.csv", "--target", "y", "--niterations", "many"]])
def test_usage_errors_exit_with_2(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert "usage: hybridsr" in capsys.readouterr().err


def test_missing_file(tmp_path, capsys):
    assert main(["fit", str(tmp_path / "nope.csv"), "--target", "y"]) == 2
    assert "no data file at" in capsys.readouterr().err


def test_unknown_column(csv, capsys):
    assert main(["fit", str(csv), "--target", "yy"]) == 2
    assert "Did you mean 'y'?" in capsys.readouterr().err


def test_invalid_option_reported(csv, capsys):
    assert main(["fit", str(csv), "--target", "y", "--loss", "msee"]) == 2
    assert "Did you mean 'mse'?" in capsys.readouterr().err
    assert main(["fit", str(csv), "--target", "y", "--guidance", "studnt"]) == 2
    assert "Did you mean 'student'?" in capsys.readouterr().err


def test_fit_prints_and_writes_the_front(csv, tmp_path, capsys):
    output = tmp_path / "out" / "front.csv"
    code = main(["fit", str(csv), "--target", "y", "--weights", "w", "--output", str(output),
                 *TINY])
    assert code == 0
    printed = capsys.readouterr().out
    assert "Pareto front of y (60 rows; stopped by niterations after 3 iterations" in printed
    assert ">>>>" in printed and "picked (best): y = " in printed

    table = pd.read_csv(output)
    assert list(table.columns) == ["complexity", "loss", "score", "equation"]
    assert table["complexity"].is_monotonic_increasing
    document = json.loads(output.with_suffix(".json").read_text())
    assert document["target"] == "y" and document["features"] == ["a", "b"]
    picked = document["equations"][document["selected"]]
    assert picked["selected"] and picked["equation"] in printed
    assert [e["equation"] for e in document["equations"]] == list(table["equation"])
    assert "a" in picked["sympy"] and "b" in picked["sympy"]  # y = a*b + 1 in 3 iterations


def test_fit_default_paths_and_json_option(csv, tmp_path):
    json_path = tmp_path / "summary.json"
    assert main(["fit", str(csv), "--target", "y", "--features", "a", "b", "--json",
                 str(json_path), *TINY]) == 0
    assert (tmp_path / "data.front.csv").exists()
    assert json.loads(json_path.read_text())["features"] == ["a", "b"]


def test_missing_optional_extra_is_a_message_not_a_traceback(tmp_path, monkeypatch, capsys):
    import sys

    from hybridsr.cli import main

    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` fails
    argv = ["bench", "--suite", "seed", "--seeds", "1", "--time", "1", "--methods", "hybridsr-gp",
            "--cluster", "local", "--out", str(tmp_path / "out")]
    assert main(argv) == 2
    error = capsys.readouterr().err
    assert "error:" in error and "Dask" in error and "Traceback" not in error
