"""Orientation from IMUs and joint angles from two IMUs (a two-sensor goniometer).

Conventions
-----------
* Quaternions are ``(w, x, y, z)`` float64 arrays shaped ``(N, 4)``; a sensor orientation ``S`` maps
  sensor-frame vectors to the world frame (z up). Rotation maths uses ``scipy.spatial.transform``.
* Orientation fusion where a device gives raw rates only: :func:`fuse_orientation` runs x-io's
  ``imufusion`` (version 1.3.3, the Madgwick-style revised AHRS of Fusion; gyroscope deg/s,
  accelerometer g, no magnetometer, so heading drifts -- irrelevant for a *relative* joint angle when
  both sensors are fused alike). Devices with on-board fusion (WitMotion's Euler angles) are turned
  into quaternions by :func:`quat_from_euler_zyx_deg`.

Joint angle model (hinge, Grood & Suntay 1983 simplified to the flexion axis)
---------------------------------------------------------------------------
With sensor orientations ``S_p`` (proximal segment) and ``S_d`` (distal), the relative orientation is
``R = S_p^T S_d``. A *static zero* records ``R0`` in anatomical neutral (knee/elbow straight, trunk
upright); then ``J = R R0^T`` is the joint rotation expressed in the proximal sensor frame. For a
hinge, ``J`` is a rotation by the flexion angle about one fixed axis ``a`` (in the proximal sensor
frame, whatever the mounting). A *functional calibration* finds ``a`` from a few flexion-extension
movements (principal direction of ``J``'s rotation vectors), signed so that the calibration
movement is positive (flexion). The joint angle is the twist of ``J`` about ``a``
(swing-twist decomposition): 0 deg at neutral, flexion positive, extension negative, never wrapped
within +-180 deg.

* Knee flexion: proximal = thigh, distal = shank. Elbow flexion: upper arm, forearm.
* Lumbar flexion: proximal = sacrum (S1/S2), distal = T12/L1; forward bending positive.

Calibration profiles are JSON files under ``calibration/imu/`` (:func:`save_calibration`).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from movekit.errors import MovekitError
from movekit.outputs import strict_json

JOINTS = {
    "knee_flexion": ("thigh", "shank"),
    "elbow_flexion": ("upper_arm", "forearm"),
    "lumbar_flexion": ("sacrum", "t12_l1"),
}


def calibration_dir() -> Path:
    """Folder of the IMU mounting calibrations: ``imu`` in the user's calibration profile folder
    (:func:`movekit.calibration.profile_dir`), never inside the package or the source tree."""
    from movekit.calibration import profile_dir

    return profile_dir() / "imu"


# ---------------------------------------------------------------------------------------------
# quaternion helpers (w, x, y, z)
def _rot(q: np.ndarray) -> Rotation:
    q = np.asarray(q, dtype=np.float64).reshape(-1, 4)
    return Rotation.from_quat(q[:, [1, 2, 3, 0]])


def _quat(r: Rotation) -> np.ndarray:
    q = r.as_quat().reshape(-1, 4)[:, [3, 0, 1, 2]]
    return q * np.where(q[:, :1] < 0, -1.0, 1.0)  # w >= 0


def quat_from_euler_zyx_deg(roll: np.ndarray, pitch: np.ndarray, yaw: np.ndarray) -> np.ndarray:
    """R = Rz(yaw) Ry(pitch) Rx(roll), degrees -> (N, 4)."""
    e = np.column_stack([np.ravel(yaw), np.ravel(pitch), np.ravel(roll)])
    return _quat(Rotation.from_euler("ZYX", e, degrees=True))


def quat_to_euler_zyx_deg(q: np.ndarray) -> np.ndarray:
    """(N, 4) -> (N, 3) roll, pitch, yaw in degrees (inverse of :func:`quat_from_euler_zyx_deg`)."""
    yaw_pitch_roll = _rot(q).as_euler("ZYX", degrees=True)
    return yaw_pitch_roll[:, ::-1]


def quat_rotate(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    return _rot(q).apply(np.asarray(v, dtype=np.float64))


def mean_quat(q: np.ndarray) -> np.ndarray:
    q = np.asarray(q, dtype=np.float64).reshape(-1, 4)
    q = q[np.all(np.isfinite(q), axis=1)]
    if len(q) == 0:
        raise MovekitError("no finite orientation samples to average")
    return _quat(_rot(q).mean())[0]


# ---------------------------------------------------------------------------------------------
def fuse_orientation(
    gyro_dps: np.ndarray, acc_g: np.ndarray, rate_hz: float, gain: float = 0.5, q0: np.ndarray | None = None
) -> np.ndarray:
    """Orientation (N, 4) from raw rates (deg/s) and accelerations (g) with imufusion's AHRS.

    Causal (sample by sample). Without a magnetometer the heading is arbitrary but consistent.
    """
    import imufusion

    g = np.asarray(gyro_dps, dtype=np.float64).reshape(-1, 3)
    a = np.asarray(acc_g, dtype=np.float64).reshape(-1, 3)
    if len(g) != len(a):
        raise ValueError("gyro and acc must have the same length")
    ahrs = imufusion.Ahrs()
    settings = imufusion.AhrsSettings()
    settings.gain = gain
    settings.gyroscope_range = 2000.0
    settings.acceleration_rejection = 10.0
    settings.sample_rate = int(round(rate_hz))
    ahrs.set_settings(settings)
    ahrs.set_sample_period(1.0 / rate_hz)
    if q0 is not None:
        ahrs.set_quaternion(np.asarray(q0, dtype=np.float64))
        ahrs.skip_startup()
    out = np.empty((len(g), 4))
    for k in range(len(g)):
        if np.all(np.isfinite(g[k])) and np.all(np.isfinite(a[k])):
            ahrs.update_no_magnetometer(g[k], a[k])
        out[k] = ahrs.get_quaternion()
    return out


# ---------------------------------------------------------------------------------------------
@dataclass
class MountingCalibration:
    """How two sensors sit on two segments: neutral relative orientation and the flexion axis."""

    joint: str
    zero_quat: list[float]  #: R0 = S_p^T S_d in neutral, (w, x, y, z)
    axis_proximal: list[float]  #: flexion axis in the proximal sensor frame (unit)
    proximal: str = ""
    distal: str = ""
    method: str = "static zero + functional axis"
    axis_residual_deg: float = 0.0  #: RMS off-axis rotation during the functional movement
    created: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%S"))
    convention: str = "0 deg at anatomical neutral, flexion positive, extension negative (Grood & Suntay 1983 hinge)"


def relative_quat(q_prox: np.ndarray, q_dist: np.ndarray) -> np.ndarray:
    """R = S_p^T S_d per sample."""
    return _quat(_rot(q_prox).inv() * _rot(q_dist))


def static_zero(q_prox: np.ndarray, q_dist: np.ndarray) -> np.ndarray:
    """Mean relative orientation over a still, anatomically neutral posture."""
    return mean_quat(relative_quat(q_prox, q_dist))


def _joint_rotvec(q_prox, q_dist, zero_quat) -> np.ndarray:
    return (_rot(relative_quat(q_prox, q_dist)) * _rot(zero_quat).inv()).as_rotvec()


def functional_axis(q_prox: np.ndarray, q_dist: np.ndarray, zero_quat: np.ndarray) -> tuple[np.ndarray, float]:
    """Flexion axis (proximal sensor frame) from flexion-extension movements, and its RMS residual (deg).

    The calibration movement must start with flexion: the axis is signed so that its larger
    excursion is positive.
    """
    rv = _joint_rotvec(q_prox, q_dist, zero_quat)
    rv = rv[np.all(np.isfinite(rv), axis=1)]
    mag = np.linalg.norm(rv, axis=1)
    moving = rv[mag > np.radians(10.0)]
    if len(moving) < 5:
        raise MovekitError(
            "functional calibration: the joint moved less than 10 deg; "
            "flex and extend it a few times through a large range"
        )
    _, _, vt = np.linalg.svd(moving, full_matrices=False)
    axis = vt[0] / np.linalg.norm(vt[0])
    proj = rv @ axis
    if abs(proj.max()) < abs(proj.min()):
        axis = -axis
        proj = -proj
    off = np.linalg.norm(moving - np.outer(moving @ axis, axis), axis=1)
    return axis, float(np.degrees(np.sqrt(np.mean(off**2))))


def calibrate(
    joint: str, static_prox: np.ndarray, static_dist: np.ndarray, func_prox: np.ndarray, func_dist: np.ndarray
) -> MountingCalibration:
    if joint not in JOINTS:
        raise MovekitError(f"unknown joint {joint!r}; known: {', '.join(JOINTS)}")
    z = static_zero(static_prox, static_dist)
    axis, res = functional_axis(func_prox, func_dist, z)
    p, d = JOINTS[joint]
    return MountingCalibration(joint, z.tolist(), axis.tolist(), p, d, axis_residual_deg=res)


def joint_angle_deg(q_prox: np.ndarray, q_dist: np.ndarray, cal: MountingCalibration) -> np.ndarray:
    """Flexion angle (deg) per sample: twist of the joint rotation about the calibrated axis."""
    J = _quat(_rot(relative_quat(q_prox, q_dist)) * _rot(np.asarray(cal.zero_quat)).inv())
    a = np.asarray(cal.axis_proximal, dtype=np.float64)
    a = a / np.linalg.norm(a)
    w = J[:, 0]
    s = J[:, 1:] @ a
    ang = np.degrees(2.0 * np.arctan2(s, w))
    return ang


def segment_inclination_deg(q: np.ndarray, long_axis_sensor=(0.0, 0.0, 1.0)) -> np.ndarray:
    """Angle (deg) between a segment's long axis (given in the sensor frame) and world vertical."""
    v = quat_rotate(q, np.asarray(long_axis_sensor, dtype=np.float64))
    v = v / np.linalg.norm(v, axis=1, keepdims=True)
    return np.degrees(np.arccos(np.clip(v[:, 2], -1.0, 1.0)))


