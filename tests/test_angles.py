"""Clinical angles: exact recovery from a synthetic kinematic model, real-clip continuity."""

from __future__ import annotations

import re

import numpy as np
import pytest

from movekit.analysis.angles import ANGLES, joint_angles
from movekit.analysis.synthetic import pose_from_angles

RNG = np.random.default_rng(4)
N = 120

SAGITTAL_TRUTH = {  # ranges include hyperextension, extension and > 180 deg elevation
    "knee_flexion_deg": (-15, 150),
    "hip_flexion_deg": (-25, 125),
    "ankle_dorsiflexion_deg": (-50, 25),
    "elbow_flexion_deg": (0, 150),
    "shoulder_flexion_deg": (-50, 200),
    "craniovertebral_proxy_deg": (30, 100),
}
FRONTAL_TRUTH = {"shoulder_abduction_deg": (-30, 200), "knee_fppa_deg": (-20, 25)}


def _draw(truth, sided=True):
    out = {}
    for side in ("left", "right"):
        for k, (lo, hi) in truth.items():
            out[f"{side}_{k}"] = RNG.uniform(lo, hi, N)
    return out


def _sagittal():
    a = _draw(SAGITTAL_TRUTH)
    a["trunk_inclination_deg"] = RNG.uniform(-20, 80, N)
    return a


def _frontal():
    a = _draw(FRONTAL_TRUTH)
    a["trunk_lateral_lean_deg"] = RNG.uniform(-20, 20, N)
    a["pelvis_obliquity_deg"] = RNG.uniform(-12, 12, N)
    return a


def _expected(truth):
    exp = dict(truth)
    for side in ("left", "right"):
        c = truth.get(f"{side}_craniovertebral_proxy_deg")
        if c is not None:  # ear line vs trunk line: 90 - CVA - trunk inclination
            exp[f"{side}_head_forward_proxy_deg"] = 90.0 - c - truth["trunk_inclination_deg"]
    return exp


def _check(got, exp, tol=0.1):
    for name, want in exp.items():
        np.testing.assert_allclose(got[name], want, atol=tol, err_msg=name)


@pytest.mark.parametrize("yaw", [90.0, -90.0])
def test_sagittal_2d_exact_in_side_views(yaw):
    truth = _sagittal()
    img, _ = pose_from_angles(N, truth, yaw_deg=yaw)
    _check(joint_angles(image_px=img), _expected(truth))


@pytest.mark.parametrize("yaw", [0.0, 180.0])
def test_frontal_2d_exact_in_front_and_back_views(yaw):
    truth = _frontal()
    img, _ = pose_from_angles(N, truth, yaw_deg=yaw)
    _check(joint_angles(image_px=img), truth)


@pytest.mark.parametrize("yaw", [0.0, 35.0, 90.0, -90.0, 150.0, 180.0])
def test_3d_exact_in_every_view(yaw):
    for truth in (_sagittal(), _frontal()):
        _, world = pose_from_angles(N, truth, yaw_deg=yaw)
        exp = _expected(truth)
        if "right_shoulder_flexion_deg" in truth:  # elevation near the sagittal axis: no projection
            for s in ("left", "right"):
                f = truth[f"{s}_shoulder_flexion_deg"]
                exp[f"{s}_shoulder_flexion_deg"] = f
        _check(joint_angles(world_m=world), exp)


def test_hyperextension_negative_both_sides_and_views():
    truth = {
        "left_knee_flexion_deg": -12.0,
        "right_knee_flexion_deg": -7.0,
        "left_hip_flexion_deg": -20.0,
        "right_shoulder_flexion_deg": -45.0,
    }
    for yaw in (90.0, -90.0):
        img, world = pose_from_angles(1, truth, yaw_deg=yaw)
        for got in (joint_angles(image_px=img), joint_angles(world_m=world)):
            for k, v in truth.items():
                assert got[k][0] == pytest.approx(v, abs=1e-6), (yaw, k)


def test_abduction_past_180_never_wraps():
    sweep = np.linspace(-30, 210, 481)
    truth = {"left_shoulder_abduction_deg": sweep, "right_shoulder_abduction_deg": sweep[::-1]}
    img, world = pose_from_angles(sweep.size, truth, yaw_deg=0.0)
    for got in (joint_angles(image_px=img), joint_angles(world_m=world)):
        for k in truth:
            np.testing.assert_allclose(got[k], truth[k], atol=1e-6)
            assert np.max(np.abs(np.diff(got[k]))) < 0.6  # 0.5 deg steps: no jump anywhere


