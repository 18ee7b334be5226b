"""The equations table, model selection and the front's exports, on hand-built fronts."""

import json
import math
import pickle
from collections import namedtuple

import numpy as np
import pandas as pd
import pytest
import sympy

from hybridsr.export import (EquationFunction, check_index, description_lengths, equations_table,
                             format_front, front_frame, front_records, pareto_scores,
                             rounding_loss_floor, select_index, write_front_csv, write_json,
                             write_text_atomic)
from hybridsr.expr import Constant, Individual, Language
from hybridsr.operators import OperatorSet

FrontMember = namedtuple("FrontMember", "tree loss complexity")


@pytest.fixture(scope="module")
def language():
    return Language(OperatorSet.from_spec(["+", "-", "*", "/"], ["sin"]), 2, variable_names=("a", "b"))


@pytest.fixture(scope="module")
def trees(language):
    P, a, b = language.primitive, language.variable(0), language.variable(1)
    return [
        Individual([Constant(1.5)]),                                              # 1.5
        Individual([P("*"), a, b]),                                               # a*b
        Individual([P("*"), Constant(2.0), P("*"), a, b]),                        # 2*a*b
        Individual([P("+"), P("*"), Constant(2.0), P("*"), a, b, P("sin"), a]),  # 2ab + sin(a)
        Individual([P("+"), P("*"), Constant(2.0), P("*"), a, b, P("sin"), P("-"), a, Constant(0.1)]),
    ]


def front_of(trees, losses):
    complexities = [1, 3, 5, 7, 9]
    return [FrontMember(t, loss, c) for t, loss, c in zip(trees, losses, complexities)]


# losses chosen so that the three selection rules disagree:
# scores 0, ln(10)/2, ln(1/0.9)/2, ln(9)/2, ln(0.1/0.09)/2
LOSSES = [10.0, 1.0, 0.9, 0.1, 0.09]


def test_scores_are_log_loss_drops_per_complexity():
    scores = pareto_scores(LOSSES, [1, 3, 5, 7, 9])
    expected = [0.0, math.log(10) / 2, math.log(1 / 0.9) / 2, math.log(9) / 2, math.log(0.1 / 0.09) / 2]
    np.testing.assert_allclose(scores, expected)


def test_scores_of_exact_fits_and_floor():
    assert pareto_scores([4.0, 0.0], [1, 3])[1] == math.inf
    assert pareto_scores([0.0, 0.0], [1, 3])[1] == 0.0
    # with a floor, rounding-level losses are all equal to it
    floored = pareto_scores([4.0, 1e-30, 1e-32], [1, 3, 5], loss_floor=1e-20)
    assert floored[1] == pytest.approx(-math.log(1e-20 / 4.0) / 2)
    assert floored[2] == 0.0


def test_rounding_floor_matches_loss_kind():
    y = np.full(10, 2.0)
    tolerance = 1000 * np.finfo(float).eps * 2.0
    assert rounding_loss_floor(y, "mse") == pytest.approx(tolerance ** 2)
    assert rounding_loss_floor(y, "mae") == pytest.approx(tolerance)
    assert rounding_loss_floor(y, "huber", 1.0) == pytest.approx(0.5 * tolerance ** 2)


def test_table_columns_and_contents(language, trees):
    front = front_of(trees, LOSSES)[::-1]  # any order in, ascending complexity out
    table = equations_table(front, language)
    assert list(table.columns) == ["complexity", "loss", "score", "validation_loss",
                                   "description_length", "equation", "sympy", "lambda", "tree"]
    assert table["validation_loss"].isna().all() and table["description_length"].isna().all()
    assert list(table["complexity"]) == [1, 3, 5, 7, 9]
    assert list(table["loss"]) == LOSSES
    assert table["score"].iloc[0] == 0.0
    assert table["equation"].iloc[1] == "(a * b)"
    assert table["equation"].iloc[3] == "((2.0 * (a * b)) + sin(a))"
    a, b = sympy.symbols("a b", real=True)
    assert sympy.simplify(table["sympy"].iloc[3] - (2 * a * b + sympy.sin(a))) == 0
    X = np.array([[1.0, 2.0], [0.5, -3.0]])
    np.testing.assert_allclose(table["lambda"].iloc[3](X), 2 * X[:, 0] * X[:, 1] + np.sin(X[:, 0]))
    np.testing.assert_allclose(table["lambda"].iloc[0](X), [1.5, 1.5])
    assert table["tree"].iloc[2] is trees[2]


