"""Virtual pinhole cameras around a subject: render 3D landmarks (lab frame, z up) to image pixels.

Used by the angle-validity harness (``scripts/validate_angles.py``) to test view gating and tilt
correction exactly: the same 3D pose seen from a chosen body-relative yaw, camera pitch and roll.

Frames and conventions
----------------------
* Lab frame: metres, z UP (gravity is -z), any horizontal x, y, right-handed.
* Body heading: the subject's anterior direction in the horizontal plane, ``up x right`` where
  ``right`` is the horizontal part of (left -> right hip) + (left -> right shoulder), averaged over
  the frames (:func:`body_heading`).
* ``yaw_deg`` (body-relative camera azimuth, right-handed about z seen from above): 0 = the camera
  in front of the subject (face-on), +90 = the camera on the subject's LEFT (left side toward the
  camera, the subject faces image left: ``sagittal_left``), -90 = on the subject's RIGHT
  (``sagittal_right``), +-180 = behind. Note :mod:`movekit.analysis.synthetic` uses the opposite
  sign (+90 = right side toward the camera); the view labels agree.
* ``pitch_deg``: the optical axis below the horizontal (looking down +).
* ``roll_deg``: rotation of the camera about its optical axis; + turns the camera's x axis (image
  right) toward its y axis (image down), i.e. clockwise as seen from behind the camera, so the world
  appears turned counter-clockwise in the image.
* Camera: :class:`movekit.analysis.cameras.PinholeCamera` (OpenCV model, x right, y down, z
  forward; ``R`` maps lab to camera, ``x_cam = R X + t``; its ``pitch_roll_deg`` uses the same
  pitch and roll conventions as here and :mod:`movekit.analysis.camera_tilt`).
  Image points as MediaPipe's ``image_px``: x right, y down in px of the frame; the third column is a
  relative depth in px (camera depth minus the mid-hip's, times ``fx / depth of the mid-hip``), like
  MediaPipe's z scaled by the frame width (rough).

Two 2D error models, both in torso lengths (mid-shoulder to mid-hip in the image) so they scale
with the subject's size in the frame: :func:`add_noise_2d`, zero-mean Gaussian per landmark and
axis (optionally first-order autoregressive in time), and :func:`add_error_2d`, a real view's
recorded pose-model error replayed (correlated between landmarks and over time, as the model's is).
"""

from __future__ import annotations

import cv2
import numpy as np

from movekit.analysis.cameras import PinholeCamera
from movekit.analysis.view import trunk_length_px

_UP = np.array([0.0, 0.0, 1.0])


def focal_px(hfov_deg: float, width_px: int) -> float:
    """Focal length (px) of a pinhole with horizontal field of view ``hfov_deg`` over ``width_px``."""
    return 0.5 * width_px / np.tan(np.deg2rad(hfov_deg) / 2.0)


def body_heading(lab_m) -> tuple[np.ndarray, np.ndarray]:
    """Mean mid-hip (m, (3,)) and the unit horizontal anterior direction ((3,)) over all frames.

    ``lab_m`` (frames, 33, 3) lab frame, z up, MediaPipe landmark order (odd = subject's left).
    """
    p = np.asarray(lab_m, dtype=np.float64)
    right = np.nanmean((p[:, 24] - p[:, 23]) + (p[:, 12] - p[:, 11]), axis=0)
    right[2] = 0.0
    right /= np.linalg.norm(right)
    ant = np.cross(_UP, right)
    hip = np.nanmean(0.5 * (p[:, 23] + p[:, 24]), axis=0)
    return hip, ant / np.linalg.norm(ant)


