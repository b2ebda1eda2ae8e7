"""Camera extrinsics a clinic can make: from a board seen by the cameras, or from the person.

Two ways (issue 17), both pure functions of detections the edges supply
(:mod:`movekit.capture.board` finds the board, the pose model the keypoints):

* :func:`board_extrinsics`: a ChArUco or checkerboard board seen by every camera. Each
  camera's pose relative to the board comes from :func:`cv2.solvePnP`; the board in the
  reference frame (by default the frame most cameras saw it in: lay it on the floor there)
  *is* the lab frame: origin at the board's first inner corner, x along its first row, z up out
  of its printed face (so the floor plane is z = 0 and z the vertical when it lies on the floor).
  All cameras and the board's other poses are then refined jointly
  (:func:`scipy.optimize.least_squares` on the reprojection error of every corner).
* :func:`keypoint_extrinsics`: the person's 2D keypoints seen synchronously by N cameras (as
  aniposelib and Pose2Sim do; Karashchuk et al. 2021, Cell Rep 36:109730; Pagnon et al. 2022,
  JOSS 7:4362): relative pose of the best camera pair from the essential matrix
  (:func:`cv2.findEssentialMat` with RANSAC, :func:`cv2.recoverPose`; Nister 2004, IEEE TPAMI
  26:756), the other cameras by PnP on the triangulated points, then bundle adjustment of all
  extrinsics and 3D points (robust loss, sparse Jacobian; Triggs et al. 2000, Vision Algorithms:
  Theory and Practice, LNCS 1883:298). Scale from the person's standing height, the vertical
  from the floor the feet walk on (or the standing body's long axis), x toward the subject's
  right.

A third, for a calibration that exists: :func:`refine_rotations` keeps the centres and intrinsics
and corrects each camera's orientation from the person's keypoints (three or more cameras). On the
Pose2Sim rig's Qualisys calibration it turns cam01 and cam03 by 1-2 deg, halves their
leave-one-out reprojection on a trial it did not see, and is what two-camera angles need to agree
with the four-view reference (scripts/diagnose_multiview.py, tests/test_multiview.py).

Quality (:class:`CameraError`): each camera's reprojection error in px (median and 95th
percentile) and in mm at the distance of what it saw (``px * distance / f``, as Pose2Sim's
calibration recap converts it), and for the board the 1-SD uncertainty of the camera centre
(mm) from the Jacobian. A calibration beyond the thresholds below is returned with
``usable=False`` and the reasons (:meth:`ExtrinsicsResult.require_usable` raises them).

Conventions as :mod:`movekit.analysis.cameras`: ``X_cam = R @ X_world + t``, metres, z up.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from scipy.optimize import least_squares
from scipy.sparse import lil_matrix
from scipy.spatial.transform import Rotation

from movekit.analysis.cameras import PinholeCamera
from movekit.errors import MovekitError

log = logging.getLogger(__name__)

#: A board calibration whose median corner residual exceeds this (px) is refused. Detected
#: corners are located to a few tenths of a pixel (OpenCV's ``cornerSubPix``; Zhang 2000, IEEE
#: TPAMI 22:1330 reports ~0.3 px residuals), so a median above 1 px means a wrong intrinsics
#: profile, a board that moved between the cameras' frames or mis-numbered corners.
BOARD_MAX_MEDIAN_PX = 1.0
#: ... and its 95th percentile above this (px): a few corners far off (a wrongly decoded marker).
BOARD_MAX_P95_PX = 3.0
#: A camera whose centre is uncertain by more than this (1 SD, mm, from the Jacobian of the board
#: residuals with corners located to at best 0.5 px) is refused. 10 mm at 3-4 m turns the rays by
#: about 0.2 deg, well under the pose model's own scatter (about 9 px, ~20 mm at 4 m; see
#: :func:`movekit.analysis.cameras.read_qualisys_qca`): above it the board was seen too few
#: times, too small or at too grazing an angle to fix the camera.
BOARD_MAX_CENTRE_SD_MM = 10.0
#: Keypoint bundle adjustment: a camera whose median reprojection error at the subject's
#: distance exceeds this (mm) is refused. The pose model's own landmark scatter is about 9 px on
#: 1920-px frames, ~20 mm at 4 m (measured on Pose2Sim's demo, :func:`read_qualisys_qca`), which
#: a consistent calibration leaves as its residual (measured 12-19 mm median per camera on that rig, see
#: docs/validity.md "Camera calibration"); twice the scatter means the camera does not see the
#: same person at the same instants as the others (wrong camera, wrong sync, another person).
KEYPOINT_MAX_MEDIAN_MM = 40.0
#: ... and in px when no scale is known (the same 2x the model's 9-px scatter).
KEYPOINT_MAX_MEDIAN_PX = 18.0
#: Least observations per camera for either method (corners or keypoints).
MIN_OBSERVATIONS = 20
#: Standing eye height as a fraction of stature, 0.936 (Drillis & Contini 1966, as tabulated by
#: Winter 2009, Biomechanics and Motor Control of Human Movement, 4th ed., Fig. 4.1) (verify).
EYE_HEIGHT_PER_STATURE = 0.936
#: MediaPipe landmark indices used here.
_EYES = (2, 5)
_SHOULDERS = (11, 12)
_HIPS = (23, 24)  # left, right (the subject's)
_FEET = (29, 30, 31, 32)  # heels, foot indices


@dataclass(frozen=True)
class CameraError:
    """One camera's reprojection error after the solve.

    Attributes
    ----------
    name : str
    n_observations : int
        Corners or keypoints used.
    median_px, p95_px : float
        Distance between observed and reprojected points (px), median and 95th percentile.
    median_mm, p95_mm : float
        The same at the distance of each observed point (mm, ``px * depth / f``); NaN when the
        scale is unknown.
    distance_m : float
        Median distance from the camera to what it observed (m; NaN when the scale is unknown).
    centre_sd_mm : float
        1-SD uncertainty of the camera centre (mm, largest axis), board method only, else NaN.
    """

    name: str
    n_observations: int
    median_px: float
    p95_px: float
    median_mm: float
    p95_mm: float
    distance_m: float
    centre_sd_mm: float = math.nan

    def describe(self) -> str:
        mm = "" if math.isnan(self.median_mm) else f" = {self.median_mm:.1f} mm (95th {self.p95_mm:.1f} mm)"
        sd = "" if math.isnan(self.centre_sd_mm) else f", centre +-{self.centre_sd_mm:.1f} mm"
        dist = "" if math.isnan(self.distance_m) else f" at {self.distance_m:.2f} m"
        return (
            f"{self.name}: reprojection median {self.median_px:.2f} px (95th {self.p95_px:.2f} px){mm}{dist}"
            f"{sd}, {self.n_observations} points"
        )


@dataclass(frozen=True)
class ExtrinsicsResult:
    """Solved cameras (lab frame, m, z up) with their errors and the verdict.

    Attributes
    ----------
    cameras : list of PinholeCamera
        The input intrinsics with the solved ``R`` and ``t``.
    errors : list of CameraError
    usable : bool
        False when a threshold of this module was exceeded; ``reasons`` says which.
    reasons : list of str
    method : str
        ``"board"`` or ``"keypoints"``.
    points_m : ndarray or None
        Keypoint method: the bundle-adjusted 3D keypoints (frames used, 33, 3; m, lab frame).
    notes : list of str
        How the lab frame was fixed (which vertical, which scale).
    vertical_from : str
        What gave the lab's vertical: ``"board"`` (the board's face in the reference frame),
        ``"floor board"`` (:func:`align_to_floor_board`) or ``"person"`` (the standing body's
        long axis, :func:`person_lab_frame`; not measured against a true vertical, so the angles
        measured against the vertical are refused with it: :data:`movekit.analysis.cameras.UNMEASURED_VERTICALS`).
    """

    cameras: list[PinholeCamera]
    errors: list[CameraError]
    usable: bool
    reasons: list[str]
    method: str
    points_m: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)
    vertical_from: str = ""

    @property
    def error_px(self) -> float:
        """The worst camera's median reprojection error (px), for the calibration file."""
        return float(max(e.median_px for e in self.errors)) if self.errors else math.nan

    def describe(self) -> str:
        lines = [f"extrinsics from the {self.method}:"] + ["  " + e.describe() for e in self.errors]
        lines += ["  " + n for n in self.notes]
        lines.append("verdict: usable" if self.usable else "verdict: REFUSED: " + "; ".join(self.reasons))
        return "\n".join(lines)

    def require_usable(self) -> ExtrinsicsResult:
        """This result, or a :class:`MovekitError` with the reasons it is refused."""
        if not self.usable:
            raise MovekitError("calibration refused: " + "; ".join(self.reasons))
        return self


