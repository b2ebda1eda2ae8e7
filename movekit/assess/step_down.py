"""Lateral step-down (Piva et al. 2006): five scored items per rep, total and category, FPPA.

Piva, Fitzgerald, Irrgang et al. 2006, Reliability of measures of impairments associated with
patellofemoral pain syndrome, BMC Musculoskelet Disord 7:33 (lateral step-down quality of
movement; 20 cm step, 5 reps): +1 arm strategy, +1 trunk lean, +1 pelvis not level, +1 knee
(tibial tuberosity) medial to the 2nd toe or +2 medial to the foot's medial border, +1 unsteady
stance; 0-1 good, 2-3 moderate, >= 4 poor. FPPA (knee valgus) at peak knee flexion, valgus
positive (Willson et al. 2006, Med Sci Sports Exerc 38:945-952).

Each item is measured where the camera can see it; an item the view cannot judge is ``None``
with the reason, and then the total is not given (only the points scored on the judged items).
Cut-offs for "used the arms", "leaned", "pelvis tilted", "unsteady" are movekit heuristics
(Piva scores them by eye): arm abduction (front view) or flexion (side view) rising > 30 deg;
trunk lateral lean changing > 10 deg; pelvic obliquity changing > 5 deg; >= 3 medio-lateral
reversals of the knee larger than 3 % of shank length. The foot's medial border is placed 12 %
of shank length medial to the 2nd toe (foot width ~ a quarter of shank length, anthropometric
estimate). Peak knee flexion is taken at the lowest hip position (knee flexion itself is a
sagittal angle and not measured in a front view).
"""

from __future__ import annotations

import numpy as np

from movekit.analysis import landmarks as lm
from movekit.analysis.reps import segment_reps
from movekit.analysis.view import facing_2d
from movekit.assess._pose import analyse_pose, controlled, shank_length_px, view_kinds
from movekit.assess.result import AssessmentResult

PIVA = (
    "Piva et al. 2006, Reliability of measures of impairments associated with patellofemoral "
    "pain syndrome, BMC Musculoskelet Disord 7:33 (lateral step-down scoring)"
)
WILLSON = "Willson et al. 2006, Med Sci Sports Exerc 38:945-952 (frontal plane projection angle)"
ARM_DEG, TRUNK_DEG, PELVIS_DEG = 30.0, 10.0, 5.0
WOBBLE_FRACTION, WOBBLE_REVERSALS = 0.03, 3
MEDIAL_BORDER_FRACTION = 0.12


def category(total: int | None) -> str | None:
    """Piva 2006: 0-1 good, 2-3 moderate, >= 4 poor."""
    if total is None:
        return None
    return "good" if total <= 1 else "moderate" if total <= 3 else "poor"


def _reversals(x: np.ndarray, min_step: float) -> int:
    x = x[np.isfinite(x)]
    if x.size < 3:
        return 0
    n, ref, direction = 0, x[0], 0
    for v in x[1:]:
        d = v - ref
        if direction >= 0 and d < -min_step:
            n += direction > 0
            direction, ref = -1, v
        elif direction <= 0 and d > min_step:
            n += direction < 0
            direction, ref = 1, v
        elif (direction > 0 and v > ref) or (direction < 0 and v < ref):
            ref = v
    return n


def rise_deg(angle_deg, a: int, b: int, *, absolute: bool = False) -> float:
    """Largest change (deg) of an angle over frames ``a..b`` from its value at ``a`` (the standing
    baseline); NaN when the baseline or every later frame was refused (not measured)."""
    x = np.asarray(angle_deg, dtype=np.float64)[a : b + 1]
    d = x - x[0]
    d = np.abs(d) if absolute else d
    return float(np.nanmax(d)) if np.isfinite(d).any() else float("nan")


def judged(change_deg: float, limit_deg: float, what: str, angle: str) -> tuple[int | None, str]:
    """A Piva item from an angle change: 1 over the limit, 0 within it, None (not judged) when the
    angle was refused (over its expected error, movekit.analysis.error_model): a refused angle is
    never scored as a pass."""
    if not np.isfinite(change_deg):
        return None, f"not judged: {angle} was not measured in this rep (expected error over the limit)"
    return int(change_deg > limit_deg), f"{what} {change_deg:.0f} deg (limit {limit_deg:g})"


