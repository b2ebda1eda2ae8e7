"""Schema v9 (issue 23): goals, pain marks and treatment entries amended and removed with history;
one region vocabulary for the pain map and the treatment log; goals on measures not yet stored.

The migration is tested on a real v8 database made with the v8 code through its own CLI
(tests/data/clinic_v8.sql, a dump; see its header).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from movekit.cli import main
from movekit.clinic.goals import client_goal_progress, goal_progress
from movekit.clinic.regions import OLD_NAMES, REGIONS, canonical
from movekit.clinic.store import SCHEMA_VERSION, Store
from movekit.clinic.treatment import pain_beside_treatment
from movekit.errors import MovekitError

V8_DUMP = Path(__file__).parent / "data" / "clinic_v8.sql"


@pytest.fixture
def v8(tmp_path) -> Path:
    """The real v8 database, restored from its dump (still v8: nothing opened it with today's code)."""
    path = tmp_path / "clinic.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript(V8_DUMP.read_text(encoding="utf-8"))
    conn.close()
    path.chmod(0o600)
    return path


def _rows(path: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_v8_database_migrates_renames_regions_and_keeps_everything(v8):
    before_marks = _rows(v8, "SELECT id, session_id, region, side, intensity_0_10, quality FROM pain_marks ORDER BY id")
    before_tx = _rows(v8, "SELECT id, region, muscle, side, duration_min FROM treatments ORDER BY id")
    before_goals = _rows(v8, "SELECT id, measure, baseline, target, deadline, context FROM goals ORDER BY id")
    assert _rows(v8, "PRAGMA user_version") == [(8,)] and len(before_marks) == 6 and len(before_tx) == 6
    with Store(v8) as st:
        assert st.db.version() == SCHEMA_VERSION == 9
        marks = st.pain_marks("C-8")
        treatments = st.treatments("C-8")
        goals = st.goals("C-8")
        # every row is still there, renamed where the name changed, every other field the same
        assert [(m["id"], m["session_id"], m["side"], m["intensity_0_10"], m["quality"]) for m in marks] == [
            (r[0], r[1], r[3], r[4], r[5]) for r in before_marks
        ]
        assert [m["region"] for m in marks] == ["cervical", "lumbar", "gluteal", "shoulder", "cervical", "lumbar"]
        assert [t["region"] for t in treatments] == ["cervical", "lumbar", "gluteal", "ankle_foot", "thoracic", None]
        assert [(g["id"], g["measure"], g["baseline"], g["target"], g["deadline"], g["context"]) for g in goals] == [
            tuple(r) for r in before_goals
        ]
        # the earlier name of each renamed row is in its history, with who and why
        h = st.history("pain_mark", 3)
        assert [e["action"] for e in h] == ["created", "rename"]
        assert h[0]["values"]["region"] == "buttock" and h[1]["changed"] == {"region": ("buttock", "gluteal")}
        assert h[1]["who"] == "movekit schema v9" and "buttock -> gluteal" in h[1]["reason"]
        assert st.history("pain_mark", 4)[-1]["action"] == "created"  # shoulder: not renamed
        foot = st.history("treatment", 4)
        assert foot[0]["values"]["region"] == "foot" and foot[0]["values"]["muscle"] == "plantar_fascia"
        # progress computed as before the migration (NPRS 6 -> target 2, no later NPRS)
        (nprs, flex) = client_goal_progress(st, "C-8", today="2026-10-01")
        assert (nprs.baseline, nprs.status, flex.baseline, flex.unit) == (6.0, "no data", 31.5, "deg")
    backup = v8.with_name("clinic.sqlite3.bak-v8")
    assert backup.stat().st_mode & 0o777 == 0o600
    assert _rows(backup, "PRAGMA user_version") == [(8,)]
    assert _rows(
        backup, "SELECT id, session_id, region, side, intensity_0_10, quality FROM pain_marks ORDER BY id"
    ) == (before_marks)


def test_amend_and_remove_keep_every_version(v8, capsys):
    """The CLI on the migrated database: a mark amended then removed, a treatment entry amended, a
    goal amended; the current value is what lists and progress show, the history shows each version."""
    args = ["--db", str(v8)]
    assert main(["pain-map", "amend", "5", "--intensity", "3.5", "--reason", "typed 4, the client said 3.5",
                 "--who", "therapist A", *args]) == 0  # fmt: skip
    assert main(["pain-map", "remove", "4", "--reason", "marked on the wrong side", "--who", "therapist A", *args]) == 0
    assert main(["treatment", "amend", "1", "--minutes", "10", "--reason", "ran 10 min, not 8", *args]) == 0
    assert main(["goal", "amend", "1", "--target", "3", "--reason", "agreed a smaller step", *args]) == 0
    capsys.readouterr()
    assert main(["pain-map", "history", "5", *args]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "mark 5 of C-8, session 2: now midline cervical 3.5/10 aching"
    assert out[2].endswith("renamed by movekit schema v9: region neck -> cervical "
                           "(reason: one region vocabulary (movekit.clinic.regions): neck -> cervical)")  # fmt: skip
    assert out[3].endswith("amended by therapist A: intensity_0_10 4 -> 3.5 (reason: typed 4, the client said 3.5)")
    assert main(["pain-map", "list", "C-8", *args]) == 0
    listed = capsys.readouterr().out
    assert "mark 4 " not in listed and "midline cervical 3.5/10 aching (amended)" in listed
    assert main(["pain-map", "list", "C-8", "--removed", *args]) == 0
    assert "right shoulder 4/10  REMOVED: marked on the wrong side" in capsys.readouterr().out
    with Store(v8) as st:
        assert [m["id"] for m in st.pain_marks("C-8")] == [1, 2, 3, 5, 6]
        assert st.record("pain_mark", 4)["removed_reason"] == "marked on the wrong side"  # still stored
        assert st.treatments("C-8")[0]["duration_min"] == 10.0
        assert st.history("treatment", 1)[-1]["changed"] == {"duration_min": (8.0, 10.0)}
        p = client_goal_progress(st, "C-8", today="2026-10-01")[0]
        assert p.target == 3.0 and st.history("goal", 1)[1]["values"]["target"] == 3.0
        assert st.history("goal", 1)[0]["values"]["target"] == 2.0
    assert main(["goal", "remove", "2", "--reason", "replaced by a sacral goal", *args]) == 0
    capsys.readouterr()
    assert main(["goal", "list", "C-8", "--on", "2026-10-01", *args]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "goal 1: nprs (during computer work) 6 -> 3 by 2026-11-15: no value since it was set: NO DATA"
    ]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda st: st.amend_pain_mark(1, "", intensity_0_10=3), "a reason is required"),
        (lambda st: st.amend_pain_mark(1, "   ", intensity_0_10=3), "a reason is required"),
        (lambda st: st.amend_pain_mark(1, "x" * 501, intensity_0_10=3), "reason: at most 500"),
        (lambda st: st.amend_pain_mark(1, "typo", intensity_0_10=11), "intensity 11 is outside 0-10"),
        (lambda st: st.amend_pain_mark(1, "typo", intensity_0_10=6), "already has these values: nothing to amend"),
        (lambda st: st.amend_pain_mark(1, "typo", region="lumbar"), "midline lumbar is already marked in session 1"),
        (lambda st: st.amend_pain_mark(1, "typo", region="spleen"), "region 'spleen': one of head, cervical"),
        (lambda st: st.amend_pain_mark(1, "typo", colour="red"), "a pain-mark amendment changes one or more of"),
        (lambda st: st.amend_pain_mark(99, "typo", intensity_0_10=3), "no pain mark 99"),
        (
            lambda st: st.amend_treatment(1, "typo", muscle="hamstrings"),
            "muscle 'hamstrings' is not in region cervical",
        ),
        (lambda st: st.amend_treatment(1, "typo", duration_min=0), "minutes 0 is outside"),
        (lambda st: st.amend_goal(1, "typo", target=6), "must be finite and differ from the target"),
        (lambda st: st.amend_goal(1, "typo", deadline="2026-08-01"), "must be after the day it is set"),
        (lambda st: st.amend_goal(1, "typo", measure="odi"), "a goal amendment changes one or more of"),
        (lambda st: st.remove_goal(1, ""), "a reason is required"),
    ],
)
def test_bad_amendments_store_nothing(v8, call, message):
    with Store(v8) as st:
        before = [
            st.pain_marks("C-8"),
            st.treatments("C-8"),
            st.goals("C-8"),
            st.db.read("SELECT * FROM record_history"),
        ]
        with pytest.raises(MovekitError, match=message):
            call(st)
        after = [
            st.pain_marks("C-8"),
            st.treatments("C-8"),
            st.goals("C-8"),
            st.db.read("SELECT * FROM record_history"),
        ]
    assert [len(x) for x in after] == [len(x) for x in before] and after[:3] == before[:3]


