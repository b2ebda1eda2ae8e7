"""Recording format: round trip, crash recovery, truncation, corruption, full disk."""

from __future__ import annotations

import json
import os
import subprocess

import numpy as np
import pyarrow as pa
import pytest

from movekit.errors import MovekitError
from movekit.recording import RecordingWriter, StreamSpec, open_recording


def _emg_spec():
    return StreamSpec("emg", (2,), "uV", 1000.0, ("vmo", "vl"), kind="emg")


def test_round_trip_streams_events_metadata(tmp_path):
    rng = np.random.default_rng(0)
    t = np.arange(2500) / 1000.0
    x = rng.normal(size=(2500, 2)).astype(np.float32)
    lm = rng.normal(size=(10, 33, 3)).astype(np.float32)
    with RecordingWriter(tmp_path / "r.mkrec", {"client": "c01", "calibration": {"k": [1, 2]}}) as w:
        w.add_stream(_emg_spec())
        w.add_stream(StreamSpec("pose_world_m", (33, 3), "m", 30.0, kind="pose_world"))
        for i in range(0, 2500, 100):
            w.append("emg", t[i : i + 100], x[i : i + 100])
        w.append("pose_world_m", np.arange(10) / 30, lm)
        w.event(1.25, "pain", source="key")
        w.event(2.0, "cue", what="brace", values={"core_emg_pct_mvc": 12.5})
    r = open_recording(tmp_path / "r.mkrec")
    assert r.closed and r.problems == []
    assert r.metadata["client"] == "c01" and r.metadata["calibration"] == {"k": [1, 2]}
    np.testing.assert_array_equal(r.streams["emg"].t_s, t)
    np.testing.assert_array_equal(r.streams["emg"].data, x)
    np.testing.assert_array_equal(r.streams["pose_world_m"].data, lm)
    assert r.streams["emg"].spec == _emg_spec()
    assert [e["kind"] for e in r.events] == ["pain", "cue"]
    assert r.events[1]["values"]["core_emg_pct_mvc"] == 12.5
    assert r.metadata["samples"] == {"emg": 2500, "pose_world_m": 10}


def test_readable_without_movekit(tmp_path):
    """A researcher reads a stream with plain pyarrow/pandas and events with json."""
    with RecordingWriter(tmp_path / "r.mkrec") as w:
        w.add_stream(_emg_spec())
        w.append("emg", [0.0, 0.001], [[1.5, 2.5], [3.5, 4.5]])
        w.event(0.5, "marker")
    with pa.memory_map(str(tmp_path / "r.mkrec/streams/emg.arrows")) as f:
        df = pa.ipc.open_stream(f).read_pandas()
    assert list(df.columns) == ["t_s", "vmo_uv", "vl_uv"]
    assert df["vl_uv"].tolist() == [2.5, 4.5]
    lines = (tmp_path / "r.mkrec/events.jsonl").read_text().splitlines()
    assert json.loads(lines[0]) == {"t_s": 0.5, "kind": "marker"}


def test_metadata_and_events_are_strict_json(tmp_path):
    """JSON has no NaN: a missing figure (a separation not defined for three cameras, a median of
    nothing) is written as null, so strict readers (JavaScript's JSON.parse, jq) read the files."""

    def strict(text):
        return json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in strict JSON"))

    with RecordingWriter(tmp_path / "r.mkrec", {"multiview": {"separation_deg": float("nan")}}) as w:
        w.event(0.5, "view_blocked", median_error_torso=np.float32("nan"), worst=[1.0, float("inf")])
    meta = strict((tmp_path / "r.mkrec/meta.json").read_text())
    assert meta["multiview"]["separation_deg"] is None
    ev = strict((tmp_path / "r.mkrec/events.jsonl").read_text().splitlines()[0])
    assert ev["median_error_torso"] is None and ev["worst"] == [1.0, None]


def test_samples_going_back_in_time_are_left_out_and_said(tmp_path):
    """The session clock never goes back: in a damaged stream a sample earlier than one before it is
    left out, and the reader says how many (equal times are kept: a device may stamp a batch once)."""
    with RecordingWriter(tmp_path / "r.mkrec") as w:
        w.add_stream(_emg_spec())
        w.append("emg", [0.0, 0.1, 0.1, 0.05, 0.2], np.arange(10, dtype=np.float32).reshape(5, 2))
    r = open_recording(tmp_path / "r.mkrec")
    np.testing.assert_array_equal(r.streams["emg"].t_s, [0.0, 0.1, 0.1, 0.2])
    np.testing.assert_array_equal(r.streams["emg"].data[:, 0], [0, 2, 4, 8])
    assert any("1 samples earlier than one before them left out" in p for p in r.problems), r.problems


