"""Benchmark: loss on a 101×101 slice of a 2-16-16-1 MLP over 500 points.

Compares the batched grid evaluation (:meth:`NetSurface.grid`, all grid points through the network
at once, chunked) with a per-grid-point Python loop in the same run, plus the batched gradient and
exact Hessian on the same grid. Prints medians of repeats and the speed-up ratio.

    python benchmarks/bench_nn.py [--repeats 5] [--loop-repeats 1] [--activation tanh]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from timing import median_time  # noqa: E402

from landscape_gui.core.nn.slices import nn_surface_from_spec  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--loop-repeats", type=int, default=1)
    ap.add_argument("--resolution", type=int, default=101)
    ap.add_argument("--activation", default="tanh", choices=["tanh", "relu", "sigmoid"])
    args = ap.parse_args()

    spec = f"nn:dataset=moons;n=500;model=mlp;hidden=16,16;activation={args.activation};loss=bce;centre=trained"
    t0 = time.perf_counter()
    s = nn_surface_from_spec(spec)
    build = time.perf_counter() - t0
    R = args.resolution
    print(f"surface: {s.title}, {s.net.n_weights} weights, {s.dataset.n_samples} points; built (trained) in {build:.3f} s")

    batched = median_time(lambda: s.grid(resolution=R), args.repeats)
    xs, ys, z = s.grid(resolution=R)
    gx, gy = np.meshgrid(xs, ys, indexing="ij")
    pts = np.column_stack([gx.ravel(), gy.ravel()])

    def loop() -> np.ndarray:
        out = np.empty(len(pts))
        for i in range(len(pts)):
            out[i] = s.value(pts[i:i + 1])[0]
        return out

    looped = median_time(loop, args.loop_repeats)
    assert np.allclose(loop().reshape(R, R), z, rtol=1e-12, equal_nan=True)
    grad = median_time(lambda: s.value_and_grad(pts), max(1, args.repeats // 2))
    hess = median_time(lambda: s.hessian(pts), max(1, args.repeats // 2))

    print(f"grid {R}x{R} = {R * R} points (median of {args.repeats}):")
    print(f"  batched value        {batched:8.3f} s   ({batched / (R * R) * 1e6:7.1f} us/point)")
    print(f"  per-point loop value {looped:8.3f} s   ({looped / (R * R) * 1e6:7.1f} us/point, median of {args.loop_repeats})")
    print(f"  speed-up             {looped / batched:8.1f} x")
    print(f"  batched value+grad   {grad:8.3f} s")
    print(f"  batched exact Hessian{hess:8.3f} s")
    print(f"  target: batched value <= 1 s: {'met' if batched <= 1.0 else 'NOT met'}")


if __name__ == "__main__":
    main()
