"""Calibration profiles given to capture: stored in the metadata, applied to the live angles, replayed."""

from __future__ import annotations

import numpy as np
import pytest
from run_cli import movekit

from movekit.calibration import CameraProfile, StaticProfile, save_profile
from movekit.capture.pipeline import capture
from movekit.capture.replay import replay_pose
from movekit.errors import MovekitError
from movekit.live import LIVE_STREAM
from movekit.recording import open_recording

#: These tests check the logic above the joint angles (reps, phases, scores, offsets) on real and
#: synthetic footage the error model refuses (docs/validity.md), so they run in research mode; the
#: gated default is tested in test_error_model.py and test_angles_cli.py.
pytestmark = pytest.mark.usefixtures("ungated")


def _camera(tmp_path, width, height, k1):
    f = 1500.0
    return save_profile(
        CameraProfile(
            "cam",
            width,
            height,
            [[f, 0, width / 2], [0, f, height / 2], [0, 0, 1]],
            [k1, 0.0, 0.0, 0.0, 0.0],
            0.2,
            12,
            (9, 6),
            25.0,
        ),
        tmp_path,
    )


def test_static_offsets_and_camera_profile_applied_to_live_angles(demo_clip, tmp_path):
    static = save_profile(
        StaticProfile("still", {"right_knee_flexion_deg": 5.0, "trunk_inclination_deg": -2.0}, {}, "frontal", 60),
        tmp_path,
    )
    plain = tmp_path / "plain.mkrec"
    capture(demo_clip, plain, duration_s=1.0, keys=False)
    calibrated = tmp_path / "cal.mkrec"
    capture(demo_clip, calibrated, duration_s=1.0, keys=False, static_profile=static)
    a, b = open_recording(plain), open_recording(calibrated)
    names = [c + "_deg" for c in a.streams[LIVE_STREAM].spec.channel_names]
    knee, trunk = names.index("right_knee_flexion_deg"), names.index("trunk_inclination_deg")
    x, y = a.streams[LIVE_STREAM].data, b.streams[LIVE_STREAM].data
    ok = np.isfinite(x[:, knee])
    assert ok.sum() > 5  # 1 s of a person found late; the first 0.1 s after a gap are withheld
    np.testing.assert_allclose(x[ok, knee] - y[ok, knee], 5.0, atol=1e-4)
    ok = np.isfinite(x[:, trunk])
    np.testing.assert_allclose(x[ok, trunk] - y[ok, trunk], -2.0, atol=1e-4)
    np.testing.assert_array_equal(a.pose().image_px, b.pose().image_px)  # landmarks stay raw
    assert b.metadata["calibration"]["static"]["offsets_deg"]["right_knee_flexion_deg"] == 5.0
    assert replay_pose(b).identical is True

    lens = tmp_path / "lens.mkrec"
    capture(demo_clip, lens, duration_s=1.0, keys=False, camera_profile=_camera(tmp_path, 1768, 994, -0.3))
    c = open_recording(lens)
    assert c.metadata["calibration"]["camera"]["dist_coeffs"][0] == -0.3
    z = c.streams[LIVE_STREAM].data
    both = np.isfinite(x) & np.isfinite(z)
    assert np.abs(x[both] - z[both]).max() > 0.05  # the lens model changed the angles
    assert replay_pose(c).identical is True


def test_camera_profile_for_another_resolution_is_refused(demo_clip, tmp_path):
    with pytest.raises(MovekitError, match="is for 1280x720, the source is 1768x994"):
        capture(demo_clip, tmp_path / "x.mkrec", keys=False, camera_profile=_camera(tmp_path, 1280, 720, 0.0))
    assert not (tmp_path / "x.mkrec").exists()
    with pytest.raises(MovekitError, match="not found"):
        capture(demo_clip, tmp_path / "y.mkrec", keys=False, static_profile="no-such-profile")


def test_angles_command_applies_the_calibration_stored_in_the_recording(demo_clip, tmp_path):
    import csv

    static = save_profile(StaticProfile("still", {"right_knee_flexion_deg": 5.0}, {}, "frontal", 60), tmp_path)
    plain, cal = tmp_path / "plain.mkrec", tmp_path / "cal.mkrec"
    capture(demo_clip, plain, duration_s=2.0, keys=False)
    capture(demo_clip, cal, duration_s=2.0, keys=False, static_profile=static)

    def knee(rec):
        out = tmp_path / f"{rec.stem}.csv"
        p = movekit("angles", rec, "-o", out, "--keep-invalid")
        assert p.returncode == 0, p.stderr
        return p.stderr, np.array([float(r["right_knee_flexion_deg"]) for r in csv.DictReader(open(out))])

    _, a = knee(plain)
    note, b = knee(cal)
    assert "static-pose offsets stored in the recording (still)" in note
    ok = np.isfinite(a) & np.isfinite(b)
    assert ok.sum() > 20
    np.testing.assert_allclose(a[ok] - b[ok], 5.0, atol=2e-3)  # CSV values have 3 decimals
