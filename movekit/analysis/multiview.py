"""Pose from two or more calibrated cameras: synchronised, triangulated, cleaned, then the same
clinical angles as the single-camera path, in 3D in the lab frame (no view restriction).

Steps (:func:`triangulate_views`):

1. each view onto the first view's clock (``offsets_s``: :mod:`movekit.analysis.sync`), its
   landmarks interpolated linearly at the first view's frame times;
2. the pose model's left/right relabelling undone per view over time
   (:func:`movekit.analysis.pipeline.unswap_left_right`), then, with three views or more, per frame
   against the other views (:func:`movekit.analysis.triangulation.fix_left_right_swaps`). With two
   views each keeps its own labels: exchanging the second view's labels wherever the pair then
   fits its epipolar geometry better (judged over +-0.25 s) made knee and hip flexion worse on
   the Pose2Sim demo (a left point and its right twin often lie near the same epipolar line);
3. weighted DLT with the model's visibility and outlier views dropped
   (:func:`movekit.analysis.triangulation.triangulate`);
4. optionally (``skeleton=True``, offline: the lengths need the whole take) a skeleton of
   constant segment lengths fitted to the views (:func:`segment_lengths_m`, :func:`fit_skeleton`);
5. with two views, a landmark triangulated for less than :data:`MIN_RUN_S` at a stretch is left
   out (:func:`drop_short_triangulated_runs`): the views agree there only in passing.

Why step 5 (two cameras of the Pose2Sim rig, every pair of the three cached references of
scripts/build_reference.py, 13 angles, per frame against the four-view reference): frames in a
run of fewer than 12 torso-triangulated frames (0.2 s at 60 fps) were a mean 18.7 deg off
(median 9.6; trunk lateral lean 9.6 / 6.9) against 6.4 (median 4.0; lean 1.8 / 1.3) in longer
runs; runs of 14 frames were still 11.5 (median 5.2), runs of 15-16 frames 5-7. Where in a long
run a frame lies (its first or last frames) made no difference. The outside check's cam03 +
cam04 pair (issue 17) showed two isolated frames at 0.98-1.00 s with the lean -38 deg against a
reference of -4 deg.

:func:`angles_3d` then cleans the 3D landmarks as the 2D path cleans image landmarks (Hampel,
short gaps filled, Butterworth low-pass: :func:`movekit.analysis.pipeline.clean_landmarks`) and
computes :func:`movekit.analysis.angles.joint_angles` from them, with the lab's vertical as the
vertical.

Where the two-camera error comes from (scripts/diagnose_multiview.py, Pose2Sim rig, knee, hip and
elbow flexion against the four-view reference): mostly the calibration, not the 2D noise. With
the Qualisys calibration as given, cam01's and cam03's keypoints lie 20-35 px to one side of the
other views' triangulation in every trial; pairs are a median 8.8 deg off, |bias| 4.4 deg, and
three views are already 6.7-8.8 deg off four (the reference itself moves by a median 6 deg when
the orientations are refined). With the orientations refined on other trials
(:func:`movekit.analysis.extrinsics.refine_rotations`) pairs 60-120 deg apart agree within a
median 3.8 deg on the held-out trial; the rest is heavy-tailed per-frame detection error
(left/right relabelling, 40+ px misplacements). Another low-pass of the 3D points (3, 4 or 8 Hz
or none for the 6 Hz used) moved the median by under 0.3 deg; fusing MediaPipe's world-landmark
limb directions or relabelling one view of a pair against the other did not help on the held-out trial.

No per-frame geometric refusal is applied, only :data:`MAX_FILTER_DEPARTURE_DEG`'s
(scripts/diagnose_multiview.py --frame-checks; docs/validity-other.md, "Per-frame checks for a
pair"): the angle SD predicted from the rays' geometry, the pair's or the
reference's limb-length changes and the reprojection residual each rank the frames' errors weakly
(Spearman 0.03-0.14). Refusing frames whose residual exceeds 0.03-0.04 torso lengths brings every
flexion angle's worst pair 60-120 deg apart to 3.5-5.2 deg (training) with the refined calibration,
keeping about half the frames, but not with the Qualisys one, and a pair's own residual cannot
tell the two calibrations apart (median over a take 0.023-0.048 refined, 0.021-0.057 Qualisys),
so the refusal is not used.

Why step 4 is off by default (refined calibration, against the refined reference of
scripts/build_reference.py --refined, knee/hip/elbow flexion, pairs 60-120 deg apart): the
constant-length fit halves each limb segment's SD over the take (0.7-2.3 cm -> 0.3-1.05 cm) and
moves the median pair MAE from 3.8 to 3.5 deg on the held-out trial (worst pair 5.5 -> 5.2) but
from 4.5 to 5.0 on the training trials (worst 9.7 -> 10.5); the four-view reference's own limb
lengths vary by 3-35 % (SD/median) over a take, so it cannot tell a rigid skeleton's gain. Placing
joints that one view saw and the pair did not triangulate (rays plus lengths) doubled the error.
Cost: 3.3 ms per frame for two views (26 times the DLT's 0.13 ms; 100 frames, quiet machine).

Frames: lab frame metres, z up (the calibration's world frame; a Qualisys or board calibration on
the floor gives z up). ``joint_angles(world_m=...)`` takes MediaPipe's world frame (x to the
image right, y DOWN, z away from the camera); :func:`lab_to_angle_frame` maps one to the other so
that "vertical" is the true vertical.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from movekit.analysis.angles import joint_angles
from movekit.analysis.cameras import PinholeCamera
from movekit.analysis.filters import CleanConfig
from movekit.analysis.pipeline import clean_landmarks, frame_rate, unswap_left_right
from movekit.analysis.triangulation import DEFAULT_MAX_REPROJ_PX, fix_left_right_swaps, triangulate
from movekit.errors import MovekitError

#: A landmark triangulated for a shorter stretch than this (s) is left out (see the module
#: docstring, step 4: runs under 0.25 s were a mean 8-40 deg off by length, longer ones about 6).
MIN_RUN_S = 0.25

#: lab (z up) -> the frame ``joint_angles(world_m=...)`` takes (x right, y DOWN, z away): x = x_lab,
#: y = -z_lab, z = y_lab (a proper rotation, det +1)
LAB_TO_ANGLE_FRAME = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])


def lab_to_angle_frame(points_lab_m) -> np.ndarray:
    """Lab-frame landmarks (m, z up) in the frame of ``joint_angles(world_m=...)``, centred on the
    mid-hip of each frame (m)."""
    p = np.asarray(points_lab_m, dtype=np.float64) @ LAB_TO_ANGLE_FRAME.T
    return p - 0.5 * (p[:, 23:24] + p[:, 24:25])


def separation_deg(cam_a: PinholeCamera, cam_b: PinholeCamera, subject_m) -> float:
    """Horizontal angle (deg, 0..180) between two cameras seen from the subject (lab z up): the
    set-up figure the two-camera error rows are measured by (docs/validity.md)."""
    u = [
        np.asarray(c.centre_m, dtype=np.float64)[:2] - np.asarray(subject_m, dtype=np.float64)[:2]
        for c in (cam_a, cam_b)
    ]
    cos = float(np.dot(u[0], u[1]) / (np.linalg.norm(u[0]) * np.linalg.norm(u[1])))
    return float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))


@dataclass
class TriangulatedPose:
    """3D landmarks from several views, on the first view's clock.

    Attributes
    ----------
    t_s : (frames,) s
    points_m : (frames, 33, 3) lab frame, m, z up; NaN where fewer than two views agree
    n_views : (frames, 33) int, views used per landmark
    reproj_px : (frames, 33) mean reprojection error (px) of the used views
    short_run : (frames, 33) bool or None, points triangulated but left out as part of a run
        shorter than :data:`MIN_RUN_S` (:func:`drop_short_triangulated_runs`)
    """

    t_s: np.ndarray
    points_m: np.ndarray
    n_views: np.ndarray
    reproj_px: np.ndarray
    short_run: np.ndarray | None = None


def _run_bounds(flag: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Starts and stops (exclusive) of the True runs of a 1-D bool array."""
    d = np.diff(np.concatenate([[0], flag.astype(np.int8), [0]]))
    return np.flatnonzero(d == 1), np.flatnonzero(d == -1)


