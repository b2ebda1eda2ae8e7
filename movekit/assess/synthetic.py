"""A stick-figure kinematic model that places the 33 pose landmarks for known joint angles.

For tests and demos with a known answer: every assessment is checked on movements generated
here (pain at known angles, hinges with known hip and spine shares, known numbers of reps) beside
the real recordings. The figure is built in a body frame (A anterior, U up, R the subject's
right, metres) and projected orthographically onto a camera (``view``): ``"sagittal_right"``
(facing image right, right side toward the camera), ``"sagittal_left"`` or ``"frontal"`` (facing
the camera). The lower foot rests on the ground (image y = ``centre_px[1]``); ``ground="left"`` or
``"right"`` keeps that foot on the ground (a step-down), ``ground=False`` fixes the pelvis instead.

Angles (deg, arrays broadcast over frames): ``trunk_flex`` forward lean of the pelvis-to-shoulder
line, ``spine_round`` extra flexion of the upper trunk (shoulder-to-ear line bends forward, the
camera analogue of losing the dowel's thoracic contact), ``trunk_lean`` to the subject's right,
``hip_flex_*`` thigh vs trunk, ``knee_flex_*``, ``shoulder_abd_*`` in the frontal plane,
``shoulder_flex_*`` in the sagittal plane, ``knee_medial_*_m`` (knee displaced medially, valgus),
``pelvis_drop_m`` (right hip lower, positive), ``pelvis_*_m`` shifts of the pelvis.
"""

from __future__ import annotations

import numpy as np

from movekit.recording import PoseSeries

SEG = {"pelvis_half": 0.10, "shoulder_half": 0.18, "trunk": 0.50, "neck": 0.22, "thigh": 0.45,
       "shank": 0.43, "upperarm": 0.30, "forearm": 0.27, "hand": 0.08, "heel": 0.06, "toe": 0.16,
       "ankle_h": 0.07}


def _b(x, n):
    return np.broadcast_to(np.asarray(x, dtype=np.float64), (n,)).copy()


