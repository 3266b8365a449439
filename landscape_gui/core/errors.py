"""The one exception type a user can cause.

Bad formulas, bad files, bad hyperparameters and bad command-line values raise
:class:`LandscapeError` with a message a person can act on. The CLI prints it on one line and exits 2;
the GUI shows it in a message box and keeps the session.
"""

from __future__ import annotations


class LandscapeError(ValueError):
    """An error caused by user input, with a message fit to show as it is."""
