"""A limit on the work a command-line job may ask for: starts × steps.

``run --grid 2000`` asks for 4 million runs of up to 1,000 steps: days of formatting and hundreds of
gigabytes of CSV. Such requests are refused at once, with the limit and how to raise it, instead of
being started. The limit counts starts × max(max_steps, 1): for ``run`` an upper bound on the rows
written, for ``basins`` on the optimizer steps taken.
"""

from __future__ import annotations

import os

from landscape_gui.core.errors import LandscapeError

ENV_VAR = "LANDSCAPE_GUI_MAX_WORK"
"""Environment variable that replaces the default limit of every command."""

DEFAULTS = {"run": 100_000_000, "basins": 2_000_000_000}
"""Default limit per command: ``run`` writes at most ~10 GB of CSV; ``basins`` at 1024² ~1,900 steps."""


def parse_work(text: str, option: str = "--max-work") -> int:
    """``"1e9"`` or ``"1000000000"`` -> a whole number >= 1."""
    try:
        v = float(text.replace("_", ""))
    except ValueError:
        raise LandscapeError(f"{option} takes a whole number such as 1e9, got {text!r}") from None
    if not (v >= 1 and v < 1e18 and v == int(v)):
        raise LandscapeError(f"{option} takes a whole number from 1 to 1e18, got {text!r}")
    return int(v)


def work_limit(command: str, given: int | None = None) -> tuple[int, str]:
    """The limit in force and where it comes from (the option, the environment, or the default)."""
    if given is not None:
        return given, "--max-work"
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        return parse_work(env, ENV_VAR), ENV_VAR
    return DEFAULTS[command], "default"


def check_work(command: str, starts: int, max_steps: int, given: int | None = None, *, what: str = "starts") -> int:
    """Refuse ``starts × max(max_steps, 1)`` above the limit, naming it and how to raise it; ``what``
    names the counted things in the message ("runs" for a fan of several runs per start)."""
    limit, source = work_limit(command, given)
    work = int(starts) * max(int(max_steps), 1)
    if work > limit:
        origin = {"default": "the default limit", "--max-work": "the limit given by --max-work"}.get(
            source, f"the limit set by {ENV_VAR}")
        raise LandscapeError(
            f"{starts:,} {what} × {max(int(max_steps), 1):,} steps = {work:.3g} steps is over {origin} of "
            f"{limit:.3g}; ask for fewer {what} or steps, or raise it with --max-work {work} "
            f"(or {ENV_VAR}={work})"
        )
    return work


__all__ = ["DEFAULTS", "ENV_VAR", "check_work", "parse_work", "work_limit"]
