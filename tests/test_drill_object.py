"""The drill as a library object: controls, the screen state, live in a capture -> exact replay,
home-program logging (what the CLI and the studio both call)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from movekit.analysis.synthetic import frontal_stick_px
from movekit.protocols.drill import Drill, emg_files_recording
from movekit.protocols.feeder import DrillFeeder
from movekit.protocols.runner import DrillRunner, load_protocol

pytestmark = pytest.mark.usefixtures("ungated")  # synthetic stick figure (see test_drill_pose.py)


def _core(feeder, t_end, controls=(), core=lambda t: 20.0 if t >= 10.0 else 2.0):
    """Feed core %MVC at 100 Hz; ``controls`` = [(t, action)] applied before the sample at t."""
    todo = sorted(controls)
    for t in np.round(np.arange(0, t_end, 0.01), 2):
        while todo and todo[0][0] <= t:
            feeder.control(todo[0][1], feeder.control_time())
            todo.pop(0)
        feeder.feed(float(t), {"core_pct_mvc": core(t)})


def test_pause_stops_the_hold_clock_and_state_shows_it():
    p = load_protocol("core_bracing_hold")
    plain = DrillFeeder(DrillRunner(p, available=["core_pct_mvc"]))
    _core(plain, 30.0)
    f = DrillFeeder(DrillRunner(p, available=["core_pct_mvc"]))
    _core(f, 12.0)
    snap = f.snapshot()  # 2 s into the first 10 s hold, 10-30 %MVC band
    assert (snap["control"], snap["mode"], snap["step"], snap["set"], snap["set_count"]) == (
        "running",
        "active",
        "brace",
        1,
        5,
    )
    assert snap["hold_s"] == pytest.approx(1.99) and snap["hold_remaining_s"] == pytest.approx(8.01)
    band = snap["targets"][0]
    assert (band["lo"], band["hi"], band["value"], band["met"]) == (10.0, 30.0, 20.0, True)
    assert f.control("pause", f.control_time())["action"] == "pause"
    assert f.control("pause", 12.5) is None  # already paused: nothing happens
    _core_more = [(t, {"core_pct_mvc": 20.0}) for t in np.round(np.arange(12.0, 17.0, 0.01), 2)]
    for t, m in _core_more:
        f.feed(float(t), m)
    assert f.snapshot()["hold_s"] == pytest.approx(1.99)  # frozen while paused
    f.control("resume", f.control_time())
    for t in np.round(np.arange(17.0, 30.0, 0.01), 2):
        f.feed(float(t), {"core_pct_mvc": 20.0})
    done = [e["t_s"] for e in f.runner.events if e["kind"] == "hold_complete"]
    done_plain = [e["t_s"] for e in plain.runner.events if e["kind"] == "hold_complete"]
    assert done_plain[0] == pytest.approx(20.0)
    assert done[0] == pytest.approx(25.0, abs=0.02)  # 5 s later: the 5 s paused did not count
    summary = [e for e in f.runner.events if e["kind"] == "set_summary"][0]
    assert summary["say"] == "Set 1 of 5 done: held 10 seconds."
    f.control("stop", f.control_time())
    end = f.runner.events[-1]
    assert (
        end["kind"] == "drill_end"
        and not end["completed"]
        and end["say"] == "Drill stopped: 1 set, best hold 10 seconds."
    )  # in the rest after set 1
    assert end["reason"].startswith("the drill was stopped ") and "s rest after set 1 of 5 of 'brace'" in end["reason"]
    assert f.snapshot()["control"] == "stopped"


def _frame(lift_px):
    return SimpleNamespace(image_px=frontal_stick_px(right_leg_lift_px=lift_px), visibility=np.ones(33, np.float32))


def test_live_observer_with_controls_replays_exactly(tmp_path):
    """A capture's view of the drill (start, frame, stop) with pause/resume/stop pressed on the
    'screen' mid-run; the recording replays to the same events, controls included."""
    from movekit.capture.clock import SessionClock
    from movekit.capture.pipeline import pose_stream_specs
    from movekit.recording import RecordingWriter, open_recording

    seen = []
    drill = Drill("single_leg_balance", on_event=seen.append)
    assert drill.state().mode == "init"
    obs = drill.observer(pose=True)
    rec = tmp_path / "bal.mkrec"
    fps, vis = 30.0, np.ones(33, np.float32)
    states = {}
    with RecordingWriter(rec, {"video": {"width_px": 640, "height_px": 720}}) as w:
        for spec in pose_stream_specs(fps):
            w.add_stream(spec)
        obs.start(w, SessionClock(), None)
        ended_at = None
        for k in range(int(60 * fps)):
            t = k / fps
            est = _frame(45.0 if 8.0 <= t < 40.0 else 0.0)
            for name, arr in (("pose_image_px", est.image_px), ("pose_world_m", np.zeros((33, 3), np.float32))):
                w.append(name, [t], arr[None])
            w.append("pose_visibility", [t], vis[None])
            w.append("pose_presence", [t], vis[None])
            if obs.frame(t, est):
                ended_at = t
                break
            if k == int(12 * fps):
                states["before"] = drill.state()
                drill.pause()
            if k == int(15 * fps):
                states["paused"] = drill.state()
                drill.resume()
            if k == int(30 * fps):
                drill.stop()
        obs.stop(t)
    res = drill.finish(t)
    assert ended_at == pytest.approx(30.0 + 1 / fps)  # the frame after stop ends the capture
    assert states["before"].hold_s == pytest.approx(states["paused"].hold_s)  # frozen while paused
    assert states["paused"].control == "paused" and states["paused"].set_index == 1
    json.dumps(states["paused"].as_dict(), allow_nan=False)  # what the studio sends as JSON
    assert states["before"].targets[0].metric == "right_foot_lift_ratio" and states["before"].targets[0].met
    assert states["before"].hold_target_s == 30.0 and states["before"].hold_remaining_s == pytest.approx(26.0, abs=0.05)
    ctl = [(e["action"], round(e["t_s"], 3)) for e in seen if e["kind"] == "drill_control"]
    assert ctl == [("pause", 12.0), ("resume", 15.0), ("stop", 30.0)]
    # hold from 8 s; 3 s paused; stopped at 30 s: 19 s held on the drill's clock
    assert res.sets[0]["hold_s"] == pytest.approx(19.0, abs=0.05) and not res.completed
    r = open_recording(rec)
    assert [e["action"] for e in r.events if e["kind"] == "drill_control"] == ["pause", "resume", "stop"]
    again = Drill.for_recording(r, "single_leg_balance").replay(r)
    assert again.replay_check is not None and again.replay_check[0], again.replay_check
    key = [(e["t_s"], e["kind"], e.get("id")) for e in res.events]
    assert [(e["t_s"], e["kind"], e.get("id")) for e in again.events] == key


def test_program_logging_hook(tmp_path):
    from movekit.clinic.program import assign
    from movekit.clinic.store import Store

    db = tmp_path / "clinic.sqlite3"
    with Store(db) as s:
        s.add_client("C-1")
        s.add_client("C-2")
        assign(s, "C-1", "brace at home", drill_id="core_bracing_hold")
    t = np.arange(0, 40.0, 0.001)
    rng = np.random.default_rng(1)
    x = rng.normal(0, 5.0, t.shape) * np.where((t > 10) & (t < 22), 8.0, 1.0)
    src = tmp_path / "core.csv"
    np.savetxt(src, np.column_stack([t, x]), delimiter=",", header="time_s,abdominal_uv", comments="")
    rec = emg_files_recording([src])
    mvc = {"core": 60.0}
    roles = {"abdominal": "core"}
    res = Drill("core_bracing_hold", channel_roles=roles, mvc_uv=mvc, client="C-1", db=db).replay(rec)
    assert res.program_log.status == "logged" and res.sets
    assert Drill("core_bracing_hold", channel_roles=roles, mvc_uv=mvc, client="C-2", db=db).replay(
        rec
    ).program_log.message() == ("core_bracing_hold is not in C-2's home program; nothing was logged")
    with Store(db) as s:
        logs = s.program_logs("C-1")
    assert len(logs) == 1 and logs[0]["source"] == "guided" and logs[0]["sets"] == len(res.sets)


def test_device_tracker_states_from_transport_events():
    """connecting -> connected -> reconnecting -> connected -> lost, from the BLE transport's events."""
    from movekit.capture.ble.transport import BleEvent
    from movekit.protocols.drill import DeviceTracker

    tr = DeviceTracker(["thigh", "belly"], lost_after_s=5.0, t0_s=1.0)
    assert [d.state for d in tr.snapshot(1.5)] == ["connecting", "connecting"] and not tr.all_connected()
    assert tr.on_event(BleEvent(2.0, "device_not_found", "belly", "C0:FF:EE:00:00:05 not found in a 5 s scan")) is None
    assert tr.on_event(BleEvent(2.1, "device_disconnected", "belly", "link lost")) is None  # never connected
    assert tr.on_event(BleEvent(2.2, "device_connected", "thigh", "connected")) == "connected"
    assert tr.on_sample("thigh", 2.3) is None  # already connected
    thigh, belly = tr.snapshot(3.0)
    assert (thigh.state, thigh.since_sample_s, thigh.down_s) == ("connected", 0.7, None)
    assert (belly.state, belly.since_sample_s, belly.down_s) == ("connecting", None, 2.0)
    assert belly.message.endswith("not found in a 5 s scan")
    assert tr.on_sample("belly", 3.1) == "connected" and tr.all_connected()
    assert tr.on_event(BleEvent(4.0, "device_disconnected", "thigh", "thigh link lost; reconnecting")) == "reconnecting"
    assert tr.labels_in("reconnecting") == ["thigh"] and tr.check(8.9) == []
    assert tr.on_event(BleEvent(9.0, "device_reconnected", "thigh", "reconnected after 5.00 s")) == "connected"
    assert tr.on_event(BleEvent(10.0, "device_disconnected", "thigh", "link lost")) == "reconnecting"
    assert tr.check(15.01) == ["thigh"] and tr.check(20.0) == []  # lost once, 5 s after the drop
    assert tr.snapshot(16.0)[0].message == "did not come back within 5 s"
    assert tr.on_event(BleEvent(17.0, "device_reconnected", "thigh", "")) is None  # lost stays lost
    assert tr.on_event(BleEvent(18.0, "device_gave_up", "belly", "belly: giving up after 3 attempts")) == "lost"
    assert tr.labels_in("lost") == ["thigh", "belly"]


