"""Lab Streaming Layer outlets (``--lsl``) read back by pylsl inlets on this machine.

A replay of the demo recording plus real PLUX EMG and accelerometer streams, and a short live
capture of the demo clip, are published; inlets resolve the outlets by name and check names,
types, channel counts, nominal rates, XDF ``desc`` labels and units, values and marker times.
"""

from __future__ import annotations

import json
import uuid
import xml.etree.ElementTree as ET

import numpy as np
import pytest

pylsl = pytest.importorskip("pylsl")

from movekit.lsl import LslPublisher, publish_recording
from movekit.recording import open_recording

N_EMG = 2000  # 2 s of 1000 Hz EMG and accelerometer


def _inlet(name: str):
    found = pylsl.resolve_byprop("name", name, 1, 5.0)
    assert found, f"no LSL stream named {name}"
    inlet = pylsl.StreamInlet(found[0], max_buflen=60, max_chunklen=0, recover=False)
    inlet.open_stream(timeout=5.0)
    return inlet


def _desc(inlet) -> tuple[list[str], list[str], ET.Element]:
    root = ET.fromstring(inlet.info(timeout=5.0).as_xml())
    chans = root.findall("./desc/channels/channel")
    return [c.findtext("label") for c in chans], [c.findtext("unit") for c in chans], root


def _pull_all(inlet, n: int, timeout_s: float = 10.0) -> tuple[np.ndarray | list, np.ndarray]:
    """Exactly ``n`` samples (fails if fewer arrive within the timeout)."""
    import time

    rows, stamps, t_end = [], [], time.monotonic() + timeout_s
    while len(rows) < n and time.monotonic() < t_end:
        chunk, ts = inlet.pull_chunk(timeout=0.5, max_samples=n - len(rows))
        rows += chunk
        stamps += ts
    assert len(rows) == n, f"{len(rows)} of {n} samples arrived"
    return rows, np.asarray(stamps)


@pytest.fixture(scope="module")
def sensor_recording(demo_recording, tmp_path_factory):
    """The demo recording (pose, live angles) plus 2 s of real PLUX surface EMG (1000 Hz, uV) and of
    a real PLUX 3-axis accelerometer (1000 Hz, g), a pain report and a cue."""
    import h5py

    from movekit.datasets import fetch
    from movekit.emg_io import read_emg
    from movekit.recording import RecordingWriter, StreamSpec

    demo = open_recording(demo_recording)
    emg = read_emg(fetch("plux_emg_bursts"))
    with h5py.File(fetch("plux_acc_sync_1")) as f:
        dev = next(iter(f.values()))
        raw = np.column_stack([dev[f"raw/channel_{i}"][:, 0] for i in (1, 2, 3)]).astype(np.float64)
    acc_g = 2.0 * (raw - 28000.0) / 10000.0 - 1.0
    out = tmp_path_factory.mktemp("lsl") / "sensors.mkrec"
    with RecordingWriter(out, demo.metadata) as w:
        for s in demo.streams.values():
            w.add_stream(s.spec)
            w.append(s.spec.name, s.t_s, s.data)
        w.add_stream(StreamSpec("emg_biceps", (1,), "uV", 1000.0, ("biceps",), kind="emg"))
        w.append("emg_biceps", emg.t_s[:N_EMG], emg.data_uv[:N_EMG])
        w.add_stream(StreamSpec("imu_acc", (3,), "g", 1000.0, ("acc_x", "acc_y", "acc_z"), kind="imu"))
        w.append("imu_acc", np.arange(N_EMG) / 1000.0, acc_g[:N_EMG])
        w.event(1.25, "pain", source="key", key="p")
        w.event(1.5, "cue", rule="knee_valgus", message="knee out")
    return open_recording(out)


@pytest.fixture(scope="module")
def replayed(sensor_recording):
    """The recording published as fast as possible, read by inlets connected before the first sample."""
    from movekit.lsl import _frame_rows

    prefix = f"mk{uuid.uuid4().hex[:8]}"
    inlets = {}

    def connect(lsl) -> None:
        for stream in ("pose", "live_angles", "emg_biceps", "emg_biceps_envelope", "imu_acc", "markers"):
            inlets[stream] = _inlet(f"{prefix}_{stream}")

    lsl = LslPublisher("replay-test", prefix=prefix)
    publish_recording(sensor_recording, lsl, on_open=connect)
    yield sensor_recording, lsl, inlets, _frame_rows(sensor_recording)
    for inlet in inlets.values():  # inlets first: an outlet closed under an inlet makes it reconnect
        inlet.close_stream()
    lsl.close()