# ----------------------------------------------------------------------------- geometry helpers


def _rt_from_params(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(k, 6)`` rotation vectors and translations -> ``R (k, 3, 3)``, ``t (k, 3)``."""
    p = np.asarray(p, np.float64).reshape(-1, 6)
    return Rotation.from_rotvec(p[:, :3]).as_matrix(), p[:, 3:]


def _params_from_rt(R: np.ndarray, t: np.ndarray) -> np.ndarray:
    return np.concatenate([Rotation.from_matrix(R).as_rotvec(), np.asarray(t, np.float64)])


def _project_px(R: np.ndarray, t: np.ndarray, K: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ideal pinhole projection, one camera per row: ``R (n, 3, 3)``, ``t (n, 3)``, ``K (n, 3, 3)``,
    ``X (n, 3)`` -> (px ``(n, 2)``, depth ``(n,)`` m). Observations are undistorted beforehand."""
    Xc = np.einsum("nij,nj->ni", R, X) + t
    z = Xc[:, 2]
    safe = np.where(np.abs(z) < 1e-9, 1e-9, z)
    u = K[:, 0, 0] * Xc[:, 0] / safe + K[:, 0, 2]
    v = K[:, 1, 1] * Xc[:, 1] / safe + K[:, 1, 2]
    return np.stack([u, v], axis=1), z


def rotation_angle_deg(Ra: np.ndarray, Rb: np.ndarray) -> float:
    """Angle (deg) of the rotation taking ``Rb`` to ``Ra`` (geodesic distance on SO(3))."""
    c = (np.trace(np.asarray(Ra) @ np.asarray(Rb).T) - 1.0) / 2.0
    return math.degrees(math.acos(float(np.clip(c, -1.0, 1.0))))


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Least-squares similarity ``dst ~ s * R @ src + t`` (Umeyama 1991, IEEE TPAMI 13:376).

    Parameters
    ----------
    src, dst : (n, 3) corresponding points (n >= 3, not collinear).

    Returns
    -------
    scale, R (3, 3), t (3,)
    """
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    ms, md = src.mean(axis=0), dst.mean(axis=0)
    a, b = src - ms, dst - md
    U, S, Vt = np.linalg.svd(b.T @ a / len(src))
    D = np.eye(3)
    if np.linalg.det(U) * np.linalg.det(Vt) < 0:
        D[2, 2] = -1.0
    R = U @ D @ Vt
    s = float(np.trace(np.diag(S) @ D) / (a**2).sum(axis=1).mean())
    return s, R, md - s * R @ ms


def transform_cameras(
    cameras: Sequence[PinholeCamera], scale: float, R_w: np.ndarray, t_w: np.ndarray
) -> list[PinholeCamera]:
    """The same rig in a new world frame ``X' = scale * R_w @ X + t_w`` (e.g. the output of
    :func:`similarity_transform`): ``R' = R @ R_w.T``, ``t' = scale * t - R' @ t_w``."""
    out = []
    for c in cameras:
        R = c.R @ R_w.T
        out.append(replace(c, R=R, t=scale * c.t - R @ t_w))
    return out


def compare_rigs(estimate: Sequence[PinholeCamera], reference: Sequence[PinholeCamera]) -> dict:
    """How far a solved rig is from a reference one, camera by camera (same order).

    The estimate is first brought onto the reference by the similarity that best maps its
    camera centres onto the reference's (:func:`similarity_transform`); then per camera the
    rotation difference (deg) and the centre distance (mm). Also, without any alignment, the
    angle (deg) between the vertical each camera sees (``R @ z``) in the two rigs, and the ratio
    of the estimate's baselines (camera-to-camera distances) to the reference's.

    Returns
    -------
    dict with ``rotation_deg`` (list), ``centre_mm`` (list), ``vertical_deg`` (list),
    ``baseline_ratio`` (list, one per camera pair), ``scale`` (of the alignment).
    """
    ce = np.array([c.centre_m for c in estimate])
    cr = np.array([c.centre_m for c in reference])
    s, R, t = similarity_transform(ce, cr)
    aligned = transform_cameras(estimate, s, R, t)
    z = np.array([0.0, 0.0, 1.0])
    vert = [
        math.degrees(math.acos(float(np.clip((e.R @ z) @ (r.R @ z), -1.0, 1.0)))) for e, r in zip(estimate, reference)
    ]
    pairs = [(i, j) for i in range(len(ce)) for j in range(i + 1, len(ce))]
    ratio = [float(np.linalg.norm(ce[i] - ce[j]) / np.linalg.norm(cr[i] - cr[j])) for i, j in pairs]
    return {
        "rotation_deg": [rotation_angle_deg(a.R, r.R) for a, r in zip(aligned, reference)],
        "centre_mm": [float(np.linalg.norm(a.centre_m - r.centre_m) * 1000) for a, r in zip(aligned, reference)],
        "vertical_deg": vert,
        "baseline_ratio": ratio,
        "scale": s,
    }


# ----------------------------------------------------------------------------- quality


def _camera_errors(
    names: Sequence[str], cam_idx: np.ndarray, resid_px: np.ndarray, depth_m: np.ndarray, f_px: np.ndarray, scaled: bool
) -> list[CameraError]:
    out = []
    for c, name in enumerate(names):
        sel = cam_idx == c
        if not sel.any():
            out.append(CameraError(name, 0, math.nan, math.nan, math.nan, math.nan, math.nan))
            continue
        e = resid_px[sel]
        mm = e * depth_m[sel] / f_px[c] * 1000.0
        out.append(
            CameraError(
                name,
                int(sel.sum()),
                float(np.median(e)),
                float(np.percentile(e, 95)),
                float(np.median(mm)) if scaled else math.nan,
                float(np.percentile(mm, 95)) if scaled else math.nan,
                float(np.median(depth_m[sel])) if scaled else math.nan,
            )
        )
    return out


def _verdict_board(errors: Sequence[CameraError]) -> list[str]:
    reasons = []
    for e in errors:
        if e.n_observations < MIN_OBSERVATIONS:
            reasons.append(f"{e.name} saw {e.n_observations} board corners (< {MIN_OBSERVATIONS})")
        if e.median_px > BOARD_MAX_MEDIAN_PX or e.p95_px > BOARD_MAX_P95_PX:
            reasons.append(
                f"{e.name} reprojects the board {e.median_px:.2f} px median / {e.p95_px:.2f} px 95th "
                f"(limits {BOARD_MAX_MEDIAN_PX} / {BOARD_MAX_P95_PX} px: wrong intrinsics, a moving board "
                "or misread corners)"
            )
        if not e.centre_sd_mm <= BOARD_MAX_CENTRE_SD_MM:
            reasons.append(
                f"{e.name}'s position is uncertain by {e.centre_sd_mm:.0f} mm (> {BOARD_MAX_CENTRE_SD_MM:.0f} mm): "
                "show it the board in more frames, nearer or less obliquely"
            )
    return reasons


def _verdict_keypoints(errors: Sequence[CameraError]) -> list[str]:
    reasons = []
    for e in errors:
        if e.n_observations < MIN_OBSERVATIONS:
            reasons.append(f"{e.name} shares {e.n_observations} keypoints with the others (< {MIN_OBSERVATIONS})")
        elif not math.isnan(e.median_mm) and e.median_mm > KEYPOINT_MAX_MEDIAN_MM:
            reasons.append(
                f"{e.name} reprojects the person {e.median_mm:.0f} mm median (> {KEYPOINT_MAX_MEDIAN_MM:.0f} mm, "
                "twice the pose model's own scatter): not the same person at the same instants as the others?"
            )
        elif math.isnan(e.median_mm) and e.median_px > KEYPOINT_MAX_MEDIAN_PX:
            reasons.append(f"{e.name} reprojects the person {e.median_px:.0f} px median (> {KEYPOINT_MAX_MEDIAN_PX})")
    return reasons


