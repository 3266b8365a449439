"""Fixtures for the window's model: a controller with no window at all."""

from __future__ import annotations

import pytest


@pytest.fixture
def ctl(qapp):
    """A controller on himmelblau computing on the calling thread (tests of the job runner switch
    ``force_sync`` off)."""
    from landscape_gui.qt.model.controller import Controller

    c = Controller()
    c.force_sync = True
    yield c
    c.cancel()
    c.jobs.wait(20000)
