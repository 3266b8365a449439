"""Threads that help: one BLAS thread inside batched small matrix products, parallelism over chunks.

Network slices evaluate thousands of small matrix products (a few hundred samples by 16 or 64
units). OpenBLAS would split each of them over its own threads, which costs more than the product
itself and collapses on a machine whose cores are busy (a 2-64-64-1 slice over 2,000 points took
109 s with OpenBLAS's two threads against 19 s with one). So BLAS runs single-threaded
(threadpoolctl, :func:`single_blas_thread`) and :func:`map_chunks` hands the chunks to a small pool
of threads one at a time (numpy releases the GIL in matrix products and ufunc loops): a core taken by
another program merely gets fewer chunks, so two threads are never slower than one.

OpenBLAS takes a change of its thread count only from the thread that started its pool (normally the
main thread; a change made from another thread is ignored), so the limit is set once for the process
from the main thread: by :func:`map_chunks` the first time it runs there, and by the window at
start-up (its computations run on worker threads). Nothing in this program needs BLAS threads: its
matrix products are small.
"""

from __future__ import annotations

import os
import threading
from typing import Callable

_LOCK = threading.Lock()
_LIMITED = False


def usable_cpus() -> int:
    """Cores this process may run on (its affinity mask), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def single_blas_thread() -> bool:
    """Limit every loaded BLAS library to one thread for the rest of the process; call it from the
    main thread (see the module docstring). Idempotent; returns whether the limit is in force (False
    when called from another thread before it was set, or without threadpoolctl)."""
    global _LIMITED
    with _LOCK:
        if _LIMITED:
            return True
        if threading.current_thread() is not threading.main_thread():
            return False
        try:
            from threadpoolctl import ThreadpoolController

            ThreadpoolController().limit(limits=1, user_api="blas")
        except Exception:  # threadpoolctl missing or a BLAS it cannot drive: run as is
            return False
        _LIMITED = True
        return True


def map_chunks(work: Callable[[slice], None], n: int, chunk: int, threads: int | None = None) -> None:
    """Call ``work(slice)`` for consecutive slices of ``range(n)`` of ``chunk`` items, BLAS
    single-threaded (:func:`single_blas_thread`), on up to ``threads`` threads (default: the usable cores) taking one chunk at a
    time. ``work`` writes its results into arrays it shares with the caller (disjoint slices)."""
    import numpy as np

    chunk = max(1, int(chunk))
    slices = [slice(lo, min(n, lo + chunk)) for lo in range(0, n, chunk)]
    workers = min(usable_cpus() if threads is None else max(1, threads), len(slices))
    if len(slices) <= 1:  # one small batch (an engine step of a few runs): not worth the bookkeeping
        for sl in slices:
            work(sl)
        return
    single_blas_thread()
    if workers <= 1:
        for sl in slices:
            work(sl)
        return
    from concurrent.futures import ThreadPoolExecutor

    errors = np.geterr()  # numpy's error state is per thread: the workers take the caller's

    def run(sl: slice) -> None:
        with np.errstate(**errors):
            work(sl)

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="chunks") as pool:
        for fut in [pool.submit(run, sl) for sl in slices]:
            fut.result()


__all__ = ["map_chunks", "single_blas_thread", "usable_cpus"]
