"""Compiled basin maps: kernels generated from the rules the engine itself runs.

A basin map runs one optimizer from every cell of a grid. The numpy engine
(:func:`landscape_gui.core.engine.run`) makes dozens of passes over arrays of all active runs per step;
here blocks of :data:`BLOCK` runs advance together through one fused loop body that the compiler
vectorises, their state small enough to stay in the L1 cache, finished runs compacted away.

Nothing is written twice. The kernel for a (surface, optimizer) pair is *generated*: a small module
that imports

- the surface's ``point(x, y) -> (f, fx, fy)`` (:attr:`landscape_gui.core.surfaces.Surface.point`; for
  a typed formula, the function :mod:`landscape_gui.core.formula` prints from its expression tree),
- the optimizer's elementwise update rule (:class:`landscape_gui.core.optimizers.Rule`), called once
  per coordinate with the per-step coefficients the rule's own ``coefficients(hp, t)`` computes,
- the stop rules :func:`~landscape_gui.core.engine.converged`,
  :func:`~landscape_gui.core.engine.finite_step` and :func:`~landscape_gui.core.engine.far_outside`,

and numba compiles them into one loop. The engine runs the very same functions on numpy arrays.

Everything a user can add to a run comes in the same way. A learning-rate schedule's values depend
on the step only: the schedule's own implementation computes them once, and the rule's
``coefficients`` turn each step's hyperparameters into the row of the per-step table the kernel
reads (:func:`coefficient_table`). Gaussian gradient noise is drawn inside the loop by the functions
the engine draws it with (:func:`landscape_gui.core.noise.normal_pair`: counter-based, keyed by
seed, run id and step, arithmetic only), so a noisy map is the engine's bit for bit. Mini-batch
noise needs a network's per-sample gradients and stays on the engine.
IEEE-754 arithmetic is deterministic and numba does not contract ``a*b + c`` into fused
multiply-adds (no ``fastmath``), so positions, states and stop decisions agree bit for bit wherever
the functions use arithmetic and ``sqrt``. A catalogue surface's ``sin``, ``cos`` and ``exp`` are
compiled from :mod:`landscape_gui.core.kernelmath` (fdlibm's algorithms written branch-free), because
the C library's are scalar calls that keep the loop from vectorising (4–6× slower on Rastrigin,
Griewank, Easom, Lévy N.13); they and numpy's differ by at most one unit in the last place now and
then, so such maps agree with the engine's to a few ulps per step and in their labels. Typed formulas
and the other transcendental functions (``log``, ``tanh``, …) call the C library, also within an ulp
of numpy's SIMD functions (tests/core/test_fastpath.py and test_kernelmath.py measure both).

Compile cost is paid once: the generated source is written to the user's cache folder
(:func:`cache_dir`) under a name that hashes everything it depends on (the rules' source, numba's
version, the CPU); numba compiles it, and the kernel's optimised code is also emitted as a C function
(``numba.cfunc``), linked by the system C compiler into ``NAME.so`` beside it. A later process loads
that library with ctypes: no numba import, no compiler start-up, a cached map starts in milliseconds.
Without a C compiler numba's own disk cache serves (``cache=True``; loading numba costs most of a
second). :func:`warm` compiles the kernels of every catalogue surface and built-in optimizer in the
background (the window calls it at start-up); :func:`needs_compile` tells the command line when to
say "compiling (first run only)".

Chunks of up to :data:`CHUNK` starts (:func:`chunk_size`) are handed to a pool of threads (the
kernels release the GIL) one at a time, so a core another program is using merely takes fewer
chunks: two threads are never slower than one. Progress and cancel are handled between chunks.

Optimizers without a :class:`~landscape_gui.core.optimizers.Rule` (plugins) and surfaces without a
``point`` function (network slices) return ``None`` from :func:`fused_runner`; the caller uses the
engine.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
import threading
import types
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

import numpy as np

from landscape_gui.core import engine, optimizers, surfaces
from landscape_gui.core.cachedir import cache_dir
from landscape_gui.core.engine import Cancelled
from landscape_gui.core.optimizers import Optimizer, Rule
from landscape_gui.core.surfaces import Bounds, Surface

if TYPE_CHECKING:
    from landscape_gui.core.noise import GradientNoise
    from landscape_gui.core.schedules import ScheduleSetting

AVAILABLE = importlib.util.find_spec("numba") is not None
"""Whether numba is installed (the compiled path exists)."""

CHUNK = 4096
"""Starts per compiled call: the unit of work a thread takes, and of progress and cancel."""

BLOCK = 256
"""Starts advanced in lockstep inside one compiled call."""

SMALL = 2048
"""Below this many starts the engine is faster than loading numba: a map this small runs compiled
only when its kernel loads without numba (:func:`fused_runner`)."""

KERNEL_MATH_BOUND = 1000.0
"""Bounds reaching farther from 0 than this make a map's kernel call the C library's ``sin``, ``cos`` and
``exp`` instead of :mod:`landscape_gui.core.kernelmath`'s: runs stay live up to :data:`engine.FAR`
bound-widths outside the bounds (about 21 times this), where arguments like Lévy N.13's 6πx must stay
within :data:`landscape_gui.core.kernelmath.TRIG_LIMIT`."""

_TEMPLATE_VERSION = "8"
_LOCK = threading.RLock()
_KERNELS: dict[str, Any] = {}
_REGISTERED: set[int] = set()


# --------------------------------------------------------------------------------------------------
# What a kernel is made of


def rule_of(opt: Optimizer) -> Rule | None:
    """The optimizer's single-source rule (set by :func:`landscape_gui.core.optimizers.rule_update`)."""
    rule = getattr(opt.update, "rule", None)
    return rule if isinstance(rule, Rule) else None


