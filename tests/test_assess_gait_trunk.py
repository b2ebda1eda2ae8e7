"""Gait from a lower-back accelerometer on a real recording (GENEActiv, gaitpy 1.6.1 demo data).

Hand count (done by the author of this test, not by the code under test): the y axis of
``geneactiv_lumbar_walk`` (the one carrying gravity, -1 g upright) was plotted with 0.1 s grid
lines in rows of 4.25 s, and the sharp heel-strike spikes (dips of y to -1.3..-1.9 g, one per
step) were read off by eye. Walk 2: 42 spikes from 64.55 to 90.1 s; walk 3: 46 spikes from
124.25 to 152.35 s (the row 144-149 s was re-read on a 2.5 s zoom after a first reading 0.1-0.2 s
off). Walk 2 was used to choose the wavelet width (``IC_SMOOTH_S``), walk 3 was not. Hand
cadence over both: 60 / ((25.55 + 28.1) s / (41 + 45) steps) = 96.2 steps/min. gaitpy's own
output shipped beside the data (demo_gait_features.csv) counts 44 and 46 steps in these walks
with a cadence of ~96 steps/min: an independent check of the hand count.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from movekit.assess.gait_trunk import (
    assess_gait_trunk,
    autocorr_regularity,
    initial_contacts,
    vertical_acceleration_g,
    walking_bouts,
)
from movekit.datasets import fetch
from movekit.errors import MovekitError

HAND_2 = [64.55, 65.2, 65.85, 66.45, 67.1, 67.7, 68.3, 68.95, 69.55, 70.2, 70.8, 71.4, 72.05, 72.7]
HAND_2 += [73.35, 73.95, 74.6, 75.2, 75.8, 76.4, 77.0, 77.6, 78.25, 78.9, 79.55, 80.2, 80.85, 81.45]
HAND_2 += [82.05, 82.65, 83.3, 83.9, 84.55, 85.2, 85.8, 86.45, 87.05, 87.55, 88.2, 88.85, 89.5, 90.1]
HAND_3 = [124.25, 124.9, 125.55, 126.2, 126.85, 127.45, 128.1, 128.75, 129.4, 130.0, 130.65, 131.3]
HAND_3 += [131.85, 132.55, 133.15, 133.8, 134.45, 135.05, 135.7, 136.3, 136.95, 137.6, 138.2, 138.8]
HAND_3 += [139.45, 140.1, 140.7, 141.35, 141.95, 142.6, 143.2, 143.85, 144.38, 145.0, 145.6, 146.23]
HAND_3 += [146.8, 147.42, 148.03, 148.65, 149.25, 149.9, 150.5, 151.1, 151.75, 152.35]
HAND_CADENCE = 60 / ((25.55 + 28.1) / (41 + 45))  # 96.2 steps/min


def _read_geneactiv(path) -> tuple[np.ndarray, np.ndarray]:
    """Times (s from the first sample) and x, y, z (g) of a GENEActiv CSV export."""
    stamps, rows = [], []
    for line in open(path, encoding="ascii"):
        if line[:2] == "20" and line.count(",") == 6:
            cells = line.split(",")
            stamps.append(np.datetime64(cells[0][:19].replace(" ", "T")) + np.timedelta64(int(cells[0][20:23]), "ms"))
            rows.append([float(c) for c in cells[1:4]])
    ts = np.array(stamps)
    return (ts - ts[0]) / np.timedelta64(1, "ms") / 1000.0, np.array(rows)


@pytest.fixture(scope="module")
def walk():
    t, acc = _read_geneactiv(fetch("geneactiv_lumbar_walk"))
    assert t.size == 8400 and np.max(np.diff(t)) == pytest.approx(0.52)  # the one gap in the file
    return t, acc


def _crop(walk, a, b):
    t, acc = walk
    s = (t >= a) & (t <= b)
    return t[s], acc[s]


def test_steps_match_the_hand_count(walk):
    t, acc = _crop(walk, 17.0, 168.5)  # after the sensor was put on: one uniform 50 Hz series
    up, v = vertical_acceleration_g(acc, 50.0)
    assert np.median(v[(t > 64) & (t < 90)], axis=0) == pytest.approx([0.0, -1.0, 0.0], abs=0.08)  # y, down
    ic = initial_contacts(t, up)["ic_s"]
    for hand in (np.array(HAND_2), np.array(HAND_3)):
        found = ic[(ic > hand[0] - 0.2) & (ic < hand[-1] + 0.2)]
        assert abs(found.size - hand.size) <= 0.05 * hand.size, (found.size, hand.size)  # measured: 42/42, 46/46
        assert max(np.min(np.abs(found - h)) for h in hand) < 0.12  # every hand-read step found (measured < 0.1 s)
    bouts = walking_bouts(ic)
    assert [round(b[0]) for b in bouts] == [38, 65, 124]  # the three walks, nothing else
    assert [b.size for b in bouts] == [26, 42, 47]


def test_whole_recording_cadence_regularity(walk):
    t, acc = walk
    r = assess_gait_trunk(t, acc)
    assert r.valid, r.summary()
    cad = r.value("cadence_steps_per_min")
    assert abs(cad - HAND_CADENCE) / HAND_CADENCE < 0.05, (cad, HAND_CADENCE)  # measured 96.1 vs 96.2
    assert r.value("walking_bouts_count") == 3
    assert r.value("steps_count") == (26 - 1 - 4) + (42 - 1 - 4) + (47 - 1 - 4)  # less 2 steps at each end
    assert r.value("stride_time_s") == pytest.approx(2 * r.value("step_time_s"), rel=0.02)
    assert 0.5 < r.value("step_regularity") < 0.9 and 0.4 < r.value("stride_regularity") < 0.8  # measured 0.67, 0.57
    assert r.value("step_time_asymmetry_pct") < 3  # a healthy walk; measured 0.8 %
    codes = {f.code for f in r.flags}
    assert {"turns_not_checked", "sides_not_identified", "gaps_interpolated"} <= codes  # the 0.52 s gap at 6 s
    assert r.value("gait_speed_m_per_s") is None
    json.dumps(r.to_json(), allow_nan=False)
    assert any("McCamley" in ref for ref in r.references) and any("Moe-Nilssen" in ref for ref in r.references)


@pytest.mark.parametrize("window,hand", [((60.0, 95.0), HAND_2), ((120.0, 157.0), HAND_3)])
def test_each_walk_and_mounting(walk, window, hand):
    t, acc = _crop(walk, *window)
    r = assess_gait_trunk(t, acc)
    assert r.valid and r.value("walking_bouts_count") == 1
    hand_cad = 60 * (len(hand) - 1) / (hand[-1] - hand[0])
    assert abs(r.value("cadence_steps_per_min") - hand_cad) / hand_cad < 0.05  # measured within 1 %
    # mounted upside down with the axes in another order, in m/s2: the same steps
    other = assess_gait_trunk(t, -acc[:, [2, 0, 1]] * 9.80665, unit="m/s2")
    assert other.value("cadence_steps_per_min") == pytest.approx(r.value("cadence_steps_per_min"), rel=1e-6)
    assert other.value("steps_count") == r.value("steps_count")


def test_speed_with_a_known_distance(walk):
    t, acc = _crop(walk, 60.0, 95.0)
    r = assess_gait_trunk(t, acc, distance_m=30.0)
    ic = [x["start_s"] for x in r.reps] + [r.reps[-1]["end_s"]]
    assert r.value("gait_speed_m_per_s") == pytest.approx(30.0 / (ic[-1] - ic[0]))
    assert r.value("gait_speed_m_per_s") == pytest.approx(30.0 / (90.1 - 64.55), rel=0.01)  # the hand-read walk
    whole = assess_gait_trunk(*walk, distance_m=30.0)
    assert whole.value("gait_speed_m_per_s") is None and "speed_ambiguous" in {f.code for f in whole.flags}
    with pytest.raises(MovekitError, match="positive number of metres"):
        assess_gait_trunk(t, acc, distance_m=0)


def test_not_walking_is_refused(walk):
    stand = assess_gait_trunk(*_crop(walk, 55.0, 63.5))  # standing between two walks
    assert not stand.valid and "does not look like walking" in stand.validity["steps"].message
    assert stand.value("cadence_steps_per_min") is None
    other = assess_gait_trunk(*_crop(walk, 95.0, 120.0))  # another activity, ~100-115 s
    assert not other.valid and other.validity["steps"].value < 8
    handling = assess_gait_trunk(*_crop(walk, 0.0, 30.0))  # the sensor being put on
    assert not handling.valid


def test_rate_gaps_and_units_are_refused(walk):
    t, acc = _crop(walk, 60.0, 95.0)
    slow = assess_gait_trunk(t[::5], acc[::5])  # 10 Hz
    assert not slow.valid and slow.validity["sampling_rate"].value == pytest.approx(10.0)
    wrong = assess_gait_trunk(t, acc, unit="m/s2")  # g read as m/s2
    assert not wrong.valid and "not gravity" in wrong.validity["gravity"].message
    a = acc.copy()
    k = int(np.searchsorted(t, 75.0))
    a[k : k + 3] = np.nan  # 60 ms lost (BLE): interpolated, same steps
    ok = assess_gait_trunk(t, a)
    assert ok.valid and ok.value("steps_count") == assess_gait_trunk(t, acc).value("steps_count")
    a[k : k + 25] = np.nan  # 0.5 s lost inside the walk: a step may hide in it
    gap = assess_gait_trunk(t, a)
    assert not gap.valid and gap.validity["samples"].value == pytest.approx(0.52, abs=0.01)
    assert gap.value("cadence_steps_per_min") is None
    drop = np.ones(t.size, bool)
    drop[k : k + 25] = False  # the same samples missing from the time stamps
    assert not assess_gait_trunk(t[drop], acc[drop]).valid
    with pytest.raises(MovekitError, match="increasing"):
        assess_gait_trunk(t[::-1], acc)
    with pytest.raises(MovekitError, match=r"\(samples, 3\)"):
        assess_gait_trunk(t, acc[:, :2])


def test_turns_are_left_out(walk):
    """A 90 deg/s rotation about the vertical added for 75-79 s on a gyroscope that otherwise
    reads zero (the GENEActiv has none): the steps in it are not counted."""
    t, acc = _crop(walk, 60.0, 95.0)
    gyro = np.zeros_like(acc)
    gyro[(t > 75.0) & (t < 79.0), 1] = -90.0  # about the sensor's y, the vertical
    r = assess_gait_trunk(t, acc, gyro=gyro)
    assert "turns_excluded" in {f.code for f in r.flags} and "turns_not_checked" not in {f.code for f in r.flags}
    out = [x for x in r.reps if x["excluded_because"] and "turning" in x["excluded_because"]]
    assert 5 <= len(out) <= 7 and all(x["start_s"] < 79.0 and x["end_s"] > 75.0 for x in out)
    straight = assess_gait_trunk(t, acc, gyro=np.zeros_like(acc))
    assert r.value("steps_count") == straight.value("steps_count") - len(out)
    assert max(x["turn_deg_s"] for x in straight.reps) == 0.0


def test_regularity_is_exact_on_a_periodic_signal():
    fs = 100.0
    t = np.arange(0, 20, 1 / fs)
    x = np.sin(2 * np.pi * t / 0.6)  # one "step" every 0.6 s, the two steps alike
    reg = autocorr_regularity(x, fs, 0.6)
    assert reg["step_lag_s"] == pytest.approx(0.6, abs=0.011) and reg["stride_lag_s"] == pytest.approx(1.2, abs=0.011)
    assert reg["step_regularity"] == pytest.approx(1.0, abs=0.01)
    y = x + 0.8 * np.sin(2 * np.pi * t / 1.2)  # alternate steps differ: step regularity drops
    assert (
        autocorr_regularity(y, fs, 0.6)["step_regularity"] < 0.5 < autocorr_regularity(y, fs, 0.6)["stride_regularity"]
    )


def test_from_a_recording_and_the_command_line(walk, tmp_path):
    from movekit.assess import TESTS, run
    from movekit.assess.sources import load_trial
    from movekit.cli import main
    from movekit.recording import RecordingWriter, StreamSpec

    t, acc = _crop(walk, 60.0, 95.0)
    path = tmp_path / "walk.mkrec"
    with RecordingWriter(path, {"client": "c01"}) as rec:
        rec.add_stream(StreamSpec("lumbar_acc", (3,), "g", 50.0, ("x", "y", "z"), kind="imu"))
        rec.append("lumbar_acc", t - t[0], acc.astype(np.float32))
    assert "gait-trunk" in TESTS
    r = run("gait-trunk", load_trial(path), distance_m=30.0)
    assert r.valid and r.value("gait_speed_m_per_s") is not None
    direct = assess_gait_trunk(t, acc)
    assert r.value("steps_count") == direct.value("steps_count")
    out = tmp_path / "gait.json"
    assert main(["assess", "gait-trunk", str(path), "--distance", "30", "--json", str(out)]) == 0
    res = json.loads(out.read_text())
    assert res["metrics"]["cadence_steps_per_min"]["value"] == pytest.approx(r.value("cadence_steps_per_min"))
    csv = tmp_path / "walk.csv"  # the same as a CSV export with units in the column names
    rows = np.column_stack([t - t[0], acc * 9.80665])
    np.savetxt(
        csv, rows, delimiter=",", fmt="%.5f", header="time_s,acc_x_m_per_s2,acc_y_m_per_s2,acc_z_m_per_s2", comments=""
    )
    out_csv = tmp_path / "gait_csv.json"
    assert main(["assess", "gait-trunk", str(csv), "--json", str(out_csv)]) == 0
    assert json.loads(out_csv.read_text())["metrics"]["steps_count"]["value"] == r.value("steps_count")
    with pytest.raises(MovekitError, match="lower-back accelerometer.*none found"):
        run("gait-trunk", load_trial(_shank_imu(tmp_path)))  # a shank IMU is not a trunk sensor


def _shank_imu(tmp_path):
    from movekit.recording import RecordingWriter, StreamSpec

    path = tmp_path / "shank.mkrec"
    with RecordingWriter(path, {"client": "c01"}) as rec:
        for name, unit in (("shank_gyro", "deg/s"), ("shank_acc", "g")):
            rec.add_stream(StreamSpec(name, (3,), unit, 100.0, ("x", "y", "z"), kind="imu"))
            rec.append(name, np.arange(10) / 100.0, np.zeros((10, 3), np.float32))
    return path