@pytest.mark.parametrize("rule, expected", [("accuracy", 4), ("score", 1), ("best", 3)])
def test_selection_rules(language, trees, rule, expected):
    table = front_frame(front_of(trees, LOSSES), language)
    assert select_index(table, rule) == expected


def test_description_lengths_add_residuals_structure_and_constants():
    lengths = description_lengths([0.5, 0.25, np.inf, np.nan], [3, 7, 5, 5], [1, 2, 1, 1],
                                  n_rows=40, n_symbols=9)
    np.testing.assert_allclose(lengths[:2], [20 * math.log(0.5) + 3 * math.log(9) + math.log(40) / 2,
                                             20 * math.log(0.25) + 7 * math.log(9) + math.log(40)])
    assert lengths[2] == lengths[3] == math.inf  # invalid on a fold, or not computed
    # "mae" is the scale of Laplace residuals: n log(loss); the floor caps an exact fit's gain.
    mae = description_lengths([0.5, 0.0], [1, 1], [0, 0], n_rows=40, n_symbols=9, loss="mae",
                              loss_floor=1e-6)
    np.testing.assert_allclose(mae, np.array([40 * math.log(0.5), 40 * math.log(1e-6)]) + math.log(9))
    assert description_lengths([0.0], [1], [0], n_rows=4, n_symbols=3)[0] == -math.inf
    with pytest.raises(ValueError, match="n_rows=0"):
        description_lengths([1.0], [1], [0], n_rows=0, n_symbols=3)
    with pytest.raises(ValueError, match="loss='absolute' is not valid"):
        description_lengths([1.0], [1], [0], n_rows=5, n_symbols=3, loss="absolute")


@pytest.mark.parametrize("folds", [2, 5, 10])
def test_held_out_losses_are_not_charged_for_their_constants_twice(folds):
    # K-fold held-out losses exceed training ones by about (1 + K/(K-1))/2 nats per constant,
    # so BIC's log(n)/2 per constant is charged less that much, and never below 0.
    paid = (1 + folds / (folds - 1)) / 2
    training = description_lengths([0.5, 0.5], [5, 5], [0, 3], n_rows=40, n_symbols=9)
    held_out = description_lengths([0.5, 0.5], [5, 5], [0, 3], n_rows=40, n_symbols=9,
                                   held_out_folds=folds)
    assert held_out[0] == training[0]
    np.testing.assert_allclose(training[1] - training[0], 3 * math.log(40) / 2)
    np.testing.assert_allclose(held_out[1] - held_out[0], 3 * (math.log(40) / 2 - paid))
    # On 8 rows a constant costs log(8)/2 = 1.04 nats, no more than a held-out loss paid.
    few = description_lengths([0.5, 0.5], [5, 5], [0, 3], n_rows=8, n_symbols=9,
                              held_out_folds=folds)
    assert few[1] == few[0]
    with pytest.raises(ValueError, match="held_out_folds must be 0 .* got 1"):
        description_lengths([0.5], [5], [1], n_rows=40, n_symbols=9, held_out_folds=1)


