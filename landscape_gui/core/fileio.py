"""Writing output files so that nothing a user owns is lost, and reading text files with limits.

Where output goes depends on what the path names (checked by :func:`check_output` before any work):

* ``-``: standard output, written through.
* a FIFO or a character device (``/dev/null``, a terminal): opened and written through, never
  replaced (replacing a FIFO would leave its reader waiting forever; replacing ``/dev/null`` would
  turn the device into a file).
* a regular file, a file that does not exist yet, or a symbolic link to either: written *atomically*.
  The link is resolved first (the link stays, its target is replaced); the data goes to a temporary
  file ``.NAME.landscape-tmp-PID`` in the target's own folder (so the final ``os.replace`` is a
  rename within one file system), is flushed and fsync'ed, given the permissions of the file it
  replaces, then renamed over the target. A failure or an interruption leaves the old file as it was.
* a folder, a block device, a socket, a missing folder or one without write permission: refused with a
  :class:`LandscapeError` naming the path, before anything is computed.

Temporary files are removed on an exception, on Ctrl+C (``KeyboardInterrupt``) and on SIGTERM/SIGHUP
(a handler installed while a temporary file exists, when writing from the main thread, or while the
main thread holds :func:`cleanup_on_signals` open for files that worker threads write). A process
killed outright (``kill -9``) cannot clean up: its ``.NAME.landscape-tmp-PID`` stays until the next
write to the same target, which removes every such file whose process no longer exists.

The same discipline as ``atomicwrites``/``python-atomicwrites`` and Git's lock files; see also
"Ensuring data reaches disk" (LWN, 2011) for why the fsync comes before the rename.
"""

from __future__ import annotations

import contextlib
import errno
import io
import itertools
import json
import os
import re
import signal
import stat
import sys
import threading
from typing import IO, Any, Iterator

from landscape_gui.core.errors import LandscapeError

TEMP_MARK = ".landscape-tmp-"
"""Temporary files are named ``.<target name>.landscape-tmp-<pid>[-<n>]`` beside the target."""

STDOUT = "-"

_active: set[str] = set()
"""Temporary files currently being written by this process (removed by the signal handler)."""
_active_lock = threading.Lock()
_counter = itertools.count(1)
_previous_handlers: dict[int, Any] = {}
_CLEANUP_SIGNALS = tuple(s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if s)


# --------------------------------------------------------------------------------------------------
# Where output goes


class OutputTarget:
    """A validated output location (see the module docstring).

    Attributes:
        given: the path as the user gave it (for messages).
        kind: ``"stdout"``, ``"stream"`` (FIFO or character device, written through) or ``"file"``
            (written atomically).
        path: for ``"file"``: the real path written (symbolic links resolved); else the given path.
    """

    __slots__ = ("given", "kind", "path")

    def __init__(self, given: str, kind: str, path: str) -> None:
        self.given, self.kind, self.path = given, kind, path

    def __repr__(self) -> str:
        return f"OutputTarget({self.given!r}, {self.kind!r}, {self.path!r})"


def _fail(given: str, why: str) -> LandscapeError:
    return LandscapeError(f"cannot write {given}: {why}")


def check_output(path: str | os.PathLike[str]) -> OutputTarget:
    """Decide how ``path`` will be written, refusing what cannot be, without writing anything.

    Cheap (a few ``stat`` calls): meant to run before a long computation so that a bad ``-o`` fails
    at once. Raises :class:`LandscapeError` naming the path and the reason.
    """
    given = os.fspath(path)
    if given == STDOUT:
        return OutputTarget(given, "stdout", given)
    if given == "" or "\x00" in given:
        raise _fail(repr(given), "not a file name")
    try:
        st = os.stat(given)
    except FileNotFoundError:
        st = None
    except NotADirectoryError:
        raise _fail(given, "a part of the path is not a folder") from None
    except OSError as exc:
        raise _fail(given, exc.strerror or str(exc)) from None
    if st is not None:
        mode = st.st_mode
        if stat.S_ISDIR(mode):
            raise _fail(given, "it is a folder; give a file name")
        if stat.S_ISFIFO(mode) or stat.S_ISCHR(mode):
            if not os.access(given, os.W_OK):
                raise _fail(given, "permission denied")
            return OutputTarget(given, "stream", given)
        if not stat.S_ISREG(mode):
            raise _fail(given, "not a regular file, FIFO or character device")
    real = os.path.realpath(given)
    if given.endswith(os.sep) or (os.altsep and given.endswith(os.altsep)):
        raise _fail(given, "ends with a slash; give a file name")
    folder = os.path.dirname(real) or "."
    if not os.path.isdir(folder):
        raise _fail(given, f"folder {folder} does not exist")
    if st is not None and not os.access(real, os.W_OK):
        raise _fail(given, "the file is read-only")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise _fail(given, f"no permission to write in folder {folder}")
    return OutputTarget(given, "file", real)


