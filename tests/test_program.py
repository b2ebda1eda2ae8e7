"""Home program: assignment, logging (manual and guided), weekly adherence."""

import pytest

from movekit.cli import main
from movekit.clinic import program as pg
from movekit.clinic.store import Store
from movekit.errors import MovekitError


@pytest.fixture
def st(tmp_path):
    s = Store(tmp_path / "p.sqlite3")
    s.add_client("C-1")
    yield s
    s.close()


def test_weekly_adherence_capped_per_item(st):
    # Monday 2026-01-05. Bridge 3x/week, hinge drill 2x/week.
    bridge = pg.assign(st, "C-1", "glute bridge", sets=3, reps=10, per_week=3, date="2026-01-05")
    hinge = pg.assign(st, "C-1", "hip hinge", drill_id="hinge-dowel", per_week=2, date="2026-01-05")
    assert hinge["kind"] == "drill"
    for d in ("2026-01-05", "2026-01-06", "2026-01-07", "2026-01-08", "2026-01-09"):  # 5 bridges (cap 3)
        pg.log(st, "C-1", "glute bridge", date=d, pain_0_10=4)
    pg.log(st, "C-1", bridge["id"], date="2026-01-10", done=False)  # a skip is not done
    # week 2: one bridge, two guided hinge runs, one on the same day twice (counts once)
    pg.log(st, "C-1", "glute bridge", date="2026-01-12", pain_0_10=2, difficulty_0_10=5)
    assert pg.log_guided_drill(st, "C-1", "hinge-dowel", date="2026-01-13", reps=8) is not None
    pg.log_guided_drill(st, "C-1", "hinge-dowel", date="2026-01-13")
    assert pg.log_guided_drill(st, "C-1", "unassigned-drill", date="2026-01-13") is None
    weeks = pg.client_adherence(st, "C-1", end="2026-01-18")
    assert [w.week_start for w in weeks] == ["2026-01-05", "2026-01-12"]
    w1, w2 = weeks
    assert (w1.prescribed, w1.done, w1.done_raw) == (5, 3, 5) and w1.adherence_pct == 60.0
    assert w1.mean_pain_0_10 == 4.0
    assert (w2.prescribed, w2.done) == (5, 2) and w2.adherence_pct == 40.0
    assert w2.mean_pain_0_10 == 2.0 and w2.mean_difficulty_0_10 == 5.0
    logs = st.program_logs("C-1")
    assert sum(1 for log in logs if log["source"] == "guided") == 2


def test_partial_weeks_and_ended_items(st):
    it = pg.assign(st, "C-1", "calf raise", per_week=7, date="2026-01-08")  # a Thursday
    st.end_program_item(it["id"], "2026-01-13")
    pg.log(st, "C-1", "calf raise", date="2026-01-08")
    weeks = pg.weekly_adherence(st.program_items("C-1"), st.program_logs("C-1"), end="2026-01-25")
    assert weeks[0].prescribed == 4 and weeks[0].adherence_pct == 25.0  # Thu-Sun
    assert weeks[1].prescribed == 2  # Mon-Tue until ended
    assert weeks[2].prescribed == 0 and weeks[2].adherence_pct is None


def test_validation(st):
    with pytest.raises(MovekitError, match="0-10"):
        pg.assign(st, "C-1", "x")
        pg.log(st, "C-1", "x", pain_0_10=11)
    with pytest.raises(MovekitError, match="no home-program item"):
        pg.log(st, "C-1", "nonexistent")
    with pytest.raises(MovekitError, match="per week"):
        pg.assign(st, "C-1", "y", per_week=0)


def test_cli_program(tmp_path, capsys):
    db = str(tmp_path / "cli.sqlite3")
    assert main(["client", "add", "C-9", "--db", db]) == 0
    assert (
        main(
            [
                "program",
                "assign",
                "C-9",
                "bird dog",
                "--sets",
                "2",
                "--reps",
                "8",
                "--hold",
                "5",
                "--per-week",
                "4",
                "--date",
                "2026-02-02",
                "--db",
                db,
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "program",
                "log",
                "C-9",
                "bird dog",
                "--pain",
                "3",
                "--difficulty",
                "6",
                "--date",
                "2026-02-03",
                "--db",
                db,
            ]
        )
        == 0
    )
    assert main(["program", "log", "C-9", "bird dog", "--pain", "12", "--db", db]) == 2
    capsys.readouterr()
    assert main(["program", "show", "C-9", "--weeks", "1000", "--db", db]) == 0
    out = capsys.readouterr().out
    assert "bird dog: 2 sets, 8 reps, hold 5 s, 4x/week" in out
    assert "week of 2026-02-02: 1 of 4 = 25%" in out
    assert "pain 3 difficulty 6" in out


def test_drill_summary_from_runner_sets(st):
    sets = [
        {"step": "hinge", "set": 1, "reps": 8, "reps_target": 10, "cues": {"round_back": 2}},
        {"step": "hinge", "set": 2, "reps": 10, "reps_target": 10, "cues": {}},
        {"step": "hold", "set": 1, "hold_s": 19.6, "hold_target_s": 20, "cues": {"brace": 1}},
    ]
    summ = pg.drill_summary(sets)
    assert summ == {"sets": 3, "reps": 18, "notes": "holds 20 s; 3 cue(s)"}
    pg.assign(st, "C-1", "hinge", drill_id="hip_hinge", per_week=3, date="2026-01-05")
    lid = pg.log_guided_drill(st, "C-1", "hip_hinge", date="2026-01-06", **summ)
    [log] = st.program_logs("C-1")
    assert log["id"] == lid and log["source"] == "guided" and (log["sets"], log["reps"]) == (3, 18)
