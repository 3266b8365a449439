"""Small datasets for neural-network landscapes: built-in generators (deterministic from a seed)
and a user's CSV file.

Built-in sets (``make_dataset(name, n, noise, seed)``):

* ``moons``: two interleaving half circles (as scikit-learn's ``make_moons``), centred; binary.
* ``circles``: a circle inside a circle of half the radius (``make_circles``, factor 0.5); binary.
* ``xor``: points uniform in [−1, 1]², label 1 where the signs of the two features differ; binary.
* ``blobs``: three Gaussian blobs at 120° from each other on a circle of radius 2; three classes.
* ``sine``: ``y = sin(t) + noise``, ``t`` uniform in [−3, 3]; regression, one feature.
* ``line``: ``y = 0.8 t + 1 + noise``, ``t`` uniform in [0, 3]; regression, one feature, positive
  targets (so the logarithmic and percentage errors are meaningful).

Gaussian noise of standard deviation ``noise`` is added to the features of classification sets and
to the target of regression sets. The same ``(name, n, noise, seed)`` always gives the same data.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass

import numpy as np

from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.fileio import parse_number

TASKS = ("binary", "multiclass", "regression")


@dataclass(frozen=True, eq=False)
class Dataset:
    """Features and targets.

    Attributes:
        name: ``moons``, ... or the CSV file name.
        X: ``(N, d)`` float features.
        y: ``(N,)`` targets: class labels ``0..C−1`` (as floats) or real values.
        task: ``"binary"``, ``"multiclass"`` or ``"regression"``.
        feature_names: one per column of ``X``.
        target_name: the name of the target.
    """

    name: str
    X: np.ndarray
    y: np.ndarray
    task: str
    feature_names: tuple[str, ...]
    target_name: str = "y"

    @property
    def n_samples(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.X.shape[1])

    @property
    def n_classes(self) -> int:
        """Number of classes (0 for regression)."""
        if self.task == "regression":
            return 0
        return int(self.y.max()) + 1 if len(self.y) else 0

    @property
    def is_classification(self) -> bool:
        return self.task != "regression"


BUILTIN_DATASETS: dict[str, str] = {
    "moons": "two interleaving half circles (binary)",
    "circles": "a circle inside a circle (binary)",
    "xor": "four quadrants, opposite quadrants share a class (binary)",
    "blobs": "three Gaussian blobs (three classes)",
    "sine": "noisy sine wave (regression)",
    "line": "noisy straight line with positive targets (regression)",
}
"""Built-in dataset names and a one-line description."""

DEFAULT_NOISE = {"moons": 0.1, "circles": 0.05, "xor": 0.0, "blobs": 0.8, "sine": 0.1, "line": 0.1}


def make_dataset(name: str, n: int = 200, noise: float | None = None, seed: int = 0) -> Dataset:
    """Generate the built-in dataset ``name`` with ``n`` samples (see the module docstring)."""
    if name not in BUILTIN_DATASETS:
        raise LandscapeError(f"unknown dataset {name!r}; choose one of: {', '.join(BUILTIN_DATASETS)} or csv")
    if isinstance(n, bool) or int(n) != n or n < 4:
        raise LandscapeError(f"number of samples must be a whole number >= 4, got {n!r}")
    n = int(n)
    noise = DEFAULT_NOISE[name] if noise is None else float(noise)
    if not (np.isfinite(noise) and noise >= 0):
        raise LandscapeError(f"noise must be a number >= 0, got {noise!r}")
    rng = np.random.default_rng(seed)
    if name == "moons":
        n_out = n // 2
        n_in = n - n_out
        a = np.linspace(0.0, np.pi, n_out)
        b = np.linspace(0.0, np.pi, n_in)
        X = np.vstack([np.column_stack([np.cos(a), np.sin(a)]),
                       np.column_stack([1.0 - np.cos(b), 0.5 - np.sin(b)])])
        X = X - np.array([0.5, 0.25]) + rng.normal(0.0, noise, X.shape)
        y = np.r_[np.zeros(n_out), np.ones(n_in)]
        return _shuffled(name, X, y, "binary", ("x1", "x2"), rng)
    if name == "circles":
        n_out = n // 2
        n_in = n - n_out
        a = np.linspace(0.0, 2.0 * np.pi, n_out, endpoint=False)
        b = np.linspace(0.0, 2.0 * np.pi, n_in, endpoint=False)
        X = np.vstack([np.column_stack([np.cos(a), np.sin(a)]), 0.5 * np.column_stack([np.cos(b), np.sin(b)])])
        X = X + rng.normal(0.0, noise, X.shape)
        y = np.r_[np.zeros(n_out), np.ones(n_in)]
        return _shuffled(name, X, y, "binary", ("x1", "x2"), rng)
    if name == "xor":
        X = rng.uniform(-1.0, 1.0, (n, 2))
        y = (X[:, 0] * X[:, 1] < 0).astype(float)
        X = X + rng.normal(0.0, noise, X.shape)
        return Dataset(name, X, y, "binary", ("x1", "x2"))
    if name == "blobs":
        y = np.arange(n) % 3
        angles = np.pi / 2 + 2.0 * np.pi * np.arange(3) / 3
        centres = 2.0 * np.column_stack([np.cos(angles), np.sin(angles)])
        X = centres[y] + rng.normal(0.0, noise, (n, 2))
        return Dataset(name, X, y.astype(float), "multiclass", ("x1", "x2"))
    if name == "sine":
        t = np.sort(rng.uniform(-3.0, 3.0, n))
        y = np.sin(t) + rng.normal(0.0, noise, n)
        return Dataset(name, t[:, None], y, "regression", ("t",))
    t = np.sort(rng.uniform(0.0, 3.0, n))
    y = 0.8 * t + 1.0 + rng.normal(0.0, noise, n)
    return Dataset(name, t[:, None], y, "regression", ("t",))


def _shuffled(name: str, X: np.ndarray, y: np.ndarray, task: str, features: tuple[str, ...],
              rng: np.random.Generator) -> Dataset:
    order = rng.permutation(len(y))
    return Dataset(name, X[order], y[order], task, features)


MAX_CLASSES = 10
"""A target column of whole numbers with at most this many distinct values is a class label."""

MAX_BYTES = 256 * 1024 * 1024
"""Largest dataset file read (a landscape is computed over every row at every point)."""


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def load_csv(path: str | os.PathLike[str], target: str | None = None, task: str | None = None) -> Dataset:
    """Read a user's dataset: numeric columns, one of them the target.

    The first row is a header when any of its fields is not a number. ``target`` names the target
    column (header name, or its 1-based number); the last column by default. ``task`` forces
    ``binary``/``multiclass``/``regression``; by default a target of whole numbers with at most
    :data:`MAX_CLASSES` distinct values is a classification (labels renumbered ``0..C−1`` in sorted
    order), anything else a regression. Blank lines are skipped and a UTF-8 byte-order mark is
    accepted; numbers are plain decimals of at most 100 characters (no ``nan``/``inf``). Every problem raises
    :class:`LandscapeError` naming the file, line and column.
    """
    path = os.fspath(path)
    label = os.path.basename(path)
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise LandscapeError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise LandscapeError(f"{path}: is a folder, not a CSV file") from None
    except OSError as exc:
        raise LandscapeError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    if len(raw) > MAX_BYTES:
        raise LandscapeError(f"{label}: larger than {MAX_BYTES // 2**20} MB; too large for a dataset")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise LandscapeError(f"{label}: line {line}: not UTF-8 text") from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[tuple[int, list[str]]] = []
    try:
        for row in reader:
            if any(f.strip() for f in row):
                rows.append((reader.line_num, row))
    except csv.Error as exc:
        raise LandscapeError(f"{label}: line {reader.line_num}: malformed CSV ({exc})") from None
    if not rows:
        raise LandscapeError(f"{label}: the file is empty")

    def is_number(text: str) -> bool:
        try:
            parse_number(text)
            return True
        except ValueError:
            return False

    first_line, first = rows[0]
    has_header = not all(is_number(f) for f in first)
    width = len(first)
    if has_header:
        names = [f.strip() or f"column {j + 1}" for j, f in enumerate(first)]
        data_rows = rows[1:]
    else:
        names = [f"column {j + 1}" for j in range(width)]
        data_rows = rows
    if width < 2:
        raise LandscapeError(f"{label}: line {first_line} has {width} column; need at least one feature and a target")
    if not data_rows:
        raise LandscapeError(f"{label}: no data rows after the header on line {first_line}")
    values = np.empty((len(data_rows), width))
    for r, (line, row) in enumerate(data_rows):
        if len(row) != width:
            raise LandscapeError(f"{label}: line {line} has {len(row)} fields, expected {width} like line {first_line}")
        for j, field in enumerate(row):
            try:
                v = parse_number(field)
            except ValueError as exc:
                why = str(exc)
                if why.startswith("expected a number"):
                    why = f"{_short(field.strip())!r} is not a number"
                raise LandscapeError(f"{label}: line {line}, column {j + 1} ({_short(names[j])}): {why}") from None
            values[r, j] = v

    if target is None or str(target).strip() == "":
        col = width - 1
    else:
        key = str(target).strip()
        if key in names:
            col = names.index(key)
        elif key.isdigit() and 1 <= int(key) <= width:
            col = int(key) - 1
        else:
            raise LandscapeError(f"{label}: no target column {key!r}; columns are: {', '.join(names)}")
    X = np.delete(values, col, axis=1)
    raw = values[:, col]
    features = tuple(n for j, n in enumerate(names) if j != col)

    integral = np.all(raw == np.round(raw))
    distinct = np.unique(raw)
    if task is None:
        task = "regression"
        if integral and len(distinct) <= MAX_CLASSES:
            task = "binary" if len(distinct) <= 2 else "multiclass"
    if task not in TASKS:
        raise LandscapeError(f"task must be one of {', '.join(TASKS)}, got {task!r}")
    if task == "regression":
        y = raw.copy()
    else:
        if not integral:
            raise LandscapeError(f"{label}: target column {names[col]!r} must hold whole-number class labels")
        y = np.searchsorted(distinct, raw).astype(float)
        if task == "binary" and len(distinct) > 2:
            raise LandscapeError(f"{label}: target column {names[col]!r} has {len(distinct)} classes, binary needs 2")
        if task == "multiclass" and len(distinct) < 2:
            raise LandscapeError(f"{label}: target column {names[col]!r} has a single class")
    return Dataset(label, X, y, task, features, names[col])


__all__ = ["BUILTIN_DATASETS", "DEFAULT_NOISE", "Dataset", "MAX_CLASSES", "TASKS", "load_csv", "make_dataset"]
