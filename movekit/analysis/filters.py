"""Cleaning of landmark and angle signals: visibility masking, gap filling, Hampel, Butterworth.

Every batch function takes ``x`` shaped ``(frames, channels)`` (or ``(frames,)``) and returns a
new float array of the same shape; NaN marks a missing sample and is never invented beyond the
configured gap length. Two modes:

* ``causal`` -- uses only present and past samples; :class:`StreamingCleaner` reproduces
  :func:`clean` with ``mode="causal"`` frame by frame to float precision (live cues).
* ``offline`` -- centred Hampel windows, linear gap interpolation and a zero-phase (forward-backward)
  Butterworth; no lag, but it needs the whole recording. Label results made this way "offline".

Butterworth low-pass: the usual choice for human-movement kinematics (Winter, *Biomechanics and
Motor Control of Human Movement*, 4th ed. 2009, ch. 2); ~6 Hz suits whole-body pose and centre of
mass. Hampel identifier: Hampel 1974; Pearson 2002 (window median +- k * 1.4826 * MAD).

Angular-velocity plausibility guard (:func:`velocity_guard`, :class:`StreamingVelocityGuard`): a
joint or segment angle that changes faster than the body can move it is a tracking error (a body
flipped for one frame, a left/right swap), not movement, and a Hampel window cannot catch it next
to a gap (too few samples). The bounds are conservative engineering bounds set above the fastest
angular velocities reported in sport: trunk segments 1500 deg/s (upper-torso rotation peaks at
~1170-1270 deg/s in adolescent and collegiate pitchers, J Sports Sci Med 2015, 14:246, Table 3;
trunk tilt ~340-380 deg/s), limb and head angles 3000 deg/s (elbow extension ~2300-2400 deg/s in
pitching, Fleisig et al. 1995, Am J Sports Med 23:233-239; the faster shoulder internal rotation,
~7000 deg/s, is an axial rotation no pose angle here measures). Clinical movements are an order of
magnitude slower, so the guard never touches them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from movekit.analysis import kernels
from movekit.analysis.iir import butter_lowpass_sos, sosfilt_zi

_MAD_SCALE = 1.4826  # MAD -> standard deviation for Gaussian data
_CHUNK_ELEMS = 1 << 13


def _as2d(x) -> tuple[np.ndarray, tuple[int, ...]]:
    a = np.asarray(x, dtype=np.float64)
    shape = a.shape
    if a.ndim == 1:
        a = a[:, None]
    elif a.ndim > 2:
        a = a.reshape(a.shape[0], -1)
    return a, shape


def mask_by_visibility(points, visibility, min_visibility: float = 0.5) -> np.ndarray:
    """Copy of ``points`` with landmarks whose visibility is below ``min_visibility`` set to NaN.

    Parameters
    ----------
    points : array (frames, landmarks, dims)
        Landmark coordinates (px or m).
    visibility : array (frames, landmarks) or None
        Scores in 0..1 (MediaPipe ``visibility``); NaN counts as not visible. ``None``: no masking.
    min_visibility : float
        Threshold in 0..1.
    """
    if visibility is None:
        return np.array(points, dtype=np.float64, copy=True)
    hide = ~(np.asarray(visibility, dtype=np.float64) >= min_visibility)
    out = np.array(points, dtype=np.float64, copy=True)
    if hide.shape != out.shape[:-1]:  # broadcast visibility
        return np.where(hide[..., None], np.nan, out)
    out[hide] = np.nan  # a copy and a masked write: ~30 % less time than one np.where
    return out


def visibility_in_frame(image_px, visibility, frame_size_px) -> np.ndarray:
    """The model's visibility (frames, landmarks) with 0 for a landmark outside the image.

    MediaPipe places landmarks it cannot see beyond the image's edge, often with a high
    visibility (a client's hips half out of frame: 0.97-1.00); there they are the model's guess,
    not a measurement, so every analysis treats them as unseen.

    Parameters
    ----------
    image_px : array (frames, landmarks, >=2) or (landmarks, >=2)
        Image landmarks as the pose model gave them (px, x right, y down), before any
        undistortion.
    visibility : array (frames, landmarks) or (landmarks,)
        Scores in 0..1.
    frame_size_px : (width, height) or None
        The image size (px); None or a zero: the size is unknown and ``visibility`` is returned
        as it is (as float64).
    """
    vis = np.asarray(visibility, dtype=np.float64)
    if frame_size_px is None or not all(frame_size_px):
        return vis
    w, h = (float(v) for v in frame_size_px)
    p = np.asarray(image_px, dtype=np.float64)
    x, y = p[..., 0], p[..., 1]
    with np.errstate(invalid="ignore"):
        outside = (x < 0) | (x >= w) | (y < 0) | (y >= h)
    return np.where(outside, 0.0, vis)


def _mask_groups(ok: np.ndarray) -> list[np.ndarray]:
    """Column indices grouped by identical finite-sample pattern (pose: usually a few groups)."""
    packed = np.packbits(ok, axis=0)
    groups: dict[bytes, list[int]] = {}
    for c in range(ok.shape[1]):
        groups.setdefault(packed[:, c].tobytes(), []).append(c)
    return [np.asarray(g) for g in groups.values()]


_NO_SOS = np.zeros((1, 6))  # placeholder filter for the compiled fill-only call


def fill_gaps(x, max_gap: int = 5, *, causal: bool = False) -> np.ndarray:
    """Fill runs of at most ``max_gap`` missing samples; longer gaps stay NaN.

    Parameters
    ----------
    x : array (frames,) or (frames, channels)
    max_gap : int
        Longest gap filled, in samples (frames). 0 disables filling.
    causal : bool
        ``False`` (offline): linear interpolation between the samples either side of a gap of at
        most ``max_gap``; leading and trailing gaps stay NaN. ``True``: hold the last valid value for
        at most ``max_gap`` samples (only the past is known, so a long gap is held for its first
        ``max_gap`` samples, then NaN).
    """
    a, shape = _as2d(x)
    if a.shape[0] and max_gap > 0 and kernels.wanted(a.size):
        at = np.ascontiguousarray(a.T)
        return (
            kernels.get()
            .fill_lowpass(at, max_gap, causal, _NO_SOS, _NO_SOS[:, :2], False, False)
            .T.copy()
            .reshape(shape)
        )
    out = a.copy()
    if a.shape[0] == 0 or max_gap <= 0:
        return out.reshape(shape)
    ok = np.isfinite(a)
    holes = np.flatnonzero(~ok.all(axis=0))
    if holes.size == 0:
        return out.reshape(shape)
    n = a.shape[0]
    for grp in _mask_groups(ok[:, holes]):
        cols = holes[grp]
        okc = ok[:, cols[0]]
        idx = np.arange(n)
        prev = np.maximum.accumulate(np.where(okc, idx, -1))
        nxt = np.minimum.accumulate(np.where(okc, idx, n)[::-1])[::-1]
        if causal:
            rows = np.flatnonzero(~okc & (prev >= 0) & (idx - prev <= max_gap))
            out[np.ix_(rows, cols)] = a[np.ix_(prev[rows], cols)]
        else:
            rows = np.flatnonzero(~okc & (prev >= 0) & (nxt < n) & (nxt - prev - 1 <= max_gap))
            p, q = prev[rows], nxt[rows]
            w = ((rows - p) / (q - p))[:, None]
            out[np.ix_(rows, cols)] = a[np.ix_(p, cols)] * (1.0 - w) + a[np.ix_(q, cols)] * w
    return out.reshape(shape)


# Median-of-5/7/9 selection networks (Devillard 1998, "Fast median search", after Paeth and
# Smith): pairs (i, j) are compare-exchanges; the median ends in the middle slot.
_NETWORKS = {
    3: ((0, 1), (1, 2), (0, 1)),
    5: ((0, 1), (3, 4), (0, 3), (1, 4), (1, 2), (2, 3), (1, 2)),
    7: ((0, 5), (0, 3), (1, 6), (2, 4), (0, 1), (3, 5), (2, 6), (2, 3), (3, 6), (4, 5), (1, 4), (1, 3), (3, 4)),
    9: (
        (1, 2),
        (4, 5),
        (7, 8),
        (0, 1),
        (3, 4),
        (6, 7),
        (1, 2),
        (4, 5),
        (7, 8),
        (0, 3),
        (5, 8),
        (4, 7),
        (3, 6),
        (1, 4),
        (2, 5),
        (4, 7),
        (4, 2),
        (6, 4),
        (4, 2),
    ),
}


@lru_cache(maxsize=8)
def _median_steps(w: int) -> tuple[tuple[int, int, bool, bool], ...]:
    """The compare-exchanges of the median network for ``w`` inputs, each with whether its
    minimum and its maximum are used later (the others are never computed)."""
    pairs = _NETWORKS.get(w)
    if pairs is None:  # odd-even transposition sort
        pairs = tuple((i, i + 1) for p in range(w) for i in range(p % 2, w - 1, 2))
    live, steps = {w // 2}, []
    for i, j in reversed(pairs):
        need_min, need_max = i in live, j in live
        steps.append((i, j, need_min, need_max))
        if need_min or need_max:
            live |= {i, j}
    return tuple(reversed(steps))


def _median_rows(rows: list[np.ndarray]) -> np.ndarray:
    """Element-wise median of an odd number of equal-shape arrays; NaN anywhere gives NaN."""
    rows = list(rows)
    for i, j, need_min, need_max in _median_steps(len(rows)):
        a, b = rows[i], rows[j]
        if need_min:
            rows[i] = np.minimum(a, b)
        if need_max:
            rows[j] = np.maximum(a, b)
    return rows[len(rows) // 2]


def _window_median(rows: list[np.ndarray]) -> np.ndarray:
    med = _median_rows(rows)  # a fresh array: the network's last minimum or maximum
    bad = np.flatnonzero(np.isnan(med))
    if bad.size:  # windows with a NaN: the median of their finite samples
        med.reshape(-1)[bad] = _nanmedian_last(np.stack([r.take(bad) for r in rows], -1))
    return med


def _nanmedian_last(a: np.ndarray) -> np.ndarray:
    """Median over the last axis ignoring NaN (NaN if none finite); cheaper than np.nanmedian."""
    srt = np.sort(a, axis=-1)  # NaN sorts last
    cnt = np.isfinite(a).sum(-1)
    hi = np.take_along_axis(srt, np.maximum(cnt // 2, 0)[..., None], -1)[..., 0]
    lo = np.take_along_axis(srt, np.maximum((cnt - 1) // 2, 0)[..., None], -1)[..., 0]
    return np.where(cnt > 0, 0.5 * (lo + hi), np.nan)


def _hampel_rows(rows: list[np.ndarray], x: np.ndarray, n_sigmas: float, min_count: int) -> np.ndarray:
    """Hampel replacement of ``x`` (frames, ch) given its window as ``w`` shifted (frames, ch) arrays."""
    med = _window_median(rows)
    dev = [np.subtract(r, med) for r in rows]
    for d in dev:
        np.abs(d, out=d)
    mad = _window_median(dev)
    with np.errstate(invalid="ignore"):
        out_mask = np.abs(x - med) > n_sigmas * _MAD_SCALE * mad
    if out_mask.any():
        count = sum(np.isfinite(r).astype(np.int16) for r in rows)
        out_mask &= count >= min_count
    out = x.copy()
    out[out_mask] = med[out_mask]
    return out


def hampel(x, half_window: int = 3, n_sigmas: float = 3.0, *, causal: bool = False, min_count: int = 3) -> np.ndarray:
    """Hampel outlier replacement (Hampel 1974; Pearson 2002).

    A sample further than ``n_sigmas * 1.4826 * MAD`` from its window median is replaced by that
    median. NaN samples are ignored inside windows and stay NaN.

    Parameters
    ----------
    x : array (frames,) or (frames, channels)
    half_window : int
        Window is ``2 * half_window + 1`` samples: centred offline, trailing (the current and the
        ``2 * half_window`` previous samples) when ``causal``.
    n_sigmas : float
        Threshold in robust standard deviations.
    min_count : int
        Fewer finite samples than this in a window: no replacement.
    """
    a, shape = _as2d(x)
    if a.shape[0] == 0 or half_window <= 0:
        return a.copy().reshape(shape)
    if half_window == 3 and kernels.wanted(a.size):
        out = _hampel_compiled(np.ascontiguousarray(a.T), n_sigmas, causal=causal, min_count=min_count)
        if out is not None:
            return out.T.copy().reshape(shape)
    w = 2 * half_window + 1
    pad = ((w - 1, 0), (0, 0)) if causal else ((half_window, half_window), (0, 0))
    padded = np.pad(a, pad, constant_values=np.nan)
    out = np.empty_like(a)
    step = max(1, _CHUNK_ELEMS // max(1, a.shape[1]))  # cache-sized blocks: ~10x faster than whole arrays
    for s in range(0, a.shape[0], step):
        e = min(s + step, a.shape[0])
        rows = [padded[s + j : e + j] for j in range(w)]
        out[s:e] = _hampel_rows(rows, a[s:e], n_sigmas, min_count)
    return out.reshape(shape)


def _hampel_compiled(rows: np.ndarray, n_sigmas: float, *, causal: bool, min_count: int) -> np.ndarray | None:
    """:func:`hampel` (7-sample window) of ``rows`` (channels, frames) by the compiled kernel;
    None when a window holds an infinity (the numpy code then decides, as it always has)."""
    c, n = rows.shape
    padded = np.full((c, n + 6), np.nan)
    padded[:, (6 if causal else 3) :][:, :n] = rows
    return _hampel_padded(padded, n_sigmas, causal=causal, min_count=min_count)


def _hampel_padded(padded: np.ndarray, n_sigmas: float, *, causal: bool, min_count: int) -> np.ndarray | None:
    """:func:`_hampel_compiled` of rows already padded with NaN (6 before when ``causal``, else 3
    on each side)."""
    out, ok = kernels.get().hampel7(padded, 6 if causal else 3, n_sigmas * _MAD_SCALE, min_count)
    return out if ok else None


MAX_CUTOFF_FRACTION = 0.4  #: the low-pass cut-off is capped at this fraction of the sampling rate


def butter_sos(fs_hz: float, cutoff_hz: float = 6.0, order: int = 2) -> np.ndarray:
    """Second-order sections of a Butterworth low-pass (``scipy.signal.butter``).

    The cut-off is capped at ``MAX_CUTOFF_FRACTION * fs_hz`` (below Nyquist): a webcam in dim
    light delivers 7.5-10 frames/s, where the usual 6 Hz would be at or above Nyquist. The signal
    then has no content above Nyquist to remove anyway; the cap keeps the filter defined.
    """
    if not (cutoff_hz > 0 and fs_hz > 0):
        raise ValueError(f"cutoff ({cutoff_hz} Hz) and sampling rate ({fs_hz} Hz) must be positive")
    # movekit.analysis.iir computes scipy.signal.butter's design bit for bit without importing
    # scipy.signal (1.1-1.4 s of every live start-up); tests/test_iir.py checks the equality
    return butter_lowpass_sos(order, min(cutoff_hz, MAX_CUTOFF_FRACTION * fs_hz), fs_hz)


def true_runs(mask) -> list[tuple[int, int]]:
    """Runs of True in a 1-D bool array as ``(start, stop)`` index pairs, ``stop`` exclusive."""
    d = np.diff(np.concatenate(([0], np.asarray(mask).astype(np.int8), [0])))
    return [(int(s), int(e)) for s, e in zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1))]


def lowpass(x, fs_hz: float, cutoff_hz: float = 6.0, order: int = 2, *, zero_phase: bool = True) -> np.ndarray:
    """Butterworth low-pass over each run of finite samples (NaN gaps restart the filter).

    Parameters
    ----------
    x : array (frames,) or (frames, channels)
    fs_hz, cutoff_hz : float
        Sampling rate and -3 dB cut-off in Hz.
    order : int
        Butterworth order. Zero-phase filtering runs it forward and backward (``sosfiltfilt``), which
        doubles the effective order and removes the lag: offline only.
    zero_phase : bool
        ``False``: causal ``sosfilt``, each run started from the steady state at its first sample
        (``sosfilt_zi * x0``), exactly what :class:`StreamingCleaner` does.
    """
    a, shape = _as2d(x)
    out = np.full_like(a, np.nan)
    if a.shape[0] == 0:
        return out.reshape(shape)
    sos = butter_sos(fs_hz, cutoff_hz, order)
    zi0 = sosfilt_zi(sos)  # (sections, 2)
    if kernels.wanted(a.size):
        at = np.ascontiguousarray(a.T)
        return kernels.get().fill_lowpass(at, 0, False, sos, zi0, zero_phase, True).T.copy().reshape(shape)
    ok = np.isfinite(a)
    # channels sharing the same missing-sample pattern are filtered run by run as one block
    groups = [slice(None)] if ok.all() else _mask_groups(ok)
    for cols in groups:
        first = ok[:, 0] if isinstance(cols, slice) else ok[:, cols[0]]
        for s, e in true_runs(first):
            seg = a[s:e, cols]
            if zero_phase:
                if e - s < 2:
                    out[s:e, cols] = seg
                    continue
                out[s:e, cols] = _filtfilt(sos, zi0, seg)
            else:
                zi = zi0[:, :, None] * seg[0][None, None, :]
                out[s:e, cols] = _sosfilt(sos, seg, zi)
    return out.reshape(shape)


def _sosfilt(sos: np.ndarray, x: np.ndarray, zi: np.ndarray) -> np.ndarray:
    """``scipy.signal.sosfilt`` along axis 0 from the state ``zi`` (imported here, when a batch
    filter first runs: the live path never needs it)."""
    from scipy.signal import sosfilt

    return sosfilt(sos, x, axis=0, zi=zi)[0]


def _filtfilt(sos: np.ndarray, zi0: np.ndarray, seg: np.ndarray) -> np.ndarray:
    """Forward-backward ``sosfilt`` of (frames, ch) along frames with odd-extension padding and
    steady-state initial conditions, as ``scipy.signal.sosfiltfilt`` does (padlen
    ``3 * (2 * sections + 1)``), without its per-call overheads."""
    n = seg.shape[0]
    pad = min(3 * (2 * len(sos) + 1), n - 1)
    ext = np.concatenate([2 * seg[:1] - seg[pad:0:-1], seg, 2 * seg[-1:] - seg[-2 : -pad - 2 : -1]], axis=0)
    fwd = _sosfilt(sos, ext, zi0[:, :, None] * ext[0][None, None, :])
    rev = fwd[::-1]
    back = _sosfilt(sos, rev, zi0[:, :, None] * rev[0][None, None, :])[::-1]
    return back[pad : pad + n]


#: conservative angular-velocity bounds (deg/s) of the plausibility guard (module docstring)
MAX_TRUNK_DEG_S = 1500.0
MAX_LIMB_DEG_S = 3000.0


def _guard_accepts(x, ref, age, lim, hold: int):
    """The guard's one decision, shared by batch and streaming so both give identical results:
    accept ``x`` when the reference is older than ``hold`` frames (or absent) or the change from
    it is within ``lim`` (deg per frame) times its age (frames)."""
    return (age > hold) | ~(np.abs(x - ref) > lim * age)


def velocity_guard(x, fs_hz: float, max_deg_s, *, hold: int) -> np.ndarray:
    """Set to NaN the samples that move faster than ``max_deg_s`` from the last accepted sample.

    Causal: each sample is compared with the last accepted one of its channel, ``k`` frames
    earlier; it is rejected when ``|x - ref| > max_deg_s / fs_hz * k``. The reference expires
    ``hold`` frames after it was accepted, so after a gap, or when a new level persists (a real
    change the guard missed the start of), the next sample is accepted. Equals
    :class:`StreamingVelocityGuard` frame by frame exactly.

    Parameters
    ----------
    x : array (frames,) or (frames, channels)
        Angles in deg (NaN = missing).
    fs_hz : float
        Frame rate (Hz).
    max_deg_s : float or array (channels,)
        Largest plausible angular velocity per channel (deg/s); see :data:`MAX_TRUNK_DEG_S`,
        :data:`MAX_LIMB_DEG_S` and the module docstring for the sources.
    hold : int
        Frames a reference stays valid (e.g. ``CleanConfig.max_gap(fs_hz)``).
    """
    a, shape = _as2d(x)
    out = a.copy()
    n, c = a.shape
    if n < 2:
        return out.reshape(shape)
    lim = np.broadcast_to(np.asarray(max_deg_s, dtype=np.float64) / fs_hz, (c,))
    if kernels.wanted(a.size):
        return (
            kernels.get().velocity_guard(np.ascontiguousarray(a), np.ascontiguousarray(lim), int(hold)).reshape(shape)
        )
    for j in range(c):
        col = a[:, j]
        fin = np.flatnonzero(np.isfinite(col))
        if fin.size < 2:
            continue
        age = np.diff(fin)
        # while every earlier sample was accepted, the reference is simply the previous finite one
        bad = np.flatnonzero(~_guard_accepts(col[fin[1:]], col[fin[:-1]], age, lim[j], hold)) + 1
        if not bad.size:
            continue
        # the sequential part, in plain floats (the same IEEE double operations as _guard_accepts,
        # so the decisions are identical; numpy scalars cost ~10x more per comparison)
        vals, idx, lj, nf = col.tolist(), fin.tolist(), float(lim[j]), fin.size
        rejected = []
        p = 0
        while p < bad.size:
            m = int(bad[p])
            ref_i = idx[m - 1]
            ref = vals[ref_i]
            while m < nf:  # sequential until the next accepted sample
                s = idx[m]
                if s - ref_i > hold or not abs(vals[s] - ref) > lj * (s - ref_i):
                    break
                rejected.append(s)
                m += 1
            while p < bad.size and bad[p] <= m:
                p += 1
        out[rejected, j] = np.nan
    return out.reshape(shape)


class StreamingVelocityGuard:
    """Frame-by-frame :func:`velocity_guard` (same decisions, bit for bit).

    Parameters
    ----------
    max_deg_s : array (channels,)
        Largest plausible angular velocity per channel (deg/s).
    fs_hz : float
        Nominal frame rate (Hz).
    hold : int
        Frames a reference stays valid.
    """

    def __init__(self, max_deg_s, fs_hz: float, *, hold: int):
        self.lim = np.asarray(max_deg_s, dtype=np.float64).reshape(-1) / fs_hz
        self.hold = int(hold)
        self._ref = np.full(self.lim.size, np.nan)
        self._age = np.full(self.lim.size, np.iinfo(np.int64).max // 2, dtype=np.int64)

    def update(self, frame) -> np.ndarray:
        """Guard one frame of angles ``(channels,)`` (deg); rejected samples come back NaN."""
        x = np.asarray(frame, dtype=np.float64).reshape(self.lim.size).copy()
        self._age = np.minimum(self._age + 1, np.iinfo(np.int64).max // 2)
        ok = np.isfinite(x)
        with np.errstate(invalid="ignore"):
            accept = ok & _guard_accepts(x, self._ref, self._age, self.lim, self.hold)
        x[ok & ~accept] = np.nan
        self._ref = np.where(accept, x, self._ref)
        self._age = np.where(accept, 0, self._age)
        return x


#: After a tracking gap the pose model's first frames are unreliable (it re-finds the person from
#: one image): in the Sports2D demo a 5-frame island between two gaps swept the knee from 89 to
#: -35 deg in 0.13 s. An angle is shown again only after it has been seen this long (s), and
#: offline an island shorter than :data:`MIN_ISLAND_S` between gaps is dropped (movekit bounds,
#: chosen from that clip: a 0.1 s hold-back costs little latency after a gap; 0.2 s is the
#: shortest stretch from which the Hampel filter can judge anything at 30 fps).
SETTLE_S = 0.1
MIN_ISLAND_S = 0.2


def run_lengths(finite: np.ndarray) -> np.ndarray:
    """(frames, channels) int: how many consecutive finite samples end at each sample (0 at NaN)."""
    f = np.asarray(finite, dtype=bool)
    idx = np.arange(f.shape[0])[:, None]
    last_gap = np.maximum.accumulate(np.where(f, -1, idx), axis=0)
    return np.where(f, idx - last_gap, 0)


def _runs_after_gaps(fin: np.ndarray) -> np.ndarray:
    """Run lengths (:func:`run_lengths`), with runs that start at the first sample counted as
    long (they follow no gap)."""
    run = run_lengths(fin)
    from_start = np.minimum.accumulate(fin, axis=0)
    return np.where(from_start, np.iinfo(np.int64).max // 2, run)


def settle_after_gaps(x, n_settle: int) -> np.ndarray:
    """NaN for the first ``n_settle`` samples of every run of finite samples that follows a gap
    (causal; equals :class:`StreamingSettle`). ``x``: (frames,) or (frames, channels)."""
    a, shape = _as2d(x)
    if n_settle <= 0 or a.shape[0] == 0:
        return a.copy().reshape(shape)
    if kernels.wanted(a.size):
        return kernels.get().settle(np.ascontiguousarray(a), n_settle, 0).reshape(shape)
    return np.where(_runs_after_gaps(np.isfinite(a)) > n_settle, a, np.nan).reshape(shape)


def drop_short_runs(x, n_min: int) -> np.ndarray:
    """NaN for every run of finite samples shorter than ``n_min`` that follows a gap (offline:
    needs the run's end)."""
    a, shape = _as2d(x)
    if n_min <= 1 or a.shape[0] == 0:
        return a.copy().reshape(shape)
    if kernels.wanted(a.size):
        return kernels.get().settle(np.ascontiguousarray(a), 0, n_min).reshape(shape)
    fin = np.isfinite(a)
    run = _runs_after_gaps(fin)
    n = a.shape[0]
    # each sample's run ends at the next sample whose successor is missing
    end = fin & ~np.vstack([fin[1:], np.zeros((1, a.shape[1]), bool)])
    end_idx = np.where(end, np.arange(n)[:, None], n)
    next_end = np.flip(np.minimum.accumulate(np.flip(end_idx, 0), 0), 0)
    length = np.take_along_axis(run, np.minimum(next_end, n - 1), axis=0)
    return np.where(fin & (length >= n_min), a, np.nan).reshape(shape)


class StreamingSettle:
    """Frame-by-frame :func:`settle_after_gaps` for ``channels`` values."""

    def __init__(self, channels: int, n_settle: int) -> None:
        self.n_settle = int(n_settle)
        self.run = np.full(channels, self.n_settle, dtype=np.int64)  # the start follows no gap

    def update(self, x) -> np.ndarray:
        v = np.asarray(x, dtype=np.float64)
        self.run = np.where(np.isfinite(v), np.minimum(self.run + 1, self.n_settle + 1), 0)
        return np.where(self.run > self.n_settle, v, np.nan)


@dataclass(frozen=True)
class CleanConfig:
    """Parameters of the cleaning chain (mask -> Hampel -> gap fill -> Butterworth).

    max_gap_s : longest gap filled (s), also how long the velocity guard keeps a reference.
    hampel_half_window : samples each side (0 = off). hampel_sigmas : threshold.
    cutoff_hz : Butterworth cut-off (None = no low-pass). order : order.
    velocity_guard : apply the angular-velocity plausibility guard to the angles computed from the
    cleaned landmarks (:func:`velocity_guard`; :mod:`movekit.analysis.pipeline`).
    """

    max_gap_s: float = 0.2
    hampel_half_window: int = 3
    hampel_sigmas: float = 3.0
    cutoff_hz: float | None = 6.0
    order: int = 2
    velocity_guard: bool = True

    def max_gap(self, fs_hz: float) -> int:
        return int(round(self.max_gap_s * fs_hz))


def clean(x, fs_hz: float, config: CleanConfig = CleanConfig(), *, mode: str = "offline") -> np.ndarray:
    """Run the cleaning chain over ``x`` (frames, channels): Hampel, gap fill, Butterworth.

    ``mode`` is ``"offline"`` (centred Hampel, interpolation, zero-phase) or ``"causal"`` (trailing
    Hampel, hold, causal Butterworth; identical to :class:`StreamingCleaner`). Mask by visibility
    first with :func:`mask_by_visibility`.
    """
    if mode not in ("offline", "causal"):
        raise ValueError(f"mode must be 'offline' or 'causal', not {mode!r}")
    causal = mode == "causal"
    a, shape = _as2d(x)
    if a.shape[0] and kernels.wanted(a.size):
        rows = clean_rows(np.ascontiguousarray(a.T), fs_hz, config, causal=causal)
        if rows is not None:
            return rows.T.copy().reshape(shape)
    a = hampel(a, config.hampel_half_window, config.hampel_sigmas, causal=causal)
    a = fill_gaps(a, config.max_gap(fs_hz), causal=causal)
    if config.cutoff_hz is not None:
        a = lowpass(a, fs_hz, config.cutoff_hz, config.order, zero_phase=not causal)
    return a.reshape(shape)


def clean_rows(
    rows: np.ndarray, fs_hz: float, config: CleanConfig, *, causal: bool, padded: bool = False, in_place: bool = False
):
    """:func:`clean` of ``rows`` (channels, frames; C-contiguous float64) by the compiled kernels
    (:mod:`movekit.analysis.kernels`), the same values bit for bit; ``(channels, frames)`` back.
    ``padded``: ``rows`` already carry the Hampel window's NaN edges (:func:`hampel_padding`).
    ``in_place`` (with ``padded``): the caller gives ``rows`` up: the Hampel filter works in
    place (no second array of the rows' size); after None they are partly overwritten.
    None when the kernels do not apply (Numba missing, a Hampel window other than 7 samples, an
    infinity in the data): then use :func:`clean`."""
    k = kernels.get()
    if k is None or config.hampel_half_window not in (0, 3):
        return None
    own = False  # rows is a new array here (not the caller's): filled and filtered in place
    if config.hampel_half_window and padded and in_place:
        rows = k.hampel7_front(rows, 6 if causal else 3, config.hampel_sigmas * _MAD_SCALE, 3)
        if rows is None:
            return None
        own = True
    elif config.hampel_half_window:
        hampel_rows = _hampel_padded if padded else _hampel_compiled
        rows = hampel_rows(rows, config.hampel_sigmas, causal=causal, min_count=3)
        if rows is None:
            return None
        own = True
    elif padded:
        before, after = hampel_padding(causal)
        rows = np.ascontiguousarray(rows[:, before : rows.shape[1] - after])
    filt = config.cutoff_hz is not None
    sos = butter_sos(fs_hz, config.cutoff_hz, config.order) if filt else _NO_SOS
    zi0 = sosfilt_zi(sos) if filt else _NO_SOS[:, :2]
    return k.fill_lowpass(rows, config.max_gap(fs_hz), causal, sos, zi0, not causal, filt, own)


def hampel_padding(causal: bool) -> tuple[int, int]:
    """NaN columns before and after the rows that :func:`clean_rows` takes ``padded``."""
    return (6, 0) if causal else (3, 3)


class StreamingCleaner:
    """Frame-by-frame causal cleaning; ``update`` equals ``clean(..., mode="causal")`` row by row.

    Parameters
    ----------
    n_channels : int
        Channels per frame (e.g. 33 * 2 for image x, y).
    fs_hz : float
        Nominal frame rate (Hz) used for the filter design and the gap length.
    config : CleanConfig
    """

    def __init__(self, n_channels: int, fs_hz: float, config: CleanConfig = CleanConfig()):
        self.config = config
        self.n = int(n_channels)
        self._w = 2 * config.hampel_half_window + 1 if config.hampel_half_window > 0 else 0
        self._buf = np.full((max(self._w, 1), self.n), np.nan)
        self._pos = 0
        self._max_gap = config.max_gap(fs_hz)
        self._last = np.full(self.n, np.nan)
        self._since = np.full(self.n, np.iinfo(np.int64).max // 2, dtype=np.int64)
        if config.cutoff_hz is not None:
            self._sos = butter_sos(fs_hz, config.cutoff_hz, config.order)
            self._zi0 = sosfilt_zi(self._sos)
            self._z = np.zeros((len(self._sos), 2, self.n))
            self._live = np.zeros(self.n, dtype=bool)

    def update(self, frame) -> np.ndarray:
        """Clean one frame (``(channels,)``, NaN = missing); returns the cleaned ``(channels,)``."""
        x = np.asarray(frame, dtype=np.float64).reshape(self.n).copy()
        if self._w:
            self._buf[self._pos] = x
            self._pos = (self._pos + 1) % self._w
            rows = [self._buf[j : j + 1] for j in range(self._w)]  # order does not change a median
            x = _hampel_rows(rows, x[None], self.config.hampel_sigmas, 3)[0]
        ok = np.isfinite(x)
        self._since = np.where(ok, 0, self._since + 1)
        self._last = np.where(ok, x, self._last)
        if self._max_gap > 0:
            x = np.where(~ok & (self._since <= self._max_gap), self._last, x)
        if self.config.cutoff_hz is None:
            return x
        ok = np.isfinite(x)
        start = ok & ~self._live
        if start.any():
            self._z[:, :, start] = self._zi0[:, :, None] * x[start]
        self._live = ok
        y = np.where(ok, x, 0.0)
        for k, (b0, b1, b2, _a0, a1, a2) in enumerate(self._sos):
            z = self._z[k]
            out = b0 * y + z[0]
            z0 = b1 * y - a1 * out + z[1]
            z1 = b2 * y - a2 * out
            z[0] = np.where(ok, z0, z[0])
            z[1] = np.where(ok, z1, z[1])
            y = out
        return np.where(ok, y, np.nan)
