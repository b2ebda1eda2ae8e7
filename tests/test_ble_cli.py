"""`movekit devices scan|simulate|profiles|calibrate`."""

from __future__ import annotations

import numpy as np

from movekit.capture.ble.mock_bluez import PrivateSystemBus, mock_in_thread
from movekit.capture.ble.simulate import SimulatedGanglion
from movekit.cli import main


def test_devices_scan_lists_simulated_device(capsys):
    with (
        PrivateSystemBus(set_env=True),
        mock_in_thread([SimulatedGanglion("C0:FF:EE:00:00:03", np.zeros((50, 1)), 200.0)]),
    ):
        assert main(["devices", "scan", "--timeout", "0.3"]) == 0
    out = capsys.readouterr().out
    assert "Ganglion-1a2b" in out and "C0:FF:EE:00:00:03" in out and "ganglion" in out


def test_devices_scan_without_bluetooth_is_a_clear_error(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", f"unix:path={tmp_path}/no_bus")
    assert main(["devices", "scan", "--timeout", "0.2"]) == 2
    assert "movekit: error: Bluetooth scan failed" in capsys.readouterr().err


def test_devices_simulate_stream_demo(capsys):
    assert main(["devices", "simulate", "--devices", "ganglion", "--stream", "0.6"]) == 0
    out = capsys.readouterr().out
    assert "export DBUS_SYSTEM_BUS_ADDRESS=unix:path=" in out
    assert "device_connected" in out and "ganglion_1a2b_emg" in out


def test_devices_profiles(capsys):
    assert main(["devices", "profiles"]) == 0
    out = capsys.readouterr().out
    assert "witmotion" in out and "ganglion" in out and "generic_emg" in out


def test_devices_calibrate_from_a_recording(tmp_path, capsys):
    from scipy.spatial.transform import Rotation

    from movekit.analysis import imu_orientation as io
    from movekit.recording import RecordingWriter, StreamSpec

    rate = 50.0
    theta = np.concatenate([np.zeros(100), 50 * (1 - np.cos(np.linspace(0, 6 * np.pi, 400)))])
    mp, md = (
        Rotation.from_euler("xyz", [10, -20, 5], degrees=True),
        Rotation.from_euler("xyz", [-5, 15, 30], degrees=True),
    )
    sp = Rotation.from_quat(np.tile([0, 0, 0, 1.0], (len(theta), 1))) * mp
    sd = Rotation.from_rotvec(np.radians(theta)[:, None] * np.array([[0, 1.0, 0]])) * md
    t = 3.0 + np.arange(len(theta)) / rate
    rec = tmp_path / "cal.mkrec"
    with RecordingWriter(rec, metadata={}) as w:
        for label, r in (("thigh", sp), ("shank", sd)):
            w.add_stream(StreamSpec(f"{label}_angle", (3,), "deg", rate, ("roll", "pitch", "yaw"), kind="imu"))
            w.append(f"{label}_angle", t, io.quat_to_euler_zyx_deg(io._quat(r)).astype(np.float32))
    code = main(
        [
            "devices",
            "calibrate",
            str(rec),
            "--joint",
            "knee_flexion",
            "--proximal",
            "thigh",
            "--distal",
            "shank",
            "--static",
            "0:1.8",
            "--functional",
            "2:10",
            "--name",
            "k",
            "--dir",
            str(tmp_path),
        ]
    )
    assert code == 0, capsys.readouterr().err
    cal = io.load_calibration(tmp_path / "k.json")
    from movekit.recording import open_recording

    tt, ang = io.joint_angle_from_recording(open_recording(rec), "thigh", "shank", cal)
    assert np.nanmax(np.abs(ang - theta)) < 0.05
    assert (
        main(
            [
                "devices",
                "calibrate",
                str(rec),
                "--joint",
                "knee_flexion",
                "--proximal",
                "hip",
                "--distal",
                "shank",
                "--static",
                "0:1",
                "--functional",
                "2:10",
                "--name",
                "k",
            ]
        )
        == 2
    )
