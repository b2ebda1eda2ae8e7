"""A pose-driven drill live -> recording -> replay (single-leg balance on a synthetic stick figure)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from movekit.analysis.synthetic import frontal_stick_px
from movekit.cli import main
from movekit.protocols.metrics import foot_lift
from movekit.protocols.runner import load_protocol

#: These tests check the logic above the joint angles (reps, phases, scores, offsets) on real and
#: synthetic footage the error model refuses (docs/validity.md), so they run in research mode; the
#: gated default is tested in test_error_model.py and test_angles_cli.py.
pytestmark = pytest.mark.usefixtures("ungated")


FPS = 30.0


def frame(lift_px: float = 0.0, pelvis_drop_px: float = 0.0) -> np.ndarray:
    """Frontal stick figure facing the camera (subject's left at image right), 300 px legs."""
    return frontal_stick_px(right_leg_lift_px=lift_px, right_hip_drop_px=pelvis_drop_px)


def test_foot_lift_metric():
    d = foot_lift(frame(lift_px=45.0))
    assert d["right_foot_lift_ratio"] == pytest.approx(45.0 / 300.0, rel=1e-6)
    assert d["left_foot_lift_ratio"] == pytest.approx(-45.0 / 300.0, rel=1e-6)


def test_balance_drill_live_then_replay(tmp_path, capsys):
    from movekit.capture.pipeline import pose_stream_specs
    from movekit.protocols.feeder import LiveDrill
    from movekit.recording import RecordingWriter

    p = load_protocol("single_leg_balance")  # stand on the left leg, lift the right foot
    vis = np.ones(33, np.float32)
    rec = tmp_path / "bal.mkrec"
    live = []
    with RecordingWriter(rec, {"video": {"width_px": 640, "height_px": 720}}) as w:
        for spec in pose_stream_specs(FPS):
            w.add_stream(spec)
        s = LiveDrill(p, [], pose=True, writer=w)
        for k in range(int(120 * FPS)):
            t = k / FPS
            lift = 45.0 if 8.0 <= t < 26.0 or 45.0 <= t < 80.0 else 0.0  # 1st attempt 18 s, 2nd completes
            drop = 20.0 if 60.0 <= t < 62.0 else 0.0  # hip drop (22 deg) for 2 s during the 2nd attempt
            img = frame(lift, drop)
            for name, arr in (
                ("pose_image_px", img),
                ("pose_world_m", np.zeros((33, 3), np.float32)),
                ("pose_visibility", vis),
                ("pose_presence", vis),
            ):
                w.append(name, [t], arr[None])
            live += s.push_pose(t, img, vis)
        live += s.close(120.0)
    summaries = [e for e in live if e["kind"] == "set_summary"]
    assert summaries[0]["reason"] == "target lost" and summaries[0]["hold_s"] == pytest.approx(18.0, abs=0.04)
    assert summaries[1]["completed"] and summaries[1]["hold_s"] == pytest.approx(30.0, abs=0.04)
    cues = [(e["t_s"], e["id"]) for e in live if e["kind"] == "cue"]
    ids = [c for _, c in cues]
    assert "ten_seconds" in ids and "pelvis_level" in ids
    pelvis_t = [t for t, c in cues if c == "pelvis_level"][0]
    assert 60.5 <= pelvis_t <= 60.7  # 0.5 s minimum duration after the drop at 60 s, plus the causal low-pass
    log = tmp_path / "replay.jsonl"
    assert main(["drill", "single_leg_balance", str(rec), "--log", str(log), "--quiet"]) == 0
    assert "replay reproduces all" in capsys.readouterr().err
    replayed = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(e["t_s"], e["id"]) for e in replayed if e["kind"] == "cue"] == cues


def test_foot_lift_follows_the_relabelled_sides():
    """The pose model swaps the legs' left and right for 1 s while the right foot stays up (as in
    pose2sim_single_cam02 at 1.18 s): the foot lift is read from the legs as the angle pipeline
    relabels them, so the raised foot stays the right one (the raw labels had ended the attempt)."""
    from movekit.analysis.pipeline import relabel_sides
    from movekit.protocols.metrics import PoseMetrics

    vis = np.ones(33, np.float32)
    pm = PoseMetrics((640, 720))
    got, raw = [], []
    for k in range(120):
        img = frame(lift_px=45.0)
        if 40 <= k < 70:
            img = relabel_sides(img, [False, True])  # the model's swap
        got.append(pm.process(k / FPS, img, vis)["right_foot_lift_ratio"])
        raw.append(foot_lift(img)["right_foot_lift_ratio"])
    assert sum(r < 0 for r in raw) == 30  # the raw labels say the left foot is up for 1 s
    np.testing.assert_allclose(got, 45.0 / 300.0, rtol=1e-6)
