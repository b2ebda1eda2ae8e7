"""Functional Movement Screen composite: seven tests scored 0-3, clearing tests, total 0-21.

Scoring (Cook, Burton & Hoogenboom 2006, parts 1 and 2; Cook, Burton, Hoogenboom & Voight 2014,
Functional movement screening: the use of fundamental movements as an assessment of function,
parts 1 and 2, Int J Sports Phys Ther 9:396-409 and 9:549-563):

* seven tests, each 0-3: deep squat, hurdle step, inline lunge, shoulder mobility, active
  straight-leg raise, trunk stability push-up, rotary stability; 0 = pain during the test;
* five tests are bilateral (hurdle step, inline lunge, shoulder mobility, active straight-leg
  raise, rotary stability): each side is scored and the LOWER side counts;
* three clearing tests score no points; a painful (positive) one makes the related test 0:
  shoulder (impingement) clearing -> shoulder mobility (either side painful -> 0),
  spinal extension clearing (press-up) -> trunk stability push-up,
  spinal flexion clearing (posterior rocking) -> rotary stability;
* the composite is the sum of the seven final scores, 0-21.

A left/right difference is reported as an asymmetry (Cook 2014 treat asymmetries and scores of
0 and 1 as the priorities). A composite of 14 or less was associated with serious injury in one
cohort of professional American football players (Kiesel, Plisky & Voight 2007); a later
meta-analysis found the composite a weak predictor of injury (Moran et al. 2017): the flag says
both and is not a diagnosis.

Input is a dict (the JSON a clinician's form writes); see :func:`assess_fms`. The deep squat can
come from movekit's own video squat assessment (:mod:`movekit.assess.squat`): pass its result.
This module is pure logic; malformed input is refused with one-line :class:`MovekitError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from movekit.assess.result import AssessmentResult
from movekit.errors import MovekitError

COOK_2006 = (
    "Cook, Burton & Hoogenboom 2006, Pre-participation screening: the use of fundamental "
    "movements as an assessment of function, N Am J Sports Phys Ther 1:62-72 and 1:132-139"
)
COOK_2014 = (
    "Cook, Burton, Hoogenboom & Voight 2014, Functional movement screening: the use of fundamental "
    "movements as an assessment of function, Int J Sports Phys Ther 9:396-409 and 9:549-563"
)
KIESEL = (
    "Kiesel, Plisky & Voight 2007, Can serious injury in professional football be predicted by a "
    "preseason functional movement screen?, N Am J Sports Phys Ther 2:147-158 (composite <= 14)"
)
MORAN = (
    "Moran, Schneiders, Mason & Sullivan 2017, Do Functional Movement Screen (FMS) composite scores "
    "predict subsequent injury? A systematic review with meta-analysis, Br J Sports Med 51:1661-1669"
)

#: the seven tests in the screen's order; True = bilateral (the lower side counts)
TESTS: dict[str, bool] = {
    "deep_squat": False,
    "hurdle_step": True,
    "inline_lunge": True,
    "shoulder_mobility": True,
    "active_straight_leg_raise": True,
    "trunk_stability_push_up": False,
    "rotary_stability": True,
}
#: clearing test -> the test a painful (positive) clearing test scores 0 (Cook 2006; 2014)
CLEARING: dict[str, str] = {
    "shoulder_clearing": "shoulder_mobility",
    "spinal_extension_clearing": "trunk_stability_push_up",
    "spinal_flexion_clearing": "rotary_stability",
}
SIDES = ("left", "right")
#: composite at or below which Kiesel 2007 found a higher injury rate (see module docstring)
KIESEL_CUTOFF_POINTS = 14


def _score(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value) or not 0 <= value <= 3:
        raise MovekitError(f"FMS {where}: a score is a whole number 0-3, not {value!r}")
    return int(value)


def _pain(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("positive", "pain", "painful", "negative", "no pain"):
        return value.strip().lower() in ("positive", "pain", "painful")
    raise MovekitError(f'FMS {where}: a clearing test is true/"positive" (painful) or false/"negative", not {value!r}')


def deep_squat_points(squat) -> int | None:
    """The deep squat score of a movekit squat result (:class:`AssessmentResult` or its JSON dict).

    None when the video could not score it (e.g. the view could not judge a criterion).
    """
    if isinstance(squat, AssessmentResult):
        test, value = squat.test, squat.value("fms_deep_squat_points")
    elif isinstance(squat, Mapping):
        test = squat.get("test")
        value = (squat.get("metrics", {}).get("fms_deep_squat_points") or {}).get("value")
    else:
        raise MovekitError(f"FMS deep squat: expected a squat assessment result, not {type(squat).__name__}")
    if test != "squat":
        raise MovekitError(f"FMS deep squat: the result given is a {test!r} result, not a 'squat' result")
    return None if value is None else _score(value, "deep_squat (from the squat assessment)")


def _sides(value: Any, name: str) -> dict[str, int | None]:
    if not isinstance(value, Mapping):
        raise MovekitError(f'FMS {name}: a bilateral test needs {{"left": 0-3, "right": 0-3}}, not {value!r}')
    extra = set(value) - set(SIDES)
    if extra:
        raise MovekitError(f"FMS {name}: unknown side(s) {', '.join(sorted(map(str, extra)))}; use left and right")
    return {s: (None if value.get(s) is None else _score(value[s], f"{name} {s}")) for s in SIDES}


def fms_composite(scores: Mapping[str, Any]) -> dict[str, Any]:
    """Final scores of the seven tests and the composite from raw scores (pure).

    Parameters
    ----------
    scores : mapping
        ``{test: 0-3}`` for deep squat and trunk stability push-up, ``{test: {"left": 0-3,
        "right": 0-3}}`` for the bilateral tests (names in :data:`TESTS`), and the clearing
        tests (:data:`CLEARING`) as true/false (painful or not); the shoulder clearing may be
        given per side. A test or side not yet scored is None or absent.

    Returns
    -------
    dict
        ``tests``: per test ``{"raw": int | {"left", "right"}, "points": final 0-3 or None,
        "asymmetric": bool | None, "overridden_by": clearing name or None, "reason": str}``;
        ``composite_points`` (None unless all seven are scored); ``missing`` (test names);
        ``clearing``: ``{name: True (painful) / False / None}``.

    Raises
    ------
    MovekitError
        An unknown test name, a score outside 0-3 or a malformed side or clearing entry.
    """
    if not isinstance(scores, Mapping):
        raise MovekitError(f"FMS scores must be a JSON object of test names, not {type(scores).__name__}")
    unknown = set(scores) - set(TESTS) - set(CLEARING)
    if unknown:
        raise MovekitError(
            f"FMS: unknown test(s) {', '.join(sorted(map(str, unknown)))}; the tests are "
            f"{', '.join(TESTS)} and the clearing tests {', '.join(CLEARING)}"
        )
    clearing: dict[str, bool | None] = {}
    for name in CLEARING:
        v = scores.get(name)
        if v is None:
            clearing[name] = None
        elif name == "shoulder_clearing" and isinstance(v, Mapping):
            per = {s: (None if v.get(s) is None else _pain(v[s], f"{name} {s}")) for s in SIDES}
            if set(v) - set(SIDES):
                raise MovekitError(f"FMS {name}: unknown side(s); use left and right")
            clearing[name] = True if any(per.values()) else (None if None in per.values() else False)
        else:
            clearing[name] = _pain(v, name)
    override = {test: c for c, test in CLEARING.items() if clearing[c]}
    tests: dict[str, dict[str, Any]] = {}
    for name, bilateral in TESTS.items():
        v = scores.get(name)
        entry: dict[str, Any] = {"raw": None, "points": None, "asymmetric": None, "overridden_by": None}
        if bilateral:
            sides = _sides(v, name) if v is not None else {s: None for s in SIDES}
            entry["raw"] = sides
            known = [x for x in sides.values() if x is not None]
            if len(known) == 2:
                entry["points"] = min(known)
                entry["asymmetric"] = sides["left"] != sides["right"]
                entry["reason"] = (
                    f"lower side counts: left {sides['left']}, right {sides['right']}"
                    if entry["asymmetric"]
                    else f"both sides {known[0]}"
                )
            elif known and min(known) == 0:
                entry["points"] = 0  # pain on one side is 0 whatever the other side scores
                entry["reason"] = "one side scored 0 (pain); the other side not scored"
            else:
                entry["reason"] = "not scored on both sides"
        else:
            entry["raw"] = None if v is None else _score(v, name)
            entry["points"] = entry["raw"]
            entry["reason"] = "scored" if v is not None else "not scored"
        if name in override:
            entry["overridden_by"] = override[name]
            entry["reason"] = (
                f"{override[name].replace('_', ' ')} painful: scored 0 whatever the movement scored ({entry['reason']})"
            )
            entry["points"] = 0
        tests[name] = entry
    missing = [n for n, e in tests.items() if e["points"] is None]
    composite = None if missing else sum(e["points"] for e in tests.values())
    return {"tests": tests, "composite_points": composite, "missing": missing, "clearing": clearing}


def assess_fms(scores: Mapping[str, Any], *, squat=None) -> AssessmentResult:
    """The FMS composite as an assessment result (see the module docstring).

    Parameters
    ----------
    scores : mapping
        As :func:`fms_composite`.
    squat : AssessmentResult or dict, optional
        A movekit squat result whose ``fms_deep_squat_points`` is the deep squat score; refused
        when ``scores`` also gives a different deep squat score.

    Returns
    -------
    AssessmentResult
        ``test = "fms"``; metrics ``fms_<test>_points`` (final), ``fms_<test>_left_points`` /
        ``_right_points`` (raw sides), ``fms_composite_points``, ``fms_asymmetries_count``,
        ``fms_clearing_positive_count``; one entry per test in ``reps``; the validity check
        ``complete`` (all seven scored).
    """
    if not isinstance(scores, Mapping):
        raise MovekitError(f"FMS scores must be a JSON object of test names, not {type(scores).__name__}")
    scores = dict(scores)
    r = AssessmentResult("fms")
    r.cite(COOK_2006, COOK_2014)
    if squat is not None:
        _take_video_squat(r, scores, squat)
    out = fms_composite(scores)
    _add_test_metrics(r, out)
    _flag_clearing(r, out)
    _flag_priorities(r, out)
    return r


def _take_video_squat(r: AssessmentResult, scores: dict, squat) -> None:
    """Put the video squat's deep squat points into ``scores`` (refused when they disagree)."""
    video = deep_squat_points(squat)
    given = scores.get("deep_squat")
    if given is not None and video is not None and _score(given, "deep_squat") != video:
        raise MovekitError(
            f"FMS deep squat: the scores give {given} but the squat assessment scored {video}; give one of them"
        )
    if given is None:
        scores["deep_squat"] = video
        r.flag(
            "deep_squat_from_video",
            "deep squat score taken from movekit's squat assessment"
            + ("" if video is not None else ", which could not score it from that view"),
        )


