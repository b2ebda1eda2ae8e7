"""The compiled (Numba) kernels behind :mod:`movekit.analysis.kernels`; import that module, not this one.

Module-level functions so that Numba's on-disk cache (``cache=True``) finds them again in the next
process. Every kernel repeats the IEEE double operations of the numpy code it stands for, in the
same order (named in each docstring), so the results are the same bit for bit.
"""

from __future__ import annotations

import numba
import numpy as np

from movekit.analysis.kernels import in_two

jit = numba.njit(cache=True, nogil=True)
# for kernels that divide: ``error_model="numpy"`` gives numpy's inf and NaN for a division by zero
# (Numba's default raises ZeroDivisionError). Their sums start from +0.0 and add in index order, as
# numpy's reductions over a short axis and ``einsum`` here do (a sum of -0.0 is +0.0 in both).
jitn = numba.njit(cache=True, nogil=True, error_model="numpy")


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


@numba.njit(inline="always", cache=True)
def _ce(a, b):
    """One compare-exchange: ``(_lo(a, b), _hi(a, b))``."""
    return _lo(a, b), _hi(a, b)


@numba.njit(inline="always", cache=True)
def _sorted7(w0, w1, w2, w3, w4, w5, w6):
    """Sort 7 values (a 16-comparator network, Knuth TAOCP vol. 3, 5.3.4) kept in registers;
    returns the sorted 7-tuple."""
    w0, w6 = _ce(w0, w6)
    w2, w3 = _ce(w2, w3)
    w4, w5 = _ce(w4, w5)
    w0, w2 = _ce(w0, w2)
    w1, w4 = _ce(w1, w4)
    w3, w6 = _ce(w3, w6)
    w0, w1 = _ce(w0, w1)
    w2, w5 = _ce(w2, w5)
    w3, w4 = _ce(w3, w4)
    w1, w2 = _ce(w1, w2)
    w4, w6 = _ce(w4, w6)
    w2, w3 = _ce(w2, w3)
    w4, w5 = _ce(w4, w5)
    w1, w2 = _ce(w1, w2)
    w3, w4 = _ce(w3, w4)
    w5, w6 = _ce(w5, w6)
    return (w0, w1, w2, w3, w4, w5, w6)


@numba.njit(inline="always", cache=True)
def _pick7(s, j):
    """``s[j]`` of a 7-tuple by selects (the tuple stays in registers)."""
    v = s[6]
    v = s[5] if j == 5 else v
    v = s[4] if j == 4 else v
    v = s[3] if j == 3 else v
    v = s[2] if j == 2 else v
    v = s[1] if j == 1 else v
    return s[0] if j == 0 else v


