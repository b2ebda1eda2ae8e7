"""CLI: client, session, outcome (add/list/import) and --db / MOVEKIT_DB."""

import json

from movekit.cli import main
from movekit.clinic.store import Store


def test_env_and_flag(tmp_path, monkeypatch, capsys):
    env_db = tmp_path / "env" / "e.sqlite3"
    monkeypatch.setenv("MOVEKIT_DB", str(env_db))
    assert main(["client", "add", "C-1", "--name", "Ana"]) == 0
    assert env_db.exists()
    flag_db = tmp_path / "f.sqlite3"
    assert main(["client", "add", "C-2", "--db", str(flag_db)]) == 0
    assert [c["code"] for c in Store(flag_db).clients()] == ["C-2"]
    assert main(["client", "add", "C-1"]) == 2  # duplicate: clear error, exit 2
    assert "already exists" in capsys.readouterr().err
    assert main(["client", "list"]) == 0
    assert "Ana" in capsys.readouterr().out
    assert main(["client", "add", "C-3", "--reassess", "6-4"]) == 2  # invalid window: nothing added
    assert "not valid" in capsys.readouterr().err
    assert main(["client", "add", "C-3", "--reassess", "5"]) == 0
    assert "re-assess every 5 sessions" in capsys.readouterr().out


def test_session_and_outcome_cli(tmp_path, capsys):
    db = str(tmp_path / "s.sqlite3")
    main(["client", "add", "C-1", "--db", db])
    assert (
        main(["session", "start", "C-1", "--type", "baseline", "--date", "2026-01-05", "--notes", "neck", "--db", db])
        == 0
    )
    rec = tmp_path / "a.mkrec"
    rec.mkdir()
    (rec / "meta.json").write_text("{}")
    assert main(["session", "link", "1", str(rec), "--db", db]) == 0
    f = tmp_path / "r.json"
    ok = {"test": "lumbar-flexion", "metrics": {"lumbar_flexion_deg": {"value": 50, "unit": "deg"}},
          "flags": [], "validity": {"view": {"ok": True, "message": "side view"}}}  # fmt: skip
    f.write_text(json.dumps(ok))
    assert main(["session", "add-result", "1", str(f), "--db", db]) == 0
    assert "NOT VALID" not in capsys.readouterr().out
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"test": "step-down", "metrics": {"step_down_judged_points": {"value": 0, "unit": "points"}},
                               "flags": [], "validity": {"view": {"ok": False, "message": "oblique view"}}}))  # fmt: skip
    assert main(["session", "add-result", "1", str(bad), "--db", db]) == 0
    assert "NOT VALID (view: oblique view), kept with the session, its metrics left out" in capsys.readouterr().out
    ung = tmp_path / "ung.json"
    ung.write_text(json.dumps({**ok, "flags": [{"code": "ungated", "message": "RESEARCH MODE"}]}))
    assert main(["session", "add-result", "1", str(ung), "--db", db]) == 0
    assert "NOT VALID (research mode (--ungated)" in capsys.readouterr().out
    n_stored = len(Store(db).assessments(1))
    (tmp_path / "ok.json").write_text(json.dumps(ok))
    for doc, said in (
        ({"test": "nonsense"}, "not an assessment result of a known test (test 'nonsense'"),
        ({"test": "posture", "metrics": {}}, "not a posture assessment result: it needs"),
        ({**ok, "metrics": {"lumbar_flexion_deg": 50}}, "not a lumbar-flexion assessment result: lumbar_flexion_deg"),
    ):
        f.write_text(json.dumps(doc))
        assert main(["session", "add-result", "1", str(tmp_path / "ok.json"), str(f), "--db", db]) == 2
        assert said in capsys.readouterr().err
    assert len(Store(db).assessments(1)) == n_stored  # nothing stored, not even the good file before it
    assert main(["session", "end", "C-1", "--notes", "eased", "--db", db]) == 0
    assert main(["session", "end", "C-1", "--db", db]) == 2  # none open
    capsys.readouterr()
    assert main(["session", "list", "C-1", "--db", db]) == 0
    out = capsys.readouterr().out
    assert "baseline" in out and "neck eased" in out
    assert (
        main(
            [
                "outcome",
                "add",
                "C-1",
                "odi",
                "--items",
                "2,2,2,2,2,2,1,1,2,-",
                "--date",
                "2026-01-05",
                "--session",
                "1",
                "--db",
                db,
            ]
        )
        == 0
    )
    assert "35.6 %" in capsys.readouterr().out
    assert main(["outcome", "add", "C-1", "quickdash", "--items", "3,3,3", "--db", db]) == 2
    assert "11 items" in capsys.readouterr().err


