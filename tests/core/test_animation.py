"""Map frames drawn with numpy, exported as GIF and MP4, decoded and compared with the renderer."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from landscape_gui.core import engine
from landscape_gui.core.animation import MapFrames, export_animation, read_frames
from landscape_gui.core.engine import Cancelled
from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.surfaces import get_surface

ROOT = Path(__file__).resolve().parents[2]
STARTS = [[-4.0, 4.5], [0.5, -1.5], [4.0, 4.0], [-1.0, -4.0]]


@pytest.fixture(scope="module")
def frames() -> MapFrames:
    s = get_surface("himmelblau")
    runs = engine.run_many(s, "momentum", STARTS, {"lr": 0.005}, max_steps=80, tol=0)
    return MapFrames(s, runs, s.bounds, (200, 160))


def _pixel(frames: MapFrames, xy) -> tuple[int, int]:
    xmin, xmax, ymin, ymax = frames.bounds
    w, h = frames.size
    return int((ymax - xy[1]) / (ymax - ymin) * h), int((xy[0] - xmin) / (xmax - xmin) * w)


def test_a_frame_is_a_pure_function_of_the_step(frames: MapFrames) -> None:
    a = frames.frame(30)
    assert a.shape == (160, 200, 3) and a.dtype == np.uint8
    assert np.array_equal(frames.frame(30), a)
    frames.frame(70)
    assert np.array_equal(frames.frame(30), a)  # no state carried from frame to frame
    assert not np.array_equal(frames.frame(0), a)
    assert np.array_equal(frames.frame(frames.last_step), frames.frame(frames.last_step + 50))


def test_each_run_is_drawn_at_its_position_of_that_step(frames: MapFrames) -> None:
    img = frames.frame(25)
    for i, run in enumerate(frames.runs):
        r, c = _pixel(frames, run.positions[25])
        assert np.array_equal(img[r, c], frames._colours[i]), f"run {run.id} not at its step-25 position"
    # where a run was at step 5, its path is drawn; where it will be at step 70 is still background
    run = frames.runs[0]
    r, c = _pixel(frames, run.positions[70])
    if np.hypot(*(run.positions[70] - run.positions[25])) > 1.0:
        assert np.array_equal(frames.frame(5)[r, c], frames.background[r, c])


def test_bad_frame_and_size_requests_are_refused() -> None:
    s = get_surface("himmelblau")
    with pytest.raises(LandscapeError, match="size must be from 16×16"):
        MapFrames(s, [], s.bounds, (8, 8))
    empty = MapFrames(s, [], s.bounds, (32, 32))
    assert np.array_equal(empty.frame(3), empty.background)
    with pytest.raises(LandscapeError, match="a frame's step must be a whole number >= 0"):
        empty.frame(-1)


@pytest.mark.parametrize("ext, tolerance", [(".gif", 2.0), (".mp4", 8.0)])
def test_an_exported_file_decodes_to_the_renderers_frames(frames: MapFrames, tmp_path: Path, ext: str,
                                                          tolerance: float) -> None:
    path = tmp_path / ("runs" + ext)
    steps = frames.steps(0, 60, 3)
    seen = []
    assert export_animation(frames, path, steps, fps=10, progress=seen.append) == len(steps)
    assert seen[-1] == 1.0
    decoded = read_frames(path)
    assert len(decoded) == len(steps)
    for k in (4, 12):
        got = decoded[k].astype(int)
        err = {s: float(np.abs(got - frames.frame(s).astype(int)).mean()) for s in (steps[k] - 9, steps[k], steps[k] + 9)}
        assert err[steps[k]] < tolerance, err
        # it is this step's frame, not a neighbour's
        assert err[steps[k]] < min(err[steps[k] - 9], err[steps[k] + 9]), err


def test_export_is_atomic_and_cancellable(frames: MapFrames, tmp_path: Path) -> None:
    path = tmp_path / "keep.gif"
    path.write_bytes(b"old")
    calls = [0]

    def cancel() -> bool:
        calls[0] += 1
        return calls[0] > 3

    with pytest.raises(Cancelled):
        export_animation(frames, path, frames.steps(0, 40), fps=10, should_cancel=cancel)
    assert path.read_bytes() == b"old" and sorted(p.name for p in tmp_path.iterdir()) == ["keep.gif"]
    with pytest.raises(LandscapeError, match="animations are written as .gif or .mp4"):
        export_animation(frames, tmp_path / "x.avi", [0])
    with pytest.raises(LandscapeError, match="does not exist"):
        export_animation(frames, tmp_path / "no" / "x.gif", [0])


def test_cli_animate_works_without_a_display(tmp_path: Path) -> None:
    out = tmp_path / "runs.mp4"
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["PYTHONPATH"] = str(ROOT)
    code = ("import sys; from landscape_gui.cli import main; rc = main(sys.argv[1:]); "
            "assert not any(m.startswith('PySide6') for m in sys.modules), 'Qt was imported'; sys.exit(rc)")
    res = subprocess.run([sys.executable, "-c", code, "animate", "--surface", "himmelblau", "--optimizer", "momentum",
                          "--set", "lr=0.005", "--start=-4,4.5", "--start", "0.5,-1.5", "--max-steps", "80",
                          "--tol", "0", "--frames", "10:40", "--every", "2", "--size", "200x160", "--fps", "12",
                          "-o", str(out)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert "wrote 16 frames (200×160, steps 10..40, 12 fps) of 2 runs" in res.stderr
    decoded = read_frames(out)
    s = get_surface("himmelblau")
    runs = engine.run_many(s, "momentum", STARTS[:2], {"lr": 0.005}, max_steps=80, tol=0)
    ref = MapFrames(s, runs, s.bounds, (200, 160))
    assert len(decoded) == 16
    assert float(np.abs(decoded[5].astype(int) - ref.frame(20).astype(int)).mean()) < 8.0


def test_small_multiples_play_every_panel_at_the_same_step(frames: MapFrames, tmp_path: Path) -> None:
    from landscape_gui.core.animation import TiledFrames

    s = get_surface("himmelblau")
    other = MapFrames(s, engine.run_many(s, "adam", STARTS, {"lr": 0.1}, max_steps=50, tol=0), s.bounds, (200, 160))
    tiles = TiledFrames([frames, other, frames], ["momentum", "adam", "again"], columns=2)
    assert tiles.size == (2 * 200 + 4, 2 * (160 + 16) + 4)
    assert tiles.last_step == 80
    img = tiles.frame(30)
    assert np.array_equal(img[16:176, 0:200], frames.frame(30))
    assert np.array_equal(img[16:176, 204:404], other.frame(30))
    assert np.array_equal(img[196:356, 0:200], frames.frame(30))
    assert (img[0:16, 0:200] < 128).any()  # a title is written
    assert (img[196:356, 204:404] == 255).all()  # the empty fourth tile stays white
    with pytest.raises(LandscapeError, match="one title per map"):
        TiledFrames([frames], [])
    path = tmp_path / "tiles.gif"
    export_animation(tiles, path, tiles.steps(0, 20, 5), fps=5)
    decoded = read_frames(path)
    assert len(decoded) == 5 and decoded[0].shape == img.shape
    assert float(np.abs(decoded[2].astype(int) - tiles.frame(10).astype(int)).mean()) < 2.0
