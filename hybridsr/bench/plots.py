"""Pictures of benchmark results: recovery per problem, one run's Pareto front, time to solution.

>>> from hybridsr.bench.plots import write_plots
>>> write_plots("results")                                   # doctest: +SKIP
[PosixPath('results/recovery.png'), PosixPath('results/recovery_form.png'), ...]

The records are those :mod:`hybridsr.bench.job` writes, one per (method,
problem, seed). Records written before the front metrics existed (no
``front_size``, ``front_test_nmse``, ``front_exact_indices``,
``solved_seconds``) still give the recovery and time-to-solution pictures;
only their fronts cannot be drawn.

matplotlib is an optional extra (``pip install "hybridsr[plot]"``), imported
only when a picture is drawn. Figures are drawn on an Agg canvas of their
own rather than through pyplot, so no global backend or figure registry is
changed and nothing stays in memory after a picture is saved.
"""

from __future__ import annotations

import contextlib
import math
import re
import textwrap
from pathlib import Path
from typing import Iterable

from .judge import OUTCOMES
from .report import load_results

__all__ = ["plot_recovery", "plot_front", "plot_time_to_solution", "write_plots"]

#: Resolution of every saved picture (dots per inch).
DPI = 120
# Font sizes in points; nothing is smaller than 9 so the pictures read at their saved size.
_RC = {"font.size": 10, "axes.titlesize": 11, "axes.labelsize": 10, "xtick.labelsize": 9,
       "ytick.labelsize": 9, "legend.fontsize": 9, "figure.titlesize": 12}
# A run that produced no result (error, crash, timeout) is told apart from one that failed.
_NO_RESULT = "no_result"
# Recovery segments left to right: (fill colour, legend label); the strongest result is the darkest.
_SEGMENTS = {
    "exact": ("#08519c", "exact, selected"),
    "on_front": ("#4a98c9", "exact, on the front"),
    "accurate": ("#bdd7ee", "accurate, not exact"),
    "failed": ("#ececec", "failed"),
    _NO_RESULT: ("#ffffff", "no result (error, crash, timeout)"),
}
# The same for the law's functional form (the PySR paper's criterion, :mod:`hybridsr.bench.form`).
_FORM_SEGMENTS = {
    "selected": ("#08519c", "law's form, selected"),
    "on_front": ("#4a98c9", "law's form, on the front"),
    "missing": ("#ececec", "form not found"),
    _NO_RESULT: _SEGMENTS[_NO_RESULT],
}
#: What :func:`plot_recovery` can count: criterion -> (segments, strongest first; title).
CRITERIA = {
    "srbench": (_SEGMENTS, "Recovery of the true law (SRBench's rule)"),
    "form": (_FORM_SEGMENTS, "Recovery of the law's form (the PySR paper's criterion)"),
}
# Front formulas are written with floats cut to this many significant digits.
_DIGITS = 4
# Characters per line of the formula list under a front (9 pt monospace across the axes).
_LINE = 90
# A held-out NMSE of exactly 0 (a noiseless exact fit) is drawn here on the log axis.
_NMSE_FLOOR = 1e-16
# And one beyond this (a formula that blows up off its training rows) here: a log axis
# reaching 1e300 overflows while matplotlib pads and labels it.
_NMSE_CEILING = 1e30
_FLOAT = re.compile(r"(?<![\w.])(?:\d+\.\d*|\.\d+|\d+(?=[eE]))(?:[eE][-+]?\d+)?")
_NAME = re.compile(r"(?<![\w.])([A-Za-z_]\w*)(?!\w|\s*\()")


# ------------------------------------------------------------------ matplotlib, lazily
def _matplotlib():
    """matplotlib's module, ``Figure`` and Agg canvas; an ImportError naming the extra if missing."""
    try:
        import matplotlib
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError('plotting benchmark results needs matplotlib: pip install "hybridsr[plot]"') \
            from error
    return matplotlib, Figure, FigureCanvasAgg


