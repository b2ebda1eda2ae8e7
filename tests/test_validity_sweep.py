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


def _left_nearer(lab_m, cam) -> np.ndarray:
    """(frames,) the subject's left shoulder and hip nearer the camera than the right ones (true depth)."""
    z = cam.to_camera(lab_m)[..., 2]
    return z[:, [11, 23]].mean(1) < z[:, [12, 24]].mean(1)


def test_near_side_follows_the_facing_direction(ref):
    """Issue 16: facing image-right (``facing_2d`` +1) means the subject's RIGHT side is nearer the
    camera, the far (occluded) side the left. On virtual side-on views (the model's error replayed)
    and on the rig's real views turned at least 40 deg (none is side-on): measured 96 % (the
    frames before the first confident facing cue take the default) and 94 % of 97 real frames;
    the swapped convention gives 4 %."""
    from movekit.analysis.view import facing_2d

    lab = ref["lab_m"]
    for k, yaw in enumerate((-90, -70, 70, 90, 110)):
        img, cam = VA.render_view(ref, yaw, 0, 0, k, errors=ref["error_torso"])
        facing, _ = facing_2d(img)
        ok = np.isfinite(lab[:, [11, 12, 23, 24]]).all(axis=(1, 2))
        agree = ((facing < 0) == _left_nearer(lab, cam))[ok]
        assert agree.mean() >= 0.95, (yaw, agree.mean())
    n = hits = 0
    for c in ref["cameras"]:
        sel = VA.fold_yaw(VC.true_yaw_deg(lab, c["camera"])) >= 40
        facing, _ = facing_2d(VA.undistorted(c))
        n += int(sel.sum())
        hits += int(((facing < 0) == _left_nearer(lab, c["camera"]))[sel].sum())
    assert n >= 50 and hits / n >= 0.9, (n, hits)


def _cell_mae(res, truth, name, band):
    b = VA.band_index(res.yaw_deg, VA.YAW_EDGES)
    sel = (b == band) & np.isfinite(res.angles[name]) & np.isfinite(truth[name])
    return float(np.mean(np.abs(res.angles[name][sel] - truth[name][sel]))) if sel.sum() >= 10 else np.nan


def test_small_sweep_reproduces_table_verdicts(ref):
    """A few views of the reference through the 2D pipeline: each condition's MAE is no worse than
    its cell of the committed table (the error 9 of 10 frames stay within), valid cells stay valid, clearly
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


def test_hist_quantile_pools_rows_exactly():
    """Percentiles pooled over rows from their histograms: to the bin's upper edge, and the last
    bin reads 'HIST_MAX_DEG or more'."""
    a = VA.err_hist([0.1, 0.2, 0.3, 4.9, 5.2])
    b = VA.err_hist([1.0, 1.1, 1.2, 1.3, 45.0])
    assert a.sum() == 5 and b[-1] == 1
    assert VA.hist_quantile(a + b, 0.5) == 1.5  # 5th of 10 sorted values: 1.1, in [1.0, 1.5)
    assert VA.hist_quantile(a + b, 0.9) == 5.5  # 9th: 5.2
    assert VA.hist_quantile(a + b, 1.0) == VA.HIST_MAX_DEG
    assert np.isnan(VA.hist_quantile(np.zeros_like(a)))


def test_mirror_and_monotone_rules():
    assert VA.mirror_name("left_knee_flexion_deg") == "right_knee_flexion_deg"
    assert VA.mirror_name("right_knee_fppa_deg") == "left_knee_fppa_deg"
    assert VA.mirror_name("trunk_lateral_lean_deg") is None
    cells = np.array([[[5.04, 9.0]], [[4.68, np.nan]], [[6.0, 3.0]]]).reshape(3, 1, 2)
    mono = VA.monotone_in_tilt(cells)
    np.testing.assert_array_equal(mono[:, 0, 0], [5.04, 5.04, 6.0])  # never better with more tilt
    assert np.isnan(mono[1:, 0, 1]).all()  # not measured at less tilt: refused at more


def _cells(table, key, name):
    return np.array(table["tables"][key][name]["mae_deg"], dtype=np.float64)


def test_committed_table_is_consistent():
    """The committed table (issue 16): a left angle's cells equal the right angle's (the yaw
    estimate is unsigned, so both hold the same views mirrored), and no cell reads better than
    one of less residual pitch or roll; the gate's statistic is the 90 % frame bound."""
    table = json.loads(VA.TABLE_PATH.read_text())
    assert table["statistic"] == "frames90" and table["gate_quantile"] == 0.9
    for key, angles in table["tables"].items():
        for name in angles:
            a = _cells(table, key, name)
            other = VA.mirror_name(name)
            if other:
                np.testing.assert_array_equal(a, _cells(table, key, other), err_msg=f"{key} {name}")
            for axis in (0, 1):
                d = np.diff(np.nan_to_num(a, nan=np.inf), axis=axis)
                assert not (d < 0).any(), (key, name, axis)