def test_knee_flexion_sweep_continuous_through_zero():
    sweep = np.concatenate([np.linspace(-15, 160, 300), np.linspace(160, -15, 300)])
    img, _ = pose_from_angles(sweep.size, {"right_knee_flexion_deg": sweep}, yaw_deg=90.0)
    got = joint_angles(image_px=img)["right_knee_flexion_deg"]
    np.testing.assert_allclose(got, sweep, atol=1e-6)


def test_valgus_positive_on_both_sides():
    img, world = pose_from_angles(1, {"left_knee_fppa_deg": 10.0, "right_knee_fppa_deg": 10.0})
    # valgus: knee medial of the hip-ankle line, i.e. toward the midline (x = 640 px)
    for side, k, h, a in (("left", 25, 23, 27), ("right", 26, 24, 28)):
        line_x = 0.5 * (img[0, h, 0] + img[0, a, 0])
        assert abs(img[0, k, 0] - 640) < abs(line_x - 640), side
        assert joint_angles(image_px=img)[f"{side}_knee_fppa_deg"][0] == pytest.approx(10.0, abs=1e-6)


def test_table_names_and_metadata():
    pat = re.compile(r"^((left|right)_[a-z]+_[a-z_]+|[a-z]+_[a-z_]+)_deg$")
    for name, d in ANGLES.items():
        assert pat.match(name), name
        assert d.plane in ("sagittal", "frontal")
        assert d.source and re.search(r"(19|20)\d\d", d.source), name
        assert d.proxy == ("PROXY" in d.convention or "proxy" in d.convention), name
    for n in (
        "left_knee_flexion_deg",
        "right_hip_flexion_deg",
        "left_shoulder_abduction_deg",
        "right_knee_fppa_deg",
        "trunk_inclination_deg",
    ):
        assert n in ANGLES


def test_nan_empty_single_frame_and_visibility():
    empty = joint_angles(image_px=np.zeros((0, 33, 3)))
    assert set(empty) == set(ANGLES) and all(v.shape == (0,) for v in empty.values())
    nan = joint_angles(image_px=np.full((2, 33, 3), np.nan))
    assert all(np.isnan(v).all() for v in nan.values())
    img, _ = pose_from_angles(1, {"left_knee_flexion_deg": 40.0}, yaw_deg=-90)
    single = joint_angles(image_px=img[0])  # (33, 3) is one frame
    assert single["left_knee_flexion_deg"].shape == (1,)
    assert single["left_knee_flexion_deg"][0] == pytest.approx(40.0, abs=1e-6)
    vis = np.ones((1, 33))
    vis[0, 25] = 0.2  # left knee not seen
    masked = joint_angles(image_px=img, visibility=vis)
    assert np.isnan(masked["left_knee_flexion_deg"][0]) and np.isfinite(masked["right_knee_flexion_deg"][0])
    with pytest.raises(ValueError):
        joint_angles()
    with pytest.raises(ValueError):
        joint_angles(image_px=np.zeros((3, 17, 2)))


def test_aspect_ratio_matters_pixels_not_normalised():
    """Angles use true pixel geometry: squeezing x (as normalised coordinates would) changes them."""
    img, _ = pose_from_angles(1, {"right_knee_flexion_deg": 60.0}, yaw_deg=90)
    assert joint_angles(image_px=img)["right_knee_flexion_deg"][0] == pytest.approx(60.0, abs=1e-6)
    squeezed = img.copy()
    squeezed[..., 0] *= 994 / 1768
    assert abs(joint_angles(image_px=squeezed)["right_knee_flexion_deg"][0] - 60.0) > 5


# ---- real clip (Sports2D demo, MediaPipe Pose via the capture pipeline; shared session fixture) ----


@pytest.fixture(scope="module")
def clip(demo_pose):
    from movekit.analysis.pipeline import analyse

    res = analyse(
        demo_pose.t_s, demo_pose.image_px, demo_pose.world_m, demo_pose.visibility, offline=True, gate=False
    )  # the angle maths, not the error gate, is under test here
    return demo_pose, res


def _subject_frames(pose):
    """Frames where the tracked person is the man on the box (the second person enters ~5.6 s)."""
    return np.asarray(pose.t_s) < 5.6


def _max_jump(res, valid, keep, name):
    a = res.angles[name]
    ok = valid[name][0] & keep & np.isfinite(a)
    pair = ok[1:] & ok[:-1]
    return (float(np.abs(np.diff(a))[pair].max()) if pair.any() else 0.0), int(pair.sum())


