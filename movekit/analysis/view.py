"""Camera view of the subject: sagittal (left or right side toward the camera), frontal or oblique.

A single camera measures angles in its own image plane only: sagittal angles (knee, hip, ankle
flexion, trunk inclination) need a side view, frontal angles (shoulder abduction, knee FPPA, lateral
trunk lean, pelvic obliquity) a front or back view (Willson 2006 measures FPPA from the front;
Stenum 2021 validates 2D sagittal lower-limb angles from a side view only).

Labels per frame: ``sagittal_left`` (the subject's left side toward the camera, facing image left),
``sagittal_right`` (right side toward the camera, facing image right), ``frontal`` (facing toward or
away from the camera), ``oblique`` (in between) and ``unknown`` (shoulders or hips not seen).

The yaw of the body (angle between its left-right axis and the image plane) comes from the world
landmarks when given (``|atan2(dz, dx)|`` of the hip and shoulder lines), otherwise from the image
width of shoulders and hips relative to the trunk length: ``cos(yaw) ~ width / (ref * trunk)`` with
``ref`` a typical adult shoulder-plus-hip width to trunk length ratio.
"""

from __future__ import annotations

import numpy as np

from movekit.analysis import kernels
from movekit.analysis.angles import FRONTAL_VIEWS, SAGITTAL_VIEWS  # noqa: F401 (re-exported)

VIEWS = ("sagittal_left", "sagittal_right", "frontal", "oblique", "unknown")
_HUMAN = {
    "sagittal_left": "a side view (left side toward the camera)",
    "sagittal_right": "a side view (right side toward the camera)",
    "frontal": "a front or back view",
    "oblique": "an angled view (neither side-on nor face-on)",
    "unknown": "no usable view (shoulders or hips not seen)",
}


#: coordinates the view cues read per frame: the count :func:`movekit.analysis.kernels.wanted`
#: weighs for the compiled view steps
_CUES_PER_FRAME = 28


def _hold(sign: np.ndarray, default: float = 1.0) -> np.ndarray:
    """Forward-fill non-zero signs (causal); leading zeros take ``default``."""
    n = sign.shape[0]
    if sign.ndim == 1 and sign.dtype == np.float64 and kernels.wanted(n * _CUES_PER_FRAME):
        out = np.empty(n)  # one compiled pass instead of five (the same values, copied)
        kernels.get().hold_signs(sign, float(default), out)
        return out
    idx = np.where(sign != 0, np.arange(n), -1)
    np.maximum.accumulate(idx, out=idx)
    return np.where(idx >= 0, sign[np.maximum(idx, 0)], default)


def trunk_length_px(p) -> np.ndarray:
    """Mid-shoulder to mid-hip distance per frame in the image (px; (frames, 33, >=2) landmarks)."""
    p = np.asarray(p, dtype=np.float64)
    d = 0.5 * (p[:, 11, :2] + p[:, 12, :2]) - 0.5 * (p[:, 23, :2] + p[:, 24, :2])
    return np.hypot(d[:, 0], d[:, 1])


def _sin_between(a: np.ndarray, b: np.ndarray, min_len: np.ndarray) -> np.ndarray:
    """Signed sine of the angle from 2D vectors ``a`` to ``b`` (image axes, y down); NaN if short."""
    cross = a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]
    la, lb = np.hypot(a[:, 0], a[:, 1]), np.hypot(b[:, 0], b[:, 1])
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((la >= min_len) & (lb >= min_len), cross / (la * lb), np.nan)


