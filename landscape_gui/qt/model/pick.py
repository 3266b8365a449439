"""Pure geometry of the 3-D view: the display box, the camera matrices and picking (no Qt, no OpenGL).

The 3-D view draws everything in *display coordinates*: the plotted domain ``[xmin, xmax] x
[ymin, ymax]`` is mapped onto the square ``[-1, 1] x [-1, 1]`` and the height (the loss, or its
logarithm) onto ``[0, H]``. :class:`DisplayBox` is that map and its inverse.

``GLViewWidget`` has no picking, so a click is mapped to the data the classic way (the ``gluUnProject``
construction, see the OpenGL Programming Guide, "Reversing or Mimicking Transformations"): the pixel
is turned into normalised device coordinates, the points on the near and far clip planes are taken back
through the inverse of ``projection @ view``, and the resulting ray is intersected with the height field
``Z(X, Y)`` (bilinear between grid nodes) by marching along the ray to the first sign change of
``ray_z - Z`` and refining that bracket by bisection.

The camera matrices are rebuilt here with exactly pyqtgraph's formulas (``GLViewWidget.viewMatrix`` and
``projectionMatrix``: a ``glFrustum`` perspective with near = distance/1000, far = distance*1000), so the
round trip can be tested without a GPU; the live view passes its own matrices instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

Bounds = tuple[float, float, float, float]

HALF = 1.0
"""The domain maps onto ``[-HALF, HALF]`` on both display axes."""
HEIGHT = 0.9
"""The height range maps onto ``[0, HEIGHT]``."""


@dataclass(frozen=True)
class DisplayBox:
    """Affine map of ``(x, y)`` and a (possibly logarithmic) map of the loss into display coordinates.

    Height: ``t(z) = z`` or, with ``log``, ``t(z) = log10(max(z - zmin, 0) + eps)`` with
    ``eps = (zmax - zmin) * 1e-3`` (so a range spanning decades keeps its valleys visible and zero is
    finite); then ``Z = HEIGHT * (t(z) - tlo) / (thi - tlo)``.
    """

    bounds: Bounds
    zmin: float
    zmax: float
    log: bool = False

    @classmethod
    def from_grid(cls, bounds: Bounds, z: np.ndarray, log: bool = False) -> "DisplayBox":
        """The box for a sampled grid; an all-NaN or flat grid gets a unit height range."""
        finite = z[np.isfinite(z)]
        if finite.size == 0:
            return cls(tuple(map(float, bounds)), 0.0, 1.0, log)  # type: ignore[arg-type]
        lo, hi = float(finite.min()), float(finite.max())
        if not hi > lo:
            hi = lo + 1.0
        return cls(tuple(map(float, bounds)), lo, hi, log)  # type: ignore[arg-type]

    @property
    def eps(self) -> float:
        return (self.zmax - self.zmin) * 1e-3

    def _t(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, dtype=float)
        if self.log:
            with np.errstate(all="ignore"):
                return np.log10(np.maximum(z - self.zmin, 0.0) + self.eps)
        return z

    @property
    def t_range(self) -> tuple[float, float]:
        lo, hi = self._t(np.array([self.zmin, self.zmax]))
        return float(lo), float(hi)

    def height(self, z: np.ndarray) -> np.ndarray:
        """Display height of loss values (NaN stays NaN)."""
        lo, hi = self.t_range
        return HEIGHT * (self._t(z) - lo) / (hi - lo)

    def loss_at_height(self, h: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`height` (for axis tick labels)."""
        lo, hi = self.t_range
        t = lo + np.asarray(h, dtype=float) / HEIGHT * (hi - lo)
        if self.log:
            return self.zmin + 10.0**t - self.eps
        return t

    def xy(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Display X, Y of data x, y."""
        xmin, xmax, ymin, ymax = self.bounds
        X = (np.asarray(x, dtype=float) - 0.5 * (xmin + xmax)) * (2 * HALF / (xmax - xmin))
        Y = (np.asarray(y, dtype=float) - 0.5 * (ymin + ymax)) * (2 * HALF / (ymax - ymin))
        return X, Y

    def data_xy(self, X: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Data x, y of display X, Y (inverse of :meth:`xy`)."""
        xmin, xmax, ymin, ymax = self.bounds
        x = 0.5 * (xmin + xmax) + np.asarray(X, dtype=float) * ((xmax - xmin) / (2 * HALF))
        y = 0.5 * (ymin + ymax) + np.asarray(Y, dtype=float) * ((ymax - ymin) / (2 * HALF))
        return x, y

    def points(self, xy: np.ndarray, z: np.ndarray, lift: float = 0.0) -> np.ndarray:
        """``(n, 3)`` display points of data points ``xy (n, 2)`` with losses ``z (n,)``, heights
        clamped to the box (a diverging run must not blow the scene up) and lifted by ``lift``."""
        X, Y = self.xy(xy[:, 0], xy[:, 1])
        h = self.height(z)
        h = np.where(np.isfinite(h), h, HEIGHT)
        out = np.empty((len(xy), 3), dtype=np.float32)
        out[:, 0] = np.clip(X, -3 * HALF, 3 * HALF)
        out[:, 1] = np.clip(Y, -3 * HALF, 3 * HALF)
        out[:, 2] = np.clip(h, 0.0, 1.05 * HEIGHT) + lift
        return out


# --------------------------------------------------------------------------------------------------
# Camera matrices (column-vector convention: clip = P @ V @ [X, Y, Z, 1])


def rotation(angle_deg: float, axis: tuple[float, float, float]) -> np.ndarray:
    """4x4 right-handed rotation by ``angle_deg`` about ``axis`` (as ``QMatrix4x4.rotate``)."""
    a = math.radians(angle_deg)
    x, y, z = np.asarray(axis, dtype=float) / np.linalg.norm(axis)
    c, s, C = math.cos(a), math.sin(a), 1 - math.cos(a)
    m = np.eye(4)
    m[:3, :3] = [
        [x * x * C + c, x * y * C - z * s, x * z * C + y * s],
        [y * x * C + z * s, y * y * C + c, y * z * C - x * s],
        [z * x * C - y * s, z * y * C + x * s, z * z * C + c],
    ]
    return m


def translation(dx: float, dy: float, dz: float) -> np.ndarray:
    m = np.eye(4)
    m[:3, 3] = (dx, dy, dz)
    return m


def view_matrix(distance: float, elevation: float, azimuth: float, center=(0.0, 0.0, 0.0)) -> np.ndarray:
    """pyqtgraph's orbit camera (``GLViewWidget.viewMatrix``, euler mode)."""
    return (
        translation(0.0, 0.0, -distance)
        @ rotation(elevation - 90.0, (1, 0, 0))
        @ rotation(azimuth + 90.0, (0, 0, -1))
        @ translation(-center[0], -center[1], -center[2])
    )


def projection_matrix(distance: float, fov: float, width: float, height: float) -> np.ndarray:
    """pyqtgraph's perspective (``GLViewWidget.projectionMatrix`` for the full viewport): a
    ``glFrustum`` with near = distance/1000, far = distance*1000 and horizontal field of view ``fov``."""
    n, f = distance * 0.001, distance * 1000.0
    r = n * math.tan(0.5 * math.radians(fov))
    t = r * height / width
    m = np.zeros((4, 4))
    m[0, 0] = n / r
    m[1, 1] = n / t
    m[2, 2] = -(f + n) / (f - n)
    m[2, 3] = -2 * f * n / (f - n)
    m[3, 2] = -1.0
    return m


def ndc(px: float, py: float, width: float, height: float) -> tuple[float, float]:
    """Normalised device coordinates of a widget pixel (origin top-left, y down)."""
    return 2.0 * px / width - 1.0, 1.0 - 2.0 * py / height


def project(mvp: np.ndarray, points: np.ndarray, width: float, height: float) -> np.ndarray:
    """Widget pixel coordinates ``(n, 2)`` of display points ``(n, 3)``."""
    pts = np.asarray(points, dtype=float).reshape(-1, 3)
    clip = np.column_stack([pts, np.ones(len(pts))]) @ np.asarray(mvp, dtype=float).T
    with np.errstate(all="ignore"):
        nd = clip[:, :2] / clip[:, 3:4]
    return np.column_stack([(nd[:, 0] + 1.0) * 0.5 * width, (1.0 - nd[:, 1]) * 0.5 * height])


def unproject(mvp: np.ndarray, px: float, py: float, width: float, height: float) -> tuple[np.ndarray, np.ndarray]:
    """The ray through a pixel: ``(origin on the near plane, unit direction)`` in display coordinates."""
    nx, ny = ndc(px, py, width, height)
    inv = np.linalg.inv(np.asarray(mvp, dtype=float))
    near = inv @ np.array([nx, ny, -1.0, 1.0])
    far = inv @ np.array([nx, ny, 1.0, 1.0])
    near = near[:3] / near[3]
    far = far[:3] / far[3]
    d = far - near
    return near, d / np.linalg.norm(d)


def _bilinear(gx: np.ndarray, gy: np.ndarray, H: np.ndarray, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Height field ``H[i, j]`` at nodes ``(gx[i], gy[j])`` (ascending), bilinear inside, NaN outside."""
    X = np.asarray(X, dtype=float)
    Y = np.asarray(Y, dtype=float)
    i = np.clip(np.searchsorted(gx, X) - 1, 0, len(gx) - 2)
    j = np.clip(np.searchsorted(gy, Y) - 1, 0, len(gy) - 2)
    u = (X - gx[i]) / (gx[i + 1] - gx[i])
    v = (Y - gy[j]) / (gy[j + 1] - gy[j])
    h = (
        H[i, j] * (1 - u) * (1 - v)
        + H[i + 1, j] * u * (1 - v)
        + H[i, j + 1] * (1 - u) * v
        + H[i + 1, j + 1] * u * v
    )
    inside = (X >= gx[0]) & (X <= gx[-1]) & (Y >= gy[0]) & (Y <= gy[-1])
    return np.where(inside, h, np.nan)


def intersect_heightfield(
    origin: np.ndarray, direction: np.ndarray, gx: np.ndarray, gy: np.ndarray, H: np.ndarray, samples: int | None = None
) -> np.ndarray | None:
    """First point where the ray ``origin + s * direction`` (s >= 0) meets the height field, or None.

    The ray is clipped to the box around the field (slab method), sampled densely (four samples per
    grid cell along the longer axis), the first sign change of ``ray_z - H`` between two finite samples
    is bracketed and refined by 40 bisection steps. NaN cells are holes the ray passes through.
    """
    o = np.asarray(origin, dtype=float)
    d = np.asarray(direction, dtype=float)
    finite = H[np.isfinite(H)]
    if finite.size == 0:
        return None
    lo = np.array([gx[0], gy[0], float(finite.min())])
    hi = np.array([gx[-1], gy[-1], float(finite.max())])
    pad = 1e-9 + 1e-6 * (hi - lo)
    lo, hi = lo - pad, hi + pad
    with np.errstate(divide="ignore", invalid="ignore"):
        t1 = (lo - o) / d
        t2 = (hi - o) / d
    tmin = np.where(d == 0, np.where((o >= lo) & (o <= hi), -np.inf, np.inf), np.minimum(t1, t2))
    tmax = np.where(d == 0, np.where((o >= lo) & (o <= hi), np.inf, -np.inf), np.maximum(t1, t2))
    s0, s1 = max(float(tmin.max()), 0.0), float(tmax.min())
    if not s1 > s0:
        return None
    n = samples or 4 * max(len(gx), len(gy)) + 2
    s = np.linspace(s0, s1, n)
    P = o + s[:, None] * d
    diff = P[:, 2] - _bilinear(gx, gy, H, P[:, 0], P[:, 1])
    ok = np.isfinite(diff[:-1]) & np.isfinite(diff[1:])
    change = ok & (np.sign(diff[:-1]) != np.sign(diff[1:]))
    hits = np.flatnonzero(change)
    if hits.size == 0:
        return None
    k = int(hits[0])
    a, b = s[k], s[k + 1]
    fa = diff[k]
    for _ in range(40):
        m = 0.5 * (a + b)
        pm = o + m * d
        fm = float(pm[2] - _bilinear(gx, gy, H, pm[:1], pm[1:2])[0])
        if not np.isfinite(fm):
            break
        if np.sign(fm) == np.sign(fa):
            a, fa = m, fm
        else:
            b = m
    return o + 0.5 * (a + b) * d


def pick(
    mvp: np.ndarray,
    px: float,
    py: float,
    width: float,
    height: float,
    box: DisplayBox,
    xs: np.ndarray,
    ys: np.ndarray,
    H: np.ndarray,
) -> tuple[float, float] | None:
    """Data ``(x, y)`` under the pixel ``(px, py)`` on the drawn height field ``H`` (display heights
    at the grid ``xs, ys``), or None when the ray misses the surface."""
    origin, direction = unproject(mvp, px, py, width, height)
    gx, gy = box.xy(xs, np.zeros_like(xs))[0], box.xy(np.zeros_like(ys), ys)[1]
    hit = intersect_heightfield(origin, direction, gx, gy, H)
    if hit is None:
        return None
    x, y = box.data_xy(hit[0], hit[1])
    return float(x), float(y)
