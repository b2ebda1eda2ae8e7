"""A guided drill live on a real video, through the capture pipeline, logged to the home program."""

from __future__ import annotations

from run_cli import movekit as _mk

from movekit.live import LIVE_STREAM
from movekit.recording import open_recording


def _short_balance(tmp_path):
    """The shipped single-leg balance drill with a 1 s setup and one 5 s attempt, to fit the 7.7 s
    clip. It counts on the foot lift, which one camera gives (its joint angles it does not)."""
    from movekit.protocols.runner import PROTOCOL_DIR

    text = (PROTOCOL_DIR / "single_leg_balance.toml").read_text()
    text = text.replace("duration_s = 6", "duration_s = 1", 1).replace("sets = 3", "sets = 1", 1)
    text = text.replace("timeout_s = 45", "timeout_s = 5", 1)
    path = tmp_path / "single_leg_balance.toml"
    path.write_text(text)
    return path


def test_a_drill_counting_on_camera_angles_is_refused_before_recording(demo_clip, tmp_path):
    """Hip hinge counts reps on hip flexion or trunk inclination, which one camera never gives
    within their error limit: refused with the reason before anything is recorded (it had run
    to the end and said '0 of 8 reps')."""
    rec = tmp_path / "hinge.mkrec"
    p = _mk("drill", "hip_hinge", str(demo_clip), "-o", str(rec), "--no-sound", "--no-speech")
    assert p.returncode == 2 and "none of its rep options can be measured" in p.stderr
    assert "never within their 5 deg error limit" in p.stderr and not rec.exists()


def test_live_drill_on_video_records_replays_and_logs(demo_clip, tmp_path):
    db = str(tmp_path / "clinic.sqlite3")
    drill = str(_short_balance(tmp_path))
    assert _mk("client", "add", "C-7", "--db", db).returncode == 0
    p = _mk("program", "assign", "C-7", "balance at home", "--drill", "single_leg_balance", "--db", db)
    assert p.returncode == 0, p.stderr
    rec = tmp_path / "drill.mkrec"
    p = _mk("drill", drill, str(demo_clip), "-o", str(rec), "--no-sound", "--no-speech", "--client", "C-7", "--db", db)
    assert p.returncode == 0, p.stderr
    assert "logged in C-7's home program" in p.stdout
    r = open_recording(rec)
    # the drill ran inside the capture pipeline: pose, live angles, person following, drill events
    assert len(r.pose()) >= 100 and LIVE_STREAM in r.streams
    assert r.metadata["drill"] == "single_leg_balance" and "person_selection" in r.metadata
    kinds = {e["kind"] for e in r.events}
    assert "step_start" in kinds
    # replaying the recording issues the same drill events, and is not logged a second time
    assert "set_summary" in kinds
    p = _mk("drill", drill, str(rec), "--no-sound", "--no-speech", "--client", "C-7", "--db", db)
    assert p.returncode == 0, p.stderr + p.stdout
    assert "replay reproduces all" in p.stderr and "logged in" not in p.stdout
    p = _mk("program", "show", "C-7", "--db", db)
    assert p.returncode == 0 and "guided" in p.stdout