@contextlib.contextmanager
def _figure(width: float, height: float):
    """A constrained-layout figure on its own Agg canvas, drawn under this module's font sizes."""
    matplotlib, Figure, Canvas = _matplotlib()
    with matplotlib.rc_context(_RC):
        figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
        Canvas(figure)
        yield figure


def _save(figure, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=DPI)
    return path


# ------------------------------------------------------------------ reading records
def _number(value) -> float:
    """A record's number as a float: "inf"/"-inf"/"nan" strings (JSON has no inf) read as such,
    None and anything unreadable as NaN."""
    if value is None:
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _ok(record: dict) -> bool:
    return record.get("status", "ok") == "ok"


def _category(record: dict, criterion: str = "srbench") -> str:
    """The record's recovery segment under ``criterion``, or "no result" when the job did not finish."""
    if not _ok(record):
        return _NO_RESULT
    if criterion == "form":
        if record.get("selected_form"):
            return "selected"
        return "on_front" if record.get("front_form") else "missing"
    outcome = record.get("outcome")
    return outcome if outcome in OUTCOMES else "failed"


def _form_judged(record: dict) -> bool:
    """Whether the record says if the front held the law's form (jobs that did not finish
    count: they are drawn as "no result"); records judged before the form check did not."""
    return "front_form" in record or not _ok(record)


def _recovery_counts(records: Iterable[dict], criterion: str = "srbench") -> tuple[dict, list, dict]:
    """Problem titles and methods in order of first appearance, and each cell's segment counts.

    Returns ``(titles, methods, counts)``: ``titles`` maps problem name to
    display name, ``counts[(problem, method)]`` maps each segment to a count.
    """
    segments = CRITERIA[criterion][0]
    titles, methods, counts = {}, {}, {}
    for record in records:
        problem, method = record["problem"], record["method"]
        titles.setdefault(problem, record.get("title") or problem)
        methods.setdefault(method, None)
        cell = counts.setdefault((problem, method), dict.fromkeys(segments, 0))
        cell[_category(record, criterion)] += 1
    return titles, list(methods), counts


def _solve_time(record: dict) -> float | None:
    """Seconds from the fit's start until an exact formula was on the front; None if never.

    Records without ``solved_seconds`` (older ones, or methods that report no
    snapshots) but with an exact formula on the final front count as solved
    when their fit ended.
    """
    if not _ok(record):
        return None
    seconds = _number(record.get("solved_seconds"))
    if math.isfinite(seconds):
        return max(seconds, 0.0)
    if record.get("outcome") in ("exact", "on_front"):
        for key in ("fit_seconds", "seconds", "time_budget"):
            seconds = _number(record.get(key))
            if math.isfinite(seconds):
                return max(seconds, 0.0)
    return None


def _exact_indices(record: dict) -> set[int]:
    """Positions in the front of the formulas judged equal to the truth.

    Read from ``front_exact_indices`` or a list-valued ``front_exact``; older
    records say only whether the selected formula is exact (then its position).
    """
    front = record.get("front") or []
    for key in ("front_exact_indices", "front_exact"):
        value = record.get(key)
        if isinstance(value, list):
            return {int(i) for i in value if 0 <= int(i) < len(front)}
    selected = record.get("selected")
    if record.get("selected_exact") and selected in front:
        return {front.index(selected)}
    return set()


def _variable_names(record: dict) -> tuple[str, ...]:
    """The problem's variable names, or, when its suite cannot be loaded, the names the
    truth and front formulas use (identifiers not followed by a call's parenthesis)."""
    from ..datasets import get_problem

    try:
        return get_problem(record["problem"], suite=record.get("suite")).variable_names
    except Exception:  # noqa: BLE001 - a moved or broken user suite; the formulas still name them
        texts = [record.get("truth") or "", *(record.get("front") or [])]
        return tuple(dict.fromkeys(name for text in texts for name in _NAME.findall(text)))


def _front_sizes(record: dict) -> list[int | None]:
    """Each front formula's size as sympy nodes (None where the formula cannot be read)."""
    from .methods import formula_size, parse_formula

    names = _variable_names(record)
    sizes = []
    for text in record.get("front") or []:
        try:
            sizes.append(formula_size(parse_formula(text, names, evaluate=False)))
        except Exception:  # noqa: BLE001 - sympy raises many kinds for text it cannot read
            sizes.append(None)
    return sizes