def test_existing_path_refused_unless_overwrite(tmp_path):
    RecordingWriter(tmp_path / "r.mkrec").close()
    with pytest.raises(MovekitError, match="already exists"):
        RecordingWriter(tmp_path / "r.mkrec")
    RecordingWriter(tmp_path / "r.mkrec", overwrite=True).close()
    (tmp_path / "notarec").mkdir()
    (tmp_path / "notarec" / "precious.txt").write_text("x")
    with pytest.raises(MovekitError, match="not a recording"):
        RecordingWriter(tmp_path / "notarec", overwrite=True)
    assert (tmp_path / "notarec" / "precious.txt").exists()


def test_unclosed_recording_opens_with_notice(tmp_path):
    w = RecordingWriter(tmp_path / "r.mkrec", flush_interval_s=0.0)
    w.add_stream(_emg_spec())
    w.append("emg", np.arange(50) / 1000, np.ones((50, 2)))
    r = open_recording(tmp_path / "r.mkrec")  # the writer is still open: like a crash
    assert not r.closed
    assert len(r.streams["emg"]) == 50
    assert "not closed cleanly" in r.problems[0]
    with pytest.raises(MovekitError, match="not closed cleanly"):
        open_recording(tmp_path / "r.mkrec", strict=True)


def test_truncated_stream_keeps_complete_batches(tmp_path):
    w = RecordingWriter(tmp_path / "r.mkrec", flush_interval_s=0.0)
    w.add_stream(_emg_spec())
    for i in range(10):
        w.append("emg", np.arange(100) / 1000 + i / 10, np.full((100, 2), i))
    w.close()
    f = tmp_path / "r.mkrec/streams/emg.arrows"
    size = f.stat().st_size
    with open(f, "r+b") as fh:
        fh.truncate(size - 500)  # cut into the last batch
    r = open_recording(tmp_path / "r.mkrec")
    s = r.streams["emg"]
    assert len(s) == 900 and s.data[-1, 0] == 8
    assert any("emg.arrows is cut short" in p and "recovered 900 samples" in p for p in r.problems)
    with pytest.raises(MovekitError, match="recovered 900 samples"):
        open_recording(tmp_path / "r.mkrec", strict=True)


def test_truncated_events_line(tmp_path):
    with RecordingWriter(tmp_path / "r.mkrec") as w:
        w.event(1.0, "pain")
        w.event(2.0, "pain")
    path = tmp_path / "r.mkrec/events.jsonl"
    path.write_text(path.read_text()[:-8])
    r = open_recording(tmp_path / "r.mkrec")
    assert len(r.events) == 1 and "line 2 is cut short" in r.problems[0]


def test_corrupt_or_missing_files_give_clear_errors(tmp_path):
    with pytest.raises(MovekitError, match="no recording at"):
        open_recording(tmp_path / "nothing.mkrec")
    (tmp_path / "plain").mkdir()
    with pytest.raises(MovekitError, match="not a movekit recording"):
        open_recording(tmp_path / "plain")
    w = RecordingWriter(tmp_path / "r.mkrec")
    w.add_stream(_emg_spec())
    w.close()
    (tmp_path / "r.mkrec/streams/emg.arrows").write_bytes(os.urandom(300))
    (tmp_path / "r.mkrec/events.jsonl").write_text("")
    with pytest.raises(MovekitError, match="emg.arrows: not a readable Arrow stream"):
        open_recording(tmp_path / "r.mkrec")
    (tmp_path / "r.mkrec/meta.json").write_text("{broken")
    with pytest.raises(MovekitError, match="meta.json is unreadable"):
        open_recording(tmp_path / "r.mkrec")


@pytest.fixture
def tiny_fs(tmp_path):
    """A real 256 KiB filesystem that fills up (needs permission to mount tmpfs)."""
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)], capture_output=True, text=True
    )
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {proc.stderr.strip()}")
    yield mnt
    subprocess.run(["umount", str(mnt)], check=False)


