"""Costs of the teaching tools, each against its baseline in the same run (medians; the machine is noisy).

    python benchmarks/bench_lessons.py [--quick]

* engine, 2,000 Adam runs × 500 steps on Himmelblau (``record=False``): plain vs under a cosine
  schedule vs with Gaussian gradient noise;
* basin map 128², Adam: the compiled path without and with a schedule, and the numpy engine with it;
* probability map 48² × 16 samples (saddle, SGD, noise 1.5) vs one noisy engine pass over the same grid;
* map frames at 640×480 with 8 runs of 500 steps: one frame; GIF and MP4 export, frames per second;
* a race of 3 optimizers × 20 trials (40 steps, 8 starts).
"""

from __future__ import annotations

import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import numpy as np  # noqa: E402
from timing import median_time  # noqa: E402

from landscape_gui.core import engine  # noqa: E402
from landscape_gui.core.animation import MapFrames, export_animation  # noqa: E402
from landscape_gui.core.basins import basin_map  # noqa: E402
from landscape_gui.core.noise import GradientNoise  # noqa: E402
from landscape_gui.core.race import race  # noqa: E402
from landscape_gui.core.schedules import make_schedule  # noqa: E402
from landscape_gui.core.starts import random_starts  # noqa: E402
from landscape_gui.core.stochastic import probability_map  # noqa: E402
from landscape_gui.core.surfaces import get_surface  # noqa: E402


def main() -> None:
    quick = "--quick" in sys.argv
    reps = 3 if quick else 5
    him = get_surface("himmelblau")
    starts = random_starts(him.bounds, 2000, 0)

    def eng(**kw):
        return lambda: engine.run(him, "adam", starts, {"lr": 0.05}, max_steps=500, tol=0, record=False, **kw)

    t0 = median_time(eng(), reps)
    ts = median_time(eng(schedule=make_schedule("cosine")), reps)
    tn = median_time(eng(noise=GradientNoise(0.5, 1)), reps)
    print(f"engine 2000 runs x 500 steps: plain {t0:.3f} s; cosine schedule {ts:.3f} s ({ts / t0:.2f}x); "
          f"noise {tn:.3f} s ({tn / t0:.2f}x)")

    basin_map(him, "adam", {"lr": 0.05}, resolution=16, max_steps=10)  # compile the kernel
    tb = median_time(lambda: basin_map(him, "adam", {"lr": 0.05}, resolution=128, max_steps=1000), reps)
    tbs = median_time(lambda: basin_map(him, "adam", {"lr": 0.05}, resolution=128, max_steps=1000,
                                        schedule=make_schedule("cosine")), reps)
    tbe = median_time(lambda: basin_map(him, "adam", {"lr": 0.05}, resolution=128, max_steps=1000,
                                        schedule=make_schedule("cosine"), fused=False), max(1, reps - 2))
    print(f"basin map 128^2 adam: compiled {tb:.3f} s; under a schedule compiled {tbs:.3f} s ({tbs / tb:.2f}x), "
          f"numpy engine {tbe:.3f} s ({tbe / tbs:.1f}x the compiled)")

    sad = get_surface("saddle")
    g48 = np.stack(np.meshgrid(np.linspace(-2, 2, 48), np.linspace(-2, 2, 48), indexing="ij"), -1).reshape(-1, 2)
    tm = median_time(lambda: engine.run(sad, "sgd", g48, {"lr": 0.05}, max_steps=200, tol=1e-4, record=False,
                                        noise=GradientNoise(1.5, 1)), reps)
    tp = median_time(lambda: probability_map(sad, "sgd", GradientNoise(1.5, 1), 16, {"lr": 0.05}, resolution=48,
                                             max_steps=200, tol=1e-4), max(1, reps - 2))
    print(f"probability map 48^2 x 16 samples: {tp:.3f} s = {tp / tm:.1f}x one noisy pass over the grid "
          f"({tm:.3f} s; 16 samples + quenches)")

    runs = engine.run_many(him, "momentum", random_starts(him.bounds, 8, 1), {"lr": 0.005}, max_steps=500, tol=0)
    frames = MapFrames(him, runs, him.bounds, (640, 480))
    tf = median_time(lambda: frames.frame(250), 20)
    print(f"map frame 640x480, 8 runs x 500 steps: {1000 * tf:.1f} ms ({1 / tf:.0f} frames/s)")
    with tempfile.TemporaryDirectory() as d:
        steps = frames.steps(0, 119)
        for ext in (".gif", ".mp4"):
            te = median_time(lambda: export_animation(frames, os.path.join(d, "a" + ext), steps, 30), 1 if quick else 3)
            size = os.path.getsize(os.path.join(d, "a" + ext))
            print(f"export 120 frames {ext}: {te:.2f} s ({len(steps) / te:.0f} frames/s), {size / 1e6:.1f} MB")

    st = random_starts(him.bounds, 8, 0)
    tr = median_time(lambda: race(him, ["sgd", "momentum", "adam"], st, steps=40, budget=20, seed=0), 1 if quick else 3)
    print(f"race 3 optimizers x 20 trials (8 starts, 40 steps): {tr:.2f} s")


if __name__ == "__main__":
    main()