def test_outcome_csv_import(tmp_path, capsys):
    db = str(tmp_path / "i.sqlite3")
    main(["client", "add", "C-1", "--db", db])
    main(["client", "add", "C-2", "--db", db])
    csv = tmp_path / "o.csv"
    csv.write_text(
        "client,date,measure,items,score\n"
        "C-1,2026-01-05,nprs,,7\n"
        "C-1,2026-02-05,NPRS,4,\n"
        "C-2,2026-01-06,quickdash,1;2;3;4;5;1;2;3;4;5;,\n"
        "C-2,2026-01-06,odi,,42\n"
    )
    assert main(["outcome", "import", str(csv), "--db", db]) == 0
    st = Store(db)
    assert [o["score"] for o in st.outcomes("C-1")] == [7.0, 4.0]
    q = st.outcomes("C-2", "quickdash")[0]
    assert q["score"] == 50.0 and q["n_answered"] == 10 and q["items"][-1] is None
    st.close()
    bad = tmp_path / "bad.csv"
    bad.write_text("client,date,measure,items\nC-1,2026-01-05,nprs,4\nC-1,2026-01-06,dash,1;2\n")
    assert main(["outcome", "import", str(bad), "--db", db]) == 2
    assert "line 3" in capsys.readouterr().err
    assert len(Store(db).outcomes("C-1")) == 2  # nothing from the bad file
    capsys.readouterr()
    assert main(["outcome", "list", "C-1", "--db", db]) == 0
    assert "improved beyond the MCID" in capsys.readouterr().out


def test_outcome_add_prints_the_entered_scores_change_from_baseline(tmp_path, capsys):
    """A score entered out of date order: the change printed is the entered score's against the
    baseline (the earliest score), not the first row against the last."""
    db = str(tmp_path / "o.sqlite3")
    main(["client", "add", "C-1", "--db", db])
    for score, date in (("7", "2026-01-05"), ("3", "2026-03-05")):
        assert main(["outcome", "add", "C-1", "nprs", score, "--date", date, "--db", db]) == 0
    capsys.readouterr()
    assert main(["outcome", "add", "C-1", "nprs", "6", "--date", "2026-02-05", "--db", db]) == 0
    out = capsys.readouterr().out
    assert "2026-02-05 vs baseline 2026-01-05: 7.0 -> 6.0 -1.0 (-14%)" in out and "-4.0" not in out
    assert main(["outcome", "add", "C-1", "nprs", "8", "--date", "2025-12-01", "--db", db]) == 0
    assert "this 2025-12-01 score is now the earliest" in capsys.readouterr().out


def test_future_dates_are_refused_for_outcomes_and_program_logs(tmp_path, capsys):
    import datetime as dt

    db = str(tmp_path / "f.sqlite3")
    main(["client", "add", "C-1", "--db", db])
    main(["program", "assign", "C-1", "bridge", "--db", db])
    tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    capsys.readouterr()
    assert main(["outcome", "add", "C-1", "nprs", "4", "--date", "2030-01-01", "--db", db]) == 2
    assert "nprs score date 2030-01-01 is in the future" in capsys.readouterr().err
    csv = tmp_path / "o.csv"
    csv.write_text(f"client,date,measure,score\nC-1,2026-01-05,nprs,7\nC-1,{tomorrow},nprs,4\n")
    assert main(["outcome", "import", str(csv), "--db", db]) == 2
    assert "in the future" in capsys.readouterr().err
    assert main(["program", "log", "C-1", "1", "--date", tomorrow, "--db", db]) == 2
    assert "home-program log date" in capsys.readouterr().err
    with Store(db) as st:
        assert st.outcomes("C-1") == [] and st.program_logs("C-1") == []
    assert main(["outcome", "add", "C-1", "nprs", "4", "--date", dt.date.today().isoformat(), "--db", db]) == 0


