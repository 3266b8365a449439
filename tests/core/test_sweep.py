"""Sweeps on a real 2-worker Dask LocalCluster: every cell equals `basins` alone, a killed worker changes
nothing, an interrupted sweep resumes without recomputing finished shards, Cancel empties the cluster."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import threading
import time

import numpy as np
import pytest

from landscape_gui.core.basins import basin_map, cell_centres
from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.surfaces import get_surface, surface_from_spec
from landscape_gui.core.sweep import (
    FORMAT,
    Axis,
    Cancelled,
    SweepProgress,
    compute_shard,
    default_shard_size,
    label_cell,
    local_cluster,
    make_spec,
    run_sweep,
    shard_starts,
    shard_task,
    summary_csv_text,
)

distributed = pytest.importorskip("distributed")

KEY_PREFIX = "landscape-shard-"


def wait_until(condition, timeout: float = 120.0, what: str = "condition") -> None:
    """Poll ``condition`` until it holds (never a fixed wait); fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        pause.wait(0.05)


@pytest.fixture(scope="module")
def client():
    cluster = local_cluster(2)
    c = distributed.Client(cluster, set_as_default=False)
    try:
        yield c
    finally:
        c.close()
        cluster.close()


def small_spec(**kw):
    """4 cells × 3 shards of a 12×12 map: SGD with momentum on two wells and a saddle."""
    args = dict(vary={"lr": [0.05, 0.3], "momentum": [0.0, 0.8]}, resolution=12, max_steps=150, shard_size=50)
    args.update(kw)
    vary = args.pop("vary")
    return make_spec("saddle", "momentum", vary, **args)


# -- inputs ----------------------------------------------------------------------------------------


def test_vary_parses_linear_and_log_axes():
    lin = Axis.parse("momentum=0:0.9:4")
    assert lin.values == pytest.approx((0.0, 0.3, 0.6, 0.9)) and not lin.log
    log = Axis.parse("lr=0.001:0.1:3:log")
    assert log.values == pytest.approx((0.001, 0.01, 0.1)) and log.log
    assert Axis.parse("lr=0.5:0.5:1").values == (0.5,)


@pytest.mark.parametrize("text", ["lr", "lr=1:2", "lr=a:2:3", "lr=1:2:0", "lr=1:2:3:cubic", "=1:2:3", "lr=1:inf:3"])
def test_bad_vary_is_one_readable_error(text):
    with pytest.raises(LandscapeError, match="--vary"):
        Axis.parse(text)


def test_log_axis_needs_positive_ends():
    with pytest.raises(LandscapeError, match="log axis"):
        Axis.parse("momentum=0:0.9:3:log")


@pytest.mark.parametrize(
    "vary, fixed, message",
    [
        ({"lrr": [0.1]}, {}, "no numeric hyperparameter 'lrr'"),
        ({"nesterov": [0, 1]}, {}, "no numeric hyperparameter 'nesterov'"),
        ({"lr": [0.1, -0.1]}, {}, r"lr must be in \(0, inf\)"),
        ({"lr": [0.1]}, {"lr": 0.2}, "both set"),
        ({}, {}, "at least one"),
    ],
)
def test_bad_sweeps_are_refused_before_any_work(vary, fixed, message):
    with pytest.raises(LandscapeError, match=message):
        make_spec("saddle", "momentum", vary, fixed, resolution=8)


def test_cross_parameter_rules_are_checked_in_every_cell():
    # Nesterov needs momentum > 0: the cell with momentum 0 is named.
    with pytest.raises(LandscapeError, match="momentum=0"):
        make_spec("saddle", "sgd", {"momentum": [0.0, 0.5]}, {"nesterov": True}, resolution=8)


def test_shards_are_the_grids_rows_and_cover_it_once():
    spec = small_spec()
    grid = np.array(np.meshgrid(*cell_centres(spec.bounds, 12), indexing="ij")).reshape(2, -1).T
    rows = np.concatenate([shard_starts(spec.bounds, 12, *spec.shard_range(s)) for s in range(spec.shards_per_cell)])
    assert spec.shards_per_cell == 3
    np.testing.assert_array_equal(rows, grid)


