"""Sessions keep the learning-rate schedule and the gradient noise (optional keys)."""

from __future__ import annotations

from pathlib import Path

import pytest

from landscape_gui.core.errors import LandscapeError
from landscape_gui.core.session import Session, load_session, parse_session, save_session


def _base() -> dict:
    return Session("saddle", (-2.0, 2.0, -2.0, 2.0)).to_json()


def test_schedule_and_noise_round_trip(tmp_path: Path) -> None:
    s = Session("saddle", (-2.0, 2.0, -2.0, 2.0), schedule={"name": "cyclic", "mode": "triangular2"},
                noise={"scale": 0.5, "seed": 3})
    path = tmp_path / "s.json"
    save_session(path, parse_session(s.to_json()))
    back = load_session(path)
    assert back.schedule["name"] == "cyclic" and back.schedule["mode"] == "triangular2"
    assert back.schedule["step_size_up"] == 100  # every setting in force is kept, from the declaration
    assert back.noise == {"scale": 0.5, "seed": 3}


def test_sessions_without_them_are_unchanged() -> None:
    data = _base()
    assert "schedule" not in data and "noise" not in data
    s = parse_session(data)
    assert s.schedule is None and s.noise is None


@pytest.mark.parametrize("key, value, message", [
    ("schedule", {"name": "nope"}, "'schedule': unknown schedule 'nope'"),
    ("schedule", {"name": "step", "gamma": "x"}, "'schedule': gamma takes a number"),
    ("schedule", "cosine", "'schedule' must be an object with a 'name'"),
    ("noise", {"scale": -1}, "'noise': noise scale must be a finite number >= 0"),
    ("noise", {"sigma": 1}, "'noise' must be an object with 'scale', 'seed'"),
])
def test_bad_schedule_or_noise_is_named(key, value, message) -> None:
    data = _base()
    data[key] = value
    with pytest.raises(LandscapeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_session(data)
