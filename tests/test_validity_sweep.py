"""Virtual cameras and the angle-validity harness (scripts/validate_angles.py): renderer exactness,
the body-yaw estimate on virtual views, and a small sweep reproducing the committed table's verdicts."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from movekit.analysis import virtual_camera as VC
from movekit.analysis.camera_tilt import CameraTilt, level_image_points
from movekit.analysis.view import body_yaw_deg, classify_view

ROOT = Path(__file__).resolve().parents[1]


def _harness():
    spec = importlib.util.spec_from_file_location("validate_angles", ROOT / "scripts" / "validate_angles.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


VA = _harness()


@pytest.fixture(scope="module")
def ref():
    return VA.reference_for_tests()


def _stand(n=3):
    """Lab-frame (z up) landmarks of a standing figure facing +x, mid-hip at (0, 0, 1)."""
    from movekit.analysis.synthetic import pose_from_angles

    _img, world = pose_from_angles(n, {}, yaw_deg=0.0)
    lab = np.asarray(world, dtype=np.float64) @ VA.LAB_TO_MP  # MediaPipe-like -> lab (faces -y)
    lab = lab @ np.array([[0.0, 1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])  # turn to face +x
    lab[..., 2] += 1.0
    return lab


def test_projection_exact():
    lab = _stand()
    cam = VC.place_camera(lab, yaw_deg=0.0, distance_m=4.0, hfov_deg=90.0, size_px=(1000, 800))
    f = VC.focal_px(90.0, 1000)
    assert f == pytest.approx(500.0)
    assert cam.centre_m == pytest.approx([4.0, 0.0, 1.0])  # in front (anterior +x), at hip height
    pts = np.array([[[0.0, 0.0, 1.0], [0.0, 1.0, 1.0], [0.0, 0.0, 2.0], [-2.0, 0.5, 1.5]]])
    img = VC.project(np.concatenate([pts, np.zeros((1, 29, 3))], 1), cam)[0, :4, :2]
    # mid-hip on the principal point; the subject's left (+y) on the image right; up = image up
    assert img[0] == pytest.approx([500.0, 400.0])
    assert img[1] == pytest.approx([500.0 + 500.0 * 1.0 / 4.0, 400.0])
    assert img[2] == pytest.approx([500.0, 400.0 - 500.0 * 1.0 / 4.0])
    assert img[3] == pytest.approx([500.0 + 500.0 * 0.5 / 6.0, 400.0 - 500.0 * 0.5 / 6.0])


@pytest.mark.parametrize("yaw, pitch, roll", [(90.0, 20.0, 0.0), (-35.0, 10.0, 15.0), (180.0, 30.0, -25.0)])
def test_placement_yaw_pitch_roll(yaw, pitch, roll):
    lab = _stand()
    img, cam = VC.render(lab, yaw_deg=yaw, pitch_deg=pitch, roll_deg=roll)
    assert cam.pitch_roll_deg == pytest.approx((pitch, roll), abs=1e-9)
    d = np.deg2rad(VC.true_yaw_deg(lab, cam) - yaw)
    assert np.abs(np.sin(d)).max() < 1e-9 and np.cos(d).min() > 0
    mid = lab.copy()
    mid[:, 0] = 0.5 * (lab[:, 23] + lab[:, 24])  # the optical axis passes through the mid-hip
    assert VC.project(mid, cam)[0, 0, :2] == pytest.approx([960.0, 540.0], abs=1e-6)
    # the lead's level correction with the true tilt gives the level camera at the same place
    lvl = level_image_points(img, CameraTilt(pitch, roll, 0.0, "true"), (cam.width_px, cam.height_px), cam.K)
    level_cam = VC.place_camera(lab, yaw_deg=yaw, height_m=cam.centre_m[2])
    assert np.nanmax(np.abs(lvl[..., :2] - VC.project(lab, level_cam)[..., :2])) < 1e-6


def test_side_and_roll_sign():
    lab = _stand()
    img, _ = VC.render(lab, yaw_deg=90.0)  # left side toward the camera: faces image left
    assert img[0, 0, 0] < img[0, 7, 0]  # nose left of the left ear
    assert classify_view(img)[0] == "sagittal_left"
    img, _ = VC.render(lab, yaw_deg=0.0, roll_deg=10.0)  # world turns anticlockwise in the image
    up = img[0, 0, :2] - 0.5 * (img[0, 23, :2] + img[0, 24, :2])
    assert np.rad2deg(np.arctan2(up[0], -up[1])) == pytest.approx(-10.0, abs=0.5)


def test_noise_in_torso_lengths():
    lab = np.repeat(_stand(1), 4000, axis=0)
    img, _ = VC.render(lab, yaw_deg=0.0)
    sd = np.full(33, 0.02)
    noisy = VC.add_noise_2d(img, sd, rng=1)
    torso = float(
        np.median(np.hypot(*(0.5 * (img[:, 11, :2] + img[:, 12, :2]) - 0.5 * (img[:, 23, :2] + img[:, 24, :2])).T))
    )
    assert np.std(noisy[:, 0, 0] - img[:, 0, 0]) == pytest.approx(0.02 * torso, rel=0.1)
    ar = VC.add_noise_2d(img, sd, rng=1, ar1=0.9)[:, 0, 0] - img[:, 0, 0]
    assert np.corrcoef(ar[1:], ar[:-1])[0, 1] == pytest.approx(0.9, abs=0.05)


def test_body_yaw_tracks_true_yaw_on_virtual_views(ref):
    """Level camera, the reference's own movements (a kick with a twist), the model's noise: the
    image-only yaw estimate within 6 deg (median) side-on and 15 deg face-on or from behind, where
    the kicking foot's turn misleads the foot cue; 10 deg in between (measured: 3-4, 8-12, 4-8)."""
    lab = ref["lab_m"]
    for yaw, tol in ((0, 15), (20, 15), (45, 10), (70, 10), (90, 6), (-90, 6), (160, 15)):
        img, cam = VC.render(lab, yaw_deg=yaw, sd_torso=ref["noise_sd_torso"], ar1=ref["noise_ar1"], rng=3)
        est = body_yaw_deg(img)
        tru = VA.fold_yaw(VC.true_yaw_deg(lab, cam))
        assert np.nanmedian(np.abs(est - tru)) <= tol, yaw


