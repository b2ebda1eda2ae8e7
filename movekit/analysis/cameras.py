"""Calibrated pinhole cameras (OpenCV model); readers for Qualisys ``.qca.txt`` and Anipose /
Pose2Sim ``.toml`` calibrations, and a ``.toml`` writer.

Conventions
-----------
* World (lab) frame: metres, z up (the floor of a Qualisys calibration is z = 0).
* Camera frame (OpenCV): x toward image right, y toward image DOWN, z along the optical axis
  (forward). ``R`` maps world to camera coordinates, ``X_cam = R @ X_world + t``; the rows of
  ``R`` are the camera's axes expressed in the world frame. The camera centre is ``-R.T @ t``.
* Image: pixels, x right, y down, origin at the top-left pixel's centre (OpenCV).
* Distortion: OpenCV's ``(k1, k2, p1, p2, k3)``.
"""

from __future__ import annotations

import math
import tomllib
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from movekit.errors import MovekitError


@dataclass(frozen=True)
class PinholeCamera:
    """One calibrated camera.

    Attributes
    ----------
    name : str
    width_px, height_px : int
        Image size the intrinsics refer to.
    K : (3, 3) float64
        Intrinsic matrix (px).
    dist : (5,) float64
        OpenCV distortion ``(k1, k2, p1, p2, k3)``.
    R : (3, 3) float64
        World-to-camera rotation (orthonormal, det +1).
    t : (3,) float64
        World-to-camera translation (m).
    """

    name: str
    width_px: int
    height_px: int
    K: np.ndarray
    dist: np.ndarray = field(default_factory=lambda: np.zeros(5))
    R: np.ndarray = field(default_factory=lambda: np.eye(3))
    t: np.ndarray = field(default_factory=lambda: np.zeros(3))

    def __post_init__(self) -> None:
        K = np.asarray(self.K, np.float64).reshape(3, 3)
        dist = np.zeros(5)
        d = np.asarray(self.dist, np.float64).ravel()
        dist[: min(5, d.size)] = d[:5]
        R = np.asarray(self.R, np.float64).reshape(3, 3)
        t = np.asarray(self.t, np.float64).reshape(3)
        if not (np.allclose(R @ R.T, np.eye(3), atol=1e-6) and np.linalg.det(R) > 0):
            raise MovekitError(f"camera {self.name!r}: R is not a rotation matrix")
        object.__setattr__(self, "K", K)
        object.__setattr__(self, "dist", dist)
        object.__setattr__(self, "R", R)
        object.__setattr__(self, "t", t)

    @property
    def centre_m(self) -> np.ndarray:
        """Camera centre in the world frame (m), ``-R.T @ t``."""
        return -self.R.T @ self.t

    @property
    def pitch_roll_deg(self) -> tuple[float, float]:
        """Camera tilt against the world's vertical (z up), in degrees.

        * pitch: angle of the optical axis below the horizontal plane; + looking down, - up.
          ``asin(-z_cam . z_up)``.
        * roll: rotation about the optical axis; + when the camera is turned clockwise as seen
          from behind it (its image x axis then points below the horizon, and the world appears
          turned anticlockwise in the image). ``atan2(-x_cam . z_up, -y_cam . z_up)``; 0 when the
          image's x axis is level and its y axis points down.

        The same conventions as :mod:`movekit.analysis.camera_tilt`.
        """
        x_up, y_up, z_up = self.R[:, 2]  # z component of each camera axis in the world
        pitch = math.degrees(math.asin(float(np.clip(-z_up, -1.0, 1.0))))
        roll = math.degrees(math.atan2(-x_up, -y_up))
        return pitch, roll

    def to_camera(self, points_m: np.ndarray) -> np.ndarray:
        """World points ``(..., 3)`` (m) in camera coordinates ``(..., 3)`` (m)."""
        p = np.asarray(points_m, np.float64)
        return p @ self.R.T + self.t

    def project(self, points_m: np.ndarray) -> np.ndarray:
        """Image position (px) of world points ``(..., 3)`` (m) through :func:`cv2.projectPoints`
        (with distortion). NaN in, NaN out; points behind the camera are NaN."""
        import cv2

        p = np.asarray(points_m, np.float64)
        shape = p.shape[:-1]
        flat = p.reshape(-1, 3)
        out = np.full((flat.shape[0], 2), np.nan)
        ok = np.isfinite(flat).all(axis=1)
        ok[ok] = self.to_camera(flat[ok])[:, 2] > 1e-9
        if ok.any():
            rvec = cv2.Rodrigues(self.R)[0]
            img, _ = cv2.projectPoints(flat[ok].reshape(-1, 1, 3), rvec, self.t, self.K, self.dist)
            out[ok] = img.reshape(-1, 2)
        return out.reshape(*shape, 2)

    def undistort(self, points_px: np.ndarray) -> np.ndarray:
        """Distortion removed from image points ``(..., 2)`` (px): where an ideal pinhole camera
        with the same ``K`` would have seen them (:func:`cv2.undistortPoints` with ``P=K``)."""
        import cv2

        p = np.asarray(points_px, np.float64)
        flat = p.reshape(-1, 2)
        out = np.full_like(flat, np.nan)
        ok = np.isfinite(flat).all(axis=1)
        if ok.any():
            out[ok] = cv2.undistortPoints(flat[ok].reshape(-1, 1, 2), self.K, self.dist, P=self.K).reshape(-1, 2)
        return out.reshape(p.shape)


