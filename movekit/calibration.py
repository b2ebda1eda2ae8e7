"""Calibration profiles: camera intrinsics with lens distortion, and static-pose angle offsets.

* Camera: a checkerboard filmed from several angles gives the intrinsic matrix and the lens
  distortion (Zhang 2000, IEEE TPAMI 22:1330; OpenCV ``calibrateCamera``). Landmarks are then
  undistorted (``cv2.undistortPoints``) before angles are measured, so straight limbs stay straight
  near the image edges. Stored as ``<name>.camera.json``.
* Static pose: the client stands still in anatomical neutral (feet hip-width, arms at the sides,
  looking ahead) in the camera's view for a few seconds; each angle's median over the trial is
  the offset of this client, camera and set-up from the 0 deg convention, and is subtracted from
  later trials. Stored as ``<name>.static.json``. Proxies (no true neutral of 0) get no offset.
  A trial in which the person moved, was not alone, or was not upright with straight knees is
  refused with the reason (:func:`static_trial_problems`).

Profiles are written to ``calibration/`` in the user's data folder (:func:`profile_dir`) and looked
up there, then among the defaults shipped with the package (:data:`DEFAULTS_DIR`, with a README).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from movekit.errors import MovekitError
from movekit.outputs import strict_json

#: read-only profiles shipped as package data (looked up after the user's own)
DEFAULTS_DIR = Path(__file__).resolve().parent / "data" / "calibration"
ENV_DATA_DIR = "MOVEKIT_DATA_DIR"


def profile_dir() -> Path:
    """Folder of the user's calibration profiles (written and read first).

    ``$MOVEKIT_DATA_DIR/calibration`` if that variable is set, else ``calibration`` in
    ``platformdirs.user_data_dir("movekit")`` (``~/.local/share/movekit/calibration`` on Linux):
    never inside the installed package or the source tree.
    """
    env = os.environ.get(ENV_DATA_DIR)
    if env:
        return Path(env).expanduser() / "calibration"
    import platformdirs

    return Path(platformdirs.user_data_dir("movekit")) / "calibration"


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
    """Atomic, private (0600) write of a profile (:func:`movekit.outputs.write_output`); the
    profile folder is created 0700 when missing."""
    from movekit.outputs import DIR_MODE, write_output

    if not path.parent.is_dir():
        path.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    return write_output(path, json.dumps(strict_json(asdict(obj)), indent=2, allow_nan=False))


def _load(path_or_name, suffix: str, directory: Path | None) -> dict:
    p = Path(path_or_name)
    if not p.exists():
        candidates = [
            d / f"{path_or_name}{suffix}" for d in ([directory] if directory else [profile_dir(), DEFAULTS_DIR])
        ]
        p = next((c for c in candidates if c.exists()), candidates[0])
    if not p.exists():
        raise MovekitError(f"calibration profile {path_or_name!r} not found (looked for {p})")
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MovekitError(f"{p}: not a readable calibration profile ({exc})") from None
    if not isinstance(data, dict):
        raise MovekitError(f"{p}: not a calibration profile (a JSON object was expected, got {type(data).__name__})")
    return data


def save_profile(profile, directory: Path | None = None) -> Path:
    """Write ``<dir>/<name>.camera.json``, ``.static.json`` or ``.tilt.json`` atomically."""
    suffix = {"camera": ".camera.json", "static": ".static.json", "tilt": ".tilt.json"}[profile.kind]
    return _save(profile, (directory or profile_dir()) / f"{profile.name}{suffix}")


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
    ok, corners = cv2.findChessboardCorners(grey, pattern, cv2.CALIB_CB_ADAPTIVE_THRESH | cv2.CALIB_CB_NORMALIZE_IMAGE)
    if not ok:
        return None
    crit = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 30, 1e-3)
    return cv2.cornerSubPix(grey, corners, (11, 11), (-1, -1), crit)


def calibrate_camera(
    video,
    *,
    pattern: tuple[int, int] = (9, 6),
    square_mm: float = 25.0,
    name: str = "camera",
    max_views: int = 40,
    min_views: int = 8,
) -> CameraProfile:
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
        raise MovekitError(
            f"{video}: the {pattern[0]}x{pattern[1]} checkerboard was found in "
            f"{len(found)} frames; at least {min_views} are needed (check --pattern)"
        )
    pick = np.linspace(0, len(found) - 1, min(max_views, len(found))).round().astype(int)
    obj = np.zeros((pattern[0] * pattern[1], 3), np.float32)
    obj[:, :2] = np.mgrid[0 : pattern[0], 0 : pattern[1]].T.reshape(-1, 2) * square_mm
    rms, K, dist, _, _ = cv2.calibrateCamera([obj] * len(pick), [found[i] for i in pick], size, None, None)
    return CameraProfile(
        name=name,
        width_px=size[0],
        height_px=size[1],
        camera_matrix=K.tolist(),
        dist_coeffs=dist.ravel().tolist(),
        rms_reprojection_px=float(rms),
        n_views=int(len(pick)),
        pattern=tuple(pattern),
        square_mm=float(square_mm),
    )


def undistort_landmarks(image_px, profile: CameraProfile, frame_size_px=None) -> np.ndarray:
    """Image landmarks (frames, 33, >=2) in px with lens distortion removed (same pixel grid).

    ``frame_size_px`` (width, height), when given, must match the profile's resolution.
    """
    import cv2

    p = np.array(image_px, dtype=np.float64, copy=True)
    if (
        frame_size_px is not None
        and tuple(frame_size_px) != (0, 0)
        and tuple(int(v) for v in frame_size_px) != (profile.width_px, profile.height_px)
    ):
        raise MovekitError(
            f"camera profile {profile.name!r} is for {profile.width_px}x{profile.height_px}, "
            f"the video is {frame_size_px[0]}x{frame_size_px[1]}"
        )
    xy = p[..., :2].reshape(-1, 1, 2)
    ok = np.isfinite(xy).all(axis=-1).ravel()
    out = np.full_like(xy, np.nan)
    if ok.any():
        out[ok] = cv2.undistortPoints(xy[ok], profile.K, profile.dist, P=profile.K)
    p[..., :2] = out.reshape(p.shape[:-1] + (2,))
    return p


#: Limits of a static neutral-stance trial (:func:`static_trial_problems`).
STATIC_MAX_SPREAD_TORSO = 0.25
STATIC_MAX_TRUNK_DEG = 15.0
STATIC_MAX_KNEE_DEG = 15.0
STATIC_MIN_FOUND = 0.8

_STILL_LANDMARKS = {
    11: "left shoulder",
    12: "right shoulder",
    13: "left elbow",
    14: "right elbow",
    15: "left wrist",
    16: "right wrist",
    23: "left hip",
    24: "right hip",
    25: "left knee",
    26: "right knee",
    27: "left ankle",
    28: "right ankle",
}


def static_trial_problems(
    image_px,
    visibility=None,
    *,
    people_in_view: int = 1,
    min_visibility: float = 0.5,
    max_spread_torso: float = STATIC_MAX_SPREAD_TORSO,
    max_trunk_deg: float = STATIC_MAX_TRUNK_DEG,
    max_knee_deg: float = STATIC_MAX_KNEE_DEG,
    min_found: float = STATIC_MIN_FOUND,
) -> list[str]:
    """Why a static neutral-stance trial cannot give offsets, in plain words (empty: it can).

    Parameters
    ----------
    image_px : array (frames, 33, >=2)
        Image landmarks (px) of the trial, NaN where nobody was found.
    visibility : array (frames, 33), optional
        Landmarks seen with less than ``min_visibility`` are left out.
    people_in_view : int
        Most people in view at once during the trial (the ``people_in_view`` events and
        ``person_selection`` of a capture): above 1, the person measured may not be the client.
    max_spread_torso : float
        Moved: a shoulder, elbow, wrist, hip, knee or ankle whose position ranges (2nd to 98th
        percentile, x or y) over more than this many torso lengths (mid-shoulder to mid-hip, median).
        0.25 is about 12 cm for a 0.5 m torso, several times the few centimetres the body sways in
        quiet stance (centre-of-pressure excursions, Prieto 1996). Measured on real clips: a woman
        standing still (pose2sim_single_cam02, background, 65 frames) 0.07; a woman standing before
        she walks (pose2sim_multi_cam01, frames 0-29) 0.13; kicking and twisting (pose2sim_single_cam02,
        cam03, multi_cam04) 1.6-2.2 over the clip.
    max_trunk_deg : float
        Not upright: the trunk (mid-hip to mid-shoulder) further than this from the image's vertical,
        median over the trial. Neutral stance is the trunk on the plumb line (Kendall 2005, Muscles:
        Testing and Function); 15 deg leaves room for 2D markerless angle errors of 4-6 deg (Stenum
        2021) and a slight camera tilt. A rolled or steeply pitched camera shows an upright person
        tilted too: level the camera.
    max_knee_deg : float
        Knees not straight: a knee's 2D flexion (180 deg minus the hip-knee-ankle angle in the image)
        above this, median over the trial. Neutral is 0 (Grood & Suntay 1983); a knee in the stance
        of a step is flexed about 15-20 deg at loading response (Perry & Burnfield 2010), which is
        what a passer-by mid-stride shows (+34 deg was stored as neutral before this check). Seen
        from the front a bent knee looks straighter than it is, so this catches bent knees best
        from the side.
    min_found : float
        Fewest frames (fraction) with the person's torso found.
    """
    p = np.asarray(image_px, dtype=np.float64)[..., :2]
    if p.ndim != 3 or p.shape[0] == 0:
        return ["the trial has no frames"]
    if visibility is not None:
        p = np.where((np.asarray(visibility) >= min_visibility)[..., None], p, np.nan)
    problems = []
    if people_in_view > 1:
        problems.append(
            f"it was not alone: {people_in_view} people were in view, so the person measured "
            "may not be the client (film the client alone)"
        )
    shoulders, hips = p[:, [11, 12]].mean(axis=1), p[:, [23, 24]].mean(axis=1)
    found = np.isfinite(shoulders).all(axis=1) & np.isfinite(hips).all(axis=1)
    if not found.any():
        return problems + ["nobody was found in the trial"]
    if found.mean() < min_found:
        problems.append(
            f"the person was found in only {found.mean():.0%} of the frames (at least {min_found:.0%} needed)"
        )
    trunk = shoulders[found] - hips[found]
    problems += _stillness_problems(p[found], trunk, max_spread_torso)
    lean = float(np.median(np.abs(np.degrees(np.arctan2(trunk[:, 0], -trunk[:, 1])))))
    if lean > max_trunk_deg:
        problems.append(
            f"the trunk was {lean:.0f} deg from the vertical (limit {max_trunk_deg:g}): not upright, "
            "or the camera is rolled or tilted"
        )
    return problems + _knee_problems(p, max_knee_deg)


def _stillness_problems(p: np.ndarray, trunk: np.ndarray, max_spread_torso: float) -> list[str]:
    """The landmark that moved most, in torso lengths, when above the limit (see :func:`static_trial_problems`)."""
    torso_px = float(np.median(np.linalg.norm(trunk, axis=1)))
    spreads = {}
    for i, what in _STILL_LANDMARKS.items():
        xy = p[:, i]
        ok = np.isfinite(xy).all(axis=1)
        if ok.sum() >= max(3, ok.size // 2):
            lo, hi = np.percentile(xy[ok], [2, 98], axis=0)
            spreads[what] = float(np.max(hi - lo)) / max(torso_px, 1e-6)
    if not spreads:
        return []
    what = max(spreads, key=spreads.get)
    if spreads[what] <= max_spread_torso:
        return []
    return [
        f"the person was not still: the {what} moved {spreads[what]:.2f} torso lengths (limit {max_spread_torso:g})"
    ]


def _knee_problems(p: np.ndarray, max_knee_deg: float) -> list[str]:
    """Knees whose median 2D flexion (deg, 0 = straight) exceeds the limit (see :func:`static_trial_problems`)."""
    problems = []
    for side, (h, k, a) in (("left", (23, 25, 27)), ("right", (24, 26, 28))):
        u, v = p[:, h] - p[:, k], p[:, a] - p[:, k]
        cross = np.abs(u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0])
        flex = 180.0 - np.degrees(np.arctan2(cross, (u * v).sum(axis=1)))
        flex = flex[np.isfinite(flex)]
        if flex.size >= 3 and np.median(flex) > max_knee_deg:
            problems.append(
                f"the {side} knee was bent {np.median(flex):.0f} deg (limit {max_knee_deg:g}): not standing straight"
            )
    return problems


def static_offsets(
    angles: dict[str, np.ndarray],
    views=None,
    *,
    name: str = "static",
    space: str = "2d",
    camera_profile: str | None = None,
    min_frames: int = 15,
    max_spread_deg: float = 5.0,
) -> StaticProfile:
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
    labels, counts = np.unique(v, return_counts=True) if v.size else (np.array(["unknown"]), [1])
    if not offsets:
        view = str(labels[int(np.argmax(counts))])
        if views is not None and not view.startswith(("sagittal", "frontal")):
            raise MovekitError(
                f"no angle could be measured in the static trial: the view was {view} in most "
                "frames (stand the client face-on or side-on to the camera)"
            )
        raise MovekitError("no angle could be measured in the static trial (person not in view?)")
    return StaticProfile(
        name=name,
        offsets_deg=offsets,
        spread_deg=spread,
        view=str(labels[int(np.argmax(counts))]),
        n_frames=int(n),
        space=space,
        camera_profile=camera_profile,
    )


@dataclass
class TiltProfile:
    """Camera pitch and roll against gravity for one camera set-up (:mod:`movekit.analysis.camera_tilt`)."""

    name: str
    pitch_deg: float | None
    roll_deg: float | None
    uncertainty_deg: float
    source: str
    created: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%S"))
    kind: str = "tilt"

    @property
    def tilt(self):
        from movekit.analysis.camera_tilt import CameraTilt

        return CameraTilt(self.pitch_deg, self.roll_deg, self.uncertainty_deg, self.source)

    @classmethod
    def of(cls, name: str, tilt) -> TiltProfile:
        return cls(name, tilt.pitch_deg, tilt.roll_deg, tilt.uncertainty_deg, tilt.source)


def load_tilt(spec: str, directory: Path | None = None):
    """A :class:`~movekit.analysis.camera_tilt.CameraTilt` from ``"PITCH,ROLL"`` (deg), ``"level"``,
    or the name or path of a tilt profile (``movekit calibrate level``)."""
    from movekit.analysis.camera_tilt import CameraTilt, parse_tilt

    text = str(spec).strip()
    if text.lower() == "level" or "," in text:
        return parse_tilt(text)
    try:
        d = _load(text, ".tilt.json", directory)
    except MovekitError as exc:
        raise MovekitError(
            f"camera tilt {spec!r}: give PITCH,ROLL in deg (e.g. 12,-3), 'level', or the name of a "
            f"profile from movekit calibrate level ({exc})"
        ) from None
    if not isinstance(d, dict) or d.get("kind") != "tilt":
        raise MovekitError(f"{spec}: not a camera tilt profile")
    return CameraTilt.from_dict(d)


def tilt_from_board_video(
    video,
    camera: CameraProfile | None = None,
    *,
    pattern: tuple[int, int] = (9, 6),
    square_mm: float = 25.0,
    max_frames: int = 60,
):
    """Camera tilt from a video of a checkerboard lying flat on the floor (median over the frames
    where the board is found; :func:`movekit.analysis.camera_tilt.tilt_from_board`).

    Without a camera profile the intrinsics are the default field of view
    (:data:`movekit.analysis.camera_tilt.DEFAULT_LONG_SIDE_FOV_DEG`) and the uncertainty grows to
    3 deg. The stated uncertainty is at least the spread (interquartile range) over the frames.
    """
    import cv2

    from movekit.analysis.camera_tilt import CameraTilt, camera_matrix, tilt_from_board

    cap = cv2.VideoCapture(str(video))
    if not cap.isOpened():
        raise MovekitError(f"{video}: cannot open the video")
    tilts, size, n = [], None, 0
    while n < 10 * max_frames and len(tilts) < max_frames:
        ok, frame = cap.read()
        if not ok:
            break
        n += 1
        size = frame.shape[1], frame.shape[0]
        c = find_corners(frame, pattern)
        if c is None:
            continue
        K = camera.K if camera is not None else camera_matrix(size)
        dist = camera.dist if camera is not None else None
        t = tilt_from_board(c, pattern, square_mm, K, dist)
        tilts.append((t.pitch_deg, t.roll_deg))
    cap.release()
    if size is None:
        raise MovekitError(f"{video}: no frames could be read")
    if camera is not None and size != (camera.width_px, camera.height_px):
        raise MovekitError(
            f"camera profile {camera.name!r} is for {camera.width_px}x{camera.height_px}, "
            f"the video is {size[0]}x{size[1]}"
        )
    if len(tilts) < 3:
        raise MovekitError(
            f"{video}: the {pattern[0]}x{pattern[1]} checkerboard was found in {len(tilts)} "
            "frames; at least 3 are needed (lay it flat on the floor in view; check --pattern)"
        )
    a = np.asarray(tilts)
    q1, med, q3 = np.percentile(a, [25, 50, 75], axis=0)
    unc = max(1.0 if camera is not None else 3.0, float(np.max(q3 - q1)))
    return CameraTilt(
        float(med[0]),
        float(med[1]),
        unc,
        "checkerboard on the floor" + ("" if camera is not None else " (default field of view)"),
    )


def profiles_from_metadata(cal: dict) -> dict:
    """``{"camera": CameraProfile, "static": StaticProfile, "tilt": CameraTilt}`` (those present)
    from a recording's ``calibration`` metadata; MovekitError when one is malformed."""
    from movekit.analysis.camera_tilt import CameraTilt

    out = {}
    try:
        if cal.get("tilt"):
            out["tilt"] = CameraTilt.from_dict(cal["tilt"])
        if cal.get("camera"):
            out["camera"] = CameraProfile(**{**cal["camera"], "pattern": tuple(cal["camera"]["pattern"])})
        if cal.get("static"):
            out["static"] = StaticProfile(**cal["static"])
    except (TypeError, KeyError, AttributeError) as exc:
        raise MovekitError(f"the recording's calibration metadata is malformed ({exc})") from None
    return out