@numba.njit(inline="always", cache=True)
def _finite_median7(t, k):
    """Median of the ``k`` finite values of the 7-tuple ``t`` (the others +inf, sorted last),
    as ``filters._nanmedian_last`` computes it (NaN when none)."""
    s = _sorted7(t[0], t[1], t[2], t[3], t[4], t[5], t[6])
    med = 0.5 * (_pick7(s, (k - 1) // 2) + _pick7(s, k // 2))
    return med if k > 0 else np.nan


@numba.njit(inline="always", cache=True)
def _finite_or_inf(v):
    return v if v == v else np.inf


@numba.njit(inline="always", cache=True)
def _dev_or_inf(v, med):
    return abs(v - med) if v == v else np.inf


@jit  # a separate function, not inlined: the rare path; keeps the compile time down
def _hampel_nan(r, i, xoff, thresh, min_count):
    """The window ``r[i:i + 7]``, which holds a NaN: the median and MAD of its finite samples
    (NaN counted out, sorted last as +inf); branch-free, the window in registers."""
    v0, v1, v2, v3, v4, v5, v6 = r[i], r[i + 1], r[i + 2], r[i + 3], r[i + 4], r[i + 5], r[i + 6]
    k = (v0 == v0) + (v1 == v1) + (v2 == v2) + (v3 == v3) + (v4 == v4) + (v5 == v5) + (v6 == v6)
    f = _finite_or_inf
    med = _finite_median7((f(v0), f(v1), f(v2), f(v3), f(v4), f(v5), f(v6)), k)
    d = _dev_or_inf
    mad = _finite_median7((d(v0, med), d(v1, med), d(v2, med), d(v3, med), d(v4, med), d(v5, med), d(v6, med)), k)
    x = r[i + xoff]
    return med if (abs(x - med) > thresh * mad and k >= min_count) else x


@numba.njit(inline="always", cache=True)
def _med_mad6(s0, s1, s2, s3, s4, s5):
    """Median and MAD of 6 sorted values as :func:`_hampel_nan` computes them for a window
    with one NaN: ``med = 0.5 * (s2 + s3)``; the deviations ``med - s2 <= med - s1 <= med - s0``
    and ``s3 - med <= s4 - med <= s5 - med`` are two sorted lists (the same values as
    ``|v - med|``: rounding is monotone and symmetric), whose 3rd and 4th smallest are a few
    min/max."""
    med = 0.5 * (s2 + s3)
    a1, a2, a3 = med - s2, med - s1, med - s0
    b1, b2, b3 = s3 - med, s4 - med, s5 - med
    d2 = _lo(_lo(a3, b3), _lo(_hi(a1, b2), _hi(a2, b1)))
    d3 = _hi(_hi(a1, b1), _hi(_lo(a3, b2), _lo(a2, b3)))
    return med, 0.5 * (d2 + d3)


@jit  # a separate function, not inlined: the rare path; keeps the compile time down
def _hampel_med7(v0, v1, v2, v3, v4, v5, v6, x, thresh, full_ok):
    """One NaN-free window, as ``filters.hampel`` (and the numpy code's selection network):
    the median, the MAD as the median of ``|v - median|``, ``x`` or the median."""
    med = _med7(v0, v1, v2, v3, v4, v5, v6)
    mad = _med7(abs(v0 - med), abs(v1 - med), abs(v2 - med), abs(v3 - med), abs(v4 - med), abs(v5 - med), abs(v6 - med))
    return med if (abs(x - med) > thresh * mad and full_ok) else x


@jit
def _hampel7(padded, xoff, thresh, min_count, out):
    """7-sample Hampel along each row of ``padded`` (channels, frames + 6); the sample judged
    in window ``i`` is ``padded[:, i + xoff]`` (3 centred, 6 trailing).

    The window is sorted (16 compare-exchanges, branch-free, SIMD along the row): its median
    is ``s3`` and the deviations from it are two sorted lists, ``s3 - s2 <= s3 - s1 <=
    s3 - s0`` and ``s4 - s3 <= s5 - s3 <= s6 - s3`` (rounding is monotone and symmetric, so
    these are exactly the ``|v - med|`` of the numpy code), whose 3rd smallest (the MAD, the
    4th smallest with the median's own 0) takes 6 min/max: a third fewer operations than a
    second selection network over the deviations. Redone one by one as the numpy code does
    (:func:`_hampel_nan`, :func:`_hampel_med7`): a window holding a NaN, and one whose median
    is zero (which of +0.0 and -0.0 is returned depends on the network). Returns False when
    a window held an infinity (then use the numpy code, whose semantics differ)."""
    c, m = padded.shape
    n = m - 6
    bad = np.empty(n, dtype=np.bool_)
    full_ok, six_ok = 7 >= min_count, 6 >= min_count
    for ch in range(c):
        r, o = padded[ch], out[ch]
        inf = 0  # every sample is in a window: a window holds an infinity iff the row does
        for i in range(m):
            inf += abs(r[i]) == np.inf
        if inf:
            return False
        anybad = False
        for i in range(n):
            v0, v1, v2, v3, v4, v5, v6 = r[i], r[i + 1], r[i + 2], r[i + 3], r[i + 4], r[i + 5], r[i + 6]
            k = (v0 == v0) + (v1 == v1) + (v2 == v2) + (v3 == v3) + (v4 == v4) + (v5 == v5) + (v6 == v6)
            f = _finite_or_inf
            s0, s1, s2, s3, s4, s5, s6 = _sorted7(f(v0), f(v1), f(v2), f(v3), f(v4), f(v5), f(v6))
            mad7 = _lo(_lo(s3 - s0, s6 - s3), _lo(_hi(s3 - s2, s5 - s3), _hi(s3 - s1, s4 - s3)))
            med6, mad6 = _med_mad6(s0, s1, s2, s3, s4, s5)
            # redone one by one: two or more NaN; a zero median; a midpoint that overflowed
            b = (k < 6) | ((k == 7) & (s3 == 0.0)) | ((k == 6) & (abs(med6) == np.inf))
            bad[i] = b
            anybad |= b
            med = s3 if k == 7 else med6
            ok = full_ok if k == 7 else six_ok
            x = r[i + xoff]
            o[i] = med if (abs(x - med) > thresh * (mad7 if k == 7 else mad6) and ok) else x
        if not anybad:
            continue
        for i in range(n):
            if bad[i]:
                t = r[i] + r[i + 1] + r[i + 2] + r[i + 3] + r[i + 4] + r[i + 5] + r[i + 6]
                if t != t:
                    o[i] = _hampel_nan(r, i, xoff, thresh, min_count)
                else:
                    w = r[i : i + 7]
                    o[i] = _hampel_med7(w[0], w[1], w[2], w[3], w[4], w[5], w[6], r[i + xoff], thresh, full_ok)
    return True


@jit
def _fill_column(col, out, max_gap, causal):
    """Fill the gaps of one column (``filters.fill_gaps``, same operations)."""
    n = col.shape[0]
    prev = -1
    i = 0
    while i < n:
        # 8 finite samples at a time (x - x is 0.0 for a finite x, NaN otherwise): most of a row
        while i + 8 <= n:
            c = col[i : i + 8]
            t = (c[0] - c[0]) + (c[1] - c[1]) + (c[2] - c[2]) + (c[3] - c[3])
            t += (c[4] - c[4]) + (c[5] - c[5]) + (c[6] - c[6]) + (c[7] - c[7])
            if not t == 0.0:
                break
            prev = i + 7
            i += 8
        if i >= n:
            break
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
    """Rows ``a`` and ``b`` have their finite samples at the same frames (branch-free: SIMD)."""
    differ = 0
    for i in range(a.shape[0]):
        differ += (a[i] - a[i] == 0.0) != (b[i] - b[i] == 0.0)
    return differ == 0


@numba.njit(inline="always", cache=True)
def _sos_step(x, z0, z1, b0, b1, b2, a1, a2):
    """One sample through one section: ``scipy.signal.sosfilt``'s direct form II transposed, in
    its operation order; returns ``(y, z0, z1)``."""
    y = b0 * x + z0
    return y, b1 * x - a1 * y + z1, b2 * x - a2 * y


@jit
def _sos_section8(blk, start, stop, step, c, z0, z1):
    """One second-order section ``c`` (b0, b1, b2, a1, a2) in place along
    ``blk[start:stop:step, :8]`` (the padded edges of 8 rows), the state ``z0``, ``z1`` (8,)
    carried in and out."""
    b0, b1, b2, a1, a2 = c[0], c[1], c[2], c[3], c[4]
    for k in range(start, stop, step):
        for r in range(8):
            blk[k, r], z0[r], z1[r] = _sos_step(blk[k, r], z0[r], z1[r], b0, b1, b2, a1, a2)


@jit
def _sos_rows8(r0, r1, r2, r3, r4, r5, r6, r7, start, stop, step, c, z0, z1):
    """One second-order section ``c`` (b0, b1, b2, a1, a2) in place along 8 rows
    ``r0``..``r7`` (frames ``start:stop:step``), advancing together with their state in
    registers (8 independent recursions overlap, and the rows are read where they lie: no
    transposition); the state ``z0``, ``z1`` (8,) carried in and out."""
    b0, b1, b2, a1, a2 = c[0], c[1], c[2], c[3], c[4]
    p0, p1, p2, p3, p4, p5, p6, p7 = z0[0], z0[1], z0[2], z0[3], z0[4], z0[5], z0[6], z0[7]
    q0, q1, q2, q3, q4, q5, q6, q7 = z1[0], z1[1], z1[2], z1[3], z1[4], z1[5], z1[6], z1[7]
    for k in range(start, stop, step):
        r0[k], p0, q0 = _sos_step(r0[k], p0, q0, b0, b1, b2, a1, a2)
        r1[k], p1, q1 = _sos_step(r1[k], p1, q1, b0, b1, b2, a1, a2)
        r2[k], p2, q2 = _sos_step(r2[k], p2, q2, b0, b1, b2, a1, a2)
        r3[k], p3, q3 = _sos_step(r3[k], p3, q3, b0, b1, b2, a1, a2)
        r4[k], p4, q4 = _sos_step(r4[k], p4, q4, b0, b1, b2, a1, a2)
        r5[k], p5, q5 = _sos_step(r5[k], p5, q5, b0, b1, b2, a1, a2)
        r6[k], p6, q6 = _sos_step(r6[k], p6, q6, b0, b1, b2, a1, a2)
        r7[k], p7, q7 = _sos_step(r7[k], p7, q7, b0, b1, b2, a1, a2)
    z0[0], z0[1], z0[2], z0[3], z0[4], z0[5], z0[6], z0[7] = p0, p1, p2, p3, p4, p5, p6, p7
    z1[0], z1[1], z1[2], z1[3], z1[4], z1[5], z1[6], z1[7] = q0, q1, q2, q3, q4, q5, q6, q7


@jit
def _sos_pass(sos, zi0, x0, left, rows, right, forward):
    """``scipy.signal.sosfilt`` in place over the sequence ``left`` (pad, 8), the 8 ``rows``,
    ``right`` (pad, 8) (backward: only ``right`` then the rows, reversed; what would follow
    is never read), each column started at ``zi0 * x0``. Section by section over the whole
    sequence: each section's recursion sees the same inputs in the same order as sample by
    sample through the cascade, so the values are the same."""
    z0, z1, c = np.empty(8), np.empty(8), np.empty(5)
    pad, n = right.shape[0], rows[0].shape[0]
    r0, r1, r2, r3, r4, r5, r6, r7 = rows
    for s in range(sos.shape[0]):
        for r in range(8):
            z0[r] = zi0[s, 0] * x0[r]
            z1[r] = zi0[s, 1] * x0[r]
        c[0], c[1], c[2], c[3], c[4] = sos[s, 0], sos[s, 1], sos[s, 2], sos[s, 4], sos[s, 5]
        if forward:
            _sos_section8(left, 0, pad, 1, c, z0, z1)
            _sos_rows8(r0, r1, r2, r3, r4, r5, r6, r7, 0, n, 1, c, z0, z1)
            _sos_section8(right, 0, pad, 1, c, z0, z1)
        else:
            _sos_section8(right, pad - 1, -1, -1, c, z0, z1)
            _sos_rows8(r0, r1, r2, r3, r4, r5, r6, r7, n - 1, -1, -1, c, z0, z1)


@jit
def _filter_run(sos, zi0, src, dst, i, j, zero_phase, ext, spare, inplace):
    """Low-pass the run ``src[:, i:j]`` (up to 8 rows with the same gaps) into ``dst[:, i:j]``,
    as ``filters.lowpass`` does: causal from the steady state, or ``filters._filtfilt``
    (odd-extension padding, forward then backward). The rows are filtered where they lie in
    ``dst``; the padded edges go to ``ext`` (2 * pad, 8); missing rows are ``spare`` (zeros,
    which stay zeros); ``inplace``: ``src`` is ``dst``."""
    g, n = src.shape[0], j - i
    if zero_phase and n < 2:
        dst[:, i:j] = src[:, i:j]
        return
    pad = min(3 * (2 * sos.shape[0] + 1), n - 1) if zero_phase else 0
    left, right = ext[:pad], ext[pad : 2 * pad]
    x0 = np.zeros(8)
    for r in range(8):
        for k in range(pad):  # the edges first: src may be dst
            left[k, r] = 2 * src[r, i] - src[r, i + pad - k] if r < g else 0.0
            right[k, r] = 2 * src[r, j - 1] - src[r, j - 2 - k] if r < g else 0.0
        if r < g:
            x0[r] = left[0, r] if pad > 0 else src[r, i]
    if not inplace:
        for r in range(g):
            dst[r, i:j] = src[r, i:j]
    rows = (
        dst[0, i:j],
        dst[1, i:j] if g > 1 else spare[:n],
        dst[2, i:j] if g > 2 else spare[:n],
        dst[3, i:j] if g > 3 else spare[:n],
        dst[4, i:j] if g > 4 else spare[:n],
        dst[5, i:j] if g > 5 else spare[:n],
        dst[6, i:j] if g > 6 else spare[:n],
        dst[7, i:j] if g > 7 else spare[:n],
    )
    _sos_pass(sos, zi0, x0, left, rows, right, True)
    if zero_phase:
        x0b = right[pad - 1].copy()  # zero phase: pad >= 1
        _sos_pass(sos, zi0, x0b, left, rows, right, False)


@jit
def _filter_rows(sos, zi0, src, dst, zero_phase, ext, spare, inplace):
    """Low-pass every run of finite samples of ``src`` (rows sharing their gaps) into ``dst``."""
    first, n = src[0], src.shape[1]
    i = 0
    while i < n:
        if not first[i] - first[i] == 0.0:
            for r in range(src.shape[0]):  # a gap (an infinity too) is NaN in the output
                dst[r, i] = np.nan
            i += 1
            continue
        j = i
        while j < n and first[j] - first[j] == 0.0:
            j += 1
        _filter_run(sos, zi0, src, dst, i, j, zero_phase, ext, spare, inplace)
        i = j


@jit
def _fill_lowpass(a, max_gap, causal, sos, zi0, zero_phase, do_filter, filled, out, ext, spare, copy):
    """``fill_gaps`` then (``do_filter``) ``lowpass`` along each row of ``a`` (channels, frames).

    Neighbouring rows with the same gaps (x and y of a landmark, usually many more) are
    filtered together, up to 8 at a time. ``copy`` False: ``filled`` and ``out`` are ``a``
    itself (a fill writes only inside gaps and reads only their finite ends; a run's padded
    edges are taken before it is filtered in place)."""
    c, n = a.shape
    if copy:
        filled[:] = a
    if max_gap > 0:
        for ch in range(c):
            _fill_column(a[ch], filled[ch], max_gap, causal)
    if not do_filter:
        return
    ch = 0
    while ch < c:
        stop = ch + 1
        while stop < c and stop - ch < 8 and _same_gaps(filled[ch], filled[stop]):
            stop += 1
        _filter_rows(sos, zi0, filled[ch:stop], out[ch:stop], zero_phase, ext, spare, not copy)
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


@numba.njit(inline="always", cache=True)
def _sign_sel(d, default):
    """``np.where(np.abs(d) > 0, np.sign(d), default)`` for one value, by selects (no branch:
    the loop that calls it stays SIMD)."""
    v = 1.0 if d > 0 else -1.0
    return v if abs(d) > 0 else default


@jit
def angles2d_args(rows, pos, s, e, facing, front, idx, normal, unsigned, y, x, short, q):
    """The ``arctan2`` arguments of ``angles._angles_2d`` for frames ``s:e``: ``y`` and ``x``
    (angles, ``e - s``: C-contiguous, so that numpy's ``arctan2`` takes them in one
    unbuffered loop) and ``short`` (a zero-length vector), the same operations. The landmarks
    are read from ``rows`` (x and y rows, frames along the row; landmark ``k``'s x is row
    ``2 * pos[k]``), as the cleaning leaves them: no transposition. ``idx`` (4, angles):
    reference from/to and segment from/to point numbers (33-38 are the virtual points
    mid-shoulder, mid-hip, origin, up, anterior and right, laid out in ``q`` (43, 2, >= frames)
    with the four normal signs in ``q[39:43, 0]``), so that each angle is one loop along the
    frames (SIMD)."""
    n, na = e - s, idx.shape[1]
    x11, y11, x12, y12 = (
        rows[2 * pos[11], s:e],
        rows[2 * pos[11] + 1, s:e],
        rows[2 * pos[12], s:e],
        rows[2 * pos[12] + 1, s:e],
    )
    x23, y23, x24, y24 = (
        rows[2 * pos[23], s:e],
        rows[2 * pos[23] + 1, s:e],
        rows[2 * pos[24], s:e],
        rows[2 * pos[24] + 1, s:e],
    )
    fac, fro = facing[s:e], front[s:e]
    # one short loop per virtual point: few arrays per loop, so the compiler's overlap checks
    # stay within its limit and each loop is SIMD (one loop over all of them was scalar)
    q[35, 0, :n], q[35, 1, :n] = 0.0, 0.0  # origin
    q[36, 0, :n], q[36, 1, :n] = 0.0, -1.0  # up
    q[37, 1, :n], q[38, 1, :n] = 0.0, 0.0
    mx, my = q[33, 0, :n], q[33, 1, :n]
    for i in range(n):
        mx[i] = 0.5 * (x11[i] + x12[i])
        my[i] = 0.5 * (y11[i] + y12[i])
    mx, my = q[34, 0, :n], q[34, 1, :n]
    for i in range(n):
        mx[i] = 0.5 * (x23[i] + x24[i])
        my[i] = 0.5 * (y23[i] + y24[i])
    ant, nf = q[37, 0, :n], q[39, 0, :n]
    for i in range(n):
        ant[i] = fac[i]  # anterior
        nf[i] = -fac[i]
    rgt, nl = q[38, 0, :n], q[41, 0, :n]
    for i in range(n):
        lat1 = _sign_sel(x23[i] - x24[i], fro[i])
        rgt[i] = -lat1  # right
        nl[i] = -lat1
    ns = q[40, 0, :n]
    for i in range(n):
        ns[i] = -_sign_sel(x11[i] - x12[i], fro[i])
    nt = q[42, 0, :n]
    for i in range(n):
        nt[i] = -_sign_sel(0.5 * ((x11[i] - x12[i]) + (x23[i] - x24[i])), fro[i])
    for a in range(na):
        pts = []
        for j in range(4):
            k = idx[j, a]
            if k < 33:
                pts.append((rows[2 * pos[k], s:e], rows[2 * pos[k] + 1, s:e]))
            else:
                pts.append((q[k, 0, :n], q[k, 1, :n]))
        (rfx, rfy), (rtx, rty), (sfx, sfy), (stx, sty) = pts[0], pts[1], pts[2], pts[3]
        nz, uns = q[39 + normal[a], 0, :n], unsigned[a]
        ya, xa, sa = y[a], x[a], short[a]
        for i in range(n):
            rx = rtx[i] - rfx[i]
            ry = rty[i] - rfy[i]
            sx = stx[i] - sfx[i]
            sy = sty[i] - sfy[i]
            cross = rx * sy - ry * sx
            xa[i] = rx * sx + ry * sy
            ya[i] = abs(cross) if uns else cross * nz[i]
            sa[i] = ((rx * rx + ry * ry) <= 0) | ((sx * sx + sy * sy) <= 0)  # "|": no branch, SIMD


@numba.njit(inline="always", cache=True)
def _mod360(a):
    """``np.mod(a, 360.0)`` bit for bit (numpy's ``fmod``, then ``+ 360`` for a negative
    remainder, +0.0 for a zero one), without the ``fmod`` call for ``|a| < 720``: there
    ``fmod`` is ``a``, ``a - 360`` or ``a + 360``, each exact (Sterbenz lemma)."""
    if a == 0.0:
        return 0.0
    if 0.0 < a < 360.0:
        return a
    if 360.0 <= a < 720.0:
        m = a - 360.0
        return m if m != 0.0 else 0.0
    if -360.0 < a < 0.0:
        return a + 360.0
    if -720.0 < a <= -360.0:
        m = a + 360.0
        if m == 0.0:
            return 0.0
        return m + 360.0 if m < 0.0 else m
    return np.mod(a, 360.0)


@numba.njit(inline="always", cache=True)
def _mod360_near(a):
    """:func:`_mod360` for ``|a| < 720`` (and NaN, which stays NaN) by selects, no branch (the
    loop stays SIMD): the same values, case by case."""
    v = a - 360.0 if a >= 360.0 else a
    v = a + 360.0 if a < 0.0 else v
    m = a + 360.0
    v = (m + 360.0 if m < 0.0 else 0.0) if a <= -360.0 else v
    return 0.0 if a == 0.0 else v


@jit
def angles_finish_into(x, theta, s, e, short, mult, offset, lo, unsigned, plo, phi):
    """``x`` (angles, ``e - s``: ``arctan2``, rad) to the angle on its branch (deg) into
    ``theta[:, s:e]`` (angles, frames), NaN where ``short`` (angles, ``e - s``) or impossible:
    ``angles._angles_2d``'s last steps, same operations.
    A row with a finite branch argument of 720 deg or more (never from ``arctan2`` and the
    angle table) takes :func:`_mod360` value by value; the others :func:`_mod360_near`."""
    na, n = theta.shape[0], e - s
    for a in range(na):
        row, sh, dst = x[a], short[a], theta[a, s:e]
        ma, of, la, pl, ph = mult[a], offset[a], lo[a], plo[a], phi[a]
        far = 0
        if not unsigned[a]:
            for i in range(n):
                far += abs(row[i] * (180.0 / np.pi) * ma + of - la) >= 720.0
        if unsigned[a]:
            for i in range(n):
                t = row[i] * (180.0 / np.pi) * ma + of
                dst[i] = np.nan if (sh[i] | (t < pl) | (t > ph)) else t
        elif far == 0:
            for i in range(n):
                t = row[i] * (180.0 / np.pi) * ma + of
                t = la + _mod360_near(t - la)
                dst[i] = np.nan if (sh[i] | (t < pl) | (t > ph)) else t
        else:
            for i in range(n):
                t = row[i] * (180.0 / np.pi) * ma + of
                t = la + _mod360(t - la)
                dst[i] = np.nan if (sh[i] | (t < pl) | (t > ph)) else t


@jit
def angles_finish(theta, s, e, short, mult, offset, lo, unsigned, plo, phi):
    """:func:`angles_finish_into` in place: ``theta[:, s:e]`` from ``arctan2`` (rad) to degrees
    on the branch (each value is read before it is written)."""
    angles_finish_into(theta[:, s:e], theta, s, e, short, mult, offset, lo, unsigned, plo, phi)


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
    """``p[:, used] = rows`` given as (landmarks x dims, frames): :func:`gather_rows` undone.
    Frame by frame (each frame's values written together, the rows read as streams): ~20 %
    less time than landmark by landmark over blocks of frames, whose writes land on lines
    already evicted (the same values: copies only)."""
    n, _, d = p.shape
    for i in range(n):
        for j in range(used.size):
            u = used[j]
            if d == 2:  # image x, y: both written at once
                p[i, u, 0], p[i, u, 1] = rows[2 * j, i], rows[2 * j + 1, i]
                continue
            for k in range(d):
                p[i, u, k] = rows[j * d + k, i]


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


def fill_lowpass(
    a, max_gap: int, causal: bool, sos, zi0, zero_phase: bool, do_filter: bool, overwrite: bool = False
) -> np.ndarray:
    """:func:`_fill_lowpass` of ``a`` (channels, frames); a new (channels, frames) array, or
    ``a`` itself, overwritten, with ``overwrite`` (two passes and two allocations fewer)."""
    c, n = a.shape
    filled = a if overwrite else np.empty((c, n))
    out = a if overwrite else np.empty((c, n))

    def part(lo: int, hi: int) -> None:
        ext = np.empty((2 * 3 * (2 * sos.shape[0] + 1), 8))
        args = (max_gap, causal, sos, zi0, zero_phase, do_filter, filled[lo:hi], out[lo:hi], ext, np.zeros(n))
        _fill_lowpass(a[lo:hi], *args, not overwrite)

    in_two(part, c, c * n)  # rows are independent: the same values split or not
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
    dx = np.float64(p[i, a, 0]) - np.float64(p[j, b, 0])  # float32 input read exactly as float64
    dy = np.float64(p[i, a, 1]) - np.float64(p[j, b, 1])
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


@jitn
def xy_float64(p, out):
    """``out[...] = p[..., :2]`` (frames, landmarks, 2) as float64: ``pipeline._xy_float64``."""
    n, m = out.shape[0], out.shape[1]
    for i in range(n):
        for k in range(m):
            out[i, k, 0] = p[i, k, 0]
            out[i, k, 1] = p[i, k, 1]


@jitn
def agree_lower(p, odd, min_cos, min_width):
    """``pipeline.agree_lower_with_upper`` in place on ``odd`` (frames, 2), the same operations
    (``p`` float32 or float64: read as float64, exactly)."""
    f = np.float64
    for i in range(p.shape[0]):
        su = -1.0 if odd[i, 0] else 1.0
        sl = -1.0 if odd[i, 1] else 1.0
        x11, y11, x12, y12 = f(p[i, 11, 0]), f(p[i, 11, 1]), f(p[i, 12, 0]), f(p[i, 12, 1])
        x23, y23, x24, y24 = f(p[i, 23, 0]), f(p[i, 23, 1]), f(p[i, 24, 0]), f(p[i, 24, 1])
        sh0, sh1 = (x11 - x12) * su, (y11 - y12) * su
        hp0, hp1 = (x23 - x24) * sl, (y23 - y24) * sl
        d0 = 0.5 * (x11 + x12) - 0.5 * (x23 + x24)
        d1 = 0.5 * (y11 + y12) - 0.5 * (y23 + y24)
        trunk = np.hypot(d0, d1)
        ls, lh = np.hypot(sh0, sh1), np.hypot(hp0, hp1)
        cos = ((0.0 + sh0 * hp0) + sh1 * hp1) / (ls * lh)
        if cos < min_cos and ls >= min_width * trunk and lh >= min_width * trunk:
            odd[i, 1] = not odd[i, 1]


@jitn
def _sin_between(a0, a1, b0, b1, min_len):
    """``view._sin_between`` for one pair of vectors."""
    cross = a0 * b1 - a1 * b0
    la, lb = np.hypot(a0, a1), np.hypot(b0, b1)
    if la >= min_len and lb >= min_len:
        return cross / (la * lb)
    return np.nan


@jitn
def _sign_at(v, threshold):
    """``np.where(np.abs(v) >= threshold, np.sign(v), 0.0)`` (NaN -> 0)."""
    if abs(v) >= threshold:
        return 1.0 if v > 0 else (-1.0 if v < 0 else 0.0)
    return 0.0


@jitn
def _facing_frame(p, i, L, sag_threshold, front_threshold):
    """``view.facing_2d`` (hold=False) of frame ``i``: (facing, front) signs, 0 = not confident."""
    up0 = 0.5 * (p[i, 11, 0] + p[i, 12, 0]) - 0.5 * (p[i, 23, 0] + p[i, 24, 0])
    up1 = 0.5 * (p[i, 11, 1] + p[i, 12, 1]) - 0.5 * (p[i, 23, 1] + p[i, 24, 1])
    short = 0.05 * L
    c0 = _sin_between(
        up0, up1, p[i, 0, 0] - 0.5 * (p[i, 7, 0] + p[i, 8, 0]), p[i, 0, 1] - 0.5 * (p[i, 7, 1] + p[i, 8, 1]), short
    )
    c1 = -_sin_between(
        p[i, 27, 0] - p[i, 25, 0],
        p[i, 27, 1] - p[i, 25, 1],
        p[i, 31, 0] - p[i, 29, 0],
        p[i, 31, 1] - p[i, 29, 1],
        short,
    )
    c2 = -_sin_between(
        p[i, 28, 0] - p[i, 26, 0],
        p[i, 28, 1] - p[i, 26, 1],
        p[i, 32, 0] - p[i, 30, 0],
        p[i, 32, 1] - p[i, 30, 1],
        short,
    )
    cnt, tot = 0, 0.0
    for c in (c0, c1, c2):
        cnt += c - c == 0.0
        tot += c if c == c else 0.0
    sag = tot / max(cnt, 1) if cnt > 0 else np.nan
    fr = 0.5 * ((p[i, 11, 0] - p[i, 12, 0]) + (p[i, 23, 0] - p[i, 24, 0])) / L
    return _sign_at(sag, sag_threshold), _sign_at(fr, front_threshold)


@jitn
def _perp_vertical(v0, v1):
    """``view._perp(v, (0, -1))``: the same products (``v1 * 0.0`` is NaN for a NaN or inf)."""
    return v0 * -1.0 - v1 * 0.0


@jitn
def _yaw_cues_frame(p, i, L, ratios, weights):
    """``view.yaw_cues_2d`` of frame ``i``: (cos_cue, sin_cue); ``ratios`` (width, nose, foot)."""
    ear0, ear1 = 0.5 * (p[i, 7, 0] + p[i, 8, 0]), 0.5 * (p[i, 7, 1] + p[i, 8, 1])
    neck0, neck1 = ear0 - 0.5 * (p[i, 11, 0] + p[i, 12, 0]), ear1 - 0.5 * (p[i, 11, 1] + p[i, 12, 1])
    w = 0.5 * (
        abs(_perp_vertical(p[i, 11, 0] - p[i, 12, 0], p[i, 11, 1] - p[i, 12, 1]))
        + abs(_perp_vertical(p[i, 23, 0] - p[i, 24, 0], p[i, 23, 1] - p[i, 24, 1]))
    )
    cos_cue = w / (ratios[0] * L)
    hn = np.hypot(neck0, neck1)
    u0, u1 = neck0 / hn, neck1 / hn
    v0, v1 = p[i, 0, 0] - ear0, p[i, 0, 1] - ear1
    nose = abs(v0 * u1 - v1 * u0) / (ratios[1] * L)
    feet = abs(
        0.5
        * (
            _perp_vertical(p[i, 31, 0] - p[i, 29, 0], p[i, 31, 1] - p[i, 29, 1])
            + _perp_vertical(p[i, 32, 0] - p[i, 30, 0], p[i, 32, 1] - p[i, 30, 1])
        )
    ) / (ratios[2] * L)
    tot, wsum = 0.0, 0.0
    for j, c in enumerate((nose, feet)):
        wt = weights[j] if c - c == 0.0 else 0.0
        cw = c * wt
        tot += cw if cw == cw else 0.0
        wsum += wt
    return cos_cue, tot / wsum


_SURE = 1e-9  #: margin (relative, or absolute on a sine) far above the few ulps of a sqrt-based length


@jitn
def _sin_sure(a0, a1, b0, b1, short2):
    """:func:`_sin_between` from squared lengths (no ``hypot``), or a flag that it cannot be
    trusted: ``(value, counted, sure)``. ``sure`` False when a length is within
    :data:`_SURE` of the ``short`` limit (``short2`` its square) or anything is not a normal
    finite number; otherwise ``counted`` (both long enough) is what the exact test decides and
    ``value`` is within a few ulps of its exact value (NaN when not counted)."""
    la2, lb2 = a0 * a0 + a1 * a1, b0 * b0 + b1 * b1
    fine = (la2 < 1e200) & (lb2 < 1e200) & (short2 >= 1e-200) & (short2 < 1e200)
    long_a, short_a = la2 > short2 * (1.0 + _SURE), la2 < short2 * (1.0 - _SURE)
    long_b, short_b = lb2 > short2 * (1.0 + _SURE), lb2 < short2 * (1.0 - _SURE)
    sure = fine & ((long_a & long_b) | short_a | short_b)
    counted = long_a & long_b
    v = (a0 * b1 - a1 * b0) / (np.sqrt(la2) * np.sqrt(lb2)) if counted else np.nan  # no over/underflow
    return v, counted, sure


@jitn
def _facing_sure(p, i, L, sag_threshold):
    """The facing sign of :func:`_facing_frame` without its six ``hypot`` when the decision
    is clear: ``(sign, sure)``; ``sure`` False when a length or the mean sine is within
    :data:`_SURE` of its limit (then the caller takes :func:`_facing_frame`)."""
    up0 = 0.5 * (p[i, 11, 0] + p[i, 12, 0]) - 0.5 * (p[i, 23, 0] + p[i, 24, 0])
    up1 = 0.5 * (p[i, 11, 1] + p[i, 12, 1]) - 0.5 * (p[i, 23, 1] + p[i, 24, 1])
    sh = 0.05 * L
    s2 = sh * sh
    c0, k0, ok0 = _sin_sure(
        up0, up1, p[i, 0, 0] - 0.5 * (p[i, 7, 0] + p[i, 8, 0]), p[i, 0, 1] - 0.5 * (p[i, 7, 1] + p[i, 8, 1]), s2
    )
    c1, k1, ok1 = _sin_sure(
        p[i, 27, 0] - p[i, 25, 0], p[i, 27, 1] - p[i, 25, 1], p[i, 31, 0] - p[i, 29, 0], p[i, 31, 1] - p[i, 29, 1], s2
    )
    c2, k2, ok2 = _sin_sure(
        p[i, 28, 0] - p[i, 26, 0], p[i, 28, 1] - p[i, 26, 1], p[i, 32, 0] - p[i, 30, 0], p[i, 32, 1] - p[i, 30, 1], s2
    )
    cnt = k0 + k1 + k2
    tot = (c0 if k0 else 0.0) - (c1 if k1 else 0.0) - (c2 if k2 else 0.0)
    sag = tot / cnt if cnt > 0 else 0.0
    clear = abs(abs(sag) - sag_threshold) > _SURE
    sure = ok0 & ok1 & ok2 & clear & (sag_threshold > 0.0) & (L == L)
    return (1.0 if sag > 0 else -1.0) if abs(sag) >= sag_threshold and cnt > 0 else 0.0, sure


@jitn
def view_cues(p, thresholds, ratios, weights, out):
    """``view.facing_2d(p, hold=False)`` and ``view.yaw_cues_2d(p)`` in one pass over (frames,
    33, 2) ``p``: ``out`` (4, frames) facing, front, cos_cue, sin_cue. ``thresholds``
    (sagittal, front), ``ratios`` (width, nose, foot), ``weights`` (nose, feet). The facing
    sign comes from :func:`_facing_sure` where that is sure (the same sign: it is a decision
    against a threshold, and the exact sines are within a few ulps), else the exact code."""
    for i in range(p.shape[0]):
        d0 = 0.5 * (p[i, 11, 0] + p[i, 12, 0]) - 0.5 * (p[i, 23, 0] + p[i, 24, 0])
        d1 = 0.5 * (p[i, 11, 1] + p[i, 12, 1]) - 0.5 * (p[i, 23, 1] + p[i, 24, 1])
        L = np.hypot(d0, d1)
        face, sure = _facing_sure(p, i, L, thresholds[0])
        fr = 0.5 * ((p[i, 11, 0] - p[i, 12, 0]) + (p[i, 23, 0] - p[i, 24, 0])) / L
        if sure:
            out[0, i], out[1, i] = face, _sign_at(fr, thresholds[1])
        else:
            out[0, i], out[1, i] = _facing_frame(p, i, L, thresholds[0], thresholds[1])
        out[2, i], out[3, i] = _yaw_cues_frame(p, i, L, ratios, weights)


@jit
def hold_signs(sign, default, out):
    """``view._hold``: ``out[i]`` is the last non-zero ``sign[j]`` with ``j <= i`` (a NaN counts
    as non-zero, as ``sign != 0`` says), ``default`` before the first; values copied."""
    last = default
    for i in range(sign.size):
        v = sign[i]
        if v != 0:
            last = v
        out[i] = last


@jit
def vote_views(code, size, out):
    """``view.view_codes``' majority vote: per frame the counts of the view codes 0-3 in the
    window ``[i - size // 2, i - size // 2 + size - 1]`` (ends repeated, as
    ``uniform_filter1d(..., mode="nearest")`` reads them), the first code with the most votes,
    4 (unknown) kept. ``uniform_filter1d`` of 0/1 values is exactly count / size (its running
    sums of small integers are exact), so comparing counts decides as comparing its votes."""
    n, h = code.size, size // 2
    cnt = np.zeros(5, dtype=np.int64)
    for j in range(-h, size - h):
        cnt[code[min(max(j, 0), n - 1)]] += 1
    for i in range(n):
        if i > 0:
            cnt[code[min(max(i - h + size - 1, 0), n - 1)]] += 1
            cnt[code[min(max(i - h - 1, 0), n - 1)]] -= 1
        best, top = 0, cnt[0]
        for k in range(1, 4):
            if cnt[k] > top:
                best, top = k, cnt[k]
        out[i] = best if code[i] != 4 else 4


@jitn
def center_of_mass(p, prox, dist, cm, mass, out):
    """``com.center_of_mass`` (``missing="nan"``) of (frames, 33, dims) ``p`` into ``out``
    (frames, dims): the virtual points (33-37) and each segment's centre as ``com._segment_coms``,
    then the mass-weighted sum over the segments in order (``np.einsum``'s order)."""
    n, _, d = p.shape
    ext = np.empty((38, d))
    pairs = ((11, 12), (23, 24), (7, 8), (17, 19), (18, 20))
    for i in range(n):
        for k in range(d):
            for j in range(33):
                ext[j, k] = p[i, j, k]
            for v in range(5):
                a, b = pairs[v]
                ext[33 + v, k] = 0.5 * (p[i, a, k] + p[i, b, k])
            acc = 0.0
            for s in range(prox.size):
                x0 = ext[prox[s], k]
                acc += (x0 + cm[s] * (ext[dist[s], k] - x0)) * mass[s]
            out[i, k] = acc


@jitn
def _guard_row(x, valid, codes, use_valid, lim, hold, o):
    """:func:`_velocity_guard` of one channel ``x`` into ``o``; samples where
    ``valid[codes[i]]`` (the channel's validity per view, each frame's view code) is False
    (``use_valid``) are passed through unguarded and are no reference
    (``pipeline.guard_angles`` with views: guarded as NaN, then put back)."""
    big = np.iinfo(np.int64).max // 2
    ref, age = np.nan, big
    for i in range(x.size):
        age = min(age + 1, big)
        v = x[i]
        o[i] = v
        if (use_valid and not valid[codes[i]]) or not v - v == 0.0:
            continue
        if age > hold or not abs(v - ref) > lim * age:
            ref, age = v, 0
        else:
            o[i] = np.nan


@jitn
def _settle_drop_row(a, n_settle, n_min):
    """``filters.settle_after_gaps`` then (``n_min`` > 0) ``filters.drop_short_runs`` of one
    channel ``a`` (:func:`_settle_pass`), in place and in one pass: the run from frame 0 kept; in every later run ``[i, j)`` the
    first ``n_settle`` samples NaN and the rest ``[k, j)`` kept only when ``j - k >= n_min``
    (the settled run is the run the second step sees: the gaps between runs stay NaN); the
    gaps NaN. The same values as the two steps."""
    n = a.size
    i = 0
    while i < n and a[i] - a[i] == 0.0:
        i += 1
    while i < n:
        while i < n and not a[i] - a[i] == 0.0:
            a[i] = np.nan
            i += 1
        j = i
        while j < n and a[j] - a[j] == 0.0:
            j += 1
        k = min(j, i + n_settle)
        if j - k < n_min:
            k = j
        for r in range(i, k):
            a[r] = np.nan
        i = j


@jitn
def angle_rows(theta, valid, codes, use_valid, lim, hold, guard, err, max_err, gate, n_settle, n_min, out, tmp):
    """``pipeline.guard_angles``, the error gate (``error_model.gate``) and
    ``pipeline.settle_angles`` of (angles, frames) ``theta`` into ``out`` (each step keeps its
    state per angle, so the order of the loops does not change a value). ``valid`` (angles,
    views) bool and ``codes`` (frames,) each frame's view: the angle is valid in that frame's
    view (no (angles, frames) table); ``err`` (frames, angles), as ``error_model.expected_errors`` lays it out; ``tmp`` a
    (frames,) scratch."""
    na, n = theta.shape
    for ch in range(na):
        if guard:
            _guard_row(theta[ch], valid[ch], codes, use_valid, lim[ch], hold, out[ch])
        else:
            out[ch, :] = theta[ch]
    if gate:
        for i in range(n):  # frames outer: err is read in its own order
            for ch in range(na):
                if not err[i, ch] <= max_err:  # NaN refused
                    out[ch, i] = np.nan
    for ch in range(na):
        _settle_drop_row(out[ch], n_settle, n_min if n_min > 1 else 0)


@jitn
def _mask_gather_rows(p, vis, min_vis, used, before, out):
    """``filters.mask_by_visibility`` in place on ``p`` (frames, landmarks, dims; NaN where
    ``vis`` (frames, landmarks) is not >= ``min_vis``), then :func:`_gather_rows`, block by block
    while the block is in cache."""
    n, m, d = p.shape
    out[:, :before] = np.nan
    out[:, before + n :] = np.nan
    for s in range(0, n, 256):
        e = min(n, s + 256)
        for i in range(s, e):
            for j in range(m):
                if not vis[i, j] >= min_vis:
                    for k in range(d):
                        p[i, j, k] = np.nan
        for j in range(used.size):
            for k in range(d):
                row = out[j * d + k]
                for i in range(s, e):
                    row[before + i] = p[i, used[j], k]


def mask_gather_rows(p, vis, min_vis: float, used, before: int, after: int) -> np.ndarray:
    """:func:`_mask_gather_rows`: masks ``p`` in place, returns ``(len(used) * dims, before +
    frames + after)`` rows."""
    out = np.empty((used.size * p.shape[2], before + p.shape[0] + after))
    _mask_gather_rows(p, vis, min_vis, used, before, out)
    return out


@jitn
def _unswap_mask_gather(p, vis, use_vis, min_vis, odd, perms, used, before, out, rows):
    """``pipeline.unswap_left_right`` (the relabelling ``odd`` (frames, 2) decided, as the
    landmark permutations ``perms`` (4, landmarks): none, upper, lower, both), then
    ``filters.mask_by_visibility`` (``use_vis``; the visibility relabelled the same way) of
    ``p`` (frames, landmarks, >= 2; float32 or float64, read exactly as float64) into ``out``
    (frames, landmarks, 2), and :func:`_gather_rows` of it into ``rows``; block by block while
    the block is in cache: one pass over the input instead of four."""
    n, m = out.shape[0], out.shape[1]
    rows[:, :before] = np.nan
    rows[:, before + n :] = np.nan
    for s in range(0, n, 256):
        e = min(n, s + 256)
        for i in range(s, e):
            g = (1 if odd[i, 0] else 0) + (2 if odd[i, 1] else 0)
            for k in range(m):
                src = perms[g, k]
                x, y = np.float64(p[i, src, 0]), np.float64(p[i, src, 1])
                if use_vis and not np.float64(vis[i, src]) >= min_vis:
                    x, y = np.nan, np.nan
                out[i, k, 0], out[i, k, 1] = x, y
        for j in range(used.size):
            for d in range(2):
                row = rows[j * 2 + d]
                for i in range(s, e):
                    row[before + i] = out[i, used[j], d]


def unswap_mask_gather(p, vis, min_vis: float, odd, perms, used, before: int, after: int):
    """:func:`_unswap_mask_gather`: ``(landmarks (frames, 33, 2), rows (len(used) * 2, before +
    frames + after))``, both new."""
    n, m = p.shape[0], p.shape[1]
    out = np.empty((n, m, 2))
    rows = np.empty((used.size * 2, before + n + after))
    use_vis = vis is not None
    v = vis if use_vis else np.zeros((1, 1))
    _unswap_mask_gather(p, v, use_vis, float(min_vis), odd, perms, used, before, out, rows)
    return out, rows


@jitn
def _lower_disagrees(p, i, su, sl, min_cos, min_width):
    """:func:`agree_lower`'s decision for frame ``i`` (the same operations). The three
    ``hypot`` are taken only when the dot product is negative (otherwise the cosine is NaN,
    +-0, positive or +inf, never below ``min_cos`` (< 0)) and neither pair is clearly too
    narrow (``min_width >= 0``): the decision is the same."""
    f = np.float64
    x11, y11, x12, y12 = f(p[i, 11, 0]), f(p[i, 11, 1]), f(p[i, 12, 0]), f(p[i, 12, 1])
    x23, y23, x24, y24 = f(p[i, 23, 0]), f(p[i, 23, 1]), f(p[i, 24, 0]), f(p[i, 24, 1])
    sh0, sh1 = (x11 - x12) * su, (y11 - y12) * su
    hp0, hp1 = (x23 - x24) * sl, (y23 - y24) * sl
    dot = (0.0 + sh0 * hp0) + sh1 * hp1
    if not dot < 0.0:
        return False
    d0 = 0.5 * (x11 + x12) - 0.5 * (x23 + x24)
    d1 = 0.5 * (y11 + y12) - 0.5 * (y23 + y24)
    # a pair clearly narrower than min_width trunks fails either way: squared lengths carry a
    # few ulps of error (as hypot does), far inside the 1e-9 margin; only for a trunk whose
    # square is a normal number (no underflow), and any NaN or overflow goes on to the hypot
    t2 = d0 * d0 + d1 * d1
    lim2 = (min_width * min_width) * t2 * (1.0 - 1e-9)
    narrow = sh0 * sh0 + sh1 * sh1 < lim2 or hp0 * hp0 + hp1 * hp1 < lim2
    if min_width >= 0.0 and t2 >= 1e-200 and t2 < 1e200 and narrow:
        return False
    trunk = np.hypot(d0, d1)
    ls, lh = np.hypot(sh0, sh1), np.hypot(hp0, hp1)
    cos = dot / (ls * lh)
    return cos < min_cos and ls >= min_width * trunk and lh >= min_width * trunk


@jitn
def _scan_flags(S, w, groups, ratio, flags, acc):
    """:func:`_swap_flags` of the ``w`` frames in columns ``1..w`` of ``S`` (x, y rows of the
    33 landmarks, float64; column ``q`` is the frame before column ``q + 1``) into ``flags``
    (2, block), SIMD along the frames: each frame's sums in :func:`_swap_flags`' order. ``acc``
    (3, block) scratch."""
    same_sum, swap_sum, seen = acc[0], acc[1], acc[2]
    for g in range(2):
        for q in range(w):
            same_sum[q], swap_sum[q], seen[q] = 0.0, 0.0, 0.0
        for left in groups[g]:
            if left < 0:
                continue
            lx, ly, rx, ry = S[2 * left], S[2 * left + 1], S[2 * left + 2], S[2 * left + 3]
            for q in range(w):
                d1x, d1y = lx[q + 1] - lx[q], ly[q + 1] - ly[q]
                d2x, d2y = rx[q + 1] - rx[q], ry[q + 1] - ry[q]
                d3x, d3y = lx[q + 1] - rx[q], ly[q + 1] - ry[q]
                d4x, d4y = rx[q + 1] - lx[q], ry[q + 1] - ly[q]
                same = np.sqrt(d1x**2 + d1y**2) + np.sqrt(d2x**2 + d2y**2)
                swap = np.sqrt(d3x**2 + d3y**2) + np.sqrt(d4x**2 + d4y**2)
                seen[q] += 1.0 if same - same == 0.0 else 0.0
                same_sum[q] += same if same == same else 0.0
                swap_sum[q] += swap if swap == swap else 0.0
        fg = flags[g]
        for q in range(w):
            fg[q] = (seen[q] >= 3.0) & (swap_sum[q] < ratio * same_sum[q])


@jitn
def _scan_relabel(S, V, min_vis, w, s, sw, partner, group, pos, before, out, rows):
    """The relabelling and the mask of :func:`_swap_scan` for the ``w`` frames in columns
    ``1..w`` of ``S`` / ``V``, landmark by landmark, SIMD along the frames: landmark ``k``
    takes its ``partner[k]``'s values where ``sw[group[k]]`` (its body half relabelled; a
    landmark of neither half is its own partner), NaN where the visibility is not
    ``>= min_vis``; into ``rows`` (:data:`pos` landmarks) or ``out``."""
    m = out.shape[1]
    for k in range(m):
        kp, j = partner[k], pos[k]
        if j < 0:
            continue
        ax, ay, bx, by = S[2 * k, 1:], S[2 * k + 1, 1:], S[2 * kp, 1:], S[2 * kp + 1, 1:]
        av, bv = V[k, 1:], V[kp, 1:]
        sel = sw[max(group[k], 0)]
        rx, ry = rows[2 * j, before + s : before + s + w], rows[2 * j + 1, before + s : before + s + w]
        for q in range(w):
            t = sel[q]
            keep = (bv[q] if t else av[q]) >= min_vis
            rx[q] = (bx[q] if t else ax[q]) if keep else np.nan
            ry[q] = (by[q] if t else ay[q]) if keep else np.nan
    for k in range(m):
        kp, j = partner[k], pos[k]
        if j >= 0:
            continue
        ax, ay, bx, by = S[2 * k, 1:], S[2 * k + 1, 1:], S[2 * kp, 1:], S[2 * kp + 1, 1:]
        av, bv = V[k, 1:], V[kp, 1:]
        sel = sw[max(group[k], 0)]
        for q in range(w):
            t = sel[q]
            keep = (bv[q] if t else av[q]) >= min_vis
            out[s + q, k, 0] = (bx[q] if t else ax[q]) if keep else np.nan
            out[s + q, k, 1] = (by[q] if t else ay[q]) if keep else np.nan


@jitn
def _swap_scan(
    p,
    vis,
    use_vis,
    min_vis,
    fix,
    groups,
    ratio,
    max_frames,
    min_cos,
    min_width,
    partner,
    group,
    pos,
    before,
    out,
    rows,
    odd,
    S,
    V,
    flags,
    dot0,
    sw,
    acc,
):  # noqa: E501
    """The whole left/right repair and the masking in one causal pass over (frames, 33, >= 2)
    ``p``, a block of frames at a time (``S``, ``V``: the block's x, y and visibility as
    float64 rows, read exactly from float32 or float64, column 0 the frame before the block):
    ``pipeline.swap_flags`` (:func:`_scan_flags`), ``swap_parity`` (a relabelled stretch ends
    after ``max_frames``: frame by frame, the same frames as its stretch-by-stretch loop) and
    ``agree_lower_with_upper`` (:func:`_lower_disagrees`, on the frames whose shoulder-hip dot
    product ``dot0`` with the labels kept, signed by the relabelling, is negative: the dot
    product with the relabelling is that, exactly, sign flips being exact) into ``odd``
    (frames, 2), then :func:`_unswap_mask_gather`'s relabelling and mask
    (:func:`_scan_relabel`): landmarks ``k`` with ``pos[k] >= 0`` go to ``rows`` (x, y rows
    of ``pos[k]``, ``before`` NaN columns first), the others to ``out`` (frames, 33, 2), whose
    :data:`pos` landmarks the caller fills (``scatter_rows``). ``V`` holds zeros and
    ``min_vis`` is -inf when there is no visibility (nothing masked)."""
    n, m = out.shape[0], out.shape[1]
    nb = S.shape[1] - 1
    rows[:, :before] = np.nan
    rows[:, before + n :] = np.nan
    cur0, cur1, run0, run1 = False, False, 0, 0
    for s in range(0, n, nb):
        w = min(n, s + nb) - s
        for q in range(w):  # the block as rows (column 0 keeps the frame before it)
            i = s + q
            for k in range(m):
                S[2 * k, q + 1] = np.float64(p[i, k, 0])
                S[2 * k + 1, q + 1] = np.float64(p[i, k, 1])
                if use_vis:
                    V[k, q + 1] = np.float64(vis[i, k])
        if fix:
            _scan_flags(S, w, groups, ratio, flags, acc)
            x11, y11, x12, y12 = S[22], S[23], S[24], S[25]
            x23, y23, x24, y24 = S[46], S[47], S[48], S[49]
            for q in range(1, w + 1):
                dot0[q - 1] = (0.0 + (x11[q] - x12[q]) * (x23[q] - x24[q])) + (y11[q] - y12[q]) * (y23[q] - y24[q])
        for q in range(w):
            i = s + q
            o0, o1 = False, False
            if fix:
                f0 = i > 0 and flags[0, q]
                f1 = i > 0 and flags[1, q]
                if f0:
                    cur0, run0 = not cur0, 0
                if f1:
                    cur1, run1 = not cur1, 0
                o0, o1 = cur0 and run0 < max_frames, cur1 and run1 < max_frames
                run0, run1 = run0 + 1, run1 + 1
                cur0 = cur0 and run0 < max_frames
                cur1 = cur1 and run1 < max_frames
                su, sl = -1.0 if o0 else 1.0, -1.0 if o1 else 1.0
                if su * sl * dot0[q] < 0.0 and _lower_disagrees(p, i, su, sl, min_cos, min_width):
                    o1 = not o1
            odd[i, 0], odd[i, 1] = o0, o1
            sw[0, q], sw[1, q] = o0, o1
        _scan_relabel(S, V, min_vis if use_vis else -np.inf, w, s, sw, partner, group, pos, before, out, rows)
        for r in range(S.shape[0]):
            S[r, 0] = S[r, w]
        if use_vis:
            for r in range(V.shape[0]):
                V[r, 0] = V[r, w]


def swap_scan(
    p,
    vis,
    min_vis: float,
    fix: bool,
    groups,
    ratio: float,
    max_frames: int,
    min_cos: float,
    min_width: float,
    perms,
    pos,
    before: int,
    after: int,
    rows: np.ndarray | None = None,
):  # noqa: E501
    """:func:`_swap_scan`: ``(landmarks (frames, 33, 2) with the :data:`pos` ones still to
    fill, rows (2 * used, before + frames + after), odd (frames, 2) bool)``.
    ``perms`` (4, 33): ``pipeline._PERMS`` (row 1: the upper half relabelled, row 2: the lower).
    ``rows``: a C-contiguous float64 array of that shape to write the rows into (else new)."""
    n, m = p.shape[0], p.shape[1]
    used = int((pos >= 0).sum())
    out = np.empty((n, m, 2))
    if rows is None:
        rows = np.empty((2 * used, before + n + after))
    odd = np.zeros((n, 2), dtype=np.bool_)
    use_vis = vis is not None
    v = vis if use_vis else np.zeros((1, 1))
    partner = np.where(perms[1] != np.arange(m), perms[1], perms[2])  # itself for neither half
    group = np.where(perms[1] != np.arange(m), 0, np.where(perms[2] != np.arange(m), 1, -1))
    nb = 256  # frames per block: the block's rows stay in L2 (32 fit L1, but cost ~3 ms more in loop set-up per hour)
    S, V = np.zeros((2 * m, nb + 1)), np.zeros((m, nb + 1))
    flags, dot0, sw, acc = (
        np.zeros((2, nb), dtype=np.bool_),
        np.zeros(nb),
        np.zeros((2, nb), dtype=np.bool_),
        np.zeros((3, nb)),
    )
    _swap_scan(
        p, v, use_vis, float(min_vis), bool(fix), groups, float(ratio), int(max_frames), float(min_cos),
        float(min_width), partner, group, pos, before, out, rows, odd, S, V, flags, dot0, sw, acc,
    )  # fmt: skip
    return out, rows, odd


@jit
def _hampel7_front(padded, xoff, thresh, min_count, tmp, bad):
    """:func:`_hampel7` in place (False, stopping part way, when a row holds an infinity, whose
    semantics the numpy code keeps): window ``i`` of row ``ch`` goes
    to flat position ``ch * frames + i`` of ``padded`` (C-contiguous), at or before the first
    sample that window reads, so no sample is overwritten before its last window has read it;
    the result is the front ``channels * frames`` values as (channels, frames). Block by block
    (``tmp``, ``bad``: (block,) scratch): the block's windows, then those redone one by one
    (still reading the original samples), then the block written. (Indices into the block run
    from 0: an index ``i - s`` would be checked for wrap-around, which stops the SIMD loop.)"""
    c, m = padded.shape
    n, nb = m - 6, tmp.shape[0]
    flat = padded.reshape(c * m)
    full_ok, six_ok = 7 >= min_count, 6 >= min_count
    for ch in range(c):
        inf = False  # the first 6 samples here, each later one as the newest of its window
        for i in range(6):
            inf |= abs(padded[ch, i]) == np.inf
        for s in range(0, n, nb):
            r = padded[ch, s:]
            w = min(n - s, nb)
            anybad = False
            for i in range(w):
                v0, v1, v2, v3, v4, v5, v6 = r[i], r[i + 1], r[i + 2], r[i + 3], r[i + 4], r[i + 5], r[i + 6]
                inf |= abs(v6) == np.inf
                k = (v0 == v0) + (v1 == v1) + (v2 == v2) + (v3 == v3) + (v4 == v4) + (v5 == v5) + (v6 == v6)
                f = _finite_or_inf
                s0, s1, s2, s3, s4, s5, s6 = _sorted7(f(v0), f(v1), f(v2), f(v3), f(v4), f(v5), f(v6))
                mad7 = _lo(_lo(s3 - s0, s6 - s3), _lo(_hi(s3 - s2, s5 - s3), _hi(s3 - s1, s4 - s3)))
                med6, mad6 = _med_mad6(s0, s1, s2, s3, s4, s5)
                b = (k < 6) | ((k == 7) & (s3 == 0.0)) | ((k == 6) & (abs(med6) == np.inf))
                bad[i] = b
                anybad |= b
                med = s3 if k == 7 else med6
                ok = full_ok if k == 7 else six_ok
                x = r[i + xoff]
                tmp[i] = med if (abs(x - med) > thresh * (mad7 if k == 7 else mad6) and ok) else x
            if anybad:
                for i in range(w):
                    if bad[i]:
                        t = r[i] + r[i + 1] + r[i + 2] + r[i + 3] + r[i + 4] + r[i + 5] + r[i + 6]
                        if t != t:
                            tmp[i] = _hampel_nan(r, i, xoff, thresh, min_count)
                        else:
                            v = r[i : i + 7]
                            tmp[i] = _hampel_med7(
                                v[0], v[1], v[2], v[3], v[4], v[5], v[6], r[i + xoff], thresh, full_ok
                            )
            if inf:
                return False
            dst = flat[ch * n + s :]
            for i in range(w):
                dst[i] = tmp[i]
    return True


def hampel7_front(padded: np.ndarray, xoff: int, thresh: float, min_count: int) -> np.ndarray | None:
    """:func:`_hampel7_front`: the filtered (channels, frames), a view of ``padded``'s front
    (``padded`` is overwritten); None when ``padded`` holds an infinity (then it is partly
    overwritten: the numpy code must start again from the input)."""
    c, m = padded.shape
    if not _hampel7_front(padded, xoff, thresh, min_count, np.empty(1024), np.empty(1024, dtype=np.bool_)):
        return None
    return padded.reshape(c * m)[: c * (m - 6)].reshape(c, m - 6)


@jitn
def center_of_mass_rows(rows, pos, prox, dist, cm, mass, out, virt, acc):
    """:func:`center_of_mass` from landmark rows (x and y rows, frames along the row; landmark
    ``k``'s x is row ``2 * pos[k]``) into ``out`` (frames, 2), SIMD along the frames a block at
    a time: the virtual points (33-37, as :func:`center_of_mass` forms them) in ``virt`` (5,
    block), each frame's mass-weighted sum over the segments in order in ``acc`` (block,)."""
    n, nb = rows.shape[1], acc.shape[0]
    pairs = ((11, 12), (23, 24), (7, 8), (17, 19), (18, 20))
    for s in range(0, n, nb):
        w = min(n, s + nb) - s
        for k in range(2):
            for v in range(5):
                a, b = pairs[v]
                ra, rb, dv = rows[2 * pos[a] + k, s : s + w], rows[2 * pos[b] + k, s : s + w], virt[v]
                for q in range(w):
                    dv[q] = 0.5 * (ra[q] + rb[q])
            for q in range(w):
                acc[q] = 0.0
            for g in range(prox.size):
                p0, p1 = prox[g], dist[g]
                x0 = virt[p0 - 33, :w] if p0 >= 33 else rows[2 * pos[p0] + k, s : s + w]
                x1 = virt[p1 - 33, :w] if p1 >= 33 else rows[2 * pos[p1] + k, s : s + w]
                c, ms = cm[g], mass[g]
                for q in range(w):
                    acc[q] += (x0[q] + c * (x1[q] - x0[q])) * ms
            for q in range(w):
                out[s + q, k] = acc[q]