# ------------------------------------------------------------------ text helpers
def _short_floats(text: str) -> str:
    """``75.3833421190509*D`` as ``75.38*D``: long floats hide a formula's shape."""
    return _FLOAT.sub(lambda match: f"{float(match.group()):.{_DIGITS}g}", text)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 3] + "..."


def _plain(text: str) -> str:
    # Two "$" would start mathtext; formulas and names must show as written.
    return text.replace("$", r"\$")


def _joined(values) -> str:
    """Distinct values in order, comma-joined; whole floats without their ".0" ("20, 30")."""
    return ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in dict.fromkeys(values))


def _legend_columns(labels: list[str], width_in: float) -> int:
    """As many legend columns as fit across the figure (about 0.075 in per 9 pt character
    plus 0.6 in per entry for the handle and padding)."""
    for columns in range(len(labels), 1, -1):
        # matplotlib fills columns top to bottom, in runs as numpy.array_split cuts them.
        longer = len(labels) // columns
        cuts, start = [], 0
        for k in range(columns):
            stop = start + longer + (k < len(labels) % columns)
            cuts.append(labels[start:stop])
            start = stop
        needed = sum(0.6 + 0.075 * max(len(label) for label in column) for column in cuts)
        if needed <= 0.95 * width_in:
            return columns
    return 1


def _truth_label(record: dict, max_width_px: float, fontsize: float) -> str:
    """The true law as mathtext when it renders and fits, else as plain text.

    mathtext reads only part of LaTeX, and fails only when drawn, so the
    LaTeX form is drawn once on a throw-away canvas before it is used.
    """
    truth = record.get("truth")
    if not truth:
        return "true law unknown (a data set without a formula)"
    # Characters of about 0.6 em fit across; longer plain text is wrapped.
    wrapped = "\n".join(textwrap.wrap(_plain(f"true law: {_short_floats(truth)}"),
                                      int(max_width_px / DPI * 72 / (0.6 * fontsize))))
    try:
        import sympy

        from .methods import parse_formula

        expr = parse_formula(truth, _variable_names(record))
        expr = expr.xreplace({f: sympy.Float(f"{float(f):.5g}") for f in expr.atoms(sympy.Float)})
        math_text = f"true law: ${sympy.latex(expr)}$"
        _, Figure, Canvas = _matplotlib()
        probe = Figure(dpi=DPI)
        canvas = Canvas(probe)
        label = probe.text(0, 0, math_text, fontsize=fontsize)
        width = label.get_window_extent(renderer=canvas.get_renderer()).width
    except Exception:  # noqa: BLE001 - any failure to parse or render means plain text
        return wrapped
    return math_text if width <= max_width_px else wrapped


def _slug(text) -> str:
    return re.sub(r"[^\w.-]+", "_", str(text)).strip("_") or "unnamed"