#: Qualisys stores intrinsics (focal lengths, principal point) in sub-pixel units of the sensor:
#: 64 per pixel (``sensorMaxU`` 69568 = 1087 * 64 for a 1088-px-wide image).
QCA_SUBPIXELS = 64.0
#: Largest image side (px) a calibration may give (a 16K sensor; beyond is a corrupt file)
MAX_IMAGE_PX = 16384

# Qualisys' camera frame looks along -z with y up (as OpenGL); OpenCV's along +z with y down:
# a half turn about the camera's x axis takes one to the other.
_QUALISYS_TO_OPENCV = np.diag([1.0, -1.0, -1.0])


def read_qualisys_qca(path: str | Path) -> list[PinholeCamera]:
    """Cameras of a Qualisys Track Manager calibration exported as ``.qca.txt`` (XML), in metres.

    What the file holds, per ``<camera>`` (the convention Pose2Sim uses to read and write it,
    ``Pose2Sim.calibration.read_qca``/``calib_qca_fun`` and ``Utilities/calib_toml_to_qca``,
    Pagnon et al. 2022, JOSS 7:4362; checked here with the real pose model on the demo's four
    views: the triangulated landmarks reproject with a median error of 8-10 px on 1920-px-tall
    frames (the model's own scatter is about 0.03 torso lengths, ~9 px), the feet come out a few
    cm above z = 0 and a standing man's eyes at 1.56 m; the transposed rotation points the cameras
    away from the subject):

    * ``fov_video`` left/right/top/bottom: the image in sensor pixels (inclusive), so the width
      is ``right - left + 1``;
    * ``intrinsic`` focalLengthU/V, centerPointU/V in 1/64 px (:data:`QCA_SUBPIXELS`), the
      principal point relative to ``fov_video``'s top-left; radial and tangential distortion
      likewise scaled by 64 (as Pose2Sim's ``calib_toml_to_qca`` writes them, and this file was
      written by it; on the demo the distortion moves the triangulated points' reprojection
      error by under 0.05 px either way, so the data cannot confirm the scale);
    * ``transform`` r11..r33 and x, y, z (mm): the camera's orientation and its centre in the lab
      (z up). With ``M = [[r11, r12, r13], [r21, r22, r23], [r31, r32, r33]]`` the world-to-camera
      rotation of a Qualisys camera (looking along its -z, y up) is ``M``; OpenCV's is
      ``diag(1, -1, -1) @ M`` and ``t = -R @ centre``.

    Only ``viewrotation="0"`` is read (a rotated view changes which way the image axes run and
    is not handled); cameras come in file order.

    Raises
    ------
    MovekitError
        Missing or unreadable file, no cameras, a missing or non-numeric attribute, a
        non-orthonormal rotation, or a non-zero ``viewrotation``.
    """
    path = Path(path)
    try:
        root = ET.parse(path).getroot()
    except FileNotFoundError:
        raise MovekitError(f"{path}: no such calibration file") from None
    except (ET.ParseError, OSError) as exc:
        raise MovekitError(f"{path}: not a readable Qualisys .qca XML file ({exc})") from None
    cams = root.findall("cameras/camera")
    if not cams:
        raise MovekitError(f"{path}: no <cameras><camera> elements: not a Qualisys .qca calibration")
    return [_qca_camera(path, cam, i) for i, cam in enumerate(cams)]


