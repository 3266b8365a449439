"""``launch(screenshot=...)``: the window with finished runs saved as PNG; user errors exit 2."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage

from landscape_gui.qt.app import launch


def test_screenshot_writes_a_non_blank_png(tmp_path):
    out = tmp_path / "shot.png"
    rc = launch(surface="himmelblau", optimizer="momentum", hyperparameters={"lr": 0.003},
                starts=[(0.0, 0.0), (-1.0, 4.0)], screenshot=str(out))
    assert rc == 0
    img = QImage(str(out))
    assert img.width() >= 800 and img.height() >= 600
    img = img.convertToFormat(QImage.Format_RGB32)
    arr = np.frombuffer(img.constBits(), dtype=np.uint8).reshape(img.height(), img.bytesPerLine())
    arr = arr[:, : img.width() * 4].reshape(img.height(), img.width(), 4)[:, :, :3]
    colours = np.unique(arr[::4, ::4].reshape(-1, 3), axis=0)
    assert len(colours) > 500  # heat map, shaded surface, text: far from a blank window
    # the 3-D view is not blank either: its left half holds many colours of the shaded mesh
    h, w = arr.shape[:2]
    centre = arr[h // 4 : h // 2, w // 4 : w // 2]
    assert len(np.unique(centre.reshape(-1, 3), axis=0)) > 100


def test_screenshot_with_a_bad_surface_exits_2_with_one_line(tmp_path, capsys):
    out = tmp_path / "shot.png"
    rc = launch(surface="no_such_surface", screenshot=str(out))
    assert rc == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no_such_surface" in err[0]
    assert not out.exists()


def test_screenshot_with_a_bad_hyperparameter_exits_2(tmp_path, capsys):
    rc = launch(surface="himmelblau", optimizer="sgd", hyperparameters={"lr": -1},
                screenshot=str(tmp_path / "x.png"))
    assert rc == 2
    assert "lr" in capsys.readouterr().err
