"""Scratch arrays on the stack for compiled network kernels (imported only by generated kernels).

A compiled basin-map kernel runs without numba's memory allocator: the shared library it is linked
into (:func:`landscape_gui.core.fastpath._build_library`) has no runtime behind ``np.empty``. A
network's ``point_fn`` still needs room for its weights, their gradient and one sample's
activations. :func:`stack_array` gives it that room as a fixed-size ``float64`` array in the
function's own stack frame: an ``alloca`` of a size known when the kernel is generated, placed in the
function's entry block (so a loop around the call does not grow the stack), freed on return, and
private to the thread that runs the call (the kernels run chunks on several threads at once). A
generated kernel writes ``numba.carray(stack_pointer(337), 337)`` for a ``(337,)`` array.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic


@intrinsic
def stack_pointer(typingctx, size):
    """``float64*`` to ``size`` doubles in the caller's stack frame; ``size`` a literal integer."""
    if not isinstance(size, types.IntegerLiteral) or size.literal_value < 1:
        return None
    n = int(size.literal_value)

    def codegen(context, builder, signature, args):
        double = context.get_value_type(types.float64)
        slot = cgutils.alloca_once(builder, ir.ArrayType(double, n))
        return builder.bitcast(slot, double.as_pointer())

    return types.CPointer(types.float64)(size), codegen


__all__ = ["stack_pointer"]