#: Stated uncertainty (deg) of the tilt from scene verticals: on the four calibrated Pose2Sim
#: cameras (Qualisys extrinsics, pitch 18-25 deg, roll -13 to +26 deg; two trials each, 7 frames
#: from the first 3 s, segments found at 960 px) the median over frames was within 1.1 deg of the
#: calibration in roll and within 6.8 deg in pitch (one camera sees the long edges of a force plate
#: receding on the floor, which lean like verticals; 5.2 deg with its intrinsics, the three other
#: cameras within 2.4 deg); see docs/validity.md.
SCENE_TILT_UNCERTAINTY_DEG = 8.0


def tilt_from_scene(
    frames, camera: CameraProfile | None = None, *, min_agree: float = 0.6, max_spread_deg: float = 3.0
):
    """Camera tilt from the vertical edges of the room (door frames, cupboards, wall corners) in
    several frames of a video (:func:`movekit.analysis.camera_tilt.tilt_from_verticals` per frame).

    Each frame gives an estimate; the frames within ``max_spread_deg`` of the median must be at
    least ``min_agree`` of those that gave one, else the scene is refused (people or floor lines
    mistaken for verticals). The stated uncertainty is :data:`SCENE_TILT_UNCERTAINTY_DEG` or the
    agreeing frames' spread, whichever is larger.

    Parameters
    ----------
    frames : iterable of BGR images (the same camera and set-up)
    camera : CameraProfile, optional
        Intrinsics and distortion (frames are undistorted first); default field of view otherwise.
    """
    import cv2

    from movekit.analysis.camera_tilt import CameraTilt, line_segments, tilt_from_verticals

    est, size, why = [], None, ""
    for f in frames:
        size = (f.shape[1], f.shape[0])
        img = cv2.undistort(f, camera.K, camera.dist) if camera is not None else f
        try:
            t = tilt_from_verticals(line_segments(img), size, camera.K if camera is not None else None)
        except MovekitError as exc:
            why = str(exc)
            continue
        est.append((t.pitch_deg, t.roll_deg))
    if len(est) < 3:
        raise MovekitError(
            f"camera tilt from the scene: found in {len(est)} frames, need 3" + (f" ({why})" if why else "")
        )
    a = np.asarray(est)
    med = np.median(a, axis=0)
    agree = np.all(np.abs(a - med) <= max_spread_deg, axis=1)
    if agree.mean() < min_agree:
        raise MovekitError(
            f"camera tilt from the scene: the frames disagree ({int(agree.sum())} of {len(a)} "
            "within 3 deg); level the camera and give --tilt, or use calibrate level"
        )
    good = a[agree]
    med = np.median(good, axis=0)
    spread = float(np.max(np.abs(good - med))) if len(good) else 0.0
    return CameraTilt(
        float(med[0]),
        float(med[1]),
        max(SCENE_TILT_UNCERTAINTY_DEG, spread),
        f"scene verticals, {int(agree.sum())} of {len(a)} frames agree",
    )


