"""Settings for the whole test suite.

Plugins installed in the same environment (entry points of ``landscape_gui.optimizers`` and
``landscape_gui.schedules``) must not change what the tests see: the suite loads none (``LANDSCAPE_GUI_PLUGINS=none``, inherited by
the command-line subprocesses too). Tests of the plugin machinery install their own fake plugins and
allow exactly those by name.
"""

from __future__ import annotations

import os

os.environ["LANDSCAPE_GUI_PLUGINS"] = "none"

from landscape_gui.core import optimizers as _optimizers  # noqa: E402

_optimizers.reload_plugins()