def test_shard_size_depends_on_the_sweep_only():
    assert default_shard_size(256, 1) == 16_384  # a single cell is cut in 4
    assert default_shard_size(512, 2) == 65_536  # 2 cells × 4 shards
    assert default_shard_size(256, 8) == 65_536  # 8 cells: whole cells
    assert default_shard_size(256, 500) == 65_536  # many cells: one task per cell
    assert default_shard_size(1024, 500) == 65_536  # ... unless a cell is larger than a shard
    assert default_shard_size(16, 4) == 256  # never more than a cell
    assert small_spec().key == small_spec().key != small_spec(max_steps=151).key


def test_a_shard_is_a_pure_function_of_its_task():
    spec = small_spec()
    task = shard_task(spec, 3, 1)
    a, b = compute_shard(task), compute_shard(task)
    assert a.shape == (50, 3) and a.tobytes() == b.tobytes()


# -- on the cluster --------------------------------------------------------------------------------


def _alone(spec, cell):
    return basin_map(surface_from_spec(spec.surface), spec.optimizer, spec.cell_hyperparameters(cell), spec.bounds,
                     spec.resolution, spec.max_steps, spec.tol)


@pytest.mark.parametrize(
    "surface, optimizer, vary",
    [
        ("saddle", "momentum", {"lr": [0.05, 0.3], "momentum": [0.0, 0.8]}),
        ("himmelblau", "adam", {"lr": [0.05, 0.5]}),  # the compiled kernel on the workers
        ("x**4 - 2*x**2 + y**2 + 0.3*x*y", "sgd", {"lr": [0.02, 0.2]}),  # a typed formula
    ],
)
def test_each_cell_equals_basins_run_alone(client, surface, optimizer, vary):
    spec = make_spec(surface, optimizer, vary, resolution=12, max_steps=200, shard_size=40)
    seen: list[SweepProgress] = []
    result = run_sweep(spec, client=client, progress=seen.append)
    assert result.computed == spec.n_shards == 4 * spec.n_cells and result.reused == 0
    assert seen[-1].done == seen[-1].total == spec.n_shards and seen[-1].cells_done == spec.n_cells
    assert seen[-1].eta == 0.0 and all(p.eta is not None for p in seen[1:])
    for cell in range(spec.n_cells):
        alone = _alone(spec, cell)
        # Same end points and labels bit for bit; the sweep's ids are the shared table's.
        np.testing.assert_array_equal(result.status[cell], alone.status)
        np.testing.assert_array_equal(result.labels[cell], alone.rebased(result.table).labels)
        assert sorted(result.cell_map(cell).counts().values()) == sorted(alone.counts().values())
    # One id is one place in every cell.
    xy = np.array([[c.x, c.y] for c in result.table.points])
    assert len(np.unique(np.round(xy, 6), axis=0)) == len(xy)


def test_cell_labels_equal_basins_before_translation():
    spec = small_spec()
    for cell in (0, 3):
        rows = np.concatenate([compute_shard(shard_task(spec, cell, s)) for s in range(spec.shards_per_cell)])
        mine, alone = label_cell(spec, cell, rows), _alone(spec, cell)
        assert mine.labels.tobytes() == alone.labels.tobytes()
        assert [(c.id, c.x, c.y) for c in mine.table.points] == [(c.id, c.x, c.y) for c in alone.table.points]


