"""The compiled (Numba) kernels behind :mod:`movekit.analysis.kernels`; import that module, not this one.

Module-level functions so that Numba's on-disk cache (``cache=True``) finds them again in the next
process. Every kernel repeats the IEEE double operations of the numpy code it stands for, in the
same order (named in each docstring), so the results are the same bit for bit.
"""

from __future__ import annotations

import numba
import numpy as np

jit = numba.njit(cache=True, nogil=True)


@numba.njit(inline="always", cache=True)
def _lo(a, b):
    return a if a < b else b  # a select, not a branch: the loop stays SIMD


@numba.njit(inline="always", cache=True)
def _hi(a, b):
    return b if a < b else a


@numba.njit(inline="always", cache=True)
def _med7(a0, a1, a2, a3, a4, a5, a6):
    """Median of 7 values: the selection network of ``filters._NETWORKS[7]`` (Devillard 1998);
    NaN-free inputs only (any exact median is then the same value)."""
    a0, a5 = _lo(a0, a5), _hi(a0, a5)
    a0, a3 = _lo(a0, a3), _hi(a0, a3)
    a1, a6 = _lo(a1, a6), _hi(a1, a6)
    a2, a4 = _lo(a2, a4), _hi(a2, a4)
    a0, a1 = _lo(a0, a1), _hi(a0, a1)
    a3, a5 = _lo(a3, a5), _hi(a3, a5)
    a2, a6 = _lo(a2, a6), _hi(a2, a6)
    a2, a3 = _lo(a2, a3), _hi(a2, a3)
    a3, a6 = _lo(a3, a6), _hi(a3, a6)
    a4, a5 = _lo(a4, a5), _hi(a4, a5)
    a1, a4 = _lo(a1, a4), _hi(a1, a4)
    a1, a3 = _lo(a1, a3), _hi(a1, a3)
    return _lo(a3, a4)


@jit
def _sort7(w):
    """Sort 7 values in place (a 16-comparator network, Knuth TAOCP vol. 3, 5.3.4)."""
    w[0], w[6] = _lo(w[0], w[6]), _hi(w[0], w[6])
    w[2], w[3] = _lo(w[2], w[3]), _hi(w[2], w[3])
    w[4], w[5] = _lo(w[4], w[5]), _hi(w[4], w[5])
    w[0], w[2] = _lo(w[0], w[2]), _hi(w[0], w[2])
    w[1], w[4] = _lo(w[1], w[4]), _hi(w[1], w[4])
    w[3], w[6] = _lo(w[3], w[6]), _hi(w[3], w[6])
    w[0], w[1] = _lo(w[0], w[1]), _hi(w[0], w[1])
    w[2], w[5] = _lo(w[2], w[5]), _hi(w[2], w[5])
    w[3], w[4] = _lo(w[3], w[4]), _hi(w[3], w[4])
    w[1], w[2] = _lo(w[1], w[2]), _hi(w[1], w[2])
    w[4], w[6] = _lo(w[4], w[6]), _hi(w[4], w[6])
    w[2], w[3] = _lo(w[2], w[3]), _hi(w[2], w[3])
    w[4], w[5] = _lo(w[4], w[5]), _hi(w[4], w[5])
    w[1], w[2] = _lo(w[1], w[2]), _hi(w[1], w[2])
    w[3], w[4] = _lo(w[3], w[4]), _hi(w[3], w[4])
    w[5], w[6] = _lo(w[5], w[6]), _hi(w[5], w[6])


