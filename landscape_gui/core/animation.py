"""Frames of the map for animations, drawn with numpy alone, and their export as GIF or MP4.

:class:`MapFrames` draws what the map shows at a playback step: the landscape as a colour map with
contour lines, every run's path up to that step and a dot where each run is then. ``frame(step)``
is a pure function of the step (any order, any number of times), returning an ``(H, W, 3)``
uint8 image, row 0 at the top. The window's playback export and ``landscape-gui animate`` both use
it, so an exported frame equals the renderer's frame for its step (up to the file format's own
compression).

Drawing, all in pixel space over the bounds ``(xmin, xmax, ymin, ymax)`` (column ``c`` covers
``x ∈ [xmin + c·Δx, xmin + (c+1)·Δx)``, row ``r`` covers ``y`` from the top):

* background: the loss at every pixel centre, on a log scale for surfaces that ask for one
  (``surface.log_height``), normalised between its 1st and 99th percentiles and coloured with the
  viridis colour map (van der Walt & Smith, matplotlib 2015; perceptually uniform);
* contours: the boundaries between :data:`CONTOUR_LEVELS` equal bands of that normalised height,
  darkened (pixels whose band differs from their right or lower neighbour);
* paths: each segment sampled every half pixel and stamped with a square pen over a darkened halo;
  dots: discs with a dark rim. Colours from the same golden-angle palette as the probability maps, by run order.

:func:`export_animation` writes frames to a file (GIF through Pillow with one shared palette, MP4
streamed through imageio and imageio-ffmpeg's bundled ffmpeg, H.264), atomically (a temporary file beside the target, then
``os.replace``), with progress and cancel callbacks like the engine's.
"""

from __future__ import annotations

import math
import os
import tempfile
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from landscape_gui.core.engine import Cancelled, check_bounds
from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.runs import Run
from landscape_gui.core.stochastic import palette
from landscape_gui.core.surfaces import Bounds, Surface

CONTOUR_LEVELS = 14
MAX_SIZE = 4096
FORMATS = (".gif", ".mp4")

# viridis at 9 evenly spaced points (matplotlib's _viridis_data), interpolated linearly
_VIRIDIS = np.array([
    [0.267004, 0.004874, 0.329415], [0.282623, 0.140926, 0.457517], [0.253935, 0.265254, 0.529983],
    [0.206756, 0.371758, 0.553117], [0.163625, 0.471133, 0.558148], [0.127568, 0.566949, 0.550556],
    [0.134692, 0.658636, 0.517649], [0.266941, 0.748751, 0.440573], [0.477504, 0.821444, 0.318195],
    [0.741388, 0.873449, 0.149561], [0.993248, 0.906157, 0.143936],
])


def viridis(t: np.ndarray) -> np.ndarray:
    """``(..., 3)`` colours in [0, 1] for ``t`` in [0, 1] (clipped)."""
    t = np.clip(np.asarray(t, dtype=float), 0.0, 1.0) * (len(_VIRIDIS) - 1)
    i = np.minimum(np.floor(t).astype(int), len(_VIRIDIS) - 2)
    f = (t - i)[..., None]
    return _VIRIDIS[i] * (1 - f) + _VIRIDIS[i + 1] * f


def check_size(size: Any) -> tuple[int, int]:
    """``(width, height)``, whole numbers from 16 to :data:`MAX_SIZE`."""
    try:
        w, h = (int(v) for v in size)
        if (w, h) != tuple(float(v) for v in size):
            raise ValueError
    except (TypeError, ValueError):
        raise LandscapeError(f"size must be two whole numbers WIDTH×HEIGHT, got {size!r}") from None
    if not (16 <= w <= MAX_SIZE and 16 <= h <= MAX_SIZE):
        raise LandscapeError(f"size must be from 16×16 to {MAX_SIZE}×{MAX_SIZE} pixels, got {w}×{h}")
    return w, h