class KillOnce(distributed.WorkerPlugin):
    """Test only: the first worker to start a shard kills its own process (SIGKILL), once per flag file."""

    name = "kill-once"

    def __init__(self, flag: str) -> None:
        self.flag = flag

    def transition(self, key, start, finish, **kwargs):
        if finish == "executing" and str(key).startswith(KEY_PREFIX):
            try:
                fd = os.open(self.flag, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                return
            os.write(fd, str(os.getpid()).encode())
            os.close(fd)
            os.kill(os.getpid(), signal.SIGKILL)


def test_a_killed_worker_changes_nothing(client, tmp_path):
    spec = small_spec(max_steps=160)
    reference = run_sweep(spec, client=client)
    flag = tmp_path / "killed"
    pids_before = set(client.run(os.getpid).values())
    client.register_plugin(KillOnce(str(flag)))
    try:
        result = run_sweep(spec, client=client)
    finally:
        client.unregister_worker_plugin(KillOnce.name)
    assert flag.exists(), "no worker was killed"
    victim = int(flag.read_text())
    assert victim in pids_before
    np.testing.assert_array_equal(result.labels, reference.labels)
    np.testing.assert_array_equal(result.status, reference.status)
    assert summary_csv_text(result) == summary_csv_text(reference)
    # The nanny replaced the dead worker: the cluster is whole again for the tests after this one.
    wait_until(lambda: len(client.scheduler_info()["workers"]) == 2, what="the worker to be restarted")
    assert victim not in set(client.run(os.getpid).values())


def _manifest(folder):
    return json.loads((folder / "sweep.json").read_text())


def test_an_interrupted_sweep_resumes_without_recomputing(client, tmp_path):
    spec = small_spec(max_steps=170)
    out = tmp_path / "sweep"
    seen: list[SweepProgress] = []
    with pytest.raises(Cancelled):
        run_sweep(spec, client=client, output=out, progress=seen.append,
                  should_cancel=lambda: bool(seen) and seen[-1].done >= 2)
    first = _manifest(out)
    assert first["format"] == FORMAT and first["key"] == spec.key
    assert first["runs"][-1]["state"] == "cancelled" and first["runs"][-1]["computed"] == 2
    assert len(first["done"]) == 2
    saved = sorted((out / "shards").iterdir())
    stamps = {p.name: p.stat().st_mtime_ns for p in saved}
    assert len(saved) == 2
    assert not (out / "summary.csv").exists()

    result = run_sweep(spec, client=client, output=out)
    second = _manifest(out)
    assert second["runs"][-1] == {**second["runs"][-1], "state": "finished", "computed": spec.n_shards - 2, "reused": 2}
    assert (result.computed, result.reused) == (spec.n_shards - 2, 2)
    assert {p.name: p.stat().st_mtime_ns for p in saved} == stamps  # the finished shards were not rewritten
    reference = run_sweep(spec, client=client)
    np.testing.assert_array_equal(result.labels, reference.labels)
    assert (out / "summary.csv").read_text() == summary_csv_text(reference)
    for cell in range(spec.n_cells):
        np.testing.assert_array_equal(np.load(out / "labels" / f"c{cell:05d}.npy"), reference.labels[cell])
    assert (out / "phase.png").exists() is False  # no renderer given to run_sweep here

    # A third run finds everything done and needs no cluster at all.
    again = run_sweep(spec, client=None, output=out)
    assert (again.computed, again.reused) == (0, spec.n_shards)


def test_shard_files_the_manifest_missed_are_adopted(client, tmp_path):
    """A hard kill can land between a shard file's rename and the next manifest write."""
    spec = small_spec(max_steps=180)
    out = tmp_path / "sweep"
    run_sweep(spec, client=client, output=out)
    data = _manifest(out)
    data["done"] = []
    (out / "sweep.json").write_text(json.dumps(data))
    (out / "shards" / "c00001-s0002.npy").write_bytes(b"torn")  # a damaged file is recomputed
    result = run_sweep(spec, client=client, output=out)
    assert (result.computed, result.reused) == (1, spec.n_shards - 1)


def test_cancel_stops_the_clusters_tasks(client):
    spec = small_spec(max_steps=400, shard_size=8)  # 18 shards per cell
    seen: list[SweepProgress] = []
    with pytest.raises(Cancelled):
        run_sweep(spec, client=client, progress=seen.append, should_cancel=lambda: bool(seen) and seen[-1].done >= 1)

    def ours(dask_scheduler):
        return [k for k in dask_scheduler.tasks if str(k).startswith(KEY_PREFIX)]

    wait_until(lambda: not client.run_on_scheduler(ours), what="the cancelled shards to leave the scheduler")
    assert seen[-1].done < spec.n_shards


def test_a_folder_holding_something_else_is_refused(client, tmp_path):
    spec = small_spec(max_steps=190)
    out = tmp_path / "sweep"
    run_sweep(spec, client=client, output=out)
    before = (out / "sweep.json").read_bytes()
    with pytest.raises(LandscapeError, match="holds a different sweep"):
        run_sweep(small_spec(max_steps=191), client=client, output=out)
    assert (out / "sweep.json").read_bytes() == before
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    with pytest.raises(LandscapeError, match="not empty and holds no sweep"):
        run_sweep(spec, client=client, output=mine)
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]
    with pytest.raises(LandscapeError, match="is a file"):
        run_sweep(spec, client=client, output=mine / "notes.txt")
    with pytest.raises(LandscapeError, match="does not exist"):
        run_sweep(spec, client=client, output=tmp_path / "no" / "such")