def video_frames(video, n: int = 7, span_s: float = 3.0):
    """Up to ``n`` frames (BGR) spread evenly over the first ``span_s`` seconds of a video file, read
    in order (seeking costs more than decoding a few seconds); MovekitError if it cannot be read."""
    import cv2

    cap = cv2.VideoCapture(str(video))
    if not cap.isOpened():
        raise MovekitError(f"{video}: cannot open the video")
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    last = int(span_s * (fps if np.isfinite(fps) and fps > 0 else 30.0))
    if total > 0:
        last = min(last, total - 1)
    want = set(np.unique(np.linspace(0, max(last, 0), n).round().astype(int)).tolist())
    out, i = [], 0
    while i <= max(want):
        if i in want:
            ok, f = cap.read()
            if ok:
                out.append(f)
        else:
            ok = cap.grab()
        if not ok:
            break
        i += 1
    cap.release()
    if not out:
        raise MovekitError(f"{video}: no frames could be read")
    return out


def analyse_calibrated(pose, profiles: dict | None = None, **kwargs):
    """:func:`movekit.analysis.pipeline.analyse` of a :class:`~movekit.recording.PoseSeries` with its
    calibration: ``profiles`` (:func:`profiles_from_metadata`; default the pose's own, as stored in
    its recording) give the camera profile (landmarks undistorted, intrinsics for the tilt
    correction) and the camera tilt. Static offsets are applied only when passed in ``kwargs``
    (``offsets=``). Other keyword arguments go to ``analyse``."""
    from movekit.analysis.pipeline import analyse

    prof = profiles_from_metadata(getattr(pose, "calibration", None) or {}) if profiles is None else profiles
    cam = prof.get("camera")
    size = getattr(pose, "frame_size_px", None)
    size = tuple(size) if size is not None and all(size) else None
    img = np.asarray(pose.image_px, dtype=np.float64)
    if cam is not None:
        img = undistort_landmarks(img, cam, size)
    tilt = prof.get("tilt")
    if tilt is not None and size is None and cam is None:
        raise MovekitError("the camera tilt correction needs the frame size, which this pose does not carry")
    world = None if pose.world_m is None else np.asarray(pose.world_m, dtype=np.float64)
    if world is not None and not np.isfinite(world).any():
        world = None  # a pose source without world landmarks (e.g. another model's 2D keypoints)
    return analyse(
        pose.t_s,
        img,
        world,
        pose.visibility,
        tilt=tilt,
        frame_size_px=size,
        camera_matrix_px=cam.K if cam is not None else None,
        **kwargs,
    )