def score_reps(t_s, points_px, angles, *, side: str, frontal: bool, medial_sign: float, kinds=None) -> list[dict]:
    """Per-rep Piva items (pure). ``medial_sign``: +1 when medial for the stance knee is image +x.

    ``kinds``: per-frame view kind; a rep is judged as frontal only when all its frames are.
    Reps faster than 0.4 s down or up (jumps, landings) are not scored."""
    t = np.asarray(t_s, dtype=np.float64)
    p = np.asarray(points_px, dtype=np.float64)
    hip_y = p[:, lm.HIP[side], 1]
    shank = shank_length_px(p, side)
    depth = 100.0 * (hip_y - np.nanpercentile(hip_y, 5)) / shank  # % of shank length, down +
    out = []
    for rep in segment_reps(t, depth, prominence_deg=8.0, direction="up", min_duration_s=0.5):
        if not controlled(rep):
            continue
        pk, b = rep.peak_idx, rep.end_idx
        a = rep.valley_before_idx  # baseline: standing tall before the rep
        items: dict[str, int | None] = {}
        why: dict[str, str] = {}
        kind_set = set(kinds[a : b + 1]) if kinds is not None else {"frontal" if frontal else "sagittal"}
        in_view = kind_set == {"frontal"}
        one_view = len(kind_set) == 1 and kind_set <= {"frontal", "sagittal"}
        fppa = None
        if not one_view:
            for k in ("arm_strategy", "trunk_lean", "pelvis_not_level", "knee_medial", "unsteady"):
                items[k] = None
                why[k] = "not judged: the view changed during this rep"
        else:
            arm_key = "shoulder_abduction_deg" if in_view else "shoulder_flexion_deg"
            arm = max(rise_deg(angles[f"{s}_{arm_key}"], a, b) for s in lm.SIDES)
            limb = f"arm {'abduction' if in_view else 'flexion'}"
            items["arm_strategy"], why["arm_strategy"] = judged(arm, ARM_DEG, f"{limb} rose", limb)
            if in_view:
                lean = rise_deg(angles["trunk_lateral_lean_deg"], a, b, absolute=True)
                items["trunk_lean"], why["trunk_lean"] = judged(
                    lean, TRUNK_DEG, "trunk lateral lean changed", "trunk lateral lean"
                )
                pel = rise_deg(angles["pelvis_obliquity_deg"], a, b, absolute=True)
                items["pelvis_not_level"], why["pelvis_not_level"] = judged(
                    pel, PELVIS_DEG, "pelvic obliquity changed", "pelvic obliquity"
                )
                km = medial_sign * (p[pk, lm.KNEE[side], 0] - p[pk, lm.FOOT_INDEX[side], 0])
                border = MEDIAL_BORDER_FRACTION * shank
                items["knee_medial"] = 2 if km > border else 1 if km > 0 else 0
                why["knee_medial"] = (
                    f"knee {km / shank * 100:+.0f}% of shank length medial of the 2nd toe "
                    f"(+1 past the toe, +2 past {MEDIAL_BORDER_FRACTION * 100:.0f}%: "
                    "the foot's border)"
                )
                rev = _reversals(p[a : b + 1, lm.KNEE[side], 0], WOBBLE_FRACTION * shank)
                items["unsteady"] = int(rev >= WOBBLE_REVERSALS)
                why["unsteady"] = f"{rev} medio-lateral knee reversal(s) (limit {WOBBLE_REVERSALS})"
                fppa = float(angles[f"{side}_knee_fppa_deg"][pk])
            else:
                for k in ("trunk_lean", "pelvis_not_level", "knee_medial"):
                    items[k] = None
                    why[k] = "not judged: needs a front view"
                rev = _reversals(p[a : b + 1, lm.KNEE[side], 0], WOBBLE_FRACTION * shank)
                items["unsteady"] = int(rev >= WOBBLE_REVERSALS)
                why["unsteady"] = f"{rev} antero-posterior knee reversal(s) (limit {WOBBLE_REVERSALS}; side view)"
                fppa = None
        known = [v for v in items.values() if v is not None]
        total = sum(known) if len(known) == len(items) else None
        out.append(
            {
                "rep": len(out) + 1,
                "start_s": rep.start_s,
                "bottom_s": rep.peak_s,
                "end_s": rep.end_s,
                "depth_pct_shank": float(rep.peak_deg),
                "items": items,
                "reasons": why,
                "total_points": total,
                "judged_points": int(sum(known)),
                "category": category(total),
                "fppa_at_peak_deg": fppa,
            }
        )
    return out


def assess_step_down(pose, *, side: str | None = None) -> AssessmentResult:
    """Lateral step-down from video; ``side`` is the stance (tested) leg on the step."""
    r = AssessmentResult("step-down")
    r.cite(PIVA, WILLSON)
    pd = analyse_pose(pose, r, need_view="any", landmarks=[11, 12, 23, 24, 25, 26, 27, 28], min_duration_s=1.0)
    if pd is None:
        return r
    frontal = pd.view_kind == "frontal"
    p = np.where(pd.usable[:, None, None], pd.points, np.nan)
    if side is None:
        # the stance leg stays on the step: its ankle is the higher one (smaller image y)
        side = min(lm.SIDES, key=lambda s: np.nanmedian(p[:, lm.ANKLE[s], 1]))
    front = float(np.median(facing_2d(p)[1])) if frontal else 1.0
    medial = (-1.0 if side == "left" else 1.0) * (1.0 if front >= 0 else -1.0)
    ang = {k: np.where(pd.usable, v, np.nan) for k, v in pd.angles.items()}
    r.check("side", True, f"{side} leg on the step", side)
    r.check(
        "view_items",
        frontal,
        ("front view" if pd.triangulated is None else "3D pose") + ": all five items judged"
        if frontal
        else f"{pd.view_kind} view: trunk lean, pelvis and knee position need a front view and are not judged",
    )
    reps = score_reps(pd.t_s, p, ang, side=side, frontal=frontal, medial_sign=medial, kinds=view_kinds(pd.an.view))
    r.reps = reps
    if not r.check("reps", bool(reps), f"{len(reps)} step-down rep(s) found", len(reps), ">= 1"):
        return r
    r.add_metric("reps_count", len(reps), "count")
    totals = [rp["total_points"] for rp in reps]
    if all(v is not None for v in totals):
        typical = int(round(float(np.median(totals))))  # the trial score: median over the reps
        r.add_metric("step_down_total_points", typical, "points")
        r.add_metric("step_down_grade", category(typical), "grade")
    else:
        r.add_metric("step_down_total_points", None, "points")
        r.add_metric("step_down_judged_points", int(np.median([rp["judged_points"] for rp in reps])), "points")
        r.flag("partial_score", "some items could not be judged from this view: no total is given")
    f = [v for v in (rp["fppa_at_peak_deg"] for rp in reps) if v is not None and np.isfinite(v)]
    r.add_metric("fppa_at_peak_deg", float(np.median(f)) if f else None, "deg")
    if len(reps) < 5:
        r.flag("fewer_than_5_reps", f"{len(reps)} rep(s): Piva 2006 scores the step-down over 5 reps")
    return r
