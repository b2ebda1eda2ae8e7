"""Exports (movekit export) read back by independent readers, on the real demo recording and on a
recording that adds real PLUX EMG and accelerometer files (fetched by pinned version).

TRC and MOT are read by strict parsers written here from OpenSim's published file descriptions
("Marker (.trc) Files", "Storage (.sto) and Motion (.mot) Files"); C3D by py-c3d (``c3d``), a reader
independent of ezc3d which writes it; TSV/CSV/Parquet by pandas.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from movekit.analysis.landmarks import NAMES
from movekit.cli import main

# Marker names of Pose2Sim's OpenSim_Setup/Markers_BlazePose.xml (the MediaPipe marker set)
POSE2SIM_BLAZEPOSE = (
    "nose",
    "left_eye",
    "right_eye",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
    "left_foot_index",
    "left_heel",
    "right_foot_index",
    "right_heel",
    "right_thumb",
    "right_pinky",
    "right_index",
    "left_thumb",
    "left_pinky",
    "left_index",
)
TRC_HEADER = [
    "DataRate",
    "CameraRate",
    "NumFrames",
    "NumMarkers",
    "Units",
    "OrigDataRate",
    "OrigDataStartFrame",
    "OrigNumFrames",
]


# ---------------------------------------------------------------------------------------------
# strict readers from the published OpenSim specifications
# ---------------------------------------------------------------------------------------------
def read_trc(path: Path) -> dict:
    lines = path.read_text().split("\n")
    assert lines[-1] == "", "file ends with a newline"
    lines = lines[:-1]
    first = lines[0].split("\t")
    assert first[:3] == ["PathFileType", "4", "(X/Y/Z)"] and len(first) == 4
    assert lines[1].split("\t") == TRC_HEADER
    vals = dict(zip(TRC_HEADER, lines[2].split("\t")))
    assert len(lines[2].split("\t")) == 8
    n_frames, n_markers = int(vals["NumFrames"]), int(vals["NumMarkers"])
    names_row = lines[3].split("\t")
    assert names_row[:2] == ["Frame#", "Time"]
    names = names_row[2::3]
    assert all(c == "" for k in range(len(names)) for c in names_row[3 + 3 * k : 5 + 3 * k])
    assert len(names) == n_markers
    xyz_row = lines[4].split("\t")
    assert xyz_row[:2] == ["", ""]
    assert xyz_row[2:] == [f"{a}{i}" for i in range(1, n_markers + 1) for a in "XYZ"]
    assert lines[5] == "", "a blank line separates the header from the data"
    data = lines[6:]
    assert len(data) == n_frames
    frames, times, xyz = [], [], np.full((n_frames, n_markers * 3), np.nan)
    for i, line in enumerate(data):
        cells = line.split("\t")
        assert len(cells) == 2 + 3 * n_markers
        frames.append(int(cells[0]))
        times.append(float(cells[1]))
        xyz[i] = [float(c) if c != "" else np.nan for c in cells[2:]]
    assert frames == list(range(1, n_frames + 1))
    return {
        "header": vals,
        "file": first[3],
        "names": names,
        "t": np.array(times),
        "xyz": xyz.reshape(n_frames, n_markers, 3),
    }


def read_mot(path: Path) -> dict:
    lines = path.read_text().split("\n")
    assert lines[-1] == ""
    end = lines.index("endheader")
    head = lines[1:end]
    kv = dict(line.split("=", 1) for line in head)
    assert len(kv) == len(head), "every header line after the name is key=value"
    assert kv["version"] == "1" and kv["inDegrees"] == "yes"
    cols = lines[end + 1].split("\t")
    assert cols[0] == "time"
    rows = [line.split("\t") for line in lines[end + 2 : -1]]
    assert len(rows) == int(kv["nRows"]) and len(cols) == int(kv["nColumns"])
    assert all(len(r) == len(cols) for r in rows)
    data = np.array([[float(c) for c in r] for r in rows])  # float() reads OpenSim's "NaN"
    return {"name": lines[0], "header": kv, "columns": cols, "data": data}


# ---------------------------------------------------------------------------------------------
def _export(src, fmt, out, *extra) -> int:
    return main(["export", str(src), "--format", fmt, "-o", str(out), *extra])


def _mode(p: Path) -> int:
    return stat.S_IMODE(os.stat(p).st_mode)


@pytest.fixture(scope="module")
def demo_angles(demo_recording):
    """The table of ``movekit angles`` for the demo (what MOT/CSV/Parquet must hold)."""
    from types import SimpleNamespace

    from movekit.commands.export import _session, angle_table

    _, pose, stored = _session(str(demo_recording))
    args = SimpleNamespace(
        offline=False, space=None, min_visibility=0.5, source=str(demo_recording), keep_invalid=False
    )
    return angle_table(pose, stored, args)


def test_trc_3d_round_trips_with_opensim_layout(demo_recording, demo_pose, tmp_path):
    out = tmp_path / "demo.trc"
    assert _export(demo_recording, "trc", out) == 0
    assert _mode(out) == 0o600 and _mode(tmp_path / "demo.trc.json") == 0o600
    trc = read_trc(out)
    h = trc["header"]
    assert float(h["DataRate"]) == pytest.approx(30.0, rel=1e-4) and h["CameraRate"] == h["DataRate"]
    assert int(h["NumFrames"]) == len(demo_pose) == int(h["OrigNumFrames"]) and h["OrigDataStartFrame"] == "1"
    assert int(h["NumMarkers"]) == 33 and h["Units"] == "m" and trc["file"] == "demo.trc"
    assert tuple(trc["names"]) == NAMES and set(POSE2SIM_BLAZEPOSE) <= set(trc["names"])
    np.testing.assert_allclose(trc["t"], demo_pose.t_s - demo_pose.t_s[0], atol=1e-6)
    w = demo_pose.world_m.astype(np.float64)
    want = np.stack([w[..., 0], -w[..., 1], -w[..., 2]], axis=-1)
    want[~(demo_pose.visibility >= 0.5)] = np.nan
    np.testing.assert_array_equal(np.isnan(trc["xyz"]), np.isnan(want))
    np.testing.assert_allclose(trc["xyz"], want, atol=1e-6, equal_nan=True)
    seen = np.isfinite(trc["xyz"][..., 0])
    assert 0.3 < seen.mean() < 1.0  # real footage: most landmarks seen, some not
    # Y up: the nose is above the heels wherever both are seen
    both = seen[:, 0] & seen[:, 29]
    assert both.sum() > 100 and (trc["xyz"][both, 0, 1] > trc["xyz"][both, 29, 1]).mean() > 0.95
    # the same file through pandas, skipping the 4 header lines as TRC loaders do
    df = pd.read_csv(out, sep="\t", skiprows=4)
    assert list(df.columns[2:5]) == ["X1", "Y1", "Z1"] and len(df) == len(demo_pose)
    np.testing.assert_allclose(df.iloc[:, 2:].to_numpy(float), trc["xyz"].reshape(len(df), -1), equal_nan=True)
    side = json.loads((tmp_path / "demo.trc.json").read_text())
    assert side["space"] == "3d" and "origin between the hips" in side["frame"]


def test_trc_2d_uses_the_stated_scale(demo_recording, demo_pose, tmp_path):
    out = tmp_path / "d2.trc"
    assert _export(demo_recording, "trc", out, "--space", "2d", "--m-per-px", "0.0025") == 0
    trc = read_trc(out)
    img = demo_pose.image_px.astype(np.float64)
    want = np.stack([img[..., 0] * 0.0025, (994 - img[..., 1]) * 0.0025, np.zeros(img.shape[:2])], axis=-1)
    want[~(demo_pose.visibility >= 0.5)] = np.nan
    np.testing.assert_allclose(trc["xyz"], want, atol=1e-6, equal_nan=True)
    assert json.loads((tmp_path / "d2.trc.json").read_text())["m_per_px"] == 0.0025
    # default scale from a 1.70 m nose-to-heel height: a standing man of ~1.6-2 m on a 994 px frame
    assert _export(demo_recording, "trc", tmp_path / "h.trc", "--space", "2d") == 0
    s = json.loads((tmp_path / "h.trc.json").read_text())["m_per_px"]
    assert 0.002 < s < 0.01


def test_mot_round_trips_angles_errors_and_nan(demo_recording, demo_angles, tmp_path):
    out = tmp_path / "demo.mot"
    assert _export(demo_recording, "mot", out) == 0
    assert _mode(out) == 0o600
    mot = read_mot(out)
    cols, _ = demo_angles
    numeric = [k for k in cols if k not in ("time_s", "view")]
    assert mot["columns"] == ["time"] + numeric
    for k in numeric:
        if k.endswith("_deg") and not k.endswith("_err_deg") and k != "body_yaw_deg":
            assert mot["columns"][mot["columns"].index(k) + 1] == k.removesuffix("_deg") + "_err_deg"
    got = mot["data"]
    np.testing.assert_allclose(got[:, 0], cols["time_s"] - cols["time_s"][0], atol=1e-6)
    want = np.column_stack([cols[k] for k in numeric])
    np.testing.assert_array_equal(np.isnan(got[:, 1:]), np.isnan(want))
    np.testing.assert_allclose(got[:, 1:], want, atol=1e-6, equal_nan=True)
    angle_idx = [1 + j for j, k in enumerate(numeric) if not k.endswith("_err_deg") and k != "body_yaw_deg"]
    assert np.isnan(got[:, angle_idx]).any()  # refused angles stay in the file, as NaN
    assert "NaN" in mot["header"]["movekit_nan"] and "_err_deg" in mot["header"]["movekit_nan"]
    assert mot["header"]["movekit_filter"] == "causal"
    # --keep-invalid (research use): the same file with numbers, equal to the gated ones where those exist
    assert _export(demo_recording, "mot", tmp_path / "open.mot", "--keep-invalid") == 0
    opened = read_mot(tmp_path / "open.mot")
    assert "KEPT" in opened["header"]["movekit_nan"]
    free = opened["data"]
    assert np.isfinite(free[:, angle_idx]).mean() > 0.3
    kept = np.isfinite(got)
    np.testing.assert_allclose(free[kept], got[kept], atol=1e-6)
    errs = [1 + j for j, k in enumerate(numeric) if k.endswith("_err_deg")]
    assert np.isfinite(got[:, errs]).any()  # the expected errors are carried even where angles are refused


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_tables_round_trip_through_pandas(demo_recording, demo_angles, tmp_path, fmt):
    out = tmp_path / f"demo.{fmt}"
    assert _export(demo_recording, fmt, out) == 0
    assert _mode(out) == 0o600
    df = pd.read_csv(out) if fmt == "csv" else pd.read_parquet(out)
    cols, _ = demo_angles
    assert list(df.columns) == list(cols)
    tol = 5e-7 if fmt == "csv" else 1e-9  # the CSV keeps 6 decimals: time to the microsecond
    for k, v in cols.items():
        if k == "view":
            assert list(df[k]) == list(v)
        else:
            np.testing.assert_allclose(df[k].to_numpy(float), v, atol=tol, equal_nan=True)
    side = json.loads((tmp_path / f"demo.{fmt}.json").read_text())
    assert side["nan"].startswith("angles the error model")
    assert fmt == "parquet" or "time_s to 1 us" in side["precision"]
    # the time column at 1 us: every frame time of the 30 Hz clip as the session clock gave it
    np.testing.assert_allclose(df["time_s"].to_numpy(), cols["time_s"], rtol=0, atol=5e-7)
    assert np.abs(df["time_s"].to_numpy() - np.round(cols["time_s"], 4)).max() > 3e-5 or fmt == "parquet"


# ---------------------------------------------------------------------------------------------
# a recording with real sensor data at their own rates
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sensor_recording(demo_recording, tmp_path_factory) -> dict:
    """The demo pose plus real PLUX surface EMG (1000 Hz), a real PLUX 3-axis accelerometer
    (1000 Hz, in g) and a real 10 Hz EMG channel, with the demo's events and a pain report."""
    import h5py

    from movekit.datasets import fetch
    from movekit.emg_io import read_emg
    from movekit.recording import RecordingWriter, StreamSpec, open_recording

    demo = open_recording(demo_recording)
    out = tmp_path_factory.mktemp("sensors") / "sensors.mkrec"
    emg = read_emg(fetch("plux_emg_bursts"))
    slow = read_emg(fetch("plux_emg_10_hz"))
    with h5py.File(fetch("plux_acc_sync_1")) as f:
        dev = next(iter(f.values()))
        raw = np.column_stack([dev[f"raw/channel_{i}"][:, 0] for i in (1, 2, 3)]).astype(np.float64)
    acc_g = 2.0 * (raw - 28000.0) / 10000.0 - 1.0  # biosignalsnotebooks' ACC transfer function
    n = 8000  # 8 s from 0, longer than the 7.7 s clip
    streams = {
        "emg_biceps": (
            StreamSpec("emg_biceps", (1,), "uV", 1000.0, ("biceps",), kind="emg"),
            emg.t_s[:n],
            emg.data_uv[:n],
        ),
        "imu_acc": (
            StreamSpec("imu_acc", (3,), "g", 1000.0, ("acc_x", "acc_y", "acc_z"), kind="imu"),
            np.arange(n) / 1000.0,
            acc_g[:n],
        ),
        "emg_slow": (
            StreamSpec("emg_slow", (1,), "uV", 10.0, ("adductor",), kind="emg"),
            slow.t_s[:80],
            slow.data_uv[:80],
        ),
    }
    with RecordingWriter(out, {**demo.metadata, "client": "c-07"}) as w:
        for s in demo.streams.values():
            w.add_stream(s.spec)
            w.append(s.spec.name, s.t_s, s.data)
        for spec, t, x in streams.values():
            w.add_stream(spec)
            w.append(spec.name, t, x)
        for ev in demo.events:
            w.event(ev["t_s"], ev["kind"], **{k: v for k, v in ev.items() if k not in ("t_s", "kind")})
        w.event(3.25, "pain", score=4, source="key")
    rec = open_recording(out)
    return {"path": out, "rec": rec, "pose": rec.pose()}


