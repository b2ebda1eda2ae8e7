"""Hip hinge and lumbar flexion on synthetic bends with known hip and spine shares."""

from __future__ import annotations

import json

import numpy as np
import pytest

from movekit.analysis.synthetic import figure, smooth_cycle
from movekit.assess.hinge import assess_hinge, hinge_from_inclinometers
from movekit.assess.lumbar_flexion import assess_lumbar_flexion_video, dual_inclinometer
from movekit.cli import main

#: These tests check the logic above the joint angles (reps, phases, scores, offsets) on real and
#: synthetic footage the error model refuses (docs/validity.md), so they run in research mode; the
#: gated default is tested in test_error_model.py and test_angles_cli.py.
pytestmark = pytest.mark.usefixtures("ungated")


FS = 30.0
T = np.arange(0, 16, 1 / FS)
STARTS = (1.0, 6.0, 11.0)


def _cycle(amp):
    return sum(smooth_cycle(T, s, 1.5, 0.5, 1.5, amp) for s in STARTS)


def _hinge(trunk, rounding, knee, view="sagittal_right"):
    tf, sr, kf = _cycle(trunk), _cycle(rounding), _cycle(knee)
    return figure(
        T,
        view=view,
        trunk_flex=tf,
        spine_round=sr,
        hip_flex_left=tf + kf,
        hip_flex_right=tf + kf,
        knee_flex_left=kf,
        knee_flex_right=kf,
    )


def test_clean_hinge_is_good_with_all_motion_at_the_hips():
    r = assess_hinge(_hinge(60.0, 0.0, 15.0))
    assert r.valid, r.summary()
    assert r.value("reps_count") == 3
    assert r.value("depth_trunk_inclination_deg") == pytest.approx(60.0, abs=1.0)
    assert r.value("hip_flexion_change_deg") == pytest.approx(75.0, abs=1.0)  # trunk 60 + thigh 15
    assert r.value("hip_share_proxy_pct") == pytest.approx(100.0, abs=1.0)
    assert r.value("trunk_straightness_loss_deg") == pytest.approx(0.0, abs=1.0)
    assert r.value("knee_flexion_range_deg") == pytest.approx(15.0, abs=1.0)
    assert r.value("descent_time_s") == pytest.approx(1.5, abs=0.35)
    assert r.value("hinge_grade") == "good"
    assert r.validity["side"].value == "right"


def test_rounded_spine_has_known_share_and_reasons():
    r = assess_hinge(_hinge(60.0, 20.0, 15.0))
    # share = hip 75 / (hip 75 + spine bend 20)
    assert r.value("hip_share_proxy_pct") == pytest.approx(100 * 75 / 95, abs=1.0)
    assert r.value("trunk_straightness_loss_deg") == pytest.approx(20.0, abs=1.0)
    assert r.value("hinge_grade") == "needs work"
    assert any("rounds" in why for rep in r.reps for why in rep["reasons"])
    squat = assess_hinge(_hinge(45.0, 0.0, 60.0))
    assert squat.value("hinge_grade") == "fair"
    assert any("more squat than hinge" in f.message for f in squat.flags)


def test_hinge_from_the_front_is_refused():
    r = assess_hinge(_hinge(60.0, 0.0, 15.0, view="frontal"))
    assert not r.validity["view"].ok and "side view" in r.validity["view"].message
    assert r.metrics == {}


def test_inclinometers_give_the_lumbar_share():
    t12 = 5.0 + _cycle(80.0)  # T12/L1: 80 deg forward, sacrum 30: lumbar 50 deg, share 62.5 %
    sac = 10.0 + _cycle(30.0)
    h = hinge_from_inclinometers(T, t12, sac)
    assert h.value("lumbar_share_pct") == pytest.approx(62.5, abs=0.5)
    assert h.value("pelvic_rotation_deg") == pytest.approx(30.0, abs=0.5)
    lf = dual_inclinometer(T, t12, sac)
    assert lf.value("lumbar_flexion_deg") == pytest.approx(50.0, abs=0.5)
    assert lf.value("sacral_flexion_deg") == pytest.approx(30.0, abs=0.5)
    assert len(lf.reps) == 3


