"""Sensor files read from outside, as a researcher would: ``movekit assess gait FILE``.

scikit-kinematics 0.10.4 ships two Xsens MT text exports of one walk (120 Hz, 29.3 s): one IMU
on the lower leg (pinned ``xsens_walking_shank``, 20 mid-swings counted by hand, cadence 93.9
steps/min; tests/test_assess_gait.py reads it with numpy) and one on the upper leg of the same
walk (``walking_xsens_upperLeg.txt``, fetched here through the same pinned-version-and-hash path).
Before, the command refused both ("a CSV source needs a time_s column; found // Start Time: 0"),
and a thigh sensor read as a shank gave a valid stance of 19 % of the gait cycle.
"""

from __future__ import annotations

import pytest

from movekit import datasets
from movekit.assess import run
from movekit.assess.sources import load_trial
from movekit.errors import MovekitError

HAND_CADENCE = 2 * 60 / ((29.0 - 6.0) / 18)  # 93.9 steps/min (tests/test_assess_gait.py)


@pytest.fixture
def thigh_file():
    return datasets.fetch("xsens_walking_thigh")


def test_the_shank_export_is_read_by_the_command_as_by_the_library():
    trial = load_trial(datasets.fetch("xsens_walking_shank"))
    assert set(trial.streams) == {"imu_acc", "imu_gyro", "imu_mag"}
    gyro = trial.streams["imu_gyro"]
    assert gyro.spec.unit == "rad/s" and gyro.spec.rate_hz == 120.0 and len(gyro) == 3511
    assert gyro.t_s[-1] == pytest.approx(3510 / 120.0) and not trial.problems  # no packet lost
    r = run("gait", trial, axis="z")
    assert r.valid, r.summary()
    assert r.value("cadence_steps_per_min") == pytest.approx(HAND_CADENCE, rel=0.01)
    assert r.value("mid_swings_count") == 20 and 50 <= r.value("stance_pct") <= 65


def test_a_thigh_sensor_read_as_a_shank_gives_no_stance_below_half_the_cycle(thigh_file):
    r = run("gait", load_trial(thigh_file), axis="z")
    # the cadence of the same walk is right from the thigh too
    assert r.value("cadence_steps_per_min") == pytest.approx(HAND_CADENCE, rel=0.02)
    assert r.value("stance_pct") is None and r.value("swing_time_s") is None
    flag = next(f for f in r.flags if f.code == "stance_not_walking")
    assert "thigh" in flag.message and "19%" in flag.message


def test_an_export_cut_mid_write_keeps_the_complete_rows_and_says_so(tmp_path):
    text = datasets.fetch("xsens_walking_shank").read_text()
    cut = tmp_path / "cut.txt"
    cut.write_text(text[: len(text) // 2 - 40])  # a copy stopped mid-row
    trial = load_trial(cut)
    n = len(trial.streams["imu_gyro"])
    assert 1700 < n < 1760 and all(len(s) == n for s in trial.streams.values())
    assert any("cut mid-write" in p for p in trial.problems)
    r = run("gait", trial, axis="z")
    assert any(f.code == "source_problem" and "cut mid-write" in f.message for f in r.flags)


def test_a_damaged_xsens_export_is_refused_in_one_line(tmp_path):
    text = datasets.fetch("xsens_walking_shank").read_text()
    lines = text.splitlines(keepends=True)
    bad = tmp_path / "bad.txt"
    bad.write_text("".join(lines[:100] + [lines[100].replace("\t", " ", 3)] + lines[101:]))
    with pytest.raises(MovekitError, match=r"bad\.txt: line 101 has 10 cells but the header names 13"):
        load_trial(bad)
    norate = tmp_path / "norate.txt"
    norate.write_text(text.replace("// Sample rate: 120.0Hz\n", ""))
    with pytest.raises(MovekitError, match="without a '// Sample rate"):
        load_trial(norate)


def test_a_goniometer_file_given_to_the_emg_command_is_named_as_probably_not_emg(tmp_path):
    """Before, ``movekit emg GON.h5`` printed 'channel_1: 0 bursts' as for a quiet muscle."""
    import json

    from run_cli import movekit

    gon, emg = datasets.fetch("plux_gonio_gon"), datasets.fetch("plux_emg_solo")
    p = movekit("emg", gon, "-o", tmp_path / "gon.csv", "--events", tmp_path / "gon.json")
    assert p.returncode == 0, p.stderr
    assert p.stderr.count("looks like a slower signal") == 2 and "channel_1: only 0% of its power" in p.stderr
    assert len(json.loads((tmp_path / "gon.json").read_text())["warnings"]) == 2
    p = movekit("emg", emg, "-o", tmp_path / "emg.csv")
    assert p.returncode == 0 and "warning" not in p.stderr, p.stderr
    assert "channel_1: 33 bursts" in p.stderr


def test_a_c3d_force_plate_file_given_to_assess_says_what_it_reads():
    """Before: 'not a UTF-8 text file (byte 14: invalid start byte)'."""
    with pytest.raises(MovekitError, match=r"a C3D file: movekit assess reads .* goes to movekit emg"):
        load_trial(datasets.fetch("vicon_cmj_emg_c3d"))
