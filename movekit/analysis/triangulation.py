"""Landmarks from several calibrated cameras triangulated to 3D (lab frame, metres).

Weighted direct linear transform (DLT; Hartley & Zisserman 2004, Multiple View Geometry, 2nd ed.,
sec. 12.2) on undistorted, normalised image points, each view's two rows scaled by its confidence
(the weighting Pose2Sim uses, Pagnon et al. 2021, Sensors 21:6530), with a view dropped and the
point solved again while a view's reprojection error is over a threshold (Pose2Sim's
``triangulation_from_best_cameras`` searches camera subsets exhaustively; here one view at a
time is dropped, the one without which the others agree best, vectorised over all points).

Shapes: ``points_px (cams, frames, 33, 2)``, ``weights (cams, frames, 33)``; results
``(frames, 33, ...)``. NaN points and views below ``min_weight`` are not used.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from movekit.analysis.cameras import PinholeCamera
from movekit.errors import MovekitError

#: Reprojection error (px) above which the worst view of a point is dropped. MediaPipe's image
#: landmarks scatter by a few pixels on a 1920-px-tall frame (torso ~300 px); a wrong detection
#: or a left/right swap puts a point tens to hundreds of pixels away.
DEFAULT_MAX_REPROJ_PX = 20.0

#: MediaPipe Pose landmark index -> its mirror (left <-> right); the nose maps to itself.
MIRROR = np.array(
    [
        0,
        4,
        5,
        6,
        1,
        2,
        3,
        8,
        7,
        10,
        9,
        12,
        11,
        14,
        13,
        16,
        15,
        18,
        17,
        20,
        19,
        22,
        21,
        24,
        23,
        26,
        25,
        28,
        27,
        30,
        29,
        32,
        31,
    ]
)

#: Groups whose left/right labels are tested for a swap independently (a pose model may flip the
#: whole body, e.g. taking a back view for a front view, or only the legs where they cross).
SWAP_GROUPS = {
    "head": list(range(1, 11)),
    "torso": [11, 12, 23, 24],
    "arms": list(range(13, 23)),
    "legs": list(range(25, 33)),
}


def _normalised(points_px: np.ndarray, cameras: Sequence[PinholeCamera]) -> np.ndarray:
    """Undistorted normalised image coordinates ``(cams, ..., 2)`` (cv2.undistortPoints, no P)."""
    import cv2

    out = np.full(points_px.shape, np.nan)
    for c, cam in enumerate(cameras):
        flat = points_px[c].reshape(-1, 2).astype(np.float64)
        ok = np.isfinite(flat).all(axis=1)
        res = np.full_like(flat, np.nan)
        if ok.any():
            res[ok] = cv2.undistortPoints(flat[ok].reshape(-1, 1, 2), cam.K, cam.dist).reshape(-1, 2)
        out[c] = res.reshape(points_px[c].shape)
    return out


def _solve(norm: np.ndarray, w: np.ndarray, Rt: np.ndarray) -> np.ndarray:
    """Weighted DLT for N points: ``norm (C, N, 2)``, ``w (C, N)`` (0 = unused), ``Rt (C, 3, 4)``.
    Returns ``(N, 3)``; NaN where fewer than two views have weight."""
    C, N = w.shape
    x = np.nan_to_num(norm[..., 0])
    y = np.nan_to_num(norm[..., 1])
    # rows w * (x P3 - P1), w * (y P3 - P2), per camera: (N, 2C, 4)
    r1 = w[..., None] * (x[..., None] * Rt[:, None, 2] - Rt[:, None, 0])
    r2 = w[..., None] * (y[..., None] * Rt[:, None, 2] - Rt[:, None, 1])
    A = np.concatenate([r1, r2], axis=0).transpose(1, 0, 2)
    out = np.full((N, 3), np.nan)
    ok = (w > 0).sum(axis=0) >= 2
    if ok.any():
        _, _, vt = np.linalg.svd(A[ok])
        h = vt[:, -1, :]
        with np.errstate(divide="ignore", invalid="ignore"):
            out[ok] = h[:, :3] / h[:, 3:4]
    return out


def _view_errors_px(X: np.ndarray, norm: np.ndarray, Rt: np.ndarray, f_px: np.ndarray) -> np.ndarray:
    """Distance (px, in each camera's undistorted image) between ``X (N, 3)`` reprojected and the
    observed points ``norm (C, N, 2)``: ``(C, N)``; NaN where either is missing or X is behind."""
    Xc = np.einsum("cij,nj->cni", Rt[:, :, :3], X) + Rt[:, None, :, 3]
    with np.errstate(divide="ignore", invalid="ignore"):
        proj = Xc[..., :2] / Xc[..., 2:3]
        err = np.linalg.norm(proj - norm, axis=-1) * f_px[:, None]
    err[~(Xc[..., 2] > 0)] = np.nan
    return err


def _worst_view_px(err: np.ndarray, used: np.ndarray) -> np.ndarray:
    """Largest reprojection error (px) over the used views of each point; inf where a used view has none."""
    return np.where(used, np.nan_to_num(err, nan=np.inf), -np.inf).max(axis=0)


def _best_view_to_drop(norm, w, active, Rt, f_px) -> tuple[np.ndarray, np.ndarray]:
    """For each point (columns of ``active``): the view without which the others agree best, and
    the point solved without it (m).

    The view with the largest error in the joint solution is not always the culprit: the
    least-squares point is pulled toward an outlier and the good views' errors grow with it.
    """
    C, n_pts = active.shape
    score = np.full((C, n_pts), np.inf)
    trial_X = np.empty((C, n_pts, 3))
    for c in range(C):
        keep = active.copy()
        can = keep[c].copy()
        keep[c] = False
        Xc = _solve(norm, np.where(keep, w, 0.0), Rt)
        ec = _view_errors_px(Xc, norm, Rt, f_px)
        score[c] = np.where(can, _worst_view_px(ec, keep), np.inf)
        trial_X[c] = Xc
    drop = np.argmin(score, axis=0)
    return drop, trial_X[drop, np.arange(n_pts)]


def triangulate(
    points_px: np.ndarray,
    weights: np.ndarray,
    cameras: Sequence[PinholeCamera],
    *,
    min_weight: float = 0.5,
    max_reproj_px: float = DEFAULT_MAX_REPROJ_PX,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """3D landmarks from several views.

    Parameters
    ----------
    points_px : (cams, frames, landmarks, 2)
        Image points (px, as the camera saw them: distortion is removed here).
    weights : (cams, frames, landmarks)
        Confidence of each point, 0..1 (e.g. MediaPipe visibility); NaN counts as 0.
    cameras : sequence of :class:`PinholeCamera`, one per view, in the same order.
    min_weight : float
        Views whose weight is below this are not used for that point.
    max_reproj_px : float
        While a used view reprojects further than this (px) and more than two views are used,
        the view without which the others agree best is dropped and the point solved again. A point whose remaining views still
        disagree by more than this (mean error) is returned as NaN with ``n_views`` 0. With
        three views of which one is wrong the wrong one cannot always be told (two views agree on
        any point moved along their epipolar line): references need four views or more.

    Returns
    -------
    points_m : (frames, landmarks, 3)
        Lab coordinates (m; the cameras' world frame); NaN where fewer than two views agree.
    reproj_err_px : (frames, landmarks)
        Mean distance (px) between the point reprojected into each used view and that view's
        observation (in the undistorted image: distortion removed from the observation); NaN
        where fewer than two views were usable, over ``max_reproj_px`` where the last views
        disagreed (the point is then NaN).
    n_views : (frames, landmarks) int
        Views used.
    """
    pts = np.asarray(points_px, np.float64)
    w = np.nan_to_num(np.asarray(weights, np.float64), nan=0.0)
    C = len(cameras)
    if pts.ndim != 4 or pts.shape[-1] != 2 or pts.shape[0] != C or w.shape != pts.shape[:-1]:
        raise MovekitError(
            f"triangulate needs points_px (cams, frames, landmarks, 2) and weights "
            f"(cams, frames, landmarks) for {C} cameras; got {pts.shape} and {w.shape}"
        )
    F, L = pts.shape[1:3]
    N = F * L
    Rt = np.stack([np.hstack([cam.R, cam.t[:, None]]) for cam in cameras])
    f_px = np.array([np.sqrt(cam.K[0, 0] * cam.K[1, 1]) for cam in cameras])
    norm = _normalised(pts, cameras).reshape(C, N, 2)
    w = w.reshape(C, N)
    active = (w >= min_weight) & np.isfinite(norm).all(axis=-1)
    wa = np.where(active, w, 0.0)
    X = _solve(norm, wa, Rt)
    err = _view_errors_px(X, norm, Rt, f_px)
    for _ in range(max(0, C - 2)):
        redo = (_worst_view_px(err, active) > max_reproj_px) & (active.sum(axis=0) > 2)
        if not redo.any():
            break
        idx = np.flatnonzero(redo)
        drop, X_dropped = _best_view_to_drop(norm[:, idx], w[:, idx], active[:, idx], Rt, f_px)
        active[drop, idx] = False
        X[idx] = X_dropped
        err[:, idx] = _view_errors_px(X[idx], norm[:, idx], Rt, f_px)
    n = active.sum(axis=0)
    with np.errstate(invalid="ignore"):
        mean_err = np.where(n >= 2, np.nansum(np.where(active, err, 0.0), axis=0) / np.maximum(n, 1), np.nan)
    bad = (n < 2) | ~np.isfinite(X).all(axis=1) | ~(mean_err <= max_reproj_px)
    X[bad] = np.nan
    n = np.where(bad, 0, n)
    return X.reshape(F, L, 3), mean_err.reshape(F, L), n.reshape(F, L).astype(np.int64)


def fix_left_right_swaps(
    points_px: np.ndarray,
    weights: np.ndarray,
    cameras: Sequence[PinholeCamera],
    *,
    min_weight: float = 0.5,
    max_reproj_px: float = DEFAULT_MAX_REPROJ_PX,
    margin: float = 0.7,
    passes: int = 3,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Relabel left/right in the views and frames where the other views say they are swapped.

    For each view and frame, and each group of :data:`SWAP_GROUPS`, the other views are
    triangulated (:func:`triangulate`, so one bad view among them is dropped) and the group's
    points are compared with that triangulation reprojected into this view, as labelled and with
    left and right exchanged (:data:`MIRROR`). The swapped labels are kept when their summed error
    is below ``margin`` times that of the labels as given. Repeated (up to ``passes``) until
    nothing changes, since a swapped view also spoils the others' check.

    Returns
    -------
    points_px, weights : copies with the swaps applied
    swapped : (cams, frames, groups) bool, groups in :data:`SWAP_GROUPS` order
    """
    pts = np.array(points_px, np.float64)
    w = np.nan_to_num(np.array(weights, np.float64), nan=0.0)
    C, F, L = w.shape
    if L != len(MIRROR):
        raise MovekitError(f"left/right swaps need MediaPipe's {len(MIRROR)} landmarks, got {L}")
    groups = list(SWAP_GROUPS.values())
    swapped = np.zeros((C, F, len(groups)), bool)
    if C < 3:
        return pts, w, swapped
    for _ in range(passes):
        changed = False
        for c in range(C):
            others = [o for o in range(C) if o != c]
            X, _, _ = triangulate(
                pts[others], w[others], [cameras[o] for o in others], min_weight=min_weight, max_reproj_px=max_reproj_px
            )
            proj = cameras[c].project(X)  # (F, L, 2)
            ok_w = w[c] >= min_weight
            as_is = np.linalg.norm(pts[c] - proj, axis=-1)
            mirrored = np.linalg.norm(pts[c][:, MIRROR] - proj, axis=-1)
            ok = ok_w & ok_w[:, MIRROR] & np.isfinite(as_is) & np.isfinite(mirrored)
            for g, idx in enumerate(groups):
                usable = ok[:, idx]
                e0 = np.where(usable, as_is[:, idx], 0.0).sum(axis=1)
                e1 = np.where(usable, mirrored[:, idx], 0.0).sum(axis=1)
                flip = (usable.sum(axis=1) >= 2) & (e1 < margin * e0)
                if flip.any():
                    changed = True
                    rows = np.flatnonzero(flip)[:, None]  # each group holds its own mirror images
                    pts[c, rows, idx] = pts[c, rows, MIRROR[idx]]
                    w[c, rows, idx] = w[c, rows, MIRROR[idx]]
                    swapped[c, flip, g] ^= True
        if not changed:
            break
    return pts, w, swapped


__all__ = ["triangulate", "fix_left_right_swaps", "MIRROR", "SWAP_GROUPS", "DEFAULT_MAX_REPROJ_PX"]