def drop_short_triangulated_runs(t_s, points_m, min_run_s: float = MIN_RUN_S) -> tuple[np.ndarray, np.ndarray]:
    """Landmarks ``points_m (frames, L, 3)`` with every run of finite frames shorter than
    ``min_run_s`` (s; ``n`` frames last ``n`` frame intervals) set to NaN, per landmark.
    (Unlike :func:`movekit.analysis.filters.drop_short_runs`, which clears short islands of 2D
    angles after a gap, offline only, a short run at the start goes too: there a pair had just
    as little to agree on. It needs each run's end, so it is for whole recordings (movekit
    triangulate); a live triangulation would have to hold each point back ``min_run_s``.)

    Returns
    -------
    points_m : a copy with the short runs removed
    dropped : (frames, L) bool, the points removed
    """
    t = np.asarray(t_s, dtype=np.float64)
    X = np.array(points_m, dtype=np.float64, copy=True)
    dropped = np.zeros(X.shape[:2], bool)
    if t.size < 2 or min_run_s <= 0:
        return X, dropped
    dt = float(np.median(np.diff(t)))
    finite = np.isfinite(X).all(axis=-1)
    for j in range(X.shape[1]):
        for a, b in zip(*_run_bounds(finite[:, j])):
            if t[b - 1] - t[a] + dt < min_run_s - 1e-9:
                dropped[a:b, j] = True
    X[dropped] = np.nan
    return X, dropped