def _add_test_metrics(r: AssessmentResult, out: dict) -> None:
    """Per-test points (final and raw sides), one rep per test, the composite and the completeness check."""
    for name, e in out["tests"].items():
        r.add_metric(f"fms_{name}_points", e["points"], "points")
        if TESTS[name]:
            for s in SIDES:
                r.add_metric(f"fms_{name}_{s}_points", e["raw"][s], "points")
        r.reps.append(
            {
                "test": name,
                "raw": e["raw"],
                "fms_score_points": e["points"],
                "asymmetric": e["asymmetric"],
                "overridden_by": e["overridden_by"],
                "decided_by": e["reason"],
            }
        )
    asym = [n for n, e in out["tests"].items() if e["asymmetric"]]
    r.add_metric("fms_composite_points", out["composite_points"], "points")
    r.add_metric("fms_asymmetries_count", len(asym), "count")
    r.add_metric("fms_clearing_positive_count", sum(bool(v) for v in out["clearing"].values()), "count")
    r.check(
        "complete",
        not out["missing"],
        "all seven tests scored"
        if not out["missing"]
        else "not scored: " + ", ".join(out["missing"]).replace("_", " ") + "; no composite is given",
        7 - len(out["missing"]),
        "7 tests",
    )


def _flag_clearing(r: AssessmentResult, out: dict) -> None:
    """Painful clearing tests (Cook 2006), and clearing tests not recorded where they would matter."""
    for c, test in CLEARING.items():
        if out["clearing"][c]:
            r.flag(
                "clearing_positive",
                f"{c.replace('_', ' ')} painful: {test.replace('_', ' ')} scored 0 "
                "(refer the painful movement for assessment)",
            )
        elif out["clearing"][c] is None and out["tests"][test]["points"] not in (None, 0):
            r.flag(
                "clearing_not_recorded",
                f"{c.replace('_', ' ')} not recorded: a painful clearing test would score {test.replace('_', ' ')} 0",
            )