# ----------------------------------------------------------------------------- board


@dataclass
class _BoardObs:
    """Flattened board observations: camera and frame index, board point (lab coordinates of the
    board at rest), undistorted px."""

    cam: np.ndarray
    frame: np.ndarray
    point: np.ndarray
    px: np.ndarray
    frames: list  # frame keys in index order


def board_lab_points(board_points_m: np.ndarray) -> np.ndarray:
    """Board object points (OpenCV's board frame: x along the first row, y down the printed
    page, z into it) in the lab frame the board defines: origin at the first point, x as the
    board's, z out of the printed face (up when the board lies face up on the floor)."""
    b = np.asarray(board_points_m, np.float64)
    return (b - b[0]) * np.array([1.0, -1.0, -1.0])


def _board_observations(
    cameras: Sequence[PinholeCamera], detections: Sequence[Mapping], lab_points: np.ndarray, min_corners: int
) -> _BoardObs:
    frames = sorted({f for det in detections for f in det}, key=lambda k: (str(type(k)), k))
    fidx = {f: i for i, f in enumerate(frames)}
    cam, frame, point, px = [], [], [], []
    for c, (camera, det) in enumerate(zip(cameras, detections)):
        for f, (ids, uv) in det.items():
            ids = np.asarray(ids, np.int64).ravel()
            uv = np.asarray(uv, np.float64).reshape(-1, 2)
            ok = (ids >= 0) & (ids < len(lab_points)) & np.isfinite(uv).all(axis=1)
            if ok.sum() < min_corners:
                continue
            cam += [c] * int(ok.sum())
            frame += [fidx[f]] * int(ok.sum())
            point.append(lab_points[ids[ok]])
            px.append(camera.undistort(uv[ok]))
    if not cam:
        raise MovekitError("no camera saw the board in any frame (or never with enough corners)")
    return _BoardObs(np.array(cam), np.array(frame), np.concatenate(point), np.concatenate(px), frames)


def _pnp_poses(cameras: Sequence[PinholeCamera], obs: _BoardObs) -> dict[tuple[int, int], tuple]:
    """Board-to-camera pose ``(R, t)`` for every (camera, frame) that saw the board."""
    import cv2

    out = {}
    for c, f in sorted(set(zip(obs.cam.tolist(), obs.frame.tolist()))):
        sel = (obs.cam == c) & (obs.frame == f)
        ok, rvec, tvec = cv2.solvePnP(obs.point[sel], obs.px[sel], cameras[c].K, None, flags=cv2.SOLVEPNP_IPPE)
        if ok:
            out[(c, f)] = (cv2.Rodrigues(rvec)[0], tvec.ravel())
    return out


def _chain_poses(pnp: dict, n_cams: int, reference: int) -> tuple[dict, dict]:
    """Camera poses (lab -> camera) and board poses (board-at-frame -> lab) by walking the
    camera/frame graph from the reference frame (identity)."""
    cams: dict[int, tuple] = {}
    frames: dict[int, tuple] = {reference: (np.eye(3), np.zeros(3))}
    changed = True
    while changed:
        changed = False
        for (c, f), (Rcf, tcf) in pnp.items():
            if f in frames and c not in cams:
                Rf, tf = frames[f]
                Rc = Rcf @ Rf.T
                cams[c] = (Rc, tcf - Rc @ tf)
                changed = True
            elif c in cams and f not in frames:
                Rc, tc = cams[c]
                frames[f] = (Rc.T @ Rcf, Rc.T @ (tcf - tc))
                changed = True
    missing = [c for c in range(n_cams) if c not in cams]
    if missing:
        raise MovekitError(
            f"camera(s) {missing} never saw the board at the same time as the others: no pose links them to the lab"
        )
    return cams, frames


def _board_residuals(p: np.ndarray, obs: _BoardObs, K: np.ndarray, n_cams: int, frame_slot: np.ndarray, ref: int):
    Rc, tc = _rt_from_params(p[: 6 * n_cams])
    Rf, tf = _rt_from_params(p[6 * n_cams :])
    Rf = np.concatenate([np.eye(3)[None], Rf])  # slot 0: the reference frame, fixed
    tf = np.concatenate([np.zeros((1, 3)), tf])
    slot = frame_slot[obs.frame]
    X = np.einsum("nij,nj->ni", Rf[slot], obs.point) + tf[slot]
    uv, _ = _project_px(Rc[obs.cam], tc[obs.cam], K[obs.cam], X)
    return (uv - obs.px).ravel()


def _board_sparsity(obs: _BoardObs, n_cams: int, frame_slot: np.ndarray, n_params: int):
    A = lil_matrix((2 * len(obs.cam), n_params), dtype=np.int8)
    rows = np.arange(len(obs.cam))
    slot = frame_slot[obs.frame]
    for k in range(6):
        for r in (0, 1):
            A[2 * rows + r, 6 * obs.cam + k] = 1
            moving = slot > 0
            A[2 * rows[moving] + r, 6 * n_cams + 6 * (slot[moving] - 1) + k] = 1
    return A


def _centre_sd_mm(p_cam: np.ndarray, fun, sigma_px: float) -> float:
    """1-SD uncertainty (mm, largest axis) of a camera centre from the Jacobian of its own
    residuals ``fun(p_cam)`` (px) with everything else held: ``sigma^2 (J^T J)^-1`` mapped
    through ``centre = -R.T @ t`` by finite differences."""
    h = 1e-6
    r0 = fun(p_cam)
    J = np.stack([(fun(p_cam + h * e) - r0) / h for e in np.eye(6)], axis=1)

    def centre(q):
        R, t = _rt_from_params(q)
        return -R[0].T @ t[0]

    c0 = centre(p_cam)
    G = np.stack([(centre(p_cam + h * e) - c0) / h for e in np.eye(6)], axis=1)
    try:
        cov = sigma_px**2 * np.linalg.inv(J.T @ J)
    except np.linalg.LinAlgError:
        return math.inf
    ev = np.linalg.eigvalsh(G @ cov @ G.T)
    return float(math.sqrt(max(ev.max(), 0.0)) * 1000.0)


def board_extrinsics(
    cameras: Sequence[PinholeCamera],
    detections: Sequence[Mapping],
    board_points_m: np.ndarray,
    *,
    reference_frame=None,
    min_corners: int = 6,
    corner_sd_px: float = 0.5,
) -> ExtrinsicsResult:
    """Extrinsics of every camera from a board seen by all of them.

    Parameters
    ----------
    cameras : sequence of PinholeCamera
        Intrinsics (``K``, ``dist``, size) of each camera; their ``R``, ``t`` are ignored.
    detections : sequence of mappings, one per camera
        ``{frame_key: (ids (n,), corners_px (n, 2))}``: the board corners each camera found in
        each synchronised frame (the same key = the same instant; :mod:`movekit.capture.board`).
    board_points_m : (n_ids, 3)
        Every corner id's position on the board (m, OpenCV board frame, z = 0).
    reference_frame : frame key, optional
        The frame whose board pose defines the lab (lay the board on the floor there). Default:
        the frame seen by the most cameras (the earliest among equals).
    min_corners : int
        A (camera, frame) with fewer corners is not used.
    corner_sd_px : float
        Floor on the corner noise (px) for the camera-centre uncertainty (the residual's RMS is
        used when larger).

    Returns
    -------
    ExtrinsicsResult
        ``usable=False`` with the reasons past :data:`BOARD_MAX_MEDIAN_PX`,
        :data:`BOARD_MAX_P95_PX`, :data:`BOARD_MAX_CENTRE_SD_MM` or :data:`MIN_OBSERVATIONS`.

    Raises
    ------
    MovekitError
        A camera count mismatch, no detections, or a camera never linked to the lab frame.
    """
    if len(detections) != len(cameras):
        raise MovekitError(f"{len(cameras)} cameras but board detections for {len(detections)}")
    lab = board_lab_points(board_points_m)
    obs = _board_observations(cameras, detections, lab, min_corners)
    pnp = _pnp_poses(cameras, obs)
    ref = _reference_index(obs, reference_frame)
    cams, frames = _chain_poses(pnp, len(cameras), ref)
    keep = np.isin(obs.frame, list(frames))
    obs = _BoardObs(obs.cam[keep], obs.frame[keep], obs.point[keep], obs.px[keep], obs.frames)
    others = sorted(f for f in frames if f != ref)
    frame_slot = np.zeros(len(obs.frames), np.int64)
    frame_slot[others] = np.arange(1, len(others) + 1)
    p0 = np.concatenate(
        [_params_from_rt(*cams[c]) for c in range(len(cameras))] + [_params_from_rt(*frames[f]) for f in others]
    )
    K = np.stack([c.K for c in cameras])
    sparsity = _board_sparsity(obs, len(cameras), frame_slot, p0.size)
    sol = least_squares(
        _board_residuals,
        p0,
        jac_sparsity=sparsity,
        x_scale="jac",
        method="trf",
        args=(obs, K, len(cameras), frame_slot, ref),
    )
    return _board_result(cameras, sol.x, obs, K, frame_slot, ref, corner_sd_px)


