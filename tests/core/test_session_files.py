"""Session files as a hostile or careless user writes them: every problem named with file and line."""

from __future__ import annotations

import json

import pytest

from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.session import Session, load_session, save_session


def good() -> dict:
    return Session("himmelblau", (-5.0, 5.0, -5.0, 5.0), runs=[("sgd", 1.0, 2.0), ("adam", -1.0, 0.5)]).to_json()


def write(tmp_path, data, *, raw: str | None = None, bom: bool = False):
    p = tmp_path / "s.json"
    text = raw if raw is not None else json.dumps(data, indent=2) + "\n"
    p.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return p


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def test_a_saved_session_reads_back_with_and_without_a_bom(tmp_path):
    s = Session("booth", (-1.0, 2.0, -3.0, 4.0), optimizer="adam", runs=[("adam", 0.5, 0.25)])
    p = tmp_path / "a.json"
    save_session(p, s)
    assert load_session(p) == s
    p.write_bytes(b"\xef\xbb\xbf" + p.read_bytes())
    assert load_session(p) == s


@pytest.mark.parametrize(
    "change, key, message",
    [
        ({"max_steps": 10_000_000}, '"max_steps"', "'max_steps' must be a whole number from 1 to 1,000,000"),
        ({"max_steps": 0}, '"max_steps"', "from 1 to 1,000,000"),
        ({"bounds": [-1e308, 1e308, -5, 5]}, '"bounds"', "within ±1e+06"),
        ({"bounds": [5, -5, -5, 5]}, '"bounds"', "XMIN < XMAX"),
        ({"surface": "nosuch"}, '"surface"', "unknown surface 'nosuch'; choose one of: himmelblau"),
        ({"surface": "x +* y"}, '"surface"', "not a valid formula"),
        ({"version": True}, '"version"', "unsupported session version True"),
        ({"version": 1.0}, '"version"', "unsupported session version 1.0"),
        ({"optimizer": "nosuch"}, '"optimizer"', "unknown optimizer 'nosuch'"),
        ({"hyperparameters": {"sgd": {"lr": -1}}}, '"lr": -1', "lr must be in (0, inf)"),
        ({"hyperparameters": {"sgd": {"lr": [1]}}}, '"lr"', "lr must be a number or true/false"),
        ({"tol": -1}, '"tol"', "'tol' must be >= 0"),
    ],
)
def test_values_the_window_cannot_show_are_refused_with_the_line(tmp_path, change, key, message):
    data = good()
    data.update(change)
    p = write(tmp_path, data)
    with pytest.raises(LandscapeError) as err:
        load_session(p)
    text = p.read_text()
    assert str(err.value).startswith(f"session {str(p)!r}, line {line_of(text, key)}: ")
    assert message in str(err.value)


def test_a_bad_run_is_named_by_number_and_line(tmp_path):
    data = good()
    data["runs"][1]["start"] = [1, "two"]
    p = write(tmp_path, data)
    with pytest.raises(LandscapeError) as err:
        load_session(p)
    text = p.read_text()
    second_start = text.index('"start"', text.index('"start"') + 1)
    assert f"line {text[:second_start].count(chr(10)) + 1}: run 2 start y must be a finite number" in str(err.value)


@pytest.mark.parametrize(
    "raw, message",
    [
        ("[" * 100_000 + "]" * 100_000, "line 1: nested more than 32 levels deep"),
        ('{"format": "landscape-gui session",\n "version": 1, "x": ' + "[" * 5000 + "]" * 5000 + "}",
         "line 2: nested more than 32"),
        ('{"format": "landscape-gui session", "version": 1, "tol": ' + "1" * 5000 + "}", "a number of 5000 characters"),
        ('{"format": "landscape-gui session", "version": 1, "tol": NaN}', "NaN is not a number JSON allows"),
        ('{"format": "landscape-gui session",\n\n "version": 1,,}', "line 3: not valid JSON"),
        ("", "line 1: not valid JSON"),
    ],
)
def test_malformed_files_give_our_error_never_a_raw_one(tmp_path, raw, message):
    p = write(tmp_path, None, raw=raw)
    with pytest.raises(LandscapeError) as err:
        load_session(p)
    assert message in str(err.value) and str(p) in str(err.value)


def test_binary_and_missing_files(tmp_path):
    p = tmp_path / "b.json"
    p.write_bytes(b'{"format":\n "\xff"}')
    with pytest.raises(LandscapeError, match="line 2: not UTF-8"):
        load_session(p)
    with pytest.raises(LandscapeError, match="cannot read session"):
        load_session(tmp_path / "missing.json")
    with pytest.raises(LandscapeError, match="it is a folder"):
        load_session(tmp_path)
