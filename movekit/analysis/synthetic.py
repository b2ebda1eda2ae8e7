"""One kinematic stick figure that places the 33 MediaPipe-ordered landmarks for known angles.

Ground truth for tests, benchmarks and demos, with two ways in:

* :func:`pose_from_angles` -- from clinical angle columns in the conventions of
  :data:`movekit.analysis.angles.ANGLES` (``left_knee_flexion_deg``, ``trunk_inclination_deg``,
  ``left_knee_fppa_deg``, ``pelvis_obliquity_deg``, elbow flexion, ankle dorsiflexion,
  craniovertebral proxy, ...) and a body yaw; the pelvis stays at the origin. Sagittal and
  frontal angles are exact when the other plane's angles are zero (they do not mix).
* :func:`figure` -- movements for the assessments, returned as a
  :class:`movekit.recording.PoseSeries`: trunk flexion and lean, spine rounding (the
  shoulder-to-ear line bends forward: the camera analogue of losing the dowel's thoracic
  contact), hip and knee flexion per side, shoulder abduction and flexion, knee medial shift
  (valgus), pelvis drop and shifts, heel raise, and the feet on the ground (both, or one foot
  for a step-down or single-leg stance; ``ground=False`` fixes the pelvis instead).

Both build the body in its own frame (X anterior, Y up, Z the subject's right, metres) with the
segment lengths of :data:`SEG_M`, turn it by a yaw to face the camera (0 deg), image right (90,
right side toward the camera, ``"sagittal_right"``) or image left (-90, ``"sagittal_left"``), map it
to MediaPipe world axes (x right, y down, z away from the camera) and project it orthographically
to pixels. :func:`smooth_cycle` makes raised-cosine excursions (reps with holds).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from movekit.recording import PoseSeries

#: segment lengths (m) of the figure, an adult of ~1.75 m
SEG_M = {
    "pelvis_half": 0.10,
    "shoulder_half": 0.18,
    "trunk": 0.50,
    "neck": 0.22,
    "thigh": 0.45,
    "shank": 0.43,
    "upperarm": 0.30,
    "forearm": 0.27,
    "hand": 0.08,
    "heel": 0.06,
    "toe": 0.16,
    "ankle_h": 0.07,
}
#: camera yaw (deg) of each named view
VIEW_YAW_DEG = {"frontal": 0.0, "sagittal_right": 90.0, "sagittal_left": -90.0}
#: body frame -> MediaPipe world facing the camera: X -> -z, Y -> -y, Z -> -x (columns: images of X, Y, Z)
_M0 = np.array([[0.0, 0.0, -1.0], [0.0, -1.0, 0.0], [-1.0, 0.0, 0.0]])


def _to_camera(P: np.ndarray, yaw_deg) -> np.ndarray:
    """Body-frame points (frames, k, 3) to MediaPipe camera axes after a yaw about the vertical."""
    n = P.shape[0]
    yaw = np.deg2rad(np.broadcast_to(np.asarray(yaw_deg, dtype=np.float64), (n,)))
    c, s = np.cos(yaw), np.sin(yaw)
    Ry = np.zeros((n, 3, 3))
    Ry[:, 0, 0], Ry[:, 0, 2], Ry[:, 1, 1], Ry[:, 2, 0], Ry[:, 2, 2] = c, -s, 1.0, s, c
    return np.einsum("fij,jk,fpk->fpi", Ry, _M0, P)


def _to_image(cam: np.ndarray, px_per_m: float, centre_px) -> np.ndarray:
    """Orthographic projection: x, y in px about ``centre_px``; z scaled to px (relative depth)."""
    img = cam * px_per_m
    img[..., 0] += centre_px[0]
    img[..., 1] += centre_px[1]
    return img


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


def pose_from_angles(
    n_frames: int,
    angles: dict[str, np.ndarray | float] | None = None,
    *,
    yaw_deg: float | np.ndarray = 0.0,
    px_per_m: float = 400.0,
    centre_px=(640.0, 360.0),
) -> tuple[np.ndarray, np.ndarray]:
    """Landmarks for the given angles; returns ``(image_px (frames, 33, 3), world_m (frames, 33, 3))``.

    ``angles`` keys are column names (``left_knee_flexion_deg``, ``trunk_inclination_deg``, ...);
    missing ones are 0. Shoulder flexion and abduction are applied one after the other (use one
    at a time for exact ground truth). ``*_craniovertebral_proxy_deg`` sets the shoulder-to-ear line.
    """
    n = int(n_frames)
    g = {k: np.broadcast_to(np.asarray(v, dtype=np.float64), (n,)) for k, v in (angles or {}).items()}

    def get(name, default=0.0):
        return g.get(name, np.full(n, default))

    L = SEG_M
    X, Y, Z = np.eye(3)
    X, Y, Z = (np.broadcast_to(v, (n, 3)) for v in (X, Y, Z))
    P = np.zeros((n, 33, 3))
    Rtrunk = _rot(0, get("trunk_lateral_lean_deg")) @ _rot(2, -get("trunk_inclination_deg"))
    up_t = _apply(Rtrunk, Y)
    right_t = _apply(Rtrunk, Z)
    hip_r = _apply(_rot(0, get("pelvis_obliquity_deg")), Z) * L["pelvis_half"]
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
        shank = _apply(
            _rot(0, mirror * get(f"{side}_knee_fppa_deg")), _apply(_rot(2, -get(f"{side}_knee_flexion_deg")), thigh)
        )
        ankle = knee + shank * L["shank"]
        foot = _apply(_rot(2, 90.0 + get(f"{side}_ankle_dorsiflexion_deg")), shank)
        heel = ankle + 0.06 * shank - 0.05 * foot
        P[:, 25 + o], P[:, 27 + o], P[:, 29 + o] = knee, ankle, heel
        P[:, 31 + o] = heel + foot * (L["heel"] + L["toe"])
        hum = _apply(
            _rot(0, mirror * get(f"{side}_shoulder_abduction_deg")),
            _apply(_rot(2, get(f"{side}_shoulder_flexion_deg")), down_t),
        )
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
    world = _to_camera(P, yaw_deg)
    return _to_image(world, px_per_m, centre_px), world


def _b(x, n):
    return np.broadcast_to(np.asarray(x, dtype=np.float64), (n,)).copy()


def figure(
    t_s,
    *,
    view: str = "sagittal_right",
    trunk_flex=0.0,
    spine_round=0.0,
    trunk_lean=0.0,
    hip_flex_left=0.0,
    hip_flex_right=0.0,
    knee_flex_left=0.0,
    knee_flex_right=0.0,
    shoulder_abd_left=0.0,
    shoulder_abd_right=0.0,
    shoulder_flex_left=0.0,
    shoulder_flex_right=0.0,
    knee_medial_left_m=0.0,
    knee_medial_right_m=0.0,
    pelvis_drop_m=0.0,
    pelvis_ap_m=0.0,
    pelvis_ml_m=0.0,
    pelvis_up_m=0.0,
    heel_raise_m=0.0,
    ground: bool | str = True,
    px_per_m: float = 400.0,
    centre_px: tuple[float, float] = (640.0, 680.0),
    frame_size_px=(1280, 720),
    visibility: float = 0.99,
) -> PoseSeries:
    """Landmarks for the given movement, one frame per ``t_s``; returns a
    :class:`movekit.recording.PoseSeries` (angles in deg, shifts in m; see the module docstring).

    Angles: ``trunk_flex`` forward lean of the pelvis-to-shoulder line, ``spine_round`` extra
    flexion of the shoulder-to-ear line, ``trunk_lean`` to the subject's right, ``hip_flex_*``
    thigh vs trunk, ``knee_flex_*``, ``shoulder_abd_*`` (frontal plane), ``shoulder_flex_*``
    (sagittal plane). Shifts: ``knee_medial_*_m`` (knee displaced medially, valgus),
    ``pelvis_drop_m`` (right hip lower, positive), ``pelvis_ap_m``/``pelvis_ml_m``/``pelvis_up_m``,
    ``heel_raise_m``. ``ground``: True puts the lowest foot point on image y = ``centre_px[1]``,
    "left"/"right" keeps that foot on the ground, False fixes the pelvis.
    """
    if view not in VIEW_YAW_DEG:
        raise ValueError(f"unknown view {view!r}")
    t = np.asarray(t_s, dtype=np.float64)
    n = t.size
    g = {
        k: _b(v, n)
        for k, v in dict(
            tf=trunk_flex,
            sr=spine_round,
            tl=trunk_lean,
            hfl=hip_flex_left,
            hfr=hip_flex_right,
            kfl=knee_flex_left,
            kfr=knee_flex_right,
            sal=shoulder_abd_left,
            sar=shoulder_abd_right,
            sfl=shoulder_flex_left,
            sfr=shoulder_flex_right,
            kml=knee_medial_left_m,
            kmr=knee_medial_right_m,
            pd=pelvis_drop_m,
            pap=pelvis_ap_m,
            pml=pelvis_ml_m,
            pup=pelvis_up_m,
            hr=heel_raise_m,
        ).items()
    }
    P = np.zeros((n, 33, 3))  # body frame: columns A, U, R
    left_hip, right_hip = _place_trunk_and_head(P, g)
    for side, hip, sh, idx in (
        ("left", left_hip, 11, (13, 15, 17, 19, 21)),
        ("right", right_hip, 12, (14, 16, 18, 20, 22)),
    ):
        _place_arm(P, g, side, sh, idx)
        _place_leg(P, g, side, hip)
    if ground:
        _put_on_ground(P, ground)
    return _pose_series(t, P, VIEW_YAW_DEG[view], px_per_m, centre_px, frame_size_px, visibility)


def _pose_series(t, P, yaw_deg: float, px_per_m: float, centre_px, frame_size_px, visibility: float):
    """Body-frame landmarks ``P`` (m) seen by a camera at ``yaw_deg`` as a :class:`PoseSeries`."""
    from movekit.recording import PoseSeries

    n = t.size
    # body frame (A, U, R) -> MediaPipe camera axes (x right, y down, z away from the camera)
    cam = _to_camera(P, yaw_deg)  # (n, 33, 3) metres
    img = _to_image(cam, px_per_m, centre_px)
    mid = 0.5 * (cam[:, 23] + cam[:, 24])
    world = cam - mid[:, None, :]
    vis = np.full((n, 33), visibility, dtype=np.float32)
    return PoseSeries(
        t_s=t,
        image_px=img.astype(np.float32),
        world_m=world.astype(np.float32),
        visibility=vis,
        presence=vis.copy(),
        frame_size_px=tuple(frame_size_px),
    )


_A, _U, _R = np.eye(3)  #: body frame axes: anterior, up, right (the subject's right)


def _col(v: np.ndarray) -> np.ndarray:
    return v[:, None]


def _place_trunk_and_head(P: np.ndarray, g: dict) -> tuple[np.ndarray, np.ndarray]:
    """Shoulders, ears, eyes, nose and mouth into ``P`` (m, body frame); returns the hip centres (m)."""
    A, U, R, col = _A, _U, _R, _col
    tf, tl = np.radians(g["tf"]), np.radians(g["tl"])
    trunk = col(np.sin(tf) * np.cos(tl)) * A + col(np.cos(tf) * np.cos(tl)) * U + col(np.sin(tl)) * R
    hip_h = SEG_M["thigh"] + SEG_M["shank"] + SEG_M["ankle_h"]
    mid_hip = col(g["pap"]) * A + col(hip_h + g["pup"]) * U + col(g["pml"]) * R
    left_hip = mid_hip - SEG_M["pelvis_half"] * R + col(0.5 * g["pd"]) * U
    right_hip = mid_hip + SEG_M["pelvis_half"] * R - col(0.5 * g["pd"]) * U
    mid_sh = mid_hip + SEG_M["trunk"] * trunk
    P[:, 11] = mid_sh - SEG_M["shoulder_half"] * R
    P[:, 12] = mid_sh + SEG_M["shoulder_half"] * R
    # head: the shoulder-to-ear line follows the trunk, bent forward by spine_round
    hf = tf + np.radians(g["sr"])
    neck = col(np.sin(hf) * np.cos(tl)) * A + col(np.cos(hf) * np.cos(tl)) * U + col(np.sin(tl)) * R
    head_up = neck
    head_fwd = col(np.cos(hf)) * A - col(np.sin(hf)) * U
    mid_ear = mid_sh + SEG_M["neck"] * neck
    P[:, 7] = mid_ear - 0.07 * R
    P[:, 8] = mid_ear + 0.07 * R
    P[:, 0] = mid_ear + 0.10 * head_fwd - 0.02 * head_up
    for i, (f, r) in zip((1, 2, 3), ((0.09, 0.02), (0.08, 0.035), (0.07, 0.05))):
        P[:, i] = mid_ear + f * head_fwd + 0.02 * head_up - r * R
        P[:, i + 3] = mid_ear + f * head_fwd + 0.02 * head_up + r * R
    P[:, 9] = mid_ear + 0.09 * head_fwd - 0.06 * head_up - 0.025 * R
    P[:, 10] = mid_ear + 0.09 * head_fwd - 0.06 * head_up + 0.025 * R
    return left_hip, right_hip


def _place_arm(P: np.ndarray, g: dict, side: str, sh: int, idx: tuple[int, ...]) -> None:
    """Elbow, wrist and hand landmarks of one side from shoulder abduction and flexion (deg)."""
    A, U, col = _A, _U, _col
    e, w, pk, ix, th = idx
    s = side[0]
    lat = -_R if side == "left" else _R
    ab, fl = np.radians(g[f"sa{s}"]), np.radians(g[f"sf{s}"])
    arm = col(np.sin(fl) * np.cos(ab)) * A - col(np.cos(fl) * np.cos(ab)) * U + col(np.sin(ab)) * lat
    P[:, e] = P[:, sh] + SEG_M["upperarm"] * arm
    P[:, w] = P[:, e] + SEG_M["forearm"] * arm
    for j in (pk, ix, th):
        P[:, j] = P[:, w] + SEG_M["hand"] * arm
    P[:, pk] += 0.02 * lat
    P[:, ix] -= 0.02 * lat


def _place_leg(P: np.ndarray, g: dict, side: str, hip: np.ndarray) -> None:
    """Hip, knee, ankle, heel and toe of one side; the leg in the sagittal plane, knees shifted medially (m)."""
    A, U, col = _A, _U, _col
    s = side[0]
    lat = -_R if side == "left" else _R
    # thigh angle from vertical = hip flexion - trunk flexion
    phi = np.radians(g[f"hf{s}"]) - np.radians(g["tf"])
    psi = phi - np.radians(g[f"kf{s}"])
    thigh = col(np.sin(phi)) * A - col(np.cos(phi)) * U
    shank = col(np.sin(psi)) * A - col(np.cos(psi)) * U
    knee0 = hip + SEG_M["thigh"] * thigh
    ankle = knee0 + SEG_M["shank"] * shank
    medial = -lat
    P[:, 23 if s == "l" else 24] = hip
    P[:, 25 if s == "l" else 26] = knee0 + col(g[f"km{s}"]) * medial
    P[:, 27 if s == "l" else 28] = ankle
    P[:, 29 if s == "l" else 30] = ankle - SEG_M["heel"] * A - SEG_M["ankle_h"] * U + col(g["hr"]) * U
    P[:, 31 if s == "l" else 32] = ankle + SEG_M["toe"] * A - SEG_M["ankle_h"] * U


def _put_on_ground(P: np.ndarray, ground: bool | str) -> None:
    """Shift ``P`` vertically so the lowest point of the chosen foot (or both feet) is at height 0."""
    feet = (
        {"left": [27, 29, 31], "right": [28, 30, 32]}.get(ground, list(range(27, 33)))
        if isinstance(ground, str)
        else list(range(27, 33))
    )
    low = np.min(P[:, feet, 1], axis=1)
    P[:, :, 1] -= low[:, None]


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


_FRONTAL_STICK_PX = {
    0: (320, 100),
    7: (335, 100),
    8: (305, 100),
    11: (360, 180),
    12: (280, 180),
    13: (380, 260),
    14: (260, 260),
    15: (385, 330),
    16: (255, 330),
    23: (345, 350),
    24: (295, 350),
    25: (345, 500),
    26: (295, 500),
    27: (345, 650),
    28: (295, 650),
    29: (345, 665),
    30: (295, 665),
    31: (350, 680),
    32: (290, 680),
}


def frontal_stick_px(
    *, left_knee_medial_px: float = 0.0, right_leg_lift_px: float = 0.0, right_hip_drop_px: float = 0.0
) -> np.ndarray:
    """One frame (33, 3) float32 of a stick figure facing the camera, in pixels (y down).

    The subject's left is at image right; legs are 300 px. ``left_knee_medial_px`` moves the left
    knee towards the midline (valgus: FPPA > 0); ``right_leg_lift_px`` raises the right knee,
    ankle, heel and toe (single-leg stance on the left); ``right_hip_drop_px`` drops the right hip
    (a Trendelenburg-like pelvic drop). Landmarks not listed sit at (320, 120).
    """
    p = np.tile(np.array([320.0, 120.0, 0.0], np.float32), (33, 1))
    for k, (x, y) in _FRONTAL_STICK_PX.items():
        p[k] = (x, y, 0.0)
    p[25, 0] -= left_knee_medial_px
    for k in (26, 28, 30, 32):
        p[k, 1] -= right_leg_lift_px
    p[24, 1] += right_hip_drop_px
    return p


def emg_bursts(
    times_s,
    *,
    dur_s: float = 0.5,
    total_s: float = 6.0,
    amp_uv: float = 100.0,
    noise_uv: float = 3.0,
    rate_hz: float = 1000.0,
    seed: int = 1,
    channels: int = 1,
):
    """Synthetic surface EMG: Gaussian baseline noise (uV RMS) plus 40-200 Hz band-limited bursts
    of ``amp_uv`` RMS starting exactly at ``times_s`` (s). Returns ``(t_s, x_uv (samples, channels))``.
    """
    from scipy import signal

    rng = np.random.default_rng(seed)
    n = int(total_s * rate_hz)
    x = rng.normal(0, noise_uv, (n, channels))
    sos = signal.butter(4, [40, 200], "bandpass", fs=rate_hz, output="sos")
    for t0 in times_s:
        i0, i1 = int(round(t0 * rate_hz)), int(round((t0 + dur_s) * rate_hz))
        burst = signal.sosfilt(sos, rng.normal(0, 1, (i1 - i0 + 200, channels)), axis=0)[200:]
        x[i0:i1] += amp_uv * burst / burst.std()
    return np.arange(n) / rate_hz, x
