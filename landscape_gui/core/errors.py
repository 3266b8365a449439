"""The one exception type a user can cause.

Bad formulas, bad files, bad hyperparameters and bad command-line values raise
:class:`LandscapeError` with a message a person can act on. The CLI prints it on one line and exits 2;
the GUI shows it in a message box and keeps the session.
"""

from __future__ import annotations


class LandscapeError(ValueError):
    """An error caused by user input, with a message fit to show as it is."""


class PluginError(LandscapeError):
    """A third-party optimizer plugin failed while it was used (not the user's input).

    The message names the plugin; :attr:`plugin` is its optimizer name. The CLI exits 1 with the
    message on one line; the window shows it and keeps the session.
    """

    def __init__(self, plugin: str, message: str) -> None:
        super().__init__(message)
        self.plugin = plugin
