"""Progress of long command-line jobs on standard error, drawn by tqdm.

:func:`terminal_progress` gives a ``progress(fraction)`` callback (the form the engine, basin maps and
the CSV streamer call) that draws a bar only when the stream is a terminal and only once the job has
taken :data:`DELAY` seconds: quick jobs and redirected output (a log file, a pipe, a test) stay
silent. tqdm (https://tqdm.github.io) handles terminal width, rate and time left.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Callable, Iterator, TextIO

DELAY = 2.0
"""Seconds a job runs before its bar appears."""


@contextlib.contextmanager
def terminal_progress(label: str, stream: TextIO | None = None,
                      delay: float = DELAY) -> Iterator[Callable[[float], None]]:
    """``with terminal_progress("run") as progress: work(progress=progress)``.

    ``progress(f)`` takes the fraction done (0..1, never going back is not required). Nothing is
    written when ``stream`` (standard error by default) is not a terminal. The bar is closed (and the
    line ended) when the block exits, also on an error.
    """
    out = sys.stderr if stream is None else stream
    try:
        tty = out.isatty()
    except (AttributeError, ValueError):
        tty = False
    if not tty:
        yield lambda fraction: None
        return
    from tqdm import tqdm

    try:
        cols, rows = os.get_terminal_size(out.fileno())
    except (AttributeError, ValueError, OSError):
        cols, rows = 0, 0
    sized = cols > 0 and rows > 0  # a pseudo-terminal may report 0×0, which would hide the bar
    bar = tqdm(total=1000, desc=label, file=out, delay=delay, leave=False, dynamic_ncols=sized,
               ncols=None if sized else 80, nrows=None if sized else 24,
               bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining}", mininterval=0.2)
    last = [0]

    def progress(fraction: float) -> None:
        n = int(1000 * min(max(float(fraction), 0.0), 1.0))
        if n > last[0]:
            bar.update(n - last[0])
            last[0] = n

    try:
        yield progress
    finally:
        bar.close()


__all__ = ["DELAY", "terminal_progress"]
