"""The maximum analysis rate (``max_fps``): a real 60-fps video analysed at 30 frames/s.

Real data: Pose2Sim's cam02 clip (1080x1920, 60 fps, 100 frames), fetched by pinned version.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from movekit.capture.frames import FrameSource, check_max_fps, frame_step, kept_fps
from movekit.errors import MovekitError


@pytest.fixture(scope="module")
def cam02():
    from movekit.datasets import fetch

    return fetch("pose2sim_single_cam02")


def _times(path, **kw) -> tuple[np.ndarray, FrameSource, list]:
    with FrameSource(path, **kw) as src:
        frames = list(src)
    return np.array([f.t_s for f in frames]), src, frames


def test_60_fps_video_under_30_gives_every_second_frame_evenly(cam02):
    t, src, frames = _times(cam02, max_fps=30)
    assert src.fps == pytest.approx(60.0)
    assert src.analysed_fps == pytest.approx(30.0)
    assert len(frames) == 50 and src.skipped == 50 and src.dropped == 0
    assert [f.index for f in frames[:4]] == [0, 2, 4, 6]
    assert frames[-1].rate_skipped == 49  # frame 98 kept, 99 skipped after it
    assert np.diff(t) == pytest.approx(np.full(49, 1 / 30), abs=1e-6)  # evenly spaced, 30 frames/s
    assert src.skipped_total(ended=True) == 50
    assert src.describe()["analysed_fps"] == pytest.approx(30.0)


def test_no_limit_keeps_every_frame_and_never_exceeds_max(cam02):
    t, src, frames = _times(cam02)
    assert len(frames) == 100 and src.skipped == 0 and src.analysed_fps == pytest.approx(60.0)
    t25, src25, _ = _times(cam02, max_fps=25)  # never above the limit: every third frame, 20/s
    assert src25.analysed_fps == pytest.approx(20.0) and len(t25) == 34 and src25.skipped == 66
    assert 1 / np.diff(t25).max() <= 25
    _, src60, f60 = _times(cam02, max_fps=60)  # the source's own rate: nothing skipped
    assert len(f60) == 100 and src60.skipped == 0


def test_realtime_under_30_paces_the_kept_frames(cam02):
    t, src, frames = _times(cam02, max_fps=30, realtime=True, drop_late=True)
    assert len(frames) + src.dropped == 50 and src.skipped == 50
    assert src.dropped <= 2  # nothing else runs here: the consumer keeps up
    assert (t[-1] - t[0]) == pytest.approx(98 / 60, abs=1e-6)


def test_frame_step_and_kept_rate():
    assert frame_step(1 / 60, 30) == 2 and frame_step(1 / 60, 25) == 3 and frame_step(1 / 30, 30) == 1
    assert frame_step(1 / 29.97, 30) == 1 and frame_step(None, 30) == 1
    assert kept_fps(60.0, 30.0) == pytest.approx(30.0) and kept_fps(60.0, None) == 60.0
    assert kept_fps(float("nan"), 30.0) == 30.0


@pytest.mark.parametrize("bad", [-1, -0.5, float("nan"), float("inf"), "30", "fast", True, [30]])
def test_bad_max_fps_is_a_clear_error(bad, cam02):
    with pytest.raises(MovekitError, match="maximum frame rate"):
        check_max_fps(bad)
    with pytest.raises(MovekitError, match="maximum frame rate"):
        FrameSource(cam02, max_fps=bad)


def test_zero_and_none_mean_no_limit():
    assert check_max_fps(0) is None and check_max_fps(None) is None and check_max_fps(np.float32(30)) == 30.0


def test_capture_under_30_records_the_rates_and_replays_bit_identically(cam02, tmp_path):
    from movekit.capture.pipeline import capture
    from movekit.capture.replay import replay_pose
    from movekit.live import LIVE_STREAM
    from movekit.recording import open_recording
    from movekit.summary import summarise

    out = tmp_path / "cam02_30.mkrec"
    summary = capture(cam02, out, keys=False, max_fps=30, tilt="unknown")
    assert summary.frames == 50 and summary.skipped == 50 and summary.dropped == 0
    assert "50 frames skipped by the rate limit" in summary.text()
    # every sixth frame (10/s): the three the limit skips after the last kept one are frames read,
    # not a video that "ended early" (a sound file was reported as truncated or damaged)
    ten = capture(cam02, tmp_path / "cam02_10.mkrec", keys=False, max_fps=10, tilt="unknown")
    assert ten.frames == 17 and ten.skipped == 83
    assert not [n for n in ten.notices if "ended early" in n], ten.notices
    assert "source_ended_early" not in [e["kind"] for e in open_recording(tmp_path / "cam02_10.mkrec").events]
    rec = open_recording(out)
    rate = rec.metadata["frame_rate"]
    assert rate == {
        "source_fps": 60.0,
        "max_fps": 30.0,
        "analysed_fps": 30.0,
        "frames_skipped_rate_limit": 50,
        "frames_dropped_late": 0,
    }
    assert rec.metadata["source"]["analysed_fps"] == pytest.approx(30.0)
    assert not [e for e in rec.events if e["kind"] == "frames_dropped"]  # skipped is not dropped
    pose = rec.pose()
    assert len(pose) == 50 and np.diff(pose.t_s) == pytest.approx(np.full(49, 1 / 30), abs=1e-6)
    s = summarise(rec)
    assert s["frames_dropped"] == 0
    assert s["streams"]["pose_image_px"]["nominal_rate_hz"] == pytest.approx(30.0)
    assert rec.streams[LIVE_STREAM].spec.attrs["fs_hz"] == pytest.approx(30.0)  # filters for 30/s
    assert replay_pose(rec).identical is True
    info = subprocess.run(
        [sys.executable, "-m", "movekit.cli", "info", str(out)], capture_output=True, text=True, check=True
    ).stdout
    assert "analysed at 30 of the source's 60 frames/s" in info and "50 skipped by the rate limit" in info
    as_json = json.loads(
        subprocess.run(
            [sys.executable, "-m", "movekit.cli", "info", "--json", str(out)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    assert as_json["frame_rate"]["frames_skipped_rate_limit"] == 50
    assert math.isclose(as_json["frame_rate"]["analysed_fps"], 30.0)


class _FakeCamera:
    """Stands in for the device below OpenCV's VideoCapture: 60 frames at 60 fps (+-2 ms jitter),
    ignoring the rate it is asked for (as many webcams do)."""

    asked: list = []

    def __init__(self, index):
        self.n, self.t0 = 0, None
        self.rng = np.random.default_rng(7)

    def isOpened(self):
        return True

    def set(self, prop, value):
        import cv2

        if prop == cv2.CAP_PROP_FPS:
            _FakeCamera.asked.append(value)
        return False

    def grab(self):
        import time

        if self.n >= 60:
            return False
        self.t0 = self.t0 or time.perf_counter()
        due = self.t0 + self.n / 60 + self.rng.uniform(-0.002, 0.002)
        time.sleep(max(0.0, due - time.perf_counter()))
        self.n += 1
        return True

    def retrieve(self):
        return True, np.zeros((48, 64, 3), np.uint8)

    def read(self):
        return self.retrieve() if self.grab() else (False, None)

    def get(self, prop):
        import cv2

        return {cv2.CAP_PROP_FRAME_WIDTH: 64, cv2.CAP_PROP_FRAME_HEIGHT: 48, cv2.CAP_PROP_FPS: 60.0}.get(prop, 0.0)

    def release(self):
        pass


def test_a_60_fps_webcam_is_asked_for_30_and_thinned_by_timestamp(monkeypatch):
    """The logic above the device: a camera that delivers 60 frames/s when asked for 30 is thinned
    to about every second frame, with jitter; the skipped frames are not counted as dropped."""
    import cv2

    monkeypatch.setattr(cv2, "VideoCapture", _FakeCamera)
    _FakeCamera.asked = []
    with FrameSource(0, max_fps=30) as src:
        frames = list(src)
    assert _FakeCamera.asked == [30.0] and src.analysed_fps == pytest.approx(30.0)
    t = np.array([f.t_s for f in frames])
    assert 27 <= len(frames) + src.dropped <= 31  # a busy machine may delay a frame, not skip more
    assert len(frames) + src.dropped + src.skipped == 60
    steps = np.diff([f.index for f in frames])
    assert np.mean(steps == 2) >= 0.8  # every second frame of the camera's
    assert np.median(np.diff(t)) == pytest.approx(1 / 30, abs=0.006)


def test_a_capture_from_a_60_fps_webcam_under_30_says_what_the_camera_delivered(monkeypatch, tmp_path):
    import cv2

    from movekit.capture.pipeline import capture
    from movekit.capture.pose import PoseEstimate
    from movekit.recording import open_recording

    class NoModel:
        def process(self, image, image_rgb=None):
            return PoseEstimate.missing()

        def settings(self):
            return {"backend": "no model (test)"}

        def close(self):
            pass

    monkeypatch.setattr(cv2, "VideoCapture", _FakeCamera)
    s = capture(0, tmp_path / "cam.mkrec", backend=NoModel(), keys=False, max_fps=30)
    rate = open_recording(tmp_path / "cam.mkrec").metadata["frame_rate"]
    assert rate["max_fps"] == 30.0 and rate["frames_skipped_rate_limit"] == s.skipped >= 25
    assert rate["frames_dropped_late"] == s.dropped and s.frames + s.skipped + s.dropped <= 60
    assert rate["source_fps_measured"] == pytest.approx(60.0, rel=0.1)


def test_info_rate_line_says_unknown_and_survives_garbage():
    from movekit.commands.info import rate_line

    assert rate_line(None) is None and rate_line("30 fps") is None and rate_line({}) is None
    line = rate_line({"source_fps": None, "max_fps": None, "analysed_fps": None, "frames_dropped_late": 3})
    assert "analysed at ? of the source's ? frames/s (no limit)" in line and "3 dropped late" in line
    assert "analysed at ? of the source's ? frames/s" in rate_line({"source_fps": "sixty", "max_fps": True})


def test_studio_style_capture_keeps_skipped_and_late_apart(cam02, tmp_path):
    """As the studio runs it (real time, late frames dropped, 30 frames/s): the real model on the
    real 60-fps clip; whatever this machine's load, the 50 skipped frames are never counted as
    dropped, and every drop late is an event."""
    from movekit.capture.pipeline import capture
    from movekit.recording import open_recording

    out = tmp_path / "studio.mkrec"
    s = capture(cam02, out, keys=False, max_fps=30, realtime=True, drop_late=True, tilt="unknown")
    rec = open_recording(out)
    assert s.skipped == 50 and s.frames + s.dropped == 50
    assert sum(e["count"] for e in rec.events if e["kind"] == "frames_dropped") == s.dropped
    assert rec.metadata["frame_rate"]["frames_skipped_rate_limit"] == 50
    assert rec.metadata["frame_rate"]["frames_dropped_late"] == s.dropped == rec.metadata["frames_dropped"]
    assert np.all(np.diff(rec.pose().t_s) >= 1 / 30 - 1e-6)  # kept frames: at least a 30-fps step apart


def test_capture_command_takes_max_fps_and_keeps_every_frame_by_default():
    import argparse

    from movekit.commands import capture as command

    parser = argparse.ArgumentParser()
    command.register(parser.add_subparsers())
    assert parser.parse_args(["capture", "clip.mp4", "-o", "r.mkrec"]).max_fps is None
    assert parser.parse_args(["capture", "clip.mp4", "-o", "r.mkrec", "--max-fps", "30"]).max_fps == 30.0
    for bad in ("-1", "nan", "thirty"):
        with pytest.raises(SystemExit):
            parser.parse_args(["capture", "clip.mp4", "-o", "r.mkrec", "--max-fps", bad])