def _at_times(t_s, x, times) -> np.ndarray:
    """``x`` (frames, ...) linearly interpolated at ``times``; NaN outside the series."""
    t = np.asarray(t_s, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    idx = np.searchsorted(t, times, side="right") - 1
    ok = (idx >= 0) & (idx <= t.size - 1) & (np.asarray(times) <= t[-1] + 1e-9)
    i = np.clip(idx, 0, t.size - 2)
    w = np.clip((times - t[i]) / (t[i + 1] - t[i]), 0.0, 1.0).reshape((-1,) + (1,) * (x.ndim - 1))
    out = (1 - w) * x[i] + w * x[i + 1]
    out[~ok] = np.nan
    return out


def triangulate_views(
    t_s: Sequence,
    image_px: Sequence,
    visibility: Sequence,
    cameras: Sequence[PinholeCamera],
    *,
    offsets_s: Sequence[float] | None = None,
    fix_swaps: bool = True,
    max_reproj_px: float = DEFAULT_MAX_REPROJ_PX,
    min_run_s: float | None = None,
    skeleton: bool = False,
) -> TriangulatedPose:
    """Triangulate the pose of two or more calibrated, synchronised views (see module docstring).

    Parameters
    ----------
    t_s : per view (frames_v,) s, each view's own clock
    image_px : per view (frames_v, 33, >=2) px, as the camera saw them (distortion removed here)
    visibility : per view (frames_v, 33), 0..1
    cameras : one :class:`~movekit.analysis.cameras.PinholeCamera` per view, same world frame
    offsets_s : per view, added to that view's times to put it on the first view's clock
        (``offsets_s[0]`` is ignored); default 0 (views recorded together)
    min_run_s : float, optional
        Landmarks triangulated for a shorter stretch than this (s) are left out
        (:func:`drop_short_triangulated_runs`; 0 keeps them). Default :data:`MIN_RUN_S` with two views, 0 with
        more: measured on pairs only (with four views of the Pose2Sim man it moved knee flexion
        by under 1 deg, one knee better, one worse)
    skeleton : bool
        After the triangulation, fit a skeleton of constant segment lengths to the views
        (:func:`segment_lengths_m` from this take, then :func:`fit_skeleton`): the offline path
        (it needs the whole take for the lengths)
    """
    n = len(cameras)
    if n < 2 or not (len(t_s) == len(image_px) == len(visibility) == n):
        raise MovekitError(
            f"triangulation needs two or more views with one calibrated camera each "
            f"(got {len(image_px)} views, {n} cameras)"
        )
    offs = [0.0] * n if offsets_s is None else [0.0] + [float(o) for o in list(offsets_s)[1:]]
    t0 = np.asarray(t_s[0], dtype=np.float64)
    pts, vis = [], []
    for v in range(n):
        tv = np.asarray(t_s[v], dtype=np.float64)
        p = np.asarray(image_px[v], dtype=np.float64)[..., :2]
        w = np.nan_to_num(np.asarray(visibility[v], dtype=np.float64))
        if fix_swaps:
            p, w = unswap_left_right(p, w)
        if v and (offs[v] != 0.0 or tv.shape != t0.shape or not np.allclose(tv, t0)):
            p, w = _at_times(tv + offs[v], p, t0), np.nan_to_num(_at_times(tv + offs[v], w, t0))
        pts.append(p)
        vis.append(w)
    P, W = np.stack(pts), np.stack(vis)
    if fix_swaps and n >= 3:
        P, W, _ = fix_left_right_swaps(P, W, cameras, max_reproj_px=max_reproj_px)
    X, err, used = triangulate(P, W, cameras, max_reproj_px=max_reproj_px)
    if skeleton:
        X, err, used = _skeleton_points(P, W, cameras, X, err, used)
    X, short = drop_short_triangulated_runs(t0, X, (MIN_RUN_S if n == 2 else 0.0) if min_run_s is None else min_run_s)
    return TriangulatedPose(t0, X, np.where(short, 0, used), err, short)


#: Where the skeleton fit may place a joint: "triangulated" only where the triangulation had it
#: (coverage unchanged), "seen" wherever one view or more saw it.
SKELETON_WHERE = "triangulated"


def _skeleton_points(P, W, cameras, X, err, used):
    """:func:`fit_skeleton` on a take's triangulation (lengths from the take itself, joints kept
    where :data:`SKELETON_WHERE` says); returns the new points, reprojection errors and views."""
    lengths = segment_lengths_m(X, err)
    Xs, err_s = fit_skeleton(P, W, cameras, X, lengths)
    lm = list(SKELETON_LANDMARKS)
    if SKELETON_WHERE == "triangulated":
        keep = np.isfinite(X[:, lm]).all(axis=-1)
        Xs[:, lm] = np.where(keep[..., None], Xs[:, lm], np.nan)
    ok = np.isfinite(Xs[:, lm]).all(axis=-1)
    X, err, used = X.copy(), err.copy(), used.copy()
    X[:, lm] = Xs[:, lm]
    err[:, lm] = np.where(ok, err_s[:, lm], np.nan)
    used[:, lm] = np.where(ok, np.maximum(used[:, lm], 1), 0)
    return X, err, used


#: An angle of the cleaned landmarks is refused (NaN) in a frame where it lies further than this
#: (deg) from the same angle of the landmarks as triangulated, unfiltered: twice the 5 deg limit,
#: so the number shown there would be the low-pass filter's, not the measurement's. A landmark that
#: jumps (a pair's hip moving 21 cm in one frame when one view relabels it, Demo_SinglePerson
#: cam01+cam02) is smeared by the zero-phase filter over the frames before and after: there the
#: lean read -32.5 and -15.1 deg against -41.5 and -41.2 unfiltered and -41.1 in the four-view
#: reference, a 17.4 deg step in one frame. Over every pair of the three cached references and
#: 13 angles this refuses 0.7 % of the frames (0.1-1.2 % per angle) and leaves 3 of 195 series
#: with a step over 10 deg (23 before); 5 deg refused 2 % and left the same 3, 15 deg left 9
#: (scripts/diagnose_multiview.py --frame-checks).
MAX_FILTER_DEPARTURE_DEG = 10.0


def angles_3d(
    pose: TriangulatedPose,
    *,
    offline: bool = True,
    config: CleanConfig = CleanConfig(),
    max_departure_deg: float = MAX_FILTER_DEPARTURE_DEG,
) -> dict[str, np.ndarray]:
    """Clinical joint angles (deg) of triangulated landmarks: cleaned like the 2D path's, the lab
    vertical as the vertical, left/right as labelled (the subject's own). With a low-pass in
    ``config``, an angle is NaN where it departs from the unfiltered one by more than
    ``max_departure_deg`` (default :data:`MAX_FILTER_DEPARTURE_DEG`; offline: a smeared jump;
    causal: a lag that large; ``np.inf`` keeps every frame, for measuring the check itself)."""
    fs = frame_rate(pose.t_s)
    world = lab_to_angle_frame(pose.points_m)
    clean = clean_landmarks(world, fs, config=config, offline=offline)
    angles = joint_angles(world_m=clean)
    if config.cutoff_hz is None or not np.isfinite(max_departure_deg):
        return angles
    raw = joint_angles(world_m=world)
    with np.errstate(invalid="ignore"):
        return {k: np.where(np.abs(v - raw[k]) > max_departure_deg, np.nan, v) for k, v in angles.items()}


# ----------------------------------------------------------------------------- constant-length skeleton

#: Landmarks the skeleton fit moves: shoulders, elbows, wrists, hips, knees, ankles (the ends of
#: every segment of knee, hip and elbow flexion).
SKELETON_LANDMARKS = (11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28)
#: Segments held at one length over the take (landmark pairs): upper arms, forearms, thighs,
#: shanks, shoulder and hip widths, the two sides of the trunk. Rigid segment lengths are the
#: model of marker-based and markerless pipelines that fit a skeleton to keypoints (OpenSim
#: inverse kinematics as used by Pose2Sim, Pagnon et al. 2022, JOSS 7:4362; OpenCap, Uhlrich et
#: al. 2023, PLoS Comput Biol 19:e1011462).
SKELETON_SEGMENTS = (
    (11, 13),
    (13, 15),
    (12, 14),
    (14, 16),
    (23, 25),
    (25, 27),
    (24, 26),
    (26, 28),
    (11, 12),
    (23, 24),
    (11, 23),
    (12, 24),
)
#: Each segment's length is the median over the frames whose two ends reprojected best (this
#: fraction of the frames where both ends were triangulated).
SKELETON_BEST_FRACTION = 0.5
#: Scale (px) of the reprojection residuals: beyond it a view counts less (soft-L1 weights,
#: iteratively reweighted), about the pose model's scatter (~9 px on 1920-px frames).
SKELETON_F_SCALE_PX = 10.0
#: A segment length off by this much (m) costs as much as a reprojection residual of
#: :data:`SKELETON_F_SCALE_PX` (a soft constraint: see :data:`SKELETON_PRIOR_SD_M`).
SKELETON_LENGTH_SD_M = 0.02
#: A landmark moved this far (m) from its start (the DLT point, or interpolated over time where
#: it was not triangulated) costs as much as :data:`SKELETON_F_SCALE_PX`. Not weak: 1 cm is ~4 px
#: at 4 m on the Pose2Sim rig, so the triangulated point pulls about as much as the views. Measured
#: on the rig's pairs (scripts/diagnose_multiview.py): 0.2 m (a weak prior) with 0.5 cm length SD
#: made 60-120 deg pairs worse (held-out median 3.8 -> 4.1 deg, training 4.5 -> 5.9); 2 cm with
#: :data:`SKELETON_LENGTH_SD_M` 2 cm was the best of the six combinations tried.
SKELETON_PRIOR_SD_M = 0.02


def segment_lengths_m(
    points_m, reproj_px, segments=SKELETON_SEGMENTS, best_fraction: float = SKELETON_BEST_FRACTION
) -> np.ndarray:
    """(segments,) length (m) of each segment over a take: the median over the frames whose two
    ends reprojected best (the ``best_fraction`` with the lowest worse-end reprojection error
    ``reproj_px (frames, 33)``); NaN where a segment was never triangulated.

    Parameters
    ----------
    points_m : (frames, 33, 3) m, NaN where not triangulated
    reproj_px : (frames, 33) px, each point's mean reprojection error
    segments : landmark pairs
    best_fraction : 0..1
    """
    X = np.asarray(points_m, dtype=np.float64)
    err = np.asarray(reproj_px, dtype=np.float64)
    out = np.full(len(segments), np.nan)
    for s, (a, b) in enumerate(segments):
        d = np.linalg.norm(X[:, a] - X[:, b], axis=-1)
        q = np.fmax(err[:, a], err[:, b])
        ok = np.isfinite(d) & np.isfinite(q)
        if ok.any():
            cut = np.quantile(q[ok], best_fraction)
            out[s] = float(np.median(d[ok & (q <= cut)]))
    return out


def _fill_over_time(X: np.ndarray) -> np.ndarray:
    """``X (frames, L, 3)`` with NaN filled by linear interpolation over frames (held at the
    ends); a landmark never finite stays NaN."""
    out = X.copy()
    f = np.arange(X.shape[0])
    for j in range(X.shape[1]):
        ok = np.isfinite(X[:, j]).all(axis=-1)
        if ok.any() and not ok.all():
            for k in range(3):
                out[:, j, k] = np.interp(f, f[ok], X[ok, j, k])
    return out


def _skeleton_system(X, norm, s, Rt, ia, ib, L, k_len, p_prior, X0):
    """Residuals ``(F, R)`` and Jacobian ``(F, R, 3J)`` of the skeleton fit, every frame at once.

    ``X (F, J, 3)``; ``norm (C, F, J, 2)`` normalised observations; ``s (C, F, J)`` px per
    normalised unit times sqrt(weight) (0: unused); ``Rt (C, 3, 4)``; segments ``ia``, ``ib``
    (joint indices) of lengths ``L``; ``k_len`` px per m of length error; ``p_prior`` px per m
    from ``X0``.
    """
    F, J, _ = X.shape
    C = Rt.shape[0]
    R, t = Rt[:, :, :3], Rt[:, :, 3]
    Xc = np.einsum("cij,fnj->cfni", R, X) + t[:, None, None, :]
    z = np.where(Xc[..., 2] > 1e-6, Xc[..., 2], 1e-6)
    u = Xc[..., :2] / z[..., None]
    r_proj = s[..., None] * (u - np.nan_to_num(norm))  # (C, F, J, 2)
    # d u / d X = [[1/z, 0, -x/z^2], [0, 1/z, -y/z^2]] @ R
    du = np.zeros(Xc.shape[:-1] + (2, 3))
    du[..., 0, 0] = du[..., 1, 1] = 1.0 / z
    du[..., 0, 2] = -u[..., 0] / z
    du[..., 1, 2] = -u[..., 1] / z
    Jp = s[..., None, None] * np.einsum("cfnab,cbk->cfnak", du, R)  # (C, F, J, 2, 3)
    S = len(ia)
    n_rows = C * J * 2 + S + 3 * J
    jac = np.zeros((F, n_rows, 3 * J))
    eye = np.arange(J)
    for c in range(C):
        for a in range(2):
            rows = c * J * 2 + eye * 2 + a
            for k in range(3):
                jac[:, rows, 3 * eye + k] = Jp[c, :, :, a, k]
    d = X[:, ia] - X[:, ib]
    dn = np.linalg.norm(d, axis=-1)
    unit = d / np.maximum(dn, 1e-9)[..., None]
    r_len = k_len * (dn - L)
    rows = C * J * 2 + np.arange(S)
    for k in range(3):
        jac[:, rows, 3 * ia + k] += k_len * unit[..., k]
        jac[:, rows, 3 * ib + k] -= k_len * unit[..., k]
    r_prior = p_prior * (X - X0).reshape(F, -1)
    base = C * J * 2 + S
    jac[:, base + np.arange(3 * J), np.arange(3 * J)] = p_prior
    r = np.concatenate([r_proj.transpose(1, 0, 2, 3).reshape(F, -1), r_len, r_prior], axis=1)
    return r, jac


def fit_skeleton(
    points_px,
    weights,
    cameras: Sequence[PinholeCamera],
    points_m,
    lengths_m,
    *,
    min_weight: float = 0.5,
    iterations: int = 8,
    reweight: int = 2,
    length_sd_m: float = SKELETON_LENGTH_SD_M,
    prior_sd_m: float = SKELETON_PRIOR_SD_M,
) -> tuple[np.ndarray, np.ndarray]:
    """Fit a skeleton of constant segment lengths to the views, frame by frame, every frame at once.

    Per frame the positions of :data:`SKELETON_LANDMARKS` minimise, in the least-squares sense,
    each view's reprojection residual (px, weighted by the visibility; soft-L1 weights with scale
    :data:`SKELETON_F_SCALE_PX`, recomputed ``reweight`` times so that a wrong detection pulls
    little), the deviation of every :data:`SKELETON_SEGMENTS` length from ``lengths_m`` (1
    ``length_sd_m`` costs as much as 1 scale of reprojection) and the pull to the start
    (``prior_sd_m``). Damped Gauss-Newton (Levenberg-Marquardt; Hartley &
    Zisserman 2004, appendix A6), the normal equations of all frames solved as one batch: no
    Python loop over frames. A joint seen by one view is placed on that view's ray where its
    segments' lengths put it.

    Parameters
    ----------
    points_px : (cams, frames, 33, 2) px, as the cameras saw them (labels already consistent)
    weights : (cams, frames, 33) 0..1; below ``min_weight`` a view is not used
    cameras : one per view
    points_m : (frames, 33, 3) m, the triangulation (the start; NaN where none)
    lengths_m : (segments,) m, :func:`segment_lengths_m`; a NaN segment is not constrained
    min_weight : views below this weight are not used
    iterations : Levenberg-Marquardt steps per fit
    reweight : soft-L1 reweightings after the first fit
    length_sd_m, prior_sd_m : m, the costs of :data:`SKELETON_LENGTH_SD_M` and
        :data:`SKELETON_PRIOR_SD_M`

    Returns
    -------
    points_m : (frames, 33, 3) m, the fitted landmarks in place of the triangulated ones (other
        landmarks unchanged); NaN where a joint had no usable view in that frame
    reproj_px : (frames, 33) mean reprojection error (px) of the fitted joints over their views
    """
    from movekit.analysis.triangulation import _normalised

    P = np.asarray(points_px, dtype=np.float64)
    W = np.nan_to_num(np.asarray(weights, dtype=np.float64))
    X_in = np.asarray(points_m, dtype=np.float64)
    # joints never triangulated in the take have no start: left out (NaN), with their segments
    lm = [j for j in SKELETON_LANDMARKS if np.isfinite(X_in[:, j]).all(axis=-1).any()]
    pos = {j: i for i, j in enumerate(lm)}
    seg = [
        (pos[a], pos[b], Lm)
        for (a, b), Lm in zip(SKELETON_SEGMENTS, lengths_m)
        if np.isfinite(Lm) and a in pos and b in pos
    ]
    if not lm:
        out = X_in.copy()
        out[:, list(SKELETON_LANDMARKS)] = np.nan
        return out, np.full(X_in.shape[:2], np.nan)
    ia, ib, L = (np.array(v) for v in zip(*seg)) if seg else (np.zeros(0, int),) * 2 + (np.zeros(0),)
    norm = _normalised(P[:, :, lm], cameras)
    seen = (W[:, :, lm] >= min_weight) & np.isfinite(norm).all(axis=-1)
    f_px = np.array([np.sqrt(c.K[0, 0] * c.K[1, 1]) for c in cameras])
    sw = np.where(seen, np.sqrt(np.where(seen, W[:, :, lm], 0.0)), 0.0) * f_px[:, None, None]
    Rt = np.stack([np.hstack([c.R, c.t[:, None]]) for c in cameras])
    X0 = _fill_over_time(X_in[:, lm])
    frames = np.isfinite(X0).all(axis=(1, 2))
    X = X0[frames].copy()
    k_len, p_prior = SKELETON_F_SCALE_PX / length_sd_m, SKELETON_F_SCALE_PX / prior_sd_m
    nv, sv = norm[:, frames], sw[:, frames]
    robust = np.ones_like(sv)
    for _ in range(max(0, reweight) + 1):
        X = _gauss_newton(X, nv, sv * robust, Rt, ia, ib, L, k_len, p_prior, X0[frames], iterations)
        err = _fit_errors_px(X, nv, Rt, f_px)
        robust = np.where(np.isfinite(err), (1.0 + (err / SKELETON_F_SCALE_PX) ** 2) ** -0.25, 0.0)
    out = X_in.copy()
    fitted = np.full((X_in.shape[0], len(lm), 3), np.nan)
    fitted[frames] = X
    any_view = seen.any(axis=0)
    fitted[~any_view] = np.nan
    out[:, lm] = fitted
    reproj = np.full(X_in.shape[:2], np.nan)
    e = np.full((len(cameras), X_in.shape[0], len(lm)), np.nan)
    e[:, frames] = _fit_errors_px(X, nv, Rt, f_px)
    with np.errstate(invalid="ignore"):
        reproj[:, lm] = np.nanmean(np.where(seen, e, np.nan), axis=0) if seen.any() else np.nan
    return out, reproj


def _fit_errors_px(X, norm, Rt, f_px) -> np.ndarray:
    """(C, F, J) distance (px) between ``X (F, J, 3)`` reprojected and ``norm (C, F, J, 2)``."""
    Xc = np.einsum("cij,fnj->cfni", Rt[:, :, :3], X) + Rt[:, None, None, :, 3]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.linalg.norm(Xc[..., :2] / Xc[..., 2:3] - norm, axis=-1) * f_px[:, None, None]


def _gauss_newton(X, norm, s, Rt, ia, ib, L, k_len, p_prior, X0, iterations) -> np.ndarray:
    """Levenberg-Marquardt on every frame at once (see :func:`fit_skeleton`); ``X (F, J, 3)``."""
    F, J, _ = X.shape
    lam = np.full(F, 1e-3)
    r, jac = _skeleton_system(X, norm, s, Rt, ia, ib, L, k_len, p_prior, X0)
    cost = (r**2).sum(axis=1)
    eye = np.eye(3 * J)
    for _ in range(iterations):
        JtJ = np.einsum("fri,frj->fij", jac, jac)
        g = np.einsum("fri,fr->fi", jac, r)
        diag = np.einsum("fii->fi", JtJ)
        A = JtJ + lam[:, None, None] * (eye * np.maximum(diag, 1e-9)[:, None, :])
        step = np.linalg.solve(A, -g[..., None])[..., 0]
        Xn = X + step.reshape(F, J, 3)
        rn, jn = _skeleton_system(Xn, norm, s, Rt, ia, ib, L, k_len, p_prior, X0)
        cn = (rn**2).sum(axis=1)
        better = cn < cost
        X = np.where(better[:, None, None], Xn, X)
        r = np.where(better[:, None], rn, r)
        jac = np.where(better[:, None, None], jn, jac)
        cost = np.where(better, cn, cost)
        lam = np.where(better, lam * 0.3, lam * 10.0)
    return X


__all__ = [
    "LAB_TO_ANGLE_FRAME",
    "SKELETON_LANDMARKS",
    "SKELETON_SEGMENTS",
    "fit_skeleton",
    "segment_lengths_m",
    "TriangulatedPose",
    "MIN_RUN_S",
    "angles_3d",
    "drop_short_triangulated_runs",
    "lab_to_angle_frame",
    "separation_deg",
    "triangulate_views",
]
