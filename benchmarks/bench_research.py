"""Figures for the researchers' instruments, each beside its baseline measured in the same run.

    python benchmarks/bench_research.py

* sharpness along a full-weight-space run of a 2-16-16-1 MLP (337 weights, 200 points): Lanczos on
  exact Hessian-vector products warm-started from the previous step (what ``run_sharpness`` does
  above ``DENSE_MAX`` weights) against forming the Hessian and ``eigvalsh`` at every step;
* the top Hessian eigenvalues of a 2-32-32-1 MLP (1,185 weights): Lanczos against the full ``eigh``;
* a climbing-image NEB on Müller–Brown (21 images, reactant to product through both saddles).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from timing import median_time  # noqa: E402

from landscape_gui.core import sharpness as sh  # noqa: E402
from landscape_gui.core.neb import nudged_elastic_band  # noqa: E402
from landscape_gui.core.nn.fullspace import run_full_space  # noqa: E402
from landscape_gui.core.nn.slices import build_surface  # noqa: E402
from landscape_gui.core.spectrum import hessian_matrix, top_eigenpairs  # noqa: E402
from landscape_gui.core.surfaces import get_surface  # noqa: E402


def main() -> None:
    s = build_surface("nn:dataset=moons")
    run = run_full_space(s, "sgd", [[0.0, 0.0]], {"lr": 0.1}, max_steps=20, tol=0, record_weights=True)[0]
    lanczos = median_time(lambda: sh.run_sharpness(s, run), 3)
    W = run.extras["weights"]
    dense = median_time(lambda: [np.linalg.eigvalsh(hessian_matrix(s, w))[-1] for w in W], 3)
    print(f"sharpness, {len(W)} steps of a {s.n_params}-weight MLP: Lanczos {lanczos:.2f} s, "
          f"dense eigvalsh {dense:.2f} s ({dense / lanczos:.1f}x)")

    big = build_surface("nn:dataset=moons;hidden=32,32;steps=100")
    top = median_time(lambda: top_eigenpairs(big, None, 5, exact=False), 3)
    full = median_time(lambda: np.linalg.eigvalsh(hessian_matrix(big)), 1)
    print(f"top-5 Hessian eigenvalues, {big.n_params} weights: Lanczos {top:.2f} s, full eigvalsh {full:.2f} s "
          f"({full / top:.1f}x)")

    mb = get_surface("muller_brown")
    neb = median_time(lambda: nudged_elastic_band(mb, (-0.558, 1.442), (0.623, 0.028), 21), 3)
    print(f"CI-NEB Müller–Brown, 21 images, two saddles refined: {neb * 1000:.0f} ms")


if __name__ == "__main__":
    main()
