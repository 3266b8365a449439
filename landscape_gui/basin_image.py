"""Basin maps as pictures: the shared colour-per-minimum palette and a PNG renderer.

:func:`minimum_rgb` is the one palette for minima used everywhere (PNG, 2-D overlay, 3-D surface
colours, the "Where runs settled" table, trajectories coloured by minimum): Tableau 10 for ids 1–10
(a qualitative palette designed to tell categories apart, Stone 2016), then hues spaced by the golden
angle so neighbouring ids never look alike. It needs no Qt.

:func:`render_basin_png` draws a :class:`~landscape_gui.core.basins.BasinMap` with Pillow (no Qt, no
display: the command line writes it the same way on a desktop, over ssh or in CI, whatever
``QT_QPA_PLATFORM`` says, and without Qt's start-up cost): the labels as colours shaded by the
surface's height, axes in data units, a marker and id at every critical point reached (circle =
minimum, × = saddle, triangle = maximum, diamond = degenerate; a ring marks global minima) and a
legend with each basin's share.
"""

from __future__ import annotations

import colorsys
import math
import struct
import zlib
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from landscape_gui.core.basins import BasinMap
    from landscape_gui.core.surfaces import Surface

TABLEAU10 = (
    (31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
    (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207),
)
NO_MINIMUM_RGB = (235, 235, 235)
"""Colour of cells whose run reached no minimum (diverged or still moving)."""
_GOLDEN = (math.sqrt(5) - 1) / 2


def minimum_rgb(ident: int | None) -> tuple[int, int, int]:
    """Colour ``(r, g, b)`` (0–255) of the critical point with id ``ident``; ``None``/negative: grey."""
    if ident is None or ident < 0:
        return NO_MINIMUM_RGB
    if 1 <= ident <= len(TABLEAU10):
        return TABLEAU10[ident - 1]
    hue = (0.13 + ident * _GOLDEN) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.65, 0.85)
    return int(round(r * 255)), int(round(g * 255)), int(round(b * 255))


def palette(top: int) -> np.ndarray:
    """``(top + 2, 3)`` uint8: row ``k`` is :func:`minimum_rgb` of id ``k − 1`` (ids −1 … ``top``).

    The golden-angle hues past Tableau 10 are computed for all ids at once with the arithmetic of
    ``colorsys.hsv_to_rgb`` (Smith 1978) in float64, so every colour equals :func:`minimum_rgb`'s (a
    map of Easom's plain has ~17,000 ids)."""
    top = max(int(top), 0)
    ids = np.arange(-1, top + 1)
    lut = np.empty((top + 2, 3), dtype=np.uint8)
    lut[0] = NO_MINIMUM_RGB
    n_tab = min(top, len(TABLEAU10))
    lut[2 : 2 + n_tab] = np.array(TABLEAU10[:n_tab], dtype=np.uint8).reshape(-1, 3)
    golden = np.flatnonzero((ids == 0) | (ids > len(TABLEAU10)))
    h = (0.13 + ids[golden].astype(float) * _GOLDEN) % 1.0
    s, v = 0.65, 0.85
    i = (h * 6.0).astype(np.int64)  # int() of a non-negative float
    f = (h * 6.0) - i
    p = np.full_like(h, v * (1.0 - s))
    q = v * (1.0 - s * f)
    t = v * (1.0 - s * (1.0 - f))
    vv = np.full_like(h, v)
    i %= 6
    sector = [(vv, t, p), (q, vv, p), (p, vv, t), (p, q, vv), (t, p, vv), (vv, p, q)]
    for c in range(3):
        chan = np.select([i == k for k in range(6)], [sector[k][c] for k in range(6)])
        lut[golden, c] = np.rint(chan * 255)
    return lut


def label_colors(labels: np.ndarray) -> np.ndarray:
    """``labels (...)`` int → ``(..., 3)`` uint8 RGB via :func:`minimum_rgb` (a lookup table)."""
    labels = np.asarray(labels)
    return palette(int(labels.max(initial=0)))[np.clip(labels, -1, None) + 1]


def nice_ticks(lo: float, hi: float, target: int = 6) -> list[float]:
    """Round tick positions (1, 2, 5 × 10ᵏ steps) inside ``[lo, hi]``."""
    span = hi - lo
    if not span > 0:
        return [lo]
    raw = span / target
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    ticks = []
    k = 0
    while first + k * step <= hi + 1e-9 * span:
        ticks.append(round(first + k * step, 12))
        k += 1
    return ticks


def _fmt(v: float) -> str:
    return f"{v:.4g}"