# --------------------------------------------------------------------------------------------------
# Temporary files: naming, stale ones, signals


_TEMP_RE = re.compile(r"\.landscape-tmp-(\d+)(?:-\d+)?$")


def _temp_prefix(name: str) -> str:
    """``.NAME.landscape-tmp-`` (NAME shortened so that the whole stays within 255 bytes)."""
    room = 255 - len(TEMP_MARK) - 1 - 24  # the dot, "PID-N"
    while len(name.encode("utf-8", "surrogateescape")) > room:
        name = name[:-1]
    return f".{name}{TEMP_MARK}"


def temp_name(target: str) -> str:
    """A fresh temporary path beside ``target``: ``.NAME.landscape-tmp-PID-N``."""
    folder, name = os.path.split(target)
    return os.path.join(folder, f"{_temp_prefix(name)}{os.getpid()}-{next(_counter)}")


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # somebody else's live process
    except OSError:
        return True  # cannot tell: leave the file alone
    return True


def remove_stale_temps(target: str) -> list[str]:
    """Remove temporary files of ``target`` left by processes that no longer exist; return them.

    Only names of the form ``.NAME.landscape-tmp-PID[-N]`` in the target's folder are considered, and
    only when process PID is gone; files of live processes (another write in progress) stay.
    """
    folder, name = os.path.split(target)
    prefix = _temp_prefix(name)
    removed: list[str] = []
    try:
        entries = list(os.scandir(folder or "."))
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(prefix):
            continue
        m = _TEMP_RE.search(entry.name)
        if m is None or entry.name[: m.start()] + TEMP_MARK != prefix:
            continue
        pid = int(m.group(1))
        with _active_lock:
            ours = entry.path in _active
        if ours or (pid != os.getpid() and _pid_alive(pid)):
            continue
        try:
            if entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)
                removed.append(entry.path)
        except OSError:
            pass
    return removed


def _cleanup_active() -> None:
    with _active_lock:
        paths = list(_active)
        _active.clear()
    for p in paths:
        try:
            os.unlink(p)
        except OSError:
            pass


def _on_signal(signum: int, frame: Any) -> None:
    """Remove our temporary files, then do what the signal would have done without us."""
    _cleanup_active()
    previous = _previous_handlers.get(signum, signal.SIG_DFL)
    if callable(previous):
        previous(signum, frame)
        return
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


def _install_handlers() -> None:
    """Install :func:`_on_signal` for SIGTERM/SIGHUP (main thread only; kept where already ours)."""
    for s in _CLEANUP_SIGNALS:
        try:
            prev = signal.getsignal(s)
            if prev is signal.SIG_IGN or prev is _on_signal:
                continue
            _previous_handlers[s] = prev
            signal.signal(s, _on_signal)
        except (ValueError, OSError):
            pass


def _restore_handlers() -> None:
    """Put back the handlers :func:`_install_handlers` replaced (main thread only)."""
    for s, prev in list(_previous_handlers.items()):
        try:
            if signal.getsignal(s) is _on_signal:
                signal.signal(s, prev if prev is not None else signal.SIG_DFL)
        except (ValueError, OSError):
            pass
        _previous_handlers.pop(s, None)


def _register(tmp: str) -> None:
    with _active_lock:
        _active.add(tmp)
    if threading.current_thread() is threading.main_thread():
        _install_handlers()  # idempotent: also when a worker's file or a held block came first


