"""Re-assessment schedule and baseline-vs-now comparison."""

import pytest

from movekit.cli import main
from movekit.clinic import reassess
from movekit.clinic.store import Store


def res(test, **m):
    units = {"deg": "deg", "s": "s", "pct": "%", "mm": "mm"}
    return {"test": test, "metrics": {k: {"value": v, "unit": units[k.rsplit("_", 1)[-1]]} for k, v in m.items()}}


@pytest.fixture
def st(tmp_path):
    s = Store(tmp_path / "r.sqlite3")
    s.add_client("C-1")
    yield s
    s.close()


def test_schedule(st):
    assert reassess.schedule(st, "C-1").status == "no baseline"
    b = st.start_session("C-1", "baseline", "2026-01-05")
    st.add_assessment(b["id"], res("single-leg-stance", stance_time_s=10.0))
    st.add_outcome("C-1", "odi", 30, date="2026-01-05")
    sched = reassess.schedule(st, "C-1")
    assert (sched.status, sched.sessions_since, sched.due_from, sched.due_by) == ("not due", 0, 4, 6)
    for k in range(4):
        st.start_session("C-1", "treatment", f"2026-01-{6 + k:02d}")
    due = reassess.schedule(st, "C-1")
    assert due.status == "due" and "repeat: single-leg-stance, ODI" in due.describe()
    for k in range(3):
        st.start_session("C-1", "treatment", f"2026-01-{12 + k:02d}")
    s = reassess.schedule(st, "C-1")
    assert s.status == "overdue" and "OVERDUE" in s.describe()
    st.start_session("C-1", "reassessment", "2026-01-20")
    assert reassess.schedule(st, "C-1").sessions_since == 0
    st.set_reassess_window("C-1", 3, 3)
    for k in range(3):
        st.start_session("C-1", "treatment", f"2026-01-{21 + k:02d}")
    assert reassess.schedule(st, "C-1").status == "due"


def test_comparison_metrics_and_outcomes(st):
    b = st.start_session("C-1", "baseline", "2026-01-05")
    st.add_assessment(
        b["id"], res("lumbar-flexion", lumbar_flexion_deg=40.0, lumbar_share_pct=46.0, hip_flexion_deg=70.0)
    )
    st.add_assessment(b["id"], res("single-leg-stance", stance_time_s=10.0, sway_path_length_mm=500.0))
    st.add_assessment(b["id"], res("single-leg-stance", stance_time_s=14.0, sway_path_length_mm=450.0))  # trial 2
    t = st.start_session("C-1", "treatment", "2026-01-12")
    st.add_assessment(t["id"], res("lumbar-flexion", lumbar_flexion_deg=50.0))
    r = st.start_session("C-1", "reassessment", "2026-02-02")
    st.add_assessment(
        r["id"], res("lumbar-flexion", lumbar_flexion_deg=60.0, lumbar_share_pct=50.0, hip_flexion_deg=74.0)
    )
    st.add_assessment(r["id"], res("single-leg-stance", stance_time_s=16.8, sway_path_length_mm=300.0))
    st.add_outcome("C-1", "nprs", 7, date="2026-01-05")
    st.add_outcome("C-1", "nprs", 3, date="2026-02-02")
    st.add_outcome("C-1", "odi", 40, date="2026-01-05")
    st.add_outcome("C-1", "odi", 34, date="2026-02-02")
    cmp = reassess.compare(st, "C-1")
    m = {x.name: x for x in cmp.metrics}
    flex = m["lumbar_flexion_deg"]
    assert (flex.baseline, flex.current, flex.change, flex.n_sessions) == (40.0, 60.0, 20.0, 3)
    assert flex.change_pct == pytest.approx(50.0)
    assert flex.floor is None and flex.beyond_noise is None  # 20 deg gain, but no verified MDC for it
    hip = m["hip_flexion_deg"]
    assert hip.change == 4.0 and hip.beyond_noise is False and "Stenum 2021" in hip.floor_text()
    sls = m["stance_time_s"]
    assert sls.baseline == pytest.approx(12.0)  # mean of 2 trials
    assert sls.change_pct == pytest.approx(40.0)  # 40 % longer stance
    assert sls.beyond_noise is False and "24.1" in sls.floor_text()  # MDC95 Goldberg 2011
    assert m["lumbar_share_pct"].beyond_noise is False
    sway = m["sway_path_length_mm"]
    assert sway.floor is None and sway.beyond_noise is None
    assert "no published noise floor" in sway.floor_text()
    o = {x.measure: x for x in cmp.outcomes}
    assert o["nprs"].change.meets_mcid and not o["odi"].change.meets_mcid
    # explicit sessions
    cmp2 = reassess.compare(st, "C-1", baseline_session=b["id"], current_session=t["id"])
    assert {x.name: x.change for x in cmp2.metrics if x.change is not None} == {"lumbar_flexion_deg": 10.0}


def test_noise_floor_lookup():
    assert reassess.noise_floor("tug", "total_time_s").value == 1.10
    assert reassess.noise_floor("five-times-sit-to-stand", "time_s").value == 2.5
    assert reassess.noise_floor("posture", "craniovertebral_angle_deg") is None
    assert reassess.noise_floor("shoulder-abduction", "left_shoulder_abduction_deg") is None  # frontal plane
    for _, _, nf in reassess.NOISE_FLOORS:
        assert any(ch.isdigit() for ch in nf.source)