def _cell_mae(res, truth, name, band):
    b = VA.band_index(res.yaw_deg, VA.YAW_EDGES)
    sel = (b == band) & np.isfinite(res.angles[name]) & np.isfinite(truth[name])
    return float(np.mean(np.abs(res.angles[name][sel] - truth[name][sel]))) if sel.sum() >= 10 else np.nan


def test_small_sweep_reproduces_table_verdicts(ref):
    """A few views of the reference through the 2D pipeline: each condition is no worse than its
    cell of the committed table (which keeps the worst condition), valid cells stay valid, clearly
    refused ones stay refused; and the key verdicts: knee flexion refused at 45 deg of yaw, trunk
    lateral lean refused with the camera rolled 20 deg (uncorrected), side-on knee flexion near
    the typical (median) condition's error. Views get the harness's noise: the pose model's
    recorded error in a real view of similar body yaw."""
    table = json.loads(VA.TABLE_PATH.read_text())
    truth = VA.truth_angles(ref["lab_m"])
    checks = [
        ("left_knee_flexion_deg", 90, 0, 0),
        ("left_knee_flexion_deg", 45, 0, 0),
        ("trunk_lateral_lean_deg", 0, 0, 0),
        ("trunk_lateral_lean_deg", 0, 0, 20),
    ]
    for name, yaw, pitch, roll in checks:
        img, _cam = VC.render(ref["lab_m"], yaw_deg=yaw, pitch_deg=pitch, roll_deg=roll)
        # the harness's noise model: a real view's recorded error, from a view of similar yaw
        img = VC.add_error_2d(img, VA.nearest_view_error(ref["error_torso"], yaw, 1), start=7)
        res = VA.run_analyse(ref["t_s"], img, offline=True)
        est_band = int(np.bincount(VA.band_index(res.yaw_deg, VA.YAW_EDGES).clip(0)).argmax())
        mae = _cell_mae(res, truth, name, est_band)
        pb, rb = int(VA.band_index(pitch, VA.PITCH_EDGES)), int(VA.band_index(roll, VA.ROLL_EDGES))
        cell = table["tables"]["2d"][name]["mae_deg"][pb][rb][est_band]
        med = table["tables"]["2d_offline"][name]["mae_median_condition_deg"][pb][rb][est_band]
        assert cell is not None and np.isfinite(mae), (name, yaw, pitch, roll)
        assert mae <= cell + 2.0, (name, yaw, pitch, roll, mae, cell)  # seed and noise: +2 deg
        if cell <= VA.MAX_ERROR_DEG:
            assert mae <= VA.MAX_ERROR_DEG, (name, yaw, pitch, roll, mae, cell)
        if cell > 2 * VA.MAX_ERROR_DEG and med > 2 * VA.MAX_ERROR_DEG:
            assert mae > VA.MAX_ERROR_DEG, (name, yaw, pitch, roll, mae, cell, med)
        if (yaw, roll) == (90, 0):
            assert abs(mae - med) < 3.0, (name, mae, med)
    t = table["tables"]["2d"]
    assert not (t["left_knee_flexion_deg"]["mae_deg"][0][0][4] or 99) <= 5.0
    assert not (t["trunk_lateral_lean_deg"]["mae_deg"][0][2][0] or 99) <= 5.0


def test_table_format():
    from movekit.analysis.error_model import parse_table

    obj = json.loads(VA.TABLE_PATH.read_text())
    assert obj["version"] == 1 and obj["max_error_deg"] == 5.0
    tab = parse_table(obj)
    assert tab.yaw_edges_deg.tolist() == VA.YAW_EDGES
    assert {"2d", "3d"} <= set(obj["tables"])
    assert set(obj["tables"]["2d"]) == set(VA.NAMES)