def _unregister(tmp: str) -> None:
    with _active_lock:
        _active.discard(tmp)
        last = not _active and _holds == 0
    if last and threading.current_thread() is threading.main_thread():
        _restore_handlers()


_holds = 0
"""Open :func:`cleanup_on_signals` blocks (their handler stays installed while any is open)."""


@contextlib.contextmanager
def cleanup_on_signals() -> Iterator[None]:
    """Keep the SIGTERM/SIGHUP handler that removes this process's temporary files installed for the
    block, so that files written by *other* threads inside it are removed on those signals too.

    Python runs signal handlers in the main thread only, so a worker thread cannot install the
    handler itself; the main thread opens this block around the work it hands to workers (as
    :func:`landscape_gui.core.basins.write_basin_outputs` does while it draws the picture)."""
    global _holds
    main = threading.current_thread() is threading.main_thread()
    with _active_lock:
        _holds += 1
    if main:
        _install_handlers()
    try:
        yield
    finally:
        with _active_lock:
            _holds -= 1
            last = not _active and _holds == 0
        if last and main:
            _restore_handlers()


# --------------------------------------------------------------------------------------------------
# Writing


@contextlib.contextmanager
def open_output(
    path: str | os.PathLike[str] | OutputTarget, *, binary: bool = False, buffering: int = 1 << 20
) -> Iterator[IO[Any]]:
    """Open an output for writing, the safe way for what it is (module docstring).

    Use as ``with open_output(path) as fh: fh.write(...)``. A regular file appears (atomically)
    only when the block ends without an exception; on an exception or an interruption the temporary
    file is removed and the old file is untouched. Text mode writes UTF-8 with ``\\n`` line ends.
    Problems raise :class:`LandscapeError` naming the path.
    """
    target = path if isinstance(path, OutputTarget) else check_output(path)
    if target.kind == "stdout":
        stream: IO[Any] = sys.stdout.buffer if binary else sys.stdout
        yield stream
        stream.flush()
        return
    if target.kind == "stream":
        try:
            fh = open(target.path, "wb" if binary else "w", encoding=None if binary else "utf-8",
                      newline=None if binary else "")
        except OSError as exc:
            raise _fail(target.given, exc.strerror or str(exc)) from None
        with fh:
            yield fh
        return

    final = target.path
    remove_stale_temps(final)
    tmp = temp_name(final)
    _register(tmp)
    try:
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
        except OSError as exc:
            raise _fail(target.given, exc.strerror or str(exc)) from None
        raw = os.fdopen(fd, "wb", buffering=buffering)
        fh = raw if binary else io.TextIOWrapper(raw, encoding="utf-8", newline="", write_through=False)
        try:
            yield fh
            fh.flush()
            os.fsync(raw.fileno())
        finally:
            fh.close()
        _copy_mode(final, tmp)
        os.replace(tmp, final)
    except OSError as exc:
        if exc.errno == errno.EPIPE:
            raise
        raise _fail(target.given, exc.strerror or str(exc)) from None
    finally:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        except OSError:
            pass
        _unregister(tmp)