@pytest.mark.usefixtures("ungated")  # logic under test, on footage the error model refuses
@pytest.mark.slow
def test_real_clip_angles_continuous_in_valid_views(clip):
    from movekit.analysis.view import angle_validity

    pose, res = clip
    t = np.asarray(pose.t_s)
    valid = angle_validity(res.view)
    # whole time the man on the box is tracked (jump and flip included): no wrap, no sign flip
    checked = 0
    for name in res.angles:
        jump, n = _max_jump(res, valid, t < 5.5, name)
        assert jump < 90.0, (name, jump)
        checked += n >= 10
    assert checked >= 15
    # quiet stretches (arms raised sideways facing the camera; standing side-on): 20 deg per
    # frame = 600 deg/s, more than these movements reach
    for lo, hi in ((0.3, 2.6), (3.3, 4.4)):
        for name in res.angles:
            jump, n = _max_jump(res, valid, (t > lo) & (t < hi), name)
            assert jump < 20.0, (name, lo, jump)


@pytest.mark.slow
def test_real_clip_limb_lengths_steady(demo_pose):
    """Segment lengths from cleaned world landmarks vary little while the man stands and moves
    his arms (measured: coefficient of variation <= 0.085), more during the jump and flip."""
    from movekit.analysis.pipeline import analyse

    res = analyse(demo_pose.t_s, demo_pose.image_px, demo_pose.world_m, demo_pose.visibility, space="3d")
    w, t = res.landmarks, np.asarray(demo_pose.t_s)
    pairs = ((23, 25), (25, 27), (24, 26), (26, 28), (11, 13), (12, 14), (13, 15), (14, 16))
    for (lo, hi), limit in (((0.3, 2.6), 0.10), ((3.3, 4.4), 0.10), ((0.0, 5.5), 0.20)):
        keep = (t > lo) & (t < hi)
        for a, b in pairs:
            length = np.linalg.norm(w[keep, a] - w[keep, b], axis=1)
            if np.isfinite(length).sum() < 10:
                continue
            cv = np.nanstd(length) / np.nanmean(length)
            assert cv < limit, (lo, a, b, cv)
            assert 0.15 < np.nanmean(length) < 0.6  # metres: a human limb


@pytest.mark.usefixtures("ungated")  # logic under test, on footage the error model refuses
@pytest.mark.slow
def test_real_clip_frontal_abduction_then_side_view(clip):
    pose, res = clip
    t = np.asarray(pose.t_s)
    views = res.view
    side = (t > 3.4) & (t < 5.4)  # standing side-on on the box, then the jump
    front = (t > 0.4) & (t < 2.6)  # facing the camera, arms raised sideways twice
    assert np.mean(views[side] == "sagittal_right") > 0.8
    assert np.mean(views[front] == "frontal") > 0.8
    for s in ("left", "right"):  # arms out to ~150 deg of abduction, both sides positive
        peak = np.nanmax(res.angles[f"{s}_shoulder_abduction_deg"][front])
        assert 120 < peak < 180, (s, peak)


@pytest.mark.usefixtures("ungated")  # logic under test, on footage the error model refuses
@pytest.mark.slow
def test_real_clip_streaming_equals_causal_batch(demo_pose):
    """The live analyser sees image landmarks only, so it equals the causal batch without world
    landmarks (with them, the batch view and so the guarded angles may differ)."""
    from movekit.analysis.pipeline import StreamingAnalyzer, analyse, frame_rate

    batch = analyse(demo_pose.t_s, demo_pose.image_px, None, demo_pose.visibility, offline=False)
    live = StreamingAnalyzer(frame_rate(demo_pose.t_s))
    rows, views = [], []
    for i in range(len(demo_pose)):
        rows.append(live.update(demo_pose.image_px[i], demo_pose.visibility[i]))
        views.append(live.view)
    for name, b in batch.angles.items():
        s = np.array([r[0][name] for r in rows])
        np.testing.assert_array_equal(np.isnan(s), np.isnan(b), err_msg=name)
        np.testing.assert_allclose(s, b, rtol=0, atol=1e-9, err_msg=name)
    np.testing.assert_allclose(np.array([r[1] for r in rows]), batch.com, rtol=0, atol=1e-9)
    assert np.isfinite(batch.angles["right_knee_flexion_deg"]).sum() > 50
    assert views == list(batch.view)
    assert views.count("sagittal_right") > 40