def test_replay_outlets_metadata(replayed):
    _, lsl, inlets, rows = replayed
    info = {k: v.info(timeout=5.0) for k, v in inlets.items()}
    n_ang = len(rows["names"])
    assert n_ang >= 8
    expect = {  # stream: (type, channels, nominal rate, format)
        "pose": ("MoCap", 132, rows["rate_hz"], pylsl.cf_float32),
        "live_angles": ("Angles", 2 * n_ang, rows["rate_hz"], pylsl.cf_float32),
        "emg_biceps": ("EMG", 1, 1000.0, pylsl.cf_float32),
        "emg_biceps_envelope": ("EMG", 1, 1000.0, pylsl.cf_float32),
        "imu_acc": ("IMU", 3, 1000.0, pylsl.cf_float32),
        "markers": ("Markers", 1, pylsl.IRREGULAR_RATE, pylsl.cf_string),
    }
    for stream, (type_, n, rate, fmt) in expect.items():
        i = info[stream]
        assert (i.name(), i.type(), i.channel_count(), i.channel_format()) == (
            f"{lsl.prefix}_{stream}",
            type_,
            n,
            fmt,
        ), stream
        assert i.nominal_srate() == pytest.approx(rate), stream
        assert i.source_id() == f"{lsl.prefix}:replay-test:{stream}"
    labels, units, _ = _desc(inlets["pose"])
    assert labels[:4] == ["nose_x", "nose_y", "nose_z", "nose_visibility"]
    assert labels[-1] == "right_foot_index_visibility" and units[:4] == ["px", "px", "px", "1"]
    labels, units, _ = _desc(inlets["live_angles"])
    assert labels[0] == rows["names"][0] and labels[n_ang] == rows["names"][0].removesuffix("_deg") + "_err_deg"
    assert set(units) == {"deg"}
    assert _desc(inlets["imu_acc"])[:2] == (["acc_x", "acc_y", "acc_z"], ["g", "g", "g"])
    assert _desc(inlets["emg_biceps_envelope"])[:2] == (["biceps"], ["uV"])


def test_replay_values_and_markers(replayed):
    from movekit.analysis.emg import EMGStream

    rec, lsl, inlets, rows = replayed  # published as fast as possible: the stamps are the recorded times
    n = len(rows["t_s"])
    pose, ts = _pull_all(inlets["pose"], n)
    pose = np.asarray(pose, np.float32).reshape(n, 33, 4)
    np.testing.assert_array_equal(pose[..., :3], rec.streams["pose_image_px"].data[:n])
    np.testing.assert_array_equal(pose[..., 3], rec.streams["pose_visibility"].data[:n])
    np.testing.assert_allclose(ts - lsl.lsl0, rows["t_s"], atol=1e-6)
    assert np.isfinite(pose[..., 0]).any()

    ang, _ = _pull_all(inlets["live_angles"], n)
    ang = np.asarray(ang, np.float32)
    k = len(rows["names"])
    np.testing.assert_array_equal(ang[:, :k], rec.streams["live_angles_deg"].data[:n])  # NaN where refused
    err = np.array([[e.get(name, np.nan) for name in rows["names"]] for e in rows["errors"]], np.float32)
    np.testing.assert_array_equal(ang[:, k:], err)
    assert np.isfinite(ang[:, k:]).any()

    emg, ts = _pull_all(inlets["emg_biceps"], N_EMG)
    np.testing.assert_array_equal(np.asarray(emg, np.float32), rec.streams["emg_biceps"].data)
    np.testing.assert_allclose(ts - lsl.lsl0, rec.streams["emg_biceps"].t_s, atol=1e-6)
    env, _ = _pull_all(inlets["emg_biceps_envelope"], N_EMG)
    ref = (
        EMGStream(1000.0, ["biceps"])
        .process(rec.streams["emg_biceps"].t_s, rec.streams["emg_biceps"].data.astype(np.float64))
        .envelope_uv
    )
    np.testing.assert_allclose(np.asarray(env, np.float64), ref, rtol=1e-6)
    assert np.nanmax(ref) > 5 * np.nanmedian(ref)  # a real burst, not a flat line

    acc, _ = _pull_all(inlets["imu_acc"], N_EMG)
    np.testing.assert_array_equal(np.asarray(acc, np.float32), rec.streams["imu_acc"].data)

    n_ev = len([e for e in rec.events if "kind" in e])
    markers, ts = _pull_all(inlets["markers"], n_ev)
    got = [json.loads(m[0]) for m in markers]
    by_kind = {g["kind"]: (g, t - lsl.lsl0) for g, t in zip(got, ts)}
    assert by_kind["pain"][0] == {"kind": "pain", "source": "key", "key": "p"}
    assert by_kind["pain"][1] == pytest.approx(1.25, abs=1e-6)
    assert by_kind["cue"][0]["message"] == "knee out" and by_kind["cue"][1] == pytest.approx(1.5, abs=1e-6)


