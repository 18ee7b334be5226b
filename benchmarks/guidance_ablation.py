"""Does neural guidance help? The GP alone against guided searches, same seeds and budget.

    .venv/bin/python benchmarks/guidance_ablation.py --suite empirical --seeds 3 --time 60 \\
        --out results/ablation [--parallel 2] [--problems NAME,NAME,...] \\
        [--guided hybridsr,hybridsr-structure,hybridsr-transformer]

Runs ``hybridsr bench`` jobs for ``hybridsr-gp`` and the guided methods
(``--guided``, default ``hybridsr``, the student-guided hybrid; resumable:
finished jobs in ``--out`` are skipped, and results of the same methods from
another run can be copied in), then prints per method: runs with
the true law on the front, with it selected, and the median time to the first
front that held it (over the runs that got there). ``--report-only`` prints
the figures of what is in ``--out`` without running anything.
"""

from __future__ import annotations

import argparse
import statistics
import sys

from hybridsr.bench.report import load_results
from hybridsr.bench.runner import run_benchmark
from hybridsr.datasets import get_suite

METHODS = ("hybridsr-gp", "hybridsr")
GUIDED = ("hybridsr", "hybridsr-structure", "hybridsr-transformer")


def summarize(records: list[dict], methods=METHODS) -> list[dict]:
    """Per method: runs, exact on the front, exact and selected, median seconds to solution."""
    rows = []
    for method in methods:
        own = [r for r in records if r.get("method") == method]
        solved = [float(r["solved_seconds"]) for r in own
                  if r.get("outcome") in ("exact", "on_front") and r.get("solved_seconds") is not None]
        rows.append({"method": method, "runs": len(own),
                     "on_front": sum(r.get("outcome") in ("exact", "on_front") for r in own),
                     "selected": sum(r.get("outcome") == "exact" for r in own),
                     "median_seconds": statistics.median(solved) if solved else None})
    return rows


def per_problem(records: list[dict], methods=METHODS) -> list[tuple[str, list[str]]]:
    """Per problem and method: ``k/n`` runs with the true law on the front."""
    problems = list(dict.fromkeys(r["title"] for r in records))
    table = []
    for title in problems:
        cells = []
        for method in methods:
            own = [r for r in records if r["title"] == title and r.get("method") == method]
            hits = sum(r.get("outcome") in ("exact", "on_front") for r in own)
            cells.append(f"{hits}/{len(own)}" if own else "-")
        table.append((title, cells))
    return table


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", default="empirical")
    parser.add_argument("--problems", default=None,
                        help="comma-separated problem names (default: the whole suite)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--time", type=float, default=60.0)
    parser.add_argument("--parallel", type=int, default=1)
    parser.add_argument("--out", required=True)
    parser.add_argument("--guided", default="hybridsr",
                        help=f"comma-separated guided methods to set beside hybridsr-gp: {', '.join(GUIDED)}")
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args(argv)
    guided = args.guided.split(",")
    unknown = [m for m in guided if m not in GUIDED]
    if unknown:
        parser.error(f"--guided: {', '.join(unknown)} not among {', '.join(GUIDED)}")
    methods = ("hybridsr-gp", *guided)
    problems = get_suite(args.suite)
    if args.problems:
        wanted = set(args.problems.split(","))
        unknown = wanted - {p.name for p in problems}
        if unknown:
            parser.error(f"--problems: not in the {args.suite} suite: {', '.join(sorted(unknown))}")
        problems = [p for p in problems if p.name in wanted]
    if not args.report_only:
        run_benchmark(problems, list(methods), list(range(args.seeds)), args.time,
                      args.out, parallel=args.parallel)
    names = {p.name for p in problems}
    records = [r for r in load_results(args.out)
               if r.get("seed", 0) < args.seeds and r.get("problem") in names]
    width = max(14, *(len(m) + 2 for m in methods))
    table = per_problem(records, methods)
    first = max([len("problem"), *(len(title) for title, _ in table)]) + 2
    print(f"\n{'problem':{first}s}" + "".join(f"{m:>{width}s}" for m in methods) + "   (true law on the front)")
    for title, cells in table:
        print(f"{title:{first}s}" + "".join(f"{c:>{width}s}" for c in cells))
    print(f"\n{'method':{width}s}{'runs':>6s}{'on front':>10s}{'selected':>10s}{'median s to solution':>22s}")
    for row in summarize(records, methods):
        median = "-" if row["median_seconds"] is None else f"{row['median_seconds']:.1f}"
        print(f"{row['method']:{width}s}{row['runs']:6d}{row['on_front']:10d}{row['selected']:10d}{median:>22s}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