def _qca_camera(path: Path, cam, i: int) -> PinholeCamera:
    """One ``<camera>`` element of a .qca.txt as a :class:`PinholeCamera` (see :func:`read_qualisys_qca`)."""
    name = cam.get("serial") or f"cam{i + 1:02d}"

    def num(tag: str, key: str, cam=cam, name=name) -> float:
        el = cam.find(tag)
        value = None if el is None else el.get(key)
        try:
            v = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise MovekitError(f"{path}: camera {name!r} has no numeric {tag}/@{key} (got {value!r})") from None
        if not math.isfinite(v):
            raise MovekitError(f"{path}: camera {name!r} {tag}/@{key} is {value!r}")
        return v

    rot = cam.get("viewrotation", "0").strip() or "0"
    if rot not in ("0", "0.0"):
        raise MovekitError(f"{path}: camera {name!r} has viewrotation={rot}; only 0 is supported")
    left, right = num("fov_video", "left"), num("fov_video", "right")
    top, bottom = num("fov_video", "top"), num("fov_video", "bottom")
    width, height = int(round(right - left + 1)), int(round(bottom - top + 1))
    if not (0 < width <= MAX_IMAGE_PX and 0 < height <= MAX_IMAGE_PX):
        raise MovekitError(f"{path}: camera {name!r} fov_video gives a {width}x{height} image (1..{MAX_IMAGE_PX} px)")
    s = QCA_SUBPIXELS
    K = np.array(
        [
            [num("intrinsic", "focalLengthU") / s, 0.0, num("intrinsic", "centerPointU") / s - left],
            [0.0, num("intrinsic", "focalLengthV") / s, num("intrinsic", "centerPointV") / s - top],
            [0.0, 0.0, 1.0],
        ]
    )
    if K[0, 0] <= 0 or K[1, 1] <= 0:
        raise MovekitError(f"{path}: camera {name!r} has a focal length <= 0")
    dist = (
        np.array(
            [
                num("intrinsic", "radialDistortion1"),
                num("intrinsic", "radialDistortion2"),
                num("intrinsic", "tangentalDistortion1"),
                num("intrinsic", "tangentalDistortion2"),
                num("intrinsic", "radialDistortion3"),
            ]
        )
        / s
    )
    M = np.array([[num("transform", f"r{r}{c}") for c in (1, 2, 3)] for r in (1, 2, 3)])
    if not (np.allclose(M @ M.T, np.eye(3), atol=1e-4) and abs(np.linalg.det(M) - 1) < 1e-4):
        raise MovekitError(f"{path}: camera {name!r} transform r11..r33 is not a rotation matrix")
    # re-orthonormalise the 16-digit matrix exactly (SVD), then change axes to OpenCV's
    u, _, vt = np.linalg.svd(M)
    R = _QUALISYS_TO_OPENCV @ (u @ vt)
    centre = np.array([num("transform", k) for k in "xyz"]) / 1000.0
    return PinholeCamera(name, width, height, K, dist, R, -R @ centre)


