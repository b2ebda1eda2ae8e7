"""A kinematic stick-figure that places MediaPipe-ordered landmarks for known clinical angles.

Ground truth for tests and benchmarks: given angles in the conventions of
:data:`movekit.analysis.angles.ANGLES`, it builds the body in its own frame (X anterior, Y up,
Z right, origin mid-hip), turns it by a yaw to face the camera (0 deg), image right (90, right side
toward the camera) or image left (-90), maps it to MediaPipe world axes (x right, y down, z away) and
projects it orthographically to pixels. Sagittal and frontal angles are exact when the other plane's
angles are zero (they do not mix).
"""

from __future__ import annotations

import numpy as np

LENGTHS_M = {"trunk": 0.50, "hip_half": 0.10, "shoulder_half": 0.18, "thigh": 0.43, "shank": 0.42,
             "upperarm": 0.30, "forearm": 0.26, "neck": 0.17, "foot": 0.22, "hand": 0.08}


def _rot(axis: int, deg) -> np.ndarray:
    """(frames, 3, 3) rotation by ``deg`` about body axis 0 (X), 1 (Y) or 2 (Z), right-handed."""
    a = np.deg2rad(np.asarray(deg, dtype=np.float64))
    c, s = np.cos(a), np.sin(a)
    R = np.zeros(a.shape + (3, 3))
    i, j = [(1, 2), (2, 0), (0, 1)][axis]
    R[..., axis, axis] = 1.0
    R[..., i, i] = c
    R[..., j, j] = c
    R[..., j, i] = s
    R[..., i, j] = -s
    return R


def _apply(R, v):
    return np.einsum("fij,fj->fi", R, v)


def pose_from_angles(n_frames: int, angles: dict[str, np.ndarray | float] | None = None, *,
                     yaw_deg: float | np.ndarray = 0.0, px_per_m: float = 400.0,
                     centre_px=(640.0, 360.0)) -> tuple[np.ndarray, np.ndarray]:
    """Landmarks for the given angles; returns ``(image_px (frames, 33, 3), world_m (frames, 33, 3))``.

    ``angles`` keys are column names (``left_knee_flexion_deg``, ``trunk_inclination_deg``, ...);
    missing ones are 0. Shoulder flexion and abduction are applied one after the other (use one
    at a time for exact ground truth). ``*_craniovertebral_proxy_deg`` sets the shoulder-to-ear line.
    """
    n = int(n_frames)
    g = {k: np.broadcast_to(np.asarray(v, dtype=np.float64), (n,)) for k, v in (angles or {}).items()}

    def get(name, default=0.0):
        return g.get(name, np.full(n, default))

    L = LENGTHS_M
    X, Y, Z = np.eye(3)
    X, Y, Z = (np.broadcast_to(v, (n, 3)) for v in (X, Y, Z))
    P = np.zeros((n, 33, 3))
    Rtrunk = _rot(0, get("trunk_lateral_lean_deg")) @ _rot(2, -get("trunk_inclination_deg"))
    up_t = _apply(Rtrunk, Y)
    right_t = _apply(Rtrunk, Z)
    hip_r = _apply(_rot(0, get("pelvis_obliquity_deg")), Z) * L["hip_half"]
    mid_sh = up_t * L["trunk"]
    down_t = -up_t
    for side, sgn in (("left", -1.0), ("right", 1.0)):
        mirror = 1.0 if side == "left" else -1.0
        hip = sgn * hip_r
        sh = mid_sh + sgn * right_t * L["shoulder_half"]
        o = 0 if side == "left" else 1
        P[:, 23 + o] = hip
        P[:, 11 + o] = sh
        thigh = _apply(_rot(2, get(f"{side}_hip_flexion_deg")), down_t)
        knee = hip + thigh * L["thigh"]
        shank = _apply(_rot(0, mirror * get(f"{side}_knee_fppa_deg")),
                       _apply(_rot(2, -get(f"{side}_knee_flexion_deg")), thigh))
        ankle = knee + shank * L["shank"]
        foot = _apply(_rot(2, 90.0 + get(f"{side}_ankle_dorsiflexion_deg")), shank)
        heel = ankle + 0.06 * shank - 0.05 * foot
        P[:, 25 + o], P[:, 27 + o], P[:, 29 + o] = knee, ankle, heel
        P[:, 31 + o] = heel + foot * L["foot"]
        hum = _apply(_rot(0, mirror * get(f"{side}_shoulder_abduction_deg")),
                     _apply(_rot(2, get(f"{side}_shoulder_flexion_deg")), down_t))
        elbow = sh + hum * L["upperarm"]
        fore = _apply(_rot(2, get(f"{side}_elbow_flexion_deg")), hum)
        wrist = elbow + fore * L["forearm"]
        P[:, 13 + o], P[:, 15 + o] = elbow, wrist
        for j in (17, 19, 21):
            P[:, j + o] = wrist + fore * L["hand"] + sgn * 0.01 * (j - 17) * right_t
        cva = get(f"{side}_craniovertebral_proxy_deg", 70.0)
        ear_dir = _apply(_rot(2, cva), X)
        P[:, 7 + o] = sh + ear_dir * L["neck"] - sgn * right_t * 0.1
        P[:, 9 + o] = P[:, 7 + o] + 0.08 * X - 0.05 * Y + sgn * 0.03 * right_t
    mid_ear = 0.5 * (P[:, 7] + P[:, 8])
    P[:, 0] = mid_ear + 0.10 * X
    for j, d in ((1, 0.02), (2, 0.035), (3, 0.05)):
        P[:, j] = P[:, 0] + 0.03 * Y - d * right_t
        P[:, j + 3] = P[:, 0] + 0.03 * Y + d * right_t
    # body frame -> MediaPipe world: facing the camera, X -> -z, Y -> -y, Z -> -x; then yaw about y
    M0 = np.array([[0.0, 0.0, -1.0], [0.0, -1.0, 0.0], [-1.0, 0.0, 0.0]])  # columns: images of X, Y, Z
    yaw = np.deg2rad(np.broadcast_to(np.asarray(yaw_deg, dtype=np.float64), (n,)))
    c, s = np.cos(yaw), np.sin(yaw)
    Ry = np.zeros((n, 3, 3))
    Ry[:, 0, 0], Ry[:, 0, 2], Ry[:, 1, 1], Ry[:, 2, 0], Ry[:, 2, 2] = c, -s, 1.0, s, c
    world = np.einsum("fij,jk,fpk->fpi", Ry, M0, P)
    img = world * px_per_m
    img[..., 0] += centre_px[0]
    img[..., 1] += centre_px[1]
    return img, world
