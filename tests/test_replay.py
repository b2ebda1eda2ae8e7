"""Replay: same code path as live, bit-identical outputs, real-time pacing, tamper detection."""

from __future__ import annotations

import json
import shutil
import time

import numpy as np
import pyarrow as pa
from run_cli import movekit

from movekit.capture.replay import iter_samples, replay_pose
from movekit.live import LIVE_STREAM
from movekit.recording import RecordingWriter, StreamSpec, open_recording


def test_replay_is_bit_identical_to_live(demo_recording, demo_recording_research):
    for path in (demo_recording, demo_recording_research):
        rec = open_recording(path)
        result = replay_pose(rec)
        assert result.identical is True
        assert result.angles_deg.shape == (230, len(result.names))
    # research mode (stored as such) replays in research mode: the stream really holds numbers for
    # a person who was found, and the replay reproduced them
    assert rec.streams[LIVE_STREAM].spec.attrs["gated"] is False
    knee = result.angles_deg[:, result.names.index("right_knee_flexion_deg")]
    assert np.isfinite(knee).mean() > 0.6
    # the default (gated) live stream shows only angles within their error limit
    assert open_recording(demo_recording).streams[LIVE_STREAM].spec.attrs["gated"] is True


def test_tampered_recording_is_detected(demo_recording_research, tmp_path):
    copy = tmp_path / "t.mkrec"
    shutil.copytree(demo_recording_research, copy)
    path = copy / "streams" / f"{LIVE_STREAM}.arrows"
    with pa.memory_map(str(path)) as f:
        reader = pa.ipc.open_stream(f)
        table = reader.read_all()
    cols = [c.to_numpy().copy() for c in table.columns]
    row = int(np.flatnonzero(np.isfinite(cols[1]))[0])
    cols[1][row] += np.float32(1e-3)
    with open(path, "wb") as f, pa.ipc.new_stream(f, table.schema) as w:
        w.write_table(pa.Table.from_arrays([pa.array(c) for c in cols], schema=table.schema))
    assert replay_pose(open_recording(copy)).identical is False
    p = movekit("replay", copy)
    assert p.returncode == 1 and "DIFFERS from the live run in 1 of" in p.stderr


def test_a_changed_pose_is_detected_where_every_angle_was_refused(demo_recording, tmp_path):
    """The default (gated) demo recording shows no single-camera angle, so its live angles are all
    refusals; the stored expected errors still depend on the pose, so a replay of a pose moved
    after the capture differs (a check of NaN against NaN alone had passed it, bit for bit)."""
    rec = open_recording(demo_recording)
    result = replay_pose(rec)
    assert result.identical is True
    assert result.compared == {"angles": 230 * 21, "angle_numbers": 0, "errors": 230 * 21}
    assert np.isfinite(result.errors_deg).sum() > 1000  # numbers, compared bit for bit
    p = movekit("replay", demo_recording)
    assert p.returncode == 0 and "0 of them shown angles, and their 4830 expected errors" in p.stdout
    copy = tmp_path / "moved.mkrec"
    shutil.copytree(demo_recording, copy)
    path = copy / "streams" / "pose_image_px.arrows"
    with pa.memory_map(str(path)) as f:
        table = pa.ipc.open_stream(f).read_all()
    cols = [c.to_numpy().copy() for c in table.columns]
    x_cols = [i for i, name in enumerate(table.schema.names) if name.endswith("_x_px")]
    for i in x_cols:
        cols[i] = (cols[i] * np.float32(0.5) + np.float32(300)).astype(cols[i].dtype)
    with open(path, "wb") as f, pa.ipc.new_stream(f, table.schema) as w:
        w.write_table(pa.Table.from_arrays([pa.array(c) for c in cols], schema=table.schema))
    assert replay_pose(open_recording(copy)).identical is False
    p = movekit("replay", copy)
    assert p.returncode == 1 and "DIFFERS from the live run in 0 of 4830 angle values and " in p.stderr