def test_a_removed_record_is_not_changed_again_and_a_duplicate_mark_is_refused(v8):
    with Store(v8) as st:
        st.remove_treatment(2, "logged twice")
        with pytest.raises(MovekitError, match="treatment entry 2 was removed on .*: nothing to change"):
            st.amend_treatment(2, "typo", duration_min=5)
        with pytest.raises(MovekitError, match="was removed"):
            st.remove_treatment(2, "again")
        assert len(st.history("treatment", 2)) == 2
        with pytest.raises(MovekitError, match=r"midline cervical is already marked in session 1 \(mark 1: 6/10\)"):
            st.add_pain_mark(1, "neck", "midline", 2)  # the old name, mapped, finds the stored mark
        st.remove_pain_mark(1, "wrong session")
        assert st.add_pain_mark(1, "neck", "midline", 2)["region"] == "cervical"  # the removed one no longer blocks


def test_old_region_names_are_accepted_with_a_note(v8, capsys):
    args = ["--db", str(v8)]
    assert main(["pain-map", "add", "2", "buttock", "--side", "left", "--intensity", "2", *args]) == 0
    captured = capsys.readouterr()
    assert "note: region 'buttock' is now called 'gluteal'" in captured.err and "left gluteal 2/10" in captured.out
    assert main(["treatment", "log", "2", "deep-tissue", "--region", "hip_gluteal", "--muscle", "piriformis",
                 "--side", "left", *args]) == 0  # fmt: skip
    assert "'hip_gluteal' is now called 'gluteal'" in capsys.readouterr().err
    assert main(["pain-map", "add", "2", "spleen", "--side", "left", "--intensity", "2", *args]) == 2
    assert "region 'spleen': one of head" in capsys.readouterr().err
    assert {canonical(old) for old in OLD_NAMES} <= set(REGIONS)