def test_c3d_round_trips_points_analogs_and_events_through_py_c3d(sensor_recording, tmp_path):
    pytest.importorskip("ezc3d", reason="the C3D export needs the 'export' extra (ezc3d)")
    c3d = pytest.importorskip("c3d", reason="py-c3d is the independent C3D reader of this test")

    out = tmp_path / "s.c3d"
    assert _export(sensor_recording["path"], "c3d", out) == 0
    assert _mode(out) == 0o600
    rec, pose = sensor_recording["rec"], sensor_recording["pose"]
    with open(out, "rb") as f:
        r = c3d.Reader(f)
        frames = list(r.read_frames(copy=True))
        labels = [s.strip() for s in r.point_labels]
        a_labels = [s.strip() for s in r.analog_labels]
        p_rate, a_rate = r.point_rate, r.analog_rate
        units = r.get("POINT").get("UNITS").string_value.strip()
        screen = (r.get("POINT").get("X_SCREEN").string_value, r.get("POINT").get("Y_SCREEN").string_value)
        ev = r.get("EVENT")
        ev_labels = [s.strip() for s in ev.get("LABELS").string_array]
        ev_times = ev.get("TIMES").float_array  # (n, 2): minutes, seconds
        t0 = float(r.get("MOVEKIT").get("T0_S").string_value)
        first_pose = round(r.get("MOVEKIT").get("FIRST_POSE_FRAME").float_value)
    assert labels == list(NAMES) and units == "mm" and screen == ("+X", "+Y")  # one camera, Y up as triangulated
    assert p_rate == pytest.approx(30.0, rel=1e-4)
    assert a_rate == pytest.approx(p_rate * 34, rel=1e-6)  # smallest multiple of 30 at or above 1000 Hz
    # pose and sensors start together (0 s); the sensors run 0.37 s past the last frame: 10 blank frames follow
    assert t0 == pytest.approx(pose.t_s[0], abs=1e-6) and first_pose == 1
    assert len(frames) == len(pose) + 10
    pts = np.stack([fr[1] for fr in frames])  # (frames, points, 5): x y z residual cameras
    assert (pts[len(pose) :, :, 3] == -1).all()
    pts = pts[: len(pose)]
    w = pose.world_m.astype(np.float64)
    want = np.stack([w[..., 0], -w[..., 1], -w[..., 2]], axis=-1) * 1000.0
    missing = ~(pose.visibility >= 0.5)
    assert np.array_equal(pts[..., 3] < 0, missing)
    np.testing.assert_allclose(pts[~missing][:, :3], want[~missing], atol=1e-3)
    analog = np.concatenate([fr[2] for fr in frames], axis=1)  # (channels, samples)
    assert analog.shape[1] == len(frames) * 34
    side = json.loads((tmp_path / "s.c3d.json").read_text())
    t_a = t0 + np.arange(analog.shape[1]) / a_rate
    for name, ch in (("emg_biceps", 0), ("imu_acc", 2), ("emg_slow", 0)):
        s = rec.streams[name]
        assert t_a[0] <= s.t_s[0] + 1e-6 and t_a[-1] >= s.t_s[-1]  # every sample inside the file: none dropped
        label = f"{name}.{s.spec.channel_names[ch]}"
        got = analog[a_labels.index(label)]
        ref = np.interp(t_a, s.t_s, s.data.reshape(len(s), -1)[:, ch].astype(np.float64))
        ok = (t_a >= s.t_s[0]) & (t_a <= s.t_s[-1])
        assert (t_a[~ok] > s.t_s[-1]).all() and np.isnan(got[~ok]).all()  # NaN only after the stream ended
        assert side["analog_nan_samples"][name] == [0, int((~ok).sum())]
        np.testing.assert_allclose(got[ok], ref[ok], rtol=1e-6, atol=1e-6)
    assert 0 < side["analog_nan_samples"]["emg_biceps"][1] < 34  # the last stream to end: the last frame's tail
    emg = analog[a_labels.index("emg_biceps.biceps")]
    assert np.nanstd(emg) > 10  # real EMG in uV, not zeros
    want_ev = sorted((e["t_s"] - t0, e["kind"]) for e in rec.events)
    got_ev = sorted(zip(ev_times[:, 0] * 60 + ev_times[:, 1], ev_labels))
    assert [k for _, k in got_ev] == [k for _, k in want_ev] and "pain" in ev_labels
    np.testing.assert_allclose([t for t, _ in got_ev], [t for t, _ in want_ev], atol=1e-4)
    assert side["t0_s"] == pytest.approx(t0, abs=1e-6) and side["events_left_out"] == []


