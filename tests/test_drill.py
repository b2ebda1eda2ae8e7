"""Drill protocols and runner: loading, holds, reps, cues, live session -> recording -> exact replay."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy import signal

from movekit.cli import main
from movekit.errors import MovekitError
from movekit.feedback import audio
from movekit.protocols.runner import DrillRunner, load_protocol, shipped_drills

RATE = 1000.0


def test_shipped_drills_load_with_sides():
    names = shipped_drills()
    for n in ("core_bracing_hold", "lateral_step_down", "hip_hinge", "single_leg_balance"):
        assert n in names
        p = load_protocol(n)
        assert p.steps and p.title and p.references
    right = load_protocol("lateral_step_down", side="right")
    assert right.cues[0].conditions[0].metric == "right_knee_fppa_deg"
    bal = load_protocol("single_leg_balance", side="right")
    assert bal.steps[1].target_by == (("left_foot_lift_ratio > 0.08",),)  # the other foot lifts
    with pytest.raises(MovekitError, match="no drill"):
        load_protocol("no_such_drill")


def test_bad_protocol_files(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n[[steps]]\nid = "a"\nkind = "hold"\nhold_s = 5\n')
    with pytest.raises(MovekitError, match="needs target_by"):
        load_protocol(bad)
    bad.write_text('[[steps]]\nkind = "instruction"\nduration_s = 1\n[[cues]]\nid = "c"\nwhen = "x >> 1"\n')
    with pytest.raises(MovekitError, match="cannot read cue condition"):
        load_protocol(bad)
    # a misspelt key, impossible numbers, a repeated step and a cue for a step that is not there
    # had all been accepted (the misspelt key silently ignored; sets = 0 ran "set 1/0")
    step = '[[steps]]\nid = "a"\nkind = "instruction"\nduration_s = 1\n'
    for text, why in (
        ("stepz = 1\n" + step, "unknown key stepz"),
        (step + "hold_time = 5\n", "step 'a': unknown key hold_time"),
        (step.replace("duration_s = 1", "duration_s = -5"), "duration_s must be a number >= 0, not -5"),
        (step + "sets = 0\n", "sets must be a number >= 1, not 0"),
        (step + "timeout_s = 0\n", "timeout_s must be a number > 0"),
        (step + step, "step id a used more than once"),
        (step + '[[cues]]\nid = "c"\nwhen = "x > 1"\nduring = ["nowhere"]\n', "during nowhere names no step"),
    ):
        bad.write_text(text)
        with pytest.raises(MovekitError, match=why) as exc:
            load_protocol(bad)
        assert str(exc.value).startswith(str(bad))


def feed_series(runner, t, **metrics):
    events = []
    for i, ti in enumerate(t):
        events += runner.feed(float(ti), {k: float(v[i]) for k, v in metrics.items()})
    return events


def test_core_hold_restart_rest_and_cues():
    p = load_protocol("core_bracing_hold")
    r = DrillRunner(p, available=["core_pct_mvc"], min_gap_s=0.0)  # EMG only: the band target
    t = np.round(np.arange(0, 120, 0.01), 2)
    core = np.full(t.shape, 2.0)
    # set 1: brace from 10 s, lose it at 14-15 s (longer than the 0.5 s grace), re-brace to 25 s
    core[(t >= 10) & (t < 14)] = 20
    core[(t >= 15) & (t < 26)] = 20
    core[(t >= 19) & (t < 19.3)] = 45  # too hard for 0.3 s: shorter than min_duration, no cue
    # set 2 after 10 s rest (starts 35 s): brace 36-47 s, broken by 1 s too hard at 40 s
    core[(t >= 36) & (t < 47)] = 20
    core[(t >= 40) & (t < 41)] = 50
    ev = feed_series(r, t, core_pct_mvc=core)
    got = [
        (round(e["t_s"], 2), e["kind"], e.get("id"))
        for e in ev
        if e["kind"]
        in ("step_start", "set_start", "hold_start", "hold_break", "hold_complete", "cue", "rest_start", "set_summary")
    ]
    assert got[:20] == [
        (0.0, "step_start", None),
        (8.0, "step_start", None),
        (8.0, "set_start", None),
        (10.0, "hold_start", None),
        (11.0, "cue", "in_band"),  # in the band for its 1 s minimum
        (14.51, "hold_break", None),  # lost at 14 s, beyond the 0.5 s grace
        (15.0, "hold_start", None),  # 19-19.3 s at 45 %MVC is within the grace: the hold goes on
        (20.3, "cue", "in_band"),  # a new in-band episode after 19.3 s (0.3 s too hard < 0.5 s: no cue)
        (25.0, "hold_complete", None),
        (25.0, "set_summary", None),
        (25.0, "rest_start", None),
        (35.0, "set_start", None),
        (36.0, "hold_start", None),
        (37.0, "cue", "in_band"),
        (40.5, "cue", "too_hard"),
        (40.51, "hold_break", None),
        (41.0, "hold_start", None),
        (45.0, "cue", "in_band"),
        (47.51, "hold_break", None),
        (49.0, "cue", "too_soft"),
    ]
    timeouts = [e for e in ev if e["kind"] == "set_summary" and e["reason"] == "timeout"]
    assert timeouts[0]["t_s"] == pytest.approx(75.0)  # 40 s timeout of set 2
    assert timeouts[0]["hold_s"] == pytest.approx(6.0, abs=0.011) and not timeouts[0]["completed"]
    s1 = [e for e in ev if e["kind"] == "set_summary"][0]
    assert s1["completed"] and s1["hold_s"] == pytest.approx(10.0)
    assert s1["target"] == ["core_emg_pct_mvc in [10, 30]"]
    assert s1["metrics"]["core_emg_pct_mvc"]["max"] == 45.0
    assert s1["cues"].get("in_band", 0) >= 1


def test_reps_counted_and_knee_cue_from_pose_metrics():
    p = load_protocol("lateral_step_down")
    avail = ["left_knee_flexion_deg", "left_knee_fppa_deg", "trunk_lateral_lean_deg"]
    r = DrillRunner(p, available=avail, min_gap_s=0.0)
    t = np.round(np.arange(0, 40, 1 / 30), 4)
    # one rep every 3 s from 9 s: flexion 0 -> 60 -> 0 (sine), FPPA 15 deg on the 3rd rep only
    phase = np.clip((t - 9.0) % 3.0, 0, 3.0) / 3.0
    flex = np.where(t >= 9, 60 * np.sin(np.pi * phase) ** 2, 0)
    fppa = np.where((t >= 15) & (t < 18), 15 * np.sin(np.pi * phase) ** 2, 2.0)
    ev = feed_series(r, t, left_knee_flexion_deg=flex, left_knee_fppa_deg=fppa, trunk_lateral_lean_deg=np.zeros_like(t))
    reps = [e for e in ev if e["kind"] == "rep"]
    assert [e["rep"] for e in reps[:5]] == [1, 2, 3, 4, 5]
    assert reps[0]["t_s"] == pytest.approx(9 + 3 * (1 - np.arcsin(np.sqrt(15 / 60)) / np.pi), abs=1 / 30 + 1e-9)
    knee = [e for e in ev if e["kind"] == "cue" and e["id"] == "knee_alignment"]
    assert len(knee) == 1 and 15 < knee[0]["t_s"] < 18
    assert knee[0]["values"]["left_knee_fppa_deg"] > 10
    summary = [e for e in ev if e["kind"] == "set_summary"][0]
    assert summary["reps"] == 5 and summary["cues"] == {"knee_alignment": 1}
    # EMG-only cues are inactive with a notice, not an error
    assert any("vmo_on" in n for n in r.notices)


def test_drill_cut_short_says_where_it_stopped():
    """A source that ends in the opening instruction: the end names the step, how far into it,
    and what was never reached (a bare "stopped in setup" left the client guessing)."""
    p = load_protocol("lateral_step_down")
    r = DrillRunner(p, available=["left_knee_flexion_deg", "left_knee_fppa_deg"], min_gap_s=0.0)
    t = np.round(np.arange(0, 3, 1 / 30), 4)
    feed_series(r, t, left_knee_flexion_deg=np.zeros_like(t), left_knee_fppa_deg=np.zeros_like(t))
    end = r.finish(float(t[-1]))[-1]
    first = p.steps[0]
    assert end["kind"] == "drill_end" and not end["completed"] and end["stopped_in"] == first.id
    assert end["reason"] == (
        f"the source ended {t[-1] - t[0]:.1f} s into the {first.duration_s:g} s instruction {first.id!r}; "
        f"not reached: {', '.join(s.id for s in p.steps[1:])}"
    )


def emg_session(total_s=80.0, seed=2):
    """VMO and VL bursts like step-down reps (VL 30 ms first), 2 per 3 s, at 1 kHz."""
    rng = np.random.default_rng(seed)
    n = int(total_s * RATE)
    t = np.arange(n) / RATE
    x = rng.normal(0, 3.0, (n, 2))
    sos = signal.butter(4, [40, 200], "bandpass", fs=RATE, output="sos")
    starts = np.arange(10.0, total_s - 2, 1.5)
    for k, t0 in enumerate(starts):
        amp_vmo = 150.0 if k % 4 else 30.0  # every 4th rep the VMO stays quiet
        for ch, (delay, amp) in enumerate([(0.03, amp_vmo), (0.0, 150.0)]):
            i0 = int((t0 + delay) * RATE)
            i1 = i0 + 800
            b = signal.sosfilt(sos, rng.normal(0, 1, i1 - i0 + 200))[200:]
            x[i0:i1, ch] += amp * b / b.std()
    return t, x


def test_live_session_recording_replays_cues_exactly(tmp_path, capsys):
    from movekit.protocols.feeder import EMGSourceSpec, LiveDrill
    from movekit.recording import RecordingWriter, open_recording

    t, x = emg_session()
    mvc = {"vmo": 300.0, "vl": 300.0}
    p = load_protocol("lateral_step_down")
    rec = tmp_path / "live.mkrec"
    rng = np.random.default_rng(0)
    live_events = []
    with RecordingWriter(rec, {"source": "test"}) as w:
        s = LiveDrill(
            p, [EMGSourceSpec("emg", RATE, ("vmo", "vl"), ("ch_a", "ch_b"))], mvc_uv=mvc, writer=w, audio=None
        )
        i = 0
        while i < len(t):  # BLE-like packets of uneven size
            k = int(rng.integers(5, 60))
            live_events += s.push_emg(0, t[i : i + k], x[i : i + k])
            i += k
        live_events += s.close(float(t[-1]))
    live_cues = [(e["t_s"], e["id"]) for e in live_events if e["kind"] == "cue"]
    assert len(live_cues) >= 10
    ids = {c for _, c in live_cues}
    assert {"vmo_on", "vmo_vl_balance"} <= ids  # confirms on VMO bursts, prompts on quiet-VMO reps
    stored = open_recording(rec)
    assert [(e["t_s"], e["id"]) for e in stored.events if e["kind"] == "cue"] == live_cues
    reps = [e for e in stored.events if e["kind"] == "rep"]
    assert len(reps) >= 10
    # replay through the CLI: same drill, MVC and channel roles from the recording's metadata
    wav, log = tmp_path / "cues.wav", tmp_path / "events.jsonl"
    code = main(
        ["drill", "lateral_step_down", str(rec), "--audio-out", str(wav), "--log", str(log), "--no-speech", "--quiet"]
    )
    err = capsys.readouterr().err
    assert code == 0, err
    assert "replay reproduces all" in err
    replayed = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(e["t_s"], e["id"]) for e in replayed if e["kind"] == "cue"] == live_cues
    # the WAV holds a sound at each cue's time: the success tone (660 Hz) for the VMO confirms
    y, rate = audio.read_wav(wav)
    for t_cue, cid in live_cues:
        seg = y[int(t_cue * rate) : int((t_cue + 0.08) * rate)]
        assert np.sqrt(np.mean(seg**2)) > 0.05, (t_cue, cid)
        if cid == "vmo_on":
            spec = np.abs(np.fft.rfft(seg * np.hanning(len(seg))))
            f = np.fft.rfftfreq(len(seg), 1 / rate)
            assert 600 < f[np.argmax(spec)] < 720


def test_drill_cli_on_emg_file_and_errors(tmp_path, capsys):
    t, x = emg_session(total_s=40.0)
    src = tmp_path / "core.csv"
    core = x[:, :1] * 0.4
    np.savetxt(src, np.column_stack([t, core]), delimiter=",", header="time_s,abdominal_uv", comments="")
    mvc = tmp_path / "mvc.csv"
    np.savetxt(
        mvc,
        np.column_stack([t[:3000], x[10000:13000, :1] * 2]),
        delimiter=",",
        header="time_s,abdominal_uv",
        comments="",
    )
    code = main(
        ["drill", "core_bracing_hold", str(src), "--mvc", str(mvc), "--channel", "core=abdominal", "--no-speech"]
    )
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "step start" in out.out and "set 1/5 of brace" in out.out
    end = out.out.strip().splitlines()[-1]  # 40 s is too short for the drill: it says where it stopped
    assert "drill end: stopped in brace: the source ended " in end and " of 5 of 'brace'" in end, end
    assert main(["drill", "--list"]) == 0
    assert "single_leg_balance" in capsys.readouterr().out
    assert main(["drill", "hip_hinge", str(src)]) == 2
    assert "none of its rep options" in capsys.readouterr().err


def test_load_protocol_refuses_wrong_shapes_in_one_line(tmp_path):
    """The drill loader itself (not only the command) turns a field of the wrong type into one
    line naming the file: a list where a table is expected, a string count, a non-table file."""
    from movekit.errors import MovekitError
    from movekit.protocols.runner import load_protocol

    for text in ('steps = "not a list"\n', "[[steps]]\nid = 1\nkind = \"hold\"\ntarget_by = 3\nhold_s = 5\n",
                 "[[steps]]\nkind = \"reps\"\nrep_by = [{start = 1}]\nreps = 3\n"):  # fmt: skip
        f = tmp_path / "bad.toml"
        f.write_text(text)
        with pytest.raises(MovekitError, match="bad.toml"):
            load_protocol(f)


def test_drill_options_checked_before_anything_runs(tmp_path, capsys):
    """A client missing from the database, a channel given two roles, and live-only options on a
    drill replayed from a file: one-line errors before the drill runs (the client had been checked
    only after a whole live drill; -o and --duration had been ignored without a word)."""
    t, x = emg_session(total_s=20.0)
    src = tmp_path / "core.csv"
    np.savetxt(src, np.column_stack([t, x[:, :1]]), delimiter=",", header="time_s,abdominal_uv", comments="")
    db = tmp_path / "clinic.db"
    assert main(["client", "add", "C-1", "--db", str(db)]) == 0
    capsys.readouterr()
    base = ["drill", "core_bracing_hold", str(src), "--mvc", str(src), "--channel", "core=abdominal", "--no-speech"]
    assert main([*base, "--client", "C-9", "--db", str(db)]) == 2
    err = capsys.readouterr()
    assert "C-9" in err.err and "step start" not in err.out
    assert main([*base, "--channel", "vmo=abdominal"]) == 2
    assert "two roles (core and vmo)" in capsys.readouterr().err
    assert main([*base, "-o", str(tmp_path / "x.mkrec")]) == 2
    assert "-o apply to a live drill" in capsys.readouterr().err and not (tmp_path / "x.mkrec").exists()


def test_an_emg_pause_restarts_the_envelope_whatever_the_chunking():
    """Samples 12-17 s missing (a dropped link, a cut file): a NaN sample just after 12 s ends any
    hold or cue timing, and the envelope after the pause is a fresh one's (it had carried 12 s's
    state over the pause, and a cue fired at 17 s on a 'value' of 56 %MVC where the muscle was at 5)."""
    from movekit.protocols.metrics import EMGMetrics

    t, x = emg_session(total_s=30.0)
    keep = (t < 12.0) | (t >= 17.0)
    tg, xg = t[keep], x[keep]
    whole, _ = EMGMetrics(RATE, ["vmo", "vl"], {"vmo": 100.0, "vl": 100.0}).process(tg, xg)
    chunked_m = EMGMetrics(RATE, ["vmo", "vl"], {"vmo": 100.0, "vl": 100.0})
    chunked = []
    for i in range(0, len(tg), 37):
        chunked += chunked_m.process(tg[i : i + 37], xg[i : i + 37])[0]
    assert [s[0] for s in whole] == [s[0] for s in chunked]
    # chunked filtering differs in the last digits only (1e-11 relative)
    np.testing.assert_allclose(
        [list(d.values()) for _, d in whole], [list(d.values()) for _, d in chunked], rtol=1e-9, atol=1e-9
    )
    gap = [(ts, d) for ts, d in whole if 11.99 < ts < 17.0]
    assert len(gap) == 1 and gap[0][0] == pytest.approx(12.0) and all(np.isnan(v) for v in gap[0][1].values())
    after = [(ts, d) for ts, d in whole if ts >= 17.0]
    fresh, _ = EMGMetrics(RATE, ["vmo", "vl"], {"vmo": 100.0, "vl": 100.0}).process(t[t >= 17.0], x[t >= 17.0])
    assert [ts for ts, _ in after] == [ts for ts, _ in fresh]
    np.testing.assert_allclose([d["vmo_pct_mvc"] for _, d in after], [d["vmo_pct_mvc"] for _, d in fresh], rtol=1e-9)
