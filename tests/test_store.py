"""Progress store: schema, migrations, records, clear errors."""

import json
import sqlite3

import pytest

from movekit.clinic.store import MIGRATIONS, SCHEMA_VERSION, Database, Store
from movekit.clinic.store.db import _split_sql
from movekit.errors import MovekitError


def result(test="single-leg-stance", **metrics):
    return {
        "test": test,
        "metrics": {k: {"value": v, "unit": k.rsplit("_", 1)[-1]} for k, v in metrics.items()},
        "reps": [{"i": 1, "x": float("nan")}],
        "flags": [],
        "validity": {},
        "references": [],
    }


def test_migrate_from_empty(tmp_path):
    db = Database(tmp_path / "a.sqlite3")
    assert db.version() == SCHEMA_VERSION == len(MIGRATIONS)
    tables = {r[0] for r in db.read("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {
        "clients",
        "sessions",
        "recordings",
        "assessments",
        "metrics",
        "outcomes",
        "program_items",
        "program_logs",
    } <= tables
    assert db.read("PRAGMA journal_mode")[0][0] == "wal"
    assert db.migrate() == 0  # idempotent
    db.close()
    assert not (tmp_path / "a.sqlite3.bak-v0").exists()


def test_migrate_from_older_schema_keeps_data(tmp_path):
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    for stmt in _split_sql(MIGRATIONS[0]):
        conn.execute(stmt)
    conn.execute("PRAGMA user_version = 1")
    conn.execute("INSERT INTO clients (code, name, created_utc) VALUES ('C-1', 'Old', '2025-01-01T00:00:00Z')")
    conn.execute(
        "INSERT INTO sessions (client_id, session_date, type, started_utc) "
        "VALUES (1, '2025-01-02', 'baseline', '2025-01-02T09:00:00Z')"
    )
    conn.commit()
    conn.close()
    with Store(path) as st:
        assert st.db.version() == SCHEMA_VERSION
        c = st.client("C-1")
        assert c["name"] == "Old" and (c["reassess_min_sessions"], c["reassess_max_sessions"]) == (4, 6)
        assert st.sessions("C-1")[0]["type"] == "baseline"
        item = st.add_program_item("C-1", "bridge", sets=3, reps=10)  # v2 table works
        assert item["per_week"] == 7
    backup = tmp_path / "old.sqlite3.bak-v1"
    assert backup.exists()
    b = sqlite3.connect(backup)
    assert b.execute("PRAGMA user_version").fetchone()[0] == 1
    assert b.execute("SELECT code FROM clients").fetchall() == [("C-1",)]
    b.close()


def test_refuses_newer_schema(tmp_path):
    path = tmp_path / "new.sqlite3"
    Database(path).close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.commit()
    conn.close()
    with pytest.raises(MovekitError, match="newer than this movekit"):
        Database(path)


def test_folder_instead_of_file(tmp_path):
    with pytest.raises(MovekitError, match="is a folder"):
        Store(tmp_path)


def test_not_a_database(tmp_path):
    p = tmp_path / "junk.sqlite3"
    p.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(MovekitError, match="not a movekit database"):
        Store(p)


def test_records_roundtrip(tmp_path):
    st = Store(tmp_path / "s.sqlite3")
    st.add_client("C-7")
    with pytest.raises(MovekitError, match="already exists"):
        st.add_client("C-7")
    with pytest.raises(MovekitError, match="no client"):
        st.start_session("nobody")
    s = st.start_session("C-7", "baseline", "2026-01-05", "first visit")
    assert st.open_session("C-7")["id"] == s["id"]
    st.end_session(s["id"], "went well")
    assert st.open_session("C-7") is None
    assert st.session(s["id"])["therapist_notes"] == "first visit\nwent well"
    st.add_outcome("C-7", "nprs", 6, session_id=s["id"])
    assert st.outcomes("C-7")[0]["taken_date"] == "2026-01-05"  # the session's date
    aid = st.add_assessment(s["id"], result(stance_time_s=12.5, sway_path_length_mm=410.0))
    [a] = st.assessments(s["id"])
    assert a["id"] == aid and a["result"]["reps"][0]["x"] is None  # NaN stored as null
    series = st.metric_series("C-7", name="stance_time_s")
    assert [(r["value"], r["unit"], r["session_date"]) for r in series] == [(12.5, "s", "2026-01-05")]
    with pytest.raises(MovekitError, match="date"):
        st.start_session("C-7", "treatment", "05/01/2026")
    with pytest.raises(MovekitError, match="session type"):
        st.start_session("C-7", "massage")
    with pytest.raises(MovekitError, match='"test"'):
        st.add_assessment(s["id"], {"metrics": {}})
    st.close()


def test_a_research_mode_result_is_never_a_clinical_result(tmp_path):
    """A result computed with ``movekit assess --ungated`` (its checks passed, its angles not gated:
    flag ``ungated``) is kept but is no baseline, no current value and no report plot point."""
    from movekit.clinic import reassess
    from movekit.clinic.store.models import result_refusals
    from movekit.report import _collect, _Recordings

    st = Store(tmp_path / "s.sqlite3")
    st.add_client("C-1")
    ung = result("lumbar-flexion", lumbar_flexion_deg=75.0)
    ung["flags"] = [{"code": "ungated", "message": "RESEARCH MODE: ... this is not a clinical result"}]
    assert result_refusals(ung) == ["research mode (--ungated): angles over their error limit were not refused"]
    a = st.start_session("C-1", "baseline", "2026-01-05")
    st.add_assessment(a["id"], result("lumbar-flexion", lumbar_flexion_deg=40.0))
    b = st.start_session("C-1", "reassessment", "2026-02-05")
    st.add_assessment(b["id"], ung)
    assert [r["value"] for r in st.metric_series("C-1")] == [40.0]
    assert [r["value"] for r in st.metric_series("C-1", valid_only=False)] == [40.0, 75.0]  # kept
    rom = _collect(st, "C-1", st.sessions("C-1"), _Recordings(), angle_traces=False)[0]
    assert [p["value"] for p in rom] == [40.0]
    assert all(m.current != 75.0 for m in reassess.compare(st, "C-1").metrics)
    st.close()


def test_assessment_from_json_file(tmp_path):
    st = Store(tmp_path / "s.sqlite3")
    st.add_client("C-1")
    s = st.start_session("C-1", "baseline")
    f = tmp_path / "r.json"
    f.write_text(json.dumps(result("lumbar-flexion", lumbar_flexion_deg=40.0)))
    st.add_assessment(s["id"], str(f))
    assert st.metric_series("C-1")[0]["name"] == "lumbar_flexion_deg"
    st.close()


def test_a_not_valid_result_is_kept_but_never_a_baseline(tmp_path):
    """A result whose validity checks failed (a step-down seen obliquely: nothing judged) is kept
    whole with its session, metrics included, but the metric series a progress comparison reads
    leaves them out (also in a database stored before): the report showed its "0 points judged"
    as the baseline score."""
    from movekit.clinic import reassess

    st = Store(tmp_path / "s.sqlite3")
    st.add_client("C-1")
    s = st.start_session("C-1", "baseline", "2026-01-05")
    bad = result("step-down", step_down_judged_points=0.0)
    bad["validity"] = {"view": {"ok": False, "value": "oblique", "required": "frontal", "message": "oblique view"}}
    aid = st.add_assessment(s["id"], bad)
    [a] = st.assessments(s["id"])
    assert a["id"] == aid and a["result"]["validity"]["view"]["ok"] is False  # the result itself is kept
    assert st.metric_series("C-1") == []
    assert [r["value"] for r in st.metric_series("C-1", valid_only=False)] == [0.0]  # stored, nothing lost
    assert reassess.compare(st, "C-1").metrics == []
    later = st.start_session("C-1", "reassessment", "2026-02-05")
    good = result("step-down", step_down_judged_points=2.0)
    good["validity"] = {"view": {"ok": True, "value": "frontal", "required": "frontal", "message": "front view"}}
    st.add_assessment(later["id"], good)
    st.add_assessment(st.start_session("C-1", "reassessment", "2026-03-05")["id"], good)
    [m] = reassess.compare(st, "C-1").metrics
    assert m.baseline == 2.0 and m.baseline_date == "2026-02-05"  # the first VALID value is the baseline
    assert m.current_date == "2026-03-05"
    st.close()


def test_link_recording_by_meta_hash(tmp_path):
    st = Store(tmp_path / "s.sqlite3")
    st.add_client("C-1")
    s = st.start_session("C-1")
    rec = tmp_path / "a.mkrec"
    rec.mkdir()
    with pytest.raises(MovekitError, match="no meta.json"):
        st.link_recording(s["id"], rec)
    (rec / "meta.json").write_text('{"closed": true}')
    r = st.link_recording(s["id"], rec)
    assert len(r["meta_sha256"]) == 64
    assert st.recordings(s["id"])[0]["status"] == "ok"
    (rec / "meta.json").write_text('{"closed": false}')
    assert st.recordings(s["id"])[0]["status"] == "changed"
    (rec / "meta.json").unlink()
    assert st.recordings(s["id"])[0]["status"] == "missing"
    st.close()


def test_locked_database_is_a_clear_error(tmp_path):
    path = tmp_path / "l.sqlite3"
    Store(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        st = Store(path, busy_timeout_s=0.2)
        with pytest.raises(MovekitError, match="locked by another program.*nothing was saved"):
            st.add_client("C-1")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    st.add_client("C-1")  # works once the lock is gone
    assert [c["code"] for c in st.clients()] == ["C-1"]
    st.close()


def test_read_only_database_is_a_clear_error(tmp_path):
    path = tmp_path / "r.sqlite3"
    with Store(path) as st:
        st.add_client("C-1")
    ro = Store(path, read_only=True)
    assert ro.client("C-1")["code"] == "C-1"
    with pytest.raises(MovekitError, match="read-only"):
        ro.add_client("C-2")
    # SQLite's own read-only error is translated too
    db = Database(path)
    db.conn.close()
    db.conn = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True, isolation_level=None)
    with pytest.raises(MovekitError, match="is read-only"):
        with db.write() as c:
            c.execute("INSERT INTO clients (code, created_utc) VALUES ('X', 'now')")
    db.close()


def test_failed_transaction_rolls_back(tmp_path):
    st = Store(tmp_path / "t.sqlite3")
    with pytest.raises(RuntimeError):
        with st.db.write() as c:
            c.execute("INSERT INTO clients (code, created_utc) VALUES ('half', 'now')")
            raise RuntimeError("crash in the middle")
    assert st.clients() == []
    st.close()


def test_outcome_bulk_is_all_or_nothing(tmp_path):
    st = Store(tmp_path / "o.sqlite3")
    st.add_client("C-1")
    with pytest.raises(MovekitError, match="no client"):
        st.add_outcomes(
            [{"client": "C-1", "measure": "nprs", "score": 5}, {"client": "C-9", "measure": "nprs", "score": 5}]
        )
    assert st.outcomes("C-1") == []
    st.close()


def test_failed_migration_leaves_old_schema(tmp_path, monkeypatch):
    import movekit.clinic.store.db as dbmod

    path = tmp_path / "m.sqlite3"
    with Store(path) as st:
        st.add_client("C-1")
    bad = dbmod.MIGRATIONS + ["CREATE TABLE extra (x INTEGER);\nTHIS IS NOT SQL;"]
    monkeypatch.setattr(dbmod, "MIGRATIONS", bad)
    monkeypatch.setattr(dbmod, "SCHEMA_VERSION", len(bad))
    with pytest.raises(MovekitError):
        Database(path)
    monkeypatch.undo()
    with Store(path) as st:  # untouched: old version, no half-made table, data intact
        assert st.db.version() == SCHEMA_VERSION
        assert not st.db.read("SELECT name FROM sqlite_master WHERE name = 'extra'")
        assert st.client("C-1")["code"] == "C-1"


def test_v7_database_migrates_to_devices_and_mvc_keeping_its_data(tmp_path):
    """A v7 database (before paired devices and MVC recordings) is backed up, migrated, and keeps
    its clients and home program; the new tables round-trip."""
    path = tmp_path / "v7.sqlite3"
    conn = sqlite3.connect(path)
    for script in MIGRATIONS[:7]:
        for stmt in _split_sql(script):
            conn.execute(stmt)
    conn.execute("PRAGMA user_version = 7")
    conn.execute("INSERT INTO clients (code, name, created_utc) VALUES ('C-7', 'Seven', '2026-01-01T00:00:00Z')")
    conn.execute(
        "INSERT INTO program_items (client_id, name, kind, drill_id, assigned_date) "
        "VALUES (1, 'Quad sets', 'drill', 'quad_sets', '2026-01-02')"
    )
    conn.commit()
    conn.close()
    with Store(path) as st:
        assert st.db.version() == SCHEMA_VERSION == 9
        assert st.client("C-7")["name"] == "Seven" and st.program_items("C-7")[0]["drill_id"] == "quad_sets"
        assert st.paired_devices("C-7") == [] and st.latest_mvc("C-7") is None
        dev = st.add_paired_device("C-7", "C0:FF:EE:00:00:04", "generic_emg", "thigh", {"ch1": "vmo", "ch2": "vl"})
        assert (dev["address"], dev["label"], dev["channels"]) == (
            "C0:FF:EE:00:00:04",
            "thigh",
            {"ch1": "vmo", "ch2": "vl"},
        )
        old = st.add_mvc("C-7", {"vmo": 80.0}, recorded_utc="2026-01-03T09:00:00Z", source="mvc.json")
        new = st.add_mvc("C-7", {"vmo": 95.5, "vl": 120.25}, channels={"vmo": "ch1", "vl": "ch2"}, duration_s=5.0,
                         recording_path=tmp_path / "mvc.mkrec")  # fmt: skip
        assert old["mvc_uv"] == {"vmo": 80.0} and old["recording_path"] is None
        latest = st.latest_mvc("C-7")
        assert latest == new and latest["mvc_uv"] == {"vl": 120.25, "vmo": 95.5}
        assert latest["channels"] == {"vl": "ch2", "vmo": "ch1"} and latest["duration_s"] == 5.0
        assert latest["recording_path"] == str((tmp_path / "mvc.mkrec").resolve())
    backup = tmp_path / "v7.sqlite3.bak-v7"
    assert backup.exists() and (backup.stat().st_mode & 0o777) == 0o600
    b = sqlite3.connect(backup)
    assert b.execute("PRAGMA user_version").fetchone()[0] == 7
    assert b.execute("SELECT code, name FROM clients").fetchall() == [("C-7", "Seven")]
    assert not b.execute("SELECT 1 FROM sqlite_master WHERE name = 'paired_devices'").fetchall()
    b.close()


def test_paired_devices_refuse_clashes_and_bad_mvc(tmp_path):
    with Store(tmp_path / "d.sqlite3") as st:
        st.add_client("C-1")
        st.add_client("C-2")
        st.add_paired_device("C-1", "C0:FF:EE:00:00:04", "generic_emg", "thigh", {"ch1": "vmo", "ch2": "vl"})
        before = st.paired_devices("C-1")
        clashes = {
            "already paired as 'thigh'": ("C0:FF:EE:00:00:04", "belly", {"ch1": "core"}),
            "channel ch1 already has a muscle on 'thigh'": ("C0:FF:EE:00:00:05", "belly", {"ch1": "core"}),
            "a muscle of 'belly' is already measured by 'thigh'": ("C0:FF:EE:00:00:05", "belly", {"ch3": "vmo"}),
        }
        for message, (addr, label, chans) in clashes.items():
            with pytest.raises(MovekitError, match=message):
                st.add_paired_device("C-1", addr, "generic_emg", label, chans)
        assert st.paired_devices("C-1") == before  # nothing changed by a refusal
        st.add_paired_device("C-2", "C0:FF:EE:00:00:04", "generic_emg", "thigh", {"ch1": "core"})  # another client
        again = st.add_paired_device("C-1", "C0:FF:EE:00:00:04", "generic_emg", "thigh", {"ch1": "vl"})  # re-pair
        assert again["channels"] == {"ch1": "vl"} and len(st.paired_devices("C-1")) == 1
        assert st.remove_paired_device("C-1", "thigh") and not st.remove_paired_device("C-1", "thigh")
        assert [d["channels"] for d in st.paired_devices("C-2")] == [{"ch1": "core"}]
        for bad in ({}, {"vmo": 0.0}, {"vmo": float("nan")}):
            with pytest.raises(MovekitError, match="MVC"):
                st.add_mvc("C-1", bad)
        assert st.latest_mvc("C-1") is None


def test_the_report_plots_no_point_of_a_not_valid_result(tmp_path):
    """A NOT VALID result's angle metric is no point on the client's range-of-motion plot (its flags
    are still listed); a valid one is."""
    from movekit.report import _collect, _Recordings

    st = Store(tmp_path / "s.sqlite3")
    st.add_client("C-1")
    s = st.start_session("C-1", "baseline", "2026-01-05")
    for ok, value in ((False, 10.0), (True, 40.0)):
        r = result("lumbar-flexion", lumbar_flexion_deg=value)
        r["metrics"]["lumbar_flexion_deg"]["unit"] = "deg"
        r["flags"] = [{"code": "checked", "message": f"valid {ok}"}]
        r["validity"] = {"view": {"ok": ok, "message": "side view" if ok else "front view"}}
        st.add_assessment(s["id"], r)
    rom, _, _, _, _, flags = _collect(st, "C-1", st.sessions("C-1"), _Recordings(), angle_traces=False)
    assert [p["value"] for p in rom] == [40.0]
    assert [f[3] for f in flags] == ["valid False", "valid True"]
    st.close()