def facing_2d(image_px, *, sag_threshold: float = 0.3, front_threshold: float = 0.15, hold: bool = True):
    """Which way the subject faces in the image, per frame, holding the last confident estimate.

    The left/right cue is anatomical, so it survives bending and deep squats: the nose lies
    anterior to the ears relative to the trunk axis, and the foot (heel to toe) anterior to the
    shank. Each cue is the sine of the angle between the two segments; their mean must reach
    ``sag_threshold``. The toward/away cue is the image order of the left and right shoulders and
    hips (the subject's left on the image right when facing the camera).

    Parameters
    ----------
    image_px : array (frames, 33, >=2)
        Image landmarks (px).
    sag_threshold : float
        Minimum mean sine (0..1) for a confident left/right estimate.
    front_threshold : float
        Minimum shoulder and hip width, as a fraction of trunk length, for a toward/away estimate.
    hold : bool
        True: frames without confident evidence keep the last confident sign (causal forward
        fill; +1 before the first). False: 0 where not confident.

    Returns
    -------
    facing : array (frames,)
        +1 facing image right, -1 facing image left.
    front : array (frames,)
        +1 facing the camera, -1 facing away.
    """
    p = np.asarray(image_px, dtype=np.float64)[..., :2]
    n = p.shape[0]
    if n == 0:
        return np.empty(0), np.empty(0)
    cues = _view_cues_compiled(p, thresholds=(sag_threshold, front_threshold))
    if cues is not None:
        s, f = cues[0], cues[1]
        return (s, f) if not hold else (_hold(s), _hold(f))
    L = trunk_length_px(p)
    short = 0.05 * L
    up = 0.5 * (p[:, 11] + p[:, 12]) - 0.5 * (p[:, 23] + p[:, 24])
    cues = np.stack(
        [
            _sin_between(up, p[:, 0] - 0.5 * (p[:, 7] + p[:, 8]), short),
            -_sin_between(p[:, 27] - p[:, 25], p[:, 31] - p[:, 29], short),
            -_sin_between(p[:, 28] - p[:, 26], p[:, 32] - p[:, 30], short),
        ],
        axis=1,
    )
    cnt = np.isfinite(cues).sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        sag = np.where(cnt > 0, np.nansum(cues, 1) / np.maximum(cnt, 1), np.nan)
        fr = 0.5 * ((p[:, 11, 0] - p[:, 12, 0]) + (p[:, 23, 0] - p[:, 24, 0])) / L
        s = np.where(np.abs(sag) >= sag_threshold, np.sign(sag), 0.0)
        f = np.where(np.abs(fr) >= front_threshold, np.sign(fr), 0.0)
    s, f = np.nan_to_num(s), np.nan_to_num(f)
    if not hold:
        return s, f
    return _hold(s), _hold(f)


#: Image-yaw cue ratios (lengths over the mid-shoulder to mid-hip trunk length) of MediaPipe Pose
#: landmarks of an adult: mean of shoulder and hip width; nose ahead of the mid-ear point (across
#: the neck axis); heel to foot index. Measured on the triangulated MediaPipe landmarks of the man
#: in Pose2Sim's Demo_MultiPerson (scripts/build_reference.py; medians 0.519, 0.129, 0.396;
#: shoulders 0.36 m, hips 0.19 m, trunk 0.525 m); only their ratios matter to :func:`body_yaw_deg`.
YAW_WIDTH_RATIO = 0.52
YAW_NOSE_RATIO = 0.13
YAW_FOOT_RATIO = 0.40
#: Weights of the nose and feet sine cues: the feet follow the pelvis, the head turns on its own
#: (on the reference trial: body-yaw MAE 9.5 deg with 1:3, 10.0 feet only, 15.6 nose only,
#: real views of Demo_MultiPerson, scripts/validate_angles.py)
_SIN_WEIGHTS = np.array([0.25, 0.75])


def _perp(v: np.ndarray, axis_unit: np.ndarray) -> np.ndarray:
    """Signed component of 2D vectors ``v`` perpendicular to the unit image axis ``axis_unit``."""
    return v[..., 0] * axis_unit[..., 1] - v[..., 1] * axis_unit[..., 0]


def _perp_abs(v: np.ndarray, axis_unit: np.ndarray) -> np.ndarray:
    return np.abs(_perp(v, axis_unit))


_ACROSS = "trunk"


