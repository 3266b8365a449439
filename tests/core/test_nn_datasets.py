"""Built-in datasets and CSV loading."""

from __future__ import annotations

import numpy as np
import pytest

from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.nn.datasets import BUILTIN_DATASETS, load_csv, make_dataset


@pytest.mark.parametrize("name", list(BUILTIN_DATASETS))
def test_builtin_sets_are_deterministic_and_well_formed(name):
    a = make_dataset(name, 60, seed=4)
    b = make_dataset(name, 60, seed=4)
    c = make_dataset(name, 60, seed=5)
    assert np.array_equal(a.X, b.X) and np.array_equal(a.y, b.y)
    assert not np.array_equal(a.X, c.X) or not np.array_equal(a.y, c.y)
    assert a.X.shape == (60, 2 if a.task != "regression" else 1) and a.y.shape == (60,)
    if a.task == "binary":
        assert set(np.unique(a.y)) == {0.0, 1.0}
    if name == "blobs":
        assert a.task == "multiclass" and a.n_classes == 3


def test_xor_labels_follow_quadrants():
    d = make_dataset("xor", 100, noise=0.0, seed=1)
    assert np.array_equal(d.y, (d.X[:, 0] * d.X[:, 1] < 0).astype(float))


def write(tmp_path, text):
    p = tmp_path / "data.csv"
    p.write_text(text)
    return p


def test_csv_with_header_and_named_target(tmp_path):
    p = write(tmp_path, "a,label,b\n1,0,2\n3,1,4\n\n5,1,6\n")
    d = load_csv(p, target="label")
    assert d.feature_names == ("a", "b") and d.target_name == "label"
    assert np.array_equal(d.X, [[1, 2], [3, 4], [5, 6]]) and np.array_equal(d.y, [0, 1, 1])
    assert d.task == "binary"


def test_csv_without_header_defaults_to_last_column_and_regression(tmp_path):
    d = load_csv(write(tmp_path, "0.5,1.25\n1.0,2.5\n1.5,3.75\n"))
    assert d.task == "regression" and np.array_equal(d.y, [1.25, 2.5, 3.75])


def test_csv_class_labels_renumbered(tmp_path):
    d = load_csv(write(tmp_path, "x,y,c\n0,0,5\n1,1,7\n2,2,9\n"))
    assert d.task == "multiclass" and np.array_equal(d.y, [0, 1, 2])


@pytest.mark.parametrize(
    "text,target,message",
    [
        ("", None, "the file is empty"),
        ("x,y\n1,2\n3,oops\n", None, r"line 3, column 2 \(y\): 'oops' is not a number"),
        ("x,y\n1,2\n3,4,5\n", None, "line 3 has 3 fields, expected 2"),
        ("x,y\n1,2\n", "z", "no target column 'z'; columns are: x, y"),
        ("x,y\n", None, "no data rows after the header on line 1"),
        ("1\n2\n", None, "need at least one feature and a target"),
    ],
)
def test_csv_errors_name_line_and_column(tmp_path, text, target, message):
    with pytest.raises(LandscapeError, match=message):
        load_csv(write(tmp_path, text), target=target)


def test_missing_file(tmp_path):
    with pytest.raises(LandscapeError, match="no such file"):
        load_csv(tmp_path / "nope.csv")


@pytest.mark.parametrize(
    "text, message",
    [
        ("x,y\n1,2\n3," + "9" * 5000 + "\n", r"line 3, column 2 \(y\): a number of 5000 characters"),
        ("x,y\n1,2\n3,nan\n", r"line 3, column 2 \(y\): must be a finite number"),
        ("x,y\n1,2\n3,1e999\n", r"line 3, column 2 \(y\): '1e999' is too large"),
        ("x,y\n1,2\n3,1_0\n", r"line 3, column 2 \(y\): '1_0' is not a number"),
        ("x,y\n1,2\n3,²\n", r"line 3, column 2 \(y\): '²' is not a number"),
        ('x,y\n1,2\n3,"4\n', r"line 3: malformed CSV \(unexpected end of data\)"),
    ],
)
def test_csv_values_are_plain_finite_decimals(tmp_path, text, message):
    with pytest.raises(LandscapeError, match=message):
        load_csv(write(tmp_path, text))


def test_csv_with_a_bom_and_trailing_blank_lines_loads(tmp_path):
    p = tmp_path / "bom.csv"
    p.write_bytes(b"\xef\xbb\xbfx,label\r\n0.5,0\r\n1.5,1\r\n\r\n\r\n")
    d = load_csv(p)
    assert d.feature_names == ("x",) and d.target_name == "label" and d.y.tolist() == [0.0, 1.0]


def test_csv_that_is_not_utf8_names_the_line(tmp_path):
    p = tmp_path / "latin.csv"
    p.write_bytes(b"x,y\n1,2\n3,\xe9\n")
    with pytest.raises(LandscapeError, match="line 3: not UTF-8"):
        load_csv(p)
