"""Posture snapshot: the standing alignment a camera can see, each angle only in its valid view.

Side view: trunk inclination, craniovertebral angle proxy and head-forward proxy (Yip et al.
2008, Man Ther 13:148-154: the true craniovertebral angle uses C7 and the tragus, which pose
lacks; these are labelled proxies). Front view: trunk lateral lean, pelvic obliquity (hip joint
landmarks stand in for the iliac crests, proxy; Piva 2006). Each is shown only where its expected
error is within the limit (movekit.analysis.error_model, docs/validity.md), else None; a shoulder
height difference is not reported: its error has not been measured. Descriptive only: no
cut-offs are applied. The snapshot is the median over the stillest second
of the recording (lowest landmark speed) spent in one view, side or front, so a walk-in or a
turn does not spoil it.

A pose triangulated from calibrated cameras gives the side- and front-view angles together
(3D, each gated by its measured multi-camera error; :mod:`movekit.assess._pose`), head proxies
excepted (not measured from several cameras).

Stillness: the snapshot is the one-second window with the least landmark travel, and it is
refused ("no still standing found") when even that window moves faster than
:data:`STILL_LIMIT_TL_PER_S` torso lengths per second. Speed here is the travel range over the
window divided by its duration: for each of ears, shoulders and hips the diagonal of the box its
cleaned (6 Hz low-passed) image track spans, the median over those landmarks, over the median
torso length (mid-shoulder to mid-hip, px), per second. A range rather than frame-to-frame
differences, so the pose model's jitter (which frame-to-frame speed multiplies by the frame rate)
does not pass for movement. 0.10 torso lengths/s is ~5 cm of travel in the second for a ~0.5 m
torso: an engineering bound, several times quiet-standing sway (centre-of-pressure mean velocity
~1-2 cm/s in healthy adults, Prieto 1996; head and shoulders sway somewhat more) and far below
deliberate movement (walking ~1.3 m/s is ~2.6 torso lengths/s). Measured through the pose model
on real clips: the Sports2D demo (jumping jacks, then walking) 0.54 and the Pose2Sim
lunge-and-twist clip 0.47 torso lengths/s in their stillest second; both are refused.
"""

from __future__ import annotations

import warnings

import numpy as np

from movekit.analysis.view import trunk_length_px
from movekit.assess._pose import analyse_pose, view_kinds
from movekit.assess.result import AssessmentResult

STILL_LIMIT_TL_PER_S = 0.10  #: torso lengths per second (see the module docstring)
STILL_LANDMARKS = (7, 8, 11, 12, 23, 24)  #: ears, shoulders, hips: what the snapshot measures
PRIETO = (
    "Prieto et al. 1996, Measures of postural steadiness: differences between healthy young "
    "and elderly adults, IEEE Trans Biomed Eng 43:956-966 (quiet-standing sway velocity)"
)
YIP = (
    "Yip et al. 2008, The relationship between head posture and severity and disability of patients "
    "with neck pain, Man Ther 13:148-154"
)


