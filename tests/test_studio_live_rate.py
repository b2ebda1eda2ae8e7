"""The studio's camera rate (``movekit studio --camera-fps``): a 60-fps camera analysed at 30 is
a capture that keeps up, so the page is not throttled; drops late still throttle it."""

from __future__ import annotations

import argparse

import pytest

from movekit.errors import MovekitError


def _feed(rate, seconds: float, fps: float, keep_every: int, start_index: int = 0, start_s: float = 0.0) -> int:
    """A ``fps`` camera whose frames the rate limit thins to every ``keep_every``-th; frames offered."""
    offered = 0
    for k in range(0, round(seconds * fps), keep_every):
        skipped = (start_index + k) - (start_index + k) // keep_every  # frames skipped before this one
        offered += rate.frame(start_index + k, start_s + k / fps, skipped)
    return offered


def test_frames_skipped_by_the_rate_limit_do_not_throttle_the_page():
    from movekit.studio.live import PAGE_MAX_FPS, PageRate

    rate = PageRate()
    offered = _feed(rate, 5.0, 60, 2)  # a 60-fps camera analysed at 30: every analysed frame shown
    assert not rate.limited and rate.limit_fps == PAGE_MAX_FPS
    assert rate.capture_fps == pytest.approx(30.0) and offered == 150


def test_frames_dropped_late_under_a_rate_limit_still_throttle_the_page():
    from movekit.studio.live import PAGE_MAX_FPS, PAGE_RATE_DECREASE, PageRate

    rate = PageRate()
    offered = 0
    for k in range(0, 120, 2):  # 2 s of a 60-fps camera thinned to 30; every third kept frame late
        if (k // 2) % 3 == 2:
            continue
        offered += rate.frame(k, k / 60, k // 2)
    assert rate.limited and rate.limit_fps == pytest.approx(20.0 * PAGE_RATE_DECREASE, abs=1.0)
    assert rate.limit_fps < PAGE_MAX_FPS and offered < 40


def test_studio_analyses_at_30_by_default_and_serve_refuses_a_bad_rate(tmp_path):
    from movekit.studio import serve
    from movekit.studio.app import StudioConfig
    from movekit.studio.live import STUDIO_CAMERA_FPS, LiveOptions

    assert STUDIO_CAMERA_FPS == 30.0 and LiveOptions("painful-arc", "C1", 1, ["0"]).max_fps == 30.0
    assert StudioConfig(None, ["0"], tmp_path).camera_fps == 30.0
    for bad in (-1, float("nan"), "30"):
        with pytest.raises(MovekitError, match="maximum frame rate"):
            serve(sources=["0"], recordings_dir=tmp_path / "rec", camera_fps=bad, open_browser=False)
    assert not (tmp_path / "rec").exists()  # refused before anything was created


def test_studio_command_takes_camera_fps():
    from movekit.commands import studio

    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    studio.register(sub)
    assert parser.parse_args(["studio"]).camera_fps == 30.0
    assert parser.parse_args(["studio", "--camera-fps", "0"]).camera_fps == 0.0
    assert parser.parse_args(["studio", "--camera-fps", "24"]).camera_fps == 24.0
    for bad in ("-5", "nan", "fast"):
        with pytest.raises(SystemExit):
            parser.parse_args(["studio", "--camera-fps", bad])


def test_studio_sink_says_the_camera_and_the_analysed_rate(tmp_path):
    """The page is told the camera's own rate (``camera_fps``, as before) and the rate it is
    analysed at (``analysed_fps``)."""
    from types import SimpleNamespace

    from movekit.studio.live import StudioSink

    class Live:
        page_rate = SimpleNamespace(restart=lambda: None)

    sink = StudioSink(Live())
    run = SimpleNamespace(
        calibration={}, src=SimpleNamespace(width_px=1080, height_px=1920, fps=60.0, analysed_fps=30.0)
    )
    sink.open(run)
    assert sink._camera_fps == 60.0 and sink._analysed_fps == 30.0


def test_live_screen_captures_at_the_studio_rate(monkeypatch, tmp_path):
    """The live screen's capture is built with the studio's rate (real time, late frames dropped)."""
    from movekit.capture import pipeline
    from movekit.studio.live import Hub, LiveOptions, LiveScreen

    seen = []

    class FakeRun:
        def __init__(self, source, out, opts, sinks, backend=None):
            seen.append(opts)
            self.summary, self.calibration = "summary", {}

        def run(self):
            return self.summary

    monkeypatch.setattr(pipeline, "CaptureRun", FakeRun)
    screen = LiveScreen(LiveOptions("painful-arc", "C1", 1, [str(tmp_path / "clip.mp4")], max_fps=24.0), Hub())
    assert screen._capture(None, backend=None) == "summary"
    assert seen[0].max_fps == 24.0 and seen[0].realtime and seen[0].drop_late
