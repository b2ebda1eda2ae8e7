"""Centre of mass from de Leva 1996 segment parameters."""

from __future__ import annotations

import numpy as np
import pytest

from movekit.analysis.com import DE_LEVA_1996, SEGMENT_NAMES, center_of_mass, segment_table
from movekit.analysis.synthetic import pose_from_angles


def test_tables_sum_to_body_mass():
    for col in (0, 2):  # female, male mass %
        total = sum(v[col] * (1 if k in ("head", "trunk") else 2) for k, v in DE_LEVA_1996.items())
        assert total == pytest.approx(100.0, abs=0.05)
    for sex in ("female", "male", None):
        m, c = segment_table(sex)
        assert m.sum() == pytest.approx(1.0) and len(m) == len(SEGMENT_NAMES) == 14
    assert segment_table("male")[1][SEGMENT_NAMES.index("left_thigh")] == pytest.approx(0.4095)
    with pytest.raises(ValueError):
        segment_table("other")


def _hand_com(p, sex="male"):
    """Independent whole-body COM: explicit loop over de Leva segments."""
    col = 2 if sex == "male" else 0
    mid = lambda a, b: 0.5 * (p[a] + p[b])  # noqa: E731
    segs = [("head", mid(7, 8), mid(7, 8)), ("trunk", mid(11, 12), mid(23, 24))]
    for o in (0, 1):
        segs += [
            ("upperarm", p[11 + o], p[13 + o]),
            ("forearm", p[13 + o], p[15 + o]),
            ("hand", p[15 + o], mid(17 + o, 19 + o)),
            ("thigh", p[23 + o], p[25 + o]),
            ("shank", p[25 + o], p[27 + o]),
            ("foot", p[29 + o], p[31 + o]),
        ]
    tot, acc = 0.0, 0.0
    for name, a, b in segs:
        m, c = DE_LEVA_1996[name][col], DE_LEVA_1996[name][col + 1] / 100
        acc = acc + m * (a + c * (b - a))
        tot += m
    return acc / tot


def test_com_matches_explicit_sum_2d_and_3d():
    img, world = pose_from_angles(
        3, {"left_hip_flexion_deg": [0, 45, 90], "left_shoulder_flexion_deg": [0, 90, 170]}, yaw_deg=90
    )
    com3 = center_of_mass(world, sex="male")
    com2 = center_of_mass(img[..., :2], sex="male")
    for f in range(3):
        np.testing.assert_allclose(com3[f], _hand_com(world[f]), atol=1e-12)
        np.testing.assert_allclose(com2[f], _hand_com(img[f, :, :2]), atol=1e-9)
    assert com3.shape == (3, 3) and com2.shape == (3, 2)


def test_com_moves_the_right_way():
    """Standing: COM just above the hips; raising both arms overhead lifts it; flexing a hip
    moves it forward (anterior)."""
    _, stand = pose_from_angles(1)
    com = center_of_mass(stand)[0]
    assert -0.15 < com[1] < 0.0  # y down: above the mid-hip origin, by under 15 cm
    _, arms = pose_from_angles(1, {"left_shoulder_flexion_deg": 180, "right_shoulder_flexion_deg": 180})
    assert center_of_mass(arms)[0, 1] < com[1] - 0.03
    _, hip = pose_from_angles(1, {"left_hip_flexion_deg": 90}, yaw_deg=90)  # facing +x
    _, st90 = pose_from_angles(1, yaw_deg=90)
    assert center_of_mass(hip)[0, 0] > center_of_mass(st90)[0, 0] + 0.02


def test_missing_segments_nan_or_renormalised():
    _, w = pose_from_angles(2)
    vis = np.ones((2, 33))
    vis[1, 15] = 0.0  # left wrist unseen in frame 1
    com = center_of_mass(w, visibility=vis)
    assert np.isfinite(com[0]).all() and np.isnan(com[1]).all()
    ren = center_of_mass(w, visibility=vis, missing="renormalise")
    assert np.isfinite(ren).all()
    assert np.linalg.norm(ren[1] - com[0]) < 0.02
    assert center_of_mass(np.zeros((0, 33, 3))).shape == (0, 3)
    assert center_of_mass(w[0]).shape == (1, 3)