def tilt_matrix(pitch_deg: float, roll_deg: float) -> np.ndarray:
    """Rotation (camera coordinates) taking a level camera to one pitched then rolled:
    ``R = tilt_matrix(p, r) @ R_level``. Its transpose maps a tilted camera's rays to the level camera's."""
    p, r = np.deg2rad(pitch_deg), np.deg2rad(roll_deg)
    P = np.array([[1.0, 0.0, 0.0], [0.0, np.cos(p), -np.sin(p)], [0.0, np.sin(p), np.cos(p)]])
    Q = np.array([[np.cos(r), np.sin(r), 0.0], [-np.sin(r), np.cos(r), 0.0], [0.0, 0.0, 1.0]])
    return Q @ P


def place_camera(
    lab_m,
    *,
    yaw_deg: float,
    pitch_deg: float = 0.0,
    roll_deg: float = 0.0,
    distance_m: float = 3.5,
    height_m: float | None = None,
    hfov_deg: float = 60.0,
    size_px: tuple[int, int] = (1920, 1080),
    centre_m=None,
    anterior=None,
) -> PinholeCamera:
    """A camera at ``distance_m`` (horizontal) from the subject's mean mid-hip at body-relative yaw.

    Parameters
    ----------
    lab_m : array (frames, 33, 3)
        Landmarks in the lab frame (m, z up); gives the mid-hip and heading unless given.
    yaw_deg, pitch_deg, roll_deg : float
        See the module docstring (deg).
    distance_m : float
        Horizontal distance from the mean mid-hip (m).
    height_m : float, optional
        Camera centre height (lab z, m). Default: the height at which the optical axis passes
        through the mean mid-hip (``hip z + distance * tan(pitch)``).
    hfov_deg, size_px : float, (width, height)
        Horizontal field of view (deg) and image size (px); square pixels, principal point centred.
    centre_m, anterior : array (3,), optional
        Override the mid-hip and the unit anterior direction.
    """
    hip, ant = body_heading(lab_m)
    hip = hip if centre_m is None else np.asarray(centre_m, dtype=np.float64)
    ant = ant if anterior is None else np.asarray(anterior, dtype=np.float64)
    left = np.cross(_UP, ant)
    a = np.deg2rad(yaw_deg)
    u = np.cos(a) * ant + np.sin(a) * left  # from the subject toward the camera
    if height_m is None:
        height_m = hip[2] + distance_m * np.tan(np.deg2rad(pitch_deg))
    C = np.array([hip[0], hip[1], 0.0]) + distance_m * u
    C[2] = height_m
    z = -u
    y = -_UP
    x = np.cross(y, z)
    R = tilt_matrix(pitch_deg, roll_deg) @ np.stack([x, y, z])
    w, h = size_px
    f = focal_px(hfov_deg, w)
    K = np.array([[f, 0.0, w / 2.0], [0.0, f, h / 2.0], [0.0, 0.0, 1.0]])
    return PinholeCamera(
        f"virtual yaw {yaw_deg:g} pitch {pitch_deg:g} roll {roll_deg:g}", int(w), int(h), K, np.zeros(5), R, -R @ C
    )


def project(lab_m, cam: PinholeCamera) -> np.ndarray:
    """Image landmarks (frames, 33, 3) px: x right, y down (``cv2.projectPoints``), relative depth z.

    NaN landmarks stay NaN, as do points behind the camera.
    """
    p = np.asarray(lab_m, dtype=np.float64)
    shp = p.shape
    flat = p.reshape(-1, 3)
    ok = np.isfinite(flat).all(1)
    out = np.full((flat.shape[0], 3), np.nan)
    if ok.any():
        rvec = cv2.Rodrigues(cam.R)[0]
        uv = cv2.projectPoints(flat[ok][:, None], rvec, cam.t, cam.K, cam.dist)[0][:, 0]
        depth = flat[ok] @ cam.R[2] + cam.t[2]
        out[ok, :2] = np.where((depth > 0)[:, None], uv, np.nan)
        out[ok, 2] = depth
    out = out.reshape(shp)
    hip_depth = 0.5 * (out[:, 23, 2] + out[:, 24, 2])
    with np.errstate(invalid="ignore", divide="ignore"):
        out[..., 2] = (out[..., 2] - hip_depth[:, None]) * cam.K[0, 0] / hip_depth[:, None]
    return out