def test_pain_regions_meet_treatment_regions_through_one_vocabulary(v8):
    """The v8 names never matched (neck vs cervical, buttock vs hip_gluteal); after v9 each pain
    region finds the manual work logged on it, on the same side or on both."""
    with Store(v8) as st:
        rows = {(r["region"], r["side"]): r for r in pain_beside_treatment(st.pain_marks("C-8"), st.treatments("C-8"))}
    neck = rows[("cervical", "midline")]
    assert (neck["first_0_10"], neck["latest_0_10"], neck["change_0_10"]) == (6.0, 4.0, -2.0)
    assert neck["techniques"] == ["myofascial-release"] and neck["minutes"] == 8.0  # logged on "both" sides
    assert rows[("lumbar", "midline")]["techniques"] == [
        "trigger-point-compression"
    ]  # left QL: a midline mark covers it
    glute = rows[("gluteal", "left")]
    assert (glute["techniques"], glute["sessions_treated"], glute["minutes"]) == (["deep-tissue"], 1, 5.0)
    assert rows[("shoulder", "right")]["techniques"] == []  # nothing logged on a shoulder
    assert list(rows) == [("cervical", "midline"), ("shoulder", "right"), ("lumbar", "midline"), ("gluteal", "left")]


def test_goal_on_a_measure_not_yet_stored_takes_the_first_result(tmp_path, capsys):
    """A TUG goal before any TUG is stored: the unit and direction come from the goal catalogue, the
    first TUG stored becomes the baseline, the next one is progress."""
    db = tmp_path / "c.sqlite3"
    with Store(db) as st:
        st.add_client("C-1")
    args = ["--db", str(db)]
    assert main(["goal", "measures", "C-1", *args]) == 0
    listed = capsys.readouterr().out
    assert "tug:tug_time_s" in listed and "lower is better; nothing stored yet" in listed
    assert main(["goal", "add", "C-1", "tug:tug_time_s", "--target", "10", "--by", "2026-12-01", "--date",
                 "2026-10-01", *args]) == 0  # fmt: skip
    assert "from the first result to 10 s by 2026-12-01" in capsys.readouterr().out
    with Store(db) as st:
        (g,) = st.goals("C-1")
        assert g["baseline"] is None and g["unit"] == "s"
        assert goal_progress(g, st.measure_values("C-1", g["measure"]), "2026-10-05").status == "no data"
        for day, seconds in (("2026-10-02", 14.0), ("2026-11-01", 12.0)):
            s = st.start_session("C-1", "reassessment", date=day)
            st.add_assessment(s["id"], {"test": "tug", "metrics": {"tug_time_s": {"value": seconds, "unit": "s"}}})
        p = client_goal_progress(st, "C-1", today="2026-11-01")[0]
    assert (p.baseline, p.baseline_from, p.latest, p.progress) == (14.0, "first result 2026-10-02", 12.0, 0.5)
    assert p.status == "on track" and p.better == "lower"
    assert main(["goal", "amend", "1", "--baseline", "15", "--reason", "the clinic's own TUG on 1 Oct", *args]) == 0
    with Store(db) as st:
        p = client_goal_progress(st, "C-1", today="2026-11-01")[0]
        assert (p.baseline, p.baseline_from, p.latest) == (15.0, "given", 12.0)
        assert json.loads(st.db.read("SELECT before_json FROM record_history")[0][0])["baseline"] is None


