"""The one job runner: every long computation of the window, off the GUI thread, with progress and cancel.

:class:`JobRunner` runs a function ``fn(progress, should_cancel) -> result`` on its own thread pool.
Runs, surface grids, basin maps, network builds, full-weight-space runs and explanations all go
through it, so the window has one progress bar and one Cancel for all of them. ``progress(fraction)`` and ``should_cancel()`` are the engine's callbacks (``engine.run`` takes
them as ``progress=`` and ``should_cancel=`` and raises ``Cancelled``). Results come back to the GUI
thread through queued signals, so callbacks run where widgets may be touched.

Jobs have a *key*: submitting a job under a key cancels the job still running under it (its result is
dropped), so dragging a learning-rate spin box never queues stale work. :class:`CostModel` predicts a
computation's duration from past ones, so the controller can run short work (< 50 ms) directly and
only pay the thread hop for long work.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
import traceback
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable

import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, Qt, QThreadPool, Signal

from landscape_gui.core.engine import Cancelled

log = logging.getLogger(__name__)

JobFn = Callable[[Callable[[float], None], Callable[[], bool]], Any]


class _Relay(QObject):
    """Carries every worker's progress and end to the GUI thread.

    One relay lives for the whole process (created on the GUI thread with the first runner, never
    deleted), so a worker can always emit on it, even after the runner that started its job is gone:
    a late emit of a cancelled or orphaned job arrives (queued) and is ignored. Only plain numbers
    cross the thread boundary (a task's token and its progress); the relay holds every unfinished
    task, so the job's Python objects are released on the GUI thread."""

    progress = Signal(int, float)  # (token, fraction)
    finished = Signal(int)  # token; the outcome is in the task

    def __init__(self) -> None:
        super().__init__()
        self.unfinished: dict[int, _Task] = {}
        self.progress.connect(self._on_progress, Qt.QueuedConnection)
        self.finished.connect(self._on_finished, Qt.QueuedConnection)

    def _runner(self, task: "_Task") -> "JobRunner | None":
        runner = task.runner() if task.runner is not None else None
        return runner if runner is not None and shiboken6.isValid(runner) else None

    def _on_progress(self, token: int, fraction: float) -> None:
        task = self.unfinished.get(token)
        if task is not None and (runner := self._runner(task)) is not None:
            runner._job_progress(task.job, fraction)

    def _on_finished(self, token: int) -> None:
        task = self.unfinished.pop(token, None)
        if task is None:
            return
        runner, job, outcome = self._runner(task), task.job, task.outcome
        task.fn = task.job = task.outcome = task.runner = None  # nothing of the job stays with the worker
        if runner is not None and outcome is not None:
            runner._job_finished(job, *outcome)


_relay_instance: _Relay | None = None


def _relay() -> _Relay:
    global _relay_instance
    if _relay_instance is None:
        _relay_instance = _Relay()
        app = QCoreApplication.instance()
        if app is not None:  # its slots must run on the GUI thread, wherever the first runner is made
            _relay_instance.moveToThread(app.thread())
    return _relay_instance


_tokens = itertools.count(1)


class _Task:
    """What a worker thread runs: a job's function, its cancel flag and a slot for the outcome.

    The relay holds every task until its end reaches the GUI thread and there empties it, and the
    worker keeps no reference of its own to the function, the result or an exception, so the last
    reference to anything the job made or captured (widgets a callback closes over, arrays,
    tracebacks) is dropped on the GUI thread, never on a worker (Qt objects must die on their own
    thread)."""

    __slots__ = ("token", "fn", "should_cancel", "outcome", "job", "runner")

    def __init__(self, job: "Job", runner: "JobRunner") -> None:
        self.token = next(_tokens)
        self.fn: JobFn | None = job.fn
        self.should_cancel = job.cancel_event.is_set
        self.outcome: tuple[str, Any] | None = None
        self.job: Job | None = job
        self.runner: weakref.ref | None = weakref.ref(runner)

    def run(self) -> None:  # worker thread: no widgets, no Qt object but the relay
        relay = _relay_instance
        token = self.token
        last = [0.0]

        def progress(fraction: float) -> None:
            now = time.perf_counter()
            if now - last[0] > 0.05 or fraction >= 1.0:
                last[0] = now
                relay.progress.emit(token, float(fraction))

        try:
            self.outcome = ("done", self.fn(progress, self.should_cancel))
        except Cancelled:
            self.outcome = ("cancelled", None)
        except BaseException as exc:  # delivered to the GUI thread, shown there
            exc.__traceback_text__ = traceback.format_exc()  # type: ignore[attr-defined]
            self.outcome = ("failed", exc)
        relay.finished.emit(token)


@dataclass(eq=False)
class Job:
    """A submitted computation. ``cancel()`` asks it to stop at its next check."""

    key: str
    label: str
    fn: JobFn
    on_done: Callable[[Any], None]
    on_error: Callable[[BaseException], None] | None = None
    on_cancel: Callable[[], None] | None = None
    cancel_event: threading.Event = field(default_factory=threading.Event)
    fraction: float = 0.0

    def cancel(self) -> None:
        self.cancel_event.set()

    @property
    def cancelled(self) -> bool:
        return self.cancel_event.is_set()


class JobRunner(QObject):
    """Runs jobs on the global thread pool; one live job per key.

    Signals:
        busyChanged(bool): any job running or not.
        progressChanged(str, float): label and fraction (0..1) of the most recent live job.
    """

    busyChanged = Signal(bool)
    progressChanged = Signal(str, float)
    jobFinished = Signal(str, str)
    """(key, outcome) when a job leaves the runner: ``"done"``, ``"failed"`` or ``"cancelled"``
    (a job replaced by a newer one under its key ends ``"cancelled"`` too)."""

    def __init__(self, parent: QObject | None = None, threads: int = 3) -> None:
        super().__init__(parent)
        self._relay = _relay()
        self._live: dict[str, Job] = {}
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(max(1, threads))

    @property
    def busy(self) -> bool:
        return bool(self._live)

    def live_jobs(self) -> list[Job]:
        return list(self._live.values())

    def is_running(self, key: str) -> bool:
        """A job under ``key`` is live (submitted, not finished, not cancelled)."""
        return key in self._live

    def submit(
        self,
        key: str,
        label: str,
        fn: JobFn,
        on_done: Callable[[Any], None],
        on_error: Callable[[BaseException], None] | None = None,
        on_cancel: Callable[[], None] | None = None,
    ) -> Job:
        """Run ``fn`` off the GUI thread; ``on_done(result)`` / ``on_error(exc)`` run on the GUI thread;
        ``on_cancel()`` runs at once when the job is cancelled through :meth:`cancel` (not when a newer
        job replaces it). A job still running under ``key`` is cancelled and its result dropped."""
        old = self._live.pop(key, None)
        if old is not None:
            old.cancel()
            self.jobFinished.emit(key, "cancelled")
        job = Job(key, label, fn, on_done, on_error, on_cancel)
        was_busy = self.busy
        self._live[key] = job
        if not was_busy:
            self.busyChanged.emit(True)
        self.progressChanged.emit(label, 0.0)
        task = _Task(job, self)
        self._relay.unfinished[task.token] = task
        self._pool.start(task.run)
        return job

    def cancel(self, key: str | None = None) -> None:
        """Cancel the job under ``key`` (all jobs when None); the busy state clears at once."""
        keys = list(self._live) if key is None else [key]
        stopped = []
        for k in keys:
            job = self._live.pop(k, None)
            if job is not None:
                job.cancel()
                stopped.append(job)
        if stopped and not self._live:
            self.busyChanged.emit(False)
        elif stopped:
            self._report_latest()
        for job in stopped:
            if job.on_cancel is not None:
                job.on_cancel()
            self.jobFinished.emit(job.key, "cancelled")

    def drop(self, key: str) -> None:
        """Stop the job under ``key`` because its result is no longer wanted (no ``on_cancel``: the
        caller has already moved on)."""
        job = self._live.pop(key, None)
        if job is None:
            return
        job.cancel()
        if not self._live:
            self.busyChanged.emit(False)
        else:
            self._report_latest()
        self.jobFinished.emit(key, "cancelled")

    def wait(self, msecs: int = 30000) -> bool:
        """Block until the pool is idle (shutdown and tests)."""
        return self._pool.waitForDone(msecs)

    def _report_latest(self) -> None:
        if self._live:
            job = list(self._live.values())[-1]
            self.progressChanged.emit(job.label, job.fraction)

    def _finish(self, job: Job) -> bool:
        """Drop ``job`` from the live set; False if it was superseded or cancelled."""
        if self._live.get(job.key) is not job:
            return False
        del self._live[job.key]
        if not self._live:
            self.busyChanged.emit(False)
        else:
            self._report_latest()
        return True

    def _on_done(self, job: Job, result: Any) -> None:
        if self._finish(job):
            try:
                job.on_done(result)
            except Exception as exc:  # a bad result must reach the user as a message, not kill the loop
                exc.__traceback_text__ = traceback.format_exc()  # type: ignore[attr-defined]
                self._deliver_error(job, exc)
                self.jobFinished.emit(job.key, "failed")
                return
            self.jobFinished.emit(job.key, "done")

    def _deliver_error(self, job: Job, exc: BaseException) -> None:
        if job.on_error is not None:
            job.on_error(exc)
        else:
            log.error("background job %r failed:\n%s", job.label, getattr(exc, "__traceback_text__", exc))

    def _on_failed(self, job: Job, exc: BaseException) -> None:
        if not self._finish(job):
            return
        self._deliver_error(job, exc)
        self.jobFinished.emit(job.key, "failed")

    def _on_cancelled(self, job: Job) -> None:
        if self._finish(job):  # stopped by itself (Cancelled raised without our cancel)
            if job.on_cancel is not None:
                job.on_cancel()
            self.jobFinished.emit(job.key, "cancelled")

    def _job_progress(self, job: Job, fraction: float) -> None:
        if self._live.get(job.key) is job:  # a cancelled or replaced job's late progress is ignored
            job.fraction = fraction
            self.progressChanged.emit(job.label, fraction)

    def _job_finished(self, job: Job, outcome: str, payload: Any) -> None:
        if outcome == "done" and not job.cancelled:
            self._on_done(job, payload)
        elif outcome == "failed":
            self._on_failed(job, payload)
        else:
            self._on_cancelled(job)


class CostModel:
    """Predicts the seconds an engine call takes: ``steps * (per_step + per_run_step * n)``, or
    ``steps * single_step`` for one run (the engine steps a lone run on scalars,
    :func:`landscape_gui.core.engine._run_single`, an order of magnitude faster per step than its
    batched loop).

    Starts from figures measured on a slow 2-core machine and follows the measurements of the calls
    it is told about (exponential moving averages), so a heavy surface (a network loss) quickly moves
    its work off the GUI thread.
    """

    def __init__(self, per_step: float = 3e-5, per_run_step: float = 4e-7, single_step: float = 1e-5) -> None:
        self.per_step = per_step
        self.per_run_step = per_run_step
        self.single_step = single_step

    def predict(self, n_runs: int, max_steps: int) -> float:
        if n_runs == 1:
            return max_steps * self.single_step
        return max_steps * (self.per_step + self.per_run_step * n_runs)

    def observe(self, n_runs: int, steps: int, seconds: float) -> None:
        """Learn from a finished call that took ``seconds`` for ``steps`` lockstep iterations."""
        if steps <= 0 or n_runs <= 0:
            return
        per_iter = seconds / steps
        if n_runs == 1:
            self.single_step = 0.7 * self.single_step + 0.3 * per_iter
            return
        estimate = max(per_iter - self.per_step, 0.0) / n_runs
        self.per_run_step = 0.7 * self.per_run_step + 0.3 * max(estimate, 1e-8)
        if n_runs <= 4:
            self.per_step = 0.7 * self.per_step + 0.3 * per_iter
