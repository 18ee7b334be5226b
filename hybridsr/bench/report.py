"""Tables of benchmark results in the seed's format: ``5/5 (5, 0, 0, 0)`` per cell."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .judge import OUTCOMES

__all__ = ["load_results", "summary_table", "format_table", "write_reports", "rejudge_results"]


def load_results(out_dir) -> list[dict]:
    """Every record in ``out_dir``'s results files (the last one wins for a repeated key)."""
    records: dict[str, dict] = {}
    for path in sorted(Path(out_dir).glob("results*.jsonl")):
        for line in path.read_text().splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            records[record["key"]] = record
    return list(records.values())


def rejudge_results(out_dir, problems) -> int:
    """Judge every saved record in ``out_dir`` again (see :func:`hybridsr.bench.job.rejudge`)
    and rewrite its results file atomically; returns how many outcomes changed.

    ``problems`` maps problem names to :class:`~hybridsr.datasets.Problem`;
    records of other problems are kept as they are.
    """
    from .job import rejudge

    changed = 0
    for path in sorted(Path(out_dir).glob("results*.jsonl")):
        lines = []
        for line in path.read_text().splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue  # a line a kill cut short
            problem = problems.get(record.get("problem"))
            updated = rejudge(record, problem) if problem is not None else record
            changed += updated.get("outcome") != record.get("outcome")
            lines.append(json.dumps(updated))
        tmp = path.with_suffix(".jsonl.tmp")
        tmp.write_text("".join(line + "\n" for line in lines))
        tmp.replace(path)
    return changed


def summary_table(records: list[dict]) -> pd.DataFrame:
    """Problems as rows, methods as columns, cells ``k/n (exact, on_front, accurate, failed)``."""
    if not records:
        return pd.DataFrame()
    frame = pd.DataFrame(records)
    methods = list(dict.fromkeys(frame["method"]))
    problems = list(dict.fromkeys(frame["title"]))
    table = pd.DataFrame(index=problems, columns=methods, dtype=object)
    for (title, method), group in frame.groupby(["title", "method"], sort=False):
        counts = [int((group["outcome"] == outcome).sum()) for outcome in OUTCOMES]
        table.loc[title, method] = f"{counts[0]}/{len(group)} ({', '.join(map(str, counts))})"
    return table.fillna("-")


def format_table(table: pd.DataFrame) -> str:
    """Tab-separated, as in the seed's table."""
    if table.empty:
        return "(no results yet)"
    lines = ["\t" + "\t".join(table.columns)]
    lines += [f"{index}\t" + "\t".join(row) for index, row in zip(table.index, table.values)]
    return "\n".join(lines)


def _markdown(table: pd.DataFrame) -> str:
    header = "| problem | " + " | ".join(table.columns) + " |"
    rule = "| --- |" + " --- |" * len(table.columns)
    rows = [f"| {index} | " + " | ".join(row) + " |" for index, row in zip(table.index, table.values)]
    return "\n".join([header, rule, *rows]) + "\n"


def write_reports(out_dir) -> pd.DataFrame:
    """Rebuild ``summary.txt``, ``summary.md`` and ``summary.csv`` from the saved results."""
    out_dir = Path(out_dir)
    table = summary_table(load_results(out_dir))
    (out_dir / "summary.txt").write_text(format_table(table) + "\n")
    (out_dir / "summary.md").write_text(_markdown(table) if not table.empty else "(no results)\n")
    table.to_csv(out_dir / "summary.csv", index_label="problem")
    return table
