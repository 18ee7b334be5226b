"""Benchmark pictures: each one is written and readable; crashed, old and non-finite records are tolerated.

The drawing tests skip without matplotlib (an optional extra); the record
handling and the ImportError that names the extra are checked either way.
"""

import json
import sys

import pytest

from hybridsr.bench import plots

FRONT = ["0.5", "2.1*x1", "x1**3 + x1**2 + x1", "x1**3 + 1.01*x1**2 + x1 + 0.002*sin(x1)"]


def _record(method, problem, seed, outcome, **changes):
    """A finished job's record in the format hybridsr.bench.job writes."""
    record = {"key": f"{method}/{problem}/{seed}", "method": method, "problem": problem,
              "title": problem.replace("nguyen_", "Nguyen-"), "suite": "nguyen", "seed": seed,
              "time_budget": 10.0, "truth": "x1**3 + x1**2 + x1", "selected": FRONT[1],
              "front": list(FRONT), "fit_seconds": 10.2, "test_r2": 0.9, "outcome": outcome,
              "status": "ok", "seconds": 11.0, "front_size": [1, 3, 8, 14],
              "front_test_nmse": [1.0, 0.2, 1e-9, 0.0], "front_exact_indices": [],
              "solved_seconds": None}
    record.update(changes)
    return record


def _crashed(method, problem, seed):
    """What the runner writes for a job whose process died: no result keys at all."""
    return {"key": f"{method}/{problem}/{seed}", "method": method, "problem": problem,
            "title": problem, "suite": "nguyen", "seed": seed, "time_budget": 10.0,
            "status": "crashed", "outcome": "failed", "error": "job exited with status -9",
            "seconds": 30.0}


@pytest.fixture
def records():
    """2 problems x 2 methods x 2 seeds: exact, exact on the front, accurate, failed, crashed."""
    return [
        _record("hybridsr", "nguyen_1", 0, "exact", selected=FRONT[2], front_exact_indices=[2, 3],
                solved_seconds=2.5),
        _record("operon", "nguyen_1", 0, "failed", front_test_nmse=["inf", 0.3, "nan", 0.1]),
        _record("hybridsr", "nguyen_1", 1, "on_front", front_exact_indices=[2]),  # no solved_seconds
        _crashed("operon", "nguyen_1", 1),
        _record("hybridsr", "nguyen_2", 0, "accurate", truth="x1**4 + x1**3 + x1**2 + x1"),
        _crashed("operon", "nguyen_2", 0),
        _record("hybridsr", "nguyen_2", 1, "exact", solved_seconds=7.0, front_exact_indices=[1]),
        _record("operon", "nguyen_2", 1, "failed", front_test_nmse=["inf"] * 4),
    ]


@pytest.fixture
def imread():
    return pytest.importorskip("matplotlib.image").imread


def _assert_picture(path, imread, min_bytes=8_000):
    assert path.is_file() and path.stat().st_size > min_bytes
    height, width = imread(path).shape[:2]
    assert height > 100 and width > 100


# ------------------------------------------------------------------ reading records
def test_counts_put_crashed_runs_apart(records):
    titles, methods, counts = plots._recovery_counts(records)
    assert list(titles) == ["nguyen_1", "nguyen_2"] and titles["nguyen_1"] == "Nguyen-1"
    assert methods == ["hybridsr", "operon"]
    assert counts[("nguyen_1", "hybridsr")] == {"exact": 1, "on_front": 1, "accurate": 0,
                                                "failed": 0, "no_result": 0}
    assert counts[("nguyen_1", "operon")]["failed"] == 1
    assert counts[("nguyen_1", "operon")]["no_result"] == 1


def test_solve_time_falls_back_to_the_end_of_the_fit(records):
    assert [plots._solve_time(r) for r in records] == [2.5, None, 10.2, None, None, None, 7.0, None]
    assert plots._solve_time({"status": "ok", "outcome": "exact", "solved_seconds": "nan",
                              "fit_seconds": "inf", "time_budget": 5.0}) == 5.0


def test_exact_indices_from_new_and_old_records():
    assert plots._exact_indices(_record("m", "p", 0, "exact", front_exact_indices=[0, 3, 9])) == {0, 3}
    assert plots._exact_indices({"front": FRONT, "front_exact": [1]}) == {1}
    # Old records hold only booleans: the selected formula is the one known to be exact.
    old = {"front": FRONT, "selected": FRONT[2], "selected_exact": True, "front_exact": True}
    assert plots._exact_indices(old) == {2}
    assert plots._exact_indices({**old, "selected_exact": False}) == set()


def test_front_sizes_count_sympy_nodes():
    record = _record("m", "nguyen_1", 0, "exact", front=["0.5", "2.1*x1", "x1**2 + x1", "(("])
    assert plots._front_sizes(record) == [1, 3, 5, None]
    # A suite that cannot be loaded: the variable names are read from the formulas.
    record.update(problem="gone", suite="/nowhere/suite.py")
    assert plots._variable_names(record) == ("x1",)
    assert plots._front_sizes(record)[:3] == [1, 3, 5]