@jit
def _finite_median(w, k):
    """Median of the ``k`` finite values of ``w`` (the others +inf), as
    ``filters._nanmedian_last`` computes it (NaN when none)."""
    if k == 0:
        return np.nan
    _sort7(w)
    return 0.5 * (w[(k - 1) // 2] + w[k // 2])


@jit
def _hampel_slow(r, x, thresh, min_count, w):
    """One sample whose window ``r`` (7 values) holds a NaN: the median and MAD of its finite
    samples (NaN counted out, sorted last as +inf)."""
    k = 0
    for j in range(7):
        fin = r[j] == r[j]
        w[j] = r[j] if fin else np.inf
        k += fin
    med = _finite_median(w, k)
    for j in range(7):
        w[j] = abs(r[j] - med) if r[j] == r[j] else np.inf
    mad = _finite_median(w, k)
    if abs(x - med) > thresh * mad and k >= min_count:
        return med
    return x


@jit
def _hampel7(padded, xoff, thresh, min_count, out):
    """7-sample Hampel along each row of ``padded`` (channels, frames + 6); the sample judged
    in window ``i`` is ``padded[:, i + xoff]`` (3 centred, 6 trailing). The network runs
    branch-free along the row (SIMD); a window holding a NaN is redone by
    :func:`_hampel_slow`. Returns ``(out (channels, frames), ok)``; ``ok`` is False when a
    window held an infinity (then use the numpy code, whose semantics differ)."""
    c, m = padded.shape
    n = m - 6
    bad = np.empty(n, dtype=np.bool_)
    buf = np.empty(7)
    full_ok = 7 >= min_count
    for ch in range(c):
        r, o = padded[ch], out[ch]
        anybad = False
        for i in range(n):
            v0, v1, v2, v3, v4, v5, v6 = r[i], r[i + 1], r[i + 2], r[i + 3], r[i + 4], r[i + 5], r[i + 6]
            s = v0 + v1 + v2 + v3 + v4 + v5 + v6
            b = s - s != 0.0  # a NaN or an infinity in the window
            bad[i] = b
            anybad |= b
            med = _med7(v0, v1, v2, v3, v4, v5, v6)
            mad = _med7(
                abs(v0 - med), abs(v1 - med), abs(v2 - med), abs(v3 - med), abs(v4 - med), abs(v5 - med), abs(v6 - med)
            )
            x = r[i + xoff]
            o[i] = med if (abs(x - med) > thresh * mad and full_ok) else x
        if not anybad:
            continue
        for i in range(n):
            if bad[i]:
                for j in range(7):
                    if r[i + j] == r[i + j] and r[i + j] - r[i + j] != 0.0:
                        return False
                o[i] = _hampel_slow(r[i : i + 7], r[i + xoff], thresh, min_count, buf)
    return True


@jit
def _fill_column(col, out, max_gap, causal):
    """Fill the gaps of one column (``filters.fill_gaps``, same operations)."""
    n = col.shape[0]
    prev = -1
    i = 0
    while i < n:
        if col[i] - col[i] == 0.0:  # finite
            prev = i
            i += 1
            continue
        j = i
        while j < n and not col[j] - col[j] == 0.0:
            j += 1
        if prev >= 0:
            if causal:
                for r in range(i, min(j, prev + max_gap + 1)):
                    out[r] = col[prev]
            elif j < n and j - prev - 1 <= max_gap:
                for r in range(i, j):
                    wgt = (r - prev) / (j - prev)
                    out[r] = col[prev] * (1.0 - wgt) + col[j] * wgt
        i = j


@jit
def _same_gaps(a, b):
    """Rows ``a`` and ``b`` have their finite samples at the same frames."""
    for i in range(a.shape[0]):
        if (a[i] - a[i] == 0.0) != (b[i] - b[i] == 0.0):
            return False
    return True


@jit
def _sosfilt_block(sos, zi0, blk, start, stop, step):
    """``scipy.signal.sosfilt`` (direct form II transposed, in its operation order) in place
    along ``blk[start:stop:step, :]`` (frames, rows) for every row, each started at
    ``zi0 * (its first sample)``. The rows advance together (SIMD across rows)."""
    g, ns = blk.shape[1], sos.shape[0]
    z0 = np.empty((ns, g))
    z1 = np.empty((ns, g))
    for s in range(ns):
        for r in range(g):
            z0[s, r] = zi0[s, 0] * blk[start, r]
            z1[s, r] = zi0[s, 1] * blk[start, r]
    for k in range(start, stop, step):
        row = blk[k]
        for s in range(ns):
            b0, b1, b2, a1, a2 = sos[s, 0], sos[s, 1], sos[s, 2], sos[s, 4], sos[s, 5]
            zs0, zs1 = z0[s], z1[s]
            for r in range(g):
                x = row[r]
                y = b0 * x + zs0[r]
                zs0[r] = b1 * x - a1 * y + zs1[r]
                zs1[r] = b2 * x - a2 * y
                row[r] = y


@jit
def _filter_run(sos, zi0, src, dst, i, j, zero_phase, ext):
    """Low-pass the run ``src[:, i:j]`` (rows with the same gaps) into ``dst[:, i:j]``, as
    ``filters.lowpass`` does: causal from the steady state, or ``filters._filtfilt``
    (odd-extension padding, forward then backward)."""
    g, n = src.shape[0], j - i
    if zero_phase and n < 2:
        dst[:, i:j] = src[:, i:j]
        return
    pad = min(3 * (2 * sos.shape[0] + 1), n - 1) if zero_phase else 0
    m = n + 2 * pad
    blk = ext[:m, :g]
    for r in range(g):
        seg = src[r, i:j]
        for k in range(pad):
            blk[k, r] = 2 * seg[0] - seg[pad - k]
            blk[pad + n + k, r] = 2 * seg[n - 1] - seg[n - 2 - k]
        for k in range(n):
            blk[pad + k, r] = seg[k]
    _sosfilt_block(sos, zi0, blk, 0, m, 1)
    if zero_phase:
        _sosfilt_block(sos, zi0, blk, m - 1, -1, -1)
    for r in range(g):
        for k in range(n):
            dst[r, i + k] = blk[pad + k, r]


@jit
def _filter_rows(sos, zi0, src, dst, zero_phase, ext):
    """Low-pass every run of finite samples of ``src`` (rows sharing their gaps) into ``dst``."""
    first, n = src[0], src.shape[1]
    i = 0
    while i < n:
        if not first[i] - first[i] == 0.0:
            i += 1
            continue
        j = i
        while j < n and first[j] - first[j] == 0.0:
            j += 1
        _filter_run(sos, zi0, src, dst, i, j, zero_phase, ext)
        i = j


@jit
def _fill_lowpass(a, max_gap, causal, sos, zi0, zero_phase, do_filter, filled, out, ext):
    """``fill_gaps`` then (``do_filter``) ``lowpass`` along each row of ``a`` (channels, frames).

    Neighbouring rows with the same gaps (x and y of a landmark, usually many more) are
    filtered together, up to 8 at a time."""
    c, n = a.shape
    filled[:] = a
    if max_gap > 0:
        for ch in range(c):
            _fill_column(a[ch], filled[ch], max_gap, causal)
    if not do_filter:
        return
    out[:] = np.nan
    ch = 0
    while ch < c:
        stop = ch + 1
        while stop < c and stop - ch < 8 and _same_gaps(filled[ch], filled[stop]):
            stop += 1
        _filter_rows(sos, zi0, filled[ch:stop], out[ch:stop], zero_phase, ext)
        ch = stop


@jit
def _settle_pass(a, out, n_keep, drop_short):
    """One pass of ``filters.settle_after_gaps`` (``drop_short`` False: NaN for the first
    ``n_keep`` samples of each run after a gap) or ``filters.drop_short_runs`` (True: NaN
    for runs after a gap shorter than ``n_keep``), over (frames, channels) ``a``."""
    n, c = a.shape
    run = np.zeros(c, dtype=np.int64)
    start = np.ones(c, dtype=np.bool_)  # still in the run that began at frame 0 (no gap)
    for i in range(n):
        for ch in range(c):
            v = a[i, ch]
            fin = v - v == 0.0
            start[ch] = start[ch] and fin
            run[ch] = run[ch] + 1 if fin else 0
            if not drop_short:
                out[i, ch] = v if (fin and (start[ch] or run[ch] > n_keep)) else np.nan
            else:
                out[i, ch] = v if (fin and start[ch]) else np.nan
    if not drop_short:
        return
    for ch in range(c):  # backward: the length of the run each sample is in
        length = 0
        for i in range(n - 1, -1, -1):
            v = a[i, ch]
            if not v - v == 0.0:
                length = 0
                continue
            if length == 0:  # the last sample of a run: count it back to its start
                k = i
                while k >= 0 and a[k, ch] - a[k, ch] == 0.0:
                    k -= 1
                length = i - k if k >= 0 else -1  # -1: the run from frame 0, kept
            if length < 0 or length >= n_keep:
                out[i, ch] = v


@jit
def _settle(a, n_settle, n_min, out, res):
    """``filters.settle_after_gaps(a, n_settle)`` into ``out`` then, when ``n_min > 1``,
    ``filters.drop_short_runs(..., n_min)`` of it into ``res``, (frames, channels)."""
    if n_settle > 0:
        _settle_pass(a, out, n_settle, False)
    else:
        out[:] = a
    if n_min > 1:
        _settle_pass(out, res, n_min, True)


@jit
def _sign_or(d, default):
    """``np.where(np.abs(d) > 0, np.sign(d), default)`` for one value."""
    if abs(d) > 0:
        return 1.0 if d > 0 else -1.0
    return default


@jit
def angles2d_args(p, facing, front, idx, normal, unsigned, y, x, short):
    """The ``arctan2`` arguments of ``angles._angles_2d`` for frames ``p`` (frames, 33, 2):
    ``y``, ``x`` (angles, frames) and ``short`` (a zero-length vector), the same operations.
    ``idx`` (4, angles): reference from/to and segment from/to point numbers (33-38 are the
    virtual points mid-shoulder, mid-hip, origin, up, anterior and right)."""
    n, na = p.shape[0], idx.shape[1]
    P = np.zeros((39, 2))
    P[36, 1] = -1.0
    nz = np.empty(4)
    for i in range(n):
        for k in range(33):
            P[k, 0] = p[i, k, 0]
            P[k, 1] = p[i, k, 1]
        for d in range(2):
            P[33, d] = 0.5 * (p[i, 11, d] + p[i, 12, d])
            P[34, d] = 0.5 * (p[i, 23, d] + p[i, 24, d])
        dsh = p[i, 11, 0] - p[i, 12, 0]
        dhip = p[i, 23, 0] - p[i, 24, 0]
        lat1 = _sign_or(dhip, front[i])
        P[37, 0] = facing[i]
        P[38, 0] = -lat1
        nz[0] = -facing[i]
        nz[1] = -_sign_or(dsh, front[i])
        nz[2] = -lat1
        nz[3] = -_sign_or(0.5 * (dsh + dhip), front[i])
        for a in range(na):
            rx = P[idx[1, a], 0] - P[idx[0, a], 0]
            ry = P[idx[1, a], 1] - P[idx[0, a], 1]
            sx = P[idx[3, a], 0] - P[idx[2, a], 0]
            sy = P[idx[3, a], 1] - P[idx[2, a], 1]
            cross = rx * sy - ry * sx
            x[a, i] = rx * sx + ry * sy
            y[a, i] = abs(cross) if unsigned[a] else cross * nz[normal[a]]
            short[a, i] = (rx * rx + ry * ry) <= 0 or (sx * sx + sy * sy) <= 0


@jit
def angles_finish(theta, short, mult, offset, lo, unsigned, plo, phi):
    """In place, ``theta`` (angles, frames) from ``arctan2`` (rad) to the angle on its branch
    (deg), NaN where short or impossible: ``angles._angles_2d``'s last steps, same operations."""
    na, n = theta.shape
    for a in range(na):
        for i in range(n):
            t = theta[a, i] * (180.0 / np.pi) * mult[a] + offset[a]
            if not unsigned[a]:
                t = lo[a] + np.mod(t - lo[a], 360.0)
            if short[a, i] or t < plo[a] or t > phi[a]:
                t = np.nan
            theta[a, i] = t


@jit
def _gather_rows(p, used, before, out):
    """Rows (landmarks x dims, frames) of ``p[:, used]`` (frames, landmarks, dims) into ``out``,
    NaN in its first ``before`` and its last columns (the Hampel window's edges)."""
    n, _, d = p.shape
    out[:, :before] = np.nan
    out[:, before + n :] = np.nan
    for s in range(0, n, 256):  # blocks of frames that stay in cache while transposed
        e = min(n, s + 256)
        for j in range(used.size):
            for k in range(d):
                row = out[j * d + k]
                for i in range(s, e):
                    row[before + i] = p[i, used[j], k]


@jit
def scatter_rows(rows, p, used):
    """``p[:, used] = rows`` given as (landmarks x dims, frames): :func:`gather_rows` undone."""
    n, _, d = p.shape
    for s in range(0, n, 256):
        e = min(n, s + 256)
        for j in range(used.size):
            for k in range(d):
                row = rows[j * d + k]
                for i in range(s, e):
                    p[i, used[j], k] = row[i]


@jit
def _velocity_guard(a, lim, hold, out):
    """``filters.velocity_guard`` of (frames, channels) ``a``: frames outer, the
    :class:`~movekit.analysis.filters.StreamingVelocityGuard` state per channel (the same
    decisions, ``filters._guard_accepts``)."""
    n, c = a.shape
    out[:] = a
    ref = np.full(c, np.nan)
    big = np.iinfo(np.int64).max // 2
    age = np.full(c, big, dtype=np.int64)
    for i in range(n):
        for ch in range(c):
            age[ch] = min(age[ch] + 1, big)
            x = a[i, ch]
            if not x - x == 0.0:
                continue
            if age[ch] > hold or not abs(x - ref[ch]) > lim[ch] * age[ch]:
                ref[ch] = x
                age[ch] = 0
            else:
                out[i, ch] = np.nan


# Entry points: numpy allocates the large arrays (it asks the kernel for transparent huge pages;
# memory Numba allocates is faulted in 4 kB at a time, which cost ~15 ms per 40 MB here).


def hampel7(padded: np.ndarray, xoff: int, thresh: float, min_count: int) -> tuple[np.ndarray, bool]:
    """:func:`_hampel7`: ``(out (channels, frames), ok)``."""
    out = np.empty((padded.shape[0], padded.shape[1] - 6))
    return out, bool(_hampel7(padded, xoff, thresh, min_count, out))


def fill_lowpass(a, max_gap: int, causal: bool, sos, zi0, zero_phase: bool, do_filter: bool) -> np.ndarray:
    """:func:`_fill_lowpass` of ``a`` (channels, frames); a new (channels, frames) array."""
    c, n = a.shape
    filled, out = np.empty((c, n)), np.empty((c, n))
    ext = np.empty((n + 2 * 3 * (2 * sos.shape[0] + 1), 8))
    _fill_lowpass(a, max_gap, causal, sos, zi0, zero_phase, do_filter, filled, out, ext)
    return out if do_filter else filled


def settle(a: np.ndarray, n_settle: int, n_min: int) -> np.ndarray:
    """:func:`_settle` of (frames, channels) ``a``; a new array."""
    out = np.empty_like(a)
    res = np.empty_like(a) if n_min > 1 else out
    _settle(a, n_settle, n_min, out, res)
    return res


def gather_rows(p: np.ndarray, used: np.ndarray, before: int, after: int) -> np.ndarray:
    """:func:`_gather_rows`: ``(len(used) * dims, before + frames + after)``."""
    out = np.empty((used.size * p.shape[2], before + p.shape[0] + after))
    _gather_rows(p, used, before, out)
    return out


def velocity_guard(a: np.ndarray, lim: np.ndarray, hold: int) -> np.ndarray:
    """:func:`_velocity_guard` of (frames, channels) ``a``; a new array."""
    out = np.empty_like(a)
    _velocity_guard(a, lim, hold, out)
    return out


@jit
def _pair_dist(p, i, a, j, b):
    """Image distance between landmark ``a`` of frame ``i`` and landmark ``b`` of frame ``j``
    (``pipeline.swap_flags``' ``dist``: the same operations)."""
    dx = p[i, a, 0] - p[j, b, 0]
    dy = p[i, a, 1] - p[j, b, 1]
    return np.sqrt(dx**2 + dy**2)


@jit
def _swap_flags(p, groups, ratio, flags):
    """``pipeline.swap_flags`` of (frames, 33, >=2) ``p`` into ``flags`` (frames, 2); ``groups``
    (2, 5) holds the left landmarks of each group, -1 padded."""
    for i in range(1, p.shape[0]):
        for g in range(2):
            same_sum, swap_sum, seen = 0.0, 0.0, 0
            for left in groups[g]:
                if left < 0:
                    continue
                same = _pair_dist(p, i, left, i - 1, left) + _pair_dist(p, i, left + 1, i - 1, left + 1)
                swap = _pair_dist(p, i, left, i - 1, left + 1) + _pair_dist(p, i, left + 1, i - 1, left)
                if same - same == 0.0:
                    seen += 1
                if same == same:
                    same_sum += same
                if swap == swap:
                    swap_sum += swap
            flags[i, g] = seen >= 3 and swap_sum < ratio * same_sum


def swap_flags(p: np.ndarray, groups: np.ndarray, ratio: float) -> np.ndarray:
    """:func:`_swap_flags`: (frames, 2) bool."""
    flags = np.zeros((p.shape[0], 2), dtype=bool)
    _swap_flags(p, groups, ratio, flags)
    return flags