def figure(t_s, *, view: str = "sagittal_right", trunk_flex=0.0, spine_round=0.0, trunk_lean=0.0,
           hip_flex_left=0.0, hip_flex_right=0.0, knee_flex_left=0.0, knee_flex_right=0.0,
           shoulder_abd_left=0.0, shoulder_abd_right=0.0, shoulder_flex_left=0.0,
           shoulder_flex_right=0.0, knee_medial_left_m=0.0, knee_medial_right_m=0.0,
           pelvis_drop_m=0.0, pelvis_ap_m=0.0, pelvis_ml_m=0.0, pelvis_up_m=0.0,
           heel_raise_m=0.0, ground: bool | str = True, px_per_m: float = 400.0,
           centre_px: tuple[float, float] = (640.0, 680.0), frame_size_px=(1280, 720),
           visibility: float = 0.99) -> PoseSeries:
    """Landmarks for the given angles, one frame per ``t_s``; returns a :class:`PoseSeries`."""
    t = np.asarray(t_s, dtype=np.float64)
    n = t.size
    g = {k: _b(v, n) for k, v in dict(
        tf=trunk_flex, sr=spine_round, tl=trunk_lean, hfl=hip_flex_left, hfr=hip_flex_right,
        kfl=knee_flex_left, kfr=knee_flex_right, sal=shoulder_abd_left, sar=shoulder_abd_right,
        sfl=shoulder_flex_left, sfr=shoulder_flex_right, kml=knee_medial_left_m,
        kmr=knee_medial_right_m, pd=pelvis_drop_m, pap=pelvis_ap_m, pml=pelvis_ml_m,
        pup=pelvis_up_m, hr=heel_raise_m).items()}
    P = np.zeros((n, 33, 3))  # body frame: columns A, U, R
    A, U, R = np.eye(3)
    col = lambda v: v[:, None]  # noqa: E731
    tf, tl = np.radians(g["tf"]), np.radians(g["tl"])
    trunk = col(np.sin(tf) * np.cos(tl)) * A + col(np.cos(tf) * np.cos(tl)) * U + col(np.sin(tl)) * R
    hip_h = SEG["thigh"] + SEG["shank"] + SEG["ankle_h"]
    mid_hip = col(g["pap"]) * A + col(hip_h + g["pup"]) * U + col(g["pml"]) * R
    left_hip = mid_hip - SEG["pelvis_half"] * R + col(0.5 * g["pd"]) * U
    right_hip = mid_hip + SEG["pelvis_half"] * R - col(0.5 * g["pd"]) * U
    mid_sh = mid_hip + SEG["trunk"] * trunk
    lat_side = {"left": -R, "right": R}
    P[:, 11] = mid_sh - SEG["shoulder_half"] * R
    P[:, 12] = mid_sh + SEG["shoulder_half"] * R
    # head: the shoulder-to-ear line follows the trunk, bent forward by spine_round
    hf = tf + np.radians(g["sr"])
    neck = col(np.sin(hf) * np.cos(tl)) * A + col(np.cos(hf) * np.cos(tl)) * U + col(np.sin(tl)) * R
    head_up = neck
    head_fwd = col(np.cos(hf)) * A - col(np.sin(hf)) * U
    mid_ear = mid_sh + SEG["neck"] * neck
    P[:, 7] = mid_ear - 0.07 * R
    P[:, 8] = mid_ear + 0.07 * R
    P[:, 0] = mid_ear + 0.10 * head_fwd - 0.02 * head_up
    for i, (f, r) in zip((1, 2, 3), ((0.09, 0.02), (0.08, 0.035), (0.07, 0.05))):
        P[:, i] = mid_ear + f * head_fwd + 0.02 * head_up - r * R
        P[:, i + 3] = mid_ear + f * head_fwd + 0.02 * head_up + r * R
    P[:, 9] = mid_ear + 0.09 * head_fwd - 0.06 * head_up - 0.025 * R
    P[:, 10] = mid_ear + 0.09 * head_fwd - 0.06 * head_up + 0.025 * R
    for side, hip, sh, (e, w, pk, ix, th) in (("left", left_hip, 11, (13, 15, 17, 19, 21)),
                                              ("right", right_hip, 12, (14, 16, 18, 20, 22))):
        s = side[0]
        lat = lat_side[side]
        ab, fl = np.radians(g[f"sa{s}"]), np.radians(g[f"sf{s}"])
        arm = col(np.sin(fl) * np.cos(ab)) * A - col(np.cos(fl) * np.cos(ab)) * U + col(np.sin(ab)) * lat
        P[:, e] = P[:, sh] + SEG["upperarm"] * arm
        P[:, w] = P[:, e] + SEG["forearm"] * arm
        for j in (pk, ix, th):
            P[:, j] = P[:, w] + SEG["hand"] * arm
        P[:, pk] += 0.02 * lat
        P[:, ix] -= 0.02 * lat
        # leg in the sagittal plane: thigh angle from vertical = hip flexion - trunk flexion
        phi = np.radians(g[f"hf{s}"]) - tf
        psi = phi - np.radians(g[f"kf{s}"])
        thigh = col(np.sin(phi)) * A - col(np.cos(phi)) * U
        shank = col(np.sin(psi)) * A - col(np.cos(psi)) * U
        knee0 = hip + SEG["thigh"] * thigh
        ankle = knee0 + SEG["shank"] * shank
        medial = -lat
        P[:, 23 if s == "l" else 24] = hip
        P[:, 25 if s == "l" else 26] = knee0 + col(g[f"km{s}"]) * medial
        P[:, 27 if s == "l" else 28] = ankle
        heel = ankle - SEG["heel"] * A - SEG["ankle_h"] * U + col(g["hr"]) * U
        toe = ankle + SEG["toe"] * A - SEG["ankle_h"] * U
        P[:, 29 if s == "l" else 30] = heel
        P[:, 31 if s == "l" else 32] = toe
    if ground:
        feet = {"left": [27, 29, 31], "right": [28, 30, 32]}.get(ground, list(range(27, 33))) \
            if isinstance(ground, str) else list(range(27, 33))
        low = np.min(P[:, feet, 1], axis=1)
        P[:, :, 1] -= low[:, None]
    # camera mapping (x right, y down, z away from the camera)
    if view == "sagittal_right":
        M = np.array([[1, 0, 0], [0, -1, 0], [0, 0, -1]], float)  # A->+x, U->-y, R->-z
    elif view == "sagittal_left":
        M = np.array([[-1, 0, 0], [0, -1, 0], [0, 0, 1]], float)  # A->-x, R->+z
    elif view == "frontal":
        M = np.array([[0, 0, -1], [0, -1, 0], [-1, 0, 0]], float)  # A->-z, R->-x
    else:
        raise ValueError(f"unknown view {view!r}")
    cam = P @ M.T  # (n, 33, 3) metres in camera axes
    img = np.empty_like(cam)
    img[..., 0] = centre_px[0] + px_per_m * cam[..., 0]
    img[..., 1] = centre_px[1] + px_per_m * cam[..., 1]
    img[..., 2] = px_per_m * cam[..., 2]
    mid = 0.5 * (cam[:, 23] + cam[:, 24])
    world = cam - mid[:, None, :]
    vis = np.full((n, 33), visibility, dtype=np.float32)
    return PoseSeries(t_s=t, image_px=img.astype(np.float32), world_m=world.astype(np.float32),
                      visibility=vis, presence=vis.copy(), frame_size_px=tuple(frame_size_px))


def smooth_cycle(t_s, start_s: float, up_s: float, hold_s: float, down_s: float, amplitude: float):
    """A raised-cosine excursion 0 -> ``amplitude`` -> 0 starting at ``start_s`` (any unit)."""
    t = np.asarray(t_s, dtype=np.float64) - start_s
    out = np.zeros_like(t)
    a = (t >= 0) & (t < up_s)
    out[a] = 0.5 * amplitude * (1 - np.cos(np.pi * t[a] / up_s))
    b = (t >= up_s) & (t < up_s + hold_s)
    out[b] = amplitude
    c = (t >= up_s + hold_s) & (t < up_s + hold_s + down_s)
    out[c] = 0.5 * amplitude * (1 + np.cos(np.pi * (t[c] - up_s - hold_s) / down_s))
    return out
