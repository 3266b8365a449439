"""Chunks run on threads with BLAS single-threaded inside; results do not depend on the thread count."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from landscape_gui.core import threads
from landscape_gui.core.nn.slices import nn_surface_from_spec


def _blas_threads() -> list[int]:
    from threadpoolctl import threadpool_info

    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]


def test_blas_is_single_threaded_inside_and_restored_after_concurrent_users():
    before = _blas_threads()
    if not before:
        pytest.skip("no BLAS library threadpoolctl can see")
    inside: list[list[int]] = []
    barrier = threading.Barrier(2)

    def user() -> None:
        with threads.blas_single_thread():
            barrier.wait()
            inside.append(_blas_threads())
            barrier.wait()

    workers = [threading.Thread(target=user) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert inside == [[1] * len(before)] * 2
    assert _blas_threads() == before


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