def percentiles(values: np.ndarray, qs: tuple[float, ...]) -> list[float]:
    """``np.percentile(values, qs)`` with its default linear interpolation, computed the way numpy
    computes it (same values, bit for bit), but without the ``np.unique`` inside numpy's version,
    whose first call imports ``numpy.ma``: a noticeable part of a small ``basins`` command's time."""
    a = np.asarray(values, dtype=float).ravel()
    n = len(a)
    where = [(n - 1) * (q / 100) for q in qs]  # numpy's "virtual index" for the linear method
    kth = sorted({min(k, n - 1) for v in where for k in (math.floor(v), math.floor(v) + 1)})
    a = np.partition(a, kth)
    out = []
    for v in where:
        i = math.floor(v)
        if i >= n - 1:
            out.append(float(a[n - 1]))
            continue
        t = v - i
        lo, hi = a[i], a[i + 1]
        d = hi - lo
        out.append(float(hi - d * (1 - t)) if t >= 0.5 else float(lo + d * t))  # numpy's _lerp
    return out


def shade_factors(bmap: "BasinMap", surface: "Surface | None") -> np.ndarray | None:
    """``(R, R)`` float64 brightness factor per cell, ``1 − 0.35·h`` with ``h`` the surface's height at
    the cell centre scaled to ``[0, 1]`` between its 1st and 99th percentiles (log scale for
    ``log_height`` surfaces; cells where the surface is not finite count as high), or ``None`` when
    nothing shades the map (no surface, or no finite height)."""
    if surface is None:
        return None
    nx, ny = bmap.labels.shape
    starts = np.empty((nx, ny, 2))  # the cell centres, [i, j] = (xs[i], ys[j])
    starts[:, :, 0] = np.asarray(bmap.xs, dtype=float)[:, None]
    starts[:, :, 1] = np.asarray(bmap.ys, dtype=float)[None, :]
    with np.errstate(all="ignore"):
        z = np.asarray(surface.value(starts.reshape(-1, 2)), dtype=float).reshape(nx, ny)
        if surface.log_height:
            z = np.log10(z - np.nanmin(z[np.isfinite(z)], initial=0.0) + 1e-3) if np.isfinite(z).any() else z
    finite = np.isfinite(z)
    all_finite = bool(finite.all())
    if not all_finite and not finite.any():
        return None
    lo, hi = percentiles(z if all_finite else z[finite], (1, 99))
    if hi > lo:
        with np.errstate(all="ignore"):
            h = np.subtract(z, lo)
            h /= hi - lo
        np.clip(h, 0, 1, out=h)
    else:
        h = np.zeros_like(z)
    if not all_finite:
        h[~finite] = 1.0
    h *= 0.35
    return np.subtract(1.0, h, out=h)


def _shade(labels: np.ndarray, factor: np.ndarray | None) -> np.ndarray:
    """``labels (m, n)`` → ``(m, n, 3)`` uint8: each label's colour times ``factor`` (same shape),
    rounded half to even and clipped to 0..255 (the float64 arithmetic of ``round(rgb · factor)``,
    one channel at a time, without an ``(m, n, 3)`` float temporary)."""
    if factor is None:
        return label_colors(labels)
    lut = palette(int(labels.max(initial=0))).astype(float)
    idx = np.clip(labels, -1, None)
    idx += 1
    out = np.empty(labels.shape + (3,), dtype=np.uint8)
    chan = np.empty(labels.shape)
    for c in range(3):
        np.take(lut[:, c], idx, out=chan)
        chan *= factor
        np.rint(chan, out=chan)
        np.clip(chan, 0, 255, out=chan)
        out[..., c] = chan
    return out


def shaded_colors(bmap: "BasinMap", surface: "Surface | None") -> np.ndarray:
    """``(R, R, 3)`` uint8 RGB per cell (``[i, j]`` = x-cell i, y-cell j): the minimum's colour,
    darkened up to 35 % where the surface is high (log scale for ``log_height`` surfaces), so the
    landscape's relief stays readable under the basins (:func:`shade_factors`)."""
    return _shade(np.asarray(bmap.labels), shade_factors(bmap, surface))


LEFT, TOP, BOTTOM, GAP = 70, 44, 50, 24
"""Margins of the picture in pixels: the map's top-left corner is at ``(LEFT, TOP)``."""

_FONT_PX = 13


def _fonts() -> tuple[Any, Any]:
    """Regular and bold fonts: DejaVu Sans where the system has it (full Unicode: ×, …, ², ü),
    else Pillow's built-in scalable font."""
    from PIL import ImageFont

    regular = bold = None
    for name, bold_name in (("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"), ("LiberationSans-Regular.ttf",
                                                                        "LiberationSans-Bold.ttf")):
        try:
            regular = ImageFont.truetype(name, _FONT_PX)
        except OSError:
            continue
        try:
            bold = ImageFont.truetype(bold_name, _FONT_PX)
        except OSError:
            bold = regular
        break
    if regular is None:
        regular = bold = ImageFont.load_default(_FONT_PX)
    return regular, bold


