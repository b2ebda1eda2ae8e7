"""Time offset between two cameras' pose series from the movement itself.

Two videos of one session started by hand begin at different moments. Every view sees the same
movement, so the speed of the body's keypoints rises and falls at the same times in each view
(its size differs with the view, its timing does not). As Pose2Sim's synchronisation does
(Pagnon et al. 2022, JOSS 7:4362, ``Pose2Sim.synchronization``: keypoint speeds per view,
low-passed, cross-correlated between views, the lag of the highest correlation), the offset is the
lag that best aligns the two speed curves:

1. per view, the image speed of each of a set of keypoints (:data:`SYNC_LANDMARKS`), each frame
   scaled by the torso length in that view (torso lengths per second: independent of distance and
   image size), summed, on a uniform time grid;
2. Butterworth low-pass (:data:`SPEED_CUTOFF_HZ`, zero-phase) and z-scoring;
3. normalised cross-correlation over lags up to ``max_lag_s``; the peak refined to a fraction of
   a sample by a parabola through it and its two neighbours.

With calibrated cameras the geometry decides instead (:func:`epipolar_offset_s`): at the right
offset every keypoint of one view lies on its epipolar line in the other (Hartley & Zisserman
2004, sec. 9.2); at a wrong one the moving limbs leave their lines. The offset is the one with
the smallest median symmetric epipolar distance (px), the same geometry the triangulation then
relies on. On the Pose2Sim demo's 100-frame walking clips (1.7 s) the movement correlation picks
a wrong stride in 6 of 18 camera pairs (17-25 frames off); the geometry is within 1.5 frames in
the 12 pairs of cameras less than 120 deg apart and 1.5-5 frames in four of the six pairs
across the subject (the sixth, a view where the model partly followed another person, fails),
so the geometry is used whenever a calibration is given (tests/test_sync.py).

What the geometry cannot tell apart: a camera whose orientation is off by a degree or two
places every keypoint some pixels to one side, and while the subject walks a time shift moves
the keypoints the same way: the geometry then trades one for the other. On the Pose2Sim rig,
whose four videos are recorded in sync (all 100 frames at 60 fps; the four views triangulate
best unshifted where the calibration is good: cam02 and cam04 best at 0 frames against the other
three, scripts/diagnose_multiview.py), cam03 (orientation 2.2 deg off) is best shifted -2 frames
for the man and +2.5 for the woman, who walk opposite ways: a calibration error, not a clock
one; the geometry put cam04 +0.051 s (3 frames) from cam03 on the man's captures, at a residual
only 9 % below that of the recorded alignment, and -0.006 s once cam03's orientation was
refined on another trial (:func:`movekit.analysis.extrinsics.refine_rotations`). So every
result carries ``plausible_s``, the offsets whose residual is within :data:`PLAUSIBLE_MARGIN`
of the best (over the 15 camera pairs of the cached references where the geometry found the
right stride, the true offset 0 was within 15 % in 14), and :func:`keeps_recorded` says when the
recordings' own alignment is among them. The price: a view that really started 3 frames late
is kept at 0 in 2 of the 6 pairs of the man (an error of 3 frames where the geometry erred by
1-2); 15 frames late, never (tests/test_sync.py).

Convention: ``offset_s`` is what to ADD to the second series' timestamps to put them on the first
series' clock (``t_a = t_b + offset_s``). A peak correlation under :data:`MIN_CORRELATION` means the
two views do not show one movement clearly enough and is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import butter, sosfiltfilt

from movekit.analysis.triangulation import MIRROR
from movekit.errors import MovekitError

#: shoulders, elbows, wrists, hips, knees, ankles (MediaPipe indices): large, usually seen
SYNC_LANDMARKS = (11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28)
#: low-pass of the speed curve (Hz): movement, not the model's frame-to-frame jitter
SPEED_CUTOFF_HZ = 6.0
#: offsets whose median epipolar distance is within this fraction of the best are not told apart
#: (module docstring)
PLAUSIBLE_MARGIN = 0.15
#: the largest shift (s) a camera orientation error is taken to fake: 1-2 deg at the Pose2Sim rig
#: moved the geometry's offset by 2-5 frames at 60 fps (0.03-0.08 s) on a walking subject
CALIBRATION_SHIFT_S = 0.1
#: below this peak correlation the offset is refused (two views of one movement give 0.6-0.95)
MIN_CORRELATION = 0.5


@dataclass(frozen=True)
class SyncResult:
    """Offset (s) to add to the second series' times; how it was found (``method``:
    ``"movement"`` or ``"epipolar"``) and how well: ``score`` is the peak normalised correlation
    (movement, 0..1, higher is better) or the median symmetric epipolar distance at the offset
    (epipolar, px, lower is better); ``step_s`` the search step (s) before the sub-step
    refinement; ``plausible_s`` (epipolar only) the range of offsets (s) around the best whose
    residual is within :data:`PLAUSIBLE_MARGIN` of it, which the geometry cannot tell apart."""

    offset_s: float
    method: str
    score: float
    step_s: float
    plausible_s: tuple[float, float] = (float("nan"), float("nan"))


def keeps_recorded(result: SyncResult, recorded_offset_s: float = 0.0) -> bool:
    """True when the recordings' own alignment (``recorded_offset_s``, s: 0 for two videos whose
    first frames are taken as simultaneous) lies within ``result.plausible_s`` and within
    :data:`CALIBRATION_SHIFT_S` of the best offset: the geometry does not show it wrong, and the
    difference is of the size a calibration error can fake (module docstring). (Without the
    second condition, cam01 + cam03 of the Pose2Sim rig, which face each other, kept a recorded
    alignment 15 frames off: their residual hardly changes with the offset.)"""
    lo, hi = result.plausible_s
    return bool(
        np.isfinite(lo)
        and np.isfinite(hi)
        and lo - 1e-9 <= recorded_offset_s <= hi + 1e-9
        and abs(result.offset_s - recorded_offset_s) <= CALIBRATION_SHIFT_S
    )


def _plausible(offs: np.ndarray, cost: np.ndarray, k: int) -> tuple[float, float]:
    """The contiguous range of ``offs`` around index ``k`` whose cost is within
    :data:`PLAUSIBLE_MARGIN` of ``cost[k]``."""
    ok = cost <= cost[k] * (1.0 + PLAUSIBLE_MARGIN)
    lo = hi = k
    while lo > 0 and ok[lo - 1]:
        lo -= 1
    while hi < offs.size - 1 and ok[hi + 1]:
        hi += 1
    return float(offs[lo]), float(offs[hi])


def keypoint_speed(t_s, image_px, *, landmarks=SYNC_LANDMARKS) -> np.ndarray:
    """Summed speed (torso lengths/s) of the keypoints ``landmarks`` per frame of one view,
    ``(frames,)``; NaN where not all are seen. (Kept per keypoint as separate channels, the
    correlation was worse on the Pose2Sim demo's views: a keypoint's image speed depends on the
    direction it moves relative to each camera.)

    Parameters
    ----------
    t_s : (frames,) s
    image_px : (frames, 33, >=2) px
    """
    t = np.asarray(t_s, dtype=np.float64)
    p = np.asarray(image_px, dtype=np.float64)[..., :2]
    torso = np.linalg.norm(0.5 * (p[:, 11] + p[:, 12]) - 0.5 * (p[:, 23] + p[:, 24]), axis=1)
    sel = p[:, list(landmarks)] / torso[:, None, None]
    dt = np.diff(t)
    with np.errstate(invalid="ignore", divide="ignore"):
        v = np.linalg.norm(np.diff(sel, axis=0), axis=2).sum(axis=1) / dt
    return np.concatenate([[np.nan], v])


def _uniform(t_s, x, step_s: float) -> np.ndarray:
    """``x(t_s)`` (one channel) on the grid ``t_s[0], t_s[0] + step, ... <= t_s[-1]`` (linear)."""
    grid = np.arange(t_s[0], t_s[-1] + 1e-9, step_s)
    ok = np.isfinite(x)
    if ok.sum() < 2:
        return np.full(grid.size, np.nan)
    return np.interp(grid, t_s[ok], x[ok], left=np.nan, right=np.nan)


def _prepared(t_s, speed, step_s: float) -> np.ndarray:
    """(grid, channels) speed curves resampled, low-passed and z-scored; unseen samples 0 (they
    neither help nor hurt the correlation); channels that never move dropped (all 0)."""
    t = np.asarray(t_s, dtype=np.float64)
    v = np.asarray(speed, dtype=np.float64)
    v = v[:, None] if v.ndim == 1 else v
    x = np.stack([_uniform(t, v[:, c], step_s) for c in range(v.shape[1])], axis=1)
    fin = np.isfinite(x)
    if fin.all(axis=1).sum() < 10 and fin.any(axis=1).sum() < 10:
        raise MovekitError("too few frames with the body seen to synchronise on movement (need >= 10)")
    nyq = 0.5 / step_s
    sos = butter(2, SPEED_CUTOFF_HZ / nyq, output="sos") if SPEED_CUTOFF_HZ < nyq else None
    out = np.zeros_like(x)
    for c in range(x.shape[1]):
        f = fin[:, c]
        if f.sum() < 10:
            continue
        y = np.where(f, x[:, c], np.nanmedian(x[f, c]))
        if sos is not None and y.size > 15:
            y = sosfiltfilt(sos, y)
        sd = np.std(y[f])
        if sd > 0:
            out[:, c] = np.where(f, (y - y[f].mean()) / sd, 0.0)
    if not out.any():
        raise MovekitError("the body does not move in one of the views: nothing to synchronise on")
    return out


def movement_offset_s(t_a, speed_a, t_b, speed_b, *, max_lag_s: float = 3.0, step_s: float | None = None) -> SyncResult:
    """Offset (s) that aligns view B's movement with view A's (``t_a = t_b + offset_s``).

    Parameters
    ----------
    t_a, speed_a, t_b, speed_b : arrays (frames,)
        Each view's timestamps (s, its own clock) and :func:`keypoint_speed`.
    max_lag_s : float
        Largest offset searched either way (s).
    step_s : float, optional
        Grid step (s); default the finer of the two median frame intervals.

    Raises
    ------
    MovekitError
        Too few frames, no movement, or a peak correlation under :data:`MIN_CORRELATION`.
    """
    ta, tb = np.asarray(t_a, dtype=np.float64), np.asarray(t_b, dtype=np.float64)
    if ta.size < 10 or tb.size < 10:
        raise MovekitError("too few frames to synchronise (need >= 10 per view)")
    if step_s is None:
        step_s = float(min(np.median(np.diff(ta)), np.median(np.diff(tb))))
    a = _prepared(ta, speed_a, step_s)
    b = _prepared(tb, speed_b, step_s)
    # b[j] is at tb[0] + j*step; with t_a = t_b + off, b[j] lines up with a[i] when
    # ta[0] + i*step = tb[0] + j*step + off, i.e. i = j + lag, lag = (tb0 - ta0 + off) / step
    max_lag = int(np.ceil(max_lag_s / step_s))
    base = (tb[0] - ta[0]) / step_s
    lags = np.arange(-max_lag, max_lag + 1) + int(round(base))  # lag = base + off/step
    corr = np.full(lags.size, -np.inf)
    min_overlap = max(10, int(0.3 * min(a.shape[0], b.shape[0])))
    for k, lag in enumerate(lags):
        i0, j0 = max(0, lag), max(0, -lag)
        n = min(a.shape[0] - i0, b.shape[0] - j0)
        if n < min_overlap:
            continue
        x, y = a[i0 : i0 + n], b[j0 : j0 + n]  # (n, channels): correlation of the stacked curves
        den = np.sqrt((x * x).sum() * (y * y).sum())
        if den > 0:
            corr[k] = float((x * y).sum() / den)
    k = int(np.argmax(corr))
    peak = corr[k]
    if not np.isfinite(peak) or peak < MIN_CORRELATION:
        raise MovekitError(
            f"the two views' movements do not line up (best correlation "
            f"{peak if np.isfinite(peak) else 0:.2f} < {MIN_CORRELATION}): give the offset "
            "yourself, or record a clear movement (e.g. three squats) in both views"
        )
    frac = 0.0
    if 0 < k < lags.size - 1 and np.isfinite(corr[k - 1]) and np.isfinite(corr[k + 1]):
        den = corr[k - 1] - 2 * peak + corr[k + 1]
        frac = 0.5 * (corr[k - 1] - corr[k + 1]) / den if den < 0 else 0.0
    lag = lags[k] + frac
    return SyncResult(
        offset_s=float(lag * step_s - (tb[0] - ta[0])), method="movement", score=float(peak), step_s=step_s
    )


def fundamental_matrix(cam_a, cam_b) -> np.ndarray:
    """F (3, 3) with ``x_b^T F x_a = 0`` for undistorted pixel points of two
    :class:`~movekit.analysis.cameras.PinholeCamera` s (Hartley & Zisserman 2004, eq. 9.2)."""
    R = cam_b.R @ cam_a.R.T
    t = cam_b.t - R @ cam_a.t
    tx = np.array([[0.0, -t[2], t[1]], [t[2], 0.0, -t[0]], [-t[1], t[0], 0.0]])
    return np.linalg.inv(cam_b.K).T @ tx @ R @ np.linalg.inv(cam_a.K)


def epipolar_distance_px(F: np.ndarray, pa, pb) -> np.ndarray:
    """Symmetric epipolar distance (px): the mean distance of each point to the other's epipolar
    line; ``pa``, ``pb`` (..., 2) undistorted px; NaN where either is missing."""
    xa = np.concatenate([pa, np.ones(pa.shape[:-1] + (1,))], axis=-1)
    xb = np.concatenate([pb, np.ones(pb.shape[:-1] + (1,))], axis=-1)
    la = xa @ F.T  # lines in b
    lb = xb @ F  # lines in a
    num = np.abs((xb * la).sum(-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return 0.5 * (num / np.hypot(la[..., 0], la[..., 1]) + num / np.hypot(lb[..., 0], lb[..., 1]))


def _at_times(t_s, points, times) -> np.ndarray:
    """Points (frames, L, 2) linearly interpolated at ``times``; NaN outside or across a gap."""
    t = np.asarray(t_s, dtype=np.float64)
    idx = np.searchsorted(t, times) - 1
    ok = (idx >= 0) & (idx < t.size - 1)
    i = np.clip(idx, 0, t.size - 2)
    w = ((times - t[i]) / (t[i + 1] - t[i]))[:, None, None]
    out = (1 - w) * points[i] + w * points[i + 1]
    out[~ok] = np.nan
    return out


def epipolar_offset_s(
    t_a,
    image_a_px,
    t_b,
    image_b_px,
    cam_a,
    cam_b,
    *,
    max_lag_s: float = 3.0,
    landmarks=SYNC_LANDMARKS,
    min_pairs: int = 30,
) -> SyncResult:
    """Offset (s, ``t_a = t_b + offset_s``) at which view B's keypoints lie on view A's epipolar
    lines: the median symmetric epipolar distance over ``landmarks`` and frames is smallest.

    Parameters
    ----------
    t_a, t_b : (frames,) s, each view's own clock
    image_a_px, image_b_px : (frames, 33, >=2) px as the cameras saw them (distortion removed here)
    cam_a, cam_b : :class:`~movekit.analysis.cameras.PinholeCamera`
    max_lag_s : float
        Largest offset searched either way (s); searched in half-frame steps of view A, then
        refined by a parabola through the best step and its neighbours. Offsets that leave
        less than half of the shorter view overlapping are not considered.

    Returns
    -------
    SyncResult
        ``score``: the median epipolar distance (px) at the offset found, the residual a user can
        judge (about 10 px on 1920-px frames: the pose model's own scatter); ``plausible_s``:
        the offsets the geometry cannot tell from it (:data:`PLAUSIBLE_MARGIN`).

    Raises
    ------
    MovekitError
        Fewer than ``min_pairs`` keypoint pairs seen in both views at any offset.
    """
    ta, tb = np.asarray(t_a, dtype=np.float64), np.asarray(t_b, dtype=np.float64)
    lm = list(landmarks)
    pa = cam_a.undistort(np.asarray(image_a_px, dtype=np.float64)[:, lm, :2])
    pb = cam_b.undistort(np.asarray(image_b_px, dtype=np.float64)[:, lm, :2])
    F = fundamental_matrix(cam_a, cam_b)
    min_overlap = 0.5 * min(np.isfinite(pa).all(-1).any(-1).sum(), np.isfinite(pb).all(-1).any(-1).sum())
    step = 0.5 * float(np.median(np.diff(ta)))
    offs = np.arange(-max_lag_s, max_lag_s + 1e-9, step)
    cost = np.full(offs.size, np.inf)
    # a view from behind may carry the model's left and right labels the other way round: each
    # left/right pair is scored as labelled or exchanged, whichever fits (the offset, not the
    # labels, is sought here)
    mirror = [lm.index(MIRROR[i]) if MIRROR[i] in lm else j for j, i in enumerate(lm)]
    pairs = [(j, mirror[j]) for j in range(len(lm)) if mirror[j] > j]
    single = [j for j in range(len(lm)) if mirror[j] == j]
    for k, off in enumerate(offs):
        q = _at_times(tb, pb, ta - off)
        d = epipolar_distance_px(F, pa, q)
        dm = epipolar_distance_px(F, pa, q[:, mirror])
        both = [np.fmin(d[:, i] + d[:, j], dm[:, i] + dm[:, j]) / 2 for i, j in pairs] + [d[:, j] for j in single]
        d = np.stack(both, axis=1)
        # an offset that leaves little overlap would be judged on a few frames: at least half
        # of the shorter view must overlap
        if np.isfinite(d).sum() >= min_pairs and np.isfinite(d).any(1).sum() >= min_overlap:
            cost[k] = float(np.nanmedian(d))
    k = int(np.argmin(cost))
    if not np.isfinite(cost[k]):
        raise MovekitError(
            f"the two views never see the body at the same time within +-{max_lag_s:g} s "
            f"(fewer than {min_pairs} keypoints seen in both): cannot synchronise them"
        )
    frac = 0.0
    if 0 < k < offs.size - 1 and np.isfinite(cost[k - 1]) and np.isfinite(cost[k + 1]):
        den = cost[k - 1] - 2 * cost[k] + cost[k + 1]
        frac = 0.5 * (cost[k - 1] - cost[k + 1]) / den if den > 0 else 0.0
    return SyncResult(
        offset_s=float(offs[k] + frac * step),
        method="epipolar",
        score=float(cost[k]),
        step_s=step,
        plausible_s=_plausible(offs, cost, k),
    )


__all__ = [
    "SYNC_LANDMARKS",
    "SyncResult",
    "epipolar_distance_px",
    "epipolar_offset_s",
    "fundamental_matrix",
    "CALIBRATION_SHIFT_S",
    "PLAUSIBLE_MARGIN",
    "keeps_recorded",
    "keypoint_speed",
    "movement_offset_s",
]
