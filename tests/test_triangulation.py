"""Calibrated cameras, the Qualisys reader and multi-view triangulation: exactness on synthetic
cameras, the real Pose2Sim calibration, and the real pose model on the real four-camera demo."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from movekit.analysis.cameras import PinholeCamera, read_qualisys_qca
from movekit.analysis.triangulation import MIRROR, fix_left_right_swaps, triangulate
from movekit.errors import MovekitError

ROOT = Path(__file__).resolve().parents[1]


def _look_at(
    name: str,
    centre,
    target,
    *,
    roll_deg: float = 0.0,
    f_px: float = 1500.0,
    dist=(0.0, 0.0, 0.0, 0.0, 0.0),
    size=(1080, 1920),
) -> PinholeCamera:
    """A camera at ``centre`` (m) looking at ``target``, image x level (then rolled clockwise)."""
    centre, target = np.asarray(centre, float), np.asarray(target, float)
    z = target - centre
    z /= np.linalg.norm(z)
    x = np.cross(z, [0.0, 0.0, 1.0])
    x /= np.linalg.norm(x)
    y = np.cross(z, x)  # image down
    r = np.deg2rad(roll_deg)  # turn the camera clockwise (seen from behind) about z
    x, y = np.cos(r) * x + np.sin(r) * y, -np.sin(r) * x + np.cos(r) * y  # x tips downward
    R = np.stack([x, y, z])
    K = [[f_px, 0, size[0] / 2], [0, f_px, size[1] / 2], [0, 0, 1]]
    return PinholeCamera(name, size[0], size[1], K, dist, R, -R @ centre)


def _rig() -> list[PinholeCamera]:
    """Four cameras 3-4 m around a subject at the origin, 1.7-2.1 m high, with lens distortion
    of the size the Pose2Sim rig's calibration gives and more."""
    return [
        _look_at("a", (3.0, 0.5, 1.8), (0, 0, 0.9), dist=(-0.05, 0.1, 0.001, 0.0, 0.0)),
        _look_at("b", (0.3, 3.5, 1.7), (0, 0, 0.9), roll_deg=10, dist=(0.02, -0.03, 0, 0.001, 0)),
        _look_at("c", (-3.0, 0.8, 2.1), (0, 0, 0.9), roll_deg=-5),
        _look_at("d", (-0.5, -3.8, 1.9), (0, 0, 0.9), dist=(-0.01, 0.0, 0, 0, 0)),
    ]


def _body(frames: int = 30, seed: int = 0) -> np.ndarray:
    """(frames, 33, 3) points in a 0.8 x 0.8 x 1.8 m box (a person's volume), z up."""
    rng = np.random.default_rng(seed)
    return rng.uniform([-0.4, -0.4, 0.0], [0.4, 0.4, 1.8], (frames, 33, 3))


# ---------------------------------------------------------------------------- cameras


def test_pitch_roll_signs_and_projection():
    level = _look_at("level", (0, -3, 1), (0, 0, 1))
    assert level.pitch_roll_deg == pytest.approx((0.0, 0.0), abs=1e-9)
    down = _look_at("down", (0, -3, 1 + 3 * np.tan(np.deg2rad(20))), (0, 0, 1))
    assert down.pitch_roll_deg == pytest.approx((20.0, 0.0), abs=1e-9)
    cw = _look_at("cw", (0, -3, 1), (0, 0, 1), roll_deg=15)
    assert cw.pitch_roll_deg == pytest.approx((0.0, 15.0), abs=1e-9)
    # clockwise camera: a vertical pole appears turned anticlockwise in the image, i.e. its top
    # (y smaller) moves to the LEFT (x smaller) of its foot
    foot, top = cw.project(np.array([[0, 0, 0.5], [0, 0, 1.5]]))
    assert top[1] < foot[1] and top[0] < foot[0] - 50
    assert np.allclose(down.centre_m, (0, -3, 1 + 3 * np.tan(np.deg2rad(20))))
    # a point on the optical axis lands on the principal point; behind the camera is NaN
    assert np.allclose(level.project(np.array([0.0, 5.0, 1.0])), level.K[:2, 2])
    assert np.isnan(level.project(np.array([0.0, -6.0, 1.0]))).all()
    # undistort inverts the lens model of project
    lens = _look_at("lens", (0, -3, 1), (0, 0, 1), dist=(-0.2, 0.1, 0.001, -0.001, 0.0))
    pinhole = _look_at("pinhole", (0, -3, 1), (0, 0, 1))
    pts = np.array([[0.5, 0, 1.6], [-0.4, 0.2, 0.3], [np.nan, 0, 0]])
    assert np.allclose(lens.undistort(lens.project(pts))[:2], pinhole.project(pts)[:2], atol=1e-3)
    assert np.isnan(lens.undistort(lens.project(pts))[2]).all()