def test_replay_of_a_cut_recording_says_what_it_compared(demo_recording_research, tmp_path):
    """A recording cut short (a crash) replays what was recovered, and says that the comparison covers only that."""
    copy = tmp_path / "cut.mkrec"
    shutil.copytree(demo_recording_research, copy)
    for name in ("pose_image_px", LIVE_STREAM):
        path = copy / "streams" / f"{name}.arrows"
        with open(path, "r+b") as f:
            f.truncate(path.stat().st_size // 2)
    p = movekit("replay", copy, "--speed", "max")
    assert p.returncode == 0, p.stderr
    n = int(p.stdout.split("replayed ")[1].split()[0])
    assert 0 < n < 230  # only the recovered frames, not the whole take
    assert "bit for bit" in p.stdout and "of what was recovered" in p.stdout
    assert "cut short or corrupt" in p.stderr


def test_real_time_pacing(tmp_path):
    with RecordingWriter(tmp_path / "r.mkrec") as w:
        w.add_stream(StreamSpec("imu", (1,), "deg", 50.0))
        w.add_stream(StreamSpec("emg", (1,), "uV", 200.0))
        w.append("imu", np.arange(0, 0.8, 0.02), np.arange(40)[:, None])
        w.append("emg", np.arange(0, 0.8, 0.005), np.arange(160)[:, None])
    rec = open_recording(tmp_path / "r.mkrec")
    t0 = time.monotonic()
    out = list(iter_samples(rec, speed=1.0))
    elapsed = time.monotonic() - t0
    assert len(out) == 200
    assert 0.75 <= elapsed < 1.5  # 0.78 s of data at real time
    times = [t for _, t, _ in out]
    assert times == sorted(times)  # merged in session-time order across streams
    t0 = time.monotonic()
    assert len(list(iter_samples(rec, speed=None))) == 200
    assert time.monotonic() - t0 < 0.3


def test_cli_replays_device_only_recording(tmp_path):
    with RecordingWriter(tmp_path / "d.mkrec") as w:
        w.add_stream(StreamSpec("thigh_angle", (3,), "deg", 100.0, ("roll", "pitch", "yaw"), kind="imu"))
        w.add_stream(StreamSpec("vmo_emg", (1,), "uV", 200.0, kind="emg"))
        w.append("thigh_angle", np.arange(100) / 100, np.zeros((100, 3)))
        w.append("vmo_emg", np.arange(200) / 200, np.zeros((200, 1)))
    p = movekit("replay", tmp_path / "d.mkrec")
    assert p.returncode == 0, p.stderr
    assert "replayed 100 samples of thigh_angle" in p.stdout and "replayed 200 samples of vmo_emg" in p.stdout


def test_replay_says_when_the_live_code_changed(demo_recording, tmp_path, monkeypatch):
    import movekit.live as live

    rec = open_recording(demo_recording)
    assert rec.streams[LIVE_STREAM].spec.attrs["code_fingerprint"] == live.live_code_fingerprint()
    assert replay_pose(rec).code_changed is False
    monkeypatch.setattr(live, "live_code_fingerprint", lambda: "0000000000000000")
    assert replay_pose(rec).code_changed is True


def test_a_capture_set_replays_each_camera(demo_recording, tmp_path):
    """`movekit replay SET` (info and export take a capture set too) replays every camera's
    recording in turn, and fails when one differs."""
    from movekit.capture.multicam import SET_FILE, SET_FORMAT

    s = tmp_path / "set"
    s.mkdir()
    for name in ("cam01", "cam02"):
        shutil.copytree(demo_recording, s / f"{name}.mkrec")
    cams = [{"name": n, "source": "demo.mp4", "recording": f"{n}.mkrec"} for n in ("cam01", "cam02")]
    (s / SET_FILE).write_text(json.dumps({"format": SET_FORMAT, "cameras": cams}))
    p = movekit("replay", s)
    assert p.returncode == 0, p.stderr
    assert p.stdout.count("identical to the live run, bit for bit") == 2
    assert "camera cam01:" in p.stdout and "camera cam02:" in p.stdout
    path = s / "cam02.mkrec" / "streams" / f"{LIVE_STREAM}.arrows"
    with pa.memory_map(str(path)) as f:
        table = pa.ipc.open_stream(f).read_all()
    cols = [c.to_numpy().copy() for c in table.columns]
    cols[1][0] = np.float32(12.5)  # a refusal (NaN) turned into a number
    with open(path, "wb") as f, pa.ipc.new_stream(f, table.schema) as w:
        w.write_table(pa.Table.from_arrays([pa.array(c) for c in cols], schema=table.schema))
    p = movekit("replay", s)
    assert p.returncode == 1 and "DIFFERS from the live run in 1 of" in p.stderr
    assert movekit("replay", s, "--csv", tmp_path / "a.csv").returncode == 2
