"""Plugin registries: built-ins by name, then what installed distributions declare as entry points.

Optimizers (entry-point group ``landscape_gui.optimizers``) and learning-rate schedules
(``landscape_gui.schedules``) are found the same way, each by one :class:`Registry`:

- The installed entry points of the group are listed and loaded once per process, on first use
  (:meth:`Registry.reload` forgets them). :data:`PLUGINS_ENV` chooses which: unset or ``all`` = every
  one, ``none`` = none, otherwise a comma-separated list of entry-point names.
- Whatever a plugin raises while loading (``SystemExit`` included; only ``KeyboardInterrupt``
  passes) makes that plugin unavailable and is recorded once, with its name, in
  :meth:`Registry.errors`; the other plugins and the built-ins are unaffected. What it prints while
  loading goes to standard error, never into a CSV written to standard output.
- A plugin whose name a built-in or an earlier plugin already has is ignored, with a message.

**Listing without importing importlib.metadata.** :func:`importlib.metadata.entry_points` imports
``email``, ``zipfile``, ``csv`` and more (about half as long as numpy's own import) and reads every
installed distribution's metadata, for an answer that changes only when distributions are
installed, upgraded or removed. :func:`entry_points` therefore keeps the answer in a small file
beside the kernel cache (:func:`landscape_gui.core.cachedir.cache_dir`), keyed by the distributions
on ``sys.path``: every path entry, the name of every ``*.dist-info`` / ``*.egg-info`` in it, the
modification time of that folder and the size and time of its ``entry_points.txt`` (``pip`` writes
these afresh on every install, upgrade and uninstall), and the size and time of zip and egg files on
the path. A process whose key matches reads the list from that file; any difference (a ``pip
install``, an edited ``entry_points.txt``) lists afresh with importlib.metadata and rewrites it. The
file keeps the listings of the last few keys (:data:`_KEEP`): a console script and ``python -m`` run
from another folder see different paths. When an import hook other than Python's own path finder
(or the ``importlib_metadata`` backport's, which reads the same paths) can list distributions
(``find_distributions`` on ``sys.meta_path``), the file is not used.
"""

from __future__ import annotations

import _thread
import contextlib
import os
import sys
from typing import Any, Callable, Generic, TypeVar

from landscape_gui.core.errors import LandscapeError

PLUGINS_ENV = "LANDSCAPE_GUI_PLUGINS"
"""Which installed plugins to load: unset or ``all`` = every one; ``none`` = none; otherwise a
comma-separated list of entry-point names (the project's tests set ``none`` so that plugins installed
in the same environment do not change their results)."""

CACHE_FILE = "entry-points.txt"
"""Name of the list of installed entry points, in ``cache_dir().parent``."""

_HEADER = "landscape-gui entry points 1"

T = TypeVar("T")


def wanted_names() -> set[str] | None:
    """The entry-point names :data:`PLUGINS_ENV` allows: ``None`` = every one, an empty set = none."""
    wanted = os.environ.get(PLUGINS_ENV, "all").strip()
    if wanted.lower() == "none":
        return set()
    if wanted.lower() in ("", "all"):
        return None
    return {w.strip() for w in wanted.split(",") if w.strip()}


# --------------------------------------------------------------------------------------------------
# Listing entry points


def _stamp(path: str) -> str:
    try:
        st = os.stat(path)
    except OSError:
        return "-"
    return f"{st.st_size}.{st.st_mtime_ns}"