@pytest.fixture(scope="module")
def late_camera_recording(demo_recording, tmp_path_factory) -> Path:
    """A drill as it happens: the drill starts (0 s), real PLUX EMG from 0.2 s, the camera's first
    frame at 0.6 s (the demo's pose, live angles and events moved by 0.6 s)."""
    from movekit.datasets import fetch
    from movekit.emg_io import read_emg
    from movekit.recording import RecordingWriter, StreamSpec, open_recording

    demo = open_recording(demo_recording)
    emg = read_emg(fetch("plux_emg_bursts"))
    out = tmp_path_factory.mktemp("late") / "late.mkrec"
    with RecordingWriter(out, {**demo.metadata, "client": "c-07"}) as w:
        for s in demo.streams.values():
            w.add_stream(s.spec)
            w.append(s.spec.name, s.t_s + 0.6, s.data)
        w.add_stream(StreamSpec("emg", (1,), "uV", 1000.0, ("core",), kind="emg"))
        w.append("emg", emg.t_s[:6000] + 0.2, emg.data_uv[:6000])
        w.event(0.0, "drill_start", drill="core_bracing_hold")
        w.event(0.25, "emg_onset", channel="core")
        w.event(2.0, "pain", score=3, source="key")
    return out


def test_c3d_starts_at_the_first_sample_before_the_camera(late_camera_recording, demo_pose, tmp_path):
    """EMG before the first camera frame is kept (frame 1 at the first EMG sample, points blank until
    the camera starts); an event before every sample is listed as left out, none gets a negative time."""
    c3d = pytest.importorskip("c3d", reason="py-c3d is the independent C3D reader of this test")
    pytest.importorskip("ezc3d", reason="the C3D export needs the 'export' extra (ezc3d)")
    from movekit.recording import open_recording

    out = tmp_path / "late.c3d"
    assert _export(late_camera_recording, "c3d", out) == 0
    with open(out, "rb") as f:
        r = c3d.Reader(f)
        frames = list(r.read_frames(copy=True))
        a_labels = [s.strip() for s in r.analog_labels]
        a_rate = r.analog_rate
        ev = r.get("EVENT")
        ev_labels = [s.strip() for s in ev.get("LABELS").string_array]
        ev_times = ev.get("TIMES").float_array
        t0 = float(r.get("MOVEKIT").get("T0_S").string_value)
        first_pose = round(r.get("MOVEKIT").get("FIRST_POSE_FRAME").float_value)
    # the camera's frames stay on their times (0.6 s + k/30): frame 1 is the last such time at or before 0.2 s
    assert first_pose == 13 and t0 == pytest.approx(0.6 - 12 / 30, abs=1e-6) and t0 <= 0.2
    pts = np.stack([fr[1] for fr in frames])
    assert (pts[: first_pose - 1, :, 3] == -1).all()
    w = demo_pose.world_m[0].astype(np.float64)
    seen = demo_pose.visibility[0] >= 0.5
    np.testing.assert_allclose(pts[first_pose - 1, seen, 0], w[seen, 0] * 1000, atol=1e-3)
    emg = open_recording(late_camera_recording).streams["emg"]
    analog = np.concatenate([fr[2] for fr in frames], axis=1)[a_labels.index("emg.core")]
    t_a = t0 + np.arange(len(analog)) / a_rate
    inside = (t_a >= emg.t_s[0]) & (t_a <= emg.t_s[-1])
    assert t_a[0] <= emg.t_s[0] + 1e-6 and t_a[-1] >= emg.t_s[-1]
    np.testing.assert_allclose(analog[inside], np.interp(t_a[inside], emg.t_s, emg.data[:, 0]), rtol=1e-5, atol=1e-3)
    before_camera = inside & (t_a < 0.6)
    assert before_camera.sum() > 400 and np.nanstd(analog[before_camera]) > 0  # the 0.4 s before the camera
    assert np.isnan(analog[~inside]).all()
    times = ev_times[:, 0] * 60 + ev_times[:, 1]
    assert (ev_times >= 0).all() and (ev_times[:, 1] < 60).all()
    assert "drill_start" not in ev_labels
    np.testing.assert_allclose(times[ev_labels.index("emg_onset")], 0.25 - t0, atol=1e-5)
    np.testing.assert_allclose(times[ev_labels.index("pain")], 2.0 - t0, atol=1e-5)
    side = json.loads((tmp_path / "late.c3d.json").read_text())
    assert [e["kind"] for e in side["events_left_out"]] == ["drill_start"]
    assert side["t0_s"] == pytest.approx(t0, abs=1e-6) and side["first_pose_frame"] == first_pose