def _reference_index(obs: _BoardObs, reference_frame) -> int:
    if reference_frame is not None:
        if reference_frame not in obs.frames:
            raise MovekitError(f"reference frame {reference_frame!r}: no camera saw the board there")
        return obs.frames.index(reference_frame)
    n_cams = [len(set(obs.cam[obs.frame == f].tolist())) for f in range(len(obs.frames))]
    return int(np.argmax(n_cams))


def _board_result(cameras, p, obs, K, frame_slot, ref, corner_sd_px) -> ExtrinsicsResult:
    n = len(cameras)
    r = _board_residuals(p, obs, K, n, frame_slot, ref).reshape(-1, 2)
    e = np.linalg.norm(r, axis=1)
    Rc, tc = _rt_from_params(p[: 6 * n])
    Rf, tf = _rt_from_params(p[6 * n :])
    Rf = np.concatenate([np.eye(3)[None], Rf])
    tf = np.concatenate([np.zeros((1, 3)), tf])
    slot = frame_slot[obs.frame]
    X = np.einsum("nij,nj->ni", Rf[slot], obs.point) + tf[slot]
    depth = np.linalg.norm(np.einsum("nij,nj->ni", Rc[obs.cam], X) + tc[obs.cam], axis=1)
    f_px = np.sqrt(K[:, 0, 0] * K[:, 1, 1])
    solved = [replace(c, R=Rc[i], t=tc[i]) for i, c in enumerate(cameras)]
    errors = _camera_errors([c.name for c in cameras], obs.cam, e, depth, f_px, scaled=True)
    for i in range(n):
        sel = obs.cam == i
        sub = _BoardObs(np.zeros(sel.sum(), np.int64), obs.frame[sel], obs.point[sel], obs.px[sel], obs.frames)

        def fun(q, i=i, sub=sub):  # camera i as the only camera of its own residuals
            return _board_residuals(np.concatenate([q, p[6 * n :]]), sub, K[i : i + 1], 1, frame_slot, ref)

        sigma = max(corner_sd_px, float(np.sqrt(np.mean(e[sel] ** 2))) if sel.any() else corner_sd_px)
        sd = _centre_sd_mm(p[6 * i : 6 * i + 6], fun, sigma) if sel.sum() >= 4 else math.inf
        errors[i] = replace(errors[i], centre_sd_mm=sd)
    reasons = _verdict_board(errors)
    notes = [
        f"lab frame: the board in frame {obs.frames[ref]!r} (origin at its first inner corner, z out of its face: "
        "the floor and the vertical when it lies on the floor); "
        f"{len(obs.frames)} board frames, {len(frame_slot[frame_slot > 0])} refined besides it"
    ]
    return ExtrinsicsResult(solved, errors, not reasons, reasons, "board", None, notes, vertical_from="board")


# ----------------------------------------------------------------------------- keypoints


def _normalised(px: np.ndarray, K: np.ndarray) -> np.ndarray:
    """Undistorted px ``(..., 2)`` -> normalised image coordinates (``K^-1``)."""
    return (px - K[:2, 2]) / np.array([K[0, 0], K[1, 1]])


def _pair_pose(ua: np.ndarray, ub: np.ndarray, Ka: np.ndarray, Kb: np.ndarray, threshold_px: float):
    """Relative pose of camera b to camera a (``X_b = R @ X_a + t``, ``|t| = 1``) from matched
    undistorted points ``(n, 2)`` px, with the RANSAC inlier count and the median parallax (deg)."""
    import cv2

    na, nb = _normalised(ua, Ka), _normalised(ub, Kb)
    f = math.sqrt(Ka[0, 0] * Kb[1, 1])
    E, mask = cv2.findEssentialMat(na, nb, np.eye(3), method=cv2.RANSAC, prob=0.999, threshold=threshold_px / f)
    if E is None or E.shape[0] < 3:
        return None
    n_in, R, t, mask = cv2.recoverPose(E[:3], na, nb, np.eye(3), mask=mask)
    ra = np.column_stack([na, np.ones(len(na))])
    rb = np.column_stack([nb, np.ones(len(nb))]) @ R  # b's rays in a's frame
    cosang = np.sum(ra * rb, axis=1) / np.linalg.norm(ra, axis=1) / np.linalg.norm(rb, axis=1)
    angle = np.degrees(np.arccos(np.clip(cosang, -1, 1)))
    parallax = float(np.median(np.minimum(angle, 180.0 - angle)))  # rays near-collinear either way
    return R, t.ravel(), int(n_in), parallax


def _pinholes(cameras: Sequence[PinholeCamera], poses: Mapping[int, tuple]) -> list[PinholeCamera]:
    """Distortion-free copies (observations are undistorted) with the given poses."""
    return [replace(cameras[c], dist=np.zeros(5), R=poses[c][0], t=poses[c][1]) for c in sorted(poses)]


def _triangulate_registered(pts, mask, cameras, poses, max_reproj_px):
    from movekit.analysis.triangulation import triangulate

    idx = sorted(poses)
    X, _, _ = triangulate(pts[idx], mask[idx].astype(float), _pinholes(cameras, poses), max_reproj_px=max_reproj_px)
    return X


def _candidate_pairs(pts, mask, cameras, threshold_px) -> list[tuple]:
    """Every camera pair sharing enough keypoints, with its relative pose from the essential
    matrix, most RANSAC inliers first (pairs without real parallax left out)."""
    out = []
    C = len(cameras)
    for a in range(C):
        for b in range(a + 1, C):
            both = mask[a] & mask[b]
            if both.sum() < MIN_OBSERVATIONS:
                continue
            got = _pair_pose(pts[a][both], pts[b][both], cameras[a].K, cameras[b].K, threshold_px)
            if got is not None and got[3] >= 3.0:
                out.append((a, b, got, got[2] / int(both.sum())))
    if not out:
        raise MovekitError("no two cameras see enough of the person at the same instants (or from different places)")
    return sorted(out, key=lambda p: -p[2][2])


def _initial_poses(pts, mask, cameras, pair, threshold_px, max_reproj_px) -> dict:
    """Poses of every camera in the pair's first camera's frame (scale: the pair's baseline = 1),
    the others placed one by one by PnP (RANSAC) on the points triangulated so far."""
    import cv2

    a, b, (R, t, _, _), _ = pair
    poses = {a: (np.eye(3), np.zeros(3)), b: (R, t)}
    todo = [c for c in range(len(cameras)) if c not in poses]
    while todo:
        X = _triangulate_registered(pts, mask, cameras, poses, max_reproj_px)
        shared = [int((mask[c] & np.isfinite(X[..., 0])).sum()) for c in todo]
        c = todo[int(np.argmax(shared))]
        sel = mask[c] & np.isfinite(X[..., 0])
        if sel.sum() < MIN_OBSERVATIONS:
            raise MovekitError(f"camera {cameras[c].name!r} shares too few keypoints with the others to be placed")
        ok, rvec, tvec, _ = cv2.solvePnPRansac(
            X[sel], pts[c][sel], cameras[c].K, None, reprojectionError=threshold_px, iterationsCount=500
        )
        if not ok:
            raise MovekitError(f"camera {cameras[c].name!r} could not be placed from the person's keypoints")
        poses[c] = (cv2.Rodrigues(rvec)[0], tvec.ravel())
        todo.remove(c)
    return poses


