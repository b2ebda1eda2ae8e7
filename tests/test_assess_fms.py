"""FMS composite: worked examples of the scoring rules (Cook 2006/2014), pure logic."""

from __future__ import annotations

import json

import pytest

from movekit.assess.fms import assess_fms, fms_composite
from movekit.assess.result import AssessmentResult
from movekit.errors import MovekitError

#: a full screen: deep squat 2, hurdle L2/R3, lunge 3/3, shoulder L3/R2, ASLR 2/2, push-up 3,
#: rotary 2/2, all clearing tests negative. Lower sides: 2+2+3+2+2+3+2 = 16.
FULL = {
    "deep_squat": 2,
    "hurdle_step": {"left": 2, "right": 3},
    "inline_lunge": {"left": 3, "right": 3},
    "shoulder_mobility": {"left": 3, "right": 2},
    "active_straight_leg_raise": {"left": 2, "right": 2},
    "trunk_stability_push_up": 3,
    "rotary_stability": {"left": 2, "right": 2},
    "shoulder_clearing": {"left": False, "right": False},
    "spinal_extension_clearing": False,
    "spinal_flexion_clearing": "negative",
}


def test_composite_takes_the_lower_side_and_counts_asymmetries():
    r = assess_fms(FULL)
    assert r.valid, r.summary()
    assert r.value("fms_composite_points") == 16
    assert r.value("fms_hurdle_step_points") == 2 and r.value("fms_hurdle_step_right_points") == 3
    assert r.value("fms_shoulder_mobility_points") == 2
    assert r.value("fms_asymmetries_count") == 2  # hurdle step and shoulder mobility
    assert {f.code for f in r.flags} >= {"asymmetry"}
    assert "composite_at_or_below_14" not in {f.code for f in r.flags}
    assert next(rep["test"] for rep in r.reps) == "deep_squat" and len(r.reps) == 7
    json.dumps(r.to_json(), allow_nan=False)


def test_painful_clearing_test_overrides_its_test_to_zero():
    """Worked example of the issue: the spinal extension clearing test is painful, so the trunk
    stability push-up (scored 3 on movement) counts 0: 16 - 3 = 13, now at or below 14."""
    scores = dict(FULL, spinal_extension_clearing=True)
    r = assess_fms(scores)
    assert r.value("fms_trunk_stability_push_up_points") == 0
    assert r.value("fms_composite_points") == 13
    assert r.value("fms_clearing_positive_count") == 1
    rep = next(x for x in r.reps if x["test"] == "trunk_stability_push_up")
    assert rep["raw"] == 3 and rep["overridden_by"] == "spinal_extension_clearing"
    codes = {f.code for f in r.flags}
    assert {"clearing_positive", "composite_at_or_below_14", "scores_0_or_1"} <= codes
    assert any("Kiesel" in ref for ref in r.references) and any("Moran" in ref for ref in r.references)


@pytest.mark.parametrize(
    "clearing, test, total",
    [
        ({"shoulder_clearing": {"left": False, "right": True}}, "shoulder_mobility", 14),  # one side painful
        ({"shoulder_clearing": True}, "shoulder_mobility", 14),
        ({"spinal_flexion_clearing": "positive"}, "rotary_stability", 14),
    ],
)
def test_each_clearing_test_maps_to_its_own_test(clearing, test, total):
    out = fms_composite(dict(FULL, **clearing))
    assert out["tests"][test]["points"] == 0
    others = {n: e["points"] for n, e in out["tests"].items() if n != test}
    assert others == {n: e["points"] for n, e in fms_composite(FULL)["tests"].items() if n != test}
    assert out["composite_points"] == total


def test_missing_test_gives_no_composite_and_an_invalid_result():
    scores = {k: v for k, v in FULL.items() if k != "rotary_stability"}
    r = assess_fms(scores)
    assert r.value("fms_composite_points") is None
    assert not r.valid and r.validity["complete"].value == 6
    one_side = dict(FULL, hurdle_step={"left": 2})
    assert fms_composite(one_side)["composite_points"] is None
    pain_one_side = dict(FULL, hurdle_step={"left": 0})  # pain on one side is 0 whatever the other
    assert fms_composite(pain_one_side)["tests"]["hurdle_step"]["points"] == 0


def test_all_threes_is_21_and_all_zero_is_0():
    threes = {
        n: ({"left": 3, "right": 3} if n not in ("deep_squat", "trunk_stability_push_up") else 3)
        for n in FULL
        if not n.endswith("clearing")
    }
    assert fms_composite(threes)["composite_points"] == 21
    r = assess_fms(threes)
    assert {f.code for f in r.flags} == {"clearing_not_recorded"}  # nothing else to say
    zeros = {n: (0 if isinstance(v, int) else {"left": 0, "right": 0}) for n, v in threes.items()}
    assert fms_composite(zeros)["composite_points"] == 0


def test_deep_squat_from_movekit_squat_result():
    squat = AssessmentResult("squat")
    squat.add_metric("fms_deep_squat_points", 1, "points")
    scores = {k: v for k, v in FULL.items() if k != "deep_squat"}
    r = assess_fms(scores, squat=squat)
    assert r.value("fms_deep_squat_points") == 1 and r.value("fms_composite_points") == 15
    assert "deep_squat_from_video" in {f.code for f in r.flags}
    r2 = assess_fms(scores, squat=squat.to_json())  # the JSON form works the same
    assert r2.value("fms_composite_points") == 15
    with pytest.raises(MovekitError, match="give 2 but the squat assessment scored 1"):
        assess_fms(FULL, squat=squat)
    with pytest.raises(MovekitError, match="not a 'squat' result"):
        assess_fms(scores, squat=AssessmentResult("balance"))


@pytest.mark.parametrize(
    "bad, match",
    [
        (dict(FULL, deep_squat=4), "whole number 0-3"),
        (dict(FULL, deep_squat=2.5), "whole number 0-3"),
        (dict(FULL, deep_squat=True), "whole number 0-3"),
        (dict(FULL, hurdle_step=2), "bilateral test needs"),
        (dict(FULL, hurdle_step={"left": 2, "middle": 3}), "unknown side"),
        (dict(FULL, lunge=3), "unknown test"),
        (dict(FULL, spinal_flexion_clearing="maybe"), "clearing test is"),
        ([1, 2, 3], "JSON object"),
    ],
)
def test_bad_input_is_one_clear_error(bad, match):
    with pytest.raises(MovekitError, match=match):
        assess_fms(bad)


def test_fms_from_the_command_line(tmp_path, capsys):
    """movekit assess fms SCORES.json: the issue's worked example (a painful spinal extension
    clearing test turns the push-up's 3 into 0: composite 13), JSON out, bad files one line."""
    import json

    from movekit.cli import main

    scores = dict(FULL, spinal_extension_clearing=True, spinal_flexion_clearing=False)  # painful extension
    src = tmp_path / "fms.json"
    src.write_text(json.dumps(scores))
    out = tmp_path / "r.json"
    code = main(["assess", "fms", str(src), "--json", str(out)])
    res = json.loads(out.read_text())
    assert code in (0, 3) and res["metrics"]["fms_composite_points"]["value"] == 13
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    assert main(["assess", "fms", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not an object" in err[0]