# ------------------------------------------------------------------ pictures
def plot_recovery(records: Iterable[dict], path, *, criterion: str = "srbench") -> Path:
    """How often each method recovered each problem's law: stacked bars of outcome shares.

    One panel per method, side by side and sharing the problem rows (in
    order of first appearance), so a row reads across as the methods on one
    problem. With ``criterion="srbench"`` each bar splits that problem's
    seeds into exact (selected), exact on the front, accurate only, failed,
    and no result (the job erred, crashed or timed out); with ``"form"``
    into the law's form selected, the form on the front only, not found,
    and no result. The number right of a bar counts the selections (of the
    exact law, or of its form) out of the seeds run.

    Parameters
    ----------
    records : iterable of dict
        Benchmark records (see :mod:`hybridsr.bench.job`), any status.
    path : str or path-like
        The PNG file to write (its folder is created).
    criterion : {"srbench", "form"}, default "srbench"
        SRBench's rule (the record's ``outcome``), or the PySR paper's
        functional form (``selected_form``, ``front_form``; records judged
        before the form check existed are left out).

    Returns
    -------
    pathlib.Path
        The file written.
    """
    if criterion not in CRITERIA:
        raise ValueError(f"criterion must be one of {sorted(CRITERIA)}, got {criterion!r}")
    table, heading = CRITERIA[criterion]
    records = list(records)
    if criterion == "form":
        records = [r for r in records if _form_judged(r)]
    if not records:
        raise ValueError(f"no records to plot by the {criterion!r} criterion"
                         + (" (none says whether its front held the law's form; judge them again "
                            "with `hybridsr bench report DIR --rejudge`)" if criterion == "form" else ""))
    titles, methods, counts = _recovery_counts(records, criterion)
    problems = list(titles)
    present = [s for s in table if any(cell[s] for cell in counts.values())]
    segments = [s for s in table if s != _NO_RESULT or s in present]
    selections = next(iter(table))
    width = max(6.5, 2.2 + 2.3 * len(methods))
    height = 1.9 + 0.3 * len(problems)
    with _figure(width, height) as figure:
        from matplotlib.patches import Patch
        from matplotlib.ticker import PercentFormatter

        axes = figure.subplots(1, len(methods), sharey=True, squeeze=False)[0]
        rows = range(len(problems))
        for ax, method in zip(axes, methods):
            cells = [counts.get((p, method)) for p in problems]
            totals = [sum(cell.values()) if cell else 0 for cell in cells]
            left = [0.0] * len(problems)
            for segment in segments:
                colour, _ = table[segment]
                shares = [cell[segment] / total if total else 0.0 for cell, total in zip(cells, totals)]
                ax.barh(rows, shares, left=left, height=0.72, color=colour, edgecolor="#7f7f7f",
                        linewidth=0.5, hatch="///" if segment == _NO_RESULT else None)
                left = [a + b for a, b in zip(left, shares)]
            for row, cell, total in zip(rows, cells, totals):
                label = f"{cell[selections]}/{total}" if total else "-"  # "-": not run
                ax.text(1.03, row, label, va="center", ha="left", fontsize=9)
            ax.set_xlim(0, 1.35)  # room right of the bars for the counts
            ax.set_xticks([0, 0.5, 1])
            ax.xaxis.set_major_formatter(PercentFormatter(1.0))
            ax.set_xlabel("share of seeds")
            ax.set_title(_plain(method))
            ax.tick_params(axis="y", length=0)
            ax.grid(axis="x", color="#d0d0d0", linewidth=0.6)
            ax.set_axisbelow(True)
            for side in ("top", "right"):
                ax.spines[side].set_visible(False)
        axes[0].set_yticks(list(rows), [_plain(_clip(titles[p], 28)) for p in problems])
        # Top to bottom in the order the problems were run; shared, so once is enough.
        axes[0].set_ylim(len(problems) - 0.5, -0.5)
        seeds = len({r.get("seed") for r in records})
        figure.suptitle(_plain(f"{heading}: {_joined(r.get('suite') for r in records)} "
                               f"suite, {_joined(_number(r.get('time_budget')) for r in records)} s "
                               f"per run, {seeds} seed{'s' if seeds != 1 else ''}"))
        labels = [table[s][1] for s in segments]
        handles = [Patch(facecolor=table[s][0], edgecolor="#7f7f7f", linewidth=0.5,
                         hatch="///" if s == _NO_RESULT else None) for s in segments]
        figure.legend(handles, labels, loc="outside lower center", frameon=False,
                      ncols=_legend_columns(labels, width))
        return _save(figure, path)