def _solve_from_pair(pts, mask, cameras, pair, ransac_px, robust_px):
    """One start of the keypoint solve: initial poses from ``pair``, left/right labels fixed by
    the other views, bundle adjustment. Returns (score px, poses, points, pts, mask): the score
    is the mean reprojection error of every observation, each capped at 5x ``robust_px`` (an
    untriangulated point counts as capped), so starts that explain more of the data win."""
    from movekit.analysis.triangulation import fix_left_right_swaps

    try:
        poses = _initial_poses(pts, mask, cameras, pair, ransac_px, 4 * ransac_px)
    except MovekitError as exc:
        log.debug("start %s: %s", pair[:2], exc)
        return None
    if len(cameras) >= 3:  # left/right labels each view swapped, judged by the others
        pts, w, _ = fix_left_right_swaps(
            pts, mask.astype(float), _pinholes(cameras, poses), max_reproj_px=4 * ransac_px
        )
        mask = w >= 0.5
    X0 = _triangulate_registered(pts, mask, cameras, poses, 4 * ransac_px)
    poses, X = _bundle_adjust(pts, mask, cameras, poses, X0, pair[0], pair[1], robust_px)
    solved = [replace(c, R=poses[i][0], t=poses[i][1]) for i, c in enumerate(cameras)]
    cap = 5 * robust_px
    e = np.full(mask.shape, cap)
    for c, cam in enumerate(solved):
        proj, _ = _project_px(
            np.broadcast_to(cam.R, (*X.shape[:2], 3, 3)).reshape(-1, 3, 3),
            np.broadcast_to(cam.t, (*X.shape[:2], 3)).reshape(-1, 3),
            np.broadcast_to(cam.K, (*X.shape[:2], 3, 3)).reshape(-1, 3, 3),
            X.reshape(-1, 3),
        )
        e[c] = np.minimum(np.nan_to_num(np.linalg.norm(proj.reshape(pts[c].shape) - pts[c], axis=-1), nan=cap), cap)
    return float(e[mask].mean()), poses, X, pts, mask


def _ba_residuals(p, cam, point, uv, K, fixed, n_cams, gauge):
    """Bundle-adjustment residuals (px): every observation, then the scale gauge."""
    cams = p[: 6 * (n_cams - 1)].reshape(-1, 6)
    cams = np.insert(cams, fixed, np.zeros(6), axis=0)  # the fixed camera: identity pose
    R, t = _rt_from_params(cams)
    X = p[6 * (n_cams - 1) :].reshape(-1, 3)
    pred, _ = _project_px(R[cam], t[cam], K[cam], X[point])
    b, weight = gauge
    gauge_r = weight * (np.linalg.norm(-R[b].T @ t[b]) - 1.0)
    return np.concatenate([(pred - uv).ravel(), [gauge_r]])


def _ba_sparsity(cam, point, fixed, n_cams, n_points, gauge_cam):
    n_obs = len(cam)
    A = lil_matrix((2 * n_obs + 1, 6 * (n_cams - 1) + 3 * n_points), dtype=np.int8)
    rows = np.arange(n_obs)
    slot = cam - (cam > fixed)  # parameter slot of each camera (the fixed one has none)
    free = cam != fixed
    for r in (0, 1):
        for k in range(6):
            A[2 * rows[free] + r, 6 * slot[free] + k] = 1
        for k in range(3):
            A[2 * rows + r, 6 * (n_cams - 1) + 3 * point + k] = 1
    gslot = gauge_cam - (gauge_cam > fixed)
    A[2 * n_obs, 6 * gslot : 6 * gslot + 6] = 1
    return A


def _one_blas_thread():
    """BLAS limited to one thread (threadpoolctl, when installed). The solver's sparse LSMR
    steps are thousands of vector products just long enough for OpenBLAS to split them over
    threads; on a busy 2-core machine the threads wait on each other (measured: 6x the CPU time
    and 10x the wall time of one thread for the same result)."""
    import contextlib

    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - the optional speed-up only
        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")


def _bundle_adjust(pts, mask, cameras, poses, X0, fixed, gauge_cam, robust_px, max_nfev=50, ftol=1e-5):
    """Jointly refine all poses but ``fixed``'s and the 3D points (soft-L1 loss at ``robust_px``)."""
    n_cams = len(cameras)
    have = np.isfinite(X0[..., 0])
    point_id = -np.ones(have.shape, np.int64)
    point_id[have] = np.arange(int(have.sum()))
    obs = mask & have[None]
    cam = np.nonzero(obs)[0]
    point = point_id[obs.nonzero()[1:]]
    uv = pts[obs]
    K = np.stack([c.K for c in cameras])
    p0 = np.concatenate([_params_from_rt(*poses[c]) for c in range(n_cams) if c != fixed] + [X0[have].ravel()])
    with _one_blas_thread():
        sol = least_squares(
            _ba_residuals,
            p0,
            jac_sparsity=_ba_sparsity(cam, point, fixed, n_cams, int(have.sum()), gauge_cam),
            loss="soft_l1",
            f_scale=robust_px,
            x_scale="jac",
            method="trf",
            max_nfev=max_nfev,
            ftol=ftol,
            args=(cam, point, uv, K, fixed, n_cams, (gauge_cam, 1000.0)),
        )
    camp = np.insert(sol.x[: 6 * (n_cams - 1)].reshape(-1, 6), fixed, np.zeros(6), axis=0)
    R, t = _rt_from_params(camp)
    X = np.full(X0.shape, np.nan)
    X[have] = sol.x[6 * (n_cams - 1) :].reshape(-1, 3)
    log.debug("bundle adjustment: %d observations, %s, cost %.1f", len(cam), sol.message, sol.cost)
    return {c: (R[c], t[c]) for c in range(n_cams)}, X


def _mid(points: np.ndarray, idx: Sequence[int]) -> np.ndarray:
    return np.mean(points[:, list(idx)], axis=1)


def _vertical(points: np.ndarray, body_len: float) -> tuple[np.ndarray, str]:
    """Up direction: the floor the feet stand on when they cover an area (walking about),
    else the standing body's long axis (mid-ankles to mid-shoulders, median over frames)."""
    axis = _mid(points, _SHOULDERS) - _mid(points, (27, 28))
    axis = axis[np.isfinite(axis).all(axis=1)]
    if len(axis) == 0:
        raise MovekitError("the person's shoulders and ankles were never triangulated: no vertical")
    up0 = np.median(axis / np.linalg.norm(axis, axis=1, keepdims=True), axis=0)
    up0 /= np.linalg.norm(up0)
    feet = points[:, list(_FEET)]
    h = np.where(np.isfinite(feet[..., 0]), feet @ up0, np.inf)
    ok = np.isfinite(h.min(axis=1))
    low = feet[np.flatnonzero(ok), np.argmin(h[ok], axis=1)]  # the lowest foot point per frame
    if len(low) >= 10:
        centred = low - np.median(low, axis=0)
        for _ in range(3):  # plane fit, then again without the feet clearly off the floor
            _, s, vt = np.linalg.svd(centred - centred.mean(axis=0), full_matrices=False)
            normal = vt[2] * np.sign(vt[2] @ up0)
            off = np.abs((centred - centred.mean(axis=0)) @ normal)
            keep = off <= max(0.02 * body_len, np.percentile(off, 80))
            centred = centred[keep]
        spread = s[1] / math.sqrt(len(centred))
        if spread > 0.1 * body_len and math.degrees(math.acos(min(1.0, float(normal @ up0)))) < 20:
            return normal, f"the vertical: normal of the floor the feet walked on ({len(centred)} foot contacts)"
    return up0, "the vertical: the standing body's long axis (the feet did not cover enough floor for a plane)"


