"""The session's manual-therapy and movement log (issue 23)."""

from __future__ import annotations

import pytest

from movekit.cli import main
from movekit.clinic.store import Store
from movekit.errors import MovekitError


@pytest.fixture
def clinic(tmp_path):
    db = tmp_path / "clinic.sqlite3"
    with Store(db) as st:
        st.add_client("C-1")
        sid = st.start_session("C-1", "treatment", date="2026-11-20")["id"]
    return db, sid


def test_log_and_list_a_combined_session(clinic, capsys):
    db, sid = clinic
    args = ["--db", str(db)]
    assert main(["treatment", "log", str(sid), "myofascial-release", "--region", "lumbar", "--muscle",
                 "quadratus_lumborum", "--side", "left", "--minutes", "8", "--pressure", "6", "--response",
                 "less tight on bending", *args]) == 0  # fmt: skip
    assert main(["treatment", "log", str(sid), "glute bridge", "--movement", "--sets", "3", "--reps", "10",
                 "--feedback", "emg", *args]) == 0  # fmt: skip
    capsys.readouterr()
    assert main(["treatment", "list", "C-1", *args]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("2026-11-20  manual   myofascial-release left lumbar quadratus_lumborum")
    assert "8 min, pressure 6/10" in out[0] and out[0].endswith(": less tight on bending  [entry 1]")
    assert "movement glute bridge (3x10, feedback emg)" in out[1]
    with Store(db) as st:
        rows = st.treatments("C-1")
    assert [r["part"] for r in rows] == ["manual", "movement"] and rows[0]["pressure_0_10"] == 6.0


def test_vocabularies_and_ranges_are_checked(clinic, capsys):
    db, sid = clinic
    with Store(db) as st:
        for kwargs, msg in (
            (dict(technique="reiki", region="lumbar", side="left"), "technique 'reiki'"),
            (dict(technique="deep-tissue", region="lumbar", muscle="supraspinatus", side="left"), "not in region"),
            (dict(technique="deep-tissue", region="lumbar", side="top"), "side 'top'"),
            (dict(technique="deep-tissue", region="lumbar", side="left", pressure_0_10=11), "pressure 11"),
            (dict(technique="deep-tissue", region="lumbar", side="left", duration_min=0), "minutes 0"),
            (dict(technique="squat", part="movement", feedback="telepathy"), "feedback 'telepathy'"),
        ):
            with pytest.raises(MovekitError, match=msg):
                st.add_treatment(sid, **kwargs)
        with pytest.raises(MovekitError):
            st.add_treatment(9999, "deep-tissue", region="lumbar", side="left")
    assert main(["treatment", "log", str(sid), "deep-tissue", "--region", "knee", "--side", "left",
                 "--pressure", "nan", "--db", str(db)]) == 2  # fmt: skip
