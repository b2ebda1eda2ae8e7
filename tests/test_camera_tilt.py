"""Camera tilt: the level correction is exact for a rotated pinhole camera, a board on the floor
gives the tilt back, and a standing trial gives the roll."""

from __future__ import annotations

import numpy as np
import pytest

from movekit.analysis import camera_tilt as ct
from movekit.errors import MovekitError

W, H = 1280, 720
K = ct.camera_matrix((W, H))
# level camera looking along world +y (z up): rows are its x (right), y (down), z (forward) axes
R_LEVEL = np.array([[1.0, 0, 0], [0, 0, -1.0], [0, 1.0, 0]])


def camera(pitch, roll):
    """World -> camera rotation of a camera at the given tilt (same heading as R_LEVEL)."""
    return ct.level_rotation(pitch, roll).T @ R_LEVEL


def project(points_w, R, t):
    import cv2

    rvec, _ = cv2.Rodrigues(R)
    img, _ = cv2.projectPoints(points_w.reshape(-1, 1, 3), rvec, t, K, None)
    return img.reshape(points_w.shape[:-1] + (2,))


def test_up_vector_and_tilt_round_trip():
    for pitch, roll in [(0, 0), (20, 0), (0, 15), (25, -20), (-10, 8)]:
        R = camera(pitch, roll)
        up = R @ np.array([0, 0, 1.0])
        assert np.allclose(up, ct.up_in_camera(pitch, roll), atol=1e-12)
        assert np.allclose(ct.tilt_of_up(up), (pitch, roll), atol=1e-9)
    # pitch +: looking down, the world's up has a component toward the camera (z < 0)
    assert ct.up_in_camera(20, 0)[2] < 0
    # roll +: clockwise seen from behind, the world's up turns to the image left (x < 0)
    assert ct.up_in_camera(0, 10)[0] < 0


def test_levelling_is_exact_for_a_rotated_camera():
    rng = np.random.default_rng(1)
    pts = rng.uniform([-0.8, 2.5, 0.0], [0.8, 3.5, 1.8], size=(40, 33, 3))  # a person-sized cloud
    centre = np.array([0.2, 0.0, 1.4])  # camera 1.4 m up
    for pitch, roll in [(20, 0), (0, 24), (25, -15), (-8, 5)]:
        R = camera(pitch, roll)
        seen = project(pts, R, -R @ centre)
        level = project(pts, R_LEVEL, -R_LEVEL @ centre)
        fixed = ct.level_image_points(seen, ct.tilt_from_reading(pitch, roll), (W, H), K)
        assert np.abs(fixed - level).max() < 1e-6
        assert np.abs(seen - level).max() > 20  # the tilt did move the points


def test_level_world_points_restore_the_vertical():
    R = camera(22, -12)
    v = np.array([[[0, 0, 1.0]] * 33])  # a vertical unit vector per landmark (world)
    cam = v @ R.T
    mp = cam  # MediaPipe world axes are the camera's: x right, y down, z away
    lev = ct.level_world_points(mp, ct.tilt_from_reading(22, -12))
    assert np.allclose(lev[0, 0], [0, -1, 0], atol=1e-12)


def test_board_on_the_floor_gives_the_tilt():
    import cv2

    cols, rows, sq = 9, 6, 0.06
    # render a checkerboard lying on the floor 2.2 m ahead of a camera 1.2 m up
    pitch, roll = 24.0, -7.0
    R = camera(pitch, roll)
    centre = np.array([0.0, 0.0, 1.2])
    t = -R @ centre
    board_px = 40
    board = np.full(((rows + 1) * board_px + 2 * board_px, (cols + 1) * board_px + 2 * board_px), 255, np.uint8)
    for i in range(rows + 1):
        for j in range(cols + 1):
            if (i + j) % 2 == 0:
                y0, x0 = board_px * (i + 1), board_px * (j + 1)
                board[y0 : y0 + board_px, x0 : x0 + board_px] = 0
    # board pixel (u, v) -> floor point: origin at the first inner corner
    origin = np.array([-0.25, 2.2, 0.0])

    def floor(u, v):
        return origin + np.array([(u - 2 * board_px) / board_px * sq, (v - 2 * board_px) / board_px * sq, 0.0])

    src = np.array([[0, 0], [board.shape[1], 0], [board.shape[1], board.shape[0]], [0, board.shape[0]]], np.float64)
    dst = project(np.array([floor(u, v) for u, v in src]), R, t)
    Hm = cv2.getPerspectiveTransform(src.astype(np.float32), dst.astype(np.float32))
    img = cv2.warpPerspective(board, Hm, (W, H), borderValue=255)
    found, corners = cv2.findChessboardCorners(img, (cols, rows))
    assert found
    corners = cv2.cornerSubPix(
        img, corners, (5, 5), (-1, -1), (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 50, 1e-4)
    )
    tilt = ct.tilt_from_board(corners, (cols, rows), sq * 1000, K)
    assert tilt.pitch_deg == pytest.approx(pitch, abs=0.5)
    assert tilt.roll_deg == pytest.approx(roll, abs=0.5)


