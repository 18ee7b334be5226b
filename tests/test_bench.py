"""Benchmark judging, job planning, resumable runs and tables."""

import json
import math

import numpy as np
import pytest
import sympy

from hybridsr.bench import judge as judge_module
from hybridsr.bench import runner
from hybridsr.bench.judge import first_exact_time, judge, r2_score, round_floats, symbolic_match
from hybridsr.bench.job import front_metrics, positive_variables
from hybridsr.bench.report import format_table, load_results, summary_table, write_reports
from hybridsr.bench.runner import completed_keys, plan_jobs, run_benchmark
from hybridsr.datasets import get_problem
from hybridsr.datasets import get_suite


def test_round_floats_follows_srbench():
    x = sympy.Symbol("x")
    rounded = round_floats(sympy.Float(3.00049) * x + sympy.Float(5e-5))
    assert rounded == 3 * x
    assert round_floats(sympy.Float(0.12345) * x) == sympy.Rational(123, 1000) * x


def test_round_floats_keeps_tiny_constants_that_matter():
    r, m = sympy.symbols("r m", positive=True)
    points = {"r": np.linspace(1e9, 1e12, 30), "m": np.linspace(1e22, 1e30, 30)}
    model = sympy.log(sympy.Float(6.6559e-11) * m / r**2) + sympy.Float(3e-6) * r / r
    rounded = round_floats(model, points=points)
    assert rounded == sympy.log(sympy.Float(6.66e-11) * m / r**2)
    assert round_floats(model) == sympy.log(0 * m)  # SRBench's rule without points
    assert symbolic_match(str(model), "log(6.67408e-11*m*r**(-2))", names=("r", "m"),
                          positive=("r", "m"), points=points)


@pytest.mark.parametrize("model, truth, names, expected", [
    ("70.00004*D", "70*D", ("D",), True),                      # rounding to 3 decimals
    ("3.0001*sin(x) - 0.5*x + 2.5", "3*sin(x) - 0.5*x", ("x",), True),  # additive constant
    ("6.2*x*sqrt(x)", "x**1.5", ("x",), True),                 # multiplicative constant
    ("x + 1", "x**2", ("x",), False),
    ("2*x + 1", "x", ("x",), False),
    ("2*I*gamma", "I*gamma", ("I", "gamma"), True),            # names sympy would misread
    ("3.0001*sin(1.00002*x) - 0.5*x", "3*sin(x) - 0.5*x", ("x",), True),  # 1.0 inside a function
    ("2.00001*sin(0.49999*x)", "sin(x/2)", ("x",), True),      # rounded to an exact 1/2
    # A formula that rounding used to turn into log(0), whose ratio simplified to nan:
    ("-0.107*(2.96*n1**3/n2**3 - 18.7)*log(0.000303*n1)", "log(1/(1/n1**2 - 1/n2**2))",
     ("n1", "n2"), False),
])
def test_symbolic_match(model, truth, names, expected):
    assert symbolic_match(model, truth, names=names) is expected


@pytest.mark.parametrize("model, truth, expected", [
    # Rydberg's law with R fitted: sympy keeps log(R/n1**2 - R/n2**2) whole.
    ("-log(-10946566.97/n2**2 + 10946566.97/n1**2)", "log(9.11577e-8/(-1/n2**2 + n1**(-2)))", True),
    ("log(10946566.97*n1**(-2) - 10946566.97*n2**(-2)) + 3.2",
     "-log(9.11577e-8/(-1/n2**2 + n1**(-2)))", True),
    # The same with untied constants (the noise's) is not the law.
    ("-log(-11102056.58/n2**2 + 11088920.01/n1**2)", "log(9.11577e-8/(-1/n2**2 + n1**(-2)))", False),
    ("-1.1*log(-10946566.97/n2**2 + 10946566.97/n1**2)", "log(9.11577e-8/(-1/n2**2 + n1**(-2)))",
     False),
])
def test_log_of_a_scaled_difference_matches_on_the_box(model, truth, expected):
    names = ("n1", "n2")
    rng = np.random.default_rng(0)
    n1 = rng.integers(1, 6, 50).astype(float)
    points = {"n1": n1, "n2": n1 + rng.integers(1, 4, 50)}
    assert symbolic_match(model, truth, names=names, positive=names, points=points) is expected