def test_replay_paced_keeps_recorded_times(sensor_recording):
    """speed=20: the replay takes the recording's span / 20 of wall time; the stamps stay the
    recorded session times (a new publisher stamps the first sample now)."""
    import time

    prefix = f"mk{uuid.uuid4().hex[:8]}"
    inlets = {}

    def connect(lsl) -> None:
        inlets["pose"] = _inlet(f"{prefix}_pose")

    t_pose = sensor_recording.streams["pose_image_px"].t_s
    span = max(float(s.t_s[-1]) for s in sensor_recording.streams.values()) - min(
        float(s.t_s[0]) for s in sensor_recording.streams.values()
    )
    t0 = time.monotonic()
    lsl = publish_recording(sensor_recording, speed=20.0, prefix=prefix, on_open=connect)
    wall = time.monotonic() - t0
    assert span / 20 <= wall < span / 20 + 20  # + the error model's pass over the pose
    _, ts = _pull_all(inlets["pose"], len(t_pose))
    np.testing.assert_allclose(ts - lsl.lsl0, t_pose, atol=1e-6)
    assert (
        abs(lsl.lsl0 + min(float(s.t_s[0]) for s in sensor_recording.streams.values()) - pylsl.local_clock()) < wall + 1
    )
    inlets["pose"].close_stream()
    lsl.close()


@pytest.fixture
def simulated_imu():
    """A private bus with a mock BlueZ serving one simulated WitMotion IMU (as in test_capture_ble)."""
    from movekit.capture.ble.mock_bluez import PrivateSystemBus, mock_in_thread
    from movekit.capture.ble.simulate import SimulatedWitMotion

    n = 2000
    k = np.arange(n)
    angles = np.column_stack([40 * np.sin(k / 50), np.zeros(n), np.zeros(n)])
    wit = SimulatedWitMotion("C0:FF:EE:00:00:07", np.tile([0, 0, 1.0], (n, 1)), np.zeros((n, 3)), angles, 100.0)
    with PrivateSystemBus(set_env=True), mock_in_thread([wit]):
        yield wit


