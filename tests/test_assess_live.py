"""``movekit assess TEST SOURCE`` from a live source: a webcam index goes through
movekit.capture.pipeline.capture, keeps the recording and assesses it. No webcam here: the same
code path is exercised with a video file (-o), and a webcam that does not open must give one
clear error line."""

from __future__ import annotations

import json

import pytest
from run_cli import movekit as _cli

from movekit.commands.assess import default_recording_path, is_webcam
from movekit.datasets import fetch

#: These tests check the logic above the joint angles (reps, phases, scores, offsets) on real and
#: synthetic footage the error model refuses (docs/validity.md), so they run in research mode; the
#: gated default is tested in test_error_model.py and test_angles_cli.py.
pytestmark = pytest.mark.usefixtures("ungated")


def test_video_through_the_capture_path_keeps_the_recording(tmp_path):
    from movekit.recording import open_recording

    rec = tmp_path / "rec.mkrec"
    out = tmp_path / "r.json"
    p = _cli(
        "assess", "posture", fetch("pose2sim_single_cam02"), "-o", rec, "--client", "c7", "--json", out, "--ungated"
    )
    assert p.returncode == 3, p.stderr  # the assessment ran and is NOT VALID (no still second)
    assert f"recording kept: {rec}" in p.stdout
    r = open_recording(rec)
    assert r.metadata["protocol"] == "posture" and r.metadata["client"] == "c7"
    assert len(r.pose().t_s) == 100
    res = json.loads(out.read_text())
    # he lunges and twists: no still second in a front or side view (face-on band 0-20 deg)
    assert res["test"] == "posture" and res["validity"]["still"]["ok"] is False
    # the kept recording assesses the same way on its own
    again = tmp_path / "again.json"
    assert _cli("assess", "posture", rec, "--json", again, "--ungated").returncode == 3
    assert json.loads(again.read_text())["validity"] == res["validity"]
    # an existing recording is not overwritten
    p2 = _cli("assess", "posture", fetch("pose2sim_single_cam02"), "-o", rec)
    assert p2.returncode == 2 and "already exists" in p2.stderr


def test_a_webcam_that_does_not_open_gives_one_error_line(tmp_path):
    p = _cli("assess", "posture", "9", "--duration", "1", "-o", tmp_path / "cam.mkrec")
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("movekit: error:") and "camera 9" in lines[0]
    assert not (tmp_path / "cam.mkrec").exists()
    # without -o the default path would be in the working directory: nothing is left there either
    p = _cli("assess", "painful-arc", "9", "--duration", "1", cwd=tmp_path)
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1
    assert not list(tmp_path.glob("assess-*.mkrec"))


def test_options_that_need_a_live_source_are_refused(tmp_path):
    p = _cli("assess", "balance", fetch("kistler_cop"), "-o", tmp_path / "x.mkrec")
    assert p.returncode == 2 and "-o/--live record a webcam or a video file" in p.stderr
    p = _cli("assess", "balance", fetch("kistler_cop"), "--duration", "3")
    assert p.returncode == 2 and "--duration" in p.stderr


def test_webcam_index_and_default_path(tmp_path, monkeypatch):
    assert is_webcam("0") and is_webcam(" 1 ") and not is_webcam("0.mp4") and not is_webcam("rec.mkrec")
    monkeypatch.chdir(tmp_path)
    a = default_recording_path("painful-arc")
    assert a.name.startswith("assess-painful-arc-") and a.suffix == ".mkrec"
    a.mkdir()
    b = default_recording_path("painful-arc")
    assert b != a and not b.exists()


@pytest.mark.parametrize("flag", ["--live"])
def test_live_video_is_recorded_in_real_time(tmp_path, flag):
    rec = tmp_path / "live.mkrec"
    p = _cli("assess", "posture", fetch("pose2sim_single_cam02"), flag, "--duration", "0.5", "-o", rec)
    assert p.returncode == 3, p.stderr  # recorded; 0.5 s is too short to be VALID
    from movekit.recording import open_recording

    t = open_recording(rec).pose().t_s
    assert 0.4 <= t[-1] - t[0] <= 0.6