def test_c3d_also_reads_in_ezc3d(sensor_recording, tmp_path):
    ezc3d = pytest.importorskip("ezc3d", reason="the C3D export needs the 'export' extra (ezc3d)")

    out = tmp_path / "e.c3d"
    assert _export(sensor_recording["path"], "c3d", out) == 0
    c = ezc3d.c3d(str(out))
    assert c["parameters"]["ANALOG"]["UNITS"]["value"][:4] == ["uV", "uV", "g", "g"]
    d = c["parameters"]["ANALOG"]["DESCRIPTIONS"]["value"]
    assert any("emg_slow, nominal 10 Hz" in x for x in d) and any("imu_acc, nominal 1000 Hz" in x for x in d)


def test_bids_keeps_every_stream_at_its_own_rate(sensor_recording, tmp_path):
    out = tmp_path / "bids"
    assert _export(sensor_recording["path"], "bids", out) == 0
    assert _mode(out) == 0o700
    desc = json.loads((out / "dataset_description.json").read_text())
    assert desc["BIDSVersion"] and desc["DatasetType"] == "raw"
    folder = out / "sub-c07" / "motion"
    assert all(_mode(p) == 0o600 for p in folder.iterdir())
    rec = sensor_recording["rec"]
    stem = "sub-c07_task-movekit_tracksys-"
    for sys_name, stream, ctype in (
        ("emgBiceps", "emg_biceps", "MISC"),
        ("imuAcc", "imu_acc", "ACCEL"),
        ("emgSlow", "emg_slow", "MISC"),
        ("mediapipeWorld", "pose_world_m", "POS"),
    ):
        s = rec.streams[stream]
        data = pd.read_csv(folder / f"{stem}{sys_name}_motion.tsv", sep="\t", header=None, na_values="n/a")
        chans = pd.read_csv(folder / f"{stem}{sys_name}_channels.tsv", sep="\t", keep_default_na=False)
        side = json.loads((folder / f"{stem}{sys_name}_motion.json").read_text())
        assert list(chans.columns[:5]) == ["name", "component", "type", "tracked_point", "units"]
        frame = {"POS": "camera", "ACCEL": "sensor"}.get(ctype, "n/a")
        assert set(chans["reference_frame"].iloc[1:]) == {frame}
        if frame != "n/a":
            levels = json.loads((folder / f"{stem}{sys_name}_channels.json").read_text())["reference_frame"]["Levels"]
            assert set(levels) == {frame} and set(levels[frame]) >= {"SpatialAxes", "RotationRule", "Description"}
        assert chans["type"].iloc[0] == "LATENCY" and set(chans["type"].iloc[1:]) == {ctype}
        assert list(chans["units"].iloc[1:]) == [s.spec.unit] * (len(chans) - 1)
        assert data.shape == (len(s), len(chans))
        assert side["SamplingFrequency"] == pytest.approx(s.spec.rate_hz)
        assert side["MotionChannelCount"] == len(chans)
        assert side["movekit_onset_session_s"] == 0.0  # every stream starts at 0 s on the session clock
        np.testing.assert_allclose(data[0].to_numpy(), s.t_s, atol=1e-6)
        x = s.data.reshape(len(s), -1)
        np.testing.assert_array_equal(data.iloc[:, 1:].to_numpy(np.float32), x)  # float32 exactly
    pos = pd.read_csv(folder / f"{stem}mediapipeWorld_channels.tsv", sep="\t")
    assert list(pos["component"][1:4]) == ["x", "y", "z"] and pos["tracked_point"][1] == "nose"
    ang = pd.read_csv(folder / f"{stem}movekitAngles_channels.tsv", sep="\t")
    assert (ang["type"] == "JNTANG").sum() == 21 and (ang["units"][1:] == "deg").all()
    ev = pd.read_csv(folder / "sub-c07_task-movekit_events.tsv", sep="\t")
    assert list(ev.columns) == ["onset", "duration", "trial_type", "value"]
    pain = ev[ev["trial_type"] == "pain"]
    assert len(pain) == 1 and pain["onset"].iloc[0] == pytest.approx(3.25)
    assert json.loads(pain["value"].iloc[0]) == {"score": 4, "source": "key"}
    assert len(ev) == len(rec.events)


