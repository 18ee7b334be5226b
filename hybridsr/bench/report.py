"""Tables of benchmark results in the seed's format: ``5/5 (5, 0, 0, 0)`` per cell."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .judge import OUTCOMES

__all__ = ["load_results", "summary_table", "form_table", "format_table", "write_reports",
           "rejudge_results"]

#: The heading of the second table in ``summary.txt`` and ``summary.md``.
FORM_HEADING = ("The law's functional form with refitted constants (the PySR paper's criterion, "
                "hybridsr.bench.form): k/n (selected, on the front only)")


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


def form_table(records: list[dict]) -> pd.DataFrame:
    """Problems as rows, methods as columns, cells ``k/n (selected, front only)``: ``k`` runs
    whose Pareto front holds the law's form (see :mod:`hybridsr.bench.form`).

    Records judged before the form check existed (no ``front_form``) are left
    out of the counts; a cell with none of its runs judged so reads ``-``.
    """
    judged = [r for r in records if "front_form" in r]
    if not judged:
        return pd.DataFrame()
    frame = pd.DataFrame(judged)
    table = pd.DataFrame(index=list(dict.fromkeys(frame["title"])),
                         columns=list(dict.fromkeys(frame["method"])), dtype=object)
    for (title, method), group in frame.groupby(["title", "method"], sort=False):
        front, selected = int(group["front_form"].sum()), int(group["selected_form"].sum())
        table.loc[title, method] = f"{front}/{len(group)} ({selected}, {front - selected})"
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
    """Rebuild ``summary.txt``, ``summary.md`` and ``summary.csv`` (SRBench's rule) and
    ``summary_form.csv`` (the functional form) from the saved results; return the first table.

    The text and markdown files hold both tables, the form table second.
    """
    out_dir = Path(out_dir)
    records = load_results(out_dir)
    table, forms = summary_table(records), form_table(records)
    text, markdown = format_table(table) + "\n", _markdown(table) if not table.empty else "(no results)\n"
    if not forms.empty:
        text += f"\n{FORM_HEADING}\n{format_table(forms)}\n"
        markdown += f"\n{FORM_HEADING}\n\n{_markdown(forms)}"
        forms.to_csv(out_dir / "summary_form.csv", index_label="problem")
    (out_dir / "summary.txt").write_text(text)
    (out_dir / "summary.md").write_text(markdown)
    table.to_csv(out_dir / "summary.csv", index_label="problem")
    return table
