"""Body yaw from a reference standing trial of the same person in the same camera set-up.

The single-image yaw estimate (:func:`movekit.analysis.view.body_yaw_deg`) divides the image
width of the shoulders and hips by a population ratio to the trunk length. Near face-on a width
changes with the cosine of the yaw (cos 10 deg = 0.985, cos 20 deg = 0.940), so a few percent of
difference between this person (or this camera's pitch, which shortens the trunk in the image)
and the population ratio moves the estimate by 10-20 deg. A standing trial of the same person in
a known view, filmed by the same camera, measures those ratios for this person and set-up.

Cues per frame (image landmarks, lengths over the mid-shoulder to mid-hip trunk length ``L``):

* ``shoulder`` and ``hip``: image-horizontal width of the shoulder and hip lines, ``~ w0 cos a``;
* ``nose``: signed offset of the nose from the mid-ear point across the neck axis, ``~ n0 sin a``
  plus the head's own turn (computed, but left out of the fit by default: :data:`CUE_SD`);
* ``feet``: signed heel-to-foot-index offset along the image horizontal, both feet averaged,
  ``~ f0 sin a`` plus the feet's own turn.

``a`` is the signed body yaw (deg, -90..90): 0 face-on or back-on, positive when the subject's
LEFT side is nearer the camera (the subject faces image left; +90 = ``sagittal_left``, as
:mod:`movekit.analysis.virtual_camera` folds its azimuth). The sine cues are signed image-left
positive, which is the same sign in a front and a back view, so they give the sign of ``a``.

Estimate: the yaw on a 0.5 deg grid that minimises the sum of squared cue residuals, each over
its standard deviation (a least-squares fit of the cue model; Hartley & Zisserman 2004, ch. 4,
for the maximum-likelihood reading under Gaussian errors). Its uncertainty: the range of ``|a|``
whose cost is within 1 of the minimum (the 68 % profile-likelihood interval of one parameter,
Press et al. 2007, Numerical Recipes 3rd ed., 15.6.5). The cue SDs are measured, not assumed
(:data:`CUE_SD`, ``scripts/validate_yaw.py``); the estimator's error against a triangulated
reference is in ``docs/validity.md``, section "Yaw from a reference standing trial".

Measured limit (that section): it helps a person the population ratios do not fit when the test
posture keeps the reference's stance, and makes the estimate worse when the posture changes (the
body's own width-to-trunk ratios change by 5-15 % with posture, more than cos 20 deg = 0.94), so the
pipeline does not use it; the 68 % interval is over-confident (contains the truth in 45-58 % of
frames).

Pure functions: arrays in, arrays out; no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from movekit.analysis.view import YAW_FOOT_RATIO, YAW_NOSE_RATIO, facing_2d, trunk_length_px
from movekit.errors import MovekitError

#: Cue order of every array in this module.
CUES = ("shoulder", "hip", "nose", "feet")
#: Population amplitudes (trunk lengths) used when the reference cannot measure a cue: shoulder
#: and hip width of the MediaPipe landmarks of the man in Pose2Sim's Demo_MultiPerson (0.36 m and
#: 0.19 m over a 0.525 m trunk, as :data:`movekit.analysis.view.YAW_WIDTH_RATIO`), nose and foot
#: offsets at side-on (:data:`movekit.analysis.view.YAW_NOSE_RATIO`, ``YAW_FOOT_RATIO``).
POPULATION_AMPLITUDE = np.array([0.69, 0.36, YAW_NOSE_RATIO, YAW_FOOT_RATIO])
#: Per-frame SD (trunk lengths) of each cue about its model at the true yaw: the pose model's
#: jitter plus what the cue does on its own (the feet turn, the shoulders protract, the trunk
#: length changes with posture). RMS measured by scripts/validate_yaw.py (``cue_sd_training``) on
#: the training trial (Demo_MultiPerson, both subjects, the real views within 35 deg of face-on,
#: the frames after the reference): 0.102, 0.053, 0.058, 0.118. The nose is left out (infinite SD):
#: the head turns on its own, and with it the share of frames estimated 0-10 deg that are truly
#: 0-10 fell from 60 to 33 % (virtual views, level camera; docs/validity.md).
CUE_SD = np.array([0.102, 0.053, np.inf, 0.118])
#: Fewest reference frames with the cues the view measures seen (widths face-on, feet side-on).
MIN_REFERENCE_FRAMES = 10
#: Widest spread (interquartile range over the median) of a width cue (face-on) or the feet cue
#: (side-on) in a usable reference: the pose model's jitter alone gives about 0.1 for the hips of
#: a standing subject face-on (SD ~0.05 trunk lengths on a width of ~0.4, :data:`CUE_SD`); more
#: means the subject turned or moved.
MAX_REFERENCE_SPREAD = 0.25

_GRID_DEG = np.arange(-90.0, 90.0 + 1e-9, 0.5)
_CHUNK_FRAMES = 2048
_VERTICAL = np.array([0.0, -1.0])


def _perp(v: np.ndarray, axis_unit: np.ndarray) -> np.ndarray:
    """Signed component of 2D vectors ``v`` across the unit axis: positive toward image left
    when the axis points up the image."""
    return v[..., 0] * axis_unit[..., 1] - v[..., 1] * axis_unit[..., 0]


def yaw_cues(image_px) -> np.ndarray:
    """The four cues per frame (frames, 4) in trunk lengths, order :data:`CUES`; NaN where unseen.

    Parameters
    ----------
    image_px : array (frames, 33, >=2)
        Image landmarks (px), lens distortion removed and, when the camera's tilt is known,
        levelled (:func:`movekit.analysis.camera_tilt.level_image_points`), as the pipeline does.

    Returns
    -------
    array (frames, 4)
        Shoulder width, hip width (unsigned), nose offset, feet offset (signed, image left +).
    """
    p = np.asarray(image_px, dtype=np.float64)[..., :2]
    if p.ndim != 3 or p.shape[1] < 33:
        raise MovekitError(f"image landmarks must be (frames, 33, 2); got shape {p.shape}")
    L = trunk_length_px(p)
    ear = 0.5 * (p[:, 7] + p[:, 8])
    neck = ear - 0.5 * (p[:, 11] + p[:, 12])
    vert = np.broadcast_to(_VERTICAL, neck.shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        neck_u = neck / np.hypot(neck[:, :1], neck[:, 1:])
        cues = (
            np.stack(
                [
                    np.abs(_perp(p[:, 11] - p[:, 12], vert)),
                    np.abs(_perp(p[:, 23] - p[:, 24], vert)),
                    _perp(p[:, 0] - ear, neck_u),
                    0.5 * (_perp(p[:, 31] - p[:, 29], vert) + _perp(p[:, 32] - p[:, 30], vert)),
                ],
                axis=1,
            )
            / L[:, None]
        )
    return np.where(np.isfinite(cues) & (L[:, None] > 0), cues, np.nan)


@dataclass(frozen=True)
class YawReference:
    """A person's cue model from a reference standing trial (trunk lengths; order :data:`CUES`).

    ``amplitude``: face-on width (shoulder, hip) and side-on offset (nose, feet) of the cues;
    ``bias``: offset of the sine cues at 0 yaw (head or feet turned in the person's own stance);
    ``sd``: per-frame SD of each cue used in the fit; ``measured``: which amplitudes came from the
    trial (the rest are :data:`POPULATION_AMPLITUDE`).
    """

    amplitude: tuple[float, float, float, float]
    bias: tuple[float, float, float, float]
    sd: tuple[float, float, float, float]
    measured: tuple[bool, bool, bool, bool]
    view: str
    reference_yaw_deg: float
    n_frames: int


def population_reference() -> YawReference:
    """The cue model without a reference trial: population amplitudes, no bias."""
    return YawReference(
        tuple(float(v) for v in POPULATION_AMPLITUDE), (0.0,) * 4, tuple(float(v) for v in CUE_SD),
        (False,) * 4, "none", float("nan"), 0,
    )  # fmt: skip


def _reference_problems(cues: np.ndarray, view: str) -> list[str]:
    """Why a reference trial's cues cannot be trusted (empty: they can). Face-on: the shoulder and
    hip widths; side-on: the feet offset (the widths are near 0 there)."""
    idx, what = ([0, 1], "shoulders and hips") if view == "face-on" else ([3], "feet")
    x = cues[:, idx]
    ok = np.isfinite(x).all(axis=1)
    if ok.sum() < MIN_REFERENCE_FRAMES:
        return [f"the {what} were seen in {int(ok.sum())} frames (at least {MIN_REFERENCE_FRAMES})"]
    lo, med, hi = np.percentile(x[ok], [25, 50, 75], axis=0)
    spread = (hi - lo) / np.maximum(np.abs(med), 1e-9)
    if np.max(spread) > MAX_REFERENCE_SPREAD:
        worst = CUES[idx[int(np.argmax(spread))]]
        return [
            f"the {worst} cue changed by {np.max(spread):.0%} of its median during the trial "
            f"(limit {MAX_REFERENCE_SPREAD:.0%}): the person turned or moved"
        ]
    return []


def reference_from_trial(image_px, *, view: str = "face-on", reference_yaw_deg: float | None = None) -> YawReference:
    """The person's cue model from a standing trial filmed by the same camera.

    Parameters
    ----------
    image_px : array (frames, 33, >=2)
        Image landmarks (px) of the standing trial, prepared as for :func:`yaw_cues`.
    view : "face-on" or "side-on"
        How the person stood to the camera. Face-on measures the shoulder and hip widths and the
        sine cues' bias; side-on measures the nose and feet offsets (widths stay population).
    reference_yaw_deg : float, optional
        The trial's signed body yaw (deg, -90..90, + = left side nearer) when known better than
        "face-on" (0) or "side-on" (90), e.g. from a calibrated multi-camera rig; within 45 deg
        of the named view.

    Returns
    -------
    YawReference

    Raises
    ------
    MovekitError
        An unknown view, a yaw far from the view, too few frames, or a person who turned
        during the trial.
    """
    if view not in ("face-on", "side-on"):
        raise MovekitError(f"reference view must be 'face-on' or 'side-on', not {view!r}")
    a0 = float(reference_yaw_deg if reference_yaw_deg is not None else (0.0 if view == "face-on" else 90.0))
    if not (abs(a0) <= 45.0 if view == "face-on" else 45.0 <= abs(a0) <= 90.0):
        raise MovekitError(f"a {view} reference trial cannot have a body yaw of {a0:g} deg")
    cues = yaw_cues(image_px)
    problems = _reference_problems(cues, view)
    if problems:
        raise MovekitError("the reference standing trial cannot be used: " + "; ".join(problems))
    med = np.nanmedian(cues, axis=0)
    amp, bias, measured = POPULATION_AMPLITUDE.copy(), np.zeros(4), np.zeros(4, dtype=bool)
    c, s = np.cos(np.deg2rad(a0)), np.sin(np.deg2rad(a0))
    if view == "face-on":
        amp[:2], measured[:2] = med[:2] / c, True
        bias[2:] = np.nan_to_num(med[2:] - POPULATION_AMPLITUDE[2:] * s)
    else:
        seen = np.isfinite(med[2:]) & (np.abs(med[2:]) > 0.02)  # a cue of under 0.02 trunk lengths: not seen
        amp[2:] = np.where(seen, np.abs(med[2:]) / max(abs(s), 1e-6), POPULATION_AMPLITUDE[2:])
        measured[2:] = seen
    return YawReference(
        tuple(float(v) for v in amp), tuple(float(v) for v in bias), tuple(float(v) for v in CUE_SD),
        tuple(bool(v) for v in measured), view, a0, int(np.isfinite(cues[:, :2]).all(axis=1).sum()),
    )  # fmt: skip


def cue_model(reference: YawReference, yaw_deg, front=1.0) -> np.ndarray:
    """Expected cues (..., 4) at signed body yaw ``yaw_deg`` (deg) for this person.

    ``front`` (+1 facing the camera, -1 facing away; broadcast against ``yaw_deg``): the sine
    cues' bias (a head or foot turned in the person's stance, measured face-on) is mirrored in
    the image when the person faces away.
    """
    a = np.deg2rad(np.asarray(yaw_deg, dtype=np.float64))[..., None]
    f = np.asarray(front, dtype=np.float64)[..., None]
    amp, bias = np.asarray(reference.amplitude), np.asarray(reference.bias)
    trig = np.concatenate([np.cos(a), np.cos(a), np.sin(a), np.sin(a)], axis=-1)
    return amp * trig + bias * np.concatenate([np.ones_like(f), np.ones_like(f), f, f], axis=-1)


@dataclass(frozen=True)
class YawEstimate:
    """Per frame (deg): signed body yaw (-90..90, + = the subject's left side nearer the camera),
    its magnitude, and the 68 % interval of the magnitude; NaN where the widths are unseen."""

    yaw_deg: np.ndarray
    abs_yaw_deg: np.ndarray
    abs_low_deg: np.ndarray
    abs_high_deg: np.ndarray

    @property
    def uncertainty_deg(self) -> np.ndarray:
        """Half the width of the 68 % interval of ``|yaw|`` (deg)."""
        return 0.5 * (self.abs_high_deg - self.abs_low_deg)


def _cost(cues: np.ndarray, reference: YawReference, front: np.ndarray) -> np.ndarray:
    """(frames, grid) sum of squared standardised residuals; a cue NaN in a frame is left out."""
    model = cue_model(reference, _GRID_DEG[None, :], front[:, None])  # (frames, grid, 4)
    z = (cues[:, None, :] - model) / np.asarray(reference.sd)
    return np.nansum(z * z, axis=2)


def estimate_yaw(image_px, reference: YawReference | None = None) -> YawEstimate:
    """Signed body yaw per frame from the image cues fitted to the person's reference model.

    Parameters
    ----------
    image_px : array (frames, 33, >=2)
        Image landmarks (px), prepared as for :func:`yaw_cues` (same camera set-up as the
        reference trial: its pitch is part of the measured widths).
    reference : YawReference, optional
        From :func:`reference_from_trial`; default :func:`population_reference`.

    Returns
    -------
    YawEstimate
    """
    ref = reference if reference is not None else population_reference()
    cues = yaw_cues(image_px)
    n = cues.shape[0]
    out = np.full((4, n), np.nan)
    seen = np.isfinite(cues[:, :2]).all(axis=1)
    if seen.any():
        front = facing_2d(np.asarray(image_px, dtype=np.float64)[..., :2])[1]  # shoulder and hip order
        idx = np.flatnonzero(seen)
        for i in range(0, idx.size, _CHUNK_FRAMES):  # (frames, grid, 4) floats: bounded memory
            sel = idx[i : i + _CHUNK_FRAMES]
            out[:, sel] = _fit(cues[sel], ref, front[sel])
    return YawEstimate(*out)


def _fit(cues: np.ndarray, reference: YawReference, front: np.ndarray) -> np.ndarray:
    """(4, frames): best signed yaw, its magnitude, and the 68 % interval of the magnitude (deg)."""
    cost = _cost(cues, reference, front)
    best = np.argmin(cost, axis=1)
    yaw = _GRID_DEG[best]
    inside = cost <= cost[np.arange(cost.shape[0]), best][:, None] + 1.0
    mag = np.where(inside, np.abs(_GRID_DEG)[None], np.nan)
    return np.stack([yaw, np.abs(yaw), np.nanmin(mag, axis=1), np.nanmax(mag, axis=1)])


__all__ = [
    "CUES",
    "CUE_SD",
    "POPULATION_AMPLITUDE",
    "YawEstimate",
    "YawReference",
    "cue_model",
    "estimate_yaw",
    "population_reference",
    "reference_from_trial",
    "yaw_cues",
]