def test_a_shard_failing_on_its_worker_is_reported_in_one_line(client, monkeypatch):
    # An optimizer plugin installed where the sweep starts but not on the workers.
    from landscape_gui.core import optimizers

    local_only = dataclasses.replace(optimizers.get_optimizer("sgd"), name="sgd_here_only")
    monkeypatch.setitem(optimizers._BUILTINS, local_only.name, local_only)
    spec = make_spec("saddle", local_only, {"lr": [0.1]}, resolution=4, max_steps=5)
    with pytest.raises(LandscapeError, match="failed on its worker: unknown optimizer 'sgd_here_only'"):
        run_sweep(spec, client=client)


def test_results_are_plain_arrays(client):
    spec = small_spec(max_steps=120)
    r = run_sweep(spec, client=client)
    assert r.labels.shape == (4, 12, 12) and r.labels.dtype == np.int32
    ids, shares = r.fractions()
    assert shares.shape == (4, len(ids))
    np.testing.assert_allclose(shares.sum(axis=1), r.settled().reshape(-1))
    dom = r.dominant()
    assert dom.shape == (2, 2)
    for cell, (i, j) in enumerate(np.ndindex(2, 2)):
        assert r.values(cell) == {"lr": [0.05, 0.3][i], "momentum": [0.0, 0.8][j]}
        if dom[i, j] >= 0:
            k = list(ids).index(dom[i, j])
            assert shares[cell, k] == shares[cell].max()
    assert get_surface("saddle").name == r.cell_map(0).surface


def test_runs_as_a_window_job_off_the_main_thread(client):
    """The window's job runner calls ``fn(progress(fraction), should_cancel)`` on a pool thread and
    treats ``engine.Cancelled`` as a cancel: a sweep fits that shape unchanged."""
    from landscape_gui.core.engine import Cancelled as EngineCancelled

    spec = small_spec(max_steps=130)
    fractions: list[float] = []
    box: dict = {}

    def job(progress, should_cancel):
        return run_sweep(spec, client=client, progress=lambda p: progress(p.fraction), should_cancel=should_cancel)

    def body(cancel_after: int | None) -> None:
        def should_cancel() -> bool:
            return cancel_after is not None and len(fractions) > cancel_after

        try:
            box["result"] = job(fractions.append, should_cancel)
        except EngineCancelled as exc:
            box["cancelled"] = exc

    t = threading.Thread(target=body, args=(None,))
    t.start()
    t.join(timeout=300)
    assert not t.is_alive()
    assert fractions[-1] == 1.0 and fractions == sorted(fractions)
    np.testing.assert_array_equal(box["result"].labels, run_sweep(spec, client=client).labels)

    fractions.clear()
    t = threading.Thread(target=body, args=(1,))
    t.start()
    t.join(timeout=300)
    assert isinstance(box.get("cancelled"), Cancelled)
