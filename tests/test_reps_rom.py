"""Repetition segmentation, tempo and ROM against normal values."""

from __future__ import annotations

import numpy as np
import pytest

from movekit.analysis.reps import rest_periods, segment_reps, tempo
from movekit.analysis.rom import NORMAL_ROM, session_rom

#: These tests check the logic above the joint angles (reps, phases, scores, offsets) on real and
#: synthetic footage the error model refuses (docs/validity.md), so they run in research mode; the
#: gated default is tested in test_error_model.py and test_angles_cli.py.
pytestmark = pytest.mark.usefixtures("ungated")


FS = 30.0


def _squats(n_reps=5, up_s=1.0, down_s=1.5, rest_s=1.0, peak=100.0, base=5.0):
    """Knee flexion: rest, then raised-cosine reps (flex over up_s, extend over down_s)."""
    parts = [np.full(int(rest_s * FS), base)]
    for _ in range(n_reps):
        up = base + (peak - base) * 0.5 * (1 - np.cos(np.pi * np.arange(int(up_s * FS)) / (up_s * FS)))
        down = base + (peak - base) * 0.5 * (1 + np.cos(np.pi * np.arange(int(down_s * FS)) / (down_s * FS)))
        parts += [up, np.array([peak]), down, np.full(int(rest_s * FS), base)]
    x = np.concatenate(parts)
    return np.arange(x.size) / FS, x


def test_reps_found_with_timing_and_kinematics():
    t, x = _squats()
    reps = segment_reps(t, x)
    assert len(reps) == 5
    r = reps[1]
    assert r.peak_deg == pytest.approx(100.0)
    assert r.range_deg == pytest.approx(95.0, abs=0.5)
    # start is where the angle has risen 10 % of the way: raised cosine reaches 0.1 at ~0.2 of up_s
    assert r.time_to_peak_s == pytest.approx(1.0 - 0.205, abs=0.05)
    assert r.return_s == pytest.approx(1.5 - 0.31, abs=0.06)
    # peak velocity of a raised cosine: (peak - base) * pi / (2 * up_s)
    assert r.peak_velocity_deg_s == pytest.approx(95.0 * np.pi / 2.0, rel=0.03)
    assert r.rest_before_s == pytest.approx(1.0 + 0.205 + 0.31, abs=0.1)
    assert np.isnan(reps[0].rest_before_s)
    tp = tempo(reps)
    assert tp["reps"] == 5 and tp["mean_time_to_peak_s"] == pytest.approx(r.time_to_peak_s, abs=0.05)


def test_noise_gaps_and_direction():
    rng = np.random.default_rng(3)
    t, x = _squats(4)
    noisy = x + rng.normal(0, 2.0, x.size)  # small wobbles are not reps
    noisy[100:104] = np.nan  # short tracking gap
    assert len(segment_reps(t, noisy)) == 4
    # hip extension reps as troughs
    assert len(segment_reps(t, -x, direction="down")) == 4
    # too-short movements are dropped
    assert segment_reps(t, x, min_duration_s=5.0) == []


def test_rest_periods():
    t, x = _squats(3, rest_s=2.0)
    rests = rest_periods(t, x, max_speed_deg_s=5.0, min_duration_s=1.5)
    assert len(rests) == 4
    assert rests[0][0] == 0.0 and rests[0][1] == pytest.approx(2.0 - 1 / FS, abs=0.05)


def test_degenerate_inputs():
    assert segment_reps(np.array([]), np.array([])) == []
    assert segment_reps(np.array([0.0]), np.array([10.0])) == []
    assert segment_reps(np.arange(50) / FS, np.full(50, np.nan)) == []
    assert segment_reps(np.arange(50) / FS, np.full(50, 20.0)) == []
    assert tempo([]) == {"reps": 0}
    with pytest.raises(ValueError):
        segment_reps(np.arange(5), np.arange(4))


def test_session_rom_percent_of_normal():
    t, x = _squats(peak=108.0, base=-6.0)
    rom = session_rom(
        {"left_knee_flexion_deg": x, "trunk_inclination_deg": x / 10, "right_hip_flexion_deg": np.full(10, np.nan)}
    )
    r = rom["left_knee_flexion_deg"]
    assert r.max_deg == pytest.approx(108.0) and r.min_deg == pytest.approx(-6.0)
    assert r.pct_of_normal_positive == pytest.approx(100 * 108 / 135)  # AAOS knee flexion 135
    assert r.normal_negative_deg is None and "AAOS" in r.source
    assert rom["trunk_inclination_deg"].pct_of_normal_positive is None
    assert "right_hip_flexion_deg" not in rom
    hip = session_rom({"left_hip_flexion_deg": np.array([-15.0, 60.0])})["left_hip_flexion_deg"]
    assert hip.pct_of_normal_negative == pytest.approx(50.0)  # 15 of 30 deg extension
    assert NORMAL_ROM["shoulder_abduction"].positive_deg == 180.0