def _source(fn: Callable) -> str:
    """The lines of ``fn``'s definition in its file, from its first line (decorators included) to the
    last line any of its code (nested functions included) spans: the text a kernel's name hashes.
    Like ``inspect.getsource`` but read without tokenizing, which would cost a small map's whole
    run time (tokenize compiles its patterns on first use). Raises OSError or TypeError like it."""
    import linecache

    code = getattr(fn, "__code__", None)
    if not isinstance(code, types.CodeType):
        raise TypeError(f"{fn!r} is not a Python function")
    last = code.co_firstlineno
    todo = [code]
    while todo:
        c = todo.pop()
        if hasattr(c, "co_positions"):  # Python 3.11+: end lines of multi-line expressions too
            last = max([last] + [p[1] for p in c.co_positions() if p[1] is not None])
        last = max([last] + [ln for _, _, ln in c.co_lines() if ln is not None])
        todo.extend(k for k in c.co_consts if isinstance(k, types.CodeType))
    linecache.checkcache(code.co_filename)  # the file as it is now, as inspect reads it
    lines = linecache.getlines(code.co_filename)
    if len(lines) < last:
        raise OSError(f"no source for {fn!r}")
    return "".join(lines[code.co_firstlineno - 1: last])


def _point_source(surface: Surface, kernel_math: bool = True) -> tuple[str, str] | None:
    """``(python source defining point_fn, text to hash)`` for the surface, or None. With
    ``kernel_math``, a catalogue surface that calls ``sin``, ``cos`` or ``exp`` gets the vectorisable
    ones (:func:`_kernel_math`); typed formulas keep the C library's (a formula may scale its
    arguments beyond :data:`landscape_gui.core.kernelmath.TRIG_LIMIT`)."""
    custom = getattr(surface, "point_source", None)
    if callable(custom):
        src = custom()
        if src is None:
            return None
        return src + "\npoint_fn = _jitable(point_fn)\n", src
    fn = surface.point
    if fn is None or getattr(fn, "__module__", None) is None or "<" in getattr(fn, "__qualname__", "<"):
        return None
    module = sys.modules.get(fn.__module__)
    if module is None or getattr(module, fn.__name__, None) is not fn:
        return None
    try:
        text = _source(fn) + "".join(_source(h) for h in getattr(module, "KERNEL_HELPERS", ()))
    except (OSError, TypeError):
        return None
    called = _source(fn) + "".join(_source(h) for h in getattr(module, "KERNEL_HELPERS", ())
                                   if h.__name__ in fn.__code__.co_names)
    if kernel_math and _TRANSCENDENTAL.search(called):
        from landscape_gui.core import kernelmath

        pre = ("from landscape_gui.core.fastpath import _kernel_math\n"
               f"from {fn.__module__} import {fn.__name__} as point_fn\npoint_fn = _kernel_math(point_fn)\n")
        return (pre,
                text + _file_text(kernelmath.__file__) + _source(_kernel_math) + _source(_inline))
    return f"from {fn.__module__} import {fn.__name__} as point_fn\n", text


_TRANSCENDENTAL = re.compile(r"\bnp\.(sin|cos|exp)\(")


def _file_text(path: str) -> str:
    """A source file's text as it is now (what ``inspect.getsource`` gives for a module, without
    tokenizing)."""
    import linecache

    linecache.checkcache(path)
    return "".join(linecache.getlines(path))


def _kernel_math(fn: Callable) -> Callable:
    """A catalogue surface's point function with numpy's ``sin``, ``cos`` and ``exp`` replaced by
    :mod:`landscape_gui.core.kernelmath`'s branch-free ones, which the compiler vectorises with the rest
    of the kernel's loop (the C library's are scalar calls it cannot): the same code, its module's
    globals seen through a stand-in for numpy, and likewise for the module's helpers it calls."""
    from landscape_gui.core import kernelmath

    with _LOCK:
        for h in kernelmath.KERNEL_FUNCTIONS:
            _jitable(h)
        names = dict(fn.__globals__)
        names["np"] = kernelmath.numpy_namespace()
        for name in fn.__code__.co_names:
            h = names.get(name)
            if isinstance(h, types.FunctionType) and h.__module__ == fn.__module__:
                names[name] = _inline(types.FunctionType(h.__code__, names, h.__name__, h.__defaults__))
        return _inline(types.FunctionType(fn.__code__, names, fn.__name__, fn.__defaults__))


def _inline(fn: types.FunctionType) -> Callable:
    """``fn`` registered to be inlined where it is called: a point function grown by the inlined maths
    is otherwise too large for the compiler to inline, and the call keeps the loop from vectorising."""
    fn.kernel_inline = True  # type: ignore[attr-defined]
    return _jitable(fn)


