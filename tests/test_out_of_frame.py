"""A client partly out of frame, on real video: the pose model's guesses beyond the image's edge
count as unseen everywhere (offline analysis, the live angles and their replay)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

CROP_PX = 500  # pose2sim_multi_cam04's man has his hips at x ~400-550 px: cut there


@pytest.fixture(scope="module")
def cropped(tmp_path_factory):
    """pose2sim_multi_cam04 cut to its left 500 px (the man's right side leaves the frame),
    captured through the real pose model in research mode (angles not refused by their error, so
    what the in-frame rule removes is visible)."""
    import cv2

    from movekit.analysis.error_model import ungated
    from movekit.capture.pipeline import capture
    from movekit.datasets import fetch

    d = tmp_path_factory.mktemp("crop")
    cap = cv2.VideoCapture(str(fetch("pose2sim_multi_cam04")))
    fps = cap.get(cv2.CAP_PROP_FPS)
    ok, frame = cap.read()
    out = cv2.VideoWriter(str(d / "crop.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), fps, (CROP_PX, frame.shape[0]))
    while ok:
        out.write(np.ascontiguousarray(frame[:, :CROP_PX]))
        ok, frame = cap.read()
    out.release()
    cap.release()
    with ungated():
        capture(d / "crop.mp4", d / "crop.mkrec", keys=False)
    return d / "crop.mkrec"


def test_landmarks_beyond_the_edge_are_unseen(cropped):
    from movekit.analysis.error_model import ungated
    from movekit.calibration import analyse_calibrated
    from movekit.capture.replay import replay_pose
    from movekit.recording import open_recording

    rec = open_recording(cropped)
    pose = rec.pose()
    raw_vis = rec.streams["pose_visibility"].data
    w, h = pose.frame_size_px
    assert (w, h) == (CROP_PX, 1920)
    x, y = pose.image_px[..., 0], pose.image_px[..., 1]
    with np.errstate(invalid="ignore"):
        beyond = (x < 0) | (x >= w) | (y < 0) | (y >= h)
    outside = beyond & (raw_vis >= 0.5)
    # the model places the cut-off right arm and hip beyond the edge, visible by its own score
    assert outside.sum() > 100 and outside[:, [14, 16, 24]].any(axis=0).all()
    assert np.median(raw_vis[outside]) > 0.65
    assert (pose.visibility[beyond] == 0).all()  # read as unseen
    inside = np.isfinite(x) & ~beyond
    np.testing.assert_array_equal(pose.visibility[inside], raw_vis[inside])  # nothing else changed
    # the right elbow's angle: the raw guesses gave it in every frame with a landmark beyond the
    # edge; read as unseen, only the cleaning's brief gap fill at a stretch's ends is left
    raw = dataclasses.replace(pose, visibility=raw_vis)
    with ungated():
        kept = analyse_calibrated(pose, space="2d", offline=True).angles["right_elbow_flexion_deg"]
        guessed = analyse_calibrated(raw, space="2d", offline=True).angles["right_elbow_flexion_deg"]
    arm_out = outside[:, [12, 14, 16]].any(axis=1)
    assert arm_out.sum() >= 20 and np.isfinite(guessed[arm_out]).all()
    assert np.isfinite(kept[arm_out]).sum() <= 0.25 * arm_out.sum()
    # live, the same rule ran on the raw frames: the replay from the stored pose is bit-identical
    names = list(rec.streams["live_angles_deg"].spec.channel_names)
    live = rec.streams["live_angles_deg"].data[:, names.index("right_elbow_flexion")]
    assert np.isfinite(live[arm_out]).sum() <= 0.25 * arm_out.sum()
    assert replay_pose(rec).identical is True