def plot_front(record: dict, path, *, annotate: int = 5) -> Path:
    """One run's Pareto front: held-out NMSE against formula size.

    The staircase joins the best NMSE reached up to each size; every front
    formula is a point, those judged equal to the true law are stars and the
    formula the method selected is circled. Up to ``annotate`` formulas (the
    selected, the exact ones, the smallest, the most accurate, then steps
    spread along the staircase) are numbered and written out below the
    plot, floats cut to 4 significant digits. The
    true law is the axes' title, as mathtext when matplotlib can draw it.
    Formulas with a non-finite NMSE cannot sit on a log axis and are left out
    (a note below the plot counts them).

    Parameters
    ----------
    record : dict
        One benchmark record with ``front`` and ``front_test_nmse``;
        ``front_size`` is computed from the formulas when absent.
    path : str or path-like
        The PNG file to write (its folder is created).
    annotate : int, default 5
        How many formulas to number and write out.

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    ValueError
        When the record has no front, or no held-out NMSE per front formula
        (records written before those were saved): there is no loss axis.
    """
    front = record.get("front") or []
    key = record.get("key", f"{record.get('method')}/{record.get('problem')}/{record.get('seed')}")
    if not front:
        raise ValueError(f"record {key} has no front to plot (status {record.get('status')!r})")
    losses = record.get("front_test_nmse")
    if not isinstance(losses, list) or len(losses) != len(front):
        raise ValueError(f"record {key} has no held-out NMSE per front formula (front_test_nmse), "
                         f"so its front has no loss axis; records from before the front metrics were "
                         f"saved need their job run again")
    losses = [_number(v) for v in losses]
    sizes = record.get("front_size")
    if not isinstance(sizes, list) or len(sizes) != len(front):
        sizes = _front_sizes(record)
    # A size of 0 is what the job writes for a formula it could not read.
    sizes = [int(s) if s is not None and _number(s) > 0 else None for s in sizes]
    exact = _exact_indices(record)
    selected = front.index(record["selected"]) if record.get("selected") in front else None

    shown = [i for i in range(len(front)) if sizes[i] is not None and math.isfinite(losses[i])]
    notes = []
    if len(shown) < len(front):
        hidden = [i for i in range(len(front)) if i not in shown]
        unread = sum(sizes[i] is None for i in hidden)
        notes.append(f"Not shown: {len(hidden) - unread} formula(s) with a non-finite held-out NMSE"
                     + (f", {unread} whose size could not be read" if unread else "")
                     + (" (the selected one among them)" if selected in hidden else "") + ".")
    if any(losses[i] < _NMSE_FLOOR for i in shown):
        notes.append(f"An NMSE below {_NMSE_FLOOR:g} is drawn at {_NMSE_FLOOR:g}.")
    if any(losses[i] > _NMSE_CEILING for i in shown):
        notes.append(f"An NMSE above {_NMSE_CEILING:g} is drawn at {_NMSE_CEILING:g}.")
    if record.get("selected") and selected is None:
        notes.append("The selected formula is not on this front.")
    y = {i: min(max(losses[i], _NMSE_FLOOR), _NMSE_CEILING) for i in shown}

    # The formulas worth reading: the selected, the exact, the smallest and the most accurate.
    picks = [selected] if selected in y else []
    picks += sorted(i for i in exact if i in y)[:2]
    order = sorted(y, key=lambda i: (sizes[i], y[i]))
    stairs = []  # the running best: each step is a size that improves on all smaller ones
    for i in order:
        if not stairs or y[i] < y[stairs[-1]]:
            stairs.append(i)
    if stairs:
        picks += [stairs[0], stairs[-1]]
        # Then steps spread along the staircase, so the front's middle is read too.
        spare = max(annotate - len(dict.fromkeys(picks)), 0)
        picks += [stairs[round(k * (len(stairs) - 1) / (spare + 1))] for k in range(1, spare + 1)]
    picks = sorted(dict.fromkeys(picks), key=lambda i: (sizes[i], y[i]))[:max(annotate, 0)]
    lines = []
    for number, i in enumerate(picks, 1):
        tags = [t for t, on in (("selected", i == selected), ("true law", i in exact)) if on]
        tag = f" ({', '.join(tags)})" if tags else ""
        head = f"[{number}] size {sizes[i]}, NMSE {losses[i]:.2g}{tag}: "
        lines.append(head + _clip(_short_floats(front[i]), _LINE - len(head)))
    text_lines = lines + [line for note in notes for line in textwrap.wrap(note, _LINE)]

    width = 8.5
    text_height = 0.22 * len(text_lines) + 0.15 if text_lines else 0.0
    with _figure(width, 4.6 + text_height) as figure:
        from matplotlib.lines import Line2D
        from matplotlib.ticker import MaxNLocator

        if text_lines:
            ax, text_ax = figure.subplots(2, 1, height_ratios=[4.6 - 1.0, text_height])
            text_ax.axis("off")
            text_ax.text(0, 1, _plain("\n".join(text_lines)), va="top", ha="left",
                         family="monospace", fontsize=9, transform=text_ax.transAxes)
        else:
            ax = figure.subplots()
        figure.suptitle(_plain(f"{record.get('title') or record.get('problem')}: "
                               f"{record.get('method')}, seed {record.get('seed')}"))
        ax.set_title(_truth_label(record, 0.95 * width * DPI, _RC["axes.titlesize"]))
        ax.set_xlabel("formula size (sympy nodes)")
        ax.set_ylabel("held-out NMSE")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(color="#e0e0e0", linewidth=0.6)
        ax.set_axisbelow(True)
        if not y:
            ax.text(0.5, 0.5, "no formula of this front has a finite held-out NMSE",
                    ha="center", va="center", transform=ax.transAxes)
            return _save(figure, path)
        ax.set_yscale("log")
        # The last step runs on to the largest formula, which may not improve on it.
        stair_x = [sizes[i] for i in stairs] + [sizes[order[-1]]]
        stair_y = [y[i] for i in stairs] + [y[stairs[-1]]]
        ax.step(stair_x, stair_y, where="post", color="#4a98c9", linewidth=1.6, zorder=2)
        ax.scatter([sizes[i] for i in order], [y[i] for i in order], s=28, color="#404040", zorder=3)
        stars = [i for i in order if i in exact]
        if stars:
            ax.scatter([sizes[i] for i in stars], [y[i] for i in stars], marker="*", s=260,
                       color="#f28e2b", edgecolors="black", linewidths=0.6, zorder=4)
        if selected in y:
            ax.scatter([sizes[selected]], [y[selected]], s=330, facecolors="none",
                       edgecolors="#c62828", linewidths=1.8, zorder=5)
        for number, i in enumerate(picks, 1):
            # Alternate above and below so neighbouring numbers do not sit on each other.
            ax.annotate(str(number), (sizes[i], y[i]), xytext=(7, 7 if number % 2 else -15),
                        textcoords="offset points", fontsize=10, fontweight="bold", zorder=6)
        ax.margins(x=0.06, y=0.12)
        handles = [Line2D([], [], color="#4a98c9", linewidth=1.6, marker="o", markerfacecolor="#404040",
                          markeredgecolor="#404040", markersize=5, label="front formulas")]
        if stars:
            handles.append(Line2D([], [], linestyle="none", marker="*", markersize=14,
                                  markerfacecolor="#f28e2b", markeredgecolor="black",
                                  label="matches the true law"))
        if selected in y:
            handles.append(Line2D([], [], linestyle="none", marker="o", markersize=14,
                                  markerfacecolor="none", markeredgecolor="#c62828",
                                  markeredgewidth=1.8, label="selected by the method"))
        # Loss falls with size, so the upper right of a front is empty.
        ax.legend(handles=handles, loc="upper right", framealpha=0.9)
        return _save(figure, path)


