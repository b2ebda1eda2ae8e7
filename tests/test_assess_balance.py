"""Single-leg stance and video sway on synthetic figures with known times and amplitudes."""

from __future__ import annotations

import numpy as np
import pytest

from movekit.analysis.synthetic import figure, smooth_cycle
from movekit.assess.balance import assess_single_leg_stance, sls_norm_s, video_sway

FS = 30.0


def _stance(t, *trials, side="left"):
    lift = sum(smooth_cycle(t, s, 0.3, hold, 0.3, 80.0) for s, hold in trials)
    kw = {f"knee_flex_{side}": lift, f"hip_flex_{side}": 0.3 * lift}
    return figure(t, view="frontal", **kw)


def test_stance_time_side_and_age_norm():
    t = np.arange(0, 40, 1 / FS)
    pose = _stance(t, (2.0, 12.0), (18.0, 20.0), side="left")
    r = assess_single_leg_stance(pose, age=65)
    assert r.valid, r.summary()
    assert len(r.reps) == 2 and r.value("trials_count") == 2
    # lifted above 10 % of shank length ~0.1 s into the 0.3 s lift, down at the same point on return
    assert r.reps[0]["stance_time_s"] == pytest.approx(12.3, abs=0.15)
    assert r.value("stance_time_s") == pytest.approx(20.3, abs=0.15)  # best of the trials
    assert r.value("stance_side") == "right" and r.reps[0]["raised_side"] == "left"
    assert r.reps[0]["end_reason"] == "raised foot touched down"
    assert r.value("stance_norm_s") == 27.0
    assert r.metrics["stance_time_s"].normal == ">= 27 s for age 65 (Springer 2007, eyes open, best of 3)"
    assert any(f.code == "below_age_norm" for f in r.flags)
    assert not any(f.code == "below_age_norm" for f in assess_single_leg_stance(pose, age=85).flags)
    # sway of the still synthetic figure during the best trial: zero, shown with its noise floor
    assert r.value("sway_rms_ml_mm") < 0.01 and "sway_noise_floor_mm" in r.metrics
    assert sls_norm_s(30) == 43.0 and sls_norm_s(75) == 15.0 and sls_norm_s(12) is None


def test_trial_cut_by_the_end_of_the_recording_is_a_lower_bound():
    t = np.arange(0, 10, 1 / FS)
    r = assess_single_leg_stance(_stance(t, (2.0, 30.0), side="right"))
    assert r.value("stance_side") == "left"
    assert r.reps[0]["complete"] is False and r.reps[0]["end_reason"] == "recording ended"
    assert any(f.code == "lower_bound" for f in r.flags)


def test_stance_foot_moving_ends_the_trial():
    t = np.arange(0, 20, 1 / FS)
    lift = smooth_cycle(t, 2.0, 0.3, 15.0, 0.3, 80.0)
    shift = np.where(t > 8.0, 0.15, 0.0)  # the whole body (and stance foot) hops 15 cm sideways at 8 s
    pose = figure(t, view="frontal", knee_flex_left=lift, hip_flex_left=0.3 * lift, pelvis_ml_m=shift)
    r = assess_single_leg_stance(pose, with_sway=False)
    assert r.reps[0]["end_reason"] == "stance foot moved"
    assert r.value("stance_time_s") == pytest.approx(8.0 - 2.1, abs=0.15)


def test_no_lift_is_no_trial():
    t = np.arange(0, 5, 1 / FS)
    r = assess_single_leg_stance(figure(t, view="frontal"))
    assert not r.validity["trial"].ok and r.value("stance_time_s") is None


def test_video_sway_known_amplitude_and_one_axis():
    t = np.arange(0, 30, 1 / FS)
    amp_m = 0.01
    pose = figure(t, view="frontal", pelvis_ml_m=amp_m * np.sin(2 * np.pi * 0.2 * t))
    r = video_sway(pose)
    assert r.valid, r.summary()
    assert r.value("sway_rms_ml_mm") == pytest.approx(1000 * amp_m / np.sqrt(2), rel=0.03)
    assert r.value("sway_range_ml_mm") == pytest.approx(2000 * amp_m, rel=0.03)
    assert r.value("sway_rms_distance_mm") is None and "sway_ellipse95_area_mm2" not in r.metrics
    assert r.validity["axes"].value == "ml"
    short = video_sway(figure(np.arange(0, 10, 1 / FS), view="frontal"))
    assert not short.valid and short.value("sway_rms_ml_mm") is None