def _copy_mode(final: str, tmp: str) -> None:
    """Give ``tmp`` the permissions of the file it replaces, or the usual ``0o666 & ~umask``."""
    try:
        mode = os.stat(final).st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    try:
        os.chmod(tmp, mode)
    except OSError:
        pass


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` (atomically for regular files; see :func:`open_output`).

    Raises :class:`LandscapeError` naming the path when it cannot be written; the destination is
    then untouched.
    """
    with open_output(path, binary=True) as fh:
        fh.write(data)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """UTF-8 text version of :func:`atomic_write_bytes` (newlines written as given)."""
    atomic_write_bytes(path, text.encode("utf-8"))


# --------------------------------------------------------------------------------------------------
# Reading with limits

MAX_NUMBER_CHARS = 100
"""A number cell longer than this is refused (a 5,000-digit "number" is not data)."""

MAX_JSON_DEPTH = 32
"""Nesting depth of JSON objects/arrays accepted in sessions and ``params`` cells."""

_NUMBER_RE = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def parse_number(text: str) -> float:
    """A decimal number as written in CSV files (``-1.5``, ``2e-3``, ``.5``), as a finite float.

    Stricter than ``float()``: no underscores, no ``nan``/``inf`` words, no non-ASCII digits, at
    most :data:`MAX_NUMBER_CHARS` characters. Raises ``ValueError`` with a short reason.
    """
    s = text.strip()
    if len(s) > MAX_NUMBER_CHARS:
        raise ValueError(f"a number of {len(s)} characters (at most {MAX_NUMBER_CHARS})")
    if not _NUMBER_RE.fullmatch(s):
        if s.lower().lstrip("+-") in ("inf", "infinity", "nan"):
            raise ValueError(f"must be a finite number, found {_short(text)}")
        raise ValueError(f"expected a number, found {_short(text)}")
    v = float(s)
    if v in (float("inf"), float("-inf")):
        raise ValueError(f"{_short(text)} is too large for a double")
    return v


def _short(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "…")


_JSON_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|[\[\]{}\n]')


def json_line_of(text: str, offset: int) -> int:
    """1-based line number of character ``offset`` of ``text``."""
    return text.count("\n", 0, offset) + 1


def check_json_depth(text: str, limit: int = MAX_JSON_DEPTH) -> tuple[int, int] | None:
    """``(line, depth)`` where JSON ``text`` first nests deeper than ``limit``, or ``None``.

    A scan for brackets outside strings (``json.loads`` recurses once per level and would raise
    RecursionError on a file nested 100,000 deep).
    """
    depth = 0
    line = 1
    for m in _JSON_TOKEN.finditer(text):
        t = m.group()
        if t == "\n":
            line += 1
        elif t in "[{":
            depth += 1
            if depth > limit:
                return line, depth
        elif t in "]}":
            depth -= 1
        else:
            line += t.count("\n")
    return None


_JSON_LOC_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|[\[\]{}:,\n]|[^\s\[\]{}:,"]+')


def json_locations(text: str, max_depth: int = 3) -> dict[tuple, int]:
    """Line of every key and array element of JSON ``text`` down to ``max_depth`` levels.

    ``{("runs", 2, "start"): 14, ...}``: paths as ``json.loads`` would index the decoded value. Meant
    for error messages of readers that validate a decoded document ("line 14: run 3 ...").
    """
    out: dict[tuple, int] = {}
    stack: list[list] = []  # per open container: ["obj", key] or ["arr", index, expecting a value]
    line = 1
    last_string: str | None = None
    for m in _JSON_LOC_TOKEN.finditer(text):
        t = m.group()
        if t == "\n":
            line += 1
            continue
        top = stack[-1] if stack else None
        if top is not None and top[0] == "arr" and top[2] and t not in ",]":
            top[2] = False
            path = tuple(f[1] for f in stack)
            if len(path) <= max_depth:
                out.setdefault(path, line)
        if t == ":":
            if top is not None and top[0] == "obj" and last_string is not None:
                try:
                    top[1] = json.loads(last_string)
                except ValueError:
                    top[1] = last_string
                path = tuple(f[1] for f in stack)
                if len(path) <= max_depth:
                    out.setdefault(path, line)
        elif t == "{":
            stack.append(["obj", None])
        elif t == "[":
            stack.append(["arr", 0, True])
        elif t in "]}":
            if stack:
                stack.pop()
        elif t == ",":
            if top is not None and top[0] == "arr":
                top[1] += 1
                top[2] = True
        last_string = t if t.startswith('"') else None
    return out


def strip_bom(text: str) -> str:
    """Drop a UTF-8 byte-order mark (spreadsheets write one) at the start of ``text``."""
    return text[1:] if text.startswith("\ufeff") else text


__all__ = [
    "MAX_JSON_DEPTH",
    "MAX_NUMBER_CHARS",
    "OutputTarget",
    "STDOUT",
    "TEMP_MARK",
    "atomic_write_bytes",
    "atomic_write_text",
    "check_json_depth",
    "check_output",
    "cleanup_on_signals",
    "json_line_of",
    "json_locations",
    "open_output",
    "parse_number",
    "remove_stale_temps",
    "strip_bom",
    "temp_name",
]
