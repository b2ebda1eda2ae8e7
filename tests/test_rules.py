"""Cue rule engine: parsing, hysteresis, minimum duration, cooldown, priority, gating, determinism."""

from __future__ import annotations

import math

import pytest

from movekit.errors import MovekitError
from movekit.feedback.rules import Condition, CueEngine, CueRule


def rule(**kw):
    d = {"id": "r", "when": "x > 10"}
    d.update(kw)
    return CueRule.from_dict(d)


def run(engine, samples, name="x"):
    out = []
    for t, v in samples:
        out += engine.update(t, {name: v})
    return out


def test_condition_parsing_and_bands():
    c = Condition.parse("left_knee_fppa_deg > 10", 2)
    assert (c.metric, c.op, c.lo) == ("left_knee_fppa_deg", ">", 10)
    assert c.engage(10.5) and not c.engage(10) and c.hold(8.5) and not c.hold(8)
    b = Condition.parse("core_emg_pct_mvc in [10, 30]", 1)
    assert b.engage(10) and b.engage(30) and not b.engage(31) and b.hold(31) and not b.hold(31.5)
    o = Condition.parse("trunk_inclination_deg outside [-5, 5]")
    assert o.engage(6) and o.engage(-6) and not o.engage(0)
    r = Condition.parse("vmo_vl_ratio >= 1")
    assert r.engage(1.0) and not r.engage(0.99) and not r.engage(math.nan)
    for bad in ("x >> 3", "x in [5, 1]", "3 > x", "x > ten"):
        with pytest.raises(MovekitError):
            Condition.parse(bad)
    with pytest.raises(MovekitError, match="unknown keys"):
        CueRule.from_dict({"id": "a", "when": "x > 1", "cooldwn_s": 2})


def test_hysteresis_prevents_chatter():
    e = CueEngine([rule(hysteresis=2.0)], min_gap_s=0)
    # oscillates 9..11 around the threshold: one episode only while it stays above 8
    seq = [(i * 0.1, 11 if i % 2 else 9) for i in range(20)]
    cues = run(e, seq)
    assert [c.t_s for c in cues] == [pytest.approx(0.1)]
    # without hysteresis every rise is a new episode
    e2 = CueEngine([rule()], min_gap_s=0)
    assert len(run(e2, seq)) == 10
    # drop below 8 releases; the next rise is a new cue
    cues = run(e, [(2.0, 7.0), (2.1, 12.0)])
    assert [c.t_s for c in cues] == [pytest.approx(2.1)]


def test_minimum_duration():
    e = CueEngine([rule(min_duration_s=0.3)], min_gap_s=0)
    seq = [
        (0.0, 12),
        (0.1, 12),
        (0.2, 12),
        (0.25, 5),  # 0.25 s then released: no cue
        (0.5, 12),
        (0.6, 12),
        (0.7, 12),
        (0.79, 12),
        (0.8, 12),
        (0.9, 12),
    ]
    cues = run(e, seq)
    assert [c.t_s for c in cues] == [pytest.approx(0.8)]
    assert cues[0].values == {"x": 12.0} and "for 0.3 s" in cues[0].why


def test_cooldown_and_repeat():
    e = CueEngine([rule(cooldown_s=2.0, hysteresis=0.0)], min_gap_s=0)
    seq = []
    t = 0.0
    for v in [12, 5, 12, 5, 12, 5, 12]:  # new episodes at 0, 1.0, 2.0, 3.0
        seq.append((t, v))
        t += 0.5
    assert [c.t_s for c in run(e, seq)] == [0.0, 2.0]  # the one at 1.0 is in the cooldown, 3.0 too
    # an episode still holding when the cooldown ends fires then
    e = CueEngine([rule(cooldown_s=1.0)], min_gap_s=0)
    cues = run(e, [(0.0, 12), (0.2, 5), (0.4, 12), (0.8, 12), (1.0, 12), (1.2, 12)])
    assert [c.t_s for c in cues] == [0.0, 1.0]
    e = CueEngine([rule(repeat_s=1.0)], min_gap_s=0)
    cues = run(e, [(i * 0.25, 12) for i in range(13)])
    assert [c.t_s for c in cues] == [0.0, 1.0, 2.0, 3.0]


def test_priority_and_global_gap():
    lo = CueRule.from_dict({"id": "lo", "when": "a > 0", "priority": 1})
    hi = CueRule.from_dict({"id": "hi", "when": "b > 0", "priority": 5})
    e = CueEngine([lo, hi], min_gap_s=1.0)
    cues = e.update(0.0, {"a": 1, "b": 1})
    assert [c.rule_id for c in cues] == ["hi"]  # both true: the higher priority speaks
    assert e.update(0.5, {"a": 1, "b": 1}) == []  # lo waits for the gap
    cues = e.update(1.0, {"a": 1, "b": 1})
    assert [c.rule_id for c in cues] == ["lo"]
    # a higher priority cue interrupts inside the gap
    e = CueEngine([lo, hi], min_gap_s=1.0)
    assert [c.rule_id for c in e.update(0.0, {"a": 1})] == ["lo"]
    assert [c.rule_id for c in e.update(0.2, {"b": 1})] == ["hi"]


def test_and_conditions_sample_and_hold_and_nan():
    r = CueRule.from_dict({"id": "both", "when": ["vmo_pct_mvc > 20", "left_knee_flexion_deg > 30"]})
    e = CueEngine([r], min_gap_s=0)
    assert e.update(0.00, {"vmo_pct_mvc": 25}) == []
    cues = e.update(0.03, {"left_knee_flexion_deg": 40})  # vmo still 25 from before
    assert len(cues) == 1 and cues[0].values == {"vmo_pct_mvc": 25, "left_knee_flexion_deg": 40}
    e.update(0.05, {"left_knee_flexion_deg": math.nan})  # pose lost: released
    assert len(e.update(0.06, {"left_knee_flexion_deg": 41})) == 1


def test_context_gating():
    r = CueRule.from_dict({"id": "conf", "when": "vmo_pct_mvc > 20", "during": ["drill"], "kind": "confirm"})
    e = CueEngine([r], min_gap_s=0)
    e.set_context("rest")
    assert e.update(0.0, {"vmo_pct_mvc": 30}) == []
    e.set_context("step_down", "drill")
    cues = e.update(0.1, {"vmo_pct_mvc": 30})
    assert [(c.rule_id, c.kind, c.context) for c in cues] == [("conf", "confirm", "step_down/drill")]


def test_deterministic_and_time_order():
    rules = [rule(min_duration_s=0.05, cooldown_s=0.3, hysteresis=1.0)]
    seq = [(i * 0.01, 10 + 3 * math.sin(i / 7)) for i in range(2000)]
    a = [(c.t_s, c.rule_id) for c in run(CueEngine(rules), seq)]
    b = [(c.t_s, c.rule_id) for c in run(CueEngine(rules), seq)]
    assert a == b and len(a) > 10
    e = CueEngine(rules)
    e.update(1.0, {"x": 1})
    with pytest.raises(ValueError):
        e.update(0.5, {"x": 1})