def test_full_disk_clear_error_and_flushed_data_kept(tiny_fs):
    w = RecordingWriter(tiny_fs / "r.mkrec", flush_interval_s=0.0)
    w.add_stream(_emg_spec())
    written = 0
    with pytest.raises(MovekitError, match="disk full while writing"):
        for i in range(10_000):
            w.append("emg", np.arange(1000) / 1000 + i, np.full((1000, 2), i, np.float32))
            written += 1000
    r = open_recording(tiny_fs / "r.mkrec")
    assert written > 0
    assert len(r.streams["emg"]) >= written - 1000  # at most the batch being written is lost
    kept = r.streams["emg"].data[:, 0]
    np.testing.assert_array_equal(kept, np.arange(len(kept)) // 1000)  # intact and in order


def test_flushes_each_second_of_session_time_even_faster_than_real_time(tmp_path):
    """A video processed faster than real time still loses at most one second of session."""
    w = RecordingWriter(tmp_path / "r.mkrec", flush_interval_s=1.0)
    w.add_stream(_emg_spec())
    for i in range(250):  # 2.5 s of session time, written in a few milliseconds
        w.append("emg", [i / 100], [[i, i]])
    kept = open_recording(tmp_path / "r.mkrec").streams["emg"]  # the writer is still open
    assert kept.t_s[-1] >= 2.49 - 1.0
    w.close()


def test_info_shows_samples_lost_from_a_device_stream(tmp_path):
    """A 100 Hz device stream with every tenth sample lost: the median interval still says
    100 Hz, so info also gives the delivered rate (samples over the span) and says samples were lost."""
    from movekit.summary import format_summary, summarise

    t = np.arange(1000) / 100.0
    keep = np.arange(1000) % 10 != 5
    with RecordingWriter(tmp_path / "r.mkrec", {}) as rec:
        rec.add_stream(StreamSpec("imu", (3,), "deg/s", 100.0, ("x", "y", "z"), kind="imu"))
        rec.append("imu", t[keep], np.zeros((int(keep.sum()), 3), np.float32))
    s = summarise(open_recording(tmp_path / "r.mkrec"))
    st = s["streams"]["imu"]
    assert st["measured_rate_hz"] == pytest.approx(100.0)
    assert st["delivered_rate_hz"] == pytest.approx(899 / 9.99, rel=1e-6)
    assert "90.0 Hz delivered (samples lost)" in format_summary(s)


def test_killed_before_any_data_leaves_readable_empty_streams(tmp_path):
    """SIGKILL right after the streams were added (before the first second of data): every stream
    file holds a valid Arrow header, the recording opens and says nothing was written yet."""
    import signal
    import sys

    rec = tmp_path / "k.mkrec"
    code = (
        "import os, signal, sys\n"
        "from movekit.recording import RecordingWriter, StreamSpec\n"
        "w = RecordingWriter(sys.argv[1], {})\n"
        "w.add_stream(StreamSpec('a', (3,), 'deg', 100.0))\n"
        "w.add_stream(StreamSpec('b', (33, 3), 'px', 30.0))\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    p = subprocess.run([sys.executable, "-c", code, str(rec)])
    assert p.returncode == -signal.SIGKILL
    r = open_recording(rec)
    assert set(r.streams) == {"a", "b"} and all(len(s) == 0 for s in r.streams.values())
    assert "no data had been written yet" in r.problems[0]


def test_unclean_stop_reports_what_every_stream_holds(tmp_path):
    """Streams cut at different moments: the warning gives the time every stream reaches, then the longest."""
    with RecordingWriter(tmp_path / "r.mkrec", {}) as w:
        w.add_stream(StreamSpec("a", (1,), "1", 10.0))
        w.add_stream(StreamSpec("b", (1,), "1", 10.0))
        w.append("a", np.arange(50) / 10, np.zeros((50, 1), np.float32))
        w.append("b", np.arange(30) / 10, np.zeros((30, 1), np.float32))
    meta = json.loads((tmp_path / "r.mkrec" / "meta.json").read_text())
    meta["closed"] = False
    (tmp_path / "r.mkrec" / "meta.json").write_text(json.dumps(meta))
    p = open_recording(tmp_path / "r.mkrec").problems[0]
    assert "every stream recovered up to t = 2.90 s (the longest to 4.90 s)" in p
