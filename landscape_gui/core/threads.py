"""Threads that help: one BLAS thread inside batched small matrix products, parallelism over chunks.

Network slices evaluate thousands of small matrix products (a few hundred samples by 16 or 64
units). OpenBLAS would split each of them over its own threads, which costs more than the product
itself and collapses on a machine whose cores are busy (a 2-64-64-1 slice over 2,000 points took
109 s with OpenBLAS's two threads against 19 s with one). So BLAS runs single-threaded
(threadpoolctl, :func:`single_blas_thread`) and :func:`map_chunks` spreads the chunks over threads
(numpy releases the GIL in matrix products and ufunc loops).

Scheduling is self-balancing: every thread, the caller's included, takes the next chunk from one
shared counter when it has finished the last, so a thread whose core is taken by another program
merely takes fewer chunks, and nothing waits for a chunk assigned in advance to a busy core. The
helper threads are kept in one pool for the process (no threads started per call, and each keeps
its scratch arrays); a helper that has not started when the caller has run out of chunks is
withdrawn rather than waited for. So the work handed out is the same with two threads as with one,
plus a counter increment per chunk, and two threads are faster whenever a second core has time to
spare (1.6–1.8× for network slices on an idle machine or beside ``stress-ng --cpu 4``). While other
programs hold both cores they are not: a thread that finds the GIL taken sleeps and must wait for a
core to take it back, and the two threads' caches compete, so two threads then ran about 20 % slower
than one (benchmarks/bench_nn.py). Per-chunk Python work is kept small against the numpy work to
keep those waits rare.

OpenBLAS takes a change of its thread count only from the thread that started its pool (normally the
main thread; a change made from another thread is ignored), so the limit is set once for the process
from the main thread: by :func:`map_chunks` the first time it runs there, and by the window at
start-up (its computations run on worker threads). Nothing in this program needs BLAS threads: its
matrix products are small.
"""

from __future__ import annotations

import itertools
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable

_LOCK = threading.Lock()
_LIMITED = False
_POOL: ThreadPoolExecutor | None = None
_POOL_SIZE = 0
_POOL_PID = 0


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


def _helpers(n: int) -> ThreadPoolExecutor:
    """The process's pool of helper threads, with room for at least ``n`` (grown when asked for more;
    a replaced pool's threads finish what they hold and exit). A process forked from this one (a
    script's multiprocessing pool) inherits the pool but not its threads, so it makes its own."""
    global _POOL, _POOL_SIZE, _POOL_PID
    with _LOCK:
        if _POOL is None or _POOL_SIZE < n or _POOL_PID != os.getpid():
            old = _POOL if _POOL_PID == os.getpid() else None
            _POOL = ThreadPoolExecutor(max_workers=max(n, _POOL_SIZE), thread_name_prefix="chunks")
            _POOL_SIZE, _POOL_PID = max(n, _POOL_SIZE), os.getpid()
            if old is not None:
                old.shutdown(wait=False)
        return _POOL


def map_chunks(work: Callable[[slice], None], n: int, chunk: int, threads: int | None = None) -> None:
    """Call ``work(slice)`` once for each of the consecutive slices of ``range(n)`` of ``chunk``
    items, BLAS single-threaded (:func:`single_blas_thread`), on up to ``threads`` threads (default:
    the usable cores; the calling thread is one of them), each taking the next slice when it is done
    with the last. ``work`` writes its results into arrays it shares with the caller (disjoint
    slices), so results do not depend on the number of threads. The first exception raised by
    ``work`` stops the hand-out of slices and is raised here once every thread has stopped."""
    import numpy as np

    chunk = max(1, int(chunk))
    count = -(-n // chunk) if n > 0 else 0
    if count <= 1:  # one small batch (an engine step of a few runs): not worth the bookkeeping
        if count:
            work(slice(0, n))
        return
    single_blas_thread()
    workers = min(usable_cpus() if threads is None else max(1, threads), count)
    if workers <= 1:
        for lo in range(0, n, chunk):
            work(slice(lo, min(n, lo + chunk)))
        return

    ticket = itertools.count()  # next() on it is atomic under the GIL
    failed: list[BaseException] = []
    errors = np.geterr()  # numpy's error state is per thread: the helpers take the caller's

    def take() -> None:
        try:
            while not failed:
                i = next(ticket)
                if i >= count:
                    return
                lo = i * chunk
                work(slice(lo, min(n, lo + chunk)))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller, which raises it
            failed.append(exc)

    def helper() -> None:
        with np.errstate(**errors):
            take()

    pool = _helpers(workers - 1)
    futures: list[Future] = [pool.submit(helper) for _ in range(workers - 1)]
    take()
    for fut in futures:
        if not fut.cancel():  # started: wait until it has finished its last slice
            fut.result()
    if failed:
        raise failed[0]


__all__ = ["map_chunks", "single_blas_thread", "usable_cpus"]