def read_calibration_toml(path: str | Path) -> list[PinholeCamera]:
    """Cameras of an Anipose / Pose2Sim calibration ``.toml`` (OpenCV model), in file order.

    One table per camera (any name but ``metadata``) with ``name``, ``size = [width, height]``
    (px), ``matrix`` (3x3 K, px), ``distortions`` (OpenCV ``k1, k2, p1, p2[, k3]``), ``rotation``
    (Rodrigues vector, world to camera) and ``translation`` (m, world to camera), as Pose2Sim's
    ``calibration.py`` writes them (Pagnon et al. 2022, JOSS 7:4362; Karashchuk et al. 2021,
    Cell Rep 36:109730 for Anipose). ``fisheye = true`` is refused (another lens model).

    Raises
    ------
    MovekitError
        Missing or malformed file, no camera, a missing or malformed field.
    """

    import cv2

    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MovekitError(f"{path}: no such calibration file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
        raise MovekitError(f"{path}: not a readable TOML calibration ({exc})") from None
    out = []
    for key, cam in data.items():
        if key == "metadata" or not isinstance(cam, dict):
            continue
        name = str(cam.get("name", key))
        try:
            w, h = (float(v) for v in cam["size"])
            if not (0 < w <= MAX_IMAGE_PX and 0 < h <= MAX_IMAGE_PX):
                raise MovekitError(
                    f"{path}: camera {name!r}: size {cam['size']} is not an image (1..{MAX_IMAGE_PX} px)"
                )
            w, h = int(round(w)), int(round(h))
            K = np.asarray(cam["matrix"], dtype=np.float64).reshape(3, 3)
            dist = np.asarray(cam.get("distortions", [0.0] * 4), dtype=np.float64).ravel()
            rvec = np.asarray(cam["rotation"], dtype=np.float64).reshape(3)
            t = np.asarray(cam["translation"], dtype=np.float64).reshape(3)
        except KeyError as exc:
            raise MovekitError(f"{path}: camera {name!r} has no {exc.args[0]!r}") from None
        except (TypeError, ValueError) as exc:
            raise MovekitError(
                f"{path}: camera {name!r}: a field has the wrong shape or is not numeric ({exc})"
            ) from None
        if cam.get("fisheye", False):
            raise MovekitError(f"{path}: camera {name!r} is a fisheye calibration; only the pinhole model is supported")
        if not (np.isfinite(K).all() and np.isfinite(dist).all() and np.isfinite(rvec).all() and np.isfinite(t).all()):
            raise MovekitError(f"{path}: camera {name!r} has a non-finite number")
        if w <= 0 or h <= 0 or K[0, 0] <= 0 or K[1, 1] <= 0 or dist.size not in (4, 5):
            raise MovekitError(
                f"{path}: camera {name!r}: size, focal length or distortions (k1, k2, p1, p2[, k3]) out of range"
            )
        out.append(PinholeCamera(name, w, h, K, dist, cv2.Rodrigues(rvec)[0], t))
    if not out:
        raise MovekitError(f"{path}: no camera tables ([cam_01] ...): not a calibration .toml")
    return out


#: What can give a calibration's lab vertical (``[metadata] vertical`` of a movekit ``.toml``,
#: :func:`calibration_vertical`) whose error against a true vertical was never measured: the
#: angles measured against the vertical (:data:`movekit.analysis.angles.VERTICAL_REFERENCED`) are
#: refused with it. The person's standing axis put the vertical 10.5-11.8 deg off on Pose2Sim's demo
#: (two cameras, the subject moving; issue 17's outside check), where lean is gated at 3 deg.
UNMEASURED_VERTICALS = ("person",)


def calibration_vertical(path: str | Path) -> str | None:
    """What gave a calibration's lab vertical: the ``vertical`` of a movekit ``.toml``'s
    ``[metadata]`` ("board", "floor board", "person"), "qualisys" for a ``.qca.txt`` (its lab
    frame is the motion-capture system's, levelled with its L-frame), None when a ``.toml`` does
    not say (written elsewhere, or before movekit recorded it)."""
    path = Path(path)
    if path.name.lower().endswith(".qca.txt"):
        return "qualisys"
    try:
        meta = tomllib.loads(path.read_text(encoding="utf-8")).get("metadata", {})
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError):
        return None
    v = meta.get("vertical") if isinstance(meta, dict) else None
    return str(v) if isinstance(v, str) and v else None


