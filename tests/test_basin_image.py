"""The basin PNG: cells drawn in their minimum's colour, a legend, written by write_basin_outputs."""

from __future__ import annotations

import numpy as np
import pytest

from landscape_gui.basin_image import (
    NO_MINIMUM_RGB,
    TABLEAU10,
    encode_png,
    label_colors,
    minimum_rgb,
    nice_ticks,
    palette,
    render_basin_image,
    shaded_colors,
)
from landscape_gui.basin_image import render_basin_png
from landscape_gui.core.basins import basin_map, write_basin_outputs
from landscape_gui.core.surfaces import get_surface


def test_palette_is_distinct_and_stable():
    colours = [minimum_rgb(i) for i in range(1, 41)]
    assert colours[:10] == list(TABLEAU10)
    assert len(set(colours)) == 40
    assert minimum_rgb(None) == minimum_rgb(-1) == NO_MINIMUM_RGB
    assert label_colors(np.array([[-1, 3]])).tolist() == [[list(NO_MINIMUM_RGB), list(TABLEAU10[2])]]


def test_ticks_are_round_numbers_inside_the_range():
    assert nice_ticks(-5, 5) == [-4.0, -2.0, 0.0, 2.0, 4.0]
    t = nice_ticks(-2.0, 2.0)
    assert t[0] >= -2 and t[-1] <= 2 and 0.0 in t


@pytest.fixture
def himmelblau_map():
    surface = get_surface("himmelblau")
    return surface, basin_map(surface, "sgd", {"lr": 0.01}, resolution=32, fused=False)


def test_png_shows_each_cell_in_its_minimum_colour_and_a_legend(tmp_path, himmelblau_map):
    from PIL import Image

    surface, bmap = himmelblau_map
    prefix = str(tmp_path / "hb")
    paths = write_basin_outputs(prefix, bmap, surface, render_png=render_basin_png)
    assert paths[-1] == prefix + ".png"
    rgb = np.asarray(Image.open(prefix + ".png").convert("RGB"))
    height, width = rgb.shape[:2]
    map_size, left, top = 640, 70, 44  # render defaults
    assert width > left + map_size + 200 and height > map_size
    cell = map_size / 32
    # The start at x-cell i, y-cell j is drawn at column i from the left, row j from the bottom.
    for i, j in [(2, 3), (28, 2), (5, 29), (27, 27)]:
        label = int(bmap.labels[i, j])
        got = tuple(int(v) for v in rgb[int(top + map_size - (j + 0.5) * cell), int(left + (i + 0.5) * cell)])
        want = minimum_rgb(label)
        # Height shading only darkens, at most by 35 %, and keeps the hue's ordering.
        assert all(0.64 * w - 2 <= g <= w + 1 for g, w in zip(got, want)), (i, j, got, want)
    # Legend: a swatch of every minimum's exact colour to the right of the map.
    legend = rgb[top:top + map_size, left + map_size + 10:]
    for c in bmap.points():
        assert (legend == np.array(minimum_rgb(c.id), dtype=np.uint8)).all(axis=2).sum() > 100, c


def test_image_renders_with_many_minima_and_no_surface():
    surface = get_surface("himmelblau")
    bmap = basin_map(surface, "sgd", {"lr": 0.01}, resolution=8, fused=False)
    bmap.labels[:] = np.arange(64).reshape(8, 8) % 60 - 1  # more entries than the legend can hold
    img = render_basin_image(bmap, None, map_size=200)
    assert img.width > 200 and img.height == 44 + 240 + 50  # room for the legend


def test_map_keeps_the_aspect_of_the_bounds():
    surface = get_surface("himmelblau")
    bmap = basin_map(surface, "sgd", {"lr": 0.01}, bounds=(-3, 3, -2, 2), resolution=6, fused=False)
    img = render_basin_image(bmap, None, map_size=600)
    assert img.height == 44 + 400 + 50
    # Top-right cell (x-cell 5, y-cell 5) sits in the map's top-right corner.
    assert img.getpixel((70 + 600 - 20, 44 + 20)) == minimum_rgb(int(bmap.labels[5, 5]))