def window_travel(t_s, points, usable, window_s: float = 1.0, landmarks=STILL_LANDMARKS) -> np.ndarray:
    """Per window start frame: landmark travel speed (torso lengths/s) of the ``window_s`` stretch
    starting there (see the module docstring); inf where the stretch is not all usable."""
    t = np.asarray(t_s, dtype=np.float64)
    n = t.size
    if n < 2:
        return np.full(n, np.inf)
    fs = 1.0 / np.median(np.diff(t))
    w = max(2, round(window_s * fs))
    if n < w:
        return np.full(n, np.inf)
    pts = np.asarray(points, dtype=np.float64)
    torso = trunk_length_px(pts)
    tl = float(np.nanmedian(torso)) if np.isfinite(torso).any() else float("nan")
    p = pts[:, list(landmarks), :2]
    win = np.lib.stride_tricks.sliding_window_view(p, w, axis=0)  # (n-w+1, L, 2, w)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        rng = np.nanmax(win, axis=-1) - np.nanmin(win, axis=-1)  # (n-w+1, L, 2)
        travel = np.nanmedian(np.hypot(rng[..., 0], rng[..., 1]), axis=1)
    dur = t[w - 1 :] - t[: n - w + 1]
    ok = np.lib.stride_tricks.sliding_window_view(np.asarray(usable, dtype=bool), w).all(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        sp = travel / tl / dur
    out = np.full(n, np.inf)
    out[: n - w + 1] = np.where(ok & np.isfinite(sp), sp, np.inf)
    return out


def stillest_window(t_s, points, usable, window_s: float = 1.0, landmarks=STILL_LANDMARKS) -> tuple[np.ndarray, float]:
    """``(mask, speed)``: the ``window_s`` stretch of usable frames with the least landmark travel
    and its speed (torso lengths/s); an all-False mask and inf when no such stretch exists."""
    t = np.asarray(t_s, dtype=np.float64)
    n = t.size
    mask = np.zeros(n, dtype=bool)
    sp = window_travel(t, points, usable, window_s, landmarks)
    if not n or not np.isfinite(sp).any():
        return mask, float("inf")
    i = int(np.argmin(sp))
    w = max(2, round(window_s / float(np.median(np.diff(t)))))
    mask[i : i + w] = True
    return mask, float(sp[i])


def assess_posture(pose) -> AssessmentResult:
    """Posture snapshot from video (see the module docstring)."""
    r = AssessmentResult("posture")
    r.cite(YIP)
    pd = analyse_pose(pose, r, need_view="any", landmarks=[7, 8, 11, 12, 23, 24], min_duration_s=1.0)
    if pd is None:
        return r
    kinds = view_kinds(pd.an.view)
    best, mask, view = np.inf, np.zeros(len(pd.t_s), bool), None
    for k in ("sagittal", "frontal"):  # one view for the whole snapshot
        m, speed = stillest_window(pd.t_s, pd.points, pd.usable & (kinds == k))
        if m.any() and speed < best:
            best, mask, view = speed, m, k
    if view is not None and pd.triangulated is not None:
        view = "3D"  # the triangulated pose, seen by a virtual front camera: any view
    if not r.check(
        "still",
        bool(mask.any()),
        f"a second of standing in {view} view found"
        if mask.any()
        else "no second with the ears, shoulders and hips triangulated in every frame"
        if pd.triangulated is not None
        else "no still second in a side or front view with the landmarks seen",
    ):
        return r
    r.cite(PRIETO)
    still = best <= STILL_LIMIT_TL_PER_S
    if not r.check(
        "stillness",
        still,
        f"stillest second ({pd.t_s[mask][0]:.2f}-{pd.t_s[mask][-1]:.2f} s, {view} view) moves "
        f"{best:.2f} torso lengths/s"
        + (
            ""
            if still
            else f": no still standing found (needs <= {STILL_LIMIT_TL_PER_S:g}); ask the client to stand "
            "still for a few seconds"
        ),
        round(best, 3),
        f"<= {STILL_LIMIT_TL_PER_S:g} torso lengths/s",
    ):
        return r
    ang = pd.angles
    med = lambda k: float(np.nanmedian(ang[k][mask]))  # noqa: E731
    r.reps = [{"window_start_s": float(pd.t_s[mask][0]), "window_end_s": float(pd.t_s[mask][-1]), "view": view}]
    if pd.triangulated is not None:
        _snapshot_3d(r, med)
    elif view == "sagittal":
        side = pd.side_toward_camera or "left"
        r.add_metric("trunk_inclination_deg", med("trunk_inclination_deg"), "deg")
        r.add_metric("craniovertebral_proxy_deg", med(f"{side}_craniovertebral_proxy_deg"), "deg")
        r.add_metric("head_forward_proxy_deg", med(f"{side}_head_forward_proxy_deg"), "deg")
        r.flag("proxy", "craniovertebral and head-forward angles are proxies (no C7 or tragus landmark; Yip 2008)")
        r.flag("not_judged", "lateral lean, pelvic obliquity and shoulder level need a front view")
    else:
        r.add_metric("trunk_lateral_lean_deg", med("trunk_lateral_lean_deg"), "deg")
        r.add_metric("pelvis_obliquity_deg", med("pelvis_obliquity_deg"), "deg")
        r.flag("proxy", "pelvic obliquity uses the hip joint landmarks in place of the iliac crests (proxy)")
        r.flag("not_judged", "trunk inclination and head posture need a side view")
    return r


def _snapshot_3d(r: AssessmentResult, med) -> None:
    """The posture snapshot of a triangulated pose: side- and front-view angles at once (3D, each
    shown only where its measured multi-camera error allows); ``med(name)``: the window's median."""
    for name in ("trunk_inclination_deg", "trunk_lateral_lean_deg", "pelvis_obliquity_deg"):
        r.add_metric(name, med(name), "deg")
    r.flag("proxy", "pelvic obliquity uses the hip joint landmarks in place of the iliac crests (proxy)")
    r.flag(
        "not_judged",
        "head posture (craniovertebral and head-forward proxies) is not reported from 3D: its "
        "multi-camera error has not been measured",
    )