def test_cli_due_and_compare(tmp_path, capsys):
    db = str(tmp_path / "c.sqlite3")
    main(["client", "add", "C-2", "--reassess", "2-3", "--db", db])
    for extra in (["--type", "baseline", "--date", "2026-03-02"], ["--date", "2026-03-03"], ["--date", "2026-03-04"]):
        assert main(["session", "start", "C-2", *extra, "--db", db]) == 0
        assert main(["session", "end", "C-2", "--db", db]) == 0
    main(["outcome", "add", "C-2", "psfs", "--items", "3,4,2", "--date", "2026-03-02", "--db", db])
    main(["outcome", "add", "C-2", "psfs", "--items", "6,6,5", "--date", "2026-03-04", "--db", db])
    capsys.readouterr()
    assert main(["session", "due", "--db", db]) == 0
    assert "DUE now" in capsys.readouterr().out
    assert main(["session", "compare", "C-2", "--db", db]) == 0
    out = capsys.readouterr().out
    assert "Patient-Specific Functional Scale: 3.0 (2026-03-02) -> 5.7 (2026-03-04)" in out
    assert "improved beyond the MCID" in out


def test_a_session_is_never_compared_with_itself(st, capsys, tmp_path):
    """The re-assessment's single-leg stance is NOT VALID: the baseline's 0.9 s was compared with
    itself ("0.9 -> 0.9 s +0.0 within noise"); now the metric is not compared and the reason is given."""
    b = st.start_session("C-1", "baseline", "2026-01-05")
    st.add_assessment(b["id"], {**res("single-leg-stance", stance_time_s=0.9), "flags": [],
                                "validity": {"trial": {"ok": True, "message": "1 trial"}}})  # fmt: skip
    st.add_assessment(b["id"], res("lumbar-flexion", lumbar_flexion_deg=40.0))
    r = st.start_session("C-1", "reassessment", "2026-02-02")
    st.add_assessment(r["id"], {**res("single-leg-stance", stance_time_s=0.4), "flags": [],
                                "validity": {"trial": {"ok": False, "message": "no foot was lifted"}}})  # fmt: skip
    st.add_assessment(r["id"], res("lumbar-flexion", lumbar_flexion_deg=55.0))
    cmp = reassess.compare(st, "C-1")
    [m] = cmp.metrics
    assert (m.name, m.baseline, m.current, m.baseline_session_id, m.current_session_id) == (
        "lumbar_flexion_deg", 40.0, 55.0, b["id"], r["id"])  # fmt: skip
    assert cmp.not_compared == [
        f"single-leg-stance (stance_time_s) not compared: the re-assessment on 2026-02-02 (session {r['id']}) "
        "has no valid result for single-leg-stance: trial: no foot was lifted"
    ]
    only = reassess.compare(st, "C-1", current_session=b["id"])
    assert only.metrics == [] and len(only.not_compared) == 2
    db = str(st.db.path)
    assert main(["session", "compare", "C-1", "--baseline", str(b["id"]), "--current", str(b["id"]), "--db", db]) == 2
    assert "both session" in capsys.readouterr().err
    assert main(["session", "compare", "C-1", "--db", db]) == 0
    out = capsys.readouterr().out
    assert f"40.0 (session {b['id']}, 2026-01-05) -> 55.0 (session {r['id']}, 2026-02-02) deg" in out
    assert "0.9 -> 0.9" not in out and "no valid result for single-leg-stance: trial: no foot was lifted" in out


def test_a_metric_measured_in_one_session_only_is_not_a_change(st):
    b = st.start_session("C-1", "baseline", "2026-01-05")
    st.add_assessment(b["id"], res("tug", tug_time_s=12.0))
    cmp = reassess.compare(st, "C-1")
    assert cmp.metrics == []
    assert cmp.not_compared == [
        f"tug (tug_time_s) not compared: only session {b['id']} (2026-01-05) has a valid value; nothing to compare yet"
    ]


def test_psfs_of_different_activities_is_not_a_change(st, capsys):
    """PSFS is patient-specific: the mean of other activities is not a change of the same score."""
    from movekit.clinic import outcomes as oc
    from movekit.report import render_client_report

    st.add_outcome("C-1", "psfs", 3.0, date="2026-01-05", items=[3, 3, 3], labels=["stairs", "lifting", "gardening"])
    st.add_outcome("C-1", "psfs", 8.0, date="2026-02-05", items=[8, 8, 8], labels=["running", "lifting", "gardening"])
    [o] = reassess.compare(st, "C-1").outcomes
    assert (
        o.not_comparable
        == "the PSFS activities differ (stairs; lifting; gardening vs running; lifting; gardening): no change is reported"
    )
    html = render_client_report(st, "C-1")
    assert "the PSFS activities differ" in html and "+5.0" not in html
    assert main(["session", "compare", "C-1", "--db", str(st.db.path)]) == 0
    out = capsys.readouterr().out
    assert "3.0 (2026-01-05), 8.0 (2026-02-05): the PSFS activities differ" in out and "+5.0" not in out
    same = {"labels": [" Lifting", "STAIRS", "gardening "]}
    assert oc.not_comparable("psfs", {"labels": ["stairs", "lifting", "gardening"]}, same) == ""
    assert oc.not_comparable("psfs", {"labels": None}, {"labels": None}) == ""
    assert "not recorded" in oc.not_comparable("psfs", {"labels": None}, same)
    assert main(["outcome", "add", "C-1", "psfs", "--items", "6,6,6", "--activities", "stairs;lifting;gardening",
                 "--date", "2026-03-05", "--db", str(st.db.path)]) == 0  # fmt: skip
    assert "2026-03-05 vs baseline 2026-01-05: 3.0 -> 6.0 +3.0" in capsys.readouterr().out