def test_camera_rejects_a_non_rotation():
    with pytest.raises(MovekitError, match="not a rotation"):
        PinholeCamera("bad", 10, 10, np.eye(3), R=np.diag([1.0, 1.0, -1.0]))


# ---------------------------------------------------------------------------- triangulation


def test_triangulation_is_exact_without_noise():
    cams = _rig()
    X = _body()
    pts = np.stack([c.project(X) for c in cams])
    got, err, n = triangulate(pts, np.ones(pts.shape[:-1]), cams)
    assert np.abs(got - X).max() < 1e-6  # distortion removed iteratively by OpenCV: ~1e-9 m
    assert np.nanmax(err) < 1e-3 and (n == 4).all()


def test_triangulation_with_noise_an_outlier_view_and_low_weights():
    """1 px of noise (SD per axis) at 3-4 m with f = 1500 px is about 2-3 mm per view; four views
    average it to about 1.5 mm per axis (about 2.5 mm in 3D), so 99 % of points fall within 6 mm
    and none beyond 15 mm. A view 80 px off (an identity or label error) must be dropped, not
    averaged in (it would move the point by centimetres), and a view below min_weight not used."""
    cams = _rig()
    X = _body(40, seed=1)
    rng = np.random.default_rng(2)
    pts = np.stack([c.project(X) for c in cams]) + rng.normal(0, 1.0, (4, *X.shape[:2], 2))
    w = np.ones(pts.shape[:-1])
    outlier = np.zeros(X.shape[:2], bool)
    outlier[::3, ::2] = True
    pts[1][outlier] += (80.0, -40.0)
    w[3, 5:8] = 0.2  # view d too unsure in frames 5-7
    got, err, n = triangulate(pts, w, cams, min_weight=0.5, max_reproj_px=10.0)
    d = np.linalg.norm(got - X, axis=-1)
    # with three good views (or four) the point is right; with two good views and one wrong (frames
    # 5-7 at the outliers) it cannot always be: two views agree on any point moved along their
    # epipolar line, so the pair kept may hold the wrong view (measured: 1 point of 33 here)
    sure = ~(outlier & (w[3] < 0.5))
    assert np.percentile(d[sure], 99) < 0.006 and d[sure].max() < 0.015
    assert (n[outlier & (w[3] >= 0.5)] == 3).all() and (n[outlier & (w[3] < 0.5)] == 2).all()
    assert (n[5:8] <= 3).all() and (n[~outlier & (w[3] >= 0.5)] == 4).all()
    assert np.nanmedian(err) < 2.0 and np.nanmax(err) < 5.0
    # without rejection the outliers spoil the points
    bad, _, _ = triangulate(pts, w, cams, max_reproj_px=1e9)
    assert np.linalg.norm(bad - X, axis=-1)[outlier].mean() > 0.02