# ---------------------------------------------------------------------------------------------
def save_calibration(cal: MountingCalibration, name: str, directory: Path | None = None) -> Path:
    from movekit.outputs import DIR_MODE, write_output

    d = Path(directory) if directory else calibration_dir()
    if not d.is_dir():
        d.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    return write_output(
        d / f"{name}.json", json.dumps(strict_json(asdict(cal)), indent=2, allow_nan=False) + "\n"
    )  # atomic, 0600


def load_calibration(path_or_name: str | Path, directory: Path | None = None) -> MountingCalibration:
    p = Path(path_or_name)
    if not p.suffix:
        p = (Path(directory) if directory else calibration_dir()) / f"{p}.json"
    try:
        d = json.loads(p.read_text())
        return MountingCalibration(**d)
    except FileNotFoundError:
        raise MovekitError(f"IMU calibration not found: {p}") from None
    except (json.JSONDecodeError, TypeError) as exc:
        raise MovekitError(f"IMU calibration {p} is not valid: {exc}") from None


# ---------------------------------------------------------------------------------------------
# two BLE IMUs -> goniometer stream
def resample_quat(t_src: np.ndarray, q_src: np.ndarray, t_out: np.ndarray) -> np.ndarray:
    """Slerp ``q_src`` (N, 4) at ``t_src`` onto ``t_out``; NaN outside the source time span."""
    from scipy.spatial.transform import Slerp

    t_src = np.asarray(t_src, dtype=np.float64)
    t_out = np.asarray(t_out, dtype=np.float64)
    out = np.full((len(t_out), 4), np.nan)
    if len(t_src) < 2:
        return out
    inside = (t_out >= t_src[0]) & (t_out <= t_src[-1])
    if inside.any():
        out[inside] = _quat(Slerp(t_src, _rot(q_src))(t_out[inside]))
    return out


