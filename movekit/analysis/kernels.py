"""Compiled (Numba) kernels of the analysis core, bit for bit equal to the numpy reference code.

The numpy code (:mod:`movekit.analysis.filters`, ``pipeline``, ``view``, ``com``, ``angles``) is
the reference and the fallback; these kernels do the same IEEE double operations in the same
order (sums from +0.0 in index order, as numpy's short reductions and ``einsum`` here do; numpy's
own ``arctan2`` and ``arccos``, whose SIMD results differ from libm's in the last bit, are still
called by numpy between two kernels), so their results are identical, signed zeros included
(``tests/test_analysis_equivalence.py`` checks them against the numpy code on real and synthetic
pose). Compiled: one causal pass over the caller's pose for the whole left/right repair (swap
test, relabel parity, hip/shoulder agreement) with the relabelling, the visibility mask and the
gather of the rows to clean; the cleaning (Hampel in place on those rows, gap fill,
Butterworth) and the scatter back; the facing and yaw cues, the 2D angle geometry and the
centre of mass (from the cleaned rows), and the guard/gate/settle steps after the angles. Where
a decision against a threshold is clear by a margin far above rounding (a pair of landmarks much
narrower than the limit, a facing sine far from it), the ``hypot`` behind it is skipped: the
same decision, so the same values. Why
compiled code: a 7-sample Hampel filter needs two median selections (~13 compare-exchanges each)
plus the deviations per sample, i.e. 30+ whole-array numpy passes, and each numpy expression over
an hour of pose is a pass over tens of MB, while the issue-22 target is 20 copies' worth (issue 22).

Numba is optional (``pip install movekit[fast]``). It is imported only when a batch is long enough
(:data:`LOAD_MIN_SAMPLES`) for compiled code to pay for its import and cache load, so short clips
and the live path (:class:`~movekit.analysis.filters.StreamingCleaner`) never import it. The very
first run on a machine compiles the kernels (~13 s of CPU here) and stores them. Compiled
functions are cached on disk (``cache=True``: next to this file, or Numba's user-wide cache
folder when the package folder is read-only). ``MOVEKIT_NUMBA=0`` disables the kernels.
"""

from __future__ import annotations

import logging
import os
import threading
from functools import lru_cache
from types import ModuleType

import numpy as np

log = logging.getLogger(__name__)

#: Once the kernels are loaded, batches of at least this many samples (frames x channels) use
#: them; smaller ones gain less than a kernel's first call costs (~10-15 ms from the cache).
MIN_SAMPLES = 500_000
#: A batch this large loads the kernels: importing Numba and the first kernel from its cache take
#: ~0.5-0.65 s of wall time on the 2-core machine while other engineers' jobs ran, and the kernels
#: save ~0.15 us of CPU per sample (1.24 -> 0.46 s for the hour's 5.0 M samples), so a single
#: process breaks even near 4 M samples (~50 min of pose). A long-running process (studio, batch)
#: pays the load once and then uses the kernels from :data:`MIN_SAMPLES` up.
LOAD_MIN_SAMPLES = 4_000_000


def wanted(n_samples: int) -> bool:
    """Use the compiled kernels for a batch of ``n_samples`` (frames x channels)?"""
    if n_samples < MIN_SAMPLES or os.environ.get("MOVEKIT_NUMBA", "1") == "0":
        return False
    if n_samples < LOAD_MIN_SAMPLES and get.cache_info().currsize == 0:
        return False  # not loaded yet, and this batch would not pay for loading them
    return get() is not None


@lru_cache(maxsize=1)
def get() -> ModuleType | None:
    """The compiled kernels (:mod:`movekit.analysis._numba_kernels`), or None when Numba is not
    installed (then the numpy code is used)."""
    try:
        from movekit.analysis import _numba_kernels
    except ImportError:
        log.debug("numba not installed: the numpy analysis code is used")
        return None
    return _numba_kernels


_SCRATCH = threading.local()


#: Batches of at least this many samples are split across two threads by :func:`in_two`
#: (a thread's start and join cost ~0.1 ms; an hour of pose is 5 M samples).
SPLIT_MIN_SAMPLES = 1_000_000


@lru_cache(maxsize=1)
def _helper_pool():
    from concurrent.futures import ThreadPoolExecutor

    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="movekit-kernels")


if hasattr(os, "register_at_fork"):  # a forked child has no helper thread: it makes its own
    os.register_at_fork(after_in_child=_helper_pool.cache_clear)


def in_two(part, n_items: int, n_samples: int) -> None:
    """Run ``part(lo, hi)`` over ``range(n_items)``: in one call, or in two halves at once, one on
    a helper thread, when the batch has :data:`SPLIT_MIN_SAMPLES` and the process may use two
    cores (``os.sched_getaffinity``; ``MOVEKIT_THREADS=1`` keeps one). ``part`` must compute each
    item alone (rows of a filter, blocks of frames) and release the GIL (the compiled kernels
    do), so the values are the same either way. Wall time falls, CPU time does not."""
    if n_items < 2 or n_samples < SPLIT_MIN_SAMPLES or _threads() < 2:
        part(0, n_items)
        return
    half = n_items // 2
    other = _helper_pool().submit(part, half, n_items)
    try:
        part(0, half)
    finally:
        other.result()


def _threads() -> int:
    """Cores this process may use, capped by ``MOVEKIT_THREADS`` (default 2)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    try:
        cap = int(os.environ.get("MOVEKIT_THREADS", "2"))
    except ValueError:
        cap = 2
    return max(1, min(cores, cap))


def scratch(shape: tuple[int, ...]) -> np.ndarray:
    """A C-contiguous float64 array of ``shape`` with undefined values, for scratch data that
    does not leave the call (the swap repair's rows to clean): this thread's spare buffer when it
    is large enough, else a new one. Give it back with :func:`give_back` when done. Fresh pages
    cost the kernel a zeroing pass (an hour of pose: 40 MB, ~3.5 ms, almost a copy of the pose),
    so a process that analyses long inputs again and again reuses one buffer per thread instead;
    the buffer (at most the largest rows taken, e.g. 40 MB for an hour) stays allocated."""
    size = int(np.prod(shape))
    buf = getattr(_SCRATCH, "buf", None)
    if buf is None or buf.size < size:
        return np.empty(shape)
    _SCRATCH.buf = None  # taken: a nested or failed call allocates its own
    return buf[:size].reshape(shape)


def give_back(a: np.ndarray) -> None:
    """Keep the buffer behind ``a`` (from :func:`scratch`) as this thread's spare; ``a`` and
    every view of it must no longer be used."""
    base = a
    while isinstance(base.base, np.ndarray):
        base = base.base
    if base.dtype != np.float64 or not base.flags.c_contiguous:
        return
    flat = base.reshape(-1)
    spare = getattr(_SCRATCH, "buf", None)
    if spare is None or spare.size < flat.size:
        _SCRATCH.buf = flat
