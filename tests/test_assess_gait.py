"""Gait from a shank gyroscope on a real walking recording (Xsens, scikit-kinematics 0.10.4).

Hand count (done by the author of this test, not by the code under test): Gyr_Z of
``xsens_walking_shank`` was plotted over 3-16.5 s and 16-29.5 s with 0.5 s grid lines and the
mid-swing peaks (the tall positive humps, 4-5.5 rad/s; one per gait cycle of the instrumented
leg) were read off the plot by eye: 4.35 (the first, smaller swing of gait initiation), 6.0, 7.3,
8.55, 9.85, 11.1, 12.4, 13.65, 14.95, 16.2, 17.45, 18.75, 20.05, 21.3, 22.55, 23.85, 25.15, 26.45,
27.75, 29.0 s: 20 swings. Steady walking from the swing at 6.0 s to the one at 29.0 s is 18 gait
cycles in 23.0 s, a stride of 1.278 s, so a cadence of 2 x 60 / 1.278 = 93.9 steps/min.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from movekit.assess.gait import (
    assess_gait,
    assess_gait_shank,
    shank_events,
    step_times,
    symmetry_index_pct,
)
from movekit.datasets import fetch
from movekit.errors import MovekitError

HAND_MS_S = np.array(
    [
        4.35,
        6.0,
        7.3,
        8.55,
        9.85,
        11.1,
        12.4,
        13.65,
        14.95,
        16.2,
        17.45,
        18.75,
        20.05,
        21.3,
        22.55,
        23.85,
        25.15,
        26.45,
        27.75,
        29.0,
    ]
)
HAND_CADENCE = 2 * 60 / ((29.0 - 6.0) / 18)  # 93.9 steps/min
FS = 120.0


@pytest.fixture(scope="module")
def walk():
    d = np.loadtxt(fetch("xsens_walking_shank"), skiprows=5)
    assert np.all(np.diff(d[:, 0]) == 1)  # the sample counter: no sample lost
    t = np.arange(len(d)) / FS
    return t, d[:, 1:4], d[:, 4:7]  # acc (m/s2), gyro (rad/s)


def test_mid_swings_and_cadence_match_the_hand_count(walk):
    t, acc, gyr = walk
    ev = shank_events(t, np.degrees(gyr[:, 2]))
    assert ev["ms_s"].size == HAND_MS_S.size == 20
    assert np.max(np.abs(ev["ms_s"] - HAND_MS_S)) < 0.1  # every swing found where it was read by eye
    r = assess_gait_shank(t, {"unknown": gyr}, axis="z", unit="rad/s", acc={"unknown": acc})
    assert r.valid, r.summary()
    cad = r.value("cadence_steps_per_min")
    assert abs(cad - HAND_CADENCE) / HAND_CADENCE < 0.05, (cad, HAND_CADENCE)  # measured: 93.9 vs 93.9
    assert r.metrics["cadence_steps_per_min"].unit == "steps/min"
    assert r.value("mid_swings_count") == 20
    assert r.value("gait_cycles_count") == 16  # 18 complete cycles less the first and the last
    assert 50 <= r.value("stance_pct") <= 65  # ~60 % in healthy walking (Perry); measured ~55 %
    assert r.value("stance_time_s") + r.value("swing_time_s") == pytest.approx(r.value("stride_time_s"), abs=0.01)
    assert r.value("step_time_asymmetry_pct") is None and "one_shank" in {f.code for f in r.flags}
    assert "turns_excluded" not in {f.code for f in r.flags}  # a straight walk: < 7 deg/s per cycle
    assert max(c["turn_deg_s"] for c in r.reps) < 7
    json.dumps(r.to_json(), allow_nan=False)


def test_polarity_and_units_do_not_change_the_result(walk):
    t, _acc, gyr = walk
    a = assess_gait_shank(t, {"unknown": gyr}, axis="z", unit="rad/s")
    b = assess_gait_shank(t, {"unknown": -np.degrees(gyr)}, axis=2, unit="deg/s")  # mounted the other way
    assert b.value("cadence_steps_per_min") == pytest.approx(a.value("cadence_steps_per_min"), rel=1e-9)
    assert "turns_not_checked" in {f.code for f in a.flags}


def test_two_shanks_give_step_times_and_asymmetry(walk):
    """The other shank is the real one shifted by 0.7 s (84 samples): every right step lasts
    0.7 s and every left step the stride less 0.7 s, an asymmetry known in advance."""
    t, acc, gyr = walk
    k = 84
    left, right = gyr[k:], gyr[:-k]  # right's contacts come 0.7 s after left's
    tt = t[: len(left)]
    r = assess_gait_shank(
        tt, {"left": left, "right": right}, axis="z", unit="rad/s", acc={"left": acc[k:], "right": acc[:-k]}
    )
    assert r.valid, r.summary()
    assert r.value("step_time_right_s") == pytest.approx(0.7, abs=0.005)
    stride = r.value("stride_time_s")
    assert r.value("step_time_left_s") == pytest.approx(stride - 0.7, abs=0.03)
    want = symmetry_index_pct(r.value("step_time_left_s"), 0.7)
    assert r.value("step_time_asymmetry_pct") == pytest.approx(want, abs=1e-9)
    assert 15 < r.value("step_time_asymmetry_pct") < 25  # right longer: positive
    assert r.value("stance_time_left_s") == pytest.approx(r.value("stance_time_right_s"), abs=0.02)
    assert any("Robinson" in ref for ref in r.references)


def test_step_times_and_symmetry_index_are_exact():
    st = step_times([0.0, 1.0, 2.0], [0.6, 1.6])
    assert st["right"][:, 1] == pytest.approx([0.6, 0.6]) and st["left"][:, 1] == pytest.approx([0.4, 0.4])
    assert symmetry_index_pct(0.5, 0.5) == 0.0
    assert symmetry_index_pct(0.4, 0.6) == pytest.approx(40.0)


def test_turns_are_left_out(walk):
    """A 90 deg/s rotation about the vertical (acc X carries gravity, so gyro X) added for
    12.6-16.4 s: the cycles in it are not counted and the result says so."""
    t, acc, gyr = walk
    g = gyr.copy()
    turn = (t > 12.6) & (t < 16.4)
    g[turn, 0] += np.radians(90.0)
    r = assess_gait_shank(t, {"unknown": g}, axis="z", unit="rad/s", acc={"unknown": acc})
    assert "turns_excluded" in {f.code for f in r.flags}
    out = [c for c in r.reps if c["excluded_because"] and "turning" in c["excluded_because"]]
    assert len(out) >= 2 and all(c["start_s"] < 16.4 and c["end_s"] > 12.6 for c in out)
    assert r.value("gait_cycles_count") == 16 - len(out)


def test_refusals_say_why(walk):
    t, _acc, gyr = walk
    r = assess_gait_shank(t, {"unknown": gyr}, axis=None, unit="rad/s")
    assert not r.valid and "axis" in r.validity["sensor_axis"].message
    assert "most in this recording is z" in r.validity["sensor_axis"].message
    slow = assess_gait_shank(t[::12], {"unknown": gyr[::12]}, axis="z", unit="rad/s")  # 10 Hz, a WitMotion default
    assert not slow.valid and slow.validity["sampling_rate"].value == pytest.approx(10.0)
    assert slow.value("cadence_steps_per_min") is None
    stand = t < 3.4  # standing before the walk
    s = assess_gait_shank(t[stand], {"unknown": gyr[stand]}, axis="z", unit="rad/s")
    assert not s.valid and "does not look like walking" in s.validity["gait_cycles"].message
    short = t < 9.0  # 3 complete cycles, of which the first and last are start and stop
    s2 = assess_gait_shank(t[short], {"unknown": gyr[short]}, axis="z", unit="rad/s")
    assert not s2.valid and s2.validity["gait_cycles"].value < 4
    g = gyr.copy()
    g[1200:1206] = np.nan  # 50 ms lost (BLE): interpolated, same result
    ok = assess_gait_shank(t, {"unknown": g}, axis="z", unit="rad/s")
    assert ok.valid and abs(ok.value("cadence_steps_per_min") - HAND_CADENCE) / HAND_CADENCE < 0.05
    g[1200:1260] = np.nan  # 0.5 s lost: a contact may hide in it
    gap = assess_gait_shank(t, {"unknown": g}, axis="z", unit="rad/s")
    assert not gap.valid and gap.validity["samples_unknown"].value == pytest.approx(0.508, abs=0.01)
    assert gap.value("cadence_steps_per_min") is None
    with pytest.raises(MovekitError, match="increasing"):
        assess_gait_shank(t[::-1], {"unknown": gyr}, axis="z", unit="rad/s")
    with pytest.raises(MovekitError, match="sensor axis is one of"):
        assess_gait_shank(t, {"unknown": gyr}, axis="w", unit="rad/s")
    with pytest.raises(MovekitError, match="positive number of metres"):
        assess_gait_shank(t, {"unknown": gyr}, axis="z", unit="rad/s", distance_m=-3)


def test_from_a_recording_with_speed(walk, tmp_path):
    from movekit.assess.sources import load_trial
    from movekit.recording import RecordingWriter, StreamSpec

    t, acc, gyr = walk
    path = tmp_path / "walk.mkrec"
    with RecordingWriter(path, {"client": "c01", "gait_axis": "z"}) as rec:
        rec.add_stream(StreamSpec("shank_gyro", (3,), "deg/s", FS, ("x", "y", "z"), kind="imu"))
        rec.add_stream(StreamSpec("shank_acc", (3,), "g", FS, ("x", "y", "z"), kind="imu"))
        rec.append("shank_gyro", t, np.degrees(gyr).astype(np.float32))
        rec.append("shank_acc", t, (acc / 9.81).astype(np.float32))
    r = assess_gait(load_trial(path), side="left", distance_m=30.0)
    assert r.valid, r.summary()
    assert abs(r.value("cadence_steps_per_min") - HAND_CADENCE) / HAND_CADENCE < 0.05
    assert r.value("stance_left_pct") is not None
    span = r.value("gait_speed_m_per_s")
    assert span == pytest.approx(30.0 / (28.01 - 4.84), rel=0.01)  # first to last initial contact
    assert "turns_not_checked" not in {f.code for f in r.flags}  # the acc stream was found
    # the same through the screens registry, as `movekit assess gait` runs it
    from movekit.assess import TESTS, run

    assert {"gait", "joint-position-sense"} <= set(TESTS)
    same = run("gait", load_trial(path), side="left", distance_m=30.0)
    assert same.value("cadence_steps_per_min") == r.value("cadence_steps_per_min")
    with pytest.raises(MovekitError, match="unexpected keyword"):
        run("gait", load_trial(path), speed=3)
    # and from the command line (the axis from the recording's metadata)
    import json

    from movekit.cli import main

    out = tmp_path / "gait.json"
    assert main(["assess", "gait", str(path), "--side", "left", "--distance", "30", "--json", str(out)]) == 0
    res = json.loads(out.read_text())
    assert res["metrics"]["cadence_steps_per_min"]["value"] == pytest.approx(r.value("cadence_steps_per_min"))


def test_arm_flexion_is_not_walking():
    """A real non-walking movement: the forearm gyroscope of two IMUs driven by the real PLUX
    goniometer trace of four slow elbow flexions (one every ~4 s, 150 deg/s peaks)."""
    from movekit.capture.ble.simulate import elbow_pair_from_plux_goniometer

    _, fore, _, rate = elbow_pair_from_plux_goniometer(rate_out=100.0)
    t = np.arange(len(fore["gyro"])) / rate
    r = assess_gait_shank(t, {"unknown": fore["gyro"]}, axis="y", acc={"unknown": fore["acc"]})
    assert not r.valid and r.value("cadence_steps_per_min") is None
    assert "does not look like walking" in r.validity["gait_cycles"].message
    assert any("is not walking" in (c["excluded_because"] or "") for c in r.reps)