@dataclass
class MapFrames:
    """The map's frames for a set of runs; see the module docstring.

    Attributes:
        background: ``(H, W, 3)`` uint8 colour map with contours (the frame before any run).
        last_step: the largest step of any run (frames beyond it equal it).
    """

    surface: Surface
    runs: Sequence[Run]
    bounds: Bounds
    size: tuple[int, int] = (640, 480)
    colours: np.ndarray | None = None
    background: np.ndarray = field(init=False, repr=False)
    last_step: int = field(init=False)

    def __post_init__(self) -> None:
        self.bounds = check_bounds(self.bounds)
        self.size = check_size(self.size)
        w, h = self.size
        self.background = _background(self.surface, self.bounds, w, h)
        n = len(self.runs)
        cols = palette(max(n, 1)) if self.colours is None else np.asarray(self.colours, dtype=float)
        self._colours = np.clip(np.rint(cols * 255), 0, 255).astype(np.uint8)
        self._pen = max(1, round(min(w, h) / 320))
        self._steps = np.array([r.steps for r in self.runs], dtype=np.int64)
        self.last_step = int(self._steps.max(initial=0))
        self._pix = [self._to_pixels(r.positions) for r in self.runs]
        self._samples = self._sample_paths()

    # -- geometry -------------------------------------------------------------------------------
    def _to_pixels(self, xy: np.ndarray) -> np.ndarray:
        """Float pixel coordinates ``(col, row)`` of points, pixel centres at ``k + 0.5``."""
        xmin, xmax, ymin, ymax = self.bounds
        w, h = self.size
        cx = (np.asarray(xy[:, 0], dtype=float) - xmin) / (xmax - xmin) * w
        cy = (ymax - np.asarray(xy[:, 1], dtype=float)) / (ymax - ymin) * h
        return np.column_stack([cx, cy])

    def _sample_paths(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Every path segment sampled every half pixel: ``(cols, rows, segment index, run index)``
        of the samples inside the image (segment ``k`` joins step ``k`` to ``k + 1``)."""
        w, h = self.size
        limit = 4 * (w + h)  # a diverging jump is drawn to the image's edge, not sampled forever
        cols, rows, segs, owners = [], [], [], []
        for i, pix in enumerate(self._pix):
            if len(pix) < 2:
                continue
            a, b = pix[:-1], pix[1:]
            ok = np.isfinite(a).all(axis=1) & np.isfinite(b).all(axis=1)
            length = np.where(ok, np.hypot(*(b - a).T), 0.0)
            count = np.minimum(np.ceil(2 * length).astype(np.int64), limit) + 1
            count[~ok] = 0
            seg = np.repeat(np.arange(len(a)), count)
            start = np.repeat(np.cumsum(count) - count, count)
            frac = (np.arange(len(seg)) - start) / np.maximum(np.repeat(count - 1, count), 1)
            pts = a[seg] + (b[seg] - a[seg]) * frac[:, None]
            c, r = np.floor(pts[:, 0]).astype(np.int64), np.floor(pts[:, 1]).astype(np.int64)
            inside = (c >= 0) & (c < w) & (r >= 0) & (r < h)
            cols.append(c[inside])
            rows.append(r[inside])
            segs.append(seg[inside])
            owners.append(np.full(int(inside.sum()), i, dtype=np.int64))
        if not cols:
            e = np.empty(0, dtype=np.int64)
            return e, e, e, e
        return np.concatenate(cols), np.concatenate(rows), np.concatenate(segs), np.concatenate(owners)

    # -- frames ---------------------------------------------------------------------------------
    def frame(self, step: int) -> np.ndarray:
        """``(H, W, 3)`` uint8: the map at playback step ``step`` (each run drawn up to
        ``min(step, its last step)``)."""
        if isinstance(step, bool) or int(step) != step or step < 0:
            raise LandscapeError(f"a frame's step must be a whole number >= 0, got {step!r}")
        step = int(step)
        img = self.background.copy()
        w, h = self.size
        cols, rows, segs, owners = self._samples
        if len(segs):
            keep = segs < np.minimum(step, self._steps[owners])
            c, r, o = cols[keep], rows[keep], owners[keep]
            halo = np.zeros((h, w), dtype=bool)  # a dark halo, so paths read on any background
            for dc in range(-1, self._pen + 2):
                for dr in range(-1, self._pen + 2):
                    halo[np.clip(r + dr, 0, h - 1), np.clip(c + dc, 0, w - 1)] = True
            img[halo] = (img[halo] * 0.45).astype(np.uint8)
            for dc in range(self._pen + 1):
                for dr in range(self._pen + 1):
                    cc, rr = np.minimum(c + dc, w - 1), np.minimum(r + dr, h - 1)
                    img[rr, cc] = self._colours[o % len(self._colours)]
        rad = 2 * self._pen + 2
        for i, pix in enumerate(self._pix):
            k = min(step, int(self._steps[i]))
            p = pix[k]
            if np.isfinite(p).all():
                _disc(img, p, rad + 1, np.array([20, 20, 20], dtype=np.uint8))
                _disc(img, p, rad, self._colours[i % len(self._colours)])
        return img

    def steps(self, first: int = 0, last: int | None = None, every: int = 1) -> range:
        """The steps of an animation from ``first`` to ``last`` (inclusive; default the last step
        of any run), every ``every``-th."""
        last = self.last_step if last is None else last
        if first < 0 or last < first or every < 1:
            raise LandscapeError(f"frames must run from a step >= 0 to a later one, got {first}:{last}")
        return range(first, last + 1, every)


@dataclass
class TiledFrames:
    """Small multiples: several :class:`MapFrames` of the same size side by side, each with a title
    bar, played in step (``frame(step)`` shows every panel at the same step), e.g. a race's optimizers.

    Attributes:
        panels: the maps, left to right, top to bottom.
        titles: one line above each panel (Pillow's built-in bitmap font).
        columns: panels per row (default: as square as possible).
    """

    panels: Sequence[MapFrames]
    titles: Sequence[str]
    columns: int = 0
    gap: int = 4
    size: tuple[int, int] = field(init=False)
    last_step: int = field(init=False)

    def __post_init__(self) -> None:
        if not self.panels:
            raise LandscapeError("small multiples need at least one map")
        if len(self.titles) != len(self.panels):
            raise LandscapeError("give one title per map")
        sizes = {p.size for p in self.panels}
        if len(sizes) != 1:
            raise LandscapeError("small multiples need maps of one size")
        n = len(self.panels)
        self.columns = self.columns or math.ceil(math.sqrt(n))
        self._rows = math.ceil(n / self.columns)
        w, h = self.panels[0].size
        self._title_h = 16
        self.size = (self.columns * w + (self.columns - 1) * self.gap,
                     self._rows * (h + self._title_h) + (self._rows - 1) * self.gap)
        self.last_step = max(p.last_step for p in self.panels)
        self._titles = [_title_bar(t, w, self._title_h) for t in self.titles]

    def frame(self, step: int) -> np.ndarray:
        """``(H, W, 3)`` uint8: every panel at ``step``, with its title above it."""
        w, h = self.panels[0].size
        img = np.full((self.size[1], self.size[0], 3), 255, dtype=np.uint8)
        for k, (panel, bar) in enumerate(zip(self.panels, self._titles)):
            r, c = divmod(k, self.columns)
            x0, y0 = c * (w + self.gap), r * (h + self._title_h + self.gap)
            img[y0:y0 + self._title_h, x0:x0 + w] = bar
            img[y0 + self._title_h:y0 + self._title_h + h, x0:x0 + w] = panel.frame(step)
        return img

    def steps(self, first: int = 0, last: int | None = None, every: int = 1) -> range:
        return MapFrames.steps(self, first, last, every)  # type: ignore[arg-type]

    @property
    def background(self) -> np.ndarray:
        """The panels' backgrounds in place (what a GIF palette is built from)."""
        w, h = self.panels[0].size
        img = np.full((self.size[1], self.size[0], 3), 255, dtype=np.uint8)
        for k, panel in enumerate(self.panels):
            r, c = divmod(k, self.columns)
            x0, y0 = c * (w + self.gap), r * (h + self._title_h + self.gap)
            img[y0 + self._title_h:y0 + self._title_h + h, x0:x0 + w] = panel.background
        return img

    @property
    def runs(self) -> list[Run]:
        return [r for p in self.panels for r in p.runs]

    @property
    def _colours(self) -> np.ndarray:
        return np.concatenate([p._colours for p in self.panels])


def _title_bar(text: str, w: int, h: int) -> np.ndarray:
    """``(h, w, 3)`` uint8: dark text on white, Pillow's built-in font, clipped to the width."""
    from PIL import Image, ImageDraw, ImageFont

    bar = Image.new("RGB", (w, h), (255, 255, 255))
    ImageDraw.Draw(bar).text((4, 2), text, fill=(20, 20, 20), font=ImageFont.load_default())
    return np.asarray(bar, dtype=np.uint8)


def _disc(img: np.ndarray, centre: np.ndarray, radius: float, colour: np.ndarray) -> None:
    h, w = img.shape[:2]
    cx, cy = float(centre[0]), float(centre[1])
    r = int(math.ceil(radius))
    c0, c1 = max(int(cx) - r, 0), min(int(cx) + r + 1, w)
    r0, r1 = max(int(cy) - r, 0), min(int(cy) + r + 1, h)
    if c0 >= c1 or r0 >= r1:
        return
    yy, xx = np.mgrid[r0:r1, c0:c1]
    inside = (xx + 0.5 - cx) ** 2 + (yy + 0.5 - cy) ** 2 <= radius * radius
    img[r0:r1, c0:c1][inside] = colour


def _background(surface: Surface, bounds: Bounds, w: int, h: int) -> np.ndarray:
    xmin, xmax, ymin, ymax = bounds
    xs = xmin + (np.arange(w) + 0.5) * (xmax - xmin) / w
    ys = ymax - (np.arange(h) + 0.5) * (ymax - ymin) / h
    gx, gy = np.meshgrid(xs, ys)  # rows = y from the top
    with np.errstate(all="ignore"):
        z = np.asarray(surface.value(np.column_stack([gx.ravel(), gy.ravel()])), dtype=float).reshape(h, w)
        finite = np.isfinite(z)
        if not finite.any():
            return np.full((h, w, 3), 40, dtype=np.uint8)
        if getattr(surface, "log_height", False):
            z = np.log1p(z - np.nanmin(np.where(finite, z, np.nan)))
        lo, hi = np.percentile(z[finite], [1, 99])
        t = (z - lo) / (hi - lo) if hi > lo else np.zeros_like(z)
        t = np.where(finite, np.clip(t, 0, 1), 1.0)
    rgb = viridis(t)
    band = np.minimum((t * CONTOUR_LEVELS).astype(int), CONTOUR_LEVELS - 1)
    edge = np.zeros((h, w), dtype=bool)
    edge[:, :-1] |= band[:, :-1] != band[:, 1:]
    edge[:-1, :] |= band[:-1, :] != band[1:, :]
    rgb[edge] *= 0.55
    return np.clip(np.rint(rgb * 255), 0, 255).astype(np.uint8)


def export_animation(
    frames: MapFrames | TiledFrames,
    path: str | os.PathLike[str],
    steps: Sequence[int] | range,
    fps: float = 30.0,
    progress: Callable[[float], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> int:
    """Write ``frames.frame(s)`` for every ``s`` in ``steps`` to ``path`` (``.gif`` or ``.mp4``),
    atomically; return the number of frames written.

    GIF: Pillow's encoder, one 256-colour palette for all frames holding the run colours exactly
    (:func:`gif_palette`), ``1000/fps`` ms per frame (the format rounds to 10 ms), looping. MP4: H.264 (yuv420p, so width and height must be even) at ``fps``.

    Raises:
        LandscapeError: unknown extension, odd size for MP4, bad fps, folder missing, no frames.
        Cancelled: ``should_cancel()`` answered True (nothing is left behind).
    """
    import imageio.v2 as imageio

    target = os.fspath(path)
    ext = os.path.splitext(target)[1].lower()
    if ext not in FORMATS:
        raise LandscapeError(f"animations are written as .gif or .mp4, not {ext or 'a file without extension'!r}")
    if not (isinstance(fps, (int, float)) and math.isfinite(fps) and 0 < fps <= 120):
        raise LandscapeError(f"fps must be a number above 0 and at most 120, got {fps!r}")
    w, h = frames.size
    if ext == ".mp4" and (w % 2 or h % 2):
        raise LandscapeError(f"MP4 needs an even width and height, got {w}×{h}")
    steps = list(steps)
    if not steps:
        raise LandscapeError("no frames to write")
    real = os.path.realpath(target)
    folder = os.path.dirname(real) or "."
    if not os.path.isdir(folder):
        raise LandscapeError(f"cannot write {target}: folder {folder} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(real)}.", suffix=ext)
    except OSError as exc:
        raise LandscapeError(f"cannot write {target}: {exc.strerror or exc}") from None
    os.close(fd)
    try:
        if ext == ".gif":
            _write_gif(frames, tmp, steps, fps, progress, should_cancel)
        else:
            writer = imageio.get_writer(tmp, format="FFMPEG", mode="I", fps=fps, codec="libx264", quality=8,
                                        pixelformat="yuv420p", macro_block_size=1)
            with writer:
                for k, s in enumerate(steps):
                    if should_cancel is not None and should_cancel():
                        raise Cancelled()
                    writer.append_data(frames.frame(s))
                    if progress is not None:
                        progress((k + 1) / len(steps))
        mode = os.stat(real).st_mode & 0o7777 if os.path.exists(real) else 0o666 & ~_umask()
        os.chmod(tmp, mode)
        os.replace(tmp, real)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise LandscapeError(f"cannot write {target}: {exc.strerror or exc}") from None
        raise
    return len(steps)


def gif_palette(frames: MapFrames | TiledFrames) -> Any:
    """A Pillow palette image shared by every frame of a GIF: the run colours and the dot rim
    exactly, the rest a median-cut of the background and its darkened path halo. One palette for all
    frames keeps the colours steady and lets the encoder store only what changed between frames."""
    from PIL import Image

    exact = [tuple(int(v) for v in c) for c in frames._colours[: max(len(frames.runs), 1)]] + [(20, 20, 20)]
    exact = list(dict.fromkeys(exact))[:64]
    bg = frames.background
    ref = np.concatenate([bg, (bg * 0.45).astype(np.uint8)], axis=0)
    base = Image.fromarray(ref).quantize(256 - len(exact), method=Image.Quantize.MEDIANCUT)
    entries = (base.getpalette() or [])[: 3 * (256 - len(exact))]
    entries += [v for c in exact for v in c]
    entries += [0] * (768 - len(entries))
    pal = Image.new("P", (1, 1))
    pal.putpalette(entries)
    return pal


def _write_gif(frames: MapFrames | TiledFrames, path: str, steps: Sequence[int], fps: float,
               progress: Callable[[float], None] | None, should_cancel: Callable[[], bool] | None) -> None:
    """GIF through Pillow with one shared palette (:func:`gif_palette`), no dithering; Pillow keeps
    each frame as one byte per pixel until it writes them all (``W·H`` bytes per frame)."""
    from PIL import Image

    pal = gif_palette(frames)
    images = []
    for k, s in enumerate(steps):
        if should_cancel is not None and should_cancel():
            raise Cancelled()
        images.append(Image.fromarray(frames.frame(s)).quantize(palette=pal, dither=Image.Dither.NONE))
        if progress is not None:
            progress(0.95 * (k + 1) / len(steps))
    images[0].save(path, format="GIF", save_all=True, append_images=images[1:], duration=1000.0 / fps, loop=0)
    if progress is not None:
        progress(1.0)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def read_frames(path: str | os.PathLike[str]) -> list[np.ndarray]:
    """Decode an exported GIF or MP4 into ``(H, W, 3)`` uint8 frames (for checks and tests)."""
    import imageio.v2 as imageio

    ext = os.path.splitext(os.fspath(path))[1].lower()
    fmt = "GIF-PIL" if ext == ".gif" else "FFMPEG"
    with imageio.get_reader(os.fspath(path), format=fmt) as reader:
        return [np.asarray(f)[..., :3] for f in reader]


__all__ = ["CONTOUR_LEVELS", "FORMATS", "MapFrames", "TiledFrames", "check_size", "export_animation", "read_frames",
           "viridis"]