def _rule_source(rule: Rule) -> tuple[str, str] | None:
    fn = rule.step
    module = sys.modules.get(getattr(fn, "__module__", ""), None)
    if module is None or getattr(module, fn.__name__, None) is not fn:
        return None
    try:
        text = _source(fn) + "".join(_source(h) for h in getattr(module, "KERNEL_HELPERS", ()))
    except (OSError, TypeError):
        return None
    return f"from {fn.__module__} import {fn.__name__} as rule_fn\n", text


def _stop_source() -> str:
    return "".join(_source(f) for f in (engine.converged, engine.finite_step, engine.far_outside))


def _noise_source() -> str:
    """The source of the noise module a noisy kernel compiles functions (and constants) from."""
    from landscape_gui.core import noise

    return _file_text(noise.__file__)


def _n_coefficients(rule: Rule, hp: Mapping[str, Any]) -> int:
    return len(rule.coefficients(hp, 1))


def _generate(rule: Rule, ncoef: int, point_pre: str, rule_pre: str, noisy: bool = False) -> str:
    """The kernel's source for a rule with ``ncoef`` coefficients; with ``noisy``, each update takes
    the gradient plus ``scale`` times the run's normals (:func:`landscape_gui.core.noise.normal_pair`
    of the run's id and the step, as the engine's :meth:`GradientNoise.gradient`).

    A block of runs lives in *slots* (one entry per run in each slot array: position, gradient,
    each state entry, start index ``IDX``, status ``ST``). The kernel loads every start of the block
    into the slots, marking non-finite starts finished, and then loops: *settle* (write out every
    finished run, move the live ones to the front), stop when none is left, else advance all slots
    one step. Settling happens first, whenever an eighth of the slots have finished since the last
    time, and after the last step: one piece of bookkeeping for starts and finishes alike."""
    per_coord = [k for k in rule.state if k not in rule.per_run]
    names = {k: f"s{i}" for i, k in enumerate(rule.state)}
    state_args = ", ".join(names[k] + "0" for k in rule.state)
    coefs = ", ".join(f"c{i}" for i in range(ncoef))
    # the slot arrays of state entries, with the expression loading slot ``k`` from start ``i``
    state_slots: list[tuple[str, str]] = []
    for k in rule.state:
        s = names[k]
        if k in per_coord:
            state_slots += [(f"{s}X", f"{s}0[i, 0]"), (f"{s}Y", f"{s}0[i, 1]")]
        else:
            state_slots.append((f"{s}R", f"{s}0[i]"))
    slots = ["X", "Y", "GX", "GY"] + [name for name, _ in state_slots]
    L: list[str] = []
    a = L.append
    a("# Generated by landscape_gui.core.fastpath from the rules named below; do not edit.")
    a("import numpy as np")
    a("import numba")
    a("from landscape_gui.core.fastpath import _jitable")
    a("from landscape_gui.core.engine import converged, finite_step, far_outside")
    if noisy:
        a("from landscape_gui.core.noise import normal_pair")
    a(point_pre.rstrip())
    a(rule_pre.rstrip())
    a("_jitable(point_fn)")
    a("_jitable(rule_fn)")
    a("")
    a(f"BLOCK = {BLOCK}")
    a("")
    a("")
    a(f"def kernel_impl(p0, out_p, codes, table, lim, max_steps, tol2, nscale, nkey, work, iwork"
      f"{', ' if state_args else ''}{state_args}):")
    a("    cx, cy, ix2, iy2, far = lim[0], lim[1], lim[2], lim[3], lim[4]")
    if noisy:
        a("    nk0 = np.uint64(nkey[0])")
        a("    nk1 = np.uint64(nkey[1])")
        a("    nid0 = np.uint64(nkey[2])")
        a("    block0 = np.uint64(0)")
    a("    n = p0.shape[0]")
    rows = len(slots) + (2 if noisy else 0)
    for row, arr in enumerate(slots + (["Z0", "Z1"] if noisy else [])):
        a(f"    {arr} = work[{row}]")
    a("    IDX = iwork[0]")
    a("    ST = iwork[1]")
    a("    for lo in range(0, n, BLOCK):")
    a("        na = min(n, lo + BLOCK) - lo")
    a("        for k in range(na):")
    a("            i = lo + k")
    a("            x = p0[i, 0]")
    a("            y = p0[i, 1]")
    a("            f, gx, gy = point_fn(x, y)")
    a("            X[k] = x")
    a("            Y[k] = y")
    a("            GX[k] = gx")
    a("            GY[k] = gy")
    for arr, load in state_slots:
        a(f"            {arr}[k] = {load}")
    a("            IDX[k] = i")
    a("            ST[k] = 3 if finite_step(x, y, f, gx, gy) else 1")
    a("        t = 0")
    a("        settle = True")
    a("        finished = 0")
    a("        while True:")
    a("            if settle:")
    a("                keep = 0")
    a("                for k in range(na):")
    a("                    if ST[k] == 3:")
    for arr in slots + ["IDX"]:
        a(f"                        {arr}[keep] = {arr}[k]")
    a("                        ST[keep] = 3")
    a("                        keep += 1")
    a("                    else:")
    a("                        i = IDX[k]")
    a("                        codes[i] = ST[k]")
    a("                        out_p[i, 0] = X[k]")
    a("                        out_p[i, 1] = Y[k]")
    a("                na = keep")
    a("                finished = 0")
    a("            if na == 0:")
    a("                break")
    a("            last = t == max_steps")
    for i in range(ncoef):
        a(f"            c{i} = table[t + 1, {i}]")
    if noisy:
        # drawn in a loop of their own, which the compiler vectorises
        a("            step = np.uint64(t + 1)")
        a("            for k in range(na):")
        a("                z0, z1 = normal_pair(nk0, nk1, nid0 + np.uint64(IDX[k]), step, block0)")
        a("                Z0[k] = z0")
        a("                Z1[k] = z1")
    a("            for k in range(na):")
    a("                x = X[k]")
    a("                y = Y[k]")
    a("                gx = GX[k]")
    a("                gy = GY[k]")
    sx_in, sy_in, sx_out, sy_out = [], [], [], []
    for k in rule.state:
        s = names[k]
        if k in per_coord:
            a(f"                {s}x = {s}X[k]")
            a(f"                {s}y = {s}Y[k]")
            sx_in.append(f"{s}x")
            sy_in.append(f"{s}y")
            sx_out.append(f"n{s}x")
            sy_out.append(f"n{s}y")
        else:
            a(f"                {s}r = {s}R[k]")
            sx_in.append(f"{s}r")
            sy_in.append(f"{s}r")
            sx_out.append(f"n{s}r")
            sy_out.append("_")
    if noisy:
        a("                ux = gx + nscale * Z0[k]")
        a("                uy = gy + nscale * Z1[k]")
        ux, uy = "ux", "uy"
    else:
        ux, uy = "gx", "gy"
    sep = ", " if rule.state else ""
    a(f"                nx{sep}{', '.join(sx_out)} = rule_fn(x, {ux}{sep}{', '.join(sx_in)}{', ' if coefs else ''}{coefs})")
    a(f"                ny{sep}{', '.join(sy_out)} = rule_fn(y, {uy}{sep}{', '.join(sy_in)}{', ' if coefs else ''}{coefs})")
    a("                nf, ngx, ngy = point_fn(nx, ny)")
    a("                live = ST[k] == 3")
    a("                conv = converged(gx, gy, tol2)")
    a("                bad = not finite_step(nx, ny, nf, ngx, ngy)")
    a("                out = far_outside(nx, ny, cx, cy, ix2, iy2, far)")
    a("                code = 0 if conv else (2 if last else (1 if (bad or out) else 3))")
    a("                adv = live and code != 0 and code != 2 and not bad")
    a("                ST[k] = code if live else ST[k]")
    a("                X[k] = nx if adv else x")
    a("                Y[k] = ny if adv else y")
    a("                GX[k] = ngx if adv else gx")
    a("                GY[k] = ngy if adv else gy")
    for k in rule.state:
        s = names[k]
        if k in per_coord:
            a(f"                {s}X[k] = n{s}x if adv else {s}x")
            a(f"                {s}Y[k] = n{s}y if adv else {s}y")
        else:
            a(f"                {s}R[k] = n{s}r if adv else {s}r")
    a("                finished += 1 if (live and code != 3) else 0")
    a("            t += 1")
    a("            settle = finished * 8 >= na or last")
    a("")
    a("")
    a("_jitable(kernel_impl)")
    a("kernel = numba.njit(cache=True, nogil=True, error_model=\"numpy\")(kernel_impl)")
    a(f"WORK_ROWS = {rows}")
    a("")
    a("")
    ptrs = ", ".join(f"{names[k]}p" for k in rule.state)
    a(f"def entry_impl(p0p, outp, codesp, tablep, nrows, ncoef, limp, n, max_steps, tol2, nscale, nkeyp, workp, iworkp"
      f"{', ' if ptrs else ''}{ptrs}):")
    cargs = []
    for k in rule.state:
        shape = "(n,)" if k in rule.per_run else "(n, 2)"
        cargs.append(f"numba.carray({names[k]}p, {shape})")
    a("    kernel_impl(numba.carray(p0p, (n, 2)), numba.carray(outp, (n, 2)), numba.carray(codesp, (n,)),")
    a("                numba.carray(tablep, (nrows, ncoef)), numba.carray(limp, (5,)), max_steps, tol2,")
    a("                nscale, numba.carray(nkeyp, (3,)),")
    a(f"                numba.carray(workp, ({rows}, BLOCK)), numba.carray(iworkp, (2, BLOCK))"
      f"{', ' if cargs else ''}{', '.join(cargs)})")
    a("")
    a("")
    a("def build_entry():")
    a("    \"\"\"The kernel as a C function of pointers and sizes (compiled now), for the shared library.\"\"\"")
    a("    from numba import types")
    a("    f8p, i8p, i1p = types.CPointer(types.float64), types.CPointer(types.int64), types.CPointer(types.int8)")
    n_state = len(rule.state)
    a("    sig = types.void(f8p, f8p, i1p, f8p, types.int64, types.int64, f8p, types.int64, types.int64,")
    a(f"                     types.float64, types.float64, i8p, f8p, i8p{', ' if n_state else ''}"
      f"{', '.join(['f8p'] * n_state)})")
    a("    return numba.cfunc(sig, error_model=\"numpy\", nopython=True)(entry_impl)")
    a("")
    return "\n".join(L)