def test_bids_onsets_and_latencies_count_from_the_first_stored_sample(late_camera_recording, tmp_path):
    """EMG from 0.2 s, the camera from 0.6 s, the drill's start at 0 s: latency 0 is the first EMG
    sample, the camera's first latency 0.4 s, onsets on the same zero (the drill's start -0.2 s)."""
    out = tmp_path / "b"
    assert _export(late_camera_recording, "bids", out) == 0
    folder = out / "sub-c07" / "motion"
    stem = "sub-c07_task-movekit_"
    world = pd.read_csv(folder / f"{stem}tracksys-mediapipeWorld_motion.tsv", sep="\t", header=None, na_values="n/a")
    emg = pd.read_csv(folder / f"{stem}tracksys-emg_motion.tsv", sep="\t", header=None, na_values="n/a")
    assert emg[0].iloc[0] == pytest.approx(0.0, abs=1e-6) and world[0].iloc[0] == pytest.approx(0.4, abs=1e-6)
    for name in ("mediapipeWorld", "emg", "movekitAngles"):
        side = json.loads((folder / f"{stem}tracksys-{name}_motion.json").read_text())
        assert side["movekit_onset_session_s"] == pytest.approx(0.2)
    ev = pd.read_csv(folder / f"{stem}events.tsv", sep="\t").set_index("trial_type")["onset"]
    assert ev["drill_start"] == pytest.approx(-0.2) and ev["emg_onset"] == pytest.approx(0.05)
    assert ev["pain"] == pytest.approx(1.8)  # 2.0 s on the session clock
    desc = json.loads((folder / f"{stem}events.json").read_text())["onset"]["Description"]
    assert "first data point stored" in desc and "0.200000 s on the session clock" in desc