def test_a_law_with_one_more_constant_is_not_charged_twice_for_it(language, trees):
    # Held out on 30 rows in 5 folds, 2ab + sin(a - 0.1) lowers the loss of 2ab + sin(a) by a
    # factor 1.42, a gain of 5.3 nats against two nodes of 8 symbols (4.2 nats) and one more
    # constant: at BIC's full price on top of the held-out loss (1.7 nats) the shorter formula
    # wins, at the rest of BIC's price (0.58 nats) the longer one does.
    validation = [10.0, 1.0, 0.2, 0.1, 0.1 / 1.42]
    front = front_of(trees, [10.0, 1.0, 0.15, 0.08, 0.06])
    twice = equations_table(front, language, 0.0, validation, validation_rows=30)
    once = equations_table(front, language, 0.0, validation, validation_rows=30,
                           validation_folds=5)
    assert select_index(twice, "best") == 3
    assert select_index(once, "best") == 4
    np.testing.assert_allclose(once["description_length"],
                               description_lengths(validation, [1, 3, 5, 7, 9], [1, 0, 1, 1, 2],
                                                   30, 2 + 5 + 1, held_out_folds=5))


def test_best_takes_the_shortest_description_of_the_held_out_rows(language, trees):
    # Held out, 2ab + sin(a) beats 2*a*b by 16%, and 2ab + sin(a - 0.1) beats it by 5%.
    validation = [10.0, 1.0, 0.1, 0.084, 0.08]
    few = equations_table(front_of(trees, [10.0, 1.0, 0.09, 0.07, 0.06]), language, 0.0,
                          validation, validation_rows=30)
    lengths = few["description_length"].to_numpy()
    constants = [1, 0, 1, 1, 2]
    np.testing.assert_allclose(lengths, description_lengths(validation, [1, 3, 5, 7, 9], constants,
                                                            30, 2 + 5 + 1))
    # On 30 rows 16% is worth less than two nodes of 8 symbols: 2*a*b.
    assert select_index(few, "best") == 2
    # On 2,000 rows the 5% gain pays for two nodes and a constant.
    many = equations_table(front_of(trees, [10.0, 1.0, 0.09, 0.07, 0.06]), language, 0.0,
                           validation, validation_rows=2000)
    assert select_index(many, "best") == 4
    assert select_index(many, "accuracy") == 4 and select_index(many, "score") == 2
    # A tie goes to the simpler equation, in whatever order the rows come.
    tied = few.copy()
    tied["description_length"] = [5.0, 1.0, 1.0, 2.0, 3.0]
    assert select_index(tied.iloc[::-1].reset_index(drop=True), "best") == 3


def test_a_table_with_description_lengths_takes_pandas_operations(language, trees):
    table = equations_table(front_of(trees, LOSSES), language, 0.0, LOSSES, validation_rows=6)
    assert list(table.nlargest(2, "loss")["loss"]) == [10.0, 1.0]
    both = pd.concat([table, table])
    assert len(both) == 10
    again = pickle.loads(pickle.dumps(table))
    np.testing.assert_array_equal(again["description_length"], table["description_length"])
    assert select_index(again, "best") == select_index(table, "best")


def test_best_takes_all_within_one_and_a_half_of_lowest(language, trees):
    # 0.14 is within 1.5 x 0.1 of the lowest, and scores higher than 0.1's step
    table = front_frame(front_of(trees, [10.0, 1.0, 0.14, 0.12, 0.1]), language)
    assert select_index(table, "best") == 2


def test_best_compares_validation_losses_when_there_are_some(language, trees):
    # Training losses make row 4 eligible; held out, it does far worse than row 3.
    validation = [11.0, 1.2, 0.9, 0.2, 5.0]
    table = equations_table(front_of(trees, [10.0, 1.0, 0.5, 0.11, 0.1]), language,
                            validation_losses=validation)
    assert select_index(table, "accuracy") == 4
    assert select_index(table, "best") == 3
    # A NaN (not computed) or inf (invalid on a fold) rules an equation out.
    table["validation_loss"] = [11.0, 1.2, 0.9, np.nan, 0.19]
    assert select_index(table, "best") == 4
    with pytest.raises(ValueError, match="2 validation losses for 5 equations"):
        equations_table(front_of(trees, LOSSES), language, validation_losses=[1.0, 2.0])