def _standing(n=30, roll=0.0, sway=0.0, seed=0):
    """Image landmarks of an upright figure seen by a camera rolled by ``roll`` deg."""
    rng = np.random.default_rng(seed)
    p = np.full((n, 33, 2), np.nan)
    base = {11: (-20, -170), 12: (20, -170), 23: (-15, -90), 24: (15, -90), 27: (-15, 0), 28: (15, 0)}
    a = np.deg2rad(-roll)  # the world turns anticlockwise in the image for a clockwise roll
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    for k, (x, y) in base.items():
        p[:, k] = (
            (rot @ np.array([x, y]))
            + (640, 600)
            + rng.normal(0, 0.5, (n, 2))
            + sway * np.sin(np.linspace(0, 6, n))[:, None]
        )
    return p


def test_roll_from_stance():
    for roll in (-15.0, 0.0, 8.0):
        tilt = ct.roll_from_stance(_standing(roll=roll))
        assert tilt.roll_deg == pytest.approx(roll, abs=0.7)
        assert tilt.pitch_deg is None and tilt.residual_pitch_deg is None
    with pytest.raises(MovekitError, match="moved"):
        ct.roll_from_stance(_standing(sway=40.0))
    with pytest.raises(MovekitError, match="upright"):
        ct.roll_from_stance(_standing(roll=50.0))


def test_parse_and_bad_values():
    t = ct.parse_tilt("12,-3")
    assert (t.pitch_deg, t.roll_deg, t.uncertainty_deg) == (12.0, -3.0, ct.READING_UNCERTAINTY_DEG)
    assert ct.parse_tilt("level").pitch_deg == 0.0
    for bad in ("12", "a,b", "nan,0", "0,90", ""):
        with pytest.raises(MovekitError):
            ct.parse_tilt(bad)
    with pytest.raises(MovekitError):
        ct.CameraTilt.from_dict({"pitch_deg": 3})
    d = ct.parse_tilt("5,1").to_dict()
    assert ct.CameraTilt.from_dict(d) == ct.parse_tilt("5,1")


def _scene_segments(pitch, roll, seed=0):
    """Image segments of a synthetic room seen by a tilted camera: 30 vertical edges (door frames,
    cupboards, some out of frame) and 20 horizontal distractors (floor and table edges)."""
    rng = np.random.default_rng(seed)
    R = camera(pitch, roll)
    centre = np.array([0.0, 0.0, 1.3])
    t = -R @ centre
    segs = []
    for _ in range(30):
        x, y = rng.uniform(-2.0, 2.0), rng.uniform(3.0, 6.0)
        z0, z1 = sorted(rng.uniform(0.0, 2.4, 2))
        if z1 - z0 < 0.8:
            z1 = z0 + 0.8
        segs.append(project(np.array([[x, y, z0], [x, y, z1]]), R, t).ravel())
    for _ in range(20):
        p0 = np.array([rng.uniform(-2, 2), rng.uniform(2.5, 6), rng.uniform(0, 1.2)])
        d = rng.normal(size=3)
        d[2] = 0
        segs.append(project(np.array([p0, p0 + 0.9 * d / np.linalg.norm(d)]), R, t).ravel())
    import cv2

    out = []
    for x1, y1, x2, y2 in segs:  # the part of each edge inside the frame
        ok, a, b = cv2.clipLine((0, 0, W - 1, H - 1), (int(x1), int(y1)), (int(x2), int(y2)))
        if ok and np.hypot(b[0] - a[0], b[1] - a[1]) > 60:
            out.append([*a, *b])
    return np.array(out, dtype=np.float64)


def test_tilt_from_scene_verticals():
    import cv2

    for pitch, roll in [(0, 0), (20, 0), (18, 24), (25, -12)]:
        seg = _scene_segments(pitch, roll)
        t = ct.tilt_from_verticals(seg + np.random.default_rng(1).normal(0, 0.3, seg.shape), (W, H), K)
        assert t.pitch_deg == pytest.approx(pitch, abs=0.7) and t.roll_deg == pytest.approx(roll, abs=0.7)
        # drawn and found again by the line detector
        img = np.full((H, W), 200, np.uint8)
        for x1, y1, x2, y2 in seg:
            cv2.line(img, (int(x1), int(y1)), (int(x2), int(y2)), 30, 3, cv2.LINE_AA)
        t2 = ct.tilt_from_verticals(ct.line_segments(img), (W, H), K)
        assert t2.pitch_deg == pytest.approx(pitch, abs=1.0) and t2.roll_deg == pytest.approx(roll, abs=1.0)
    with pytest.raises(MovekitError, match="vertical edges"):
        ct.tilt_from_verticals(np.array([[0, 0, 10, 0.0]] * 20), (W, H), K)


def test_tilt_profile_round_trip_and_clear_errors(tmp_path):
    from movekit.calibration import TiltProfile, load_tilt, save_profile

    save_profile(TiltProfile.of("room2", ct.parse_tilt("14,-2")), tmp_path)
    t = load_tilt("room2", tmp_path)
    assert (t.pitch_deg, t.roll_deg) == (14.0, -2.0)
    assert load_tilt("level").pitch_deg == 0.0 and load_tilt("3,4").roll_deg == 4.0
    with pytest.raises(MovekitError, match="give PITCH,ROLL"):
        load_tilt("nosuchprofile", tmp_path)
    (tmp_path / "bad.tilt.json").write_text('{"kind": "tilt", "pitch_deg": "x"}')
    with pytest.raises(MovekitError, match="malformed"):
        load_tilt("bad", tmp_path)