def test_short_floats_keep_names_and_exponents():
    assert plots._short_floats("75.3833421190509*D + x2**2 - 6.67408e-11/r1") == \
        "75.38*D + x2**2 - 6.674e-11/r1"


def test_front_without_losses_says_why(tmp_path):
    record = _record("m", "nguyen_1", 0, "exact")
    del record["front_test_nmse"]
    with pytest.raises(ValueError, match="front_test_nmse"):
        plots.plot_front(record, tmp_path / "front.png")
    with pytest.raises(ValueError, match="no front"):
        plots.plot_front(_crashed("m", "nguyen_1", 0), tmp_path / "front.png")


def test_missing_matplotlib_names_the_extra(records, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes "import matplotlib" fail
    with pytest.raises(ImportError, match=r'pip install "hybridsr\[plot\]"'):
        plots.plot_recovery(records, tmp_path / "recovery.png")


# ------------------------------------------------------------------ pictures
def test_plot_recovery(records, tmp_path, imread):
    path = plots.plot_recovery(records, tmp_path / "recovery.png")
    assert path == tmp_path / "recovery.png"
    _assert_picture(path, imread)


def test_recovery_by_the_form_counts_selected_front_and_missing(records):
    forms = [dict(r, selected_form=r["outcome"] == "exact",
                  front_form=r["outcome"] in ("exact", "on_front"))
             if r["status"] == "ok" else r for r in records]
    forms.append({**_record("operon", "nguyen_1", 2, "failed"), "note": "judged before the form"})
    _, methods, counts = plots._recovery_counts([r for r in forms if plots._form_judged(r)], "form")
    assert methods == ["hybridsr", "operon"]
    assert counts[("nguyen_1", "hybridsr")] == {"selected": 1, "on_front": 1, "missing": 0,
                                                "no_result": 0}
    assert counts[("nguyen_2", "hybridsr")] == {"selected": 1, "on_front": 0, "missing": 1,
                                                "no_result": 0}
    assert counts[("nguyen_1", "operon")] == {"selected": 0, "on_front": 0, "missing": 1,
                                              "no_result": 1}


def test_plot_recovery_by_the_form(records, tmp_path, imread):
    forms = [dict(r, selected_form=r["outcome"] == "exact",
                  front_form=r["outcome"] in ("exact", "on_front"))
             for r in records]
    _assert_picture(plots.plot_recovery(forms, tmp_path / "form.png", criterion="form"), imread)
    with pytest.raises(ValueError, match="--rejudge"):
        plots.plot_recovery([r for r in records if r["status"] == "ok"], tmp_path / "x.png",
                            criterion="form")
    with pytest.raises(ValueError, match="criterion must be one of"):
        plots.plot_recovery(records, tmp_path / "x.png", criterion="paper")


def test_plot_front_with_non_finite_losses(records, tmp_path, imread):
    _assert_picture(plots.plot_front(records[1], tmp_path / "front.png"), imread)


def test_plot_front_with_an_astronomical_loss(records, tmp_path, imread):
    # A formula that explodes off its training rows (feyn on Newton: NMSE 1.3e293) once
    # overflowed matplotlib's log axis and stopped `hybridsr bench` before its pictures.
    record = dict(records[1], front_test_nmse=[1.3e293, 0.5, 0.2, 0.1])
    _assert_picture(plots.plot_front(record, tmp_path / "front.png"), imread)


def test_plot_front_computes_missing_sizes(records, tmp_path, imread):
    record = dict(records[0])
    del record["front_size"]
    _assert_picture(plots.plot_front(record, tmp_path / "sub" / "front.png"), imread)


def test_plot_time_to_solution(records, tmp_path, imread):
    _assert_picture(plots.plot_time_to_solution(records, tmp_path / "time.png"), imread)


def test_write_plots_reads_the_results_and_draws_every_picture(records, tmp_path, imread):
    lines = [json.dumps(dict(r, selected_form=r["outcome"] == "exact", front_form=True)
                        if r["status"] == "ok" else r) for r in records]
    (tmp_path / "results-0of1.jsonl").write_text("\n".join(lines) + "\n")
    written = plots.write_plots(tmp_path)
    # One front per (problem, method): its lowest finished seed (operon's seed 0 crashed on nguyen_2).
    expected = ["recovery.png", "recovery_form.png", "time_to_solution.png",
                "fronts/nguyen_1-hybridsr-seed0.png",
                "fronts/nguyen_1-operon-seed0.png", "fronts/nguyen_2-hybridsr-seed0.png",
                "fronts/nguyen_2-operon-seed1.png"]
    assert written == [tmp_path / name for name in expected]
    for path in written:
        _assert_picture(path, imread, min_bytes=5_000)
    assert plots.write_plots(tmp_path / "empty") == []


def test_write_plots_skips_fronts_of_old_records(records, tmp_path, imread):
    old = [{k: v for k, v in r.items() if k not in ("front_size", "front_test_nmse")} for r in records]
    written = plots.write_plots(tmp_path, old)
    assert [p.name for p in written] == ["recovery.png", "time_to_solution.png"]
