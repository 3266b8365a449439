"""``python -m landscape_gui``: the same front door as the ``landscape-gui`` command."""

from landscape_gui.cli import main

raise SystemExit(main())