def test_device_tracker_no_signal_from_a_silent_link():
    """connected -> no signal (``device_stalled``: link up, nothing sent) -> connected
    (``device_resumed``); silent too long -> lost; a silent device that also drops -> reconnecting."""
    from movekit.capture.ble.transport import BleEvent
    from movekit.protocols.drill import DeviceTracker

    tr = DeviceTracker(["thigh"], lost_after_s=5.0, t0_s=0.0)
    assert tr.on_event(BleEvent(0.5, "device_stalled", "thigh", "nothing yet")) is None  # still connecting
    assert tr.on_sample("thigh", 1.0) == "connected"
    assert tr.on_event(BleEvent(1.6, "device_stalled", "thigh", "thigh connected but sent nothing")) == "no signal"
    dev = tr.snapshot(2.0)[0]
    assert (dev.state, dev.since_sample_s, dev.down_s) == ("no signal", 1.0, 0.4) and not tr.all_connected()
    assert tr.on_event(BleEvent(3.0, "device_resumed", "thigh", "sends data again")) == "connected"
    assert tr.on_event(BleEvent(4.0, "device_stalled", "thigh", "")) == "no signal"
    assert tr.on_event(BleEvent(5.0, "device_disconnected", "thigh", "link lost")) == "reconnecting"
    assert tr.on_sample("thigh", 6.0) == "connected"
    assert tr.on_event(BleEvent(7.0, "device_stalled", "thigh", "")) == "no signal"
    assert tr.check(12.0) == [] and tr.check(12.01) == ["thigh"]
    assert tr.snapshot(13.0)[0].message == "sent no signal within 5 s"


