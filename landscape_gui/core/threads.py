"""Threads that help: one BLAS thread inside batched small matrix products, parallelism over chunks.

Network slices evaluate thousands of small matrix products (a few hundred samples by 16 or 64
units). OpenBLAS would split each of them over its own threads, which costs more than the product
itself and collapses on a machine whose cores are busy (a 2-64-64-1 slice over 2,000 points took
109 s with OpenBLAS's two threads against 19 s with one). So inside :func:`map_chunks` BLAS runs
single-threaded (threadpoolctl, reference-counted so concurrent callers restore it once), and the
chunks themselves are handed to a small pool of threads one at a time (numpy releases the GIL in
matrix products and ufunc loops): a core taken by another program merely gets fewer chunks, so two
threads are never slower than one.
"""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from typing import Callable, Iterator

_LOCK = threading.Lock()
_DEPTH = 0
_LIMITER = None


def usable_cpus() -> int:
    """Cores this process may run on (its affinity mask), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


@contextmanager
def blas_single_thread() -> Iterator[None]:
    """Within the block, BLAS libraries use one thread (restored when the last concurrent user leaves)."""
    global _DEPTH, _LIMITER
    with _LOCK:
        if _DEPTH == 0:
            try:
                from threadpoolctl import ThreadpoolController

                # a new controller each time (0.2 ms): it sees every BLAS loaded since the last call
                _LIMITER = ThreadpoolController().limit(limits=1, user_api="blas")
            except Exception:  # threadpoolctl missing or a BLAS it cannot drive: run as is
                _LIMITER = None
        _DEPTH += 1
    try:
        yield
    finally:
        with _LOCK:
            _DEPTH -= 1
            if _DEPTH == 0 and _LIMITER is not None:
                _LIMITER.restore_original_limits()
                _LIMITER = None


def map_chunks(work: Callable[[slice], None], n: int, chunk: int, threads: int | None = None) -> None:
    """Call ``work(slice)`` for consecutive slices of ``range(n)`` of ``chunk`` items, BLAS
    single-threaded, on up to ``threads`` threads (default: the usable cores) taking one chunk at a
    time. ``work`` writes its results into arrays it shares with the caller (disjoint slices)."""
    import numpy as np

    chunk = max(1, int(chunk))
    slices = [slice(lo, min(n, lo + chunk)) for lo in range(0, n, chunk)]
    workers = min(usable_cpus() if threads is None else max(1, threads), len(slices))
    if len(slices) <= 1:  # one small batch (an engine step of a few runs): not worth the bookkeeping
        for sl in slices:
            work(sl)
        return
    with blas_single_thread():
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


__all__ = ["blas_single_thread", "map_chunks", "usable_cpus"]
