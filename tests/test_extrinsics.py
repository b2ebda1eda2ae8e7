"""Camera extrinsics a clinic can make (issue 17): from a ChArUco board rendered into virtual
views of the real Pose2Sim/Qualisys rig, and from the real pose model's keypoints of a person
seen by that rig's four real cameras, compared with the Qualisys calibration.

Real data: the Qualisys calibration of Pose2Sim 0.10.49 (``pose2sim_qca_calibration``) and the
pose model's landmarks in the four views of Demo_SinglePerson, cached by
scripts/build_reference.py (built on first use, about a minute).
"""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from movekit.analysis.cameras import PinholeCamera, read_calibration, read_qualisys_qca, write_calibration_toml
from movekit.analysis.extrinsics import (
    EYE_HEIGHT_PER_STATURE,
    align_to_floor_board,
    board_extrinsics,
    board_lab_points,
    compare_rigs,
    keypoint_extrinsics,
    rotation_angle_deg,
    similarity_transform,
    transform_cameras,
)
from movekit.capture.board import detect_board, parse_board, render_board
from movekit.datasets import fetch
from movekit.errors import MovekitError

ROOT = Path(__file__).resolve().parents[1]
BOARD = "charuco:7,5,0.14,0.105"  # 0.98 x 0.7 m (about A0), 24 inner corners
PX_PER_M = 2500.0


def _rot(axis: str, deg: float) -> np.ndarray:
    from scipy.spatial.transform import Rotation

    return Rotation.from_euler(axis, deg, degrees=True).as_matrix()


#: Board poses (board lab frame -> Qualisys lab): frame 0 flat on the floor by the subject's feet
#: (the lab frame), then held up 0.6-1.0 m high, tilted 45 deg toward three directions.
POSES = [(_rot("z", 30), np.array([-0.3, -0.2, 0.0]))] + [
    (_rot("z", yaw) @ _rot("x", -45), _rot("z", yaw) @ np.array([-0.35, 0.3, 0.0]) + [0, 0, z])
    for yaw, z in ((-60, 0.7), (60, 1.0), (180, 0.6))
]


@pytest.fixture(scope="module")
def rig() -> list[PinholeCamera]:
    """The real rig's four cameras, without lens distortion (the virtual views are rendered
    through an ideal pinhole; on this rig the distortion moves points by < 0.05 px)."""
    return [replace(c, dist=np.zeros(5)) for c in read_qualisys_qca(fetch("pose2sim_qca_calibration"))]


def _render(cam: PinholeCamera, spec, pose, rng) -> np.ndarray | None:
    """The board image as ``cam`` sees it in ``pose`` (homography of the board plane), blurred
    (sigma 1 px) with noise (SD 4 grey levels); None when the camera sees its back."""
    tex, off = render_board(spec, PX_PER_M)
    h, w = tex.shape
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], float) - 0.5  # pixel edges
    b = spec.points_m
    board = np.column_stack([(corners + 0.5) / PX_PER_M - off, np.zeros(4)])
    world = board_lab_points(np.vstack([b[:1], board]))[1:] @ pose[0].T + pose[1]
    normal = pose[0][:, 2]
    if normal @ (cam.centre_m - world.mean(axis=0)) <= 0:
        return None
    img = cam.project(world)
    H = cv2.getPerspectiveTransform(corners.astype(np.float32), img.astype(np.float32))
    frame = cv2.warpPerspective(tex, H, (cam.width_px, cam.height_px), flags=cv2.INTER_AREA, borderValue=110)
    frame = cv2.GaussianBlur(frame, (0, 0), 1.0)
    return np.clip(frame + rng.normal(0, 4, frame.shape), 0, 255).astype(np.uint8)


def _views(cams, spec, poses, seed=0) -> list[list[np.ndarray | None]]:
    rng = np.random.default_rng(seed)
    return [[_render(c, spec, p, rng) for p in poses] for c in cams]