def test_report_shows_pain_beside_treatment_and_current_values(v8):
    """The client report, after the migration, an amendment and a removal: the pain-and-treatment
    section matches regions through the one vocabulary; a removed mark is not shown."""
    import re

    from movekit.report import render_client_report

    with Store(v8) as st:
        st.amend_pain_mark(6, "the client said 2", intensity_0_10=2)
        st.remove_pain_mark(4, "marked on the wrong side")
        html = render_client_report(st, "C-8", summary=False)
    start = html.index('<section id="pain-and-treatment">')
    section = html[start : html.index("</section>", start)]
    cells = re.findall(r"<tr><td>([^<]+)</td><td>([^<]+)</td><td>([^<]+)</td><td>([^<]+)</td><td>([^<]+)</td>"
                       r"<td>([^<]+)</td><td>([^<]+)</td></tr>", section)  # fmt: skip
    assert cells == [
        ("midline neck (cervical)", "6.0 (2026-09-01)", "4.0 (2026-09-15)", "-2.0", "1", "myofascial-release", "8.0 min"),
        ("midline lower back (lumbar)", "5.0 (2026-09-01)", "2.0 (2026-09-15)", "-3.0", "1",
         "trigger-point-compression", "6.0 min"),
        ("left buttock (gluteal)", "3.0 (2026-09-01)", "marked once so far", "-", "1", "deep-tissue", "5.0 min"),
    ]  # fmt: skip
    pain = html[html.index('<section id="pain-map">') :]
    assert "shoulder" not in pain[: pain.index("</section>")]


def test_goal_catalogue_names_metrics_the_screens_store():
    """Every metric a goal can be set on before it is stored is a screen's metric, with the unit the
    screen stores (the name ends with the unit's suffix, movekit.assess.result) and a direction."""
    import re

    import movekit.assess as assess
    from movekit.assess import SCREENS
    from movekit.assess.result import UNIT_SUFFIX
    from movekit.clinic.goals import GOAL_METRICS

    source = "".join(p.read_text(encoding="utf-8") for p in Path(assess.__file__).parent.glob("*.py"))
    for key, (unit, better) in GOAL_METRICS.items():
        test, metric = key.split(":")
        assert test in SCREENS and metric.endswith(UNIT_SUFFIX[unit]) and better in ("higher", "lower"), key
        assert re.search(rf"\b{metric}\b", source), key


def test_one_region_vocabulary_for_chart_and_log():
    from movekit.clinic import painmap, treatment

    assert list(painmap.REGIONS) == list(treatment.REGIONS) == list(REGIONS)
    assert set(OLD_NAMES).isdisjoint(REGIONS)
    assert REGIONS["lumbar"].chart == "back" and not REGIONS["lumbar"].paired and REGIONS["knee"].paired
    assert "quadratus_lumborum" in treatment.REGIONS["lumbar"] and "piriformis" in treatment.REGIONS["gluteal"]
    with pytest.raises(
        MovekitError, match=r"region 'spleen': one of head, .* \(older names accepted: neck -> cervical"
    ):
        canonical("spleen")
    # a mark on one side does not meet work on the other side of the same region
    mark = {"region": "knee", "side": "left", "intensity_0_10": 5, "session_date": "2026-01-01", "session_id": 1}
    work = {"part": "manual", "region": "knee", "side": "right", "technique": "iastm", "session_id": 1,
            "duration_min": 4}  # fmt: skip
    assert pain_beside_treatment([mark], [work])[0]["techniques"] == []
    assert pain_beside_treatment([mark], [{**work, "side": "both"}])[0]["techniques"] == ["iastm"]


def test_a_change_made_meanwhile_is_not_overwritten(v8):
    """Two windows: the second amends from a version the first has already changed; refused, nothing saved."""
    with Store(v8) as first, Store(v8) as second:
        stale = second.record("pain_mark", 1)
        first.amend_pain_mark(1, "the client said 5", intensity_0_10=5)
        with pytest.raises(MovekitError, match="pain mark 1 was changed meanwhile"):
            second._change("pain_mark", stale, "amend", "the client said 4", None, {"intensity_0_10": 4.0})
        assert second.record("pain_mark", 1)["intensity_0_10"] == 5.0 and len(second.history("pain_mark", 1)) == 3