def test_device_pause_is_said_first_superseded_when_back_and_replayed():
    """A pause the drill makes for a device says its own phrase at the device priority (over a rep
    count), from when the drop was noticed; back before it could be said, only "back" is said; a
    replay of the recorded controls says the same at the same times."""
    from movekit.feedback.audio import CueAudio
    from movekit.protocols.feeder import PRIORITY_COUNT, PRIORITY_DEVICE, control_fields

    def run(controls):
        audio = CueAudio(play=False, wav=False, speech=False)  # tones: the scheduling is the point
        f = DrillFeeder(DrillRunner(load_protocol("core_bracing_hold"), available=["core_pct_mvc"]), audio)
        _core(f, 2.0)
        audio.request(2.0, None, 440.0, 1.0, priority=PRIORITY_COUNT)  # a 1-s sound playing at the drop
        out = [f.control(a, t, **kw) for a, t, kw in controls]
        _core_at(f, 2.6, 4.0)
        f.finish(4.0)
        return out, [e for e in f.events if e["kind"] in ("speech", "speech_dropped")]

    down = {"cause": "device", "device": "thigh", "device_state": "no signal", "cue_t_s": 2.5}
    back = {"cause": "device", "device": "thigh", "device_state": "connected"}
    controls = [
        ("pause", 2.0, {**down, "say": ["Thigh sensor has no signal. Paused."]}),
        ("resume", 2.6, {**back, "say": ["Thigh sensor back.", "Resuming."]}),
    ]
    events, said = run(controls)
    assert [e["action"] for e in events] == ["pause", "resume"] and events[0]["cue_t_s"] == 2.5
    # tones stand in for speech here, so "text" is None: the sources and priorities tell them apart
    dev = [s for s in said if s["source"].startswith("device_")]
    assert [(s["kind"], s["source"]) for s in dev] == [
        ("speech_dropped", "device_pause"),  # still waiting behind the 1-s sound when the sensor came back
        ("speech", "device_resume"),
        ("speech", "device_resume"),
    ]
    assert "superseded" in dev[0]["reason"] and all(s["priority"] == PRIORITY_DEVICE for s in dev)
    again, said_again = run([(e["action"], e["t_s"], control_fields(e)) for e in events])
    assert said_again == said


