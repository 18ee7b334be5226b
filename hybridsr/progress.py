"""Search progress on the terminal.

:class:`ProgressDisplay` is a callback for the search loop: called once per
iteration with the search's progress report (``iteration``,
``niterations``, ``n_evals``, ``elapsed``, ``best_loss``), it keeps one
status line up to date::

    [y] iteration 12/40  best loss 0.0103  evals 182,340 (21,450/s)  3.6 s, ~9.1 s left

It writes only when ``verbosity > 0`` and the stream is a terminal, so logs,
pipes and tests stay quiet. ``verbosity >= 2`` prints one line per iteration
instead of rewriting the same line.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["ProgressDisplay", "format_progress"]


def format_progress(progress, label: str | None = None) -> str:
    """One status line for a progress report."""
    parts = [f"{f'[{label}] ' if label else ''}iteration {progress.iteration}/{progress.niterations}"]
    parts.append(f"best loss {progress.best_loss:.4g}")
    elapsed = float(progress.elapsed)
    rate = progress.n_evals / elapsed if elapsed > 0 else 0.0
    parts.append(f"evals {progress.n_evals:,} ({rate:,.0f}/s)")
    timing = f"{elapsed:.1f} s"
    if 0 < progress.iteration < progress.niterations:
        remaining = elapsed / progress.iteration * (progress.niterations - progress.iteration)
        timing += f", ~{remaining:.1f} s left"
    parts.append(timing)
    return "  ".join(parts)


class ProgressDisplay:
    """A tty-aware progress callback (see the module docstring).

    Parameters
    ----------
    verbosity : int, default 1
        0 shows nothing, 1 one line rewritten in place, 2 or more one line per iteration.
    stream : text stream, optional
        Where to write; standard error by default.
    label : str, optional
        Shown at the start of the line (the target's name in multi-target fits).
    min_interval : float, default 0.1
        Seconds between rewrites of the line (the last iteration is always shown).
    """

    def __init__(self, verbosity: int = 1, stream: TextIO | None = None, label: str | None = None,
                 min_interval: float = 0.1):
        self.verbosity = verbosity
        self.stream = sys.stderr if stream is None else stream
        self.label = label
        self.min_interval = min_interval
        self._last_write = -float("inf")
        self._width = 0
        self._open_line = False

    @property
    def enabled(self) -> bool:
        """Whether anything will be written."""
        if self.verbosity <= 0:
            return False
        isatty = getattr(self.stream, "isatty", None)
        try:
            return bool(isatty and isatty())
        except (ValueError, OSError):  # a closed stream
            return False

    def __call__(self, progress) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        last = progress.iteration >= progress.niterations
        if not last and now - self._last_write < self.min_interval:
            return
        self._last_write = now
        line = format_progress(progress, self.label)
        if self.verbosity >= 2:
            self.stream.write(line + "\n")
        else:
            self.stream.write("\r" + line.ljust(self._width))
            self._width = len(line)
            self._open_line = True
        self.stream.flush()

    def close(self) -> None:
        """End the status line (call once the search is over)."""
        if self._open_line and self.enabled:
            self.stream.write("\n")
            self.stream.flush()
        self._open_line = False
        self._width = 0