def distribution_key() -> str | None:
    """What the installed entry points depend on (module docstring), as one line of text; ``None``
    when it cannot be told cheaply (an import hook that lists distributions of its own)."""
    from importlib.machinery import PathFinder

    for finder in sys.meta_path:
        if finder is PathFinder or not callable(getattr(finder, "find_distributions", None)):
            continue
        kind = type(finder)
        if (kind.__module__, kind.__name__) == ("importlib_metadata", "MetadataPathFinder"):
            continue  # the importlib_metadata backport's own finder (dask installs it): reads sys.path too
        return None
    parts = [_HEADER]
    for entry in sys.path:
        if not isinstance(entry, str):
            continue
        parts.append("P" + entry)
        root = entry or "."  # importlib.metadata reads "" as the current folder
        try:
            with os.scandir(root) as it:
                names = sorted(e.name for e in it if e.name.lower().endswith((".dist-info", ".egg-info")))
        except NotADirectoryError:  # a zip or egg file
            parts.append("F" + _stamp(root))
            continue
        except OSError:
            parts.append("-")
            continue
        for name in names:
            folder = os.path.join(root, name)
            parts.append(f"{name}:{_stamp(folder)}:{_stamp(os.path.join(folder, 'entry_points.txt'))}")
        if root.lower().endswith(".egg"):
            parts.append("EGG-INFO:" + _stamp(os.path.join(root, "EGG-INFO", "entry_points.txt")))
    key = "\x1f".join(parts)
    return None if ("\n" in key or "\t" in key) else key


def _cache_path() -> str:
    from landscape_gui.core.cachedir import cache_folder

    return os.path.join(os.path.dirname(os.path.abspath(cache_folder())), CACHE_FILE)


_KEEP = 8
"""Listings kept in the cache file, one per distribution key (a console script, ``python -m`` from
another folder and a second virtual environment each see a different ``sys.path``)."""

Listing = dict[str, list[tuple[str, str]]]


def _read_cache(path: str) -> list[tuple[str, Listing]]:
    """Every ``(key, {group: [(name, value), ...]})`` block in the cache file, newest first; nothing if
    the file is missing or not one of ours."""
    try:
        with open(path, encoding="utf-8") as fh:
            lines = fh.read().split("\n")
    except (OSError, UnicodeDecodeError):
        return []
    if not lines or lines[0] != _HEADER:
        return []
    blocks: list[tuple[str, Listing]] = []
    for line in lines[1:]:
        f = line.split("\t")
        if f[0] == "K" and len(f) == 2:
            blocks.append((f[1], {}))
        elif f[0] == "G" and len(f) == 2 and blocks:
            blocks[-1][1].setdefault(f[1], [])
        elif f[0] == "E" and len(f) == 4 and blocks:
            blocks[-1][1].setdefault(f[1], []).append((f[2], f[3]))
        elif line:
            return []  # not written by us: list afresh
    return blocks


def _write_cache(path: str, blocks: list[tuple[str, Listing]]) -> None:
    lines = [_HEADER]
    for key, groups in blocks[:_KEEP]:
        texts = [key] + [s for g, eps in groups.items() for s in (g, *(x for ep in eps for x in ep))]
        if any("\t" in t or "\n" in t for t in texts):
            continue  # not representable in this format: listed afresh each time
        lines.append("K\t" + key)
        for group, eps in groups.items():
            lines.append(f"G\t{group}")
            lines.extend(f"E\t{group}\t{name}\t{value}" for name, value in eps)
    tmp = f"{path}.{os.getpid()}.{_thread.get_ident()}.tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")
        os.replace(tmp, path)
    except OSError:  # a read-only cache folder: list afresh next time
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def entry_points(group: str) -> list[tuple[str, str]]:
    """``(name, value)`` of every installed entry point of ``group``, as
    ``importlib.metadata.entry_points(group=group)`` lists them (``value`` is ``"module:attr"``),
    read from the cache file while the installed distributions are unchanged (module docstring)."""
    key = distribution_key()
    path = ""
    blocks: list[tuple[str, Listing]] = []
    if key is not None:
        path = _cache_path()
        blocks = _read_cache(path)
        for k, groups in blocks:
            if k == key and group in groups:
                return list(groups[group])
    from importlib import metadata

    found = [(ep.name, ep.value) for ep in metadata.entry_points(group=group)]
    if key is not None:
        mine = next((groups for k, groups in blocks if k == key), {})
        mine[group] = found
        _write_cache(path, [(key, mine)] + [(k, g) for k, g in blocks if k != key])
    return found


# --------------------------------------------------------------------------------------------------
# Registries


class _Loaded(Generic[T]):
    """One listing of a group's plugins: what loaded, and what did not and why."""

    def __init__(self) -> None:
        self.plugins: dict[str, T] = {}
        self.errors: list[str] = []
        self.failed: dict[str, str] = {}
        """Entry-point name -> why that plugin is unavailable."""


