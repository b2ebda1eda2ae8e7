"""Camera + BLE in one recording on one session clock, through the real bleak stack."""

from __future__ import annotations

import numpy as np
import pytest

from movekit.capture.ble import transport as tr
from movekit.capture.ble.mock_bluez import PrivateSystemBus, mock_in_thread
from movekit.capture.ble.simulate import SimulatedWitMotion
from movekit.capture.pipeline import capture
from movekit.capture.replay import iter_samples
from movekit.errors import MovekitError
from movekit.recording import open_recording

FAST = dict(policy=tr.ReconnectPolicy(initial_s=0.05, factor=2.0, max_s=0.4), scan_timeout_s=1.0, connect_timeout_s=1.0)


@pytest.fixture
def simulated_imu():
    """A private bus with a mock BlueZ serving one simulated WitMotion IMU (in its own thread)."""
    n = 2000
    k = np.arange(n)
    angles = np.column_stack([40 * np.sin(k / 50), np.zeros(n), np.zeros(n)])
    wit = SimulatedWitMotion("C0:FF:EE:00:00:07", np.tile([0, 0, 1.0], (n, 1)), np.zeros((n, 3)), angles, 100.0)
    with PrivateSystemBus(set_env=True), mock_in_thread([wit]):
        yield wit


def test_capture_records_camera_and_imu_on_one_clock(simulated_imu, demo_clip, tmp_path):
    out = tmp_path / "both.mkrec"
    s = capture(
        demo_clip,
        out,
        duration_s=2.0,
        keys=False,
        ble=[f"{simulated_imu.address}:witmotion@thigh,rate=100"],
        ble_options=FAST,
    )
    rec = open_recording(out)
    pose = rec.pose()
    angle = rec.streams["thigh_angle"]
    assert angle.spec.unit == "deg" and angle.spec.attrs["profile"] == "witmotion"
    # the video was paced in real time: its 60 frames span 2 s of session time and the IMU's
    # 100 Hz samples cover the same span (they start before the first frame and end after the last)
    assert len(pose) == 60
    assert pose.t_s[-1] - pose.t_s[0] == pytest.approx(59 / 30, abs=0.02)
    assert angle.t_s[0] <= pose.t_s[0] + 0.2 and angle.t_s[-1] >= pose.t_s[-1] - 0.2
    during = (angle.t_s >= pose.t_s[0]) & (angle.t_s <= pose.t_s[-1])
    assert 170 <= during.sum() <= 215
    assert np.all(np.diff(angle.t_s) > 0)
    assert np.isclose(np.median(np.diff(angle.t_s)), 0.01, rtol=0.1)
    kinds = [e["kind"] for e in rec.events]
    assert "device_connected" in kinds and "device_stopped" in kinds
    # replay merges camera and device samples in session-time order
    names = [n for n, _, _ in iter_samples(rec, streams=("pose_image_px", "thigh_angle"))]
    assert names.count("pose_image_px") == 60 and names.count("thigh_angle") == len(angle)
    assert s.frames == 60


def test_absent_device_does_not_stop_the_camera(demo_clip, tmp_path):
    with PrivateSystemBus(set_env=True), mock_in_thread([]):
        s = capture(
            demo_clip,
            tmp_path / "a.mkrec",
            duration_s=1.0,
            keys=False,
            ble=["C0:FF:EE:00:00:99:witmotion@arm"],
            ble_options=FAST,
        )
    assert s.frames == 30
    rec = open_recording(tmp_path / "a.mkrec")
    assert len(rec.pose()) == 30
    assert any(e["kind"] in ("device_not_found", "device_error") for e in rec.events)
    assert any("BLE arm" in n for n in s.notices)


def test_bad_ble_spec_fails_before_anything_is_written(demo_clip, tmp_path):
    with pytest.raises(MovekitError, match="expected ADDRESS:PROFILE"):
        capture(demo_clip, tmp_path / "x.mkrec", ble=["not-an-address"], keys=False)
    assert not (tmp_path / "x.mkrec").exists()


def test_video_and_two_devices_share_one_clock(demo_clip, tmp_path):
    """A video file with two BLE devices is paced on the wall clock (as a webcam would be): 3 s of
    --duration gives 3 s of video frames and 3 s of each device's 100 Hz samples on the same clock
    (issue 19: 20 s of video once gave 34.8 s of device data)."""
    n = 2000
    k = np.arange(n)
    devs = [
        SimulatedWitMotion(
            addr,
            np.tile([0, 0, 1.0], (n, 1)),
            np.zeros((n, 3)),
            np.column_stack([a * np.sin(k / 50), np.zeros(n), np.zeros(n)]),
            100.0,
        )
        for addr, a in (("C0:FF:EE:00:00:08", 30.0), ("C0:FF:EE:00:00:09", 60.0))
    ]
    out = tmp_path / "two.mkrec"
    with PrivateSystemBus(set_env=True), mock_in_thread(devs):
        capture(
            demo_clip,
            out,
            duration_s=3.0,
            keys=False,
            ble_options=FAST,
            ble=[f"{devs[0].address}:witmotion@thigh,rate=100", f"{devs[1].address}:witmotion@shank,rate=100"],
        )
    rec = open_recording(out)
    pose = rec.pose()
    assert len(pose) == 90  # 3 s at 30 fps
    video_s = pose.t_s[-1] - pose.t_s[0]
    assert video_s == pytest.approx(89 / 30, abs=0.02)
    for label in ("thigh_angle", "shank_angle"):
        s = rec.streams[label]
        during = s.t_s[(s.t_s >= pose.t_s[0]) & (s.t_s <= pose.t_s[-1])]
        # the capture waits until both devices stream before its first frame, so they cover the
        # whole video, from its first frame to within one frame of its last: not 1.7x its length
        assert during[0] - pose.t_s[0] <= 0.03 and pose.t_s[-1] - during[-1] <= 1 / 30 + 0.02, label
        assert s.t_s[0] < pose.t_s[0], label  # data was flowing before the first frame
        assert abs((during[-1] - during[0]) - video_s) <= 0.15, label
        assert len(during) == pytest.approx(100 * (during[-1] - during[0]) + 1, rel=0.05), label