def person_lab_frame(
    points_m: np.ndarray, height_m: float | None = None
) -> tuple[float, np.ndarray, np.ndarray, list[str]]:
    """The lab frame the person defines: z up, origin on the floor below the mean mid-hip,
    x toward the subject's right in the first frames, and the scale from their height.

    Parameters
    ----------
    points_m : (frames, 33, 3) triangulated MediaPipe landmarks (any scale).
    height_m : float, optional
        Standing height (m). The triangulated eye height above the floor (90th percentile over
        frames: the upright frames) is taken as :data:`EYE_HEIGHT_PER_STATURE` of it. Without it
        the scale is left as it is.

    Returns
    -------
    scale, R_w, t_w, notes
        The similarity ``X_lab = scale * R_w @ X + t_w`` (see :func:`transform_cameras`).
    """
    P = np.asarray(points_m, np.float64)
    body = np.linalg.norm(_mid(P, _SHOULDERS) - _mid(P, (27, 28)), axis=1)
    body_len = float(np.nanmedian(body))
    if not math.isfinite(body_len) or body_len <= 0:
        raise MovekitError("the person's shoulders and ankles were never triangulated")
    up, how = _vertical(P, body_len)
    feet_h = np.nanmin(P[:, list(_FEET)] @ up, axis=1)
    floor = float(np.nanmedian(feet_h))
    eye = float(np.nanpercentile(_mid(P, _EYES) @ up - floor, 90))
    scale, notes = 1.0, [how]
    if height_m is not None:
        if not (0.5 <= height_m <= 2.5):
            raise MovekitError(f"height {height_m} m is not a person's standing height (0.5-2.5 m)")
        scale = EYE_HEIGHT_PER_STATURE * height_m / eye
        notes.append(
            f"the scale: eye height {EYE_HEIGHT_PER_STATURE * height_m:.3f} m = {EYE_HEIGHT_PER_STATURE} x the "
            f"stated {height_m:.2f} m stature (Drillis & Contini 1966)"
        )
    else:
        notes.append("the scale: unknown (no height given): distances are in arbitrary units, mm not reported")
    lr = P[:, _HIPS[1]] - P[:, _HIPS[0]]
    lr = lr[np.isfinite(lr).all(axis=1)][:10]
    if len(lr) == 0:
        raise MovekitError("the person's hips were never triangulated: no left-right direction for the lab frame")
    x = np.median(lr, axis=0)
    x = x - (x @ up) * up
    x /= np.linalg.norm(x)
    R_w = np.stack([x, np.cross(up, x), up])
    hips = _mid(P, _HIPS)
    origin = np.nanmean(hips, axis=0)
    origin = origin - (origin @ up - floor) * up
    return scale, R_w, -scale * R_w @ origin, notes


def _keypoint_errors(cameras, pts, mask, X, scaled) -> list[CameraError]:
    have = np.isfinite(X[..., 0])
    obs = mask & have[None]
    cam = np.nonzero(obs)[0]
    Xo = X[obs.nonzero()[1:]]
    R = np.stack([c.R for c in cameras])[cam]
    t = np.stack([c.t for c in cameras])[cam]
    K = np.stack([c.K for c in cameras])[cam]
    pred, _ = _project_px(R, t, K, Xo)
    depth = np.linalg.norm(np.einsum("nij,nj->ni", R, Xo) + t, axis=1)
    f = np.array([math.sqrt(c.K[0, 0] * c.K[1, 1]) for c in cameras])
    e = np.linalg.norm(pred - pts[obs], axis=1)
    return _camera_errors([c.name for c in cameras], cam, e, depth, f, scaled)


