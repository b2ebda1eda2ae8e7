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
4. with two views, a landmark triangulated for less than :data:`MIN_RUN_S` at a stretch is left
   out (:func:`drop_short_triangulated_runs`): the views agree there only in passing.

Why step 4 (two cameras of the Pose2Sim rig, every pair of the three cached references of
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
    X, short = drop_short_triangulated_runs(t0, X, (MIN_RUN_S if n == 2 else 0.0) if min_run_s is None else min_run_s)
    return TriangulatedPose(t0, X, np.where(short, 0, used), err, short)


def angles_3d(
    pose: TriangulatedPose, *, offline: bool = True, config: CleanConfig = CleanConfig()
) -> dict[str, np.ndarray]:
    """Clinical joint angles (deg) of triangulated landmarks: cleaned like the 2D path's, the lab
    vertical as the vertical, left/right as labelled (the subject's own)."""
    fs = frame_rate(pose.t_s)
    world = lab_to_angle_frame(pose.points_m)
    clean = clean_landmarks(world, fs, config=config, offline=offline)
    return joint_angles(world_m=clean)


__all__ = [
    "LAB_TO_ANGLE_FRAME",
    "TriangulatedPose",
    "MIN_RUN_S",
    "angles_3d",
    "drop_short_triangulated_runs",
    "lab_to_angle_frame",
    "separation_deg",
    "triangulate_views",
]
