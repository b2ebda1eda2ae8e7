"""Posture snapshot: the standing alignment a camera can see, each angle only in its valid view.

Side view: trunk inclination, craniovertebral angle proxy and head-forward proxy (Yip et al.
2008, Man Ther 13:148-154: the true craniovertebral angle uses C7 and the tragus, which pose
lacks; these are labelled proxies). Front view: trunk lateral lean, pelvic obliquity (hip joint
landmarks stand in for the iliac crests, proxy; Piva 2006) and shoulder height difference.
Descriptive only: no cut-offs are applied. The snapshot is the median over the stillest second
of the recording (lowest landmark speed) spent in one view, side or front, so a walk-in or a
turn does not spoil it. Shoulder height difference: the left-to-right shoulder line against the
image horizontal, positive when the subject's right shoulder is lower.
"""

from __future__ import annotations

import numpy as np

from movekit.assess._pose import analyse_pose, view_kinds
from movekit.assess.result import AssessmentResult

YIP = ("Yip et al. 2008, The relationship between head posture and severity and disability of patients "
       "with neck pain, Man Ther 13:148-154")


def stillest_window(t_s, points, usable, window_s: float = 1.0) -> np.ndarray:
    """Boolean mask of the ``window_s`` stretch of usable frames with the least landmark motion."""
    t = np.asarray(t_s, dtype=np.float64)
    p = np.asarray(points, dtype=np.float64)[..., :2]
    n = t.size
    speed = np.full(n, np.inf)
    if n > 1:
        d = np.linalg.norm(np.diff(p, axis=0), axis=2)
        cnt = np.isfinite(d).sum(axis=1)
        sp = np.where(cnt > 0, np.nansum(d, axis=1) / np.maximum(cnt, 1), np.nan)
        speed[1:] = np.where(np.isfinite(sp) & usable[1:], sp, np.inf)
    fs = 1.0 / np.median(np.diff(t)) if n > 1 else 1.0
    w = max(1, int(round(window_s * fs)))
    best, best_i = np.inf, None
    for i in range(0, max(1, n - w + 1)):
        s = speed[i:i + w]
        if np.all(np.isfinite(s)) and s.mean() < best:
            best, best_i = s.mean(), i
    mask = np.zeros(n, dtype=bool)
    if best_i is not None:
        mask[best_i:best_i + w] = True
    return mask


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
        m = stillest_window(pd.t_s, pd.points, pd.usable & (kinds == k))
        if m.any():
            speed = _mean_speed(pd.points, m)
            if speed < best:
                best, mask, view = speed, m, k
    if not r.check("still", bool(mask.any()), f"a still second of standing in {view} view found" if mask.any()
                   else "no still second in a side or front view with the landmarks seen"):
        return r
    ang = pd.angles
    med = lambda k: float(np.nanmedian(ang[k][mask]))  # noqa: E731
    r.reps = [{"window_start_s": float(pd.t_s[mask][0]), "window_end_s": float(pd.t_s[mask][-1]),
               "view": view}]
    if view == "sagittal":
        side = pd.side_toward_camera or "left"
        r.add_metric("trunk_inclination_deg", med("trunk_inclination_deg"), "deg")
        r.add_metric("craniovertebral_proxy_deg", med(f"{side}_craniovertebral_proxy_deg"), "deg")
        r.add_metric("head_forward_proxy_deg", med(f"{side}_head_forward_proxy_deg"), "deg")
        r.flag("proxy", "craniovertebral and head-forward angles are proxies (no C7 or tragus landmark; Yip 2008)")
        r.flag("not_judged", "lateral lean, pelvic obliquity and shoulder level need a front view")
    else:
        p = pd.points[mask]
        dy = p[:, 12, 1] - p[:, 11, 1]
        dx = np.abs(p[:, 12, 0] - p[:, 11, 0])
        r.add_metric("trunk_lateral_lean_deg", med("trunk_lateral_lean_deg"), "deg")
        r.add_metric("pelvis_obliquity_deg", med("pelvis_obliquity_deg"), "deg")
        r.add_metric("shoulder_height_difference_deg", float(np.nanmedian(np.degrees(np.arctan2(dy, dx)))), "deg")
        r.flag("proxy", "pelvic obliquity uses the hip joint landmarks in place of the iliac crests (proxy)")
        r.flag("not_judged", "trunk inclination and head posture need a side view")
    return r


def _mean_speed(points, mask) -> float:
    p = np.asarray(points, dtype=np.float64)[mask][..., :2]
    return float(np.nanmean(np.linalg.norm(np.diff(p, axis=0), axis=2))) if mask.sum() > 1 else np.inf