def render_basin_image(bmap: "BasinMap", surface: "Surface | None" = None, map_size: int = 640):
    """The picture as an RGB ``PIL.Image.Image`` (see module docstring). ``map_size``: the map's longer
    side in pixels (equal scales on both axes unless the bounds are more than 4:1).

    Drawn with Pillow, which needs no display, no Qt and no QGuiApplication: the command line writes
    the PNG the same way whatever ``QT_QPA_PLATFORM`` and ``DISPLAY`` say."""
    from PIL import Image, ImageDraw

    font, bold = _fonts()
    ascent, descent = font.getmetrics()
    font_h = ascent + descent

    def advance(text: str, f: Any = font) -> float:
        return f.getlength(text)

    R = bmap.resolution
    # Image rows run top to bottom = y descending; columns = x ascending: shade in that layout.
    factor = shade_factors(bmap, surface)
    pix = _shade(np.ascontiguousarray(np.asarray(bmap.labels).T[::-1]),
                 None if factor is None else np.ascontiguousarray(factor.T[::-1]))
    cells = Image.fromarray(pix, "RGB")

    line = font_h + 6
    left, top, bottom, gap = LEFT, TOP, BOTTOM, GAP
    points = bmap.points()
    fractions = bmap.fractions()
    none_share = 1.0 - bmap.labelled_share()
    xmin, xmax, ymin, ymax = bmap.bounds
    aspect = (xmax - xmin) / (ymax - ymin)
    map_w = int(round(map_size * min(1.0, max(0.25, aspect))))
    map_h = int(round(map_size * min(1.0, max(0.25, 1.0 / aspect))))
    max_rows = max(1, (max(map_h, 240) - line) // line)
    n_entries = len(points) + (none_share > 0)
    hidden = 0
    if n_entries > max_rows:  # the legend lists what fits and says how many more the CSV has
        hidden = n_entries - (max_rows - 1)
    listed = points[: max_rows - 1] if hidden else points
    entries = [
        (minimum_rgb(c.id), f"#{c.id} {c.kind} ({_fmt(c.x)}, {_fmt(c.y)})  loss {_fmt(c.loss)}",
         f"{100 * fractions[c.id]:.1f}%")
        for c in listed
    ]
    if none_share > 0 and not hidden:
        entries.append((NO_MINIMUM_RGB, "no minimum (diverged / still moving)", f"{100 * none_share:.1f}%"))
    legend_w = int(max([advance(t) + advance(s) for _, t, s in entries] + [200])) + 60
    width = left + map_w + gap + legend_w + 16
    height = top + max(map_h, 240) + bottom
    img = Image.new("RGB", (width, height), (255, 255, 255))
    img.paste(cells.resize((map_w, map_h), Image.Resampling.NEAREST), (left, top))
    draw = ImageDraw.Draw(img)
    dark = (40, 40, 40)
    draw.rectangle((left - 1, top - 1, left + map_w, top + map_h), outline=dark)

    def to_px(x: float, y: float) -> tuple[float, float]:
        return left + (x - xmin) / (xmax - xmin) * map_w, top + (ymax - y) / (ymax - ymin) * map_h

    def text(xy: tuple[float, float], s: str, fill=(0, 0, 0), f: Any = font, **kw: Any) -> None:
        """Text with its baseline's left end at ``xy``."""
        draw.text(xy, s, fill=fill, font=f, anchor="ls", **kw)

    for t in nice_ticks(xmin, xmax):
        px = to_px(t, ymin)[0]
        draw.line((px, top + map_h, px, top + map_h + 5), fill=dark)
        s = _fmt(t)
        text((px - advance(s) / 2, top + map_h + 7 + ascent), s)
    for t in nice_ticks(ymin, ymax):
        py = to_px(xmin, t)[1]
        draw.line((left - 5, py, left, py), fill=dark)
        s = _fmt(t)
        text((left - 8 - advance(s), py + ascent / 2 - 1), s)
    text((left + map_w / 2 - 4, top + map_h + 12 + 2 * ascent), "x")
    text((12, top + map_h / 2), "y")
    params = ", ".join(f"{k}={v}" for k, v in bmap.params.items())
    title = f"Basins of attraction: {bmap.surface}, {bmap.optimizer} ({params}); {R}×{R} starts"
    room = width - left - 10
    if advance(title) > room:  # the longest prefix that fits with "…" (text width grows with length)
        lo, hi = 0, len(title)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            lo, hi = (mid, hi) if advance(title[:mid] + "…") <= room else (lo, mid - 1)
        title = title[:lo] + "…"
    text((left, top - 16), title)

    # Markers at the critical points reached (inside the map), drawn on a layer clipped to the map: the
    # points the legend lists (a plain of thousands of degenerate points, as on Easom's, would only
    # cover the map, and drawing their ids took seconds; the CSV lists them all).
    layer = Image.new("RGBA", (map_w, map_h), (0, 0, 0, 0))
    ld = ImageDraw.Draw(layer)
    r = 6.0
    for c in listed:
        if not (xmin <= c.x <= xmax and ymin <= c.y <= ymax):
            continue
        qx, qy = to_px(c.x, c.y)
        qx, qy = qx - left, qy - top
        fill = minimum_rgb(c.id)
        if c.kind == "minimum":
            ld.ellipse((qx - r, qy - r, qx + r, qy + r), fill=fill, outline=(0, 0, 0), width=2)
            if c.is_global:
                ld.ellipse((qx - r - 4, qy - r - 4, qx + r + 4, qy + r + 4), outline=(0, 0, 0), width=2)
        elif c.kind == "saddle":
            ld.line((qx - r, qy - r, qx + r, qy + r), fill=(0, 0, 0), width=3)
            ld.line((qx - r, qy + r, qx + r, qy - r), fill=(0, 0, 0), width=3)
        elif c.kind == "maximum":
            ld.polygon([(qx, qy - r - 1), (qx + r, qy + r), (qx - r, qy + r)], fill=fill, outline=(0, 0, 0), width=2)
        else:
            ld.polygon([(qx, qy - r), (qx + r, qy), (qx, qy + r), (qx - r, qy)], fill=fill, outline=(0, 0, 0),
                       width=2)
        ld.text((qx + r + 3, qy - r), str(c.id), fill=(0, 0, 0), font=font, anchor="ls", stroke_width=2,
                stroke_fill=(255, 255, 255))
    img.paste(layer, (left, top), layer)

    # Legend.
    lx = left + map_w + gap
    text((lx, top + ascent), "Where runs settled   share of starts", f=bold)
    y = top + line
    for color, label, share in entries:
        draw.rectangle((lx, y + 2, lx + 16, y + font_h), fill=color, outline=(60, 60, 60))
        text((lx + 24, y + ascent + 1), label)
        text((width - 16 - advance(share), y + ascent + 1), share)
        y += line
    if hidden:
        text((lx + 24, y + ascent), f"… and {hidden} more (see the CSV)")
    return img


PNG_LEVEL = 1
"""zlib level of the PNG: level 1 deflates a 1146 × 734 basin picture (2.5 MB of pixels) in ~10 ms
to about the size of Pillow's level-1 file (flat colour runs compress well at any level); level 6
takes about twice as long for a file ~30 % smaller."""


def encode_png(rgb: np.ndarray, level: int = PNG_LEVEL) -> bytes:
    """``(H, W, 3)`` uint8 RGB → PNG bytes (8-bit truecolour, no interlace).

    Every scanline uses PNG filter type 2, *Up* (each byte minus the byte above it, modulo 256; the
    first row minus zeros), computed for the whole picture in one numpy subtraction, then deflated by
    zlib at ``level``. Basin pictures are vertical runs of one colour (the map's cells are taller than
    a pixel, the legend's swatches and the margins are flat), which Up turns into runs of zeros: the
    file is as small as with Pillow's per-line adaptive filter choice, which costs more than the
    deflate itself (PNG specification, W3C 2003 / ISO 15948, §9 "Filtering" and §11.2 chunks).
    """
    a = np.ascontiguousarray(rgb, dtype=np.uint8)
    if a.ndim != 3 or a.shape[2] != 3 or a.shape[0] < 1 or a.shape[1] < 1:
        raise ValueError(f"expected an (H, W, 3) image, got shape {a.shape}")
    height, width = a.shape[:2]
    rows = a.reshape(height, 3 * width)
    raw = np.empty((height, 3 * width + 1), dtype=np.uint8)
    raw[:, 0] = 2
    raw[0, 1:] = rows[0]
    np.subtract(rows[1:], rows[:-1], out=raw[1:, 1:])
    return b"".join(
        (
            b"\x89PNG\r\n\x1a\n",
            _png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)),
            _png_chunk(b"IDAT", zlib.compress(raw, level)),
            _png_chunk(b"IEND", b""),
        )
    )


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    """One PNG chunk: length, type, data, CRC-32 of type and data."""
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(body, zlib.crc32(kind)))


def render_basin_png(bmap: "BasinMap", surface: "Surface | None" = None, map_size: int = 640) -> bytes:
    """The picture of :func:`render_basin_image` encoded as PNG bytes (:func:`encode_png`)."""
    img = render_basin_image(bmap, surface, map_size)
    return encode_png(np.asarray(img))


__all__ = [
    "NO_MINIMUM_RGB",
    "PNG_LEVEL",
    "TABLEAU10",
    "encode_png",
    "label_colors",
    "minimum_rgb",
    "nice_ticks",
    "palette",
    "percentiles",
    "render_basin_image",
    "render_basin_png",
    "shade_factors",
    "shaded_colors",
]