@pytest.mark.usefixtures("ungated")  # logic under test, on footage the error model refuses
def test_left_right_swap_by_the_model_is_undone():
    from movekit.analysis.filters import CleanConfig
    from movekit.analysis.pipeline import analyse

    n = 60
    truth = {
        "left_shoulder_abduction_deg": np.linspace(20, 140, n),
        "right_shoulder_abduction_deg": 30.0,
        "left_knee_fppa_deg": 8.0,
        "right_knee_fppa_deg": -4.0,
    }
    img, world = pose_from_angles(n, truth, yaw_deg=0.0)
    swapped = img.copy()
    odd, even = np.arange(1, 33, 2), np.arange(2, 33, 2)
    swapped[20:24][:, np.r_[odd, even]] = img[20:24][:, np.r_[even, odd]]  # 4 frames mislabelled
    res = analyse(np.arange(n) / 30.0, swapped, None, None, config=CleanConfig(hampel_half_window=0, cutoff_hz=None))
    np.testing.assert_allclose(
        res.angles["left_shoulder_abduction_deg"], truth["left_shoulder_abduction_deg"], atol=1e-6
    )
    np.testing.assert_allclose(res.angles["right_knee_fppa_deg"], -4.0, atol=1e-6)


@pytest.mark.usefixtures("ungated")  # logic under test, on footage the error model refuses
@pytest.mark.parametrize("offline", [True, False])
def test_real_clip_one_frame_trunk_flip_is_dropped(demo_pose, offline):
    """Just before the model loses him mid-bend (5.63 s) the trunk reads 78 then -81 deg in one
    frame (the facing cue flips); the angular-velocity guard drops that frame, the bend stays."""
    from movekit.analysis.filters import MAX_TRUNK_DEG_S
    from movekit.analysis.pipeline import analyse, frame_rate

    res = analyse(demo_pose.t_s, demo_pose.image_px, demo_pose.world_m, demo_pose.visibility, offline=offline)
    t = np.asarray(demo_pose.t_s)
    tr = res.angles["trunk_inclination_deg"]
    bend = (t > 5.0) & (t < 5.66)
    assert np.nanmax(tr[bend]) > 60.0  # the forward bend itself is kept
    assert not (tr[bend] < 0).any()  # no flip to -81 deg
    step = np.abs(np.diff(tr))
    fs = frame_rate(t)
    assert np.nanmax(step) <= MAX_TRUNK_DEG_S / fs * 7  # never faster than the bound over `hold` frames


def test_pelvic_obliquity_and_lateral_lean_are_bounded_by_anatomy():
    """A hip line drawn across the body (3D obliquity read 109-177 deg off on a real trial) is
    refused, not reported."""
    img, world = pose_from_angles(3, {"pelvis_obliquity_deg": 5.0}, yaw_deg=0.0)
    w = world.copy()
    w[1, [23, 24]] = w[1, [24, 23]] * np.array([1.0, -1.0, 1.0])  # hips turned upside down
    w[2, 24, 1] = w[2, 23, 1] + 0.3  # right hip 30 cm below the left
    a = joint_angles(world_m=w)
    assert np.isfinite(a["pelvis_obliquity_deg"][0])
    assert np.isnan(a["pelvis_obliquity_deg"][1:]).all()


def test_model_swap_back_is_followed_at_once(captured):
    """Real front view (Pose2Sim cam02, 60 fps): the model labels the man as facing away for
    frames 41-73 and swaps back at 74 while his legs are crossed; the swap back was seen on the
    shoulders but not the hips, so the hips stayed relabelled until frame 96 (knee FPPA flipped
    sign). The hips now follow the shoulders wherever both are wide enough to compare."""
    from movekit.analysis.pipeline import agree_lower_with_upper, swap_flags, swap_parity
    from movekit.recording import open_recording

    pose = open_recording(captured("pose2sim_single_cam02")).pose()
    img = np.asarray(pose.image_px, dtype=np.float64)[..., :2]
    before = swap_parity(swap_flags(img), 30)
    after = agree_lower_with_upper(img, before)
    assert before[80:96, 1].all() and not before[84:96, 0].any()  # the defect as it was
    assert not after[83:100].any()
    assert (after[76:100, 0] == after[76:100, 1]).all()  # hips and shoulders relabelled together
    assert after[45:58].all()  # the facing-away stretch stays relabelled
    # relabelled hips and shoulders point the same way wherever both are wide
    sh = (img[:, 11] - img[:, 12]) * np.where(after[:, :1], -1, 1)
    hp = (img[:, 23] - img[:, 24]) * np.where(after[:, 1:], -1, 1)
    cos = (sh * hp).sum(1) / np.hypot(*sh.T) / np.hypot(*hp.T)
    trunk = np.hypot(*(0.5 * (img[:, 11] + img[:, 12]) - 0.5 * (img[:, 23] + img[:, 24])).T)
    wide = (np.hypot(*sh.T) >= 0.15 * trunk) & (np.hypot(*hp.T) >= 0.15 * trunk)
    assert wide[76:].sum() > 15 and np.nanmin(cos[76:][wide[76:]]) > -0.3
