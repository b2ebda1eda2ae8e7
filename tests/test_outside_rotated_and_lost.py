"""Checks from outside on real footage the other tests do not use (issue: "re-check on real
recordings you have not seen").

* Pose2Sim 0.10.49 Demo_MultiPerson cam03 (pinned ``pose2sim_multi_cam03``): the man kicks his
  right leg out while standing on the left. The four-camera triangulation of that trial
  (``scripts/build_reference.py``, Demo_MultiPerson, man) has his right heel leave the floor at
  ~0.27 s (0.07 -> 0.18 m) and put down again at ~1.20-1.27 s (back to 0.08-0.12 m, toe 0.06 m):
  a single-leg stance of ~0.95 s. movekit's follower stores the last 0.33 s (1.33-1.65 s) as not
  found (the model jumped to the woman in front of him); the trial was reported as 1.30 s, running
  to the end of the recording "while the foot was still raised".
* The Sports2D demo clip rotated by 90 deg (a phone video that was never turned upright): the
  person lies along the image's x axis, yet single-leg stance reported a valid 0.77 s trial.
"""

from __future__ import annotations

import cv2
import pytest

from movekit import datasets
from movekit.assess import run
from movekit.assess.sources import load_trial

#: the reference touch-down and lift-off of the right foot (s), four-camera triangulation (above)
REF_LIFT_S = (0.25, 0.36)
REF_DOWN_S = (1.18, 1.35)


def test_a_stance_trial_whose_feet_go_out_of_sight_ends_where_they_were_last_seen(captured):
    rec = captured("pose2sim_multi_cam03")
    r = run("single-leg-stance", load_trial(rec))
    assert r.valid
    trial = max(r.reps, key=lambda tr: tr["stance_time_s"])
    assert (trial["stance_side"], trial["raised_side"]) == ("left", "right")
    assert REF_LIFT_S[0] <= trial["start_s"] <= REF_LIFT_S[1]
    # ended where the reference puts the touch-down, not at the end of the recording (1.65 s)
    assert trial["end_s"] <= REF_DOWN_S[1]
    assert REF_DOWN_S[0] - REF_LIFT_S[1] - 0.1 <= r.value("stance_time_s") <= REF_DOWN_S[1] - REF_LIFT_S[0]
    if not trial["complete"]:
        assert trial["end_reason"] == "feet not seen"
        assert any(f.code == "lower_bound" for f in r.flags)


@pytest.fixture(scope="module")
def rotated_recording(tmp_path_factory):
    """The first 1.5 s of the Sports2D demo (a man standing on a box), turned 90 deg clockwise,
    captured through the real pose model (at half size the model finds him in 2 of 45 frames)."""
    from movekit.capture.pipeline import capture
    from movekit.datasets import fetch

    tmp = tmp_path_factory.mktemp("rotated")
    src = cv2.VideoCapture(str(fetch("sports2d_demo")))
    fps = src.get(cv2.CAP_PROP_FPS)
    frames = []
    while len(frames) < int(1.5 * fps):
        ok, f = src.read()
        if not ok:
            break
        frames.append(cv2.rotate(f, cv2.ROTATE_90_CLOCKWISE))
    src.release()
    h, w = frames[0].shape[:2]
    video = tmp / "rotated.mp4"
    out = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    for f in frames:
        out.write(f)
    out.release()
    rec = tmp / "rotated.mkrec"
    capture(video, rec, keys=False)
    return rec


@pytest.mark.parametrize("screen", ["single-leg-stance", "squat", "sit-to-stand"])
def test_a_video_turned_on_its_side_is_refused_with_the_reason(rotated_recording, screen):
    r = run(screen, load_trial(rotated_recording))
    check = r.validity["upright"]
    assert not r.valid and not check.ok
    assert check.value > 60.0  # the trunk lies near the image's x axis (~90 deg)
    assert "rotated" in check.message
    assert not r.reps


def test_the_upright_check_passes_the_upright_footage(captured):
    r = run("single-leg-stance", load_trial(captured("pose2sim_multi_cam03")))
    assert r.validity["upright"].ok and r.validity["upright"].value < 10.0


def test_a_recording_with_nobody_in_it_refuses_marker_export_with_the_reason(tmp_path):
    """Before: 'cannot set a pixel scale: nose and heels are never seen together; give --m-per-px'."""
    from run_cli import movekit

    from movekit.capture.pipeline import capture

    img = cv2.imread(str(datasets.fetch("pose2sim_empty_room")))
    video = tmp_path / "empty.mp4"
    out = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (img.shape[1], img.shape[0]))
    for _ in range(15):
        out.write(img)
    out.release()
    rec = tmp_path / "empty.mkrec"
    capture(video, rec, keys=False)
    for fmt in ("trc", "c3d"):
        p = movekit("export", rec, "--format", fmt, "-o", tmp_path / f"x.{fmt}")
        assert p.returncode == 2, p.stderr
        assert "nobody was found in any of its 15 frames" in p.stderr and "Traceback" not in p.stderr
        assert not (tmp_path / f"x.{fmt}").exists()


def test_the_setup_check_says_to_turn_the_camera_upright(rotated_recording):
    from movekit.assess.setup_check import check_setup
    from movekit.recording import open_recording

    pose = open_recording(rotated_recording).pose()
    r = check_setup("single-leg-stance", pose.image_px, pose.visibility, pose.frame_size_px, people_in_view=1)
    assert not r.valid and any("turn the camera" in m for m in r.problems), r.problems


def test_movekit_angles_warns_that_the_video_looks_rotated(rotated_recording, tmp_path):
    from run_cli import movekit

    out = tmp_path / "a.csv"
    p = movekit("angles", rotated_recording, "-o", out)
    assert p.returncode == 0, p.stderr
    assert "warning: the person is never upright in the image" in p.stderr
    assert "looks rotated" in (tmp_path / "a.csv.json").read_text()
