"""One voice at a time: the cue scheduler's rules, and a drill's rendered WAV checked sample by sample."""

from __future__ import annotations

import math

import numpy as np
import pytest

from movekit.feedback import audio
from movekit.feedback.schedule import GAP_S, CueScheduler, SoundRequest
from movekit.protocols.feeder import DrillFeeder
from movekit.protocols.runner import DrillRunner, load_protocol


def _req(t, dur, prio=0, group=None, wait=math.inf, name=""):
    return SoundRequest(t, dur, prio, group, wait, name, name)


def _run(requests, ticks=()):
    """Requests in time order, each instant closed by an advance, plus extra advance ticks."""
    s = CueScheduler()
    times = sorted({r.t_request_s for r in requests} | set(ticks))
    for t in times:
        for r in [r for r in requests if r.t_request_s == t]:
            s.request(r)
        s.advance(t)
    s.flush()
    return [(p.request.source, p.status, round(p.t_decided_s, 6)) for p in s.placements]


def test_scheduler_rules_priority_fifo_stale_and_superseded():
    reqs = [
        _req(0.0, 3.0, 90, name="instruction"),  # starts at once
        _req(0.0, 1.0, 90, name="set 1 of 3"),  # same instant: waits, then first in first out
        _req(0.5, 0.5, 11, "cue:knee", 1.5, "knee"),  # a cue behind 4 s of structure: stale, dropped
        _req(1.0, 0.4, 50, "count", 1.0, "rep 1"),  # superseded by rep 2 while waiting
        _req(2.0, 0.4, 50, "count", 10.0, "rep 2"),
        _req(2.5, 0.8, 90, "hold", 3.0, "hold"),  # higher priority than the count: goes first
    ]
    got = _run(reqs)
    t_set = 3.0 + GAP_S
    t_hold = t_set + 1.0 + GAP_S
    assert got == [
        ("instruction", "spoken", 0.0),
        ("rep 1", "dropped", 2.0),  # when rep 2 was asked for
        ("knee", "dropped", round(t_set, 6)),  # when it could first start: 2.65 s late > 1.5 s
        ("set 1 of 3", "spoken", round(t_set, 6)),
        ("hold", "spoken", round(t_hold, 6)),
        ("rep 2", "spoken", round(t_hold + 0.8 + GAP_S, 6)),
    ]
    # the decisions do not depend on how often time advances in between
    assert _run(reqs, ticks=np.arange(0, 8, 0.033)) == got
    s = CueScheduler()
    for r in reqs:
        s.request(r)
    s.flush()
    reasons = {p.request.source: p.reason for p in s.placements if p.status == "dropped"}
    assert "superseded" in reasons["rep 1"] and "stale" in reasons["knee"]


def test_cancel_drops_waiting_group_only():
    s = CueScheduler()
    s.request(_req(0.0, 2.0, 90, name="instruction"))
    s.advance(0.0)
    s.request(_req(1.0, 0.5, 90, "hold", 3.0, "hold"))
    s.advance(1.0)
    s.cancel("hold", 1.5, "hold broke")
    s.flush()
    assert [(p.request.source, p.status, p.reason) for p in s.placements] == [
        ("instruction", "spoken", ""),
        ("hold", "dropped", "hold broke"),
    ]


def _balance_wav(speech):
    """Single-leg balance fed its foot-lift metric (30 Hz): the step's instruction and set progress
    asked for at 6 s, "Hold." at 10 s while they still play, a 20 s hold broken, summaries."""
    p = load_protocol("single_leg_balance")
    runner = DrillRunner(p, available=["right_foot_lift_ratio", "pelvis_obliquity_deg", "trunk_lateral_lean_deg"])
    ca = audio.CueAudio(play=False, wav=True, speech=speech)
    f = DrillFeeder(runner, ca, live=False)
    for k in range(int(32 * 30.0)):
        t = k / 30.0
        lift = 0.15 if 10.0 <= t < 30.0 else 0.0
        f.feed(t, {"right_foot_lift_ratio": lift, "pelvis_obliquity_deg": 0.0, "trunk_lateral_lean_deg": 0.0})
    f.finish(32.0)
    return ca, f


def test_drill_wav_has_no_overlap_no_cut_no_clip(tmp_path):
    sp = audio.Speech(cache_dir=tmp_path / "cache")
    if not sp.available:
        pytest.skip("espeak-ng not installed")
    ca, f = _balance_wav(sp)
    spoken = [p for p in ca.placements if p.status == "spoken"]
    texts = [p.request.text for p in spoken]
    # the order the rules give: everything of the drill's structure, in the order it happened
    assert texts[:4] == [
        "Face the camera. Stand on your left leg when I say hold, other foot just off the floor.",
        "Eyes open. Lift your foot and hold.",
        "Set 1 of 3.",
        "Hold.",  # asked for at 10 s while "Set 1 of 3." still played: said after it
    ]
    hold = spoken[3]
    assert hold.request.t_request_s == pytest.approx(10.0) and 0.3 < hold.waited_s <= 3.0
    # after the 10 s confirm tone: the set's summary, then "Rest." (same instant, in order), and
    # the drill's summary when the source ends
    assert texts[4:] == [
        None,
        "Set 1 of 3 done: best hold 20 seconds.",
        "Rest.",
        "Drill stopped: 1 set, best hold 20 seconds.",
    ]
    wav = ca.write_wav(tmp_path / "cues.wav", end_s=40.0)
    y, rate = audio.read_wav(wav)
    assert ca.clipped_samples == 0 and np.max(np.abs(y)) < audio.PEAK_MAX + 1e-3  # nothing at full scale
    q = 1.0 / 32767
    prev_end = -int(GAP_S * rate)
    for p in spoken:
        x = p.request.payload[0]
        i0 = int(round(p.t_start_s * rate))
        assert i0 >= prev_end + int(0.9 * GAP_S * rate), p.request.text  # never starts while another sounds
        seg = y[i0 : i0 + len(x)]
        assert len(seg) == len(x), p.request.text  # whole in the file, not cut at its end
        # the file holds exactly this sound there (nothing mixed in), up to 16-bit rounding
        assert np.max(np.abs(seg - x)) <= q, p.request.text
        assert np.all(y[max(prev_end, 0) : i0] == 0.0)  # silence between sounds
        prev_end = i0 + len(x)
    # speech events on the drill's event stream say the same
    said = [e for e in f.events if e["kind"] == "speech"]
    assert [e["text"] for e in said] == texts
    assert all(b["t_s"] >= a["t_end_s"] + GAP_S - 1e-9 for a, b in zip(said, said[1:]))


def test_overlapping_sounds_clipped_before_the_scheduler():
    """The cause of issue 18's clipping: two phrases at the same instant were summed (peaks
    ~0.8 each) and clipped to full scale; scheduled, the same two never add up."""
    x = 0.8 * np.sin(2 * np.pi * 200 * np.arange(4410) / 22050).astype(np.float32)
    tl = audio.WavTimeline()
    tl.add(1.0, x)
    tl.add(1.0, x)
    tl.render()
    assert tl.clipped_samples > 0
    ca = audio.CueAudio(play=False, wav=True, speech=False)
    for _ in range(2):
        ca.request(1.0, tone_hz=200.0, tone_s=0.2, priority=1)
    ca.advance(1.0)
    ca.flush()
    ca.timeline.render()
    assert ca.clipped_samples == 0
    starts = [p.t_start_s for p in ca.placements]
    assert starts == pytest.approx([1.0, 1.2 + GAP_S])
