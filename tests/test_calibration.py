"""Camera calibration from a rendered checkerboard video; static-pose offsets."""

from __future__ import annotations

import json

import numpy as np
import pytest

from movekit.calibration import (CameraProfile, calibrate_camera, load_camera_profile,
                                 load_static_profile, save_profile, static_offsets,
                                 undistort_landmarks)
from movekit.errors import MovekitError

W, H = 960, 720
K_TRUE = np.array([[800.0, 0, 470.0], [0, 800.0, 365.0], [0, 0, 1]])
D_TRUE = np.array([-0.12, 0.05, 0.0, 0.0, 0.0])
PATTERN = (7, 5)
SQ = 30.0


def _board_video(path, frames=24):
    """Render a 8x6-square board (7x5 inner corners) at different poses through K_TRUE, D_TRUE."""
    import cv2

    rng = np.random.default_rng(2)
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, (W, H))
    cols, rows = PATTERN[0] + 1, PATTERN[1] + 1
    gx, gy = np.meshgrid(np.arange(cols + 1) * SQ, np.arange(rows + 1) * SQ)
    grid = np.stack([gx.ravel() - cols * SQ / 2, gy.ravel() - rows * SQ / 2, np.zeros(gx.size)], 1)
    for i in range(frames):
        rvec = np.array([rng.uniform(-0.5, 0.5), rng.uniform(-0.5, 0.5), rng.uniform(-0.3, 0.3)])
        tvec = np.array([rng.uniform(-80, 80), rng.uniform(-60, 60), rng.uniform(450, 650)])
        img = np.full((H, W, 3), 255, np.uint8)
        pts, _ = cv2.projectPoints(grid, rvec, tvec, K_TRUE, D_TRUE)
        pts = pts.reshape(rows + 1, cols + 1, 2)
        # white margin around the board is the page; squares drawn black on a checker pattern
        for r in range(rows):
            for c in range(cols):
                if (r + c) % 2 == 0:
                    quad = np.array([pts[r, c], pts[r, c + 1], pts[r + 1, c + 1], pts[r + 1, c]])
                    cv2.fillConvexPoly(img, np.round(quad * 16).astype(np.int32), (0, 0, 0), cv2.LINE_AA, 4)
        vw.write(img)
    vw.release()


@pytest.fixture(scope="module")
def board(tmp_path_factory):
    p = tmp_path_factory.mktemp("cal") / "board.mp4"
    _board_video(p)
    return p


def test_intrinsics_recovered_and_profile_round_trip(board, tmp_path):
    prof = calibrate_camera(board, pattern=PATTERN, square_mm=SQ, name="synthetic")
    assert prof.n_views >= 15 and prof.rms_reprojection_px < 1.0
    assert prof.K[0, 0] == pytest.approx(800, rel=0.03) and prof.K[1, 1] == pytest.approx(800, rel=0.03)
    assert prof.K[0, 2] == pytest.approx(470, abs=15) and prof.K[1, 2] == pytest.approx(365, abs=15)
    assert prof.dist[0] == pytest.approx(-0.12, abs=0.04)
    path = save_profile(prof, tmp_path)
    assert path.name == "synthetic.camera.json" and json.loads(path.read_text())["kind"] == "camera"
    again = load_camera_profile("synthetic", tmp_path)
    np.testing.assert_allclose(again.K, prof.K)


def test_undistort_straightens_a_limb():
    """A straight line in the world is bent by barrel distortion; undistorted it is straight."""
    import cv2

    prof = CameraProfile("t", W, H, K_TRUE.tolist(), D_TRUE.tolist(), 0.1, 20, PATTERN, SQ)
    line = np.stack([np.linspace(-0.55, 0.55, 33), np.full(33, 0.4), np.full(33, 1.0)], 1)
    px, _ = cv2.projectPoints(line, np.zeros(3), np.zeros(3), K_TRUE, D_TRUE)
    pts = px.reshape(1, 33, 2)
    bent = np.ptp(pts[0, :, 1])
    fixed = undistort_landmarks(pts, prof)
    assert bent > 5.0 and np.ptp(fixed[0, :, 1]) < 0.05
    nan = undistort_landmarks(np.full((2, 33, 3), np.nan), prof)
    assert np.isnan(nan).all()
    with pytest.raises(MovekitError):
        undistort_landmarks(pts, prof, frame_size_px=(1280, 720))


def test_static_offsets_recorded_and_applied(tmp_path):
    from movekit.analysis.pipeline import analyse
    from movekit.analysis.synthetic import pose_from_angles

    rng = np.random.default_rng(0)
    n = 90
    # the client's "neutral" reads 4 deg knee flexion and 6 deg trunk lean on this camera
    stand = {"right_knee_flexion_deg": 4 + rng.normal(0, 0.3, n), "trunk_inclination_deg": 6.0}
    img, world = pose_from_angles(n, stand, yaw_deg=90)
    t = np.arange(n) / 30.0
    res = analyse(t, img, world, None)
    prof = static_offsets(res.angles, res.view, name="anna")
    assert prof.view == "sagittal_right"
    assert prof.offsets_deg["right_knee_flexion_deg"] == pytest.approx(4.0, abs=0.2)
    assert prof.offsets_deg["trunk_inclination_deg"] == pytest.approx(6.0, abs=0.1)
    assert "right_knee_fppa_deg" not in prof.offsets_deg  # frontal angle, side-view trial
    assert not any(k.endswith("proxy_deg") for k in prof.offsets_deg)
    save_profile(prof, tmp_path)
    prof = load_static_profile(tmp_path / "anna.static.json")
    squat = {"right_knee_flexion_deg": 64.0, "trunk_inclination_deg": 36.0}
    img2, world2 = pose_from_angles(n, squat, yaw_deg=90)
    res2 = analyse(t, img2, world2, None, offsets=prof.offsets_deg)
    assert np.nanmedian(res2.angles["right_knee_flexion_deg"]) == pytest.approx(60.0, abs=0.3)
    assert np.nanmedian(res2.angles["trunk_inclination_deg"]) == pytest.approx(30.0, abs=0.2)


def test_static_trial_that_moved_is_refused():
    from movekit.analysis.synthetic import pose_from_angles
    from movekit.analysis.angles import joint_angles
    from movekit.analysis.view import classify_view

    n = 60
    img, world = pose_from_angles(n, {"right_knee_flexion_deg": np.linspace(0, 60, n)}, yaw_deg=90)
    with pytest.raises(MovekitError, match="not still"):
        static_offsets(joint_angles(image_px=img), classify_view(img, world))
    with pytest.raises(MovekitError):
        load_camera_profile("does-not-exist")


def test_calibrate_cli(board, tmp_path, capsys):
    from movekit.cli import main

    assert main(["calibrate", "camera", str(board), "--pattern", "7x5", "--square-mm", "30",
                 "--name", "cli", "--dir", str(tmp_path)]) == 0
    assert (tmp_path / "cli.camera.json").exists() and "RMS" in capsys.readouterr().out
    assert main(["calibrate", "camera", str(board), "--pattern", "nine", "--name", "x"]) == 2


@pytest.mark.slow
def test_calibrate_static_cli_refuses_a_moving_trial(demo_recording, tmp_path, capsys):
    from movekit.cli import main

    assert main(["calibrate", "static", str(demo_recording), "--name", "x", "--dir", str(tmp_path)]) == 2
    assert "not still" in capsys.readouterr().err
    assert not list(tmp_path.glob("*.json"))
