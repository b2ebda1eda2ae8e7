"""FMS deep squat, scored 0-3 with the criteria that decided it (Cook et al. 2006).

Cook, Burton & Hoogenboom 2006, Pre-participation screening: the use of fundamental movements as
an assessment of function, N Am J Sports Phys Ther 1:62-72 (part 1) and 1:132-139 (part 2):
3 = upper torso parallel with the tibia or toward vertical, femur below horizontal, knees aligned
over the feet, dowel aligned over the feet; 2 = the same only with the heels raised (on a board);
1 = otherwise; 0 = pain during the test (needs a pain report: a ``pain`` event in the squat).

Camera judgement (at the deepest frame of each rep; 2D, so a 5 deg tolerance for the ~4-6 deg
error of 2D sagittal angles, Stenum 2021): torso vs tibia and femur below horizontal need a side
view; knees over feet needs a front view; "dowel over feet" uses the wrists (no dowel landmark):
both wrists above the head and horizontally within the foot's heel-to-toe span, side view.
Heels raised: either heel lifted by > 5 % of shank length from its standing height stands in for
the board. A pose triangulated from calibrated cameras judges all four at once: the side-view ones
from a virtual camera on the subject's right, knees over feet from a virtual front camera
(:mod:`movekit.assess._pose`), torso vs tibia only when the 3D trunk inclination's measured
multi-camera error allows. A criterion the view cannot judge is ``None``; when the score depends on it, no score
is given.
"""

from __future__ import annotations

import numpy as np

from movekit.analysis import landmarks as lm
from movekit.analysis.reps import segment_reps
from movekit.assess._pose import (
    STENUM,
    analyse_pose,
    controlled,
    shank_length_px,
    view_kinds,
)
from movekit.assess.result import AssessmentResult

COOK = (
    "Cook, Burton & Hoogenboom 2006, Pre-participation screening: the use of fundamental "
    "movements as an assessment of function, N Am J Sports Phys Ther 1:62-72 and 1:132-139"
)
TOL_DEG = 5.0
HEEL_RAISE_FRACTION = 0.05
KNEE_OVER_FOOT_FRACTION = 0.12


def fms_score(criteria: dict[str, bool | None], heels_raised: bool, pain: bool) -> tuple[int | None, str]:
    """Cook 2006 scoring from judged criteria; returns ``(score or None, reason)``."""
    if pain:
        return 0, "pain reported during the squat"
    judged = {k: v for k, v in criteria.items() if v is not None}
    failed = [k for k, v in judged.items() if not v]
    unknown = [k for k, v in criteria.items() if v is None]
    if failed:
        return 1, "not met: " + ", ".join(failed).replace("_", " ")
    if unknown:
        return None, "not judged from this view: " + ", ".join(unknown).replace("_", " ")
    if heels_raised:
        return 2, "all criteria met, but only with the heels raised"
    return 3, "all criteria met with the heels down"


def assess_squat(pose, events=(), *, side: str | None = None) -> AssessmentResult:
    """FMS deep squat from video; ``events`` with kind ``pain`` during a rep score 0."""
    r = AssessmentResult("squat")
    r.cite(COOK, STENUM)
    pd = analyse_pose(pose, r, need_view="any", landmarks=[11, 12, 23, 24, 25, 26, 27, 28], min_duration_s=1.0)
    if pd is None:
        return r
    p = np.where(pd.usable[:, None, None], pd.points, np.nan)
    t = pd.t_s
    side = side or pd.side_toward_camera or "left"
    hip_y = 0.5 * (p[:, 23, 1] + p[:, 24, 1])
    shank = shank_length_px(p, side)
    depth = 100.0 * (hip_y - np.nanpercentile(hip_y, 5)) / shank
    found = segment_reps(t, depth, prominence_deg=30.0, direction="up", min_duration_s=0.5)
    reps = [rp for rp in found if controlled(rp)]
    if len(found) > len(reps):
        r.flag(
            "fast_movements_ignored",
            f"{len(found) - len(reps)} fast lowering(s) (< 0.4 s down or up: "
            "jumps or landings) were not scored as squats",
        )
    if not r.check(
        "reps", bool(reps), f"{len(reps)} squat(s) found (hips lowered by >= 30% of shank length)", len(reps), ">= 1"
    ):
        return r
    pain_t = [float(e["t_s"]) for e in events if e.get("kind") == "pain"]
    heel0 = {s: np.nanpercentile(p[:, lm.HEEL[s], 1], 95) for s in lm.SIDES}  # lowest heel position
    facing = 1.0
    if pd.view_kind == "sagittal":
        facing = 1.0 if np.nanmedian(p[:, 0, 0] - 0.5 * (p[:, 7, 0] + p[:, 8, 0])) >= 0 else -1.0
    kinds = view_kinds(pd.an.view)
    out = []
    for rep in reps:
        rep_kinds = set(kinds[rep.start_idx : rep.end_idx + 1])
        if pd.side_points is not None:  # triangulated: side and front geometry at once
            crit, why = _criteria_3d(p, pd, rep.peak_idx, side, shank)
        elif rep_kinds == {"sagittal"}:
            crit, why = _side_view_criteria(p, rep.peak_idx, side, facing, shank, pd.angles["trunk_inclination_deg"])
        else:
            crit, why = _front_view_criteria(p, rep.peak_idx, shank, rep_kinds == {"frontal"})
        a, b = rep.start_idx, rep.end_idx
        raise_px = max(heel0[s] - np.nanmin(p[a : b + 1, lm.HEEL[s], 1]) for s in lm.SIDES)
        heels = bool(raise_px > HEEL_RAISE_FRACTION * shank)
        pain = any(rep.start_s <= x <= rep.end_s for x in pain_t)
        score, reason = fms_score(crit, heels, pain)
        out.append(
            {
                "rep": len(out) + 1,
                "start_s": rep.start_s,
                "bottom_s": rep.peak_s,
                "end_s": rep.end_s,
                "criteria": crit,
                "reasons": why,
                "heels_raised": heels,
                "pain": pain,
                "fms_score_points": score,
                "decided_by": reason,
            }
        )
    _add_score(r, out)
    if not events:
        r.flag("no_pain_reports", "no pain reports recorded: a score of 0 (pain) cannot be given")
    return r


