"""Generate tests/data/pca_sklearn.npz: scikit-learn's PCA of stacked weight trajectories.

Run once, in a scratch environment that has scikit-learn (never a dependency of this project)::

    /path/to/venv-with-sklearn/bin/python scripts/make_pca_fixtures.py

For each case, the weights visited by full-batch training runs of a small MLP (this project's own
training loop, :func:`landscape_gui.core.directions.train_trajectory`) are stacked into one matrix
``X`` (the union of the runs), and ``sklearn.decomposition.PCA(n_components=2, svd_solver="full")``
is fitted to it. The file records ``X`` and sklearn's ``mean_``, ``components_``,
``explained_variance_`` and ``explained_variance_ratio_`` per case, so the test compares
:func:`landscape_gui.core.directions.pca_plane` with sklearn on exactly the same numbers.
scikit-learn's sign convention (``svd_flip(..., u_based_decision=False)``: each component's
largest-magnitude entry positive) is the one ``pca_plane`` documents.
"""

from __future__ import annotations

import numpy as np
from fixture_common import require, use_project, write_npz

sklearn = require("sklearn", "the reference PCA", package="scikit-learn")
use_project()
from sklearn.decomposition import PCA  # noqa: E402  (after the checks)

from landscape_gui.core.directions import train_trajectory  # noqa: E402
from landscape_gui.core.nn.slices import build_surface  # noqa: E402

CASES = {
    # name: (spec of the network and data, [(optimizer, lr, init seed), ...], steps)
    "moons_adam_sgd": ("nn:dataset=moons;n=60;hidden=4,4;centre=initial", [("adam", 0.05, 0), ("sgd", 0.5, 0)], 80),
    "blobs_three": ("nn:dataset=blobs;n=60;hidden=6;centre=initial",
                    [("momentum", 0.1, 0), ("rmsprop", 0.01, 1), ("adam", 0.02, 2)], 60),
    "sine_one": ("nn:dataset=sine;n=40;hidden=5;centre=initial", [("sgd", 0.2, 0)], 50),
}


def main() -> None:
    out: dict[str, np.ndarray] = {"sklearn_version": np.array(sklearn.__version__)}
    for name, (spec, runs, steps) in CASES.items():
        s = build_surface(spec)
        trajs = [train_trajectory(s.net, s.net.glorot_init(np.random.default_rng(seed)), s.dataset.X, s.targets,
                                  s.loss, opt, lr, steps) for opt, lr, seed in runs]
        X = np.vstack(trajs)
        pca = PCA(n_components=2, svd_solver="full").fit(X)
        out[f"{name}/X"] = X
        out[f"{name}/mean"] = pca.mean_
        out[f"{name}/components"] = pca.components_
        out[f"{name}/explained_variance"] = pca.explained_variance_
        out[f"{name}/explained_variance_ratio"] = pca.explained_variance_ratio_
    target = write_npz("pca_sklearn.npz", out)
    print(f"wrote {target} ({len(CASES)} cases, scikit-learn {sklearn.__version__})")


if __name__ == "__main__":
    main()
