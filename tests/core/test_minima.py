"""Critical points: refinement, classification, stable ids, labelling runs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from landscape_gui.core import engine
from landscape_gui.core.minima import (
    DEGENERATE,
    MAXIMUM,
    MERGE_TOL,
    MINIMUM,
    SADDLE,
    MinimaTable,
    find_critical_points,
    label_runs,
)
from landscape_gui.core.surfaces import Surface, get_surface, surface_names

HIMMELBLAU_MINIMA = np.array(
    [[3.0, 2.0], [-2.805118086952745, 3.131312518250573], [-3.779310253377747, -3.283185991286170],
     [3.584428340330492, -1.848126526964404]]
)


class Quadratic(Surface):
    """f = a x² + c y² (+ x⁴ when quartic): kinds by sign of a and c."""

    name = "quadratic"
    bounds = (-1.0, 1.0, -1.0, 1.0)

    def __init__(self, a: float, c: float, quartic: bool = False) -> None:
        self.a, self.c, self.quartic = a, c, quartic

    def value(self, p):
        x, y = p[:, 0], p[:, 1]
        return self.a * x * x + self.c * y * y + (x**4 if self.quartic else 0.0)

    def grad(self, p):
        x, y = p[:, 0], p[:, 1]
        return np.column_stack([2 * self.a * x + (4 * x**3 if self.quartic else 0.0), 2 * self.c * y])

    def hessian(self, p):
        x = p[:, 0]
        h = np.zeros((len(p), 2, 2))
        h[:, 0, 0] = 2 * self.a + (12 * x * x if self.quartic else 0.0)
        h[:, 1, 1] = 2 * self.c
        return h


def _diag(bounds) -> float:
    return math.hypot(bounds[1] - bounds[0], bounds[3] - bounds[2])


def test_himmelblau_end_points_refine_to_the_four_exact_minima_all_global():
    rng = np.random.default_rng(0)
    # End points as a converged run leaves them: within ~1e-7 of a minimum, 20 per minimum.
    pts = np.repeat(HIMMELBLAU_MINIMA, 20, axis=0) + rng.normal(scale=1e-7, size=(80, 2))
    found = find_critical_points(get_surface("himmelblau"), pts)
    assert len(found) == 4
    for c in found:
        assert c.kind == MINIMUM and c.is_global
        assert np.min(np.hypot(*(HIMMELBLAU_MINIMA - [c.x, c.y]).T)) < 1e-10
        assert abs(c.loss) < 1e-20
        assert c.eigenvalues[0] > 0
    assert [c.id for c in found] == [1, 2, 3, 4]


@pytest.mark.parametrize("name", [n for n in surface_names() if get_surface(n).minima])
def test_every_published_minimum_is_found_and_classified_as_a_minimum(name):
    surface = get_surface(name)
    diag = _diag(surface.bounds)
    known = np.array([[m.x, m.y] for m in surface.minima])
    # Candidates 1e-4 diagonals off in four directions, as runs stopping short would leave them.
    offsets = 1e-4 * diag * np.array([[1, 0], [0, 1], [-1, -1], [0.7, -0.3]])
    cands = (known[:, None, :] + offsets[None, :, :]).reshape(-1, 2)
    table = MinimaTable(surface, surface.bounds)
    ids = table.add(cands).reshape(len(known), len(offsets))
    lowest = min(m.value for m in surface.minima)
    for k, m in enumerate(surface.minima):
        assert len(set(ids[k].tolist())) == 1, f"{name}: copies of {m} were not merged"
        c = table.get(int(ids[k, 0]))
        assert c.kind == MINIMUM, f"{name}: {m} classified {c.kind}"
        assert math.hypot(c.x - m.x, c.y - m.y) <= 1e-6 * diag
        assert c.loss == pytest.approx(m.value, rel=1e-6, abs=1e-9)
        if m.value <= lowest + 1e-9 * max(1.0, abs(lowest)):
            assert c.is_global


@pytest.mark.parametrize("name", ["peaks", "saddle"])
def test_peaks_and_saddle_yield_saddles_classified_as_saddles(name):
    surface = get_surface(name)
    xmin, xmax, ymin, ymax = surface.bounds
    gx, gy = np.meshgrid(np.linspace(xmin, xmax, 61), np.linspace(ymin, ymax, 61), indexing="ij")
    found = find_critical_points(surface, np.column_stack([gx.ravel(), gy.ravel()]))
    saddles = [c for c in found if c.kind == SADDLE]
    assert saddles, f"{name}: no saddle found among {[(c.x, c.y, c.kind) for c in found]}"
    for c in saddles:
        # Independent check: numpy's symmetric eigensolver and the gradient.
        eig = np.linalg.eigvalsh(surface.hessian(np.array([[c.x, c.y]]))[0])
        assert eig[0] < 0 < eig[1]
        assert np.hypot(*surface.grad(np.array([[c.x, c.y]]))[0]) < 1e-8


@pytest.mark.parametrize(
    "a, c, quartic, kind",
    [(1.0, 2.0, False, MINIMUM), (-1.0, -3.0, False, MAXIMUM), (1.0, -1.0, False, SADDLE), (0.0, 1.0, True, DEGENERATE)],
)
def test_hessian_eigenvalues_decide_the_kind(a, c, quartic, kind):
    found = find_critical_points(Quadratic(a, c, quartic), [[1e-4, -2e-4]])
    assert len(found) == 1
    assert found[0].kind == kind
    if kind != DEGENERATE:  # Newton converges in one step on a quadratic
        assert abs(found[0].x) < 1e-12 and abs(found[0].y) < 1e-12
    assert found[0].is_global == (kind == MINIMUM)


def test_candidates_that_refine_to_no_critical_point_get_no_id():
    table = MinimaTable(get_surface("himmelblau"))
    ids = table.add([[0.0, 4.5], [np.nan, 1.0]])  # steep slope far from any critical point; NaN
    assert ids.tolist() == [-1, -1]
    assert len(table) == 0


def test_ids_stay_stable_as_runs_reveal_new_points_one_at_a_time():
    surface = get_surface("himmelblau")
    table = MinimaTable(surface)
    first = table.add([HIMMELBLAU_MINIMA[2] + 1e-7])
    assert first.tolist() == [1]
    second = table.add([HIMMELBLAU_MINIMA[0] - 1e-7, HIMMELBLAU_MINIMA[2] - 2e-7])
    assert second.tolist() == [2, 1]
    third = table.add(HIMMELBLAU_MINIMA + 3e-8)
    # New points of one batch are numbered by (loss, x, y): equal losses, so by x.
    assert third.tolist() == [2, 3, 1, 4]
    assert sorted(c.id for c in table.points) == [1, 2, 3, 4]
    # A fresh table numbers a batch by (loss, x, y): deterministic whatever the input order.
    again = MinimaTable(surface)
    a = again.add(HIMMELBLAU_MINIMA[::-1] + 1e-8)
    b = MinimaTable(surface).add(HIMMELBLAU_MINIMA + 1e-8)
    assert a.tolist() == b.tolist()[::-1]


def test_points_closer_than_the_merge_tolerance_are_one_point():
    table = MinimaTable(Quadratic(1.0, 1.0))
    tol = MERGE_TOL * _diag(table.bounds)
    assert table.merge_tol == pytest.approx(tol)
    ids = table.add([[0.0, 0.0], [0.3 * tol, 0.0], [1e-9, -1e-9]])
    assert len(set(ids.tolist())) == 1 and len(table) == 1


def test_label_runs_gives_each_run_its_minimum_and_counts():
    surface = get_surface("himmelblau")
    starts = np.vstack([HIMMELBLAU_MINIMA + 0.3, HIMMELBLAU_MINIMA[:1] - 0.2])
    runs = engine.run_many(surface, "sgd", starts, {"lr": 0.005}, max_steps=2000, tol=1e-6)
    diverging = engine.run_many(surface, "sgd", [[4.0, 4.0]], {"lr": 1.0}, first_id=6)
    runs += diverging
    table = MinimaTable(surface)
    counts = label_runs(runs, table, tol=1e-6)
    assert [r.status for r in runs[:5]] == ["converged"] * 5
    assert runs[5].status == "diverged" and runs[5].minimum is None
    for r in runs[:5]:
        c = table.get(r.minimum)
        assert c.kind == MINIMUM
        end = np.array(r.end)
        assert np.hypot(*(end - [c.x, c.y])) < 1e-6
    assert runs[0].minimum == runs[4].minimum
    assert len({r.minimum for r in runs[:4]}) == 4
    assert counts[runs[0].minimum] == 2
    assert sum(counts.values()) == 5
    # Labelling again keeps ids (the GUI relabels after each new run).
    before = [r.minimum for r in runs]
    label_runs(runs, table, tol=1e-6)
    assert [r.minimum for r in runs] == before


def test_max_steps_runs_count_only_when_clearly_inside_a_minimum():
    himmelblau = get_surface("himmelblau")
    # Adam at a fixed learning rate circling (3, 2) when the budget runs out: inside the bowl.
    near = engine.run_many(himmelblau, "momentum", [[3.001, 2.001]], {"lr": 0.001}, max_steps=40, tol=1e-12)
    assert near[0].status == "max_steps"
    # Creeping down Rosenbrock's valley, far from (1, 1): not settled anywhere yet.
    rosen = get_surface("rosenbrock")
    far = engine.run_many(rosen, "sgd", [[-1.5, 2.0]], {"lr": 1e-4}, max_steps=50, tol=1e-6)
    assert far[0].status == "max_steps"
    t1, t2 = MinimaTable(himmelblau), MinimaTable(rosen)
    label_runs(near, t1)
    label_runs(far, t2)
    assert near[0].minimum is not None and t1.get(near[0].minimum).x == pytest.approx(3.0, abs=1e-12)
    assert far[0].minimum is None
    assert len(t2) == 0
