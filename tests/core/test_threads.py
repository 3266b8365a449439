"""Chunks run on threads with BLAS single-threaded inside; results do not depend on the thread count."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from landscape_gui.core import threads
from landscape_gui.core.nn.slices import nn_surface_from_spec

ROOT = Path(__file__).resolve().parents[2]


_CONCURRENT_USERS = """
import threading
from threadpoolctl import threadpool_info
from landscape_gui.core import threads
import numpy, scipy.linalg  # every BLAS the project loads

def blas():
    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]

before = blas()
barrier = threading.Barrier(3)

def user():
    with threads.blas_single_thread():
        barrier.wait()  # both users inside: the main thread looks
        barrier.wait()

workers = [threading.Thread(target=user) for _ in range(2)]
for w in workers:
    w.start()
barrier.wait()
inside = [blas()]
barrier.wait()
for w in workers:
    w.join()
print(before, inside, blas())
"""


def test_blas_is_single_threaded_inside_and_restored_after_concurrent_users():
    # In a fresh interpreter: BLAS thread counts are process-wide, and threads left by earlier tests
    # (a Dask cluster's, a job runner's) may change them while this test looks. Two users hold the
    # single-thread section at once while the main thread looks (threadpoolctl's look-ups from
    # inside worker threads can themselves upset the count); the last to leave restores it.
    env = dict(os.environ, PYTHONPATH=str(ROOT), OPENBLAS_NUM_THREADS="2")
    out = subprocess.run([sys.executable, "-c", _CONCURRENT_USERS], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    before, inside, after = (json.loads(part) for part in _split_lists(out.stdout.strip()))
    if not before:
        pytest.skip("no BLAS library threadpoolctl can see")
    assert inside == [[1] * len(before)]
    assert after == before


def _split_lists(text: str) -> list[str]:
    """``"[2, 2] [[1, 1], [1, 1]] [2, 2]"`` -> its three JSON lists."""
    parts, depth, start = [], 0, 0
    for k, c in enumerate(text):
        if c == "[":
            depth += 1
            if depth == 1:
                start = k
        elif c == "]":
            depth -= 1
            if depth == 0:
                parts.append(text[start:k + 1])
    return parts


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