def _detect(frames, spec) -> list[dict]:
    out = []
    for per_cam in frames:
        det = {}
        for i, f in enumerate(per_cam):
            got = None if f is None else detect_board(f, spec)
            if got is not None:
                det[i] = got
        out.append(det)
    return out


def _truth(cams, pose) -> list[PinholeCamera]:
    """The rig in the board's lab frame (``X_board = R.T @ (X - t)``)."""
    R, t = pose
    return transform_cameras(cams, 1.0, R.T, -R.T @ t)


def test_board_text_and_detection_on_the_printed_image():
    spec = parse_board(BOARD)
    assert spec.points_m.shape == (24, 3)
    tex, off = render_board(spec, PX_PER_M)
    ids, px = detect_board(tex, spec)
    assert len(ids) == 24
    # the printed corner positions: board (m) -> pixel centres of the image
    np.testing.assert_allclose(px, (spec.points_m[ids, :2] + off) * PX_PER_M - 0.5, atol=0.1)
    chk = parse_board("checker:9,6,0.025")
    assert chk.points_m.shape == (54, 3) and chk.points_m[1, 0] == pytest.approx(0.025)
    for bad, message in {
        "charuco:7,5,0.1": "expected charuco",
        "charuco:7,5,0.1,0.2": "marker must be smaller",
        "checker:8,6,0.025": "one odd and one even",
        "charuco:7,5,0.1,0.07,DICT_NOPE": "unknown ArUco dictionary",
        "circles:4,11,0.02": "expected charuco",
    }.items():
        with pytest.raises(MovekitError, match=message):
            parse_board(bad)


def test_board_extrinsics_recover_the_real_rig(rig):
    """Board on the floor then held up in three poses, seen by the four real cameras (virtual
    views, blur and noise): each camera within 0.15 deg and 10 mm (0.3 % of the shortest
    baseline, 3.4 m) of the Qualisys calibration in the board's frame (measured 0.03-0.04 deg,
    1.5-2.8 mm), the floor's vertical within 0.1 deg, residuals under 0.5 px, usable."""
    spec = parse_board(BOARD)
    dets = _detect(_views(rig, spec, POSES), spec)
    assert all(0 in d for d in dets)  # every camera sees the board on the floor
    res = board_extrinsics(rig, dets, spec.points_m)
    assert res.usable, res.describe()
    truth = _truth(rig, POSES[0])
    z = np.array([0.0, 0.0, 1.0])
    for got, want, err in zip(res.cameras, truth, res.errors):
        assert rotation_angle_deg(got.R, want.R) < 0.15, got.name
        assert np.linalg.norm(got.centre_m - want.centre_m) < 0.010, got.name
        vertical = math.degrees(math.acos(float(np.clip((got.R @ z) @ (want.R @ z), -1, 1))))
        assert vertical < 0.1, got.name
        assert err.median_px < 0.5 and err.centre_sd_mm < 10.0 and err.median_mm < 2.0, err
    # the pitch and roll a clinic reads from it are the rig's
    for got, want in zip(res.cameras, truth):
        assert got.pitch_roll_deg == pytest.approx(want.pitch_roll_deg, abs=0.1)


def test_board_refuses_a_camera_that_saw_it_twice_at_a_grazing_angle(rig):
    """A fifth camera 0.9 m high and 5 m away sees the floor board at 80 deg from its normal in
    two frames (13 corners in all): its position is uncertain by about 20 mm (1 SD; measured
    20.6), so the calibration is refused with that reason (and require_usable raises it)."""
    spec = parse_board(BOARD)
    board_centre = np.array([0.05, 0.05, 0.0])
    low = _look_at("low", board_centre + [0.0, -5.0, 0.9], board_centre, f_px=2400.0)
    dets = _detect(_views(rig, spec, POSES[:1] * 2, seed=0) + _views([low], spec, POSES[:1] * 2, seed=1), spec)
    assert len(dets[4]) == 2, "the grazing camera should still find the board"
    res = board_extrinsics([*rig, low], dets, spec.points_m)
    assert not res.usable
    assert any(r.startswith("low's position is uncertain") for r in res.reasons), res.reasons
    assert res.errors[4].centre_sd_mm > 10.0 and all(e.centre_sd_mm < 30.0 for e in res.errors[:4])
    with pytest.raises(MovekitError, match="calibration refused: .*low"):
        res.require_usable()
    with pytest.raises(MovekitError, match="never saw the board"):
        board_extrinsics(rig, [dets[0], {}, dets[2], dets[3]], spec.points_m)