# ---------------------------------------------------------------------------------------------
# output safety
# ---------------------------------------------------------------------------------------------
def test_never_overwrites_without_asking(demo_recording, tmp_path, capsys):
    out = tmp_path / "a.trc"
    out.write_text("precious\n")
    assert _export(demo_recording, "trc", out) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "already exists" in err and "--overwrite" in err
    assert out.read_text() == "precious\n" and not (tmp_path / "a.trc.json").exists()
    assert _export(demo_recording, "trc", out, "--overwrite") == 0
    assert out.read_text().startswith("PathFileType\t4") and _mode(out) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.trc", "a.trc.json"]  # no temporary left
    (tmp_path / "dir.csv").mkdir()
    assert _export(demo_recording, "csv", tmp_path / "dir.csv", "--overwrite") == 2  # a folder is never replaced
    assert "not a movekit export" in capsys.readouterr().err
    (tmp_path / "dir.csv").rmdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "notes.txt").write_text("keep me")
    assert _export(demo_recording, "bids", tmp_path / "b") == 2
    assert "already exists" in capsys.readouterr().err
    assert _export(demo_recording, "bids", tmp_path / "b", "--overwrite") == 2  # not an export: never deleted
    assert "not a movekit export" in capsys.readouterr().err and (tmp_path / "b" / "notes.txt").exists()
    assert _export(demo_recording, "bids", tmp_path / "c") == 0
    assert _export(demo_recording, "bids", tmp_path / "c", "--overwrite") == 0  # an earlier export is replaced


def test_refuses_to_write_over_or_into_the_input(demo_recording, tmp_path, capsys):
    before = sorted(p.name for p in demo_recording.rglob("*"))
    assert _export(demo_recording, "bids", demo_recording, "--overwrite") == 2
    assert "is also the input" in capsys.readouterr().err  # the shared policy (movekit.outputs)
    assert _export(demo_recording, "csv", demo_recording / "x.csv", "--overwrite") == 2
    assert "inside the input" in capsys.readouterr().err
    assert sorted(p.name for p in demo_recording.rglob("*")) == before
    assert _export(demo_recording, "trc", tmp_path / "missing" / "x.trc") == 2
    assert "does not exist" in capsys.readouterr().err