def _jitable(fn: Callable) -> Callable:
    """Make a plain Python function callable from compiled code (numba's ``register_jitable``), once."""
    with _LOCK:
        if id(fn) in _REGISTERED:
            return fn
        from numba import extending

        if fn is optimizers._select:
            @extending.overload(optimizers._select)
            def _select_scalar(cond, a, b):  # noqa: ANN001
                return lambda cond, a, b: a if cond else b
        elif getattr(fn, "kernel_inline", False):
            # inlined into the caller's IR: a call numba keeps out of line stops the loop around it
            # from being vectorised (the noise draws: 5 ns a pair in a vectorised loop, 30 ns called)
            extending.register_jitable(error_model="numpy", inline="always")(fn)
        else:
            extending.register_jitable(error_model="numpy")(fn)
        _REGISTERED.add(id(fn))
    return fn


def _register_helpers() -> None:
    from landscape_gui.core import noise

    for module in (optimizers, surfaces, noise):
        for h in getattr(module, "KERNEL_HELPERS", ()):
            _jitable(h)
    for f in (engine.converged, engine.finite_step, engine.far_outside):
        _jitable(f)


class _Spec:
    """Everything that names one generated kernel."""

    def __init__(self, surface: Surface, opt: Optimizer, hp: Mapping[str, Any], noisy: bool = False,
                 kernel_math: bool = True) -> None:
        self.ok = False
        rule = rule_of(opt)
        if rule is None:
            return
        point = _point_source(surface, kernel_math)
        rsrc = _rule_source(rule)
        if point is None or rsrc is None:
            return
        self.rule = rule
        self.ncoef = _n_coefficients(rule, hp)
        self.noisy = noisy
        self.kernel_math = "_kernel_math(" in point[0]
        self.source = _generate(rule, self.ncoef, point[0], rsrc[0], noisy)
        import hashlib

        digest = hashlib.sha256()
        for part in (_TEMPLATE_VERSION, self.source, point[1], rsrc[1], _stop_source(), _numba_version(),
                     _machine_tag(), _noise_source() if noisy else ""):
            digest.update(part.encode())
        self.name = "lgk_" + digest.hexdigest()[:20]
        self.ok = True

    @property
    def path(self) -> Path:
        return cache_dir() / f"{self.name}.py"


