"""Camera tilt against gravity (pitch, roll) and its removal from the landmarks.

A single camera measures "vertical" as its own image vertical. When the camera looks down at the
client (pitch) or is rotated about its optical axis (roll), every angle referred to the vertical
(trunk inclination, trunk lateral lean, pelvic obliquity, the vertical references of hip and
shoulder angles) is off by up to the tilt itself, and a plane of motion no longer faces the
camera squarely. A rotation of the camera about its centre changes the image by a homography,
``x_level ~ K R K^-1 x`` (Hartley & Zisserman 2004, Multiple View Geometry, 2nd ed., sec. 8.4.2),
so the landmarks can be mapped *exactly* to what a level camera at the same place and heading
would have seen; world landmarks (camera-aligned) are rotated by ``R`` itself.

Conventions (degrees):

* ``pitch_deg`` + when the camera looks down (the optical axis below the horizon), - up;
* ``roll_deg`` + when the camera is turned clockwise about its optical axis as seen from behind
  it (the world then appears turned anticlockwise in the image).

Where the tilt comes from (what a clinic has):

* a level reading typed in (a spirit level or a phone's level app on the camera), or the statement
  that the camera was levelled: :func:`tilt_from_reading`;
* a checkerboard lying flat on the floor, seen by the calibrated camera: the board's normal is
  the vertical (:func:`tilt_from_board`; OpenCV ``solvePnP``);
* a quiet standing trial: the body's long axis (mid-ankle to mid-shoulder) is vertical within
  a few degrees in quiet stance (sway of +-1 deg, Winter 1995, Gait Posture 3:193), which gives
  the ROLL only (:func:`roll_from_stance`); pitch then stays unknown;
* the extrinsics of a calibrated multi-camera rig (the world's z up).

``uncertainty_deg`` is how far the true tilt may be from the stated one: it is the residual tilt
the error model (:mod:`movekit.analysis.error_model`) looks up after the correction. ``None``
for pitch or roll means not known at all.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from movekit.errors import MovekitError

#: Long-side field of view (deg) assumed when no camera profile gives the focal length: typical
#: webcams (e.g. 70 deg horizontal for a Logitech C920 at 16:9) and phone main cameras (63-70 deg)
#: span about 60-70 deg along the long side; the Pose2Sim demo rig's cameras measure 59.5 deg.
#: An error of 10 % in focal length moves a pitch-corrected point by under 1 % of its offset
#: from the image centre at 20 deg of pitch.
DEFAULT_LONG_SIDE_FOV_DEG = 65.0
#: Largest tilt the correction is applied to; beyond it the view is refused (the virtual-camera
#: sweep of ``scripts/validate_angles.py`` covers pitch 0-30 deg and roll -25..25 deg).
MAX_TILT_DEG = 45.0
#: Uncertainty of a typed level reading (deg): a bubble level or a phone level app reads to
#: about 1 deg; mounting and reading add the rest.
READING_UNCERTAINTY_DEG = 2.0
#: Uncertainty of the roll from a quiet standing trial (deg): the mid-ankle to mid-shoulder line
#: leans 1-3 deg in quiet stance (Winter 1995) plus landmark noise.
STANCE_ROLL_UNCERTAINTY_DEG = 3.0


@dataclass(frozen=True)
class CameraTilt:
    """Camera pitch and roll against gravity (deg) and how well they are known.

    ``pitch_deg``/``roll_deg`` None: not known (no correction about that axis). The uncertainty
    applies to the known ones.
    """

    pitch_deg: float | None
    roll_deg: float | None
    uncertainty_deg: float
    source: str

    def __post_init__(self) -> None:
        for name in ("pitch_deg", "roll_deg"):
            v = getattr(self, name)
            if v is not None and (not np.isfinite(v) or abs(v) > MAX_TILT_DEG):
                raise MovekitError(
                    f"camera {name.removesuffix('_deg')} {v} deg: must be a number "
                    f"within +-{MAX_TILT_DEG:g} deg (level the camera)"
                )
        if not (np.isfinite(self.uncertainty_deg) and 0 <= self.uncertainty_deg <= 90):
            raise MovekitError(f"camera tilt uncertainty {self.uncertainty_deg} deg: must be 0..90")

    @property
    def residual_pitch_deg(self) -> float | None:
        """Largest pitch (deg) left after the correction; None when the pitch is unknown."""
        return None if self.pitch_deg is None else self.uncertainty_deg

    @property
    def residual_roll_deg(self) -> float | None:
        """Largest roll (deg) left after the correction; None when the roll is unknown."""
        return None if self.roll_deg is None else self.uncertainty_deg

    def describe(self) -> str:
        """Plain words, e.g. ``camera pitch 20.0 deg down, roll 3.0 deg (+-2 deg, level reading)``."""

        def part(v, what, pos, neg):
            return f"{what} unknown" if v is None else f"{what} {abs(v):.1f} deg {pos if v >= 0 else neg}"

        return (
            f"camera {part(self.pitch_deg, 'pitch', 'down', 'up')}, "
            f"{part(self.roll_deg, 'roll', 'clockwise', 'anticlockwise')} "
            f"(+-{self.uncertainty_deg:g} deg, {self.source})"
        )

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> CameraTilt:
        """From :meth:`to_dict` output (e.g. a recording's metadata); MovekitError if malformed."""
        try:
            return cls(
                pitch_deg=None if d.get("pitch_deg") is None else float(d["pitch_deg"]),
                roll_deg=None if d.get("roll_deg") is None else float(d["roll_deg"]),
                uncertainty_deg=float(d["uncertainty_deg"]),
                source=str(d.get("source", "")),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise MovekitError(f"camera tilt: malformed record {d!r} ({exc})") from None


def tilt_from_reading(
    pitch_deg: float,
    roll_deg: float,
    *,
    uncertainty_deg: float = READING_UNCERTAINTY_DEG,
    source: str = "level reading",
) -> CameraTilt:
    """A typed level reading (deg; pitch + looking down, roll + clockwise seen from behind)."""
    return CameraTilt(float(pitch_deg), float(roll_deg), float(uncertainty_deg), source)


def parse_tilt(text: str) -> CameraTilt:
    """``"PITCH,ROLL"`` in degrees (e.g. ``"12,-3"``) or ``"level"`` (checked level: 0,0) ->
    :class:`CameraTilt` from a reading; MovekitError naming the value otherwise."""
    s = str(text).strip().lower()
    if s == "level":
        return tilt_from_reading(0.0, 0.0, source="camera stated level")
    parts = s.split(",")
    try:
        if len(parts) != 2:
            raise ValueError
        pitch, roll = (float(p) for p in parts)
    except ValueError:
        raise MovekitError(
            f"camera tilt {text!r}: give PITCH,ROLL in degrees (e.g. 12,-3; pitch + "
            "looking down, roll + clockwise seen from behind the camera) or 'level'"
        ) from None
    return tilt_from_reading(pitch, roll)


def up_in_camera(pitch_deg: float, roll_deg: float) -> np.ndarray:
    """Unit world-up vector in camera coordinates (x right, y down, z forward) for a tilt."""
    p, r = np.deg2rad(pitch_deg), np.deg2rad(roll_deg)
    return np.array([-np.sin(r) * np.cos(p), -np.cos(r) * np.cos(p), -np.sin(p)])


def tilt_of_up(up_cam) -> tuple[float, float]:
    """(pitch_deg, roll_deg) of a camera from the world-up vector in its coordinates."""
    u = np.asarray(up_cam, dtype=np.float64)
    u = u / np.linalg.norm(u)
    return (float(np.rad2deg(np.arctan2(-u[2], np.hypot(u[0], u[1])))), float(np.rad2deg(np.arctan2(-u[0], -u[1]))))


def level_rotation(pitch_deg: float | None, roll_deg: float | None) -> np.ndarray:
    """3x3 rotation from camera coordinates to those of a level camera with the same heading.

    Unknown (None) components are taken as 0 (not corrected).
    """
    u = up_in_camera(pitch_deg or 0.0, roll_deg or 0.0)
    z = np.array([0.0, 0.0, 1.0])
    zh = z - (z @ u) * u
    zh /= np.linalg.norm(zh)
    y = -u
    x = np.cross(y, zh)
    return np.stack([x, y, zh])


def camera_matrix(frame_size_px, camera_matrix_px=None) -> np.ndarray:
    """Intrinsic matrix: the given one, else centred with the :data:`DEFAULT_LONG_SIDE_FOV_DEG`."""
    if camera_matrix_px is not None:
        return np.asarray(camera_matrix_px, dtype=np.float64)
    w, h = (float(v) for v in frame_size_px)
    if not (w > 0 and h > 0):
        raise MovekitError(f"camera tilt correction needs the frame size, got {frame_size_px}")
    f = 0.5 * max(w, h) / np.tan(np.deg2rad(DEFAULT_LONG_SIDE_FOV_DEG / 2))
    return np.array([[f, 0.0, w / 2], [0.0, f, h / 2], [0.0, 0.0, 1.0]])


def level_image_points(image_px, tilt: CameraTilt, frame_size_px, camera_matrix_px=None) -> np.ndarray:
    """Image landmarks (frames, 33, >=2) px as a level camera at the same place would see them.

    Exact for a pinhole camera (a pure rotation, ``K R K^-1``); pass undistorted landmarks.
    Extra columns (MediaPipe's relative z) are kept as they are. NaN stays NaN.
    """
    p = np.array(image_px, dtype=np.float64, copy=True)
    if tilt.pitch_deg is None and tilt.roll_deg is None:
        return p
    K = camera_matrix(frame_size_px, camera_matrix_px)
    H = K @ level_rotation(tilt.pitch_deg, tilt.roll_deg) @ np.linalg.inv(K)
    xy = p[..., :2]
    q = xy @ H[:2, :2].T + H[:2, 2]
    w = xy @ H[2, :2] + H[2, 2]
    with np.errstate(invalid="ignore", divide="ignore"):
        p[..., :2] = np.where((w > 0)[..., None], q / w[..., None], np.nan)
    return p


def level_world_points(world_m, tilt: CameraTilt) -> np.ndarray:
    """Camera-aligned world landmarks (frames, 33, 3) m (MediaPipe: x right, y down, z away)
    rotated into a level camera's axes, so that -y is the true vertical."""
    w = np.asarray(world_m, dtype=np.float64)
    if tilt.pitch_deg is None and tilt.roll_deg is None:
        return w.copy()
    return w @ level_rotation(tilt.pitch_deg, tilt.roll_deg).T


def tilt_from_board(
    image_corners_px,
    pattern: tuple[int, int],
    square_mm: float,
    camera_matrix_px,
    dist_coeffs=None,
    *,
    uncertainty_deg: float = 1.0,
) -> CameraTilt:
    """Tilt from one view of a checkerboard lying flat on the floor (its normal is vertical).

    Parameters
    ----------
    image_corners_px : (n, 2) or (n, 1, 2)
        Inner corners as ``cv2.findChessboardCorners`` orders them for ``pattern`` (cols, rows).
    camera_matrix_px, dist_coeffs : intrinsics of the camera (``movekit calibrate camera``).
    uncertainty_deg : float
        Stated uncertainty; a board pose from ``solvePnP`` is good to a fraction of a degree
        when the board spans a good part of the image, the floor's flatness adds the rest.
    """
    import cv2

    c = np.asarray(image_corners_px, dtype=np.float64).reshape(-1, 1, 2)
    cols, rows = int(pattern[0]), int(pattern[1])
    if c.shape[0] != cols * rows:
        raise MovekitError(f"board: {c.shape[0]} corners found, pattern {cols}x{rows} needs {cols * rows}")
    obj = np.zeros((cols * rows, 3))
    obj[:, :2] = np.mgrid[0:cols, 0:rows].T.reshape(-1, 2) * float(square_mm) / 1000.0
    dist = np.zeros(5) if dist_coeffs is None else np.asarray(dist_coeffs, dtype=np.float64)
    ok, rvec, _tvec = cv2.solvePnP(obj, c, np.asarray(camera_matrix_px, np.float64), dist, flags=cv2.SOLVEPNP_ITERATIVE)
    if not ok:
        raise MovekitError("board: its pose could not be solved (is the whole board in view?)")
    R, _ = cv2.Rodrigues(rvec)
    normal = R[:, 2]  # board z axis in camera coordinates
    up = normal if normal @ np.array([0.0, -1.0, 0.0]) > 0 else -normal
    pitch, roll = tilt_of_up(up)
    return CameraTilt(pitch, roll, float(uncertainty_deg), "checkerboard on the floor")


def roll_from_stance(
    image_px,
    *,
    visibility=None,
    min_visibility: float = 0.5,
    frame_size_px=None,
    pitch_deg: float | None = None,
    camera_matrix_px=None,
    max_motion: float = 0.05,
) -> CameraTilt:
    """Camera roll from a quiet standing trial: the mid-ankle to mid-shoulder line is vertical.

    Each frame's body axis (image, y down) gives the angle of the vertical in the image; their
    median is the roll. With ``pitch_deg`` known (and the frame size), the points are first
    levelled for the pitch, so a client standing off the image centre does not bias the roll;
    without it the pitch stays unknown.

    Refuses (MovekitError) a trial in which the body axis moved (its angle's interquartile range
    over 2 deg), the landmarks moved more than ``max_motion`` trunk lengths (median absolute
    deviation of the mid-shoulder), or fewer than 10 frames show shoulders and ankles, and a
    body axis more than 30 deg from the image vertical (not standing, or a camera on its side).
    """
    p = np.asarray(image_px, dtype=np.float64)[..., :2]
    if p.ndim != 3 or p.shape[1] < 33:
        raise MovekitError(f"standing trial: landmarks must be (frames, 33, 2), got {np.shape(image_px)}")
    if visibility is not None:
        p = np.where((np.asarray(visibility) >= min_visibility)[..., None], p, np.nan)
    if pitch_deg is not None:
        if frame_size_px is None:
            raise MovekitError("standing trial: the frame size is needed to correct for the pitch")
        p = level_image_points(p, CameraTilt(pitch_deg, 0.0, 0.0, "pitch"), frame_size_px, camera_matrix_px)
    sh = 0.5 * (p[:, 11] + p[:, 12])
    hip = 0.5 * (p[:, 23] + p[:, 24])
    ank = 0.5 * (p[:, 27] + p[:, 28])
    axis = sh - ank
    ok = np.isfinite(axis).all(axis=1) & np.isfinite(hip).all(axis=1)
    if ok.sum() < 10:
        raise MovekitError(f"standing trial: shoulders and ankles seen in {int(ok.sum())} frames, need 10")
    # angle of the body's up direction from the image's up (-y), + clockwise in the image
    ang = np.rad2deg(np.arctan2(axis[ok, 0], -axis[ok, 1]))
    q1, med, q3 = np.percentile(ang, [25, 50, 75])
    trunk = np.nanmedian(np.hypot(*(sh[ok] - hip[ok]).T))
    motion = np.nanmedian(np.abs(sh[ok] - np.nanmedian(sh[ok], axis=0))) / trunk
    if q3 - q1 > 2.0 or motion > max_motion:
        raise MovekitError(
            f"standing trial: the client moved (body axis spread {q3 - q1:.1f} deg, "
            f"shoulder motion {motion:.2f} trunk lengths); stand still for the level check"
        )
    if abs(med) > 30:
        raise MovekitError(
            f"standing trial: body axis {med:.0f} deg from the image vertical; "
            "the client must stand upright (or the camera is on its side)"
        )
    # the world turned anticlockwise in the image (body axis leaning left, angle < 0) = camera
    # turned clockwise: roll = -angle
    return CameraTilt(
        pitch_deg,
        float(-med),
        STANCE_ROLL_UNCERTAINTY_DEG,
        "standing trial (body axis)" + ("" if pitch_deg is not None else "; pitch unknown"),
    )


#: Scene verticals: segments at least this long (fraction of the image diagonal) and within this
#: angle (deg) of the image vertical are candidates; a line is an inlier of the vertical direction
#: within :data:`VERTICAL_INLIER_DEG`; at least :data:`MIN_VERTICAL_LINES` inliers are needed.
VERTICAL_MIN_LENGTH = 0.04
VERTICAL_MAX_SLANT_DEG = 35.0
VERTICAL_INLIER_DEG = 0.75
MIN_VERTICAL_LINES = 8
#: The vertical is looked for within this angle (deg) of the camera's own vertical axis: a pitch
#: or roll beyond it is not a clinic set-up this method is for (and the floor's long edges, which
#: converge elsewhere, would otherwise win on a steeply tilted camera).
MAX_SCENE_TILT_DEG = 40.0


#: Images are searched for line segments at most this large (long side, px): the long room edges
#: the tilt needs survive the reduction, and the detector runs 5x faster on a 1768x994 frame.
SEGMENT_MAX_SIDE_PX = 960


def line_segments(image_gray) -> np.ndarray:
    """(n, 4) line segments x1, y1, x2, y2 (px of the given image) in a grey or BGR image (OpenCV's
    LSD detector, von Gioi et al. 2012, Image Processing On Line 2:35-55), found on a copy reduced
    to :data:`SEGMENT_MAX_SIDE_PX`."""
    import cv2

    g = np.asarray(image_gray)
    if g.ndim == 3:
        g = cv2.cvtColor(g, cv2.COLOR_BGR2GRAY)
    scale = min(1.0, SEGMENT_MAX_SIDE_PX / max(g.shape[:2]))
    if scale < 1.0:
        g = cv2.resize(g, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    lines = cv2.createLineSegmentDetector().detect(g)[0]
    if lines is None:
        return np.zeros((0, 4))
    return lines.reshape(-1, 4).astype(np.float64) / scale


def tilt_from_verticals(segments_px, frame_size_px, camera_matrix_px=None, *, seed: int = 0, mask=None) -> CameraTilt:
    """Camera pitch and roll from the scene's vertical edges (door frames, cupboards, walls).

    Every vertical line in the world passes, in the image, through the vertical vanishing point.
    With the intrinsics, each image line is a plane through the camera centre with unit normal
    ``n = K^T l``, and the world's vertical ``d`` satisfies ``n . d = 0`` for all vertical lines
    (Hartley & Zisserman 2004, sec. 8.6); ``d`` is found by RANSAC over pairs of near-vertical
    segments, then refined as the least-squares null vector (SVD) of its inliers weighted by
    length. The sign of ``d`` is taken upward in the image.

    Parameters
    ----------
    segments_px : (n, 4)
        Line segments x1, y1, x2, y2 (px), e.g. :func:`line_segments` of a frame.
    frame_size_px : (width, height)
    camera_matrix_px : 3x3, optional
        Intrinsics; default a centred camera with :data:`DEFAULT_LONG_SIDE_FOV_DEG`.
    mask : (n,) bool, optional
        Segments to leave out (e.g. on the client's body).

    Returns
    -------
    CameraTilt with ``uncertainty_deg`` from the inliers' spread (at least 1.5 deg; 3 deg without
    intrinsics). MovekitError when fewer than :data:`MIN_VERTICAL_LINES` vertical edges agree.
    """
    seg = np.asarray(segments_px, dtype=np.float64).reshape(-1, 4)
    if mask is not None:
        seg = seg[~np.asarray(mask, dtype=bool)]
    w, h = (float(v) for v in frame_size_px)
    K = camera_matrix(frame_size_px, camera_matrix_px)
    d = seg[:, 2:] - seg[:, :2]
    length = np.hypot(d[:, 0], d[:, 1])
    slant = np.rad2deg(np.arctan2(np.abs(d[:, 0]), np.abs(d[:, 1])))
    keep = (length >= VERTICAL_MIN_LENGTH * np.hypot(w, h)) & (slant <= VERTICAL_MAX_SLANT_DEG)
    seg, length = seg[keep], length[keep]
    if len(seg) < MIN_VERTICAL_LINES:
        raise MovekitError(
            f"scene: {len(seg)} long near-vertical edges in view, need "
            f"{MIN_VERTICAL_LINES} (door frames, cupboards, wall corners)"
        )
    a = np.column_stack([seg[:, :2], np.ones(len(seg))])
    b = np.column_stack([seg[:, 2:], np.ones(len(seg))])
    lines = np.cross(a, b)
    n = lines @ K  # K^T l as row vectors
    n /= np.linalg.norm(n, axis=1, keepdims=True)
    best = _ransac_vertical(n, length, seed)
    if best is None or best.sum() < MIN_VERTICAL_LINES:
        raise MovekitError(
            f"scene: the vertical edges do not agree on one vertical "
            f"({0 if best is None else int(best.sum())} agree, need {MIN_VERTICAL_LINES})"
        )
    _u, _s, vt = np.linalg.svd(n[best] * np.sqrt(length[best])[:, None])
    up = vt[-1]
    if up[1] > 0:  # image y points down: up has negative y
        up = -up
    resid = np.rad2deg(np.arcsin(np.clip(np.abs(n[best] @ up), 0, 1)))
    pitch, roll = tilt_of_up(up)
    base = 1.5 if camera_matrix_px is not None else 3.0
    unc = max(base, float(3 * np.median(resid) / np.sqrt(max(1, best.sum() / 4))))
    return CameraTilt(
        pitch,
        roll,
        unc,
        f"scene verticals ({int(best.sum())} edges"
        + ("" if camera_matrix_px is not None else ", default field of view")
        + ")",
    )


def _ransac_vertical(n: np.ndarray, length: np.ndarray, seed: int) -> np.ndarray | None:
    """Inlier mask of the image lines (unit plane normals ``n``) that agree on one vertical (RANSAC).

    Each pair of lines proposes the vertical ``d = n_i x n_j``; a line is an inlier when its plane
    holds ``d`` within :data:`VERTICAL_INLIER_DEG` (Hartley & Zisserman 2004, sec. 8.6). The most
    inliers win, their summed length (px) breaks ties. ``None`` when no pair gave a usable vertical.
    """
    tol = np.sin(np.deg2rad(VERTICAL_INLIER_DEG))
    rng = np.random.default_rng(seed)
    m = len(n)
    pairs = np.array([rng.choice(m, 2, replace=False) for _ in range(min(500, m * (m - 1) // 2))], dtype=np.intp)
    if len(pairs) == 0:
        return None
    v = np.cross(n[pairs[:, 0]], n[pairs[:, 1]])  # every hypothesis at once
    nv = np.linalg.norm(v, axis=1)
    ok = nv >= 1e-9
    v[ok] /= nv[ok, None]
    ok &= np.abs(v[:, 1]) >= np.cos(np.deg2rad(MAX_SCENE_TILT_DEG))  # within the tilts this method serves
    if not ok.any():
        return None
    v = v[ok]
    inl = np.abs(n @ v.T) < tol  # (lines, hypotheses)
    score = inl.sum(axis=0) + (length @ inl) / (length.sum() + 1.0)  # count first, length breaks ties
    best = inl[:, int(np.argmax(score))]  # the first of equal scores, as a sequential search keeps it
    return best


__all__ = [
    "CameraTilt",
    "DEFAULT_LONG_SIDE_FOV_DEG",
    "camera_matrix",
    "level_image_points",
    "level_rotation",
    "level_world_points",
    "parse_tilt",
    "roll_from_stance",
    "tilt_from_board",
    "tilt_from_reading",
    "tilt_from_verticals",
    "tilt_of_up",
    "up_in_camera",
    "line_segments",
]