def failure_detail(exc: BaseException) -> str:
    """How a plugin's failure reads in a message: ``it called exit(3)``, a
    :class:`~landscape_gui.core.errors.LandscapeError`'s own words, else ``Type: message``."""
    if isinstance(exc, SystemExit):
        return f"it called exit({exc.code!r})"
    detail = str(exc) or type(exc).__name__
    if isinstance(exc, LandscapeError):
        return detail
    return f"{type(exc).__name__}: {detail}"


class Registry(Generic[T]):
    """Name -> thing: built-ins first, in registration order, then the installed plugins of one
    entry-point group (module docstring). A thing has a ``name`` attribute.

    Args:
        kind: what a thing is called in messages ("optimizer", "schedule").
        group: the entry-point group.
        make: turns what an entry point gives (the thing itself, or a zero-argument callable
            returning it) into a checked thing; raises :class:`LandscapeError` saying what is wrong.
        guard: wraps a loaded plugin (e.g. so that its failures while working name it), given the
            plugin and its entry-point name.
    """

    def __init__(self, kind: str, group: str, make: Callable[[Any], T],
                 guard: Callable[[T, str], T] | None = None) -> None:
        self.kind = kind
        self.group = group
        self.builtins: dict[str, T] = {}
        self._make = make
        self._guard = guard
        self._loaded: _Loaded[T] | None = None
        self._lock = _thread.RLock()

    def register(self, thing: T) -> T:
        """Add a built-in (a later registration under the same name replaces it)."""
        self.builtins[thing.name] = thing  # type: ignore[attr-defined]
        return thing

    def reload(self) -> None:
        """Forget the loaded plugins: the next call lists the installed entry points again."""
        self._loaded = None

    def _state(self) -> _Loaded[T]:
        loaded = self._loaded
        if loaded is None:
            with self._lock:
                loaded = self._loaded
                if loaded is None:
                    loaded = self._loaded = self._load_all()
        return loaded

    def _load_all(self) -> _Loaded[T]:
        out: _Loaded[T] = _Loaded()
        wanted = wanted_names()
        eps: list[tuple[str, str]] = []
        if wanted != set():
            try:
                eps = entry_points(self.group)
            except Exception as exc:  # a broken installed distribution's metadata
                out.errors.append(f"{self.kind} plugins could not be listed: {exc}")
            if wanted is not None:
                eps = [ep for ep in eps if ep[0] in wanted]
        for ep_name, value in eps:
            try:
                thing = self._load_one(ep_name, value)
            except KeyboardInterrupt:
                raise
            except BaseException as exc:  # noqa: BLE001 - a broken plugin must not break the app
                detail = failure_detail(exc)
                out.failed[ep_name] = detail
                out.errors.append(f"{self.kind} plugin {ep_name!r} failed to load: {detail}")
                continue
            name = thing.name  # type: ignore[attr-defined]
            if name in self.builtins or name in out.plugins:
                out.errors.append(f"{self.kind} plugin {ep_name!r} ignored: the name {name!r} is already taken")
                continue
            out.plugins[name] = thing if self._guard is None else self._guard(thing, ep_name)
        return out

    def _load_one(self, ep_name: str, value: str) -> T:
        from importlib.metadata import EntryPoint

        with contextlib.redirect_stdout(sys.stderr):
            return self._make(EntryPoint(ep_name, value, self.group).load())

    def plugins(self) -> dict[str, T]:
        """The installed plugins that loaded, by name."""
        return dict(self._state().plugins)

    def all(self) -> dict[str, T]:
        """Every thing by name: built-ins first, then plugins (built-ins win a name clash)."""
        out = dict(self.builtins)
        for name, thing in self._state().plugins.items():
            out.setdefault(name, thing)
        return out

    def errors(self) -> list[str]:
        """One message per plugin that failed to load or was ignored (each reported once)."""
        return list(self._state().errors)

    def failure(self, name: str) -> str | None:
        """Why the installed plugin ``name`` (its entry-point name) failed to load, or None."""
        return self._state().failed.get(name)


__all__ = ["CACHE_FILE", "PLUGINS_ENV", "Registry", "distribution_key", "entry_points", "failure_detail",
           "wanted_names"]