def joint_angle_from_imus(
    t_prox: np.ndarray, q_prox: np.ndarray, t_dist: np.ndarray, q_dist: np.ndarray, cal: MountingCalibration
) -> tuple[np.ndarray, np.ndarray]:
    """Joint angle on the proximal sensor's timestamps (the distal one is slerped onto them).

    Both streams must be on the session clock (as :mod:`movekit.capture.ble` delivers them).
    Samples outside the distal stream's span (or across a device gap) come out NaN.
    """
    qd = resample_quat(t_dist, q_dist, t_prox)
    ok = np.all(np.isfinite(qd), axis=1) & np.all(np.isfinite(q_prox), axis=1)
    ang = np.full(len(t_prox), np.nan)
    if ok.any():
        ang[ok] = joint_angle_deg(np.asarray(q_prox)[ok], qd[ok], cal)
    return np.asarray(t_prox, dtype=np.float64), ang


def joint_angle_from_recording(
    rec, proximal: str, distal: str, cal: MountingCalibration, max_gap_s: float = 0.25
) -> tuple[np.ndarray, np.ndarray]:
    """Goniometer stream from two recorded WitMotion-style devices (``<label>_angle`` streams, deg).

    ``rec`` is a :func:`movekit.recording.open_recording` result. Gaps longer than ``max_gap_s`` in
    either device give NaN rather than an interpolated angle.
    """
    try:
        sp, sd = rec.streams[f"{proximal}_angle"], rec.streams[f"{distal}_angle"]
    except KeyError as exc:
        raise MovekitError(f"recording has no stream {exc.args[0]!r}; streams: {', '.join(rec.streams)}") from None
    qp = quat_from_euler_zyx_deg(sp.data[:, 0], sp.data[:, 1], sp.data[:, 2])
    qd = quat_from_euler_zyx_deg(sd.data[:, 0], sd.data[:, 1], sd.data[:, 2])
    t, ang = joint_angle_from_imus(sp.t_s, qp, sd.t_s, qd, cal)
    # blank across gaps of the distal device
    td = np.asarray(sd.t_s)
    if len(td) > 1:
        k = np.clip(np.searchsorted(td, t), 1, len(td) - 1)
        ang[(td[k] - td[k - 1]) > max_gap_s] = np.nan
    return t, ang
