"""Calibration profiles: camera intrinsics with lens distortion, and static-pose angle offsets.

* Camera: a checkerboard filmed from several angles gives the intrinsic matrix and the lens
  distortion (Zhang 2000, IEEE TPAMI 22:1330; OpenCV ``calibrateCamera``). Landmarks are then
  undistorted (``cv2.undistortPoints``) before angles are measured, so straight limbs stay straight
  near the image edges. Stored as ``<name>.camera.json``.
* Static pose: the client stands still in anatomical neutral (feet hip-width, arms at the sides,
  looking ahead) in the camera's view for a few seconds; each angle's median over the trial is
  the offset of this client, camera and set-up from the 0 deg convention, and is subtracted from
  later trials. Stored as ``<name>.static.json``. Proxies (no true neutral of 0) get no offset.

Profiles live in ``calibration/`` at the repository root by default (see its README).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from movekit.errors import MovekitError

DEFAULT_DIR = Path(__file__).resolve().parents[1] / "calibration"


@dataclass
class CameraProfile:
    """Pinhole intrinsics (px) and OpenCV distortion coefficients (k1, k2, p1, p2, k3)."""

    name: str
    width_px: int
    height_px: int
    camera_matrix: list[list[float]]
    dist_coeffs: list[float]
    rms_reprojection_px: float
    n_views: int
    pattern: tuple[int, int]
    square_mm: float
    created: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%S"))
    kind: str = "camera"

    @property
    def K(self) -> np.ndarray:
        return np.asarray(self.camera_matrix, dtype=np.float64)

    @property
    def dist(self) -> np.ndarray:
        return np.asarray(self.dist_coeffs, dtype=np.float64)


@dataclass
class StaticProfile:
    """Per-angle offsets (deg) measured in a static neutral-stance trial."""

    name: str
    offsets_deg: dict[str, float]
    spread_deg: dict[str, float]  #: interquartile range over the trial: how still it was
    view: str
    n_frames: int
    space: str = "2d"
    camera_profile: str | None = None
    created: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%S"))
    kind: str = "static"


def _save(obj, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(asdict(obj), indent=2))
    tmp.replace(path)
    return path


def _load(path_or_name, suffix: str, directory: Path | None) -> dict:
    p = Path(path_or_name)
    if not p.exists():
        p = (directory or DEFAULT_DIR) / f"{path_or_name}{suffix}"
    if not p.exists():
        raise MovekitError(f"calibration profile {path_or_name!r} not found (looked for {p})")
    try:
        return json.loads(p.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise MovekitError(f"{p}: not a readable calibration profile ({exc})") from None


def save_profile(profile, directory: Path | None = None) -> Path:
    """Write ``<dir>/<name>.camera.json`` or ``<dir>/<name>.static.json`` atomically."""
    suffix = ".camera.json" if isinstance(profile, CameraProfile) else ".static.json"
    return _save(profile, (directory or DEFAULT_DIR) / f"{profile.name}{suffix}")


def load_camera_profile(path_or_name, directory: Path | None = None) -> CameraProfile:
    d = _load(path_or_name, ".camera.json", directory)
    if d.get("kind") != "camera":
        raise MovekitError(f"{path_or_name}: not a camera profile")
    d["pattern"] = tuple(d["pattern"])
    return CameraProfile(**d)


def load_static_profile(path_or_name, directory: Path | None = None) -> StaticProfile:
    d = _load(path_or_name, ".static.json", directory)
    if d.get("kind") != "static":
        raise MovekitError(f"{path_or_name}: not a static-pose profile")
    return StaticProfile(**d)


def find_corners(frame, pattern: tuple[int, int]):
    """Sub-pixel inner corners of a checkerboard in one BGR or grey frame, or None."""
    import cv2

    grey = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    ok, corners = cv2.findChessboardCorners(
        grey, pattern, cv2.CALIB_CB_ADAPTIVE_THRESH | cv2.CALIB_CB_NORMALIZE_IMAGE)
    if not ok:
        return None
    crit = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 30, 1e-3)
    return cv2.cornerSubPix(grey, corners, (11, 11), (-1, -1), crit)


def calibrate_camera(video, *, pattern: tuple[int, int] = (9, 6), square_mm: float = 25.0,
                     name: str = "camera", max_views: int = 40, min_views: int = 8) -> CameraProfile:
    """Intrinsics and distortion from a checkerboard video (Zhang 2000, OpenCV).

    Parameters
    ----------
    video : path
        Video of a printed checkerboard moved through the field of view at several tilts.
    pattern : (columns, rows)
        Inner corners of the board (a 10 x 7 squares board has 9 x 6).
    square_mm : float
        Side of one square; sets the scale of the board (intrinsics do not depend on it).
    max_views, min_views : int
        Frames used (evenly spread over those where the board is found) and the fewest accepted.
    """
    import cv2

    cap = cv2.VideoCapture(str(video))
    if not cap.isOpened():
        raise MovekitError(f"{video}: cannot open the video")
    found, size = [], None
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        size = frame.shape[1], frame.shape[0]
        c = find_corners(frame, pattern)
        if c is not None:
            found.append(c)
    cap.release()
    if size is None:
        raise MovekitError(f"{video}: no frames could be read")
    if len(found) < min_views:
        raise MovekitError(f"{video}: the {pattern[0]}x{pattern[1]} checkerboard was found in "
                           f"{len(found)} frames; at least {min_views} are needed (check --pattern)")
    pick = np.linspace(0, len(found) - 1, min(max_views, len(found))).round().astype(int)
    obj = np.zeros((pattern[0] * pattern[1], 3), np.float32)
    obj[:, :2] = np.mgrid[0:pattern[0], 0:pattern[1]].T.reshape(-1, 2) * square_mm
    rms, K, dist, _, _ = cv2.calibrateCamera([obj] * len(pick), [found[i] for i in pick], size, None, None)
    return CameraProfile(name=name, width_px=size[0], height_px=size[1], camera_matrix=K.tolist(),
                         dist_coeffs=dist.ravel().tolist(), rms_reprojection_px=float(rms),
                         n_views=int(len(pick)), pattern=tuple(pattern), square_mm=float(square_mm))


def undistort_landmarks(image_px, profile: CameraProfile, frame_size_px=None) -> np.ndarray:
    """Image landmarks (frames, 33, >=2) in px with lens distortion removed (same pixel grid).

    ``frame_size_px`` (width, height), when given, must match the profile's resolution.
    """
    import cv2

    p = np.array(image_px, dtype=np.float64, copy=True)
    if frame_size_px is not None and tuple(frame_size_px) != (0, 0) and \
            tuple(int(v) for v in frame_size_px) != (profile.width_px, profile.height_px):
        raise MovekitError(f"camera profile {profile.name!r} is for {profile.width_px}x{profile.height_px}, "
                           f"the video is {frame_size_px[0]}x{frame_size_px[1]}")
    xy = p[..., :2].reshape(-1, 1, 2)
    ok = np.isfinite(xy).all(axis=-1).ravel()
    out = np.full_like(xy, np.nan)
    if ok.any():
        out[ok] = cv2.undistortPoints(xy[ok], profile.K, profile.dist, P=profile.K)
    p[..., :2] = out.reshape(p.shape[:-1] + (2,))
    return p


def static_offsets(angles: dict[str, np.ndarray], views=None, *, name: str = "static",
                   space: str = "2d", camera_profile: str | None = None,
                   min_frames: int = 15, max_spread_deg: float = 5.0) -> StaticProfile:
    """Offsets from a static neutral-stance trial: each angle's median, where it is valid.

    Parameters
    ----------
    angles : dict of (frames,) arrays, deg
        From the trial (cleaned: :func:`movekit.analysis.pipeline.analyse`).
    views : (frames,) str, optional
        View labels; angles are only taken from frames where they are valid
        (:func:`movekit.analysis.view.angle_validity`), and the trial's view is the majority.
    min_frames : int
        Fewest valid frames for an offset.
    max_spread_deg : float
        An angle whose interquartile range exceeds this moved during the trial: MovekitError.
    """
    from movekit.analysis.angles import ANGLES
    from movekit.analysis.view import angle_validity

    n = len(next(iter(angles.values()))) if angles else 0
    v = np.asarray(views) if views is not None else np.full(n, "unknown")
    valid = angle_validity(v, [k for k in angles if k in ANGLES], mode=space) if views is not None else {}
    offsets, spread = {}, {}
    moved = []
    for k, a in angles.items():
        d = ANGLES.get(k)
        if d is None or d.proxy:
            continue
        a = np.asarray(a, dtype=np.float64)
        if k in valid:
            a = np.where(valid[k][0], a, np.nan)
        if np.isfinite(a).sum() < min_frames:
            continue
        q1, med, q3 = np.nanpercentile(a, [25, 50, 75])
        offsets[k], spread[k] = float(med), float(q3 - q1)
        if q3 - q1 > max_spread_deg:
            moved.append(f"{k} ({q3 - q1:.1f} deg)")
    if moved:
        raise MovekitError("the static trial was not still: " + ", ".join(moved[:4]))
    if not offsets:
        raise MovekitError("no angle could be measured in the static trial (person not in view?)")
    labels, counts = np.unique(v, return_counts=True) if v.size else (np.array(["unknown"]), [1])
    return StaticProfile(name=name, offsets_deg=offsets, spread_deg=spread,
                         view=str(labels[int(np.argmax(counts))]), n_frames=int(n), space=space,
                         camera_profile=camera_profile)
