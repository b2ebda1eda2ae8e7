"""Posture snapshot stillness: a known drift speed in torso lengths per second, on both sides
of the limit, and the refusal message."""

from __future__ import annotations

import numpy as np
import pytest

from movekit.analysis.synthetic import figure
from movekit.analysis.view import trunk_length_px
from movekit.assess.posture import (
    STILL_LIMIT_TL_PER_S,
    assess_posture,
    stillest_window,
    window_travel,
)

#: These tests check the logic above the joint angles (reps, phases, scores, offsets) on real and
#: synthetic footage the error model refuses (docs/validity.md), so they run in research mode; the
#: gated default is tested in test_error_model.py and test_angles_cli.py.
pytestmark = pytest.mark.usefixtures("ungated")


FS = 30.0


def _torso_m(pose, px_per_m=400.0):
    return float(np.nanmedian(trunk_length_px(np.asarray(pose.image_px)))) / px_per_m


@pytest.mark.parametrize("view", ["frontal", "sagittal_right"])
def test_drift_speed_in_torso_lengths_and_the_limit(view):
    t = np.arange(0, 3, 1 / FS)
    torso = _torso_m(figure(t, view=view))
    for frac, ok in ((0.6, True), (1.6, False)):
        v = frac * STILL_LIMIT_TL_PER_S * torso  # m/s sideways in the image
        kw = {"pelvis_ml_m": v * t} if view == "frontal" else {"pelvis_ap_m": v * t}
        pose = figure(t, view=view, **kw)
        sp = window_travel(t, pose.image_px, np.ones(t.size, bool))
        assert np.median(sp[np.isfinite(sp)]) == pytest.approx(frac * STILL_LIMIT_TL_PER_S, rel=0.03)
        r = assess_posture(pose)
        assert r.validity["stillness"].ok is ok, r.summary()
        assert r.validity["stillness"].value == pytest.approx(frac * STILL_LIMIT_TL_PER_S, rel=0.05)
        assert r.valid is ok
        if not ok:
            assert "no still standing found" in r.validity["stillness"].message
            assert r.metrics == {}


def test_a_still_second_inside_a_moving_clip_is_found():
    t = np.arange(0, 6, 1 / FS)
    torso = _torso_m(figure(t, view="frontal"))
    # walks sideways at 2 torso lengths/s, stands still 2.0-3.5 s, walks on
    v = 2.0 * torso
    x = v * np.clip(t, None, 2.0) + v * np.clip(t - 3.5, 0.0, None)
    r = assess_posture(figure(t, view="frontal", pelvis_ml_m=x, trunk_lean=4.0))
    assert r.valid, r.summary()
    assert 2.0 <= r.reps[0]["window_start_s"] and r.reps[0]["window_end_s"] <= 3.5
    assert r.validity["stillness"].value < 0.01
    assert r.value("trunk_lateral_lean_deg") == pytest.approx(4.0, abs=0.5)


def test_jitter_is_not_movement_but_a_slow_sway_is_measured():
    """Pose jitter of 1 px (torso ~200 px here) must not read as movement: the range-based speed
    stays far below the limit, while a frame-to-frame speed at 30 fps would not."""
    t = np.arange(0, 5, 1 / FS)
    pose = figure(t, view="frontal")
    rng = np.random.default_rng(0)
    noisy = np.asarray(pose.image_px, dtype=np.float64).copy()
    noisy[..., :2] += rng.normal(0, 1.0, noisy[..., :2].shape)
    torso_px = float(np.nanmedian(trunk_length_px(noisy)))
    mask, sp = stillest_window(t, noisy, np.ones(t.size, bool))
    assert mask.sum() == 30 and sp < 0.5 * STILL_LIMIT_TL_PER_S
    frame_to_frame = np.nanmedian(np.linalg.norm(np.diff(noisy[:, [11, 12], :2], axis=0), axis=2)) * FS / torso_px
    assert frame_to_frame > STILL_LIMIT_TL_PER_S
    assert not np.any(stillest_window(t[:10], noisy[:10], np.ones(10, bool))[0])  # shorter than a second