def _side_view_criteria(p, k: int, side: str, facing: float, shank: float, trunk_deg) -> tuple[dict, dict]:
    """Torso vs tibia, femur below horizontal and dowel over feet at the bottom frame ``k`` (Cook 2006)."""
    crit: dict[str, bool | None] = {}
    why: dict[str, str] = {}
    knee, ank, hip = p[k, lm.KNEE[side]], p[k, lm.ANKLE[side]], p[k, lm.HIP[side]]
    tibia = float(np.degrees(np.arctan2(facing * (knee[0] - ank[0]), ank[1] - knee[1])))
    trunk = float(trunk_deg[k])
    if np.isfinite(trunk):
        crit["torso_parallel_to_tibia"] = bool(trunk <= tibia + TOL_DEG)
        why["torso_parallel_to_tibia"] = f"trunk {trunk:.0f} deg vs tibia {tibia:.0f} deg from vertical"
    else:  # refused (over its expected error): not a fail
        crit["torso_parallel_to_tibia"] = None
        why["torso_parallel_to_tibia"] = (
            "not judged: trunk inclination was not measured at the bottom (expected error over the limit)"
        )
    below = float(hip[1] - knee[1])
    crit["femur_below_horizontal"] = bool(below > 0)
    why["femur_below_horizontal"] = f"hip {below / shank * 100:+.0f}% of shank length below the knee"
    wr = p[k, [15, 16]]
    head_y = p[k, 0, 1]
    heel_x, toe_x = p[k, lm.HEEL[side], 0], p[k, lm.FOOT_INDEX[side], 0]
    lo_x, hi_x = min(heel_x, toe_x), max(heel_x, toe_x)
    over = bool(np.all(wr[:, 1] < head_y) and np.all((wr[:, 0] >= lo_x) & (wr[:, 0] <= hi_x)))
    crit["dowel_over_feet"] = over if np.isfinite(wr).all() else None
    why["dowel_over_feet"] = (
        "wrists overhead and over the feet (dowel proxy)"
        if over
        else "wrists not overhead within the heel-to-toe span (dowel proxy)"
    )
    crit["knees_over_feet"] = None
    why["knees_over_feet"] = "not judged: needs a front view"
    return crit, why


def _criteria_3d(p, pd, k: int, side: str, shank: float) -> tuple[dict, dict]:
    """All four criteria at the bottom frame ``k`` of a triangulated pose: torso vs tibia, femur
    below horizontal and dowel over feet from the virtual side camera (the subject faces its image
    right), knees over feet from the virtual front camera ``p`` (Cook 2006; true lengths in mm)."""
    s = np.where(pd.usable[:, None, None], pd.side_points, np.nan)
    crit, why = _side_view_criteria(s, k, side, 1.0, shank, pd.angles["trunk_inclination_deg"])
    c2, w2 = _front_view_criteria(p, k, shank, True)
    crit["knees_over_feet"], why["knees_over_feet"] = c2["knees_over_feet"], w2["knees_over_feet"]
    return crit, why


def _front_view_criteria(p, k: int, shank: float, frontal: bool) -> tuple[dict, dict]:
    """Knees over feet at the bottom frame ``k`` from a front view (Cook 2006); the side-view criteria unjudged."""
    crit: dict[str, bool | None] = {}
    why: dict[str, str] = {}
    for c in ("torso_parallel_to_tibia", "femur_below_horizontal", "dowel_over_feet"):
        crit[c] = None
        why[c] = "not judged: needs a side view"
    if frontal:
        ok = [abs(p[k, lm.KNEE[s], 0] - p[k, lm.FOOT_INDEX[s], 0]) <= KNEE_OVER_FOOT_FRACTION * shank for s in lm.SIDES]
        crit["knees_over_feet"] = bool(all(ok))
        why["knees_over_feet"] = (
            "knees within the feet's width of the toes" if all(ok) else "a knee drifts off the line of its foot"
        )
    else:
        crit["knees_over_feet"] = None
        why["knees_over_feet"] = "not judged: no single side or front view during this rep"
    return crit, why


def _add_score(r: AssessmentResult, out: list[dict]) -> None:
    """The deep squat score over the reps: the best rep, 0 if any rep was painful (Cook 2006)."""
    r.reps = out
    scores = [rp["fms_score_points"] for rp in out]
    best = max((s for s in scores if s is not None), default=None)
    if any(s == 0 for s in scores):
        best = 0  # pain on any rep scores 0 (Cook 2006)
    r.add_metric(
        "fms_deep_squat_points", best if all(s is not None for s in scores) or best in (0, 1) else None, "points"
    )
    r.add_metric("reps_count", len(out), "count")
    if r.value("fms_deep_squat_points") is None:
        r.flag("not_scored", out[0]["decided_by"] + ": no FMS score from this view")
    else:
        rep = next(rp for rp in out if rp["fms_score_points"] == best)
        r.flag("fms_decided_by", f"score {best}: {rep['decided_by']} (rep {rep['rep']})")