@pytest.mark.slow
def test_real_clip_two_arm_raises_each_side(demo_pose):
    """The man raises both arms sideways twice facing the camera (0.3-2.5 s of the demo clip)."""
    from movekit.analysis.pipeline import analyse
    from movekit.analysis.view import angle_validity

    res = analyse(demo_pose.t_s, demo_pose.image_px, demo_pose.world_m, demo_pose.visibility)
    valid = angle_validity(res.view)
    for side in ("left", "right"):
        name = f"{side}_shoulder_abduction_deg"
        a = np.where(valid[name][0], res.angles[name], np.nan)
        reps = segment_reps(demo_pose.t_s, a)
        assert len(reps) == 2, (side, reps)
        for r in reps:
            assert 130 < r.peak_deg < 175 and r.range_deg > 120
            assert 0.3 < r.time_to_peak_s < 1.0 and 200 < r.peak_velocity_deg_s < 800
        assert reps[0].end_s <= reps[1].start_s and reps[0].peak_s < 1.0 < 1.8 < reps[1].peak_s
        rom = session_rom({name: a})[name]
        assert 75 < rom.pct_of_normal_positive < 97  # of AAOS 180 deg


def _hold_reps(n_reps=3, base=5.0, peak=100.0, twin_dip=3.0):
    """Reps with a 1 s hold at the top showing two equal maxima (a dip of ``twin_dip`` between)
    and a 1 s hold at the bottom with two equal minima."""
    up = 0.5 * (1 - np.cos(np.pi * np.arange(30) / 30))
    hold = np.concatenate([np.linspace(0, -twin_dip, 15), np.linspace(-twin_dip, 0, 15)])
    parts = [np.full(30, base)]
    for _ in range(n_reps):
        parts += [
            base + (peak - base) * up,
            peak + hold,
            base + (peak - base) * up[::-1],
            base + 2.0 - np.abs(np.linspace(-2.0, 2.0, 30)),
        ]  # bottom: equal minima at both ends
    x = np.concatenate(parts + [np.full(30, base)])
    return np.arange(x.size) / FS, x


def test_flat_topped_rep_with_twin_maxima_is_one_rep():
    t, x = _hold_reps()
    # two exactly equal maxima at the top of every rep
    assert len(segment_reps(t, x)) == 3
    # a dip deeper than the prominence asked for is a real second rep
    assert len(segment_reps(t, x, prominence_deg=2.0)) == 6
    reps = segment_reps(t, x)
    for r in reps:
        assert r.peak_deg == pytest.approx(100.0)
        assert r.valley_before_deg == pytest.approx(5.0, abs=0.01)
        assert r.valley_after_deg == pytest.approx(5.0, abs=0.01)
        assert r.valley_before_idx < r.start_idx < r.peak_idx < r.end_idx < r.valley_after_idx
        assert r.range_deg == pytest.approx(95.0, abs=0.01)
        assert r.time_to_peak_s == pytest.approx(1.0 - 0.205, abs=0.05)
        assert r.return_s == pytest.approx(1.0 + 1.0 - 0.31 + 0.05, abs=0.1)  # hold + way down
    # troughs with a hold at the bottom (direction "down") are one rep each too
    down = segment_reps(t, -x, direction="down")
    assert len(down) == 3 and down[0].peak_deg == pytest.approx(-100.0)
    assert down[0].range_deg == pytest.approx(95.0, abs=0.01) and down[0].valley_before_deg == pytest.approx(-5.0)


def test_range_is_from_the_lower_rest_and_unseen_returns_are_not_reps():
    t, x = _squats(n_reps=1, rest_s=1.0, peak=100.0, base=5.0)
    x = x.copy()
    x[t > 2.3] = np.maximum(x[t > 2.3], 40.0)  # ends at 40 deg (sits down on a higher seat)
    r = segment_reps(t, x)[0]
    assert r.valley_before_deg == pytest.approx(5.0) and r.valley_after_deg == pytest.approx(40.0)
    assert r.range_deg == pytest.approx(95.0, abs=0.01)
    # the way back falls into a long gap (person lost): no rep, not a rep ending at its peak
    t, x = _squats(n_reps=2)
    x = x.copy()
    pk = int(np.argmax(x[: x.size // 2]))
    x[pk + 1 : pk + 25] = np.nan
    reps = segment_reps(t, x)
    assert len(reps) == 1 and reps[0].peak_s > t[pk + 25]