@pytest.mark.filterwarnings("ignore:No point data found in file")
def test_sensor_only_recording_exports_c3d_analogs_and_bids(tmp_path):
    """A drill-style recording with real EMG only (no camera): C3D holds the analogs, BIDS both rates."""
    c3d = pytest.importorskip("c3d", reason="py-c3d is the independent C3D reader of this test")
    pytest.importorskip("ezc3d", reason="the C3D export needs the 'export' extra (ezc3d)")
    from movekit.datasets import fetch
    from movekit.emg_io import read_emg
    from movekit.recording import RecordingWriter, StreamSpec

    emg, slow = read_emg(fetch("plux_emg_bursts")), read_emg(fetch("plux_emg_10_hz"))
    src = tmp_path / "emg.mkrec"
    with RecordingWriter(src, {"client": "c9"}) as w:
        w.add_stream(StreamSpec("emg", (1,), "uV", 1000.0, ("biceps",), kind="emg"))
        w.append("emg", emg.t_s[:5000], emg.data_uv[:5000])
        w.add_stream(StreamSpec("slow", (1,), "uV", 10.0, ("adductor",), kind="emg"))
        w.append("slow", slow.t_s[:50], slow.data_uv[:50])
        w.event(1.5, "marker", note="start")
    assert _export(src, "trc", tmp_path / "x.trc") == 2  # markers need pose: one-line refusal
    assert _export(src, "c3d", tmp_path / "e.c3d") == 0
    with open(tmp_path / "e.c3d", "rb") as f:
        r = c3d.Reader(f)
        analog = np.concatenate([fr[2] for fr in r.read_frames(copy=True)], axis=1)
        assert r.point_used == 0 and r.analog_rate == pytest.approx(1000.0)
        labels = [s.strip() for s in r.analog_labels]
    got = analog[labels.index("emg.biceps")]
    np.testing.assert_allclose(got[:5000], emg.data_uv[:5000, 0].astype(np.float32), rtol=1e-6, atol=1e-4)
    assert _export(src, "bids", tmp_path / "b") == 0
    m = tmp_path / "b" / "sub-c9" / "motion"
    assert json.loads((m / "sub-c9_task-movekit_tracksys-slow_motion.json").read_text())["SamplingFrequency"] == 10
    slow_tsv = pd.read_csv(m / "sub-c9_task-movekit_tracksys-slow_motion.tsv", sep="\t", header=None)
    np.testing.assert_array_equal(slow_tsv[1].to_numpy(np.float32), slow.data_uv[:50, 0].astype(np.float32))


def test_irregular_frames_are_put_on_a_uniform_grid(demo_pose):
    """Dropped webcam frames (every 7th frame of the real demo removed): the TRC grid stays uniform at
    30 Hz, kept frames are exact and a dropped frame is the mean of its two neighbours."""
    from dataclasses import replace

    from movekit.export.markers import from_pose

    keep = np.ones(len(demo_pose), bool)
    keep[3::7] = False
    cut = replace(
        demo_pose,
        t_s=demo_pose.t_s[keep],
        image_px=demo_pose.image_px[keep],
        world_m=demo_pose.world_m[keep],
        visibility=demo_pose.visibility[keep],
        presence=demo_pose.presence[keep],
    )
    m = from_pose(cut, space="3d")
    assert m.rate_hz == pytest.approx(30.0, rel=1e-3) and m.notes["resampled"]
    np.testing.assert_allclose(m.t_s, demo_pose.t_s[: len(m.t_s)], atol=1e-6)
    full = from_pose(demo_pose, space="3d")
    assert not full.notes["resampled"]
    np.testing.assert_allclose(
        m.xyz_m[keep[: len(m.t_s)]], full.xyz_m[keep][: keep[: len(m.t_s)].sum()], atol=1e-9, equal_nan=True
    )
    i = 3 + 7 * 10  # a dropped frame
    np.testing.assert_allclose(m.xyz_m[i], (full.xyz_m[i - 1] + full.xyz_m[i + 1]) / 2, atol=1e-9, equal_nan=True)


@pytest.mark.parametrize("damage", ["pose_world_m deleted", "pose_visibility cut to 100 bytes"])
def test_a_damaged_pose_is_refused_not_exported_without_markers(demo_recording, tmp_path, capsys, damage):
    """A pose stream lost (deleted, or unreadable after a bad copy) is a one-line error in every format,
    nothing written; only a recording with no pose stream at all exports without markers."""
    import shutil

    src = tmp_path / "damaged.mkrec"
    shutil.copytree(demo_recording, src)
    name = damage.split()[0]
    f = src / "streams" / f"{name}.arrows"
    if "deleted" in damage:
        f.unlink()
    else:
        f.write_bytes(f.read_bytes()[:100])
    out = tmp_path / "out"
    out.mkdir()
    for fmt in ("c3d", "trc", "bids", "csv"):
        target = out / ("b" if fmt == "bids" else f"d.{fmt}")
        assert _export(src, fmt, target) == 2
        err = [line for line in capsys.readouterr().err.splitlines() if not line.startswith("movekit: warning")]
        assert len(err) == 1 and f"({name} missing or unreadable)" in err[0] and "pose is damaged" in err[0]
    assert list(out.iterdir()) == []


@pytest.mark.parametrize(
    "option",
    [
        ("--m-per-px", "-1"),
        ("--m-per-px", "0"),
        ("--m-per-px", "nan"),
        ("--height-m", "-2"),
        ("--height-m", "170"),  # centimetres typed for metres
        ("--min-visibility", "5"),
        ("--min-visibility", "nan"),
    ],
)
def test_numeric_options_are_checked_before_anything_is_written(demo_recording, tmp_path, capsys, option):
    assert _export(demo_recording, "trc", tmp_path / "x.trc", "--space", "2d", *option) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(f"movekit export: error: argument {option[0]}: must be")
    assert list(tmp_path.iterdir()) == []