def test_lumbar_flexion_cli_from_inclinometer_csv_and_video_proxy(tmp_path):
    csv = tmp_path / "incl.csv"
    t12, sac = _cycle(70.0), _cycle(25.0)
    csv.write_text(
        "time_s,t12_inclination_deg,sacrum_inclination_deg\n"
        + "\n".join(f"{a:.4f},{b:.4f},{c:.4f}" for a, b, c in zip(T, t12, sac))
        + "\n"
    )
    out = tmp_path / "lf.json"
    assert main(["assess", "lumbar-flexion", str(csv), "--json", str(out)]) == 0
    res = json.loads(out.read_text())
    assert res["metrics"]["lumbar_flexion_deg"] == {"value": pytest.approx(45.0, abs=0.5), "unit": "deg"}
    assert any("Mayer" in ref for ref in res["references"])
    video = assess_lumbar_flexion_video(_hinge(60.0, 0.0, 15.0))
    assert video.value("trunk_flexion_proxy_deg") == pytest.approx(60.0, abs=1.5)
    assert video.value("lumbar_flexion_deg") is None  # not measurable from video
    assert any(f.code == "proxy" for f in video.flags)


def test_lumbar_flexion_from_inclinometer_streams_in_a_recording(tmp_path):
    from movekit.assess import run
    from movekit.assess.sources import load_trial
    from movekit.recording import RecordingWriter, StreamSpec

    rec = tmp_path / "incl.mkrec"
    t12, sac = 3.0 + _cycle(65.0), -2.0 + _cycle(20.0)
    with RecordingWriter(rec, metadata={"client": "test"}) as w:
        for name, x in (("t12", t12), ("sacrum", sac)):
            w.add_stream(
                StreamSpec(name=name, shape=(1,), unit="deg", rate_hz=FS, channel_names=("inclination",), kind="imu")
            )
            w.append(name, T, x.astype(np.float32)[:, None])
    r = run("lumbar-flexion", load_trial(rec))
    assert r.value("lumbar_flexion_deg") == pytest.approx(45.0, abs=0.5)
    assert r.value("sacral_flexion_deg") == pytest.approx(20.0, abs=0.5)


def test_a_landing_is_not_a_hinge():
    """Feet come down from 40 cm in the air into a bend (a jump landing): not scored, said why."""
    t = np.arange(0, 6, 1 / FS)
    bend = smooth_cycle(t, 2.0, 1.0, 0.5, 1.0, 60.0)
    air_m = np.where(t < 2.0, 0.4, np.where(t < 2.3, 0.4 * (2.3 - t) / 0.3, 0.0))  # falling until 2.3 s
    pose = figure(t, trunk_flex=bend, hip_flex_left=bend, hip_flex_right=bend, ground=False, pelvis_up_m=air_m)
    r = assess_hinge(pose)
    assert not r.validity["reps"].ok and r.value("reps_count") is None
    assert any(f.code == "bends_ignored" and "feet leaving the floor" in f.message for f in r.flags)
    # the same bend with the feet on the floor is a rep
    planted = figure(t, trunk_flex=bend, hip_flex_left=bend, hip_flex_right=bend)
    assert assess_hinge(planted).value("reps_count") == 1


def test_a_bend_already_under_way_when_the_person_is_found_is_not_scored():
    t = np.arange(0, 6, 1 / FS)
    bend = smooth_cycle(t, 1.0, 1.5, 0.5, 1.5, 60.0)
    pose = figure(t, trunk_flex=bend, hip_flex_left=bend, hip_flex_right=bend)
    lost = t < 1.6  # found 0.6 s into the 1.5 s descent
    pose.image_px[lost] = np.nan
    pose.world_m[lost] = np.nan
    r = assess_hinge(pose)
    assert r.value("reps_count") is None
    assert any(f.code == "bends_ignored" for f in r.flags)
    assert assess_lumbar_flexion_video(pose).value("trunk_flexion_proxy_deg") is None