def _look_at(name, centre, target, *, f_px=1500.0, size=(1088, 1920)) -> PinholeCamera:
    centre, target = np.asarray(centre, float), np.asarray(target, float)
    zc = (target - centre) / np.linalg.norm(target - centre)
    x = np.cross(zc, [0.0, 0.0, 1.0])
    x /= np.linalg.norm(x)
    R = np.stack([x, np.cross(zc, x), zc])
    K = [[f_px, 0, size[0] / 2], [0, f_px, size[1] / 2], [0, 0, 1]]
    return PinholeCamera(name, size[0], size[1], K, np.zeros(5), R, -R @ centre)


def test_similarity_transform_is_exact():
    rng = np.random.default_rng(3)
    src = rng.normal(size=(6, 3))
    R = _rot("xyz", [20, -35, 70])
    s, R_got, t = similarity_transform(src, 1.7 * src @ R.T + [1.0, -2.0, 0.5])
    assert s == pytest.approx(1.7) and np.allclose(R_got, R) and np.allclose(t, [1.0, -2.0, 0.5])


# ----------------------------------------------------------------------------- from the person


def _reference(trial: str = "Demo_SinglePerson", person: str = "man") -> dict:
    sys.path.insert(0, str(ROOT / "scripts"))
    import build_reference as BR  # type: ignore

    path = BR.reference_path(trial, person)
    if not path.exists():
        BR.build_reference(trial, person, verbose=False)
    z = np.load(path, allow_pickle=True)
    return {k: z[k] for k in z.files}


def _cameras(z) -> list[PinholeCamera]:
    return [
        PinholeCamera(
            str(n), int(z["size_px"][i][0]), int(z["size_px"][i][1]), z["K"][i], z["dist"][i], z["R"][i], z["t"][i]
        )
        for i, n in enumerate(z["camera_names"])
    ]


def _eye_height_m(lab) -> float:
    """The Qualisys reference's eye height above the floor, measured as person_lab_frame does."""
    floor = np.nanmedian(np.nanmin(lab[:, 29:33, 2], axis=1))
    return float(np.nanpercentile(lab[:, [2, 5], 2].mean(axis=1) - floor, 90))


@pytest.fixture(scope="module")
def single():
    return _reference()