def add_noise_2d(image_px, sd_torso, *, rng: np.random.Generator | int | None = 0, ar1: float = 0.0) -> np.ndarray:
    """Image landmarks with Gaussian noise of ``sd_torso`` torso lengths per landmark (and axis).

    Parameters
    ----------
    image_px : array (frames, 33, >=2) px
    sd_torso : float or array (33,) or (33, 2)
        Standard deviation in torso lengths (mid-shoulder to mid-hip in the image, per frame).
    rng : numpy Generator or seed
    ar1 : float
        Lag-one autocorrelation of the noise (0 = white); the marginal SD stays ``sd_torso``.
    """
    p = np.array(image_px, dtype=np.float64, copy=True)
    n = p.shape[0]
    g = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    sd = np.broadcast_to(
        np.asarray(sd_torso, dtype=np.float64).reshape((-1, 1) if np.ndim(sd_torso) == 1 else np.shape(sd_torso)),
        (33, 2),
    )
    e = g.standard_normal((n, 33, 2))
    if ar1 and n > 1:
        from scipy.signal import lfilter

        e = lfilter([np.sqrt(1.0 - ar1 * ar1)], [1.0, -ar1], e, axis=0)
        e[0] = g.standard_normal((33, 2))  # stationary start
    L = trunk_length_px(p)
    p[..., :2] += e * sd * L[:, None, None]
    return p


def add_error_2d(image_px, error_torso, *, start: int = 0) -> np.ndarray:
    """Image landmarks plus a recorded pose-model error, scaled by each frame's torso length.

    ``error_torso`` (frames_e, 33, 2): a real view's landmark error (the model's landmarks minus
    the reference reprojected into that view) in torso lengths; it keeps the model's error as it
    is: correlated between landmarks (a whole limb shifted) and over time. It is replayed from
    frame ``start`` (cyclically, so any length fits); NaN (the model saw no landmark) adds 0.
    """
    p = np.array(image_px, dtype=np.float64, copy=True)
    e = np.nan_to_num(np.asarray(error_torso, dtype=np.float64)[..., :2])
    idx = (start + np.arange(p.shape[0])) % e.shape[0]
    p[..., :2] += e[idx] * trunk_length_px(p)[:, None, None]
    return p


def render(lab_m, *, sd_torso=0.0, rng=0, ar1: float = 0.0, **placement) -> tuple[np.ndarray, PinholeCamera]:
    """Place a camera (:func:`place_camera` keywords), project and add noise: ``(image_px, camera)``."""
    cam = place_camera(lab_m, **placement)
    img = project(lab_m, cam)
    if np.any(np.asarray(sd_torso) > 0):
        img = add_noise_2d(img, sd_torso, rng=rng, ar1=ar1)
    return img, cam


def true_yaw_deg(lab_m, cam: PinholeCamera) -> np.ndarray:
    """Per frame, the camera's azimuth relative to the body's own heading (deg, -180..180,
    convention of the module docstring), from the hip and shoulder lines of that frame."""
    p = np.asarray(lab_m, dtype=np.float64)
    right = (p[:, 24] - p[:, 23]) + (p[:, 12] - p[:, 11])
    ant = np.cross(_UP, right)
    hip = 0.5 * (p[:, 23] + p[:, 24])
    u = cam.centre_m[None] - hip
    ang = np.arctan2(ant[:, 0] * u[:, 1] - ant[:, 1] * u[:, 0], ant[:, 0] * u[:, 0] + ant[:, 1] * u[:, 1])
    return np.rad2deg(ang)


__all__ = [
    "add_error_2d",
    "add_noise_2d",
    "body_heading",
    "focal_px",
    "place_camera",
    "project",
    "render",
    "tilt_matrix",
    "true_yaw_deg",
]