def _flag_priorities(r: AssessmentResult, out: dict) -> None:
    """Asymmetries and scores of 0 or 1 (Cook 2014's priorities); composite <= 14 (Kiesel 2007, Moran 2017)."""
    for n, e in out["tests"].items():
        if e["asymmetric"]:
            raw = e["raw"]
            r.flag("asymmetry", f"{n.replace('_', ' ')} asymmetric: left {raw['left']}, right {raw['right']}")
    low = [n for n, e in out["tests"].items() if e["points"] is not None and e["points"] <= 1]
    if low:
        r.flag(
            "scores_0_or_1",
            "scored 0 or 1: " + ", ".join(f"{n.replace('_', ' ')} {out['tests'][n]['points']}" for n in low),
        )
    comp = out["composite_points"]
    if comp is not None and comp <= KIESEL_CUTOFF_POINTS:
        r.cite(KIESEL, MORAN)
        r.flag(
            "composite_at_or_below_14",
            f"composite {comp}/21 is at or below 14, the cut-off Kiesel 2007 "
            "associated with serious injury in professional football players; a later meta-analysis "
            "(Moran 2017) found the composite a weak predictor of injury: a screening note, not a diagnosis",
        )


__all__ = ["CLEARING", "TESTS", "assess_fms", "deep_squat_points", "fms_composite"]
