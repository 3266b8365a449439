"""Chunks run on threads with BLAS single-threaded inside; results do not depend on the thread count."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import numpy as np
import pytest

from landscape_gui.core import threads
from landscape_gui.core.nn.slices import nn_surface_from_spec


def _python(code: str) -> subprocess.CompletedProcess:
    """``code`` run by a fresh interpreter that imports this checkout (bounded in time)."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return subprocess.run([sys.executable, "-c", code], env=dict(os.environ, PYTHONPATH=root), capture_output=True,
                          text=True, timeout=300)


def test_the_first_chunked_work_on_the_main_thread_leaves_blas_single_threaded(tmp_path):
    """In a fresh process: BLAS starts with its own thread count; after a network slice's chunked
    work it runs one thread (set from the main thread, which OpenBLAS listens to)."""

    code = (
        "import numpy as np\n"
        "from threadpoolctl import threadpool_info\n"
        "from landscape_gui.core.nn.slices import nn_surface_from_spec\n"
        "a = np.random.rand(300, 300); a @ a\n"
        "s = nn_surface_from_spec('nn:dataset=moons;n=100;model=mlp;hidden=8,8;loss=bce;centre=initial')\n"
        "s.value_and_grad(np.random.default_rng(0).uniform(-1, 1, size=(3000, 2)))\n"
        "print(sorted({i['num_threads'] for i in threadpool_info() if i['user_api'] == 'blas'}))\n"
    )
    out = _python(code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() in ("[1]", "[]")


def test_blas_cannot_be_limited_from_a_worker_thread_first():
    result: list[bool] = []
    t = threading.Thread(target=lambda: result.append(threads.single_blas_thread()))
    t.start()
    t.join()
    assert result == [threads._LIMITED]


def test_map_chunks_covers_every_item_once_in_any_order_of_completion():
    out = np.zeros(1000, dtype=int)

    def work(sl: slice) -> None:
        out[sl] += 1

    threads.map_chunks(work, 1000, 37, threads=3)
    assert np.all(out == 1)


def test_network_slice_values_do_not_depend_on_the_number_of_threads(monkeypatch):
    s = nn_surface_from_spec("nn:dataset=moons;n=120;model=mlp;hidden=8,8;activation=tanh;loss=bce;centre=initial")
    p = np.random.default_rng(0).uniform(-1, 1, size=(700, 2))
    monkeypatch.setattr(threads, "usable_cpus", lambda: 1)
    one = s.value_and_grad(p), s.value(p), s.hessian(p[:50])
    monkeypatch.setattr(threads, "usable_cpus", lambda: 2)
    two = s.value_and_grad(p), s.value(p), s.hessian(p[:50])
    assert np.array_equal(one[0][0], two[0][0]) and np.array_equal(one[0][1], two[0][1])
    assert np.array_equal(one[1], two[1]) and np.array_equal(one[2], two[2])


def test_map_chunks_raises_the_first_error_and_stops_handing_out_chunks():
    done: list[int] = []

    def work(sl: slice) -> None:
        if sl.start == 30:
            raise ValueError("chunk 3 failed")
        done.append(sl.start)

    with pytest.raises(ValueError, match="chunk 3 failed"):
        threads.map_chunks(work, 10_000, 10, threads=2)
    assert len(done) < 50  # each thread finishes at most the chunk it holds


def test_map_chunks_keeps_the_callers_numpy_error_state_on_every_thread():
    seen: list[dict] = []

    def work(sl: slice) -> None:
        seen.append(np.geterr())

    with np.errstate(all="raise"):
        threads.map_chunks(work, 400, 1, threads=2)
        expected = np.geterr()
    assert len(seen) == 400 and all(s == expected for s in seen)


def test_map_chunks_called_from_several_threads_at_once_finishes_each_call():
    """Callers share one pool of helpers (a window's jobs and a script may run at once): each call
    covers its own items exactly once."""
    outs = [np.zeros(5000, dtype=int) for _ in range(3)]

    def call(out: np.ndarray) -> None:
        def work(sl: slice) -> None:
            out[sl] += 1

        threads.map_chunks(work, len(out), 7, threads=2)

    callers = [threading.Thread(target=call, args=(o,)) for o in outs]
    for t in callers:
        t.start()
    for t in callers:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in callers)
    assert all(np.all(o == 1) for o in outs)


def test_a_forked_process_gets_helpers_of_its_own():
    """A script that forks (multiprocessing) after a slice: the child's chunks are computed on
    helper threads of its own, not handed to the parent's, which do not exist in the child."""

    if not hasattr(os, "fork"):
        pytest.skip("no fork on this platform")
    code = (
        "import os, threading\n"
        "from landscape_gui.core import threads\n"
        "threads.map_chunks(lambda sl: None, 100, 1, threads=2)\n"
        "parent_pool = threads._POOL\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    names = set()\n"
        "    threads.map_chunks(lambda sl: names.add(threading.current_thread().name), 400, 1, threads=2)\n"
        "    print('child', threads._POOL is not parent_pool, flush=True)\n"
        "    os._exit(0)\n"
        "os.waitpid(pid, 0)\n"
    )
    out = _python(code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "child True"