def test_triangulation_nan_and_too_few_views():
    cams = _rig()[:3]
    X = _body(3)
    pts = np.stack([c.project(X) for c in cams])
    pts[0, 0] = np.nan
    pts[1, 0, :10] = np.nan  # landmarks 0-9 of frame 0 seen by one view only
    w = np.ones(pts.shape[:-1])
    got, err, n = triangulate(pts, w, cams)
    assert np.isnan(got[0, :10]).all() and (n[0, :10] == 0).all() and np.isnan(err[0, :10]).all()
    assert np.abs(got[0, 10:] - X[0, 10:]).max() < 1e-6 and (n[0, 10:] == 2).all()
    assert np.abs(got[1:] - X[1:]).max() < 1e-6
    empty = triangulate(np.zeros((3, 0, 33, 2)), np.zeros((3, 0, 33)), cams)
    assert empty[0].shape == (0, 33, 3)
    with pytest.raises(MovekitError, match="3 cameras"):
        triangulate(pts[:2], w[:2], cams)


def test_left_right_swap_is_found_and_undone():
    cams = _rig()
    X = _body(12, seed=3)
    rng = np.random.default_rng(4)
    true = np.stack([c.project(X) for c in cams]) + rng.normal(0, 1.0, (4, 12, 33, 2))
    pts = true.copy()
    pts[2, 4:9] = pts[2, 4:9][:, MIRROR]  # view c labels the whole body mirrored in frames 4-8
    pts[0, 10, 25:33] = pts[0, 10, MIRROR[25:33]]  # view a swaps only the legs in frame 10
    w = np.ones(pts.shape[:-1])
    fixed, w2, swapped = fix_left_right_swaps(pts, w, cams)
    assert np.array_equal(fixed, true)
    expect = np.zeros_like(swapped)
    expect[2, 4:9, :] = True
    expect[0, 10, 3] = True  # groups: head, torso, arms, legs
    assert np.array_equal(swapped, expect)


# ---------------------------------------------------------------------------- the real rig


@pytest.fixture(scope="module")
def rig():
    from movekit.datasets import fetch

    return read_qualisys_qca(fetch("pose2sim_qca_calibration"))


def test_qualisys_reader_on_the_real_calibration(rig):
    assert [c.name for c in rig] == ["cam01", "cam02", "cam03", "cam04"]
    for cam in rig:
        assert (cam.width_px, cam.height_px) == (1088, 1920)
        # 107600 / 64 = 1681 px: a 59.5 deg field of view across 1920 px
        assert 1650 < cam.K[0, 0] < 1700 and abs(cam.K[0, 0] - cam.K[1, 1]) < 1
        assert abs(cam.K[0, 2] - 544) < 40 and abs(cam.K[1, 2] - 960) < 40
        horizontal = np.linalg.norm(cam.centre_m[:2])
        assert 2.0 < horizontal < 5.0 and 1.5 < cam.centre_m[2] < 2.5  # on tripods round the plate
        pitch, roll = cam.pitch_roll_deg
        assert 15 < pitch < 30 and abs(roll) < 30  # all look down at the subject
        # the optical axis passes within 1 m of the middle of the capture volume (-0.6, 0, 0.9)
        v = np.array([-0.6, 0.0, 0.9]) - cam.centre_m
        axis = cam.R[2]
        assert np.linalg.norm(v - (v @ axis) * axis) < 1.0
    assert rig[1].pitch_roll_deg == pytest.approx((18.2, 2.6), abs=0.1)


def test_qualisys_reader_errors(tmp_path, rig):
    from movekit.datasets import fetch

    with pytest.raises(MovekitError, match="no such calibration file"):
        read_qualisys_qca(tmp_path / "none.qca.txt")
    broken = tmp_path / "broken.qca.txt"
    broken.write_text("<calibration><cameras><camera")
    with pytest.raises(MovekitError, match="not a readable Qualisys"):
        read_qualisys_qca(broken)
    text = fetch("pose2sim_qca_calibration").read_text()
    missing = tmp_path / "missing.qca.txt"
    missing.write_text(text.replace('focalLengthU="107599.671875"', ""))
    with pytest.raises(MovekitError, match="cam01.*focalLengthU"):
        read_qualisys_qca(missing)
    rotated = tmp_path / "rotated.qca.txt"
    rotated.write_text(text.replace('viewrotation="0"', 'viewrotation="90"', 1))
    with pytest.raises(MovekitError, match="viewrotation=90"):
        read_qualisys_qca(rotated)
    skew = tmp_path / "skew.qca.txt"
    skew.write_text(text.replace('r11="0.5536380477336265"', 'r11="0.9"'))
    with pytest.raises(MovekitError, match="not a rotation"):
        read_qualisys_qca(skew)
    empty = tmp_path / "empty.qca.txt"
    empty.write_text("<calibration/>")
    with pytest.raises(MovekitError, match="no <cameras>"):
        read_qualisys_qca(empty)