@pytest.mark.parametrize("model, truth, expected", [
    # Both equal the truth; their ratio holds sqrt(c**2 - v**2)*sqrt(1/(c**2 - v**2)), which
    # sympy cannot cancel without the radicand's sign: its square is a constant.
    ("m_0*sqrt(1.0 + v/(c*(1.0*c/v - v/c)))", "m_0/sqrt(1-v**2/c**2)", True),
    ("1.4142135623731*m_0*sqrt(-v/(-c + v) + 0.5)", "(1+v/c)/sqrt(1-v**2/c**2)*m_0", True),
    ("m_0*sqrt(1.0 + v/c)", "m_0/sqrt(1-v**2/c**2)", False),
    ("m_0*(1.0 + v**2/c**2)", "m_0/sqrt(1-v**2/c**2)", False),
])
def test_ratio_whose_square_is_constant_matches(model, truth, expected):
    names = ("m_0", "v", "c")
    rng = np.random.default_rng(0)
    points = {"m_0": rng.uniform(1, 5, 50), "v": rng.uniform(1, 2, 50), "c": rng.uniform(3, 10, 50)}
    assert symbolic_match(model, truth, names=names, positive=names, points=points) is expected
    # Without test points the sign of the ratio is unknown: no squaring.
    assert not symbolic_match(model, truth, names=names, positive=names)


@pytest.mark.parametrize("model, truth, expected", [
    ("3.0001*sin(x) - 0.5*x + 2.5", "3*sin(x) - 0.5*x", True),
    ("6.2*x*sqrt(x)", "x**1.5", True),
    ("2*log(x) + 1", "log(x**2)", True),
    ("x + 1", "x**2", False),
    ("sin(x) + 1e-3*x", "sin(x)", False),
])
def test_numeric_screen_agrees_with_sympy(model, truth, expected):
    points = {"x": np.linspace(0.5, 3.0, 50)}
    assert symbolic_match(model, truth, names=("x",), positive=("x",), points=points) is expected
    assert symbolic_match(model, truth, names=("x",), positive=("x",)) is expected


def test_constant_that_decimals_round_to_zero():
    # 3.03e-4 is above SRBench's 1e-4 cut, but 3 decimals make it 0: dropped where that is
    # negligible, kept where it is not (log(0) would be nan, which is no constant).
    points = {"x": np.linspace(0.5, 3.0, 50), "lambd": np.linspace(1.0, 5.0, 50)}
    assert symbolic_match("log(0.000303*x)", "log(x)", names=("x",), positive=("x",), points=points)
    assert not symbolic_match("log(0.000303*x)", "log(x)", names=("x",), positive=("x",))
    assert symbolic_match("-0.999889*asin(1.5649777*(0.00031407923 - 0.6392305*lambd)/5)",
                          "asin(lambd/5)", names=("lambd",), points=points)


def test_numeric_screen_spares_sympy_a_slow_miss():
    slow = "+".join(f"sin(x)**{k}*cos(x)**{k + 1}" for k in range(40))
    points = {"x": np.linspace(-2.0, 2.0, 50)}
    # Without the screen this takes sympy far longer than the limit (see below).
    assert symbolic_match(slow, "sin(x) + 1", timeout=5.0, names=("x",), points=points) is False


def test_numeric_screen_turns_down_a_model_undefined_on_the_domain():
    # Read plainly, a peer's protected log of a negative argument has no real value on the
    # points: no match, decided before sympy (which alone takes past the limit here).
    slow = "+".join(f"sin(x)**{k}*cos(x)**{k + 1}" for k in range(40))
    points = {"x": np.linspace(0.5, 3.0, 50)}
    x = sympy.Symbol("x")
    model = sympy.sympify(f"log(-x - 1)*({slow})", locals={"x": x})
    assert judge_module._constant_on_points(model, sympy.sin(x) + 1, points) == (False, False)
    assert symbolic_match(str(model), "sin(x) + 1", timeout=5.0, names=("x",), points=points) is False
    # Defined on most points (a pole between them): left to the usual checks.
    assert symbolic_match("2*x*(x - 1.75)/(x - 1.75)", "x", names=("x",), positive=("x",),
                          points=points) is True


def test_symbolic_match_gives_up_at_the_time_limit():
    slow = "+".join(f"sin(x)**{k}*cos(x)**{k + 1}" for k in range(40))
    assert symbolic_match(slow, "sin(x)", timeout=0.01, names=("x",)) is False