def test_keypoint_bundle_adjustment_recovers_the_qualisys_rig(single):
    """The pose model's keypoints of the man in the four real views (40 frames): after a
    similarity alignment on the camera centres each camera is within 2.5 deg and 45 mm of the
    Qualisys calibration (measured 0.5-2.0 deg, 9-33 mm); with the height stated (here the
    stature whose eye height is the reference's, 1.61 m, so that the test checks the solve and
    not the 0.936 ratio) the baselines are within 5 % (measured +1 to +3 %); the vertical from
    the person is the weak part (measured 9.9-11.5 deg: he leans and kicks, and his feet stay
    near a line), and the residuals stay within the pose model's scatter (median 6-9 px, 12-19 mm)."""
    cams = _cameras(single)
    height = _eye_height_m(single["points_lab_m"]) / EYE_HEIGHT_PER_STATURE
    intrinsics = [replace(c, R=np.eye(3), t=np.zeros(3)) for c in cams]
    res = keypoint_extrinsics(
        intrinsics, single["image_px"], single["visibility"], height_m=height, max_frames=40, max_starts=2
    )
    assert res.usable, res.describe()
    cmp = compare_rigs(res.cameras, cams)
    assert max(cmp["rotation_deg"]) < 2.5 and max(cmp["centre_mm"]) < 45.0, cmp
    assert all(0.95 < r < 1.05 for r in cmp["baseline_ratio"]), cmp
    assert max(cmp["vertical_deg"]) < 13.0, cmp
    for e in res.errors:
        assert 3.0 < e.median_px < 12.0 and e.median_mm < 25.0 and e.n_observations > 1000, e
    assert res.points_m.shape[1:] == (33, 3)
    feet = np.nanmedian(np.nanmin(res.points_m[:, 29:33, 2], axis=1))
    assert abs(feet) < 0.03  # the floor is z = 0
    # the board on the floor seen by cam01 and cam02 fixes the vertical (measured 0.0-2.5 deg
    # against 10-11.5 from the person) and the scale (baselines measured within 2.2 %)
    spec = parse_board(BOARD)
    seen = _detect(_views([replace(c, dist=np.zeros(5)) for c in cams[:2]], spec, POSES[:1]), spec)
    floor = align_to_floor_board(res, [d.get(0) for d in seen] + [None, None], spec.points_m)
    cmp = compare_rigs(floor.cameras, _truth(cams, POSES[0]))
    assert max(cmp["vertical_deg"]) < 3.0 and all(0.97 < r < 1.03 for r in cmp["baseline_ratio"]), cmp
    assert any("floor board seen by cam0" in n for n in floor.notes)


def test_keypoints_from_a_wrong_camera_are_refused(single):
    """cam04's keypoints replaced by the same camera's view 1.1 s later (the clip played from
    another point: a wrong sync or the wrong file): that camera cannot agree with the others and
    the calibration is refused, naming it."""
    cams = [replace(c, R=np.eye(3), t=np.zeros(3)) for c in _cameras(single)]
    kp, vis = single["image_px"].copy(), single["visibility"].copy()
    kp[3] = np.roll(kp[3], 66, axis=0)
    vis[3] = np.roll(vis[3], 66, axis=0)
    res = keypoint_extrinsics(cams, kp, vis, height_m=1.6, max_frames=40, max_starts=2)
    assert not res.usable, res.describe()
    assert any("cam04" in r for r in res.reasons), res.reasons
    with pytest.raises(MovekitError, match="needs 2\\+ cameras"):
        keypoint_extrinsics(cams[:1], kp[:1], vis[:1])


# ----------------------------------------------------------------------------- command line


def _write_video(path: Path, frames: list[np.ndarray]) -> Path:
    h, w = frames[0].shape[:2]
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (w, h))
    for f in frames:
        out.write(cv2.cvtColor(f, cv2.COLOR_GRAY2BGR))
    out.release()
    return path