def _numba_version() -> str:
    """numba's version, read from the name of its ``numba-X.Y.Z.dist-info`` folder beside the package
    when there is one (importlib.metadata costs more to import than a cached map takes to run)."""
    spec = importlib.util.find_spec("numba")
    site = os.path.dirname(os.path.dirname(spec.origin)) if spec is not None and spec.origin else None
    if site is not None:
        try:
            found = [n[6:-10] for n in os.listdir(site) if n.startswith("numba-") and n.endswith(".dist-info")]
        except OSError:
            found = []
        if len(found) == 1:
            return found[0]
    try:
        from importlib.metadata import version

        return version("numba")
    except Exception:  # pragma: no cover - metadata missing
        return "?"


def _machine_tag() -> str:
    """What machine code is specific to: architecture, CPU features, Python version."""
    import platform

    flags = ""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith(("flags", "Features")):
                    flags = line
                    break
    except OSError:
        flags = platform.processor()
    return f"{platform.machine()}|{sys.version_info[:2]}|{flags}"


def _library_path(spec: _Spec) -> Path:
    return spec.path.with_suffix(".so")


def _loads_cheaply(spec: _Spec) -> bool:
    """Whether the kernel is ready without loading numba: loaded already in this process, or cached as
    a shared library (:class:`_SharedKernel`), or numba is loaded anyway (its own cache then serves)."""
    return (spec.name in _KERNELS or "numba" in sys.modules
            or (_library_path(spec).exists() and spec.path.with_suffix(".symbol").exists()))


def needs_compile(surface: Surface, opt: Optimizer, hp: Mapping[str, Any] | None = None,
                  noise: GradientNoise | None = None) -> bool:
    """True when a basin map of this pair (with this gradient noise) would run compiled but a kernel
    it uses is not cached on disk yet (the first map takes a few seconds more). A map under noise
    uses two: the noisy runs' kernel (Gaussian noise; mini-batches run on the engine) and the plain
    one of the noiseless quench that labels their end points. Cheap: imports no numba."""
    if not AVAILABLE:
        return False
    hp = opt.resolve(hp)
    variants = [False]
    if _noisy(noise) and noise.batch_size == 0:  # type: ignore[union-attr]
        variants.append(True)
    for noisy in variants:
        spec = _Spec(surface, opt, hp, noisy)
        if not spec.ok or spec.name in _KERNELS or _library_path(spec).exists():
            continue
        pycache = spec.path.parent / "__pycache__"
        if not any(pycache.glob(f"{spec.name}.kernel_impl-*.nbi")):
            return True
    return False