def yaw_cues_2d(
    image_px,
    *,
    width_ratio: float = YAW_WIDTH_RATIO,
    nose_ratio: float = YAW_NOSE_RATIO,
    foot_ratio: float = YAW_FOOT_RATIO,
) -> tuple[np.ndarray, np.ndarray]:
    """Cosine and sine cues of the body yaw from image landmarks, in trunk lengths.

    Under a roughly orthographic view at body yaw ``a`` (0 face-on):

    * cosine cue: mean of the shoulder and hip widths along the image horizontal over
      ``width_ratio`` trunk lengths (``~cos a``); the horizontal, not the trunk's cross-axis, so
      a trunk bent forward or a camera looking down (shoulders one behind the other appear one
      above the other) does not shrink or inflate it;
    * sine cue: weighted mean (1:3) of the nose's offset from the mid-ear point across the neck
      axis (mid-shoulder to mid-ear, so it follows a bowed head) over ``nose_ratio``, and of the
      feet (heel to foot index along the image horizontal; the two feet's signed offsets
      averaged, so a symmetric toe-out cancels) over ``foot_ratio`` (``~sin a``); either alone
      when the other is not seen.

    A rolled camera scales both cues alike (their ratio, the yaw, changes little); correct the
    tilt first where it is known (:mod:`movekit.analysis.camera_tilt`).

    Returns ``(cos_cue, sin_cue)`` per frame (NaN where unseen); the trunk length cancels in
    ``atan2(sin_cue, cos_cue)``.
    """
    p = np.asarray(image_px, dtype=np.float64)[..., :2]
    cues = _view_cues_compiled(p, ratios=(width_ratio, nose_ratio, foot_ratio))
    if cues is not None:
        return cues[2], cues[3]
    L = trunk_length_px(p)
    ear = 0.5 * (p[:, 7] + p[:, 8])
    neck = ear - 0.5 * (p[:, 11] + p[:, 12])
    vertical = np.broadcast_to(np.array([0.0, -1.0]), neck.shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        w = 0.5 * (_perp_abs(p[:, 11] - p[:, 12], vertical) + _perp_abs(p[:, 23] - p[:, 24], vertical))
        cos_cue = w / (width_ratio * L)
        nose = _perp_abs(p[:, 0] - ear, neck / np.hypot(neck[:, :1], neck[:, 1:])) / (nose_ratio * L)
        feet = np.abs(0.5 * (_perp(p[:, 31] - p[:, 29], vertical) + _perp(p[:, 32] - p[:, 30], vertical))) / (
            foot_ratio * L
        )
        cues = np.stack([nose, feet], 1)
        wt = np.where(np.isfinite(cues), _SIN_WEIGHTS, 0.0)
        sin_cue = np.nansum(cues * wt, 1) / wt.sum(1)  # NaN when neither is seen
    return cos_cue, sin_cue


def body_yaw_deg(
    image_px=None,
    world_m=None,
    *,
    ref_width_ratio: float = YAW_WIDTH_RATIO,
    nose_ratio: float = YAW_NOSE_RATIO,
    foot_ratio: float = YAW_FOOT_RATIO,
) -> np.ndarray:
    """Angle (deg, 0..90) between the body's left-right axis and the image plane, per frame.

    0 = face-on or back-on (frontal), 90 = side-on (sagittal). From ``world_m`` when given
    (``|atan2(dz, dx)|`` of the hip plus shoulder lines), otherwise from the image landmarks:
    ``atan2(sin_cue, cos_cue)`` of :func:`yaw_cues_2d` (shoulder and hip width for the cosine;
    the nose ahead of the ears and the feet's length for the sine). Using both a cosine and a
    sine cue keeps the estimate sensitive over the whole range (a width alone, ``acos``, cannot
    tell 0 from 25 deg) and makes it independent of the trunk's image length (camera pitch,
    trunk flexion toward the camera). The ratios are those of MediaPipe landmarks of an adult
    (:data:`YAW_WIDTH_RATIO`, ...); the estimate's measured error is in ``docs/validity.md``.
    """
    if world_m is not None:
        w = np.asarray(world_m, dtype=np.float64)
        ml = (w[:, 11] - w[:, 12]) + (w[:, 23] - w[:, 24])
        return np.rad2deg(np.arctan2(np.abs(ml[:, 2]), np.abs(ml[:, 0])))
    c, s = yaw_cues_2d(image_px, width_ratio=ref_width_ratio, nose_ratio=nose_ratio, foot_ratio=foot_ratio)
    return _yaw_from_cues(c, s)


def _yaw_from_cues(c: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Body yaw (deg, 0..90) from the cosine and sine cues of :func:`yaw_cues_2d`."""
    with np.errstate(invalid="ignore"):
        yaw = np.rad2deg(np.arctan2(s, c))
    return np.where(np.isfinite(c), np.where(np.isfinite(s), yaw, np.rad2deg(np.arccos(np.clip(c, 0, 1)))), np.nan)


def facing_and_yaw_2d(image_px) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(facing, front)`` of :func:`facing_2d` and the yaw (deg) of :func:`body_yaw_deg` from
    the same image landmarks (frames, 33, >=2) px, default parameters; for a long input one
    compiled pass over the landmarks gives both (the same values)."""
    p = np.asarray(image_px, dtype=np.float64)[..., :2]
    cues = _view_cues_compiled(p) if p.shape[0] else None
    if cues is None:
        facing, front = facing_2d(p)
        return facing, front, body_yaw_deg(p)
    return _hold(cues[0]), _hold(cues[1]), _yaw_from_cues(cues[2], cues[3])


def _view_cues_compiled(
    p: np.ndarray, thresholds=(0.3, 0.15), ratios=(YAW_WIDTH_RATIO, YAW_NOSE_RATIO, YAW_FOOT_RATIO)
) -> np.ndarray | None:
    """(4, frames): the unheld facing and front signs of :func:`facing_2d` and the cosine and
    sine cues of :func:`yaw_cues_2d`, by the compiled kernel (:mod:`movekit.analysis.kernels`,
    the same operations); None when the kernels do not apply (short input, Numba missing)."""
    if p.ndim != 3 or p.shape[1] != 33 or not kernels.wanted(p.shape[0] * _CUES_PER_FRAME):
        return None
    n = p.shape[0]
    out = np.empty((4, n))
    th, ra = np.array(thresholds, dtype=np.float64), np.array(ratios, dtype=np.float64)
    p = np.ascontiguousarray(p)

    def part(lo: int, hi: int) -> None:  # each frame's cues alone: the same values split or not
        if lo == 0 and hi == n:
            kernels.get().view_cues(p, th, ra, _SIN_WEIGHTS, out)
            return
        block = np.empty((4, hi - lo))
        kernels.get().view_cues(p[lo:hi], th, ra, _SIN_WEIGHTS, block)
        out[:, lo:hi] = block

    kernels.in_two(part, n, n * _CUES_PER_FRAME)
    return out


#: Estimated body yaw (deg) at or above which a view is side-on, at or below which face-on. From
#: docs/validity.md (scripts/validate_angles.py, virtual level cameras around Demo_MultiPerson):
#: 2D sagittal angles (knee flexion, trunk inclination) come closest to 5 deg MAE from 70-80 deg of
#: estimated yaw up, 2D trunk lateral lean within 5 deg up to 20 deg (the old 60/30 bands let
#: 48-59 deg views pass as side-on, issue 16). The error model (movekit.analysis.error_model) is
#: the gate; these labels are what a user is told about the view.
SAGITTAL_MIN_DEG = 70.0
FRONTAL_MAX_DEG = 20.0


def classify_view(
    image_px,
    world_m=None,
    *,
    sagittal_min_deg: float = SAGITTAL_MIN_DEG,
    frontal_max_deg: float = FRONTAL_MAX_DEG,
    smooth_frames: int = 15,
    facing=None,
    yaw_deg=None,
) -> np.ndarray:
    """View label per frame (see module docstring), smoothed by a majority vote.

    Parameters
    ----------
    image_px : array (frames, 33, >=2)
        Image landmarks (px); the side toward the camera comes from the facing direction.
    world_m : array (frames, 33, 3), optional
        World landmarks; when given, the body yaw comes from them (more reliable).
    sagittal_min_deg, frontal_max_deg : float
        Yaw at or above which a frame is side-on, at or below which face-on; oblique between.
    smooth_frames : int
        Centred majority-vote window (frames) against flicker; 1 = none.
    facing : array (frames,), optional
        +1/-1 from :func:`facing_2d` when already computed.
    yaw_deg : array (frames,), optional
        :func:`body_yaw_deg` of the same landmarks when already computed.

    Returns
    -------
    array of str (frames,)
    """
    p = np.asarray(image_px, dtype=np.float64)
    if p.shape[0] == 0:
        return np.empty(0, dtype="<U14")
    kw = dict(sagittal_min_deg=sagittal_min_deg, frontal_max_deg=frontal_max_deg, smooth_frames=smooth_frames)
    return np.array(VIEWS, dtype="<U14")[view_codes(p, world_m, facing=facing, yaw_deg=yaw_deg, **kw)]


def view_codes(
    image_px,
    world_m=None,
    *,
    sagittal_min_deg: float = SAGITTAL_MIN_DEG,
    frontal_max_deg: float = FRONTAL_MAX_DEG,
    smooth_frames: int = 15,
    facing=None,
    yaw_deg=None,
) -> np.ndarray:
    """:func:`classify_view` as rows of :data:`VIEWS` (frames,) int: the labels are
    ``np.array(VIEWS)[view_codes(...)]`` (for code that looks the views up, no string search)."""
    p = np.asarray(image_px, dtype=np.float64)
    n = p.shape[0]
    if n == 0:
        return np.empty(0, dtype=np.intp)
    yaw = body_yaw_deg(p, world_m) if yaw_deg is None else np.asarray(yaw_deg, dtype=np.float64)
    yaw = np.round(yaw, 6)  # a yaw on a band edge (20.000000001) is on it
    if facing is None:  # anatomical cues: independent of the model's left/right labels
        facing = facing_2d(p)[0]
    code = np.full(n, 4)  # unknown
    with np.errstate(invalid="ignore"):
        code = np.where(yaw >= sagittal_min_deg, np.where(facing > 0, 1, 0), code)
        code = np.where(yaw <= frontal_max_deg, 2, code)
        code = np.where((yaw > frontal_max_deg) & (yaw < sagittal_min_deg), 3, code)
    code = np.where(np.isfinite(yaw), code, 4)
    if smooth_frames > 1 and n > 1 and isinstance(smooth_frames, (int, np.integer)):
        if kernels.wanted(n * _CUES_PER_FRAME):  # the same vote in one compiled pass
            out = np.empty(n, dtype=np.intp)
            kernels.get().vote_views(code, int(smooth_frames), out)
            return out
    if smooth_frames > 1 and n > 1:
        from scipy.ndimage import uniform_filter1d  # here: the live path never smooths, and the import costs 0.6 s

        # the first of the four known views with the most votes (np.argmax's choice among equals),
        # one column at a time: no (frames, views) array
        best = np.zeros(n, dtype=np.intp)
        top = uniform_filter1d((code == 0).astype(float), smooth_frames, mode="nearest")
        for k in range(1, 4):
            votes = uniform_filter1d((code == k).astype(float), smooth_frames, mode="nearest")
            more = votes > top
            best[more] = k
            np.maximum(top, votes, out=top)
        code = np.where(code != 4, best, 4)
    return code


def view_segments(t_s, views) -> list[tuple[float, float, str]]:
    """Stretches of constant view: ``[(start_s, end_s, label), ...]`` (end = last frame's time)."""
    v = np.asarray(views)
    t = np.asarray(t_s, dtype=np.float64)
    if v.size == 0:
        return []
    cut = np.flatnonzero(v[1:] != v[:-1]) + 1
    starts = np.concatenate(([0], cut))
    ends = np.concatenate((cut, [v.size])) - 1
    return [(float(t[s]), float(t[e]), str(v[s])) for s, e in zip(starts, ends)]


def angle_validity(views, names=None, *, mode: str = "2d") -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per angle and frame: is the angle valid in this view, and why (in plain words).

    Parameters
    ----------
    views : array of str (frames,)
        From :func:`classify_view`.
    names : iterable of str, optional
        Angle column names (default all of :data:`movekit.analysis.angles.ANGLES`).
    mode : "2d" or "3d"
        2D angles are valid only in their plane's view. 3D angles (world landmarks) are valid in any
        known view, with a caution where the plane of motion lies along the camera axis.

    Returns
    -------
    dict
        ``{name: (valid bool (frames,), reason str (frames,))}``.
    """
    from movekit.analysis.angles import ANGLES

    v = np.asarray(views)
    out = {}
    for name in names if names is not None else ANGLES:
        d = ANGLES[name]
        what = name.removesuffix("_deg").replace("_", " ")
        need = "a side view" if d.plane == "sagittal" else "a front or back view"
        valid = np.zeros(v.shape, dtype=bool)
        reason = np.empty(v.shape, dtype=object)
        for label in VIEWS:
            sel = v == label
            if not sel.any():
                continue
            if label == "unknown":
                ok, why = False, f"{what}: not measurable, the shoulders or hips are not seen"
            elif mode == "3d":
                ok = True
                along = (d.plane == "frontal") == label.startswith("sagittal")
                why = (
                    f"{what}: 3D estimate; in {_HUMAN[label]} this movement is mostly toward or "
                    "away from the camera, whose depth the model guesses, so treat it as rough"
                    if along
                    else f"{what}: 3D estimate, usable in {_HUMAN[label]}"
                )
            else:
                ok = label in d.valid_views_2d
                why = (
                    f"{what}: measured in {_HUMAN[label]}, fine"
                    if ok
                    else f"{what} needs {need}; this stretch is filmed from {_HUMAN[label]}, "
                    "so the 2D angle is distorted and should not be used"
                )
            if d.proxy:
                why += " (proxy: no landmark exists for the real measure)"
            valid[sel] = ok
            reason[sel] = why
        out[name] = (valid, reason.astype(str))
    return out
