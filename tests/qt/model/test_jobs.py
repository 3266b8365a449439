"""The one job runner: results on the GUI thread, Cancel at once and deterministic, one live job per key."""

from __future__ import annotations

import threading

from PySide6.QtCore import QThread

from landscape_gui.core.engine import Cancelled
from landscape_gui.qt.model.jobs import JobRunner


def _blocking(release: threading.Event, started: threading.Event):
    def fn(progress, cancelled):
        started.set()
        progress(0.5)
        release.wait(60)
        if cancelled():
            raise Cancelled()
        return "finished"

    return fn


def test_a_job_reports_progress_and_its_result_on_the_gui_thread(qtbot, qapp):
    jobs = JobRunner()
    got, threads = [], []
    jobs.progressChanged.connect(lambda label, f: threads.append(QThread.currentThread()))
    with qtbot.waitSignal(jobs.jobFinished, timeout=20000) as sig:
        jobs.submit("k", "Sum", lambda progress, cancelled: (progress(1.0), 42)[1],
                    lambda r: got.append((r, QThread.currentThread())))
    assert sig.args == ["k", "done"]
    assert got == [(42, qapp.thread())] and all(t is qapp.thread() for t in threads)
    assert not jobs.busy


def test_cancel_takes_effect_at_once_and_the_result_is_dropped(qtbot, qapp):
    jobs = JobRunner()
    release, started = threading.Event(), threading.Event()
    done, cancelled, outcomes = [], [], []
    jobs.jobFinished.connect(lambda key, outcome: outcomes.append(outcome))
    jobs.submit("k", "Long", _blocking(release, started), done.append, on_cancel=lambda: cancelled.append(1))
    qtbot.waitUntil(started.is_set, timeout=20000)
    assert jobs.busy and jobs.is_running("k")
    jobs.cancel()
    assert cancelled == [1] and outcomes == ["cancelled"] and not jobs.busy  # before the worker noticed
    release.set()
    assert jobs.wait(20000)
    qapp.processEvents()
    assert done == [] and outcomes == ["cancelled"]


def test_a_cancelled_job_that_keeps_reporting_moves_no_progress_bar(qtbot, qapp):
    jobs = JobRunner()
    release, started = threading.Event(), threading.Event()
    reported, done = [], []

    def stubborn(progress, cancelled):  # ignores the cancel, reports and returns anyway
        started.set()
        release.wait(60)
        for f in (0.25, 0.5, 0.75, 1.0):
            progress(f)
        return "late"

    jobs.submit("k", "Stubborn", stubborn, done.append)
    qtbot.waitUntil(started.is_set, timeout=20000)
    jobs.cancel("k")
    jobs.progressChanged.connect(lambda label, f: reported.append((label, f)))
    release.set()
    assert jobs.wait(20000)
    qapp.processEvents()
    assert reported == [] and done == [] and not jobs.busy


def test_a_new_job_under_the_same_key_replaces_the_old_one(qtbot, qapp):
    jobs = JobRunner()
    release, started = threading.Event(), threading.Event()
    results = []
    jobs.submit("drag", "Old", _blocking(release, started), results.append)
    qtbot.waitUntil(started.is_set, timeout=20000)
    with qtbot.waitSignal(jobs.jobFinished, timeout=20000, check_params_cb=lambda k, o: o == "done"):
        jobs.submit("drag", "New", lambda progress, cancelled: "new", results.append)
    release.set()
    assert jobs.wait(20000)
    qapp.processEvents()
    assert results == ["new"]


def test_a_failure_reaches_the_error_callback(qtbot):
    jobs = JobRunner()
    errors = []

    def broken(progress, cancelled):
        raise ValueError("bad numbers")

    with qtbot.waitSignal(jobs.jobFinished, timeout=20000) as sig:
        jobs.submit("k", "Broken", broken, lambda r: None, errors.append)
    assert sig.args == ["k", "failed"] and isinstance(errors[0], ValueError)
