"""Landmarks as OpenSim markers: metres, Y up, MediaPipe names (Pose2Sim's ``Markers_BlazePose.xml``).

Pose2Sim's BlazePose marker set and OpenSim model name the markers exactly as MediaPipe does
(``nose``, ``left_shoulder``, ..., ``right_foot_index``), the names of
:data:`movekit.analysis.landmarks.NAMES`; all 33 are exported, IK uses those in its marker set.

Frames (OpenSim: X forward, Y up, Z right-handed):

- ``3d``: MediaPipe world landmarks (m, x right, y down, z away from the camera, origin between
  the hips in every frame) turned 180 deg about x: ``X = x, Y = -y, Z = -z``. The pelvis stays at
  the origin (MediaPipe gives no translation of the body).
- ``2d``: image landmarks in the camera plane, ``X = x_px * s``, ``Y = (height_px - y_px) * s``,
  ``Z = 0``, with a stated scale ``s`` (m/px).
- ``3d-triangulated`` (a recording made by ``movekit triangulate``, :func:`from_lab`): the
  triangulated landmarks ``pose_3d_m`` in the calibration's lab frame (m; x, y on the floor plane,
  z up from the floor) turned -90 deg about x, the Z-up to Y-up rotation of Pose2Sim's
  ``trc_Zup_to_Yup``: ``X = x, Y = z, Z = -y``. A proper rotation (no mirroring), so the body keeps
  its handedness, its place in the lab and its height above the floor (``Y``). A landmark not
  triangulated in a frame is missing there, never zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from movekit.analysis.landmarks import HEEL, NAMES, NOSE


@dataclass
class Markers:
    """Marker trajectories on a uniform time grid.

    Attributes
    ----------
    t_s : (frames,) float64, seconds on the session clock
    xyz_m : (frames, markers, 3) float64, metres; NaN where a marker is missing
    names : tuple of str
    rate_hz : float
    notes : dict
        Frame, scale, masking and resampling, in words and numbers (for headers and sidecars).
    """

    t_s: np.ndarray
    xyz_m: np.ndarray
    names: tuple[str, ...]
    rate_hz: float
    notes: dict = field(default_factory=dict)


def uniform_grid(t_s: np.ndarray) -> tuple[np.ndarray, float, bool]:
    """(uniform times, rate_hz, resampled): the frame times when already uniform within 1% of a
    frame, else a uniform grid at the median frame rate spanning them."""
    from movekit.analysis.pipeline import frame_rate

    t = np.asarray(t_s, np.float64)
    rate = frame_rate(t)
    if len(t) < 2:
        return t, rate, False
    grid = t[0] + np.arange(len(t)) / rate
    if np.max(np.abs(grid - t)) <= 0.01 / rate:
        return t, rate, False
    n = int(np.floor((t[-1] - t[0]) * rate + 1e-9)) + 1
    return t[0] + np.arange(n) / rate, rate, True


def resample(t_s: np.ndarray, x: np.ndarray, grid_s: np.ndarray) -> np.ndarray:
    """Linear interpolation of ``x`` (samples, ...) onto ``grid_s``; NaN outside ``t_s`` and where a
    neighbouring sample is NaN."""
    t = np.asarray(t_s, np.float64)
    flat = np.asarray(x, np.float64).reshape(len(t), -1)
    out = np.full((len(grid_s), flat.shape[1]), np.nan)
    if len(t) == 0:
        return out.reshape((len(grid_s),) + np.shape(x)[1:])
    j = np.clip(np.searchsorted(t, grid_s, side="right") - 1, 0, max(len(t) - 2, 0))
    inside = (grid_s >= t[0]) & (grid_s <= t[-1])
    if len(t) == 1:
        out[inside] = flat[0]
    else:
        w = ((grid_s - t[j]) / np.where(t[j + 1] > t[j], t[j + 1] - t[j], 1.0))[:, None]
        out[inside] = (flat[j] * (1 - w) + flat[j + 1] * w)[inside]
        near = np.where(np.abs(grid_s - t[j]) <= np.abs(t[j + 1] - grid_s), j, j + 1)
        exact = inside & (np.abs(grid_s - t[near]) <= 1e-6)  # within 1 us: the sample itself, kept exactly
        out[exact] = flat[near][exact]
    return out.reshape((len(grid_s),) + np.shape(x)[1:])


def no_markers(t_start_s: float, t_end_s: float, rate_hz: float) -> Markers:
    """An empty marker set on a uniform grid covering ``t_start_s..t_end_s`` (a recording without pose)."""
    n = int(np.floor((t_end_s - t_start_s) * rate_hz + 1e-9)) + 1
    return Markers(
        t_start_s + np.arange(n) / rate_hz,
        np.zeros((n, 0, 3)),
        (),
        float(rate_hz),
        {"space": "none", "frame": "no pose in the recording: no points"},
    )


#: lab frame (z up) to OpenSim axes (Y up): ``[X, Y, Z] = LAB_TO_Y_UP @ [x, y, z]`` (-90 deg about x)
LAB_TO_Y_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])
LAB_FRAME_NOTE = (
    "triangulated landmarks in the calibration's lab frame (x, y horizontal, z up from the floor) turned "
    "-90 deg about x to OpenSim's Y up: X = x, Y = z, Z = -y (Pose2Sim's Z-up to Y-up rotation; a rotation, "
    "not a mirror); origin the calibration's, so the body keeps its place in the lab and Y is the height "
    "above the floor"
)


def from_lab(t_s: np.ndarray, lab_m: np.ndarray, views: np.ndarray | None = None) -> Markers:
    """OpenSim markers (Y up, m) from triangulated landmarks ``lab_m`` (frames, 33, 3; lab frame, z up).

    ``views`` (frames, 33), the number of views each landmark was triangulated from: a landmark
    with fewer than two is missing (as it is NaN in ``lab_m``). Irregular frame times are put on a
    uniform grid as in :func:`from_pose`.
    """
    lab = np.asarray(lab_m, np.float64).reshape(len(t_s), -1, 3)
    xyz = np.stack([lab[..., 0], lab[..., 2], -lab[..., 1]], axis=-1)  # LAB_TO_Y_UP, exactly
    if views is not None:
        xyz[~(np.asarray(views, np.float64).reshape(len(t_s), -1) >= 2)] = np.nan
    xyz[~np.isfinite(xyz).all(axis=-1)] = np.nan  # a landmark is whole or missing
    notes: dict = {
        "marker_names": "MediaPipe BlazePose names, as Pose2Sim's Markers_BlazePose.xml",
        "units": "m",
        "space": "3d-triangulated",
        "frame": LAB_FRAME_NOTE,
        "rotation_lab_to_markers": LAB_TO_Y_UP.tolist(),
        "missing": "a landmark not triangulated in a frame (fewer than two views agreed) is missing, never zero",
    }
    t, rate, resampled = uniform_grid(t_s)
    if resampled:
        xyz = resample(t_s, xyz, t)
    notes["resampled"] = (
        f"frame times were irregular: linearly interpolated onto a uniform {rate:.4g} Hz grid" if resampled else False
    )
    return Markers(t, xyz, tuple(NAMES), rate, notes)


def pixel_scale_m_per_px(
    image_px: np.ndarray, visibility: np.ndarray, height_m: float, min_visibility: float = 0.5
) -> float:
    """``height_m`` over the median vertical nose-to-heel distance (px) of frames where all three are
    seen. Nose-to-heel is shorter than stature (by the forehead, about 10 cm): pass the subject's
    nose-to-heel height for a better scale, or give the scale directly."""
    heels = image_px[:, [HEEL["left"], HEEL["right"]], 1]
    n = np.isfinite(heels).sum(axis=1)
    heel_y = np.where(n > 0, np.nansum(heels, axis=1) / np.maximum(n, 1), np.nan)
    span = heel_y - image_px[:, NOSE, 1]
    seen = (visibility[:, [NOSE, HEEL["left"], HEEL["right"]]] >= min_visibility).all(axis=1)
    span = span[seen & np.isfinite(span) & (span > 0)]
    if span.size == 0:
        from movekit.errors import MovekitError

        raise MovekitError("cannot set a pixel scale: nose and heels are never seen together; give --m-per-px")
    return float(height_m / np.median(span))


def from_pose(
    pose, *, space: str, m_per_px: float | None = None, height_m: float = 1.70, min_visibility: float = 0.5
) -> Markers:
    """OpenSim markers from a :class:`movekit.recording.PoseSeries`.

    Parameters
    ----------
    space : {"2d", "3d"}
        Camera plane (scaled image landmarks) or MediaPipe world landmarks.
    m_per_px : float, optional
        2D scale (m/px); default from ``height_m`` (:func:`pixel_scale_m_per_px`).
    height_m : float
        Subject's nose-to-heel height used for the default 2D scale (m).
    min_visibility : float
        Landmarks seen less than this (0..1) are left out (blank in TRC, residual -1 in C3D).
    """
    vis = np.asarray(pose.visibility, np.float64)
    notes: dict = {
        "marker_names": "MediaPipe BlazePose names, as Pose2Sim's Markers_BlazePose.xml",
        "units": "m",
        "min_visibility": min_visibility,
    }
    if space == "3d":
        w = np.asarray(pose.world_m, np.float64)
        xyz = np.stack([w[..., 0], -w[..., 1], -w[..., 2]], axis=-1)
        notes["space"] = "3d"
        notes["frame"] = (
            "MediaPipe world landmarks turned to OpenSim axes: X = x, Y = -y (up), Z = -z; origin "
            "between the hips in every frame (no body translation); depth is the model's estimate"
        )
    else:
        img = np.asarray(pose.image_px, np.float64)
        h = float(pose.frame_size_px[1]) or float(np.nanmax(img[..., 1]))
        scale = m_per_px if m_per_px is not None else pixel_scale_m_per_px(img, vis, height_m, min_visibility)
        xyz = np.stack([img[..., 0] * scale, (h - img[..., 1]) * scale, np.zeros(img.shape[:2])], axis=-1)
        notes["space"] = "2d"
        notes["m_per_px"] = scale
        notes["scale_source"] = (
            "given (--m-per-px)"
            if m_per_px is not None
            else f"subject nose-to-heel height {height_m:g} m over the median nose-to-heel distance in the image"
        )
        notes["frame"] = (
            f"camera plane: X = x_px * {scale:.6g}, Y = ({h:g} - y_px) * {scale:.6g} (up), Z = 0; "
            "origin at the image's bottom-left corner"
        )
    xyz[~(vis >= min_visibility)] = np.nan  # NaN visibility: nobody detected
    xyz[~np.isfinite(xyz).all(axis=-1)] = np.nan  # a marker is whole or missing (2D: Z = 0 with no X, Y)
    t, rate, resampled = uniform_grid(pose.t_s)
    if resampled:
        xyz = resample(pose.t_s, xyz, t)
    notes["resampled"] = (
        f"frame times were irregular: linearly interpolated onto a uniform {rate:.4g} Hz grid" if resampled else False
    )
    return Markers(t, xyz, tuple(NAMES), rate, notes)
