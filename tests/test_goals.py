"""Goals (issue 23): set from stored results, progress computed as results arrive."""

from __future__ import annotations

import pytest

from movekit.cli import main
from movekit.clinic.goals import goal_progress
from movekit.clinic.store import Store
from movekit.errors import MovekitError


def _store(tmp_path):
    st = Store(tmp_path / "clinic.sqlite3")
    st.add_client("C-1")
    return st


def test_goal_reached_through_stored_nprs(tmp_path, capsys):
    """The issue's worked example: "reduce cervical pain from 6 to 2 on the NPRS during computer
    work"; the baseline comes from the stored NPRS, the goal is reached when a stored NPRS of 2 arrives."""
    db = tmp_path / "clinic.sqlite3"
    with _store(tmp_path) as st:
        st.add_outcome("C-1", "nprs", 6, date="2025-11-02")
    args = ["--db", str(db)]
    assert main(["goal", "add", "C-1", "nprs", "--target", "2", "--by", "2025-12-14", "--date", "2025-11-02",
                 "--context", "during computer work", *args]) == 0  # fmt: skip
    assert "from 6 to 2" in capsys.readouterr().out
    with Store(db) as st:
        st.add_outcome("C-1", "nprs", 4, date="2025-11-16")
    assert main(["goal", "progress", "C-1", "--on", "2025-11-20", *args]) == 0
    out = capsys.readouterr().out
    assert "50% of the change" in out and "ON TRACK" in out and "during computer work" in out
    assert "improved beyond the MCID" in out  # 6 -> 4: 2 points (Farrar 2001)
    with Store(db) as st:
        st.add_outcome("C-1", "nprs", 2, date="2025-12-07")
    assert main(["goal", "progress", "C-1", "--on", "2025-12-08", *args]) == 0
    assert "REACHED" in capsys.readouterr().out


def test_goal_at_risk_and_overdue_from_assessment_metrics(tmp_path):
    """A metric goal ("20 degrees more lumbar flexion"): no change halfway through is at risk;
    after the deadline without reaching it, overdue."""
    with _store(tmp_path) as st:
        s1 = st.start_session("C-1", "baseline", date="2026-10-01")
        st.add_assessment(s1["id"], {"test": "lumbar-flexion", "metrics": {"lumbar_flexion_deg": {"value": 30.0, "unit": "deg"}},
                                     "reps": [], "flags": [], "validity": {}, "references": []})  # fmt: skip
        g = st.add_goal("C-1", "lumbar-flexion:lumbar_flexion_deg", 50.0, "2026-12-01", date="2026-10-01")
        assert g["baseline"] == 30.0 and g["unit"] == "deg"
        s2 = st.start_session("C-1", "reassessment", date="2026-11-01")
        st.add_assessment(s2["id"], {"test": "lumbar-flexion", "metrics": {"lumbar_flexion_deg": {"value": 32.0, "unit": "deg"}},
                                     "reps": [], "flags": [], "validity": {}, "references": []})  # fmt: skip
        values = st.measure_values("C-1", g["measure"])
    p = goal_progress(g, values, today="2026-11-02")
    assert p.status == "at risk" and p.progress == pytest.approx(0.1) and p.expected == pytest.approx(32 / 61)
    assert goal_progress(g, values, today="2026-12-05").status == "overdue"
    assert goal_progress(g, values[:1], today="2026-10-05").status == "no data"


def test_goal_refusals(tmp_path):
    with _store(tmp_path) as st:
        with pytest.raises(MovekitError, match="not stored for this client and not one movekit lists"):
            st.add_goal("C-1", "tug:tug_tiem_s", 9, "2027-01-01", date="2026-12-01")
        with pytest.raises(MovekitError, match="a questionnaire"):
            st.add_goal("C-1", "nprz", 2, "2027-01-01", date="2026-12-01")
        with pytest.raises(MovekitError, match="must be after"):
            st.add_goal("C-1", "nprs", 2, "2026-11-01", baseline=6, date="2026-12-01")
        with pytest.raises(MovekitError, match="differ from the target"):
            st.add_goal("C-1", "nprs", 6, "2027-01-01", baseline=6, date="2026-12-01")
        with pytest.raises(MovekitError, match="goal target 12 is outside the NPRS range 0-10"):
            st.add_goal("C-1", "nprs", 12, "2027-01-01", baseline=6, date="2026-12-01")
        with pytest.raises(MovekitError, match="goal baseline 120 is outside the ODI range 0-100"):
            st.add_goal("C-1", "odi", 20, "2027-01-01", baseline=120, date="2026-12-01")
        g = st.add_goal("C-1", "nprs", 2, "2027-01-01", baseline=6, date="2026-12-01")
        with pytest.raises(MovekitError, match="goal target -1 is outside"):
            st.amend_goal(g["id"], "typo", target=-1)
    assert main(["goal", "add", "C-1", "nprs", "--target", "nan", "--by", "2027-01-01",
                 "--db", str(tmp_path / "clinic.sqlite3")]) == 2  # fmt: skip


def test_a_value_on_the_goals_set_date_counts_when_entered_after_the_goal():
    """A value dated the day the goal was set counts as progress when it was entered after the goal
    (later that session); the one entered before it (the default baseline) does not."""
    g = {"id": 1, "measure": "nprs", "baseline": 6.0, "target": 2.0, "set_date": "2026-10-01",
         "deadline": "2026-12-01", "unit": "points", "created_utc": "2026-10-01T09:00:00Z"}  # fmt: skip
    before = {"date": "2026-10-01", "value": 6.0, "stored_utc": "2026-10-01T08:59:00Z"}
    after = {"date": "2026-10-01", "value": 4.0, "stored_utc": "2026-10-01T09:20:00Z"}
    p = goal_progress(g, [before, after], today="2026-10-02")
    assert (p.latest, p.latest_date, p.progress) == (4.0, "2026-10-01", pytest.approx(0.5))
    assert goal_progress(g, [before], today="2026-10-02").status == "no data"