def calibration_toml_text(
    cameras: list[PinholeCamera], *, error_px: float | None = None, vertical: str | None = None
) -> str:
    """The Anipose / Pose2Sim ``.toml`` text of ``cameras`` (see :func:`read_calibration_toml`);
    ``error_px`` the calibration's reprojection error if known; ``vertical`` what gave the lab's
    vertical (:func:`calibration_vertical`), written as ``[metadata] vertical`` when known."""
    import cv2

    def arr(a) -> str:
        return "[ " + ", ".join(repr(float(v)) for v in np.ravel(a)) + ",]"

    lines = []
    for i, c in enumerate(cameras, 1):
        rvec = cv2.Rodrigues(c.R)[0].ravel()
        lines += [
            f"[cam_{i:02d}]",
            f'name = "{c.name}"',
            f"size = {arr([c.width_px, c.height_px])}",
            "matrix = [ " + ", ".join(arr(r) for r in c.K) + ",]",
            f"distortions = {arr(c.dist)}",
            f"rotation = {arr(rvec)}",
            f"translation = {arr(c.t)}",
            "fisheye = false",
            "",
        ]
    lines += ["[metadata]", "adjusted = false", f"error = {float(error_px) if error_px is not None else 0.0!r}"]
    lines += [f'vertical = "{vertical}"'] if vertical else []
    lines += [""]
    return "\n".join(lines)


def write_calibration_toml(cameras: list[PinholeCamera], path: str | Path, *, error_px: float | None = None) -> None:
    """Write cameras as an Anipose / Pose2Sim ``.toml`` (:func:`calibration_toml_text`). The file
    is created private (0600) and never replaces an existing one (commands that honour
    ``--overwrite`` write the text through :mod:`movekit.outputs` instead)."""
    import os

    fd = os.open(Path(path), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(calibration_toml_text(cameras, error_px=error_px))


#: Largest relative difference between a source's frame side and its calibrated one that passes
FRAME_SIZE_TOLERANCE = 0.02


def check_frame_sizes(cameras: Sequence[PinholeCamera], sizes_px, sources) -> None:
    """MovekitError when a source's frames are not the size its camera was calibrated at: the
    intrinsics (focal length and centre, px) then do not describe those pixels, and every ray is
    wrong (a 544x960 video against a 1088x1920 calibration put the camera 8 m away and passed).
    ``sizes_px``: per source (width, height) px, None or 0 where unknown (not checked). A side
    within :data:`FRAME_SIZE_TOLERANCE` of the calibrated one passes: Pose2Sim's demo videos are
    1080 px wide where their Qualisys calibration says 1088 (the encoder's 16-pixel blocks)."""
    for cam, size, src in zip(cameras, sizes_px, sources):
        if size is None or not all(size):
            continue
        w, h = (int(v) for v in size)
        if abs(w - cam.width_px) > FRAME_SIZE_TOLERANCE * cam.width_px or abs(h - cam.height_px) > (
            FRAME_SIZE_TOLERANCE * cam.height_px
        ):
            raise MovekitError(
                f"{src}: its frames are {w}x{h} px but camera {cam.name} of the calibration is for "
                f"{cam.width_px}x{cam.height_px} px; record at the calibrated size or calibrate the camera at this one"
            )


def read_calibration(path: str | Path) -> list[PinholeCamera]:
    """Cameras of a calibration file: Qualisys ``.qca.txt`` (XML) or Anipose/Pose2Sim ``.toml``."""
    p = Path(path)
    if p.suffix.lower() == ".toml":
        return read_calibration_toml(p)
    if p.name.lower().endswith((".qca.txt", ".qca", ".xml")):
        return read_qualisys_qca(p)
    raise MovekitError(f"{p}: unknown calibration format (expected a Qualisys .qca.txt or an Anipose/Pose2Sim .toml)")


__all__ = [
    "PinholeCamera",
    "QCA_SUBPIXELS",
    "calibration_toml_text",
    "read_calibration",
    "read_calibration_toml",
    "read_qualisys_qca",
    "write_calibration_toml",
]
