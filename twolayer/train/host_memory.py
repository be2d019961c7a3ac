"""glibc's malloc told to keep a large step's freed memory for the next step instead of handing it back to the system.

A CPU step allocates its arrays afresh and frees them all when it returns. glibc keeps a freed top of its heap only
up to a trim threshold that it raises by itself, from whatever large blocks the process happened to map and free
before: in some processes the threshold stays below a step's arrays, the heap's top goes back to the system after
every step and the next step faults in every page again (at N=1024, H=1024, some 2,000-5,000 page faults a step, 5 ms
of its 18). Fixed thresholds take that chance away.
"""

from __future__ import annotations

import ctypes
import threading

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # mallopt's parameters, from glibc's malloc.h
DEFAULT_MMAP_THRESHOLD = 128 * 1024  # glibc's starting threshold: smaller blocks never leave the heap at all
MMAP_CEILING = 32 * 1024 * 1024  # the highest glibc raises the threshold itself on 64-bit: larger blocks are mapped
STEP_ARRAYS = 8  # arrays the size of a step's largest alive at its peak, at most (the hand-written steps hold six)

_lock = threading.Lock()
_kept = 0  # the trim threshold set so far in this process (0: glibc's own)


def _mallopt():
    """glibc's mallopt, or None where the C library is another (macOS, musl)."""
    libc = ctypes.CDLL(None)
    if not hasattr(libc, "gnu_get_libc_version") or not hasattr(libc, "mallopt"):
        return None
    return libc.mallopt


def keep_step_memory(largest: int) -> int:
    """Have glibc keep the freed memory of steps whose largest array takes `largest` bytes; returns the trim threshold
    in force (0 where glibc's own rule stands: small steps, another C library)."""
    global _kept
    if largest < DEFAULT_MMAP_THRESHOLD:
        return _kept
    trim = STEP_ARRAYS * min(largest, MMAP_CEILING)  # what the next step takes again: no more is kept
    with _lock:
        mallopt = _mallopt() if trim > _kept else None
        # Setting either turns glibc's own raising off, so both: blocks up to the ceiling stay in the heap.
        if mallopt is not None and mallopt(M_MMAP_THRESHOLD, MMAP_CEILING) and mallopt(M_TRIM_THRESHOLD, trim):
            _kept = trim
    return _kept
