"""The assessment result type: units in names, no invented numbers, JSON as specified."""

from __future__ import annotations

import json

import numpy as np
import pytest

from movekit.assess.result import AssessmentResult, percent_change


def test_metric_names_carry_their_unit():
    r = AssessmentResult("balance")
    r.add_metric("sway_path_length_mm", 12.5, "mm")
    r.add_metric("stance_time_s", np.float64(3.25), "s")
    with pytest.raises(ValueError, match="_deg"):
        r.add_metric("pain_onset_angle", 70.0, "deg")
    with pytest.raises(ValueError, match="unknown unit"):
        r.add_metric("x_furlongs", 1.0, "furlong")
    assert r.value("stance_time_s") == 3.25 and type(r.value("stance_time_s")) is float


def test_nan_becomes_null_and_json_has_exactly_the_seven_keys():
    r = AssessmentResult("tug")
    r.add_metric("tug_time_s", float("nan"), "s")
    r.check("view", False, "this test needs a side view", "frontal", "sagittal")
    r.cite("Shumway-Cook et al. 2000")
    r.reps = [{"rep": 1, "angle_deg": np.float32(12.5), "missing_deg": float("nan")}]
    js = json.loads(r.dumps())
    assert set(js) == {"test", "metrics", "reps", "flags", "validity", "references", "angle_errors_deg"}
    assert js["angle_errors_deg"] == {}
    assert js["metrics"]["tug_time_s"] == {"value": None, "unit": "s"}
    assert js["validity"]["view"] == {
        "ok": False,
        "value": "frontal",
        "required": "sagittal",
        "message": "this test needs a side view",
    }
    assert js["flags"] == [{"code": "invalid_view", "message": "this test needs a side view"}]
    assert js["reps"][0] == {"rep": 1, "angle_deg": 12.5, "missing_deg": None}
    assert not r.valid
    assert "NOT VALID" in r.summary() and "tug_time_s: not measured" in r.summary()


def test_percent_change_only_for_comparable_metrics():
    prev = {
        "metrics": {
            "sway_path_length_mm": {"value": 200.0, "unit": "mm"},
            "reps_count": {"value": 3, "unit": "count"},
            "stance_time_s": {"value": None, "unit": "s"},
        }
    }
    cur = {
        "metrics": {
            "sway_path_length_mm": {"value": 150.0, "unit": "mm"},
            "reps_count": {"value": 5, "unit": "count"},
            "stance_time_s": {"value": 10.0, "unit": "s"},
        }
    }
    assert percent_change(cur, prev) == {"sway_path_length_change_pct": pytest.approx(-25.0)}


def test_a_cut_recording_is_flagged_in_the_result(tmp_path):
    """An assessment of a recording that was not closed cleanly says so in its flags (JSON and
    summary), with what was recovered."""
    import json

    import numpy as np

    from movekit.assess import run
    from movekit.assess.sources import load_trial
    from movekit.recording import RecordingWriter, StreamSpec

    path = tmp_path / "cut.mkrec"
    with RecordingWriter(path, {}) as w:
        w.add_stream(StreamSpec("cop", (2,), "mm", 100.0, ("x", "y"), kind="cop"))
        t = np.arange(0, 30, 0.01)
        w.append("cop", t, np.c_[3 * np.sin(t), 2 * np.cos(0.7 * t)].astype(np.float32))
    meta = json.loads((path / "meta.json").read_text())
    meta["closed"] = False
    (path / "meta.json").write_text(json.dumps(meta))
    r = run("balance", load_trial(path))
    assert any(f.code == "source_problem" and "not closed cleanly" in f.message for f in r.flags)
    assert "not closed cleanly" in r.summary()