def _keypoint_observations(
    cameras: Sequence[PinholeCamera], keypoints_px, visibility, min_visibility: float, max_frames: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The frames used (evenly spread), their undistorted keypoints ``(cams, frames, 33, 2)`` px
    and the mask of usable observations; checks the shapes."""
    kp = np.asarray(keypoints_px, np.float64)
    vis = np.nan_to_num(np.asarray(visibility, np.float64), nan=0.0)
    C = len(cameras)
    if C < 2 or kp.ndim != 4 or kp.shape[0] != C or kp.shape[-1] != 2 or vis.shape != kp.shape[:-1]:
        raise MovekitError(
            f"keypoint calibration needs 2+ cameras, keypoints (cams, frames, 33, 2) and visibility "
            f"(cams, frames, 33); got {C} cameras, {kp.shape}, {vis.shape}"
        )
    frames = np.unique(np.linspace(0, kp.shape[1] - 1, min(kp.shape[1], max_frames)).round().astype(int))
    pts = np.stack([cam.undistort(kp[c, frames]) for c, cam in enumerate(cameras)])
    mask = (vis[:, frames] >= min_visibility) & np.isfinite(pts).all(axis=-1)
    return frames, pts, mask


def _best_start(
    pts: np.ndarray,
    mask: np.ndarray,
    cameras: Sequence[PinholeCamera],
    ransac_px: float,
    robust_px: float,
    max_starts: int,
) -> tuple:
    """Solve from up to ``max_starts`` starting pairs; the solve that reprojects best, with its pair."""
    best = None
    for pair in _candidate_pairs(pts, mask, cameras, ransac_px)[:max_starts]:
        got = _solve_from_pair(pts, mask, cameras, pair, ransac_px, robust_px)
        if got is None:
            continue
        log.info("start %s-%s: score %.2f px", cameras[pair[0]].name, cameras[pair[1]].name, got[0])
        if best is None or got[0] < best[0]:
            best = (*got, pair)
    if best is None:
        raise MovekitError("the cameras could not be placed from the person's keypoints from any starting pair")
    return best


def keypoint_extrinsics(
    cameras: Sequence[PinholeCamera],
    keypoints_px: np.ndarray,
    visibility: np.ndarray,
    *,
    height_m: float | None = None,
    min_visibility: float = 0.5,
    max_frames: int = 60,
    ransac_px: float = 10.0,
    robust_px: float = 8.0,
    max_starts: int = 6,
) -> ExtrinsicsResult:
    """Extrinsics from one person's keypoints seen synchronously by every camera.

    Parameters
    ----------
    cameras : sequence of PinholeCamera
        Intrinsics of each camera (``R``, ``t`` ignored).
    keypoints_px : (cams, frames, 33, 2)
        MediaPipe image landmarks (px, as the cameras saw them), frame ``i`` the same instant in
        every camera.
    visibility : (cams, frames, 33)
        The model's visibility; points below ``min_visibility`` are not used.
    height_m : float, optional
        The person's standing height (m) for the scale (:func:`person_lab_frame`); without it
        the rig has an arbitrary scale and no mm figures.
    max_frames : int
        Frames used, evenly spread (the bundle adjustment grows with them; 60 frames of 33
        landmarks in 4 cameras take a few seconds).
    ransac_px, robust_px : float
        RANSAC inlier threshold for the essential matrix and PnP, and the scale of the soft-L1
        loss of the bundle adjustment (px): about the pose model's scatter (9 px).
    max_starts : int
        Camera pairs tried as the starting pair (most essential-matrix inliers first); the
        solve that reprojects all observations best is kept (an essential matrix from a
        person's keypoints can be 10-40 deg off, and the bundle adjustment does not always
        recover from a bad start).

    Returns
    -------
    ExtrinsicsResult
        ``points_m`` the refined keypoints of the frames used; ``usable=False`` past
        :data:`KEYPOINT_MAX_MEDIAN_MM` (or :data:`KEYPOINT_MAX_MEDIAN_PX` without a scale) or
        :data:`MIN_OBSERVATIONS`.
    """
    frames, pts, mask = _keypoint_observations(cameras, keypoints_px, visibility, min_visibility, max_frames)
    _, poses, X, pts, mask, (a, b, _, inliers) = _best_start(pts, mask, cameras, ransac_px, robust_px, max_starts)
    scale, R_w, t_w, notes = person_lab_frame(X, height_m)
    solved = transform_cameras(
        [replace(c, R=poses[i][0], t=poses[i][1]) for i, c in enumerate(cameras)], scale, R_w, t_w
    )
    X = scale * X @ R_w.T + t_w
    errors = _keypoint_errors(solved, pts, mask, X, scaled=height_m is not None)
    reasons = _verdict_keypoints(errors)
    if inliers < 0.4:
        reasons.append(
            f"only {inliers:.0%} of the keypoints {cameras[a].name} and {cameras[b].name} share fit one relative pose"
        )
    notes.insert(
        0, f"initial pair {cameras[a].name}-{cameras[b].name} ({inliers:.0%} RANSAC inliers), {len(frames)} frames"
    )
    return ExtrinsicsResult(solved, errors, not reasons, reasons, "keypoints", X, notes, vertical_from="person")


def align_to_floor_board(
    result: ExtrinsicsResult, detections: Sequence[tuple | None], board_points_m: np.ndarray
) -> ExtrinsicsResult:
    """Put a solved rig (e.g. from the person) into the frame of a board lying on the floor.

    The person gives the vertical only to several degrees (a body leans; feet that stay on a
    line do not fix a plane); a board on the floor seen by one camera fixes it to a fraction of
    a degree. Each camera that saw the board (``detections[i]`` = ``(ids, corners_px)`` or None)
    gives its pose relative to the board (:func:`cv2.solvePnP`); the one with the most corners
    sets the rotation and the origin (the board's first inner corner, z out of its face), and
    with two or more the scale comes from their distance apart (else the rig's own is kept).

    Raises
    ------
    MovekitError
        No camera saw the board.
    """
    import cv2

    lab = board_lab_points(board_points_m)
    seen = []
    for i, (cam, det) in enumerate(zip(result.cameras, detections)):
        if det is None or len(det[0]) < 6:
            continue
        ids, px = np.asarray(det[0], np.int64), cam.undistort(np.asarray(det[1], np.float64))
        ok, rvec, tvec = cv2.solvePnP(lab[ids], px, cam.K, None, flags=cv2.SOLVEPNP_IPPE)
        if ok:
            R = cv2.Rodrigues(rvec)[0]
            seen.append((len(ids), i, R, -R.T @ tvec.ravel()))
    if not seen:
        raise MovekitError("no camera saw the floor board (6 corners or more)")
    seen.sort(key=lambda s: -s[0])
    _, i, R_cb, centre_lab = seen[0]
    cam = result.cameras[i]
    scale = 1.0
    if len(seen) >= 2:
        j, centre_j = seen[1][1], seen[1][3]
        scale = float(np.linalg.norm(centre_lab - centre_j) / np.linalg.norm(cam.centre_m - result.cameras[j].centre_m))
    R_w = R_cb.T @ cam.R  # rig -> camera -> board lab
    t_w = centre_lab - scale * R_w @ cam.centre_m
    cams = transform_cameras(result.cameras, scale, R_w, t_w)
    points = None if result.points_m is None else scale * result.points_m @ R_w.T + t_w
    how = f"scale from {len(seen)} cameras' view of it" if len(seen) >= 2 else "scale kept"
    notes = [n for n in result.notes if not n.startswith("the vertical")]
    notes.append(f"the vertical and origin: the floor board seen by {cam.name} ({seen[0][0]} corners; {how})")
    errors = result.errors
    if scale != 1.0:
        errors = [
            replace(e, median_mm=e.median_mm * scale, p95_mm=e.p95_mm * scale, distance_m=e.distance_m * scale)
            for e in errors
        ]
    return replace(result, cameras=cams, points_m=points, notes=notes, errors=errors, vertical_from="floor board")


# ----------------------------------------------------------------------------- rotation refinement

#: Landmarks the rotation refinement uses: shoulders, elbows, wrists, hips, knees, ankles (large,
#: usually seen; the face and hands add little and the feet are often occluded).
REFINE_LANDMARKS = (11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28)
#: Soft-L1 scale (px) of the refinement: residuals beyond about the pose model's scatter (~9 px
#: on 1920-px frames, :data:`KEYPOINT_MAX_MEDIAN_PX`) count linearly, so a wrong detection pulls
#: a camera little.
REFINE_F_SCALE_PX = 10.0
#: Ridge of the refinement: each degree of correction costs as much as this many px of one
#: keypoint's residual (thousands are fitted), enough only to choose among near-equivalent fits.
REFINE_RIDGE_PX_PER_DEG = 1.0
#: A correction larger than this (deg) is refused: a calibration that far off is wrong, not
#: drifted, and must be redone.
REFINE_MAX_DEG = 5.0


@dataclass(frozen=True)
class RotationRefinement:
    """Result of :func:`refine_rotations`.

    Attributes
    ----------
    cameras : the refined cameras (same intrinsics and centres, corrected orientation)
    rotvec_rad : (cams, 3) correction per camera, a rotation vector in the camera's own frame
        (x: about the image x axis, i.e. pitch; y: about the image y axis, pan; z: about the
        optical axis, roll), applied as ``R_new = Rotation.from_rotvec(v).as_matrix() @ R``
    correction_deg : (cams,) size of each correction (deg)
    loo_median_px_before, loo_median_px_after : (cams,) median distance (px) between each
        camera's keypoints and the other cameras' triangulation reprojected into it
        (leave-one-out: the figure a wrong orientation of that camera shows in), before and after
    observations : (cams,) keypoints each camera's correction was fitted to
    """

    cameras: list
    rotvec_rad: np.ndarray
    correction_deg: np.ndarray
    loo_median_px_before: np.ndarray
    loo_median_px_after: np.ndarray
    observations: np.ndarray


def rotate_cameras(cameras: Sequence[PinholeCamera], rotvec_rad) -> list[PinholeCamera]:
    """Cameras turned about their own centres by ``rotvec_rad`` (cams, 3; camera-frame rotation
    vectors, rad, as :class:`RotationRefinement` gives them): apply one trial's refinement to
    another recording of the same rig (e.g. with a cropped image, whose ``K`` differs)."""
    out = []
    for cam, v in zip(cameras, np.asarray(rotvec_rad, dtype=np.float64)):
        R = Rotation.from_rotvec(v).as_matrix() @ cam.R
        out.append(replace(cam, R=R, t=-R @ cam.centre_m))
    return out


def loo_reprojection_px(points_px, weights, cameras: Sequence[PinholeCamera], *, min_weight: float = 0.5) -> np.ndarray:
    """(cams,) median distance (px) between each camera's keypoints (:data:`REFINE_LANDMARKS`,
    weight >= ``min_weight``) and the OTHER cameras' triangulation reprojected into it; NaN where
    a camera has none. Needs three cameras or more (two others to triangulate from)."""
    from movekit.analysis.triangulation import triangulate

    P = np.asarray(points_px, dtype=np.float64)
    W = np.nan_to_num(np.asarray(weights, dtype=np.float64))
    C = len(cameras)
    out = np.full(C, np.nan)
    lm = list(REFINE_LANDMARKS)
    for c in range(C):
        others = [o for o in range(C) if o != c]
        X, _, _ = triangulate(P[others], W[others], [cameras[o] for o in others], min_weight=min_weight)
        d = np.linalg.norm(P[c][:, lm] - cameras[c].project(X[:, lm]), axis=-1)
        d = d[(W[c][:, lm] >= min_weight) & np.isfinite(d)]
        out[c] = float(np.median(d)) if d.size else np.nan
    return out


def _rt_stack(cameras: Sequence[PinholeCamera], rotvec: np.ndarray) -> np.ndarray:
    """(cams, 3, 4) ``[R | t]`` of the cameras turned about their centres by ``rotvec`` (cams, 3)."""
    out = []
    for cam, v in zip(cameras, rotvec):
        R = Rotation.from_rotvec(v).as_matrix() @ cam.R
        out.append(np.hstack([R, (-R @ cam.centre_m)[:, None]]))
    return np.stack(out)


def _refine_residuals(p, cameras, norm, w, f_px, ridge) -> np.ndarray:
    """Reprojection residuals (px, each used view's x and y) of the points triangulated with the
    turned cameras (variable projection: the points solved in closed form for every ``p``), then
    ``ridge`` times the corrections (deg), which picks the smallest correction among the nearly
    equivalent ones (turning every camera so that all rays shift alike moves the person, not the
    fit)."""
    from movekit.analysis.triangulation import _solve

    rv = p.reshape(-1, 3)
    Rt = _rt_stack(cameras, rv)
    X = _solve(norm, w, Rt)
    Xc = np.einsum("cij,nj->cni", Rt[:, :, :3], X) + Rt[:, None, :, 3]
    with np.errstate(divide="ignore", invalid="ignore"):
        r = (Xc[..., :2] / Xc[..., 2:3] - norm) * f_px[:, None, None]
    r = np.where((w > 0)[..., None] & np.isfinite(r), r, 0.0)
    return np.concatenate([r.ravel(), ridge * np.degrees(p)])


def refine_rotations(
    points_px,
    weights,
    cameras: Sequence[PinholeCamera],
    *,
    min_weight: float = 0.5,
    iterations: int = 3,
    f_scale_px: float = REFINE_F_SCALE_PX,
) -> RotationRefinement:
    """Refine each camera's orientation (centres and intrinsics kept) from a person's keypoints.

    A calibration's camera centres are usually good to millimetres, its orientations less so:
    on Pose2Sim's Qualisys calibration of the demo rig the pose model's keypoints of a camera lie
    20-35 px (1-2 deg) to one side of the other cameras' triangulation, the same way in every
    trial and for every landmark (scripts/diagnose_multiview.py). Such an error shifts the
    triangulated joints of a two-camera set-up and so the angles between the limbs. All
    cameras' rotations are fitted at once to the reprojection error of every keypoint
    (:func:`scipy.optimize.least_squares`, soft-L1 loss :data:`REFINE_F_SCALE_PX`), the 3D points
    solved in closed form (weighted DLT) for every trial rotation (variable projection, the
    structure eliminated as in bundle adjustment; Triggs et al. 2000, LNCS 1883:298). The camera
    centres fix the gauge but for one near-freedom: turning every camera so that all rays shift
    alike at the subject moves the person, not the fit; a small ridge on the corrections picks the
    smallest. The pose model's own view-dependent landmark bias can be absorbed into the
    correction: check it on a trial the refinement did not see (a held-out trial's
    leave-one-out reprojection, :func:`loo_reprojection_px`).

    Parameters
    ----------
    points_px : (cams, frames, 33, 2) px, or a list of such arrays (several trials of one rig)
    weights : (cams, frames, 33) 0..1 (visibility; 0 where a view must not be used), or a list
    cameras : three or more calibrated cameras, in the order of the first axis
    min_weight : keypoints below this weight are not used
    iterations : fits, each after dropping the views far off the previous fit (4 times that
        camera's median residual, at least twice ``f_scale_px``); stops when none changes
    f_scale_px : soft-L1 scale (px)

    Raises
    ------
    MovekitError
        Fewer than three cameras, shapes that do not match, a camera with fewer than
        :data:`MIN_OBSERVATIONS` keypoints, or a correction over :data:`REFINE_MAX_DEG`.
    """
    many = isinstance(points_px, (list, tuple))
    trials = list(zip(points_px, weights)) if many else [(points_px, weights)]
    trials = [(np.asarray(P, dtype=np.float64), np.nan_to_num(np.asarray(W, dtype=np.float64))) for P, W in trials]
    C = len(cameras)
    if C < 3:
        # two cameras leave a rotation about their baseline free and the near-freedom wide open:
        # refined on a pair of the Pose2Sim rig alone the corrections ran to 10-90 deg
        raise MovekitError(f"rotation refinement needs 3+ cameras (the others fix each one); got {C}")
    for P, W in trials:
        if P.ndim != 4 or P.shape[0] != C or P.shape[-1] != 2 or W.shape != P.shape[:-1]:
            raise MovekitError(
                f"rotation refinement needs points (cams, frames, 33, 2) and weights (cams, frames, 33) for "
                f"{C} cameras; got {P.shape} and {W.shape}"
            )
    from movekit.analysis.triangulation import _normalised, triangulate

    base = list(cameras)
    lm = list(REFINE_LANDMARKS)
    P = np.concatenate([t[0][:, :, lm] for t in trials], axis=1)
    W = np.concatenate([t[1][:, :, lm] for t in trials], axis=1)
    X0, _, _ = triangulate(P, W, base, min_weight=min_weight, max_reproj_px=1e9)
    N = P.shape[1] * P.shape[2]
    norm = _normalised(P, base).reshape(C, N, 2)
    use = (W.reshape(C, N) >= min_weight) & np.isfinite(norm).all(axis=-1) & np.isfinite(X0.reshape(N, 3)).all(axis=1)
    counts = use.sum(axis=1)
    for c in np.flatnonzero(counts < MIN_OBSERVATIONS):
        raise MovekitError(
            f"{base[c].name}: {counts[c]} keypoints seen with the others (need {MIN_OBSERVATIONS}) to refine its rotation"
        )
    f_px = np.array([math.sqrt(cam.K[0, 0] * cam.K[1, 1]) for cam in base])
    w = np.where(use, W.reshape(C, N), 0.0)
    rotvec = np.zeros(3 * C)
    for _ in range(max(1, iterations)):
        # views far off the current fit (wrong detections) leave the points' solution
        res = least_squares(
            _refine_residuals,
            rotvec,
            args=(base, norm, w, f_px, REFINE_RIDGE_PX_PER_DEG),
            loss="soft_l1",
            f_scale=f_scale_px,
            x_scale=1e-2,
        )
        rotvec = res.x
        err = np.linalg.norm(res.fun[: 2 * C * N].reshape(C, N, 2), axis=-1)
        med = np.array([np.median(err[c][w[c] > 0]) for c in range(C)])
        keep = use & (err <= np.maximum(4.0 * med, 2.0 * f_scale_px)[:, None])
        if np.array_equal(keep, w > 0):
            break
        w = np.where(keep, W.reshape(C, N), 0.0)
    rotvec = rotvec.reshape(C, 3)
    cur = rotate_cameras(base, rotvec)
    deg = np.degrees(np.linalg.norm(rotvec, axis=1))
    if (deg > REFINE_MAX_DEG).any():
        worst = int(np.argmax(deg))
        raise MovekitError(
            f"{base[worst].name}: its orientation would change by {deg[worst]:.1f} deg (limit {REFINE_MAX_DEG:g}): "
            "the calibration is wrong, not drifted; calibrate again"
        )
    before = np.nanmedian([loo_reprojection_px(P, W, base, min_weight=min_weight) for P, W in trials], axis=0)
    after = np.nanmedian([loo_reprojection_px(P, W, cur, min_weight=min_weight) for P, W in trials], axis=0)
    log.info("rotation refinement: %s deg; leave-one-out px %s -> %s", deg.round(2), before.round(1), after.round(1))
    return RotationRefinement(cur, rotvec, deg, before, after, counts)


__all__ = [
    "align_to_floor_board",
    "BOARD_MAX_CENTRE_SD_MM",
    "BOARD_MAX_MEDIAN_PX",
    "BOARD_MAX_P95_PX",
    "EYE_HEIGHT_PER_STATURE",
    "KEYPOINT_MAX_MEDIAN_MM",
    "KEYPOINT_MAX_MEDIAN_PX",
    "MIN_OBSERVATIONS",
    "REFINE_F_SCALE_PX",
    "REFINE_LANDMARKS",
    "REFINE_MAX_DEG",
    "REFINE_RIDGE_PX_PER_DEG",
    "CameraError",
    "RotationRefinement",
    "ExtrinsicsResult",
    "board_extrinsics",
    "board_lab_points",
    "compare_rigs",
    "keypoint_extrinsics",
    "person_lab_frame",
    "loo_reprojection_px",
    "refine_rotations",
    "rotate_cameras",
    "rotation_angle_deg",
    "similarity_transform",
    "transform_cameras",
]