def test_trunk_imu_sway_from_a_recording(tmp_path):
    from movekit.assess import run
    from movekit.assess.sources import load_trial
    from movekit.recording import RecordingWriter, StreamSpec

    rec = tmp_path / "imu.mkrec"
    t = np.arange(0, 30, 0.01)
    pitch, roll = 1.5 * np.sin(2 * np.pi * 0.2 * t), 0.5 * np.cos(2 * np.pi * 0.2 * t)
    with RecordingWriter(rec, metadata={"client": "test"}) as w:
        w.add_stream(
            StreamSpec(name="trunk", shape=(2,), unit="deg", rate_hz=100.0, channel_names=("pitch", "roll"), kind="imu")
        )
        w.append("trunk", t, np.stack([pitch, roll], 1).astype(np.float32))
    r = run("balance", load_trial(rec))
    assert r.valid, r.summary()
    assert r.value("sway_rms_ap_deg") == pytest.approx(1.5 / np.sqrt(2), rel=1e-3)
    assert r.value("sway_rms_ml_deg") == pytest.approx(0.5 / np.sqrt(2), rel=1e-3)
    assert r.metrics["sway_ellipse95_area_deg2"].unit == "deg2"
    assert "trunk" in r.validity["source"].message


def test_video_sway_noise_floor_is_the_jitter_left_in_the_cleaned_com():
    """A still figure with 1.5 px of white landmark jitter: all its 'sway' is noise, so the sway
    RMS of the cleaned (6 Hz) COM must sit at the noise floor shown beside it and be flagged."""
    from movekit.recording import PoseSeries

    rng = np.random.default_rng(3)
    t = np.arange(0, 30, 1 / 60.0)  # at 60 fps most raw jitter lies above 6 Hz and is removed
    p = figure(t, view="frontal")
    img = p.image_px.copy()
    img[..., :2] += rng.normal(0, 1.5, img[..., :2].shape).astype(np.float32)
    noisy = PoseSeries(
        t_s=p.t_s,
        image_px=img,
        world_m=p.world_m,
        visibility=p.visibility,
        presence=p.presence,
        frame_size_px=p.frame_size_px,
    )
    r = video_sway(noisy)
    assert r.valid, r.summary()
    floor, rms = r.value("sway_noise_floor_mm"), r.value("sway_rms_ml_mm")
    assert floor == pytest.approx(rms, rel=0.15)
    assert any(f.code == "below_noise_floor" for f in r.flags)


def test_a_touch_down_nobody_saw_ends_the_trial_at_the_last_frame_seen():
    """Feet unseen 5-9 s; after that the foot is down: the trial is known only until 5 s."""
    t = np.arange(0, 14, 1 / FS)
    pose = _stance(t, (2.0, 5.0), side="left")  # lifted ~2.1 s, down ~7.3 s (unseen)
    unseen = (t >= 5.0) & (t < 9.0)
    pose.image_px[unseen] = np.nan
    r = assess_single_leg_stance(pose, with_sway=False)
    trial = r.reps[0]
    assert trial["end_reason"] == "feet not seen" and trial["complete"] is False
    assert trial["end_s"] < 5.0 and r.value("stance_time_s") == pytest.approx(5.0 - 2.1, abs=0.15)
    assert any(f.code == "lower_bound" for f in r.flags)


def test_a_trial_bridges_a_short_loss_while_the_foot_stays_raised():
    t = np.arange(0, 14, 1 / FS)
    pose = _stance(t, (2.0, 8.0), side="left")  # down ~10.3 s
    pose.image_px[(t >= 5.0) & (t < 6.0)] = np.nan  # unseen for 1 s mid-trial, foot still up after
    r = assess_single_leg_stance(pose, with_sway=False)
    assert r.reps[0]["end_reason"] == "raised foot touched down"
    assert r.value("stance_time_s") == pytest.approx(8.3, abs=0.15)


def test_a_foot_raised_before_it_was_seen_is_a_lower_bound():
    """A foot already up in the first frame, or when the feet come into view: when it was lifted
    is unknown, so the time is a lower bound (a walker's swing at the start of a clip had scored
    as a complete 0.9 s trial)."""
    t = np.arange(0, 14, 1 / FS)
    first = assess_single_leg_stance(_stance(t[t >= 3.0], (2.0, 6.0), side="left"), with_sway=False)
    trial = first.reps[0]
    assert trial["start_s"] == pytest.approx(3.0) and trial["start_reason"] == "already raised when first seen"
    assert trial["end_reason"] == "raised foot touched down" and trial["complete"] is False
    flag = next(f for f in first.flags if f.code == "lower_bound")
    assert "already raised when first seen (3.00 s)" in flag.message and "ended with" not in flag.message
    pose = _stance(t, (2.0, 6.0), side="left")
    pose.image_px[t < 4.0] = np.nan  # the feet come into view at 4 s, the foot up since ~2.1 s
    late = assess_single_leg_stance(pose, with_sway=False).reps[0]
    assert late["start_s"] == pytest.approx(4.0, abs=1 / FS) and late["complete"] is False
    seen = assess_single_leg_stance(_stance(t, (2.0, 6.0), side="left"), with_sway=False).reps[0]
    assert seen["start_reason"] == "foot lifted" and seen["complete"] is True
