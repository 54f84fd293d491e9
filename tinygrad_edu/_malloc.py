"""Keep freed array memory in the process (glibc only): every step of training allocates and frees the
same large temporaries (a GELU's output of a GPT block: 1 MB), and glibc's defaults hand freed memory at
the top of the heap back to the system (above 2x the largest size it has served from the heap) and serve
arrays above 128 KB-32 MB by fresh mappings: each new array then costs a page fault per 4 KB when it is
first written, often more than the arithmetic on it (a small GPT's step: 25 ms -> 19.5 ms in float32,
55 ms -> 39 ms in float64). Set here once, at import: arrays up to 32 MB come from the heap and up to
256 MB of freed memory stays in it. TINYGRAD_EDU_SYSTEM_MALLOC=1 in the environment keeps glibc's defaults.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt's parameters (malloc.h)
MMAP_THRESHOLD = 32 << 20
TRIM_THRESHOLD = 256 << 20


def keep_freed_memory() -> bool:
    """Tell glibc's malloc to reuse freed memory (see above); True if it was told, False elsewhere."""
    if not sys.platform.startswith("linux") or os.environ.get("TINYGRAD_EDU_SYSTEM_MALLOC", "") not in ("", "0"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    # both or neither: setting one alone also turns off glibc's own raising of the mapping threshold
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))


KEPT = keep_freed_memory()