def test_judge_outcomes():
    assert judge("70*D", ["D", "70*D"], "70*D", 1.0, names=("D",)).outcome == "exact"
    assert judge("D + 1", ["D", "70*D"], "70*D", 0.5, names=("D",)).outcome == "on_front"
    assert judge("D + 1", ["D + 1"], "70*D", 0.9995, names=("D",)).outcome == "accurate"
    assert judge("D + 1", ["D + 1"], "70*D", 0.5, names=("D",)).outcome == "failed"


def test_variables_from_positive_ranges_are_positive_to_the_judge():
    # sqrt(a**3) == a**1.5 only for a >= 0; Kepler's a is a distance.
    kepler = get_problem("kepler", "empirical")
    assert positive_variables(kepler) == ("a",)
    assert positive_variables(get_problem("bode", "empirical")) == ()
    # Uniform on [0, 1]: positive but for a draw of probability 2**-53, so x1**x2 == exp(x2*log(x1)).
    assert positive_variables(get_problem("nguyen_11", "nguyen")) == ("x1", "x2")
    assert symbolic_match("exp(x2*log(x1))", "x1**x2", names=("x1", "x2"), positive=("x1", "x2"))
    assert symbolic_match("365.16*a**1.5", "365.25*sqrt(a**3)", names=("a",), positive=("a",))
    assert not symbolic_match("365.16*a**1.5", "365.25*sqrt(a**3)", names=("a",))


def test_rejudge_reads_saved_formulas_again(tmp_path):
    from hybridsr.bench.report import rejudge_results

    kepler = get_problem("kepler", "empirical")
    record = {"key": "m/kepler/0", "method": "m", "problem": "kepler", "title": "Kepler",
              "suite": "empirical", "seed": 0, "status": "ok", "truth": str(kepler.sympy()),
              "selected": "900*a", "front": ["900*a", "365.16*a**1.5"], "test_r2": 0.9,
              "fit_seconds": 7.0, "outcome": "failed"}
    (tmp_path / "results-0of1.jsonl").write_text(json.dumps(record) + "\n")
    assert rejudge_results(tmp_path, {"kepler": kepler}) == 1
    (updated,) = load_results(tmp_path)
    assert updated["outcome"] == "on_front" and updated["front_exact_indices"] == [1]
    assert updated["solved_seconds"] == 7.0  # no snapshots saved: the end of the fit


def test_judge_lists_the_matching_front_formulas():
    verdict = judge("x + 1", ["x", "x + 1", "3*x**2", "x**2 + 0.5"], "x**2", 0.5, names=("x",))
    assert verdict.outcome == "on_front" and verdict.front_exact_indices == (2, 3)


def test_first_exact_time_finds_the_earliest_solved_snapshot():
    timeline = [(1.0, ["x"]), (2.0, ["x", "x + 1"]), (3.5, ["x", "2*x**2"]), (5.0, ["x**2 + 3"])]
    assert first_exact_time(timeline, "x**2", names=("x",)) == 3.5
    assert first_exact_time(timeline[:2], "x**2", names=("x",)) is None
    assert first_exact_time([], "x**2", names=("x",)) is None


def test_front_metrics_size_and_held_out_error():
    X = {"x": np.linspace(1.0, 2.0, 50)}
    y = X["x"] ** 2
    sizes, errors = front_metrics(["x", "x**2", "log(x - 5)", "3", "not a formula("], ("x",), X, y)
    assert sizes[:4] == [1, 3, 4, 1] and sizes[4] == 0
    assert errors[1] == 0.0
    assert errors[0] == pytest.approx(np.mean((X["x"] - y) ** 2) / np.var(y))
    assert errors[2] == errors[4] == np.inf  # log of a negative; unreadable text
    assert errors[3] == pytest.approx(1 + (3 - np.mean(y)) ** 2 / np.var(y))


