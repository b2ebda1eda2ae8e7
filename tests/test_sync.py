"""Synchronising two cameras: by the movement (uncalibrated) and by the epipolar geometry.

Real data: the pose model's landmarks in the four synchronised 60 fps views of Pose2Sim 0.10.49's
Demo_MultiPerson (the man), cut so that one view starts a known number of frames after the other.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import numpy as np
import pytest

from movekit.analysis.cameras import PinholeCamera
from movekit.analysis.sync import (
    epipolar_distance_px,
    epipolar_offset_s,
    fundamental_matrix,
    keeps_recorded,
    keypoint_speed,
    movement_offset_s,
)
from movekit.errors import MovekitError

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import validate_angles as VA  # noqa: E402


@pytest.fixture(scope="module")
def ref():
    return VA.reference_for_tests()


def _cut(t, pa, pb, frames: int):
    """View B starts ``frames`` later (its own clock from 0 there): the true offset (s) and the cut series."""
    if frames > 0:
        return t[frames], t, pa, t[frames:] - t[frames], pb[frames:]
    return -t[-frames], t[-frames:] - t[-frames], pa[-frames:], t, pb


def _camera(yaw_deg: float, name: str) -> PinholeCamera:
    """A camera 4 m from the origin at ``yaw_deg`` about z, 1.2 m up, looking at (0, 0, 1)."""
    a = np.deg2rad(yaw_deg)
    centre = np.array([4 * np.sin(a), -4 * np.cos(a), 1.2])
    fwd = np.array([0.0, 0.0, 1.0]) - centre
    fwd /= np.linalg.norm(fwd)
    right = np.cross(fwd, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    down = np.cross(fwd, right)
    R = np.stack([right, down, fwd])
    K = np.array([[1400.0, 0, 960], [0, 1400.0, 540], [0, 0, 1]])
    return PinholeCamera(name, 1920, 1080, K, np.zeros(5), R, -R @ centre)


def test_fundamental_matrix_puts_true_matches_on_their_lines():
    a, b = _camera(0, "a"), _camera(80, "b")
    pts = np.random.default_rng(0).uniform([-0.5, -0.5, 0], [0.5, 0.5, 1.8], (200, 3))
    pa, pb = a.project(pts), b.project(pts)
    d = epipolar_distance_px(fundamental_matrix(a, b), pa, pb)
    assert np.max(d) < 1e-6
    wrong = epipolar_distance_px(fundamental_matrix(a, b), pa, np.roll(pb, 1, axis=0))
    assert np.median(wrong) > 20.0


def test_epipolar_offset_recovers_known_starts_on_real_views(ref):
    """Cameras under 120 deg apart (cam03 is across the subject from cam01 and the others see it
    edge-on): a view started 0.25 s late or early is placed within 1.5 frames, residual about the
    model's scatter."""
    t, cams = ref["t_s"], ref["cameras"]
    fs = 1.0 / np.median(np.diff(t))
    pairs = [(0, 1), (0, 3), (1, 3)]
    for (i, j), frames in itertools.product(pairs, (15, -15, 0)):
        true, ta, pa, tb, pb = _cut(t, cams[i]["image_px"], cams[j]["image_px"], frames)
        r = epipolar_offset_s(ta, pa, tb, pb, cams[i]["camera"], cams[j]["camera"], max_lag_s=1.0)
        assert r.method == "epipolar"
        assert abs(r.offset_s - true) * fs <= 1.5, (cams[i]["name"], cams[j]["name"], frames, r)
        assert r.score < 20.0


def test_movement_offset_on_real_views_and_its_refusals(ref):
    """cam01 and cam04 (117 deg apart) agree on the walk; without calibration the movement alone
    places a start 15 frames late or early within 2 frames (measured 1.6 frames off with the
    references built after issue 22's follower changes, under 1.5 before: the pose model's
    sub-pixel changes move the correlation's peak). A view that does not move is refused."""
    t, cams = ref["t_s"], ref["cameras"]
    fs = 1.0 / np.median(np.diff(t))
    for frames in (15, -15):
        true, ta, pa, tb, pb = _cut(t, cams[0]["image_px"], cams[3]["image_px"], frames)
        r = movement_offset_s(ta, keypoint_speed(ta, pa), tb, keypoint_speed(tb, pb), max_lag_s=1.0)
        assert r.method == "movement" and r.score > 0.6
        assert abs(r.offset_s - true) * fs <= 2.0, (frames, r)
    still = np.repeat(cams[0]["image_px"][:1], len(t), axis=0)
    with pytest.raises(MovekitError, match="does not move"):
        movement_offset_s(t, keypoint_speed(t, still), t, keypoint_speed(t, cams[3]["image_px"]))
    with pytest.raises(MovekitError, match="too few frames"):
        movement_offset_s(t[:5], keypoint_speed(t[:5], still[:5]), t, keypoint_speed(t, still))


def test_the_recorded_alignment_is_kept_only_where_the_geometry_cannot_tell(ref):
    """The four views are recorded in sync. cam03's orientation is about 2 deg off and the man
    walks, so the geometry puts cam04 1.5-4 frames from cam03 (a calibration error looks like a
    time shift; 4 frames with the references built before issue 22's follower changes, 1.5
    after), but 0 lies among the offsets it cannot tell apart: every pair keeps its recorded
    alignment. A view that really started 15 frames late is never kept as recorded; its offset
    lies in the plausible range."""
    t, cams = ref["t_s"], ref["cameras"]
    fs = 1.0 / np.median(np.diff(t))
    r = epipolar_offset_s(t, cams[2]["image_px"], t, cams[3]["image_px"], cams[2]["camera"], cams[3]["camera"],
                          max_lag_s=1.0)  # fmt: skip
    assert r.offset_s * fs > 1.0  # the bias the outside check met (+3 frames on its captures)
    lo, hi = r.plausible_s
    assert lo <= 0.0 <= hi and hi - lo < 0.2
    for i, j in itertools.combinations(range(4), 2):
        a, b = cams[i], cams[j]
        r = epipolar_offset_s(t, a["image_px"], t, b["image_px"], a["camera"], b["camera"], max_lag_s=1.0)
        assert keeps_recorded(r, 0.0), (a["name"], b["name"], r)
        for frames in (15, -15):
            true, ta, pa, tb, pb = _cut(t, a["image_px"], b["image_px"], frames)
            r = epipolar_offset_s(ta, pa, tb, pb, a["camera"], b["camera"], max_lag_s=1.0)
            assert not keeps_recorded(r, 0.0), (a["name"], b["name"], frames, r)
            assert r.plausible_s[0] - 1e-9 <= true <= r.plausible_s[1] + 1e-9, (a["name"], b["name"], frames, r)