class _SharedKernel:
    """A kernel from a shared library built from the generated module (see :func:`_build_library`):
    called through ctypes, which releases the GIL, with the same arguments as the numba dispatcher.
    Loading it needs neither numba nor llvmlite: a cached map starts in milliseconds."""

    def __init__(self, path: Path, symbol: str, n_state: int) -> None:
        import ctypes

        self._lib = ctypes.CDLL(str(path))
        fn = getattr(self._lib, symbol)
        p, i8, f8 = ctypes.c_void_p, ctypes.c_int64, ctypes.c_double
        fn.argtypes = [p, p, p, p, i8, i8, p, i8, i8, f8, f8, p, p, p] + [p] * n_state
        fn.restype = None
        self._fn = fn

    def __call__(self, p0: np.ndarray, out_p: np.ndarray, codes: np.ndarray, table: np.ndarray, lim: np.ndarray,
                 max_steps: int, tol2: float, nscale: float, nkey: np.ndarray, work: np.ndarray, iwork: np.ndarray,
                 *states: np.ndarray) -> None:
        for a in (p0, out_p, codes, table, lim, nkey, work, iwork, *states):
            assert a.flags.c_contiguous
        self._fn(p0.ctypes.data, out_p.ctypes.data, codes.ctypes.data, table.ctypes.data, table.shape[0],
                 table.shape[1], lim.ctypes.data, len(p0), max_steps, tol2, nscale, nkey.ctypes.data,
                 work.ctypes.data, iwork.ctypes.data, *(a.ctypes.data for a in states))


def _build_library(spec: _Spec, module: Any) -> bool:
    """Compile the module's C entry point with numba, emit position-independent machine code for this
    CPU with llvmlite and link it into ``NAME.so`` beside the generated source with the system C
    compiler. Symbols that only numba's error reporting references (unreachable here: the numpy error
    model, no allocation, no bounds checks) are satisfied by functions that abort with a message.
    Returns False (the numba dispatcher is used instead) when no C compiler or ``nm`` is available
    or anything fails."""
    import shutil
    import subprocess

    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    nm = shutil.which("nm")
    if cc is None or nm is None:
        return False
    try:
        import ctypes

        import llvmlite.binding as llvm

        entry = module.build_entry()
        ir = entry._library.get_llvm_str()
        mod = llvm.parse_assembly(ir)
        mod.verify()
        target = llvm.Target.from_default_triple()
        tm = target.create_target_machine(cpu=llvm.get_host_cpu_name(), features=llvm.get_host_cpu_features().flatten(),
                                          opt=3, reloc="pic", codemodel="default")
        folder = spec.path.parent
        stem = f"{spec.name}.{os.getpid()}.{threading.get_ident()}"
        obj = folder / f"{stem}.o"
        shim = folder / f"{stem}.c"
        out = folder / f"{stem}.so"
        obj.write_bytes(tm.emit_object(mod))
        undefined = subprocess.run([nm, "-u", str(obj)], capture_output=True, text=True, check=True).stdout.split()
        here = ctypes.CDLL(None)
        missing = [u for u in undefined if u != "U" and not hasattr(here, u)]
        shim.write_text("#include <stdio.h>\n#include <stdlib.h>\n" + "".join(
            f'void {m}(void) {{ fputs("landscape-gui kernel: unexpected call of {m}\\n", stderr); abort(); }}\n'
            for m in missing))
        subprocess.run([cc, "-shared", "-fPIC", "-O2", "-o", str(out), str(obj), str(shim), "-lm"],
                       capture_output=True, check=True)
        (folder / f"{spec.name}.symbol").write_text(entry.native_name)
        os.replace(out, _library_path(spec))
        for f in (obj, shim):
            f.unlink(missing_ok=True)
        return True
    except Exception:  # any failure: the numba dispatcher serves instead
        return False


def _load(spec: _Spec) -> Any:
    """The compiled kernel of ``spec``, once per process: the cached shared library if there is one
    (no numba import), else the generated module compiled by numba (and a shared library built from
    it for the next process), else numba's own dispatcher with its disk cache."""
    with _LOCK:
        kernel = _KERNELS.get(spec.name)
        if kernel is not None:
            return kernel
        lib = _library_path(spec)
        symbol = spec.path.with_suffix(".symbol")
        if lib.exists() and symbol.exists():
            try:
                kernel = _SharedKernel(lib, symbol.read_text().strip(), len(spec.rule.state))
            except (OSError, AttributeError):
                kernel = None
            if kernel is not None:
                _KERNELS[spec.name] = kernel
                return kernel
        _register_helpers()
        path = spec.path
        if not path.exists() or path.read_text() != spec.source:
            tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
            tmp.write_text(spec.source)
            os.replace(tmp, path)
        mod_spec = importlib.util.spec_from_file_location(spec.name, path)
        assert mod_spec is not None and mod_spec.loader is not None
        module = importlib.util.module_from_spec(mod_spec)
        sys.modules[spec.name] = module
        mod_spec.loader.exec_module(module)
        kernel = module.kernel
        if _build_library(spec, module):
            try:
                kernel = _SharedKernel(lib, symbol.read_text().strip(), len(spec.rule.state))
            except (OSError, AttributeError):
                kernel = module.kernel
        _KERNELS[spec.name] = kernel
        return kernel