def test_a_marker_is_whole_or_blank(demo_pose, tmp_path):
    """A 2D landmark with an x but no y (a damaged stream) is missing in all three coordinates: never
    a Z of 0 beside blank X and Y."""
    from dataclasses import replace

    from movekit.export.markers import from_pose
    from movekit.export.trc import trc_text

    img = demo_pose.image_px.copy()
    img[:, 0, 1] = np.nan  # the nose's y lost, its x and visibility kept
    m = from_pose(replace(demo_pose, image_px=img), space="2d", m_per_px=0.0025)
    seen = demo_pose.visibility[:, 0] >= 0.5
    assert seen.sum() > 100 and np.isnan(m.xyz_m[:, 0]).all()
    assert np.isfinite(m.xyz_m[seen, 11]).all()  # the other landmarks are untouched
    (tmp_path / "n.trc").write_text(trc_text(m, "n.trc"))
    trc = read_trc(tmp_path / "n.trc")
    assert np.isnan(trc["xyz"][:, 0]).all() and np.isfinite(trc["xyz"][seen, 11]).all()


def test_out_must_carry_the_formats_extension(demo_recording, tmp_path, capsys):
    """A TRC is never written into a .csv (even with --overwrite) or a .json: refused before anything
    is written, naming the extension expected."""
    table = tmp_path / "demo.csv"
    assert _export(demo_recording, "csv", table) == 0
    before = table.read_bytes()
    for fmt, out, extra in (
        ("trc", table, ("--overwrite",)),
        ("trc", tmp_path / "d.trc.json", ()),
        ("parquet", tmp_path / "d.csv", ()),
        ("c3d", tmp_path / "d", ()),
        ("bids", tmp_path / "b.csv", ()),
    ):
        assert _export(demo_recording, fmt, out, *extra) == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and (f"must end in .{fmt}" in err or "writes a folder" in err)
    assert table.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo.csv", "demo.csv.json"]


def test_every_file_says_the_session_time_of_its_first_row(late_camera_recording, tmp_path):
    """The camera starts 0.6 s into the session, the EMG 0.2 s: TRC/MOT count from their first frame,
    C3D from frame 1 (the first EMG sample), CSV/Parquet are on the session clock, and each file (where
    its format has room) and its sidecar give the session time of its first row."""
    import pyarrow.parquet as pq

    for fmt in ("trc", "mot", "c3d", "csv", "parquet"):
        assert _export(late_camera_recording, fmt, tmp_path / f"x.{fmt}") == 0
    side = {f: json.loads((tmp_path / f"x.{f}.json").read_text()) for f in ("trc", "mot", "c3d", "csv", "parquet")}
    assert side["trc"]["t0_s"] == pytest.approx(0.6) and read_trc(tmp_path / "x.trc")["t"][0] == 0.0
    mot = read_mot(tmp_path / "x.mot")
    assert mot["header"]["movekit_t0_s"] == "0.600000" and side["mot"]["t0_s"] == pytest.approx(0.6)
    assert mot["data"][0, 0] == 0.0
    assert side["c3d"]["t0_s"] == pytest.approx(0.2) and "MOVEKIT:T0_S" in side["c3d"]["time"]
    assert pd.read_csv(tmp_path / "x.csv")["time_s"].iloc[0] == side["csv"]["t0_s"] == pytest.approx(0.6)
    meta = json.loads(pq.read_schema(tmp_path / "x.parquet").metadata[b"movekit"])
    assert meta["t0_s"] == side["parquet"]["t0_s"] == pytest.approx(0.6)
    assert all("t0_s" in s["time"] for s in side.values())


def test_bids_gives_the_live_errors_as_misc_beside_the_live_angles(demo_recording, tmp_path):
    """The live run's expected errors (live_angles_err_deg) export as their own tracking system,
    typed MISC (an error in deg is not a joint angle), one per live angle, with their values."""
    from movekit.recording import open_recording

    out = tmp_path / "b"
    assert _export(demo_recording, "bids", out) == 0
    folder = next((out).glob("sub-*/motion"))
    err = pd.read_csv(next(folder.glob("*tracksys-liveAnglesErrDeg_channels.tsv")), sep="\t")
    ang = pd.read_csv(next(folder.glob("*tracksys-liveAnglesDeg_channels.tsv")), sep="\t")
    assert set(err["type"].iloc[1:]) == {"MISC"} and set(ang["type"].iloc[1:]) == {"JNTANG"}
    assert list(err["name"].iloc[1:]) == list(ang["name"].iloc[1:]) and (err["units"].iloc[1:] == "deg").all()
    data = pd.read_csv(
        next(folder.glob("*tracksys-liveAnglesErrDeg_motion.tsv")), sep="\t", header=None, na_values="n/a"
    )
    stored = open_recording(demo_recording).streams["live_angles_err_deg"].data
    assert np.isfinite(stored).sum() > 1000
    # n/a where no error was measured, and where left/right was relabelled (inf in the recording)
    expected = np.where(np.isinf(stored), np.nan, stored)
    np.testing.assert_array_equal(data.iloc[:, 1:].to_numpy(np.float32), expected)