def test_calibrate_extrinsics_command_from_board_videos(rig, tmp_path):
    """movekit calibrate extrinsics --board on four short videos with the rig's intrinsics: the
    per-camera errors and the verdict printed, a private .toml that reads back within 0.2 deg and
    15 mm of the truth; an existing output is refused, and --overwrite never writes onto an input."""
    spec = parse_board(BOARD)
    frames = _views(rig, spec, POSES, seed=2)
    blank = np.full((rig[0].height_px, rig[0].width_px), 110, np.uint8)
    videos = [
        _write_video(tmp_path / f"c{i}.avi", [f if f is not None else blank for f in fr]) for i, fr in enumerate(frames)
    ]
    intr = tmp_path / "intrinsics.toml"
    write_calibration_toml(rig, intr)
    out = tmp_path / "rig.toml"
    cmd = [sys.executable, "-m", "movekit.cli", "calibrate", "extrinsics", *map(str, videos), "--board", BOARD]
    cmd += ["--intrinsics", str(intr), "-o", str(out)]
    p = subprocess.run(cmd, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr + p.stdout
    assert "verdict: usable" in p.stdout and p.stdout.count(" px (95th ") == 4 and " mm " in p.stdout
    assert out.stat().st_mode & 0o777 == 0o600
    got = read_calibration(out)
    for g, want in zip(got, _truth(rig, POSES[0])):
        assert rotation_angle_deg(g.R, want.R) < 0.2 and np.linalg.norm(g.centre_m - want.centre_m) < 0.015
    again = subprocess.run(cmd, capture_output=True, text=True)
    assert again.returncode == 2 and "exists" in again.stderr and len(again.stderr.strip().splitlines()) == 1
    onto_input = subprocess.run(cmd[:-2] + ["-o", str(intr), "--overwrite"], capture_output=True, text=True)
    assert onto_input.returncode == 2 and "also an input" in onto_input.stderr
    wrong = subprocess.run(
        cmd[:-6] + ["--board", "charuco:5,7,0.1", "--intrinsics", str(intr), "-o", str(tmp_path / "x.toml")],
        capture_output=True,
        text=True,
    )
    assert wrong.returncode == 2 and "expected charuco" in wrong.stderr


def test_set_up_summary_says_what_two_cameras_will_show():
    """After an extrinsic calibration: how far apart two cameras are seen from where the client
    stands, and which angles their measured two-camera error will show, per pose model (the
    shipped table: at 60-120 deg apart the heavy model adds the painful arc's shoulder abduction;
    facing each other, the advice to move a camera)."""
    from movekit.analysis.cameras import read_qualisys_qca
    from movekit.commands.calibrate import _set_up_summary
    from movekit.datasets import fetch

    cams = {c.name: c for c in read_qualisys_qca(fetch("pose2sim_qca_calibration"))}
    side = _set_up_summary([cams["cam01"], cams["cam04"]], "the person", subject_m=(0.0, 0.0, 0.0))
    lines = side.splitlines()
    assert re.match(r"set-up: cam01 and cam04 are (\d+) deg apart seen from the person", lines[0]), side
    assert 60 <= float(re.search(r"(\d+) deg apart", lines[0]).group(1)) <= 120
    assert lines[1].endswith("(the default model): trunk lateral lean")
    assert "(--model-complexity 2):" in lines[2] and "left shoulder abduction" in lines[2]
    assert "knee flexion" not in side and len(lines) == 3
    facing = _set_up_summary([cams["cam01"], cams["cam03"]], "the person")
    assert "shoulder abduction" not in facing and "cameras 60-120 deg apart" in facing.splitlines()[-1]


def _camera_recording(path: Path, z, i: int) -> Path:
    """A recording of camera ``i``'s real pose-model output, as movekit capture writes it."""
    from movekit.capture.pipeline import pose_stream_specs
    from movekit.recording import RecordingWriter

    img = np.concatenate([z["image_px"][i], np.zeros(z["image_px"].shape[1:3] + (1,))], axis=-1)
    with RecordingWriter(path, {"client": "P-7"}) as rec:
        for spec in pose_stream_specs(60.0):
            rec.add_stream(spec)
        rec.append("pose_image_px", z["t_s"], img.astype(np.float32))
        rec.append("pose_world_m", z["t_s"], z["world_m"][i].astype(np.float32))
        rec.append("pose_visibility", z["t_s"], z["visibility"][i].astype(np.float32))
        rec.append("pose_presence", z["t_s"], z["visibility"][i].astype(np.float32))
    return path


def test_calibrate_extrinsics_command_from_the_person(single, tmp_path):
    """movekit calibrate extrinsics --from-person on the four cameras' recordings: usable, the
    .toml's cameras within 2.5 deg (after alignment) of the Qualisys rig; with --floor-board
    filmed by two of them the vertical within 3 deg; without --height-m a one-line error."""
    cams = _cameras(single)
    intr = tmp_path / "intrinsics.toml"
    write_calibration_toml(cams, intr)
    recs = [str(_camera_recording(tmp_path / f"c{i}.mkrec", single, i)) for i in range(4)]
    out = tmp_path / "person.toml"
    cmd = [sys.executable, "-m", "movekit.cli", "calibrate", "extrinsics", *recs, "--from-person"]
    cmd += ["--intrinsics", str(intr), "--max-frames", "20", "-o", str(out)]
    p = subprocess.run(cmd + ["--height-m", "1.61"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr + p.stdout
    assert "verdict: usable" in p.stdout and "the scale: eye height" in p.stdout
    assert "set-up: 4 cameras (gated by the worst two-camera band)" in p.stdout
    # the vertical came from the person: written in the file, and the angles against it refused
    assert 'vertical = "person"' in out.read_text()
    assert "lateral lean, pelvic obliquity refused: the calibration's vertical came from the person" in p.stdout
    cmp = compare_rigs(read_calibration(out), cams)
    assert max(cmp["rotation_deg"]) < 2.5, cmp
    # the floor board filmed by cam01 and cam02 gives the vertical
    spec = parse_board(BOARD)
    frames = _views([replace(c, dist=np.zeros(5)) for c in cams[:2]], spec, POSES[:1])
    floor = [str(_write_video(tmp_path / f"floor{i}.avi", f)) for i, f in enumerate(frames)]
    board_out = tmp_path / "floor.toml"
    r = subprocess.run(
        cmd[:-1] + [str(board_out), "--height-m", "1.61", "--floor-board", BOARD, "--floor-videos", *floor, "-", "-"],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0 and "floor board seen by cam0" in r.stdout, r.stderr + r.stdout
    assert 'vertical = "floor board"' in board_out.read_text() and "standing axis" not in r.stdout
    assert max(compare_rigs(read_calibration(board_out), _truth(cams, POSES[0]))["vertical_deg"]) < 3.0
    q = subprocess.run(cmd[:-1] + [str(tmp_path / "y.toml")], capture_output=True, text=True)
    assert q.returncode == 2 and "--height-m" in q.stderr and not (tmp_path / "y.toml").exists()


# ----------------------------------------------------------------------------- rotation refinement


def test_rotation_refinement_recovers_turned_cameras():
    """Four cameras round a person-sized cloud of points; two are turned by 1.5 and 2 deg (as the
    Qualisys calibration's cam01 and cam03 are off on the Pose2Sim rig) and the keypoints carry
    2 px of noise and 5 % of wrong detections 60 px off: the refinement turns every camera to within
    0.15 deg of the truth (measured 0.05-0.10: the near-freedom of turning all cameras so that the
    person moves is left to the ridge), keeps the centres, and brings every camera's leave-one-out
    reprojection to within 1 px of what the true rig gives (up to 19 px before)."""
    from movekit.analysis.extrinsics import loo_reprojection_px, refine_rotations, rotate_cameras

    rng = np.random.default_rng(5)
    truth = [
        _look_at("a", (3.0, 0.5, 1.8), (0, 0, 0.9)),
        _look_at("b", (0.3, 3.5, 1.7), (0, 0, 0.9)),
        _look_at("c", (-3.0, 0.8, 2.1), (0, 0, 0.9)),
        _look_at("d", (-0.5, -3.8, 1.9), (0, 0, 0.9)),
    ]
    X = rng.uniform([-0.4, -0.4, 0.0], [0.4, 0.4, 1.8], (60, 33, 3))
    pts = np.stack([c.project(X) for c in truth]) + rng.normal(0, 2.0, (4, 60, 33, 2))
    wrong = rng.random(pts.shape[:-1]) < 0.05
    pts[wrong] += 60.0
    w = np.ones(pts.shape[:-1])
    turn = np.deg2rad([[0.3, 1.4, -0.4], [0, 0, 0], [0.2, -0.5, 1.9], [0, 0, 0]])
    given = rotate_cameras(truth, turn)
    res = refine_rotations(pts, w, given)
    back = [rotation_angle_deg(a.R, b.R) for a, b in zip(res.cameras, truth)]
    assert max(back) < 0.15, back
    assert np.allclose(res.cameras[2].centre_m, truth[2].centre_m)
    assert res.correction_deg[0] == pytest.approx(np.degrees(np.linalg.norm(turn[0])), abs=0.1)
    noise = loo_reprojection_px(pts, w, truth)  # the true rig: measured 3.0-3.4 px, refined 3.8-4.2
    assert res.loo_median_px_before.max() > 15 and (res.loo_median_px_after < noise + 1.0).all(), (
        res.loo_median_px_before,
        res.loo_median_px_after,
        noise,
    )
    with pytest.raises(MovekitError, match="3\\+ cameras"):
        refine_rotations(pts[:2], w[:2], given[:2])
    with pytest.raises(MovekitError, match="weights"):
        refine_rotations(pts, w[:, :10], given)
    far = rotate_cameras(truth, np.deg2rad([[0, 8.0, 0], [0, 0, 0], [0, 0, 0], [0, 0, 0]]))
    with pytest.raises(MovekitError, match="calibrate again"):
        refine_rotations(pts, w, far)


def test_rotation_refinement_of_the_qualisys_rig_holds_on_a_held_out_trial():
    """Fitted on Demo_MultiPerson's man (the reference's own inputs: labels fixed across views,
    disagreeing views unused), applied to Demo_SinglePerson (another recording of the rig, two
    of its videos cropped to 1080 px): every camera turns by under 3 deg (measured 1.3-2.1: the
    fit spreads the correction over the cameras along its near-freedom) and on the held-out trial
    the leave-one-out reprojection of cam01 and cam03, the two cameras whose keypoints lie 20-35 px
    to one side of the others' triangulation, falls from about 30 px (measured 28.2 and 32.5) to
    12.7 and 18.7 px; cam02 and cam04 stay within 1 px or improve (12.3 -> 12.8, 18.7 -> 16.9)."""
    from movekit.analysis.extrinsics import loo_reprojection_px, refine_rotations, rotate_cameras
    from movekit.analysis.triangulation import fix_left_right_swaps

    def inputs(z):
        cams = _cameras(z)
        P, W, _ = fix_left_right_swaps(z["image_px"], np.nan_to_num(z["visibility"]), cams)
        return P, np.where(z["used"][..., None], W, 0.0), cams

    P, W, cams = inputs(_reference("Demo_MultiPerson", "man"))
    res = refine_rotations(P, W, cams)
    assert res.correction_deg.max() < 3.0 and res.correction_deg[2] > 1.0, res.correction_deg
    Ph, Wh, held = inputs(_reference("Demo_SinglePerson", "man"))
    before = loo_reprojection_px(Ph, Wh, held)
    after = loo_reprojection_px(Ph, Wh, rotate_cameras(held, res.rotvec_rad))
    assert before[0] > 25 and before[2] > 25 and after[0] < 16 and after[2] < 22, (before, after)
    assert (after[[1, 3]] < before[[1, 3]] + 1.0).all(), (before, after)


def test_calibrate_refine_command_on_the_qualisys_rig(tmp_path):
    """``movekit calibrate refine``: the four cameras' recorded poses of Demo_SinglePerson (the pose
    model's real keypoints, as movekit capture records them) and the Qualisys calibration give a
    .toml (0600) whose cam01 and cam03, the two cameras 20-35 px off, come within 16 and 22 px of
    the others' triangulation (measured 26.0 -> 10.6 and 29.8 -> 13.0 px from the videos), every
    camera turned by under 3 deg and kept where it was; it refuses fewer than three cameras, a
    source count the calibration does not have, and an existing output."""
    from movekit.capture.pipeline import pose_stream_specs
    from movekit.recording import RecordingWriter

    z = _reference("Demo_SinglePerson", "man")
    recs = []
    for i, name in enumerate(z["camera_names"]):
        rec = tmp_path / f"{name}.mkrec"
        image = np.asarray(z["image_px"][i], np.float32)
        vis = np.nan_to_num(np.asarray(z["visibility"][i], np.float32))
        t = np.arange(len(image)) / 60.0
        with RecordingWriter(rec, {"source": str(name), "camera": {"name": str(name)}}) as w:
            for spec in pose_stream_specs(60.0):
                w.add_stream(spec)
            xyz = np.concatenate([image, np.zeros(image.shape[:-1] + (1,), np.float32)], axis=-1)
            w.append("pose_image_px", t, xyz)
            w.append("pose_world_m", t, np.zeros_like(xyz))
            w.append("pose_visibility", t, vis)
            w.append("pose_presence", t, vis)
        recs.append(str(rec))
    calib = fetch("pose2sim_qca_calibration")
    out = tmp_path / "refined.toml"
    cmd = [sys.executable, "-m", "movekit.cli", "calibrate", "refine", *recs, "--calibration", str(calib)]
    p = subprocess.run([*cmd, "-o", str(out)], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    px = {
        m[0]: (float(m[2]), float(m[3]))
        for m in re.findall(r"(cam\d+): turned ([\d.]+) deg.*? ([\d.]+) -> ([\d.]+) px", p.stdout)
    }
    turned = [float(d) for d in re.findall(r"turned ([\d.]+) deg", p.stdout)]
    assert len(turned) == 4 and max(turned) < 3.0, p.stdout
    assert px["cam01"][0] > 20 and px["cam01"][1] < 16 and px["cam03"][0] > 20 and px["cam03"][1] < 22, p.stdout
    assert (out.stat().st_mode & 0o777) == 0o600
    given, refined = read_calibration(calib), read_calibration(out)
    assert all(np.allclose(a.centre_m, b.centre_m, atol=1e-6) for a, b in zip(given, refined))
    q = subprocess.run([*cmd, "-o", str(out)], capture_output=True, text=True)
    assert q.returncode == 2 and "exists" in q.stderr
    q = subprocess.run(
        [*cmd[:7], "--calibration", str(calib), "-o", str(tmp_path / "x.toml")], capture_output=True, text=True
    )
    assert q.returncode == 2 and "needs three or more cameras" in q.stderr and not (tmp_path / "x.toml").exists()
    # three of the four, in another order: each recording names its camera, so the calibration's
    # cameras are taken by name (not file order), and the refined file keeps the rig's vertical
    some = tmp_path / "some.toml"
    r = subprocess.run([*cmd[:5], recs[3], recs[0], recs[1], "--calibration", str(calib), "-o", str(some)],
                       capture_output=True, text=True)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert [c.name for c in read_calibration(some)] == ["cam04", "cam01", "cam02"]
    assert 'vertical = "qualisys"' in some.read_text()
    by = {c.name: c for c in given}
    assert all(np.allclose(c.centre_m, by[c.name].centre_m, atol=1e-6) for c in read_calibration(some))
    # recordings that do not name their cameras: one per calibration camera, in file order
    plain = tmp_path / "plain.mkrec"
    shutil.copytree(recs[0], plain)
    meta = json.loads((plain / "meta.json").read_text())
    del meta["camera"]
    (plain / "meta.json").write_text(json.dumps(meta))
    r = subprocess.run([*cmd[:5], str(plain), recs[1], recs[2], "--calibration", str(calib), "-o", str(tmp_path / "plain.toml")],
                       capture_output=True, text=True)  # fmt: skip
    assert r.returncode == 2 and "holds 4 cameras for 3 sources" in r.stderr and "--cameras cam01" in r.stderr
