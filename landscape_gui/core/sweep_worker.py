"""Set-up of the local cluster's worker processes (a Dask preload module: ``dask_setup`` runs in each
worker process as it starts, restarted workers included).

Ctrl-C in a terminal signals the whole process group, workers too; the sweep's own process is the one
that answers it (cancel the shards, shut the cluster down, say how to resume), so workers ignore it
instead of each printing a traceback.
"""

from __future__ import annotations

import signal
import threading
from typing import Any


def dask_setup(worker: Any) -> None:
    """Ignore SIGINT in this worker process (the sweep's process shuts the cluster down)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