def plot_time_to_solution(records: Iterable[dict], path) -> Path:
    """Per method, the share of its runs with an exact formula on the front by each time.

    A run counts from ``solved_seconds`` (the first time the method's front
    held a formula equal to the truth), or from the end of its fit when the
    record says only that the final front holds one. Every run of the
    method (problem x seed, crashed ones included) is in the denominator;
    the legend gives the final share. Dotted lines mark the time budgets.

    Parameters
    ----------
    records : iterable of dict
        Benchmark records (see :mod:`hybridsr.bench.job`), any status.
    path : str or path-like
        The PNG file to write (its folder is created).

    Returns
    -------
    pathlib.Path
        The file written.
    """
    records = list(records)
    if not records:
        raise ValueError("no records to plot")
    methods = list(dict.fromkeys(r["method"] for r in records))
    budgets = sorted({b for b in (_number(r.get("time_budget")) for r in records) if math.isfinite(b)})
    times = {m: sorted(t for r in records if r["method"] == m and (t := _solve_time(r)) is not None)
             for m in methods}
    runs = {m: sum(r["method"] == m for r in records) for m in methods}
    end = max([*budgets, *(t for ts in times.values() for t in ts), 1e-9])
    styles = ["-", "--", "-.", ":", (0, (5, 1))]
    with _figure(7.5, 4.8) as figure:
        from matplotlib.ticker import PercentFormatter

        ax = figure.subplots()
        for number, method in enumerate(methods):
            solved, total = times[method], runs[method]
            xs = [0.0, *solved, end]
            ys = [0.0, *(k / total for k in range(1, len(solved) + 1)), len(solved) / total]
            ax.step(xs, ys, where="post", linewidth=2.0, color=f"C{number % 10}",
                    linestyle=styles[number % len(styles)],
                    label=_plain(f"{method}: {len(solved)}/{total} runs ({len(solved) / total:.0%})"))
        for budget in budgets:
            ax.axvline(budget, color="#808080", linestyle=":", linewidth=1.0)
        ax.set_xlim(0, end * 1.02)
        ax.set_ylim(-0.02, 1.02)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        ax.set_xlabel("seconds since the fit started")
        ax.set_ylabel("runs with an exact formula on the front")
        ax.grid(color="#e0e0e0", linewidth=0.6)
        ax.set_axisbelow(True)
        seeds = len({r.get("seed") for r in records})
        problems = len({r.get("problem") for r in records})
        ax.set_title(_plain(f"{_joined(r.get('suite') for r in records)} suite: {problems} problem"
                            f"{'s' if problems != 1 else ''} × {seeds} seed{'s' if seeds != 1 else ''}, "
                            f"budget {_joined(budgets)} s (dotted)"))
        figure.suptitle("Time to an exact formula on the front")
        # Below the axes: early solutions fill the upper left, late or rare ones the lower right.
        labels = ax.get_legend_handles_labels()[1]
        figure.legend(loc="outside lower center", frameon=False, ncols=_legend_columns(labels, 7.5))
        return _save(figure, path)


