"""How long the window's instruments take from the intent to the result (the window's model, no window).

Run as ``python benchmarks/bench_instruments.py`` from the project root. Prints medians; each figure
has its baseline measured in the same run:

* the edge-of-stability overlay when only the learning rate moves (re-thresholding the cached λ_max)
  against computing the overlay afresh;
* choosing the PCA plane of the runs on screen (PCA, plane file, surface, every run re-projected)
  against building the network surface alone;
* sharpness along a selected full-weight-space run, profile and minimum-energy path.

It writes plane files to a temporary folder and never touches the user's settings.
"""

from __future__ import annotations

import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from timing import median_time  # noqa: E402


def main() -> None:
    from PySide6.QtCore import QCoreApplication

    app = QCoreApplication.instance() or QCoreApplication([])  # noqa: F841  (QObjects need an application)
    from landscape_gui.core.nn.slices import nn_surface_from_spec
    from landscape_gui.qt.model.controller import Controller
    from landscape_gui.qt.model.minima import MinimaModel
    from landscape_gui.qt.model.networks import NetworkModel
    from landscape_gui.qt.model.research import ResearchModel

    ctl = Controller()
    ctl.force_sync = True
    minima, nets = MinimaModel(ctl), NetworkModel(ctl)
    m = ResearchModel(ctl, nets, minima)
    m.plane_dir = tempfile.mkdtemp(prefix="bench-planes-")

    # edge of stability on himmelblau, 128 x 128
    ctl.set_optimizer("sgd")

    def eos_fresh() -> None:
        m.set_eos_visible(False)
        m._eos_lam = None
        m.set_eos_visible(True)

    lrs = iter([0.01, 0.02] * 1000)
    fresh = median_time(eos_fresh, 5)
    moved = median_time(lambda: ctl.set_hyperparameters("sgd", {"lr": next(lrs)}), 9)
    print(f"edge of stability 128x128 on himmelblau: computed {fresh * 1e3:.1f} ms, after an lr change "
          f"{moved * 1e3:.2f} ms ({fresh / moved:.0f}x faster)")
    m.set_eos_visible(False)

    # a network: 10 full-space runs of 100 steps, then the PCA plane of the runs so far
    spec = "nn:dataset=moons;n=200;hidden=16,16;steps=100"
    built = median_time(lambda: nn_surface_from_spec(spec), 3)
    base = nn_surface_from_spec(spec)
    ctl.set_surface_object(base)
    nets.set_full_space(True)
    ctl.set_optimizer("adam")
    ctl.set_max_steps(100)
    import numpy as np

    ctl.start_many(np.random.default_rng(0).uniform(-0.8, 0.8, (10, 2)))

    from PySide6.QtCore import QEventLoop

    def settle() -> None:  # let the background grid of the surface finish (not part of the figure)
        while ctl.jobs.busy:
            ctl.jobs.wait(60000)
            QCoreApplication.processEvents(QEventLoop.AllEvents)

    def pca() -> None:
        """Intent to the plane shown with every run re-projected (the map's grid then samples in the
        background, as in the window)."""
        loop = QEventLoop()
        m.planeChanged.connect(loop.quit)
        m.choose_plane("pca")
        loop.exec()
        m.planeChanged.disconnect(loop.quit)

    ctl.force_sync = False
    times = []
    for _ in range(3):
        times.append(median_time(pca, 1))
        settle()
        ctl.undo_stack.undo()
        settle()
    ctl.force_sync = True
    t_pca = sorted(times)[1]
    print(f"PCA plane of 10 full-space runs x 101 steps ({base.n_params} weights), runs re-projected: "
          f"{t_pca * 1e3:.0f} ms (building the surface alone, trained centre cached: {built * 1e3:.1f} ms)")

    ctl.set_optimizer("sgd")
    fresh = median_time(eos_fresh, 1)
    moved = median_time(lambda: ctl.set_hyperparameters("sgd", {"lr": next(lrs)}), 5)
    print(f"edge of stability 64x64 on the {base.n_params}-weight network: computed {fresh:.2f} s, after an lr "
          f"change {moved * 1e3:.2f} ms ({fresh / moved:.0f}x faster)")
    m.set_eos_visible(False)

    run = ctl.runs[0]
    m.set_sharpness_enabled(True)

    def sharp() -> None:
        m._sharpness_cache.clear()
        m.sharpness = None
        ctl.select([])
        ctl.select([run.id])

    print(f"sharpness and preconditioned sharpness along one Adam run (101 steps, Lanczos): "
          f"{median_time(sharp, 3):.2f} s")
    t_prof = median_time(lambda: m.profile_between("end:1", "end:2"), 5)
    print(f"profile between two trained networks in full weight space (201 points): {t_prof * 1e3:.0f} ms")

    ctl.set_surface("muller_brown")
    ctl.set_optimizer("sgd")
    ctl.set_hyperparameters("sgd", {"lr": 1e-4})
    ctl.set_max_steps(3000)
    ctl.start_many([(-0.55, 1.44), (0.62, 0.03)])
    ids = [c.id for c in minima.points()]
    t_neb = median_time(lambda: m.path_between(f"min:{ids[0]}", f"min:{ids[1]}"), 3)
    print(f"minimum-energy path across Muller-Brown (21 images, both saddles refined): {t_neb * 1e3:.0f} ms")


if __name__ == "__main__":
    main()