def _core_at(feeder, t0, t1, value=2.0):
    for t in np.round(np.arange(t0, t1, 0.01), 2):
        feeder.feed(float(t), {"core_pct_mvc": value})


def test_drill_cli_reads_the_clients_mvc_from_the_store(tmp_path, capsys):
    """``movekit drill --client`` without ``--mvc``: the MVC the studio's MVC step stored."""
    from movekit.cli import main
    from movekit.clinic.store import Store

    db = tmp_path / "clinic.sqlite3"
    with Store(db) as s:
        s.add_client("C-1")
        s.add_mvc("C-1", {"core": 60.0}, channels={"core": "abdominal"}, recorded_utc="2026-12-01T09:00:00Z")
    t = np.arange(0, 40.0, 0.001)
    x = np.random.default_rng(1).normal(0, 5.0, t.shape) * np.where((t > 10) & (t < 22), 8.0, 1.0)
    src = tmp_path / "core.csv"
    np.savetxt(src, np.column_stack([t, x]), delimiter=",", header="time_s,abdominal_uv", comments="")
    log = tmp_path / "ev.jsonl"
    args = ["drill", "core_bracing_hold", str(src), "--channel", "core=abdominal", "--client", "C-1"]
    assert main([*args, "--db", str(db), "--log", str(log), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "MVC of C-1 from the clinic database (core 60 uV; recorded 2026-12-01)" in err
    got = [(e["t_s"], e["kind"], e.get("id")) for e in map(json.loads, log.read_text().splitlines())]
    direct = Drill("core_bracing_hold", channel_roles={"abdominal": "core"}, mvc_uv={"core": 60.0})
    want = [(e["t_s"], e["kind"], e.get("id")) for e in direct.replay(emg_files_recording([src])).events]
    assert got == want and any(k == "hold_start" for _, k, _ in got)  # %MVC needs the MVC