def test_best_ignores_rounding_level_improvements(language, trees):
    losses = [10.0, 1.0, 3e-31, 2e-31, 0.0]
    assert select_index(front_frame(front_of(trees, losses), language), "best") == 4
    table = front_frame(front_of(trees, losses), language, loss_floor=1e-24)
    assert select_index(table, "best") == 2
    assert select_index(table, "accuracy") == 4


def test_selection_errors(language, trees):
    table = front_frame(front_of(trees, LOSSES), language)
    with pytest.raises(ValueError, match="Did you mean 'best'"):
        select_index(table, "bset")
    with pytest.raises(ValueError, match="empty"):
        select_index(table.iloc[:0], "best")


def test_check_index(language, trees):
    table = front_frame(front_of(trees, LOSSES), language)
    assert check_index(table, 2) == 2
    assert check_index(table, -1) == 4
    with pytest.raises(IndexError, match="5 rows"):
        check_index(table, 5)
    with pytest.raises(TypeError, match="integer"):
        check_index(table, "2")


def test_format_front_marks_the_pick(language, trees):
    text = format_front(front_frame(front_of(trees, LOSSES), language), selected=3)
    lines = text.splitlines()
    assert lines[0].split() == ["pick", "complexity", "loss", "score", "equation"]
    assert ">>>>" in lines[4] and "sin(a)" in lines[4]
    assert sum(">>>>" in line for line in lines) == 1
    # With held-out losses the lengths that "best" compares are shown too.
    table = equations_table(front_of(trees, LOSSES), language, 0.0, LOSSES, validation_rows=30)
    lines = format_front(table, select_index(table)).splitlines()
    assert lines[0].split() == ["pick", "complexity", "loss", "score", "description_length",
                                "equation"]
    assert f"{table['description_length'].iloc[3]:.6g}" in lines[4]


def test_equation_function_pickles_and_checks_shape(language, trees):
    function = EquationFunction(trees[3], language)
    clone = pickle.loads(pickle.dumps(function))
    X = np.array([[1.0, 2.0]])
    np.testing.assert_array_equal(clone(X), function(X))
    with pytest.raises(ValueError, match=r"shape \(n_samples, 2\)"):
        function(np.ones((3, 3)))
    assert "sin(a)" in repr(function)


def test_csv_written_atomically(tmp_path, language, trees):
    path = tmp_path / "sub" / "front.csv"
    write_front_csv(front_frame(front_of(trees, LOSSES), language), path)
    write_front_csv(front_frame(front_of(trees[:2], LOSSES[:2]), language), path)  # replaces
    back = pd.read_csv(path)
    assert list(back.columns) == ["complexity", "loss", "score", "equation"]
    assert list(back["equation"]) == ["1.5", "(a * b)"]
    assert [p.name for p in path.parent.iterdir()] == ["front.csv"]  # no temporary files left


def test_failed_write_leaves_old_file(tmp_path):
    path = tmp_path / "front.json"
    write_text_atomic(path, "old")

    with pytest.raises(TypeError):
        write_text_atomic(path, 12345)  # not text: the write fails
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["front.json"]


def test_json_records(tmp_path, language, trees):
    table = front_frame(front_of(trees, [10.0, 1.0, 0.5, 0.25, 0.0]), language)
    records = front_records(table, language, selected=1)
    assert records[1]["selected"] and not records[0]["selected"]
    assert records[0]["validation_loss"] is None  # not computed
    assert records[0]["description_length"] is None
    assert records[4]["score"] is None  # inf is not JSON
    assert records[3]["latex"] == r"2 a b + \sin{\left(a \right)}"
    path = tmp_path / "front.json"
    write_json({"equations": records}, path)
    assert json.loads(path.read_text())["equations"][1]["equation"] == "(a * b)"
