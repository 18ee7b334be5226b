"""Replay "best" selection on saved hybridsr runs, with the charge per constant in full.

    .venv/bin/python benchmarks/selection_replay.py results/empirical [results/nguyen ...]

Every hybridsr run of ``hybridsr bench`` saves what model selection weighed
for each front equation (``info["equations"]``: complexity, fitted
constants, held-out loss, description length). This script picks again on
those same fronts, so that two selection rules are compared without the
search's run-to-run variation:

* ``this version``: the saved description lengths, whose charge per
  constant is ``log(n)/2`` less what a K-fold held-out loss already paid
  for it (:func:`hybridsr.export.description_lengths`);
* ``BIC in full``: the same with the whole ``log(n)/2`` per constant, on
  top of the held-out loss (the rule before this version).

Each pick is judged as the bench judges it (:func:`hybridsr.bench.job.rejudge`),
and the script prints, per problem and in total, the runs whose pick is the
exact law (SRBench's rule) and those whose pick has the law's form (the
PySR paper's criterion, :mod:`hybridsr.bench.form`), then the runs where the
two rules pick differently.
"""

from __future__ import annotations

import argparse
import math
import sys

import numpy as np

from hybridsr.bench.job import rejudge
from hybridsr.bench.report import load_results
from hybridsr.datasets import get_problem
from hybridsr.export import description_lengths
from hybridsr.validation import MAX_ROWS

#: The estimator's default ``validation_folds``, which the bench runs use.
FOLDS = 5
RULES = ("this version", "BIC in full")


def constant_costs(n_rows: int) -> dict[str, float]:
    """Nats per fitted constant under each rule, for ``n_rows`` held-out rows."""
    held_out = dict(n_rows=n_rows, n_symbols=2, held_out_folds=min(FOLDS, n_rows))
    current = float(np.diff(description_lengths([1.0, 1.0], [1, 1], [0, 1], **held_out))[0])
    return {"this version": current, "BIC in full": math.log(n_rows) / 2}


def pick(entries: list[dict], cost: float, saved_cost: float) -> int:
    """Row of the shortest description length with ``cost`` nats per constant, ties to
    the simpler equation (as :func:`hybridsr.export.select_index`)."""
    lengths = np.array([math.inf if e["description_length"] is None
                        else e["description_length"] + e["n_constants"] * (cost - saved_cost)
                        for e in entries])
    complexities = np.array([e["complexity"] for e in entries])
    return int(np.lexsort((complexities, lengths))[0])


def replay(record: dict) -> dict[str, dict] | None:
    """Each rule's pick of a saved run and its verdict (None for a run without the inputs)."""
    entries = record.get("info", {}).get("equations")
    if record.get("status") != "ok" or not entries or len(entries) != len(record["front"]):
        return None
    problem = get_problem(record["problem"])
    costs = constant_costs(min(problem.n_samples, MAX_ROWS))  # the bench's rows, as validated
    saved = record["front"].index(record["selected"])
    verdicts = {}
    for rule in RULES:
        row = pick(entries, costs[rule], costs["this version"])
        judged = record if row == saved else rejudge({**record, "selected": record["front"][row]},
                                                     problem)
        verdicts[rule] = {"formula": record["front"][row], "exact": bool(judged["selected_exact"]),
                          "form": bool(judged["selected_form"])}
    return verdicts


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="+", help="output folders of hybridsr bench runs")
    args = parser.parse_args(argv)
    records = [r for folder in args.folders for r in load_results(folder)
               if str(r.get("method", "")).startswith("hybridsr")]
    totals = {rule: {} for rule in RULES}
    differing = []
    for record in records:
        verdicts = replay(record)
        if verdicts is None:
            continue
        for rule, verdict in verdicts.items():
            exact, form, runs = totals[rule].get(record["title"], (0, 0, 0))
            totals[rule][record["title"]] = (exact + verdict["exact"], form + verdict["form"], runs + 1)
        if len({v["formula"] for v in verdicts.values()}) > 1:
            differing.append((record["key"], verdicts))
    if not any(totals[RULES[0]].values()):
        print("no saved runs with selection inputs (info['equations']) in", *args.folders)
        return 1
    print(f"{'problem':24s}" + "".join(f"{rule + ' exact/form':>26s}" for rule in RULES))
    for title in totals[RULES[0]]:
        cells = [totals[rule][title] for rule in RULES]
        print(f"{title:24s}" + "".join(f"{f'{e}/{f} of {n}':>26s}" for e, f, n in cells))
    sums = [np.sum(list(totals[rule].values()), axis=0) for rule in RULES]
    print(f"{'total':24s}" + "".join(f"{f'{e}/{f} of {n}':>26s}" for e, f, n in sums))
    print(f"\n{len(differing)} run(s) where the rules pick differently:")
    for key, verdicts in differing:
        print(f"  {key}")
        for rule, v in verdicts.items():
            marks = ("exact" if v["exact"] else "form" if v["form"] else "-")
            print(f"    {rule:13s} {marks:6s} {v['formula']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