def _threads() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def chunk_size(n: int, threads: int) -> int:
    """Starts per chunk for a map of ``n`` starts on ``threads`` threads: :data:`CHUNK`, or fewer when
    that would leave a thread without at least four chunks (a 64² map of a network surface is a single
    chunk of :data:`CHUNK`, seconds of work on one core while the other waits), but never fewer than 64
    (a chunk costs some microseconds to hand out). Every run is independent of the others, so the
    results do not depend on the size."""
    if threads <= 1:
        return CHUNK
    return min(CHUNK, max(64, -(-n // (4 * threads))))


def _noisy(noise: GradientNoise | None) -> bool:
    return noise is not None and noise.scale > 0


def coefficient_table(rule: Rule, opt: Optimizer, hp: Mapping[str, Any], max_steps: int, ncoef: int,
                      schedule: ScheduleSetting | None = None) -> tuple[np.ndarray, Mapping[str, Any]]:
    """``(table, hp_init)``: row ``t`` (1..``max_steps`` + 1) holds ``rule.coefficients(hp_t, t)``,
    the coefficients update ``t`` uses, and ``hp_init`` the hyperparameters the state starts from.

    Without a schedule ``hp_t = hp``. With one, ``hp_t`` is ``hp`` overridden by the values the
    schedule's own implementation gives for step ``t`` (:meth:`ScheduleSetting.values`, what the
    engine asks it for step by step): the learning rate, and the momentum of a schedule that cycles
    it. As in the engine (and torch), the state is made with the values of step 1. Row
    ``max_steps + 1`` is computed but never used (the kernel stops before applying it)."""
    table = np.zeros((max_steps + 2, max(ncoef, 1)))
    rows: list[Mapping[str, Any]] = []
    if schedule is not None and max_steps > 0:
        rows = list(schedule.values(opt, hp, max_steps))
    hp_init = {**hp, **rows[0]} if rows else hp
    for t in range(1, max_steps + 2):
        hp_t = {**hp, **rows[min(t, max_steps) - 1]} if rows else hp
        table[t, :ncoef] = rule.coefficients(hp_t, t)
    return table, hp_init


def fused_runner(
    surface: Surface, opt: Optimizer, hp: Mapping[str, Any], n_starts: int | None = None, *,
    schedule: ScheduleSetting | None = None, noise: GradientNoise | None = None,
) -> Callable[..., tuple[np.ndarray, np.ndarray]] | None:
    """A function ``(starts, bounds, max_steps, tol, progress, should_cancel, first_id=1) ->
    (final_positions, status_codes)`` equivalent to ``engine.run(..., record=False, schedule=schedule,
    noise=noise, first_id=first_id)``, bit for bit, or None when there is no compiled form (numba
    missing, a plugin optimizer, a network surface, mini-batch noise), or when ``n_starts`` is so
    small that loading numba (and compiling, the first time) would cost more than it saves: a kernel
    cached as a shared library loads without numba and is used for any size.

    A schedule's values depend on the step only, the same for every run: they are computed once, by
    the schedule's own implementation, into the table of per-step coefficients the kernel reads
    (:func:`coefficient_table`). Noise is drawn inside the kernel by the same functions, keyed the
    same way (seed, run id ``first_id + index``, step), as the engine's
    (:func:`landscape_gui.core.noise.normal_pair`)."""
    if not AVAILABLE or (noise is not None and noise.batch_size > 0):
        return None  # mini-batches need a network's per-sample gradients: the engine has them
    noisy = _noisy(noise)
    spec = _Spec(surface, opt, hp, noisy)
    if not spec.ok:
        return None
    if n_starts is not None and n_starts < SMALL and not _loads_cheaply(spec):
        return None
    rule = spec.rule
    if noisy:
        from landscape_gui.core.noise import key_words

        nscale = float(noise.scale)  # type: ignore[union-attr]
        k0, k1 = key_words(noise.seed)  # type: ignore[union-attr]
    else:
        nscale, k0, k1 = 0.0, 0, 0

    def run(
        starts: np.ndarray,
        bounds: Bounds,
        max_steps: int,
        tol: float,
        progress: Callable[[float], None] | None = None,
        should_cancel: Callable[[], bool] | None = None,
        first_id: int = 1,
    ) -> tuple[np.ndarray, np.ndarray]:
        table, hp_init = coefficient_table(rule, opt, hp, max_steps, spec.ncoef, schedule)
        xmin, xmax, ymin, ymax = bounds
        if spec.kernel_math and max(abs(xmin), abs(xmax), abs(ymin), abs(ymax)) > KERNEL_MATH_BOUND:
            kernel = _load(_Spec(surface, opt, hp, noisy, kernel_math=False))
        else:
            kernel = _load(spec)
        lim = np.array([(xmin + xmax) / 2, (ymin + ymax) / 2, 2.0 / (xmax - xmin), 2.0 / (ymax - ymin),
                        engine.FAR_LIMIT])
        p0 = np.ascontiguousarray(starts, dtype=float)
        n = len(p0)
        out_p = np.empty((n, 2))
        codes = np.empty(n, dtype=np.int8)
        tol2 = tol * tol if tol > 0 else -1.0
        state = opt.init(p0, hp_init)
        arrays = []
        for k in rule.state:
            v = state.get(k)
            shape = (n,) if k in rule.per_run else (n, 2)
            arrays.append(np.ascontiguousarray(np.broadcast_to(np.zeros(shape) if v is None else v, shape),
                                               dtype=float))

        rows = 4 + sum(1 if k in rule.per_run else 2 for k in rule.state) + (2 if noisy else 0)

        size = chunk_size(n, _threads())

        def chunk(lo: int) -> None:
            hi = min(n, lo + size)
            work = np.empty((rows, BLOCK))
            iwork = np.empty((2, BLOCK), dtype=np.int64)
            # run ids wrap like the engine's (only their low 32 bits key the noise)
            nkey = np.array([k0, k1, (int(first_id) + lo) & 0xFFFFFFFF], dtype=np.int64)
            kernel(p0[lo:hi], out_p[lo:hi], codes[lo:hi], table, lim, max_steps, tol2, nscale, nkey, work, iwork,
                   *(a[lo:hi] for a in arrays))

        los = list(range(0, n, size))
        workers = min(_threads(), len(los))
        if workers <= 1:
            for i, lo in enumerate(los):
                if should_cancel is not None and should_cancel():
                    raise Cancelled()
                if progress is not None:
                    progress(i / len(los))
                chunk(lo)
        else:
            from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

            stop = threading.Event()

            def task(lo: int) -> None:
                if not stop.is_set():
                    chunk(lo)

            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="basins") as pool:
                pending = {pool.submit(task, lo) for lo in los}
                try:
                    while pending:
                        done, pending = wait(pending, timeout=0.05, return_when=FIRST_COMPLETED)
                        for fut in done:
                            fut.result()
                        if should_cancel is not None and should_cancel():
                            raise Cancelled()
                        if progress is not None:
                            progress(1.0 - len(pending) / len(los))
                except BaseException:
                    stop.set()
                    raise
        if progress is not None:
            progress(1.0)
        return out_p, codes

    return run


# --------------------------------------------------------------------------------------------------
# Warm-up


def warm_pairs(networks: bool = False, should_cancel: Callable[[], bool] | None = None
               ) -> list[tuple[Surface, Optimizer]]:
    """Every catalogue surface with every built-in optimizer whose rule has its own kernel (sgd,
    momentum and nesterov share one, as do adam and adamw), the most used first.

    With ``networks``, the catalogue's network surfaces (``nn_*``) instead, those with a compiled
    form (:mod:`landscape_gui.core.nn.kernel`), the most used optimizers first across all of them.
    Building them takes seconds (the trained slices are trained); ``should_cancel()`` is polled
    between surfaces, and when it answers True the pairs made so far are returned."""
    from landscape_gui.core.optimizers import optimizers as all_optimizers

    builtins = [o for o in all_optimizers().values() if rule_of(o) is not None]
    first = {"adam": 0, "sgd": 1, "momentum": 2, "rmsprop": 3, "nadam": 4}
    builtins.sort(key=lambda o: first.get(o.name, 99))
    seen: set[tuple[str, int]] = set()
    pairs = []
    for entry in surfaces.surface_entries():
        if entry.name.startswith("nn_") != networks:
            continue
        if should_cancel is not None and should_cancel():
            break
        surface = entry.factory()
        if (surface.point is None) if not networks else (_point_source(surface) is None):
            continue
        for opt in builtins:
            key = (entry.name, id(rule_of(opt).step))  # type: ignore[union-attr]
            if key not in seen:
                seen.add(key)
                pairs.append((surface, opt))
    if networks:
        rank = {id(o): i for i, o in enumerate(builtins)}
        pairs.sort(key=lambda so: rank[id(so[1])])
    else:
        order = {"himmelblau": 0, "rosenbrock": 1}
        pairs.sort(key=lambda so: order.get(so[0].name, 9))
    return pairs


def warm(progress: Callable[[float], None] | None = None, should_cancel: Callable[[], bool] | None = None,
         pairs: list[tuple[Surface, Optimizer]] | None = None, noisy: bool = False) -> int:
    """Compile (or load from the disk cache) the kernels the window's basin maps need: every catalogue
    surface with every built-in optimizer (:func:`warm_pairs`), or the given ``pairs``. Safe to call
    from a worker thread (the GUI's start-up warm-up does); ``progress(fraction)`` after each kernel,
    ``should_cancel()`` polled between kernels (returns early, no exception). Kernels already cached
    on disk load in milliseconds, so a warm-up after the first one is quick. With ``noisy``, the
    kernels of maps under Gaussian gradient noise instead (one per pair, whatever the scale and
    seed). Returns the number of kernels ready."""
    if not AVAILABLE:
        return 0
    todo = warm_pairs() if pairs is None else list(pairs)
    noise = None
    if noisy:
        from landscape_gui.core.noise import GradientNoise

        noise = GradientNoise(1.0, 0)
    starts = np.array([[0.25, 0.25]])
    ready = 0
    for i, (surface, opt) in enumerate(todo):
        if should_cancel is not None and should_cancel():
            break
        hp = opt.resolve()
        spec = _Spec(surface, opt, hp, noisy)
        if spec.ok:
            runner = fused_runner(surface, opt, hp, noise=noise)
            if runner is not None:
                runner(starts, surface.bounds, 1, 1e-6)
                ready += 1
        if progress is not None:
            progress((i + 1) / max(len(todo), 1))
    return ready


__all__ = ["AVAILABLE", "BLOCK", "CHUNK", "cache_dir", "fused_runner", "needs_compile", "rule_of", "warm",
           "warm_pairs"]