def test_front_formulas_are_read_and_sized_as_written():
    from hybridsr.bench.methods import formula_size, parse_formula

    # Evaluating sqrt(u**2) asks whether u is real, which expands every exp inside it: a
    # front formula like this one (from a Hubble run, longer there) held a bench job past
    # its hard limit and lost the fit. Read as written, it is a square root of a square.
    text = ("sqrt((-99.56*D*exp(3.6e+18/(((9.86 - D)*exp(D) + 52777.11)**2 - 7032777.78))"
            " + 5)**2)")
    written = parse_formula(text, ("D",), evaluate=False)
    assert written.func is sympy.Pow and written.args[0].func is sympy.Pow
    sizes, errors = front_metrics([text], ("D",), {"D": np.linspace(1.0, 2.0, 5)},
                                  np.linspace(1.0, 2.0, 5))
    assert sizes == [formula_size(written)] and len(errors) == 1  # it overflows at these D
    # Nodes as written, a number one node however it is written.
    sizes = {"x/2": 3, "x**(3/2)": 3, "-x + 3*y": 7, "x*(x + 1)*(x**2 + 1)": 10, "1/(4*pi)": 1,
             "sqrt(x)*exp(-y/3)": 10}
    for formula, size in sizes.items():
        assert formula_size(parse_formula(formula, ("x", "y"), evaluate=False)) == size, formula


def test_parallel_jobs_all_run_once(tmp_path, monkeypatch):
    ran = []

    def fake_run_one(method, problem, seed, *args):
        ran.append((method, problem.name, seed))
        return _record(method, problem.name, seed, "exact") | {"status": "ok", "seconds": 0.0}

    monkeypatch.setattr(runner, "_run_one", fake_run_one)
    problems = get_suite("nguyen")[:5]
    records = run_benchmark(problems, ["a"], [0], 1.0, tmp_path, parallel=2, echo=lambda _: None)
    assert sorted(ran) == sorted(("a", p.name, 0) for p in problems)
    assert len(records) == 5 and len(completed_keys(tmp_path)) == 5
    with pytest.raises(ValueError, match="at least 1"):
        run_benchmark(problems, ["a"], [0], 1.0, tmp_path, parallel=0)


def test_r2_score():
    y = np.array([1.0, 2.0, 3.0])
    assert r2_score(y, y) == 1.0
    assert r2_score(y, np.array([2.0, 2.0, 2.0])) == 0.0
    assert r2_score(y, np.array([1.0, np.nan, 3.0])) == -np.inf


def test_plan_jobs_splits_without_overlap():
    problems = get_suite("nguyen")[:3]
    everything = plan_jobs(problems, ["a", "b"], [0, 1])
    assert len(everything) == 12
    parts = [plan_jobs(problems, ["a", "b"], [0, 1], i, 5) for i in range(5)]
    assert sorted(map(repr, (j for part in parts for j in part))) == sorted(map(repr, everything))
    with pytest.raises(ValueError, match="task_index"):
        plan_jobs(problems, ["a"], [0], 3, 3)


def _record(method, title, seed, outcome):
    return {"key": f"{method}/{title}/{seed}", "method": method, "problem": title, "title": title,
            "seed": seed, "outcome": outcome}


def test_tables_and_resume(tmp_path):
    records = [_record("hybridsr", "Hubble", s, "exact") for s in range(4)]
    records.append(_record("hybridsr", "Hubble", 4, "accurate"))
    records += [_record("operon", "Hubble", s, "on_front") for s in range(5)]
    with open(tmp_path / "results-0of1.jsonl", "w") as handle:
        for record in records:
            handle.write(json.dumps(record) + "\n")
        handle.write('{"key": "cut sho')  # a line a kill cut short is ignored
    assert len(load_results(tmp_path)) == 10
    assert "hybridsr/Hubble/3" in completed_keys(tmp_path)
    table = summary_table(load_results(tmp_path))
    assert table.loc["Hubble", "hybridsr"] == "4/5 (4, 0, 1, 0)"
    assert table.loc["Hubble", "operon"] == "0/5 (0, 5, 0, 0)"
    assert "4/5 (4, 0, 1, 0)" in format_table(table)
    write_reports(tmp_path)
    assert "| Hubble |" in (tmp_path / "summary.md").read_text()
    assert (tmp_path / "summary.csv").read_text().startswith("problem,hybridsr,operon")