def _representatives(records: Iterable[dict]) -> list[dict]:
    """Per (problem, method), in order of first appearance, its finished run of lowest seed."""
    chosen: dict[tuple, dict] = {}
    for record in records:
        if not _ok(record):
            continue
        cell = (record["problem"], record["method"])
        if cell not in chosen or int(record["seed"]) < int(chosen[cell]["seed"]):
            chosen[cell] = record
    return list(chosen.values())


def write_plots(out_dir, records: Iterable[dict] | None = None) -> list[Path]:
    """Draw every picture of a results directory into it.

    Writes ``recovery.png`` (SRBench's rule), ``recovery_form.png`` (the law's
    form; when some record was judged for it), ``time_to_solution.png`` and, for each (problem,
    method), the front of its finished run with the lowest seed as
    ``fronts/<problem>-<method>-seed<k>.png``. Runs whose records lack the
    front metrics (written before they were saved) get no front picture.

    Parameters
    ----------
    out_dir : str or path-like
        The results directory (``results*.jsonl`` files); pictures go here.
    records : iterable of dict, optional
        The records to draw; by default those read from ``out_dir``.

    Returns
    -------
    list of pathlib.Path
        The files written, in the order above (empty when there are no records).
    """
    out_dir = Path(out_dir)
    records = load_results(out_dir) if records is None else list(records)
    if not records:
        return []
    written = [plot_recovery(records, out_dir / "recovery.png")]
    if any("front_form" in r for r in records):
        written.append(plot_recovery(records, out_dir / "recovery_form.png", criterion="form"))
    written.append(plot_time_to_solution(records, out_dir / "time_to_solution.png"))
    for record in _representatives(records):
        name = f"{_slug(record['problem'])}-{_slug(record['method'])}-seed{record['seed']}.png"
        try:
            written.append(plot_front(record, out_dir / "fronts" / name))
        except ValueError:
            continue  # no front or no losses in this record: nothing to draw on a loss axis
    return written