def _build_reference_module():
    spec = importlib.util.spec_from_file_location("build_reference", ROOT / "scripts" / "build_reference.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_real_pose_model_triangulates_on_the_real_rig(rig):
    """The real model on the first frame of the four real views of Demo_SinglePerson (a few
    seconds): the man is found in all four, his landmarks agree across views (median reprojection
    error measured 13.5 px on 1920-px-tall frames with a torso of about 230 px), he stands with
    his feet near the floor (z = 0) and his eyes at a standing adult's height (measured 1.56 m)."""
    from movekit.datasets import fetch

    br = _build_reference_module()
    frames = [br._read_frame(fetch(f"pose2sim_single_cam0{i}"), 0) for i in range(1, 5)]
    cams = br._fit_cameras(rig, [(im.shape[1], im.shape[0]) for im in frames])
    people = br.find_people_3d(frames, cams)
    assert people, "nobody found consistently"
    man = people[0]
    assert all(v is not None for v in man["views"]) and man["reproj_px"] < 20
    assert np.linalg.norm(man["hips_lab_m"][:2] - np.array(br.TRIALS["Demo_SinglePerson"]["people"]["man"])) < 0.3
    assert 0.75 < man["hips_lab_m"][2] < 1.0


@pytest.mark.slow
def test_build_reference_on_the_held_out_trial(tmp_path):
    """The whole pipeline on Demo_SinglePerson (4 x 100 frames through the real model, about 20 s
    on this machine): measured 100 % of landmarks triangulated, reprojection error median
    10.0 px and 95th percentile 15.0 px, cam02's labels mirrored during the kick (32 frames)."""
    br = _build_reference_module()
    ref = br.build_reference("Demo_SinglePerson", "man", out_dir=tmp_path, verbose=False, force=True)
    X, err, n = ref["points_lab_m"], ref["reproj_err_px"], ref["n_views"]
    assert X.shape == (100, 33, 3) and ref["image_px"].shape == (4, 100, 33, 2)
    assert np.isfinite(X[..., 0]).mean() > 0.95
    assert np.nanmedian(err) < 14 and np.nanpercentile(err, 95) < 20
    assert (n >= 3).mean() > 0.8
    feet = np.nanmin(X[:, 27:33, 2], axis=1)
    assert -0.03 < np.nanmedian(feet) < 0.12  # on the force plate, a few cm above the floor
    assert 1.45 < np.nanmax(X[:, [2, 5], 2]) < 1.70  # eye height of a ~1.7 m man
    thigh = np.linalg.norm(X[:, 23] - X[:, 25], axis=1)
    assert 0.33 < np.nanmedian(thigh) < 0.45 and np.nanstd(thigh) < 0.03  # a rigid segment
    assert ref["swapped"][1].any(axis=1).sum() > 10  # the mirrored front view is found
    assert 0.01 < np.nanmedian(ref["noise_sd_torso"]) < 0.08
    assert bool(ref["heldout"]) and Path(ref["path"]).is_file()
    saved = np.load(ref["path"])
    assert {
        "t_s",
        "points_lab_m",
        "reproj_err_px",
        "n_views",
        "image_px",
        "visibility",
        "world_m",
        "K",
        "dist",
        "R",
        "t",
        "size_px",
        "camera_names",
        "noise_sd_torso",
    } <= set(saved.files)