def test_bench_command_end_to_end(tmp_path, capsys):
    from hybridsr.cli import main

    out = tmp_path / "results"
    argv = ["bench", "--suite", "seed", "--seeds", "1", "--time", "4", "--methods", "hybridsr",
            "--out", str(out)]
    assert main(argv) == 0
    records = load_results(out)
    assert len(records) == 1 and records[0]["status"] == "ok", records
    assert records[0]["outcome"] in ("exact", "on_front", "accurate", "failed")
    assert records[0]["front_form"] >= (records[0]["outcome"] in ("exact", "on_front"))
    front = records[0]["front"]
    assert len(records[0]["front_size"]) == len(records[0]["front_test_nmse"]) == len(front)
    assert records[0]["info"]["method"] == "hybridsr" and "guidance" in records[0]["info"]
    solved = records[0]["solved_seconds"]
    assert (solved is None) == (records[0]["outcome"] in ("accurate", "failed"))
    assert "1 job(s) to run" in capsys.readouterr().out
    assert main(argv) == 0  # resumed: nothing left to do
    assert "0 job(s) to run" in capsys.readouterr().out
    assert main(["bench", "report", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "/1 (" in printed and "functional form" in printed  # both tables
    assert (out / "summary_form.csv").exists()
    if "no plots" not in printed:  # matplotlib is an optional extra
        assert (out / "recovery.png").stat().st_size > 10_000
        assert (out / "time_to_solution.png").exists() and list((out / "fronts").glob("*.png"))
    assert main(["bench", "--methods", "hybrid", "--out", str(out)]) == 2
    assert "Did you mean 'hybridsr'" in capsys.readouterr().err


def test_guidance_ablation_summary():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parent.parent / "benchmarks" / "guidance_ablation.py"
    spec = importlib.util.spec_from_file_location("guidance_ablation", path)
    ablation = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ablation)
    records = [{**_record("hybridsr", "Hubble", 0, "exact"), "solved_seconds": 4.0},
               {**_record("hybridsr", "Hubble", 1, "on_front"), "solved_seconds": 8.0},
               {**_record("hybridsr-gp", "Hubble", 0, "accurate"), "solved_seconds": None}]
    rows = {row["method"]: row for row in ablation.summarize(records)}
    assert rows["hybridsr"] == {"method": "hybridsr", "runs": 2, "on_front": 2, "selected": 1,
                                "median_seconds": 6.0}
    assert rows["hybridsr-gp"]["on_front"] == 0 and rows["hybridsr-gp"]["median_seconds"] is None
    assert ablation.per_problem(records) == [("Hubble", ["0/1", "2/2"])]
    with pytest.raises(SystemExit):
        ablation.main(["--out", "unused", "--guided", "hybridsr-structur", "--report-only"])


def test_selection_replay_picks_again_on_the_saved_front(tmp_path, capsys):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parent.parent / "benchmarks" / "selection_replay.py"
    spec = importlib.util.spec_from_file_location("selection_replay", path)
    replay = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(replay)
    # Hubble's 30 rows: a constant costs log(30)/2 - 1.125 = 0.58 nats now, 1.70 in full, so
    # the two-constant line that holds out 0.5 nats better than the law is picked now but
    # not when each of its constants costs 1.125 nats more.
    costs = replay.constant_costs(30)
    np.testing.assert_allclose([costs["this version"], costs["BIC in full"]],
                               [math.log(30) / 2 - 1.125, math.log(30) / 2])
    front = ["785.98", "73.44*D", "74.93*D - 20"]
    record = {"key": "hybridsr-full/hubble/0", "method": "hybridsr-full", "problem": "hubble",
              "title": "Hubble", "seed": 0, "status": "ok", "truth": "73.3*D", "test_r2": 0.99,
              "selected": front[2], "front": front, "selected_exact": False,
              "selected_form": False,
              "info": {"equations": [
                  {"complexity": 1, "n_constants": 1, "description_length": 50.0},
                  {"complexity": 3, "n_constants": 1, "description_length": 10.0},
                  {"complexity": 5, "n_constants": 2, "description_length": 9.5}]}}
    verdicts = replay.replay(record)
    assert verdicts["this version"] == {"formula": front[2], "exact": False, "form": False}
    assert verdicts["BIC in full"] == {"formula": front[1], "exact": True, "form": True}
    (tmp_path / "results-0of1.jsonl").write_text(json.dumps(record) + "\n")
    assert replay.main([str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "0/0 of 1" in printed and "1/1 of 1" in printed and "hybridsr-full/hubble/0" in printed
    assert replay.main([str(tmp_path / "empty")]) == 1