def test_read_only_commands_refuse_a_missing_database_and_create_nothing(tmp_path, capsys):
    typo = tmp_path / "typo" / "clinc.sqlite3"
    empty = tmp_path / "empty.sqlite3"
    empty.touch()
    folder = tmp_path / "a folder"
    folder.mkdir()
    for db, said in ((typo, "does not exist"), (folder, "is a folder"), (empty, "is empty")):
        for cmd in (["client", "list"], ["session", "compare", "C-1"], ["session", "list", "C-1"],
                    ["outcome", "list", "C-1"], ["goal", "progress", "C-1"], ["pain-map", "show", "C-1"],
                    ["program", "show", "C-1"], ["report", "C-1", "-o", str(tmp_path / "r.html")]):  # fmt: skip
            assert main([*cmd, "--db", str(db)]) == 2, cmd
            err = capsys.readouterr().err
            assert (
                err
                == f"movekit: error: no movekit database at {db}: it {said} (check --db or $MOVEKIT_DB); nothing was created\n"
            )
    assert not typo.parent.exists() and empty.stat().st_size == 0 and not (tmp_path / "r.html").exists()


def test_an_empty_file_made_a_database_is_private(tmp_path):
    f = tmp_path / "c.sqlite3"
    f.touch()
    f.chmod(0o644)
    assert main(["client", "add", "C-1", "--db", str(f)]) == 0
    assert f.stat().st_mode & 0o777 == 0o600 and f.stat().st_size > 0


def test_client_codes_are_safe_names_unique_whatever_the_case(tmp_path, capsys):
    db = tmp_path / "c.sqlite3"
    assert main(["client", "add", "C-0042", "--db", str(db)]) == 0
    capsys.readouterr()
    assert main(["client", "add", "c-0042", "--db", str(db)]) == 2
    assert "client C-0042 already exists (c-0042 differs from it only in case)" in capsys.readouterr().err
    for bad in ("../escaped", ".hidden", "C 42; drop", "a/b"):
        assert main(["client", "add", bad, "--db", str(db)]) == 2
        assert f"client id must be letters, digits, '.', '_' or '-' (no '/' or leading '.'), not {bad!r}" in (
            capsys.readouterr().err
        )
    assert main(["client", "add", "x_1.b", "--db", str(tmp_path / "new.sqlite3")]) == 0
    assert not (tmp_path / "never.sqlite3").exists()
    assert main(["client", "add", "../x", "--db", str(tmp_path / "never.sqlite3")]) == 2
    assert not (tmp_path / "never.sqlite3").exists()  # refused before the database was made
    with Store(db) as st:  # a code stored before the rule is still read
        st.add_client("C 7")
    assert main(["client", "list", "--db", str(db)]) == 0 and "C 7" in capsys.readouterr().out


def test_one_open_session_per_client_and_session_end_takes_the_client(tmp_path, capsys):
    db = str(tmp_path / "s.sqlite3")
    main(["client", "add", "C-1", "--db", db])
    assert main(["session", "start", "C-1", "--db", db]) == 0
    capsys.readouterr()
    assert main(["session", "start", "C-1", "--db", db]) == 2
    assert "session 1 of C-1" in (err := capsys.readouterr().err) and "still open; end it first" in err
    assert len(Store(db).sessions("C-1")) == 1
    assert main(["session", "end", "1", "--db", db]) == 2
    assert "1 is not a client id: session end takes the client, e.g. movekit session end C-0042 --session 1" in (
        capsys.readouterr().err
    )
    assert main(["session", "end", "C-1", "--session", "1", "--db", db]) == 0
    assert main(["session", "start", "C-1", "--db", db]) == 0


def test_report_sources_are_citations_not_design_notes():
    from movekit.report import REFERENCES

    assert not [r for r in REFERENCES if "DESIGN" in r or "(per " in r]
    assert any("Laird RA, Kent P, Keating JL. 2016" in r and "BMC Musculoskelet Disord 17:403" in r for r in REFERENCES)
    assert any("Michener LA et al. 2009" in r and "90:1898-1903" in r for r in REFERENCES)
