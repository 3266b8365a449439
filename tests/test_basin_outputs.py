"""The three basin files written with the picture drawn meanwhile: the same guarantees as one by one.

``write_basin_outputs`` hands the ``.npy`` and the ``.csv`` to a worker thread while it draws the
``.png``. What a user relies on must not change: a failure leaves no temporary file and no picture of
a map whose tables are missing, an error reaches the caller as a LandscapeError, and SIGTERM during a
worker's write still removes its temporary file (Python runs signal handlers in the main thread only).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from landscape_gui.basin_image import render_basin_png
from landscape_gui.core import fileio
from landscape_gui.core.basins import basin_csv_text, basin_map, write_basin_outputs
from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.fileio import TEMP_MARK, cleanup_on_signals
from landscape_gui.core.surfaces import get_surface

ROOT = Path(__file__).resolve().parents[1]


def temps(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if TEMP_MARK in p.name)


@pytest.fixture(scope="module")
def himmelblau_map():
    surface = get_surface("himmelblau")
    return surface, basin_map(surface, "adam", {"lr": 0.05}, resolution=20, fused=False)


def test_the_three_files_hold_the_labels_the_table_and_the_picture(tmp_path, himmelblau_map):
    surface, bmap = himmelblau_map
    handler = signal.getsignal(signal.SIGTERM)
    paths = write_basin_outputs(str(tmp_path / "hb"), bmap, surface, render_png=render_basin_png)
    assert paths == [str(tmp_path / f"hb.{ext}") for ext in ("npy", "csv", "png")]
    np.testing.assert_array_equal(np.load(tmp_path / "hb.npy"), bmap.labels)
    assert (tmp_path / "hb.npy").read_bytes()[:6] == b"\x93NUMPY"
    assert (tmp_path / "hb.csv").read_text() == basin_csv_text(bmap)
    assert (tmp_path / "hb.png").read_bytes() == render_basin_png(bmap, surface)
    assert temps(tmp_path) == []
    assert signal.getsignal(signal.SIGTERM) is handler, "the signal handler is put back"


def test_a_table_that_cannot_be_written_stops_before_the_picture(tmp_path, himmelblau_map):
    surface, bmap = himmelblau_map
    (tmp_path / "hb.csv").mkdir()
    with pytest.raises(LandscapeError, match="hb.csv"):
        write_basin_outputs(str(tmp_path / "hb"), bmap, surface, render_png=render_basin_png)
    assert not (tmp_path / "hb.png").exists(), "no picture of a map whose table is missing"
    assert temps(tmp_path) == []


def test_a_picture_that_cannot_be_drawn_is_a_user_error_and_the_tables_stay(tmp_path, himmelblau_map):
    surface, bmap = himmelblau_map
    (tmp_path / "hb.png").write_bytes(b"precious")

    def broken(bmap, surface):
        raise OSError("no font")

    with pytest.raises(LandscapeError, match=r"cannot render .*hb\.png: no font"):
        write_basin_outputs(str(tmp_path / "hb"), bmap, surface, render_png=broken)
    assert (tmp_path / "hb.csv").read_text() == basin_csv_text(bmap)
    assert (tmp_path / "hb.png").read_bytes() == b"precious"
    assert temps(tmp_path) == []


def test_sigterm_while_a_worker_thread_writes_removes_its_temporary_file(tmp_path):
    out = tmp_path / "table.csv"
    out.write_text("precious")
    child = textwrap.dedent(
        f"""
        import sys, threading
        from landscape_gui.core.fileio import cleanup_on_signals, open_output

        opened, never = threading.Event(), threading.Event()

        def write():
            with open_output({str(out)!r}) as fh:
                fh.write("half a table")
                fh.flush()
                opened.set()
                never.wait(600)  # the parent ends the process long before

        with cleanup_on_signals():
            threading.Thread(target=write, daemon=True).start()
            opened.wait(600)
            print("writing", flush=True)
            never.wait(600)
        """
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-c", child], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "writing", proc.stderr.read()
        assert len(temps(tmp_path)) == 1
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=300)
    assert proc.returncode == -signal.SIGTERM
    assert temps(tmp_path) == [], "no debris"
    assert out.read_text() == "precious"


def test_the_handler_is_installed_only_while_a_block_or_a_write_is_open():
    before = signal.getsignal(signal.SIGTERM)
    with cleanup_on_signals():
        assert signal.getsignal(signal.SIGTERM) is fileio._on_signal
        with cleanup_on_signals():
            assert signal.getsignal(signal.SIGTERM) is fileio._on_signal
        assert signal.getsignal(signal.SIGTERM) is fileio._on_signal
    assert signal.getsignal(signal.SIGTERM) is before