def test_capture_publishes_pose_angles_ble_and_events(simulated_imu, demo_clip, tmp_path):
    """1 s of the demo clip (paced in real time) with a simulated BLE IMU and a drill-like observer
    that writes a cue: every frame's pose and live angles, the cue and the IMU's samples arrive at
    inlets with the recorded values, stamped on the session clock."""
    from movekit.capture.ble import transport as tr
    from movekit.capture.pipeline import capture

    prefix = f"mk{uuid.uuid4().hex[:8]}"
    lsl = LslPublisher("capture-test", prefix=prefix)
    got: dict = {}

    class Cue:  # a CaptureObserver: connects inlets once the outlets exist, cues at frame 5
        n = 0

        def start(self, writer, clock, ble):
            self.writer = writer
            for stream in ("pose", "live_angles", "markers"):
                got[stream] = _inlet(f"{prefix}_{stream}")

        def frame(self, t_s, estimate):
            self.n += 1
            if self.n == 2:  # the BLE outlets open when the recorder starts, after start()
                got["thigh_angle"] = _inlet(f"{prefix}_thigh_angle")
            if self.n == 5:
                self.writer.event(t_s, "cue", rule="test", message="knee out")

        def stop(self, t_s):
            pass

    out = tmp_path / "c.mkrec"
    fast = {
        "policy": tr.ReconnectPolicy(initial_s=0.05, factor=2.0, max_s=0.4),
        "scan_timeout_s": 1.0,
        "connect_timeout_s": 1.0,
    }
    summary = capture(
        demo_clip,
        out,
        keys=False,
        duration_s=1.0,
        lsl=lsl,
        observer=Cue(),
        ble=[f"{simulated_imu.address}:witmotion@thigh,rate=100"],
        ble_options=fast,
    )
    rec = open_recording(out)
    n = summary.frames
    assert n == 30
    assert got["pose"].info().nominal_srate() == pytest.approx(rec.streams["pose_image_px"].spec.rate_hz)
    pose, ts = _pull_all(got["pose"], n)
    pose = np.asarray(pose, np.float32).reshape(n, 33, 4)
    np.testing.assert_array_equal(pose[..., :3], rec.streams["pose_image_px"].data)
    np.testing.assert_array_equal(pose[..., 3], rec.streams["pose_visibility"].data)
    assert np.isfinite(pose[..., 0]).any()
    np.testing.assert_allclose(ts - lsl.lsl0, rec.streams["pose_image_px"].t_s, atol=1e-6)
    ang, ts_a = _pull_all(got["live_angles"], n)
    k = rec.streams["live_angles_deg"].spec.shape[0]
    np.testing.assert_array_equal(np.asarray(ang, np.float32)[:, :k], rec.streams["live_angles_deg"].data)
    np.testing.assert_array_equal(ts_a, ts)
    # the BLE stream: its spec, and the samples pushed after the inlet connected (the recording's tail)
    thigh = rec.streams["thigh_angle"]
    _, units, root = _desc(got["thigh_angle"])
    assert root.findtext("nominal_srate") and float(root.findtext("nominal_srate")) == thigh.spec.rate_hz
    assert int(root.findtext("channel_count")) == int(np.prod(thigh.spec.shape))
    assert set(units) == {thigh.spec.unit} == {"deg"}
    rows, ts_b = [], []
    while True:
        chunk, t = got["thigh_angle"].pull_chunk(timeout=1.0)
        if not chunk:
            break
        rows += chunk
        ts_b += t
    m = len(rows)
    assert m >= 0.5 * len(thigh), f"{m} of {len(thigh)} IMU samples"
    np.testing.assert_array_equal(np.asarray(rows, np.float32), thigh.data[-m:].reshape(m, -1))
    np.testing.assert_allclose(np.asarray(ts_b) - lsl.lsl0, thigh.t_s[-m:], atol=1e-6)
    # every event (the cue, the device's events) as a JSON marker at its session time
    events = [e for e in rec.events if "kind" in e]
    assert {"cue", "device_connected"} <= {e["kind"] for e in events}
    mk, mts = _pull_all(got["markers"], len(events))
    assert [json.loads(x[0])["kind"] for x in mk] == [e["kind"] for e in events]
    cue = next(json.loads(x[0]) for x in mk if json.loads(x[0])["kind"] == "cue")
    assert cue == {"kind": "cue", "rule": "test", "message": "knee out"}
    np.testing.assert_allclose(mts - lsl.lsl0, [e["t_s"] for e in events], atol=1e-6)
    for inlet in got.values():
        inlet.close_stream()
    lsl.close()


def test_missing_pylsl_is_one_line(monkeypatch):
    import builtins

    from movekit.errors import MovekitError
    from movekit.lsl import require

    real = builtins.__import__

    def no_pylsl(name, *a, **kw):
        if name == "pylsl":
            raise ImportError("No module named 'pylsl'")
        return real(name, *a, **kw)

    monkeypatch.setattr(builtins, "__import__", no_pylsl)
    with pytest.raises(MovekitError) as exc:
        require()
    assert str(exc.value) == "--lsl needs pylsl: pip install movekit[lsl]"


def test_replay_command_publishes_to_an_inlet(demo_recording):
    """movekit replay REC --lsl: the pose outlet appears, named for the recording, and an inlet
    reads the recorded image landmarks from it."""
    import subprocess
    import sys

    p = subprocess.Popen(
        [sys.executable, "-m", "movekit.cli", "replay", str(demo_recording), "--lsl", "--speed", "4"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        streams = [
            s
            for s in pylsl.resolve_byprop("name", "movekit_pose", minimum=1, timeout=20.0)
            if demo_recording.name in s.source_id()
        ]
        assert streams, "no movekit_pose outlet for this recording"
        inlet = pylsl.StreamInlet(streams[0])
        sample, ts = inlet.pull_sample(timeout=10.0)
        assert sample is not None and len(sample) == 33 * 4
        pose = open_recording(demo_recording).pose()
        first_seen = np.isfinite(pose.image_px[:, 0, 0])
        assert np.isfinite(sample[0]) or not first_seen.all()
    finally:
        out, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    assert "published demo.mkrec" in out