def test_png_is_written_without_a_display_whatever_qt_qpa_platform_says(tmp_path):
    """The CLI path: no display, and QT_QPA_PLATFORM naming a platform that needs one (xcb) must not
    matter; the picture never loads Qt."""
    import os
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from landscape_gui.core.surfaces import get_surface\n"
        "from landscape_gui.basin_image import render_basin_png\n"
        "from landscape_gui.core.basins import basin_map, write_basin_outputs\n"
        "s = get_surface('rosenbrock')\n"
        "b = basin_map(s, 'sgd', {'lr': 0.001}, resolution=16, max_steps=200, fused=False)\n"
        f"print(write_basin_outputs({str(tmp_path / 'r')!r}, b, s, render_png=render_basin_png))\n"
        "assert not any(m.startswith('PySide6') for m in sys.modules), 'Qt was loaded'\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = root
    env["QT_QPA_PLATFORM"] = "xcb"
    out = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "r.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _cli(*argv, cwd):
    import os
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=root)
    return subprocess.run([sys.executable, "-m", "landscape_gui", *argv], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


def test_cli_basins_writes_the_three_files(tmp_path):
    out = _cli("basins", "--surface", "himmelblau", "--optimizer", "adam", "--set", "lr=0.05", "--resolution", "24",
               "-o", "hb", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "settled (4 minima)" in out.stderr and "%" in out.stderr
    labels = np.load(tmp_path / "hb.npy")
    assert labels.shape == (24, 24) and labels.min() >= 1
    rows = (tmp_path / "hb.csv").read_text().splitlines()
    assert rows[0] == "minimum,x,y,loss,kind,fraction" and len(rows) == 5
    assert (tmp_path / "hb.png").read_bytes()[:4] == b"\x89PNG"
    bad = _cli("basins", "--surface", "himmelblau", "--optimizer", "adam", "--set", "lr=-1", "--resolution", "8",
               "-o", "x", cwd=tmp_path)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "lr" in bad.stderr


def test_cli_run_fills_the_minimum_column(tmp_path):
    out = _cli("run", "--surface", "himmelblau", "--optimizer", "sgd", "--start=3.3,2.2", "--start=-3.5,-3",
               "--start=3.3,2.1", "--max-steps", "2000", "-o", "r.csv", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    import csv

    rows = list(csv.DictReader(open(tmp_path / "r.csv", newline="")))
    last = {r["run"]: r["minimum"] for r in rows}
    assert last["1"] == last["3"] != last["2"] and all(v for v in last.values())


def test_only_the_points_the_legend_lists_are_marked_on_the_map():
    """Easom's plain: every start there is a degenerate critical point of its own, far more than the
    legend holds; the map marks the listed ones and leaves the rest to the CSV."""
    surface = get_surface("easom")
    bmap = basin_map(surface, "adam", resolution=24, max_steps=50, fused=False)
    points = bmap.points()
    map_size, left, top = 600, 70, 44
    img = np.asarray(render_basin_image(bmap, None, map_size=map_size).convert("RGB")).astype(int)
    rows = (map_size - 25) // 25  # legend rows at this size (font line 19 px + 6)
    assert len(points) > rows + 5
    xmin, xmax, ymin, ymax = bmap.bounds

    def marked(c) -> bool:
        # A marker's black outline crosses the horizontal line through the point, 5-7 px to its left.
        px = left + (c.x - xmin) / (xmax - xmin) * map_size
        py = top + (ymax - c.y) / (ymax - ymin) * map_size
        strip = img[int(round(py)), int(px) - 8:int(px) - 4]
        return bool((strip.sum(axis=1) < 150).any())

    inside = [c for c in points if xmin < c.x < xmax and ymin < c.y < ymax]
    assert marked(inside[0])
    assert not any(marked(c) for c in inside if c.id > len(points) // 2 + rows)


# --------------------------------------------------------------------------------------------------
# The picture is drawn faster than it was, with the very same pixels. The shading as it was written
# before (a float (R, R, 3) copy of the colours, scaled and rounded), kept here as the definition.


def _reference_shaded_colors(bmap, surface):
    from landscape_gui.basin_image import percentiles

    top = int(bmap.labels.max(initial=0))
    lut = np.array([minimum_rgb(i) for i in range(-1, top + 1)], dtype=np.uint8)
    rgb = lut[np.clip(bmap.labels, -1, None) + 1].astype(float)
    if surface is not None:
        gx, gy = np.meshgrid(bmap.xs, bmap.ys, indexing="ij")
        with np.errstate(all="ignore"):
            z = np.asarray(surface.value(np.column_stack([gx.ravel(), gy.ravel()])), dtype=float)
            z = z.reshape(bmap.labels.shape)
            if surface.log_height:
                z = np.log10(z - np.nanmin(z[np.isfinite(z)], initial=0.0) + 1e-3) if np.isfinite(z).any() else z
        finite = np.isfinite(z)
        if finite.any():
            lo, hi = percentiles(z[finite], (1, 99))
            h = np.clip((z - lo) / (hi - lo), 0, 1) if hi > lo else np.zeros_like(z)
            h = np.where(finite, h, 1.0)
            rgb *= (1.0 - 0.35 * h)[..., None]
    return np.clip(np.round(rgb), 0, 255).astype(np.uint8)


def _shading_cases():
    from landscape_gui.core.formula import formula_surface

    cases = []
    for name, opt, bounds in [
        ("himmelblau", "adam", None),
        ("rosenbrock", "rmsprop", None),  # log-height surface, most cells unlabelled
        ("rastrigin", "sgd", None),  # dozens of minima: colours past Tableau 10
        ("easom", "adam", None),  # a plain of thousands of ids; a flat height over most cells
    ]:
        surface = get_surface(name)
        cases.append((surface, basin_map(surface, opt, resolution=37, max_steps=150, bounds=bounds, fused=False)))
    # A formula undefined over part of the view (NaN heights count as high) and one that is flat.
    sqrt = formula_surface("sqrt(x) + (y - 1)**2", bounds=(-2.0, 3.0, -1.0, 3.0))
    cases.append((sqrt, basin_map(sqrt, "sgd", {"lr": 0.05}, resolution=21, max_steps=100, fused=False)))
    flat = formula_surface("0*x + 0*y + 1", bounds=(-1.0, 1.0, -1.0, 1.0))
    cases.append((flat, basin_map(flat, "sgd", resolution=9, max_steps=5, fused=False)))
    return cases


def test_shading_gives_the_pixels_it_gave_before():
    for surface, bmap in _shading_cases():
        for s in (surface, None):
            np.testing.assert_array_equal(shaded_colors(bmap, s), _reference_shaded_colors(bmap, s),
                                          err_msg=f"{surface.name} with surface={s is not None}")
    # Ids far past the named colours (Easom's plain at 256² has ~17,000): the same palette.
    labels = np.array([[-1, 0, 1, 10, 11, 12], [999, 4321, 17156, 23, 5, -1]])
    top = int(labels.max())
    want = np.array([minimum_rgb(i) for i in range(-1, top + 1)], dtype=np.uint8)
    np.testing.assert_array_equal(palette(top), want)
    np.testing.assert_array_equal(label_colors(labels), want[labels + 1])


def test_png_decodes_to_the_drawn_picture_with_the_cells_shaded_as_before():
    from io import BytesIO

    from PIL import Image

    for surface, bmap in _shading_cases()[:2]:
        png = render_basin_png(bmap, surface, map_size=300)
        decoded = Image.open(BytesIO(png))
        assert decoded.mode == "RGB"
        drawn = np.asarray(render_basin_image(bmap, surface, map_size=300))
        np.testing.assert_array_equal(np.asarray(decoded), drawn)
    # With no critical point inside the view nothing is drawn over the map: every map pixel is its
    # cell's colour as the old shading gave it, scaled to the map by nearest neighbour.
    surface = get_surface("himmelblau")
    bmap = basin_map(surface, "adam", {"lr": 0.05}, bounds=(3.3, 4.6, 2.4, 3.7), resolution=23, fused=False)
    assert bmap.points() and not any(3.3 <= c.x <= 4.6 and 2.4 <= c.y <= 3.7 for c in bmap.points())
    img = np.asarray(Image.open(BytesIO(render_basin_png(bmap, surface, map_size=300))))
    cells = np.ascontiguousarray(_reference_shaded_colors(bmap, surface).transpose(1, 0, 2)[::-1])
    want = np.asarray(Image.fromarray(cells, "RGB").resize((300, 300), Image.Resampling.NEAREST))
    # (The y-axis ticks reach into the map's first pixel column.)
    np.testing.assert_array_equal(img[44:44 + 300, 71:70 + 300], want[:, 1:])


@pytest.mark.parametrize("shape", [(1, 1), (2, 5), (17, 3), (120, 333)])
def test_png_encoding_is_lossless(shape):
    from io import BytesIO

    from PIL import Image

    rng = np.random.default_rng(sum(shape))
    rgb = rng.integers(0, 256, size=shape + (3,), dtype=np.uint8)
    rgb[: shape[0] // 2] = rgb[0]  # runs of equal rows, as in a basin picture
    png = encode_png(rgb)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    decoded = Image.open(BytesIO(png))
    decoded.load()  # checks every chunk's CRC and the zlib stream
    np.testing.assert_array_equal(np.asarray(decoded.convert("RGB")), rgb)