def test_build_table_pools_sides_and_frames():
    """build_table on rows made by hand: the 2D gate value is the 90th percentile of every frame of
    both sides in the cell (not the median set-up), raised by a real camera; a real camera's
    record reaches every cell of more tilt."""

    def row(source, angle, errs, pitch=0.0, roll=0.0, mode="offline", subject="s"):
        e = np.asarray(errs, dtype=np.float64)
        return dict(
            source=source, subject=subject, camera="c", space="2d", mode=mode, correction="none",
            angle=angle, yaw_band=8, frames=e.size, reported=e.size, coverage=1.0, mae_deg=float(e.mean()),
            p95_deg=float(np.percentile(e, 95)), worst_step_deg=1.0, res_pitch_deg=pitch, res_roll_deg=roll,
            err_hist=VA.err_hist(e),
        )  # fmt: skip

    good = [row("virtual", "left_knee_flexion_deg", [1.0] * 20) for _ in range(3)]
    bad = [row("virtual", "right_knee_flexion_deg", [1.0] * 10 + [12.0] * 10)]  # median set-up: 1 deg
    real = [row("real", "left_knee_flexion_deg", [2.0] * 12, pitch=15.0)]
    t = VA.build_table(good + bad + real, "test")["tables"]["2d"]
    left, right = (np.array(t[f"{s}_knee_flexion_deg"]["mae_deg"], dtype=float) for s in ("left", "right"))
    np.testing.assert_array_equal(left, right)
    assert left[0, 0, 8] == 12.5  # 80 frames, 10 at 12 deg: the 90th percentile is in that bin (upper edge)
    assert left[1, 0, 8] == 12.5  # monotone: the real camera (2.5) at pitch 15 does not lower it
    assert np.isnan(left[2, 2, 8])  # roll 5-25 never measured level: refused with more pitch too
    assert np.isnan(left[0, 0, 7])
    med = VA.build_table(good + bad + real, "test", "median")["tables"]["2d"]
    assert med["left_knee_flexion_deg"]["mae_deg"][0][0][8] == 1.0


def test_docs_copy_the_other_sections_above_the_marker_and_link_the_rest(tmp_path):
    """docs/validity-other.md: the sections above the marker are copied into docs/validity.md, the
    ones below (gait from a lower-back IMU) only linked, and a rewrite neither loses nor re-adds them."""
    V = _harness()
    other = Path(V.ROOT) / "docs" / "validity-other.md"
    lines = V.other_sections(other)
    text = "\n".join(lines)
    assert "## Camera tilt, measured against a calibrated rig" in text
    assert "## Gait from a lower-back IMU" not in text
    assert "- [Gait from a lower-back IMU](validity-other.md#gait-from-a-lower-back-imu)" in lines
    assert V._anchor("## Force-plate centre of pressure: sway independent of the plate's rate") == (
        "force-plate-centre-of-pressure-sway-independent-of-the-plates-rate"
    )
    # the committed docs/validity.md ends with exactly what --write-docs appends
    docs = (Path(V.ROOT) / "docs" / "validity.md").read_text()
    assert docs.endswith("\n".join(lines).lstrip("\n") + "\n")
    assert V.keep_hand_sections(docs, docs) == docs  # nothing re-added
    f = tmp_path / "other.md"
    f.write_text("## A\n\nx\n")
    assert V.other_sections(f) == ["", "## A\n\nx"]  # no marker: all copied, nothing linked


def test_frame_cues_foreshortening_and_near_side(ref):
    """The per-frame study's cues (``--frame-cues``): a segment half as long as its full length
    reads 0.5; side-on, the near-side error is the side the facing cue names."""
    img = np.zeros((40, 33, 2))
    img[:, 11:13, 1], img[:, 23:25, 1] = 0.0, 100.0  # trunk 100 px
    img[:, 25, 1], img[:, 27, 1] = 140.0, np.r_[np.full(20, 180.0), np.full(20, 160.0)]  # left shank 40, then 20
    fs = VA._foreshortening(img)
    assert fs["trunk"] == pytest.approx(np.ones(40))
    assert fs["shank_left"][:20] == pytest.approx(1.0) and fs["shank_left"][20:] == pytest.approx(0.5)
    r = VA.frame_records(ref, yaws=(90,), setups=((0, 0, None),))
    near, far = VA._near_far(r, "knee_flexion_deg")
    right_near = r["facing"] > 0
    seen = r["torso_seen"]
    assert seen.mean() > 0.8 and np.mean((right_near == ~r["left_near"])[seen]) >= 0.95
    assert np.array_equal(near[right_near], r["err_right_knee_flexion_deg"][right_near], equal_nan=True)
    assert np.array_equal(far[right_near], r["err_left_knee_flexion_deg"][right_near], equal_nan=True)
