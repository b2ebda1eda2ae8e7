"""The output policy (movekit.outputs), private files, option types (movekit.argtypes), and the
readers' behaviour on arbitrary bytes (Hypothesis)."""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import stat
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from movekit import argtypes
from movekit.errors import MovekitError
from movekit.outputs import (
    CSV,
    HTML,
    JSON,
    RECORDING,
    TABLE,
    TRIANGULATED,
    atomic_path,
    check_output,
    is_recording,
    save_output,
)
from movekit.recording import RecordingWriter, StreamSpec, open_recording


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


@pytest.fixture
def umask_open():
    """A permissive umask (0o000), as on a shared machine: created files must still be private."""
    old = os.umask(0)
    yield
    os.umask(old)


def _small_recording(path: Path, **kw) -> Path:
    with RecordingWriter(path, {"client": "t"}, **kw) as w:
        w.add_stream(StreamSpec("emg", (2,), "uV", 1000.0, ("vmo", "vl"), kind="emg"))
        w.append("emg", np.arange(5) / 1000.0, np.arange(10).reshape(5, 2))
        w.event(0.001, "marker")
    return path


# --- the policy -----------------------------------------------------------------------------------


def test_new_output_is_accepted_and_written_private_and_atomic(tmp_path, umask_open):
    out = save_output(tmp_path / "a.csv", "x,y\n1,2\n", CSV)
    assert out.read_text() == "x,y\n1,2\n"
    assert _mode(out) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["a.csv"]  # no temporary file left


def test_existing_output_refused_then_replaced_with_overwrite(tmp_path):
    out = tmp_path / "a.csv"
    out.write_text("old")
    with pytest.raises(MovekitError, match="already exists.*--overwrite"):
        save_output(out, "new", CSV)
    assert out.read_text() == "old"
    save_output(out, "new", CSV, overwrite=True)
    assert out.read_text() == "new"


@pytest.mark.parametrize(
    "victim, kind, message",
    [
        ("clinic.sqlite3", HTML, "SQLite database"),
        ("notes.txt", HTML, "not a HTML report"),
        ("video.mp4", CSV, "not a CSV table"),
        # a Qualisys calibration shares the .txt suffix with tables and JSON: it is neither
        ("Calib.qca.txt", CSV, "not a CSV table"),
        ("Calib.qca.txt", TABLE, "not a table"),
        ("Calib.qca.txt", JSON, "not a JSON file"),
    ],
)
def test_overwrite_replaces_only_the_same_kind(tmp_path, victim, kind, message):
    path = tmp_path / victim
    if victim.endswith(".sqlite3"):
        sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.commit()
    else:
        path.write_bytes(b'<?xml version="1.0"?>\n<calibration cameras="4">' if "qca" in victim else b"precious")
    before = path.read_bytes()
    with pytest.raises(MovekitError, match=message):
        save_output(path, "<html>", kind, overwrite=True)
    assert path.read_bytes() == before


def test_a_txt_of_this_kind_is_replaced(tmp_path):
    """.txt is ambiguous: a table or JSON movekit wrote there is replaced with --overwrite."""
    table, doc = tmp_path / "angles.txt", tmp_path / "events.txt"
    table.write_text("time_s,left_knee_flexion_deg\n0,1\n")
    doc.write_text('{"kind": "pain"}\n')
    save_output(table, "time_s\n", TABLE, overwrite=True)
    save_output(doc, "{}", JSON, overwrite=True)
    assert table.read_text() == "time_s\n" and doc.read_text() == "{}"


def test_triangulation_never_replaces_a_camera_recording(tmp_path):
    """movekit triangulate's output kind replaces a triangulated recording only: a camera's (or any
    other) recording holds data the triangulation cannot give back."""
    rec = _small_recording(tmp_path / "cam01.mkrec")
    before = (rec / "streams" / "emg.arrows").read_bytes()
    with pytest.raises(MovekitError, match="other streams \\(emg\\), not a triangulated recording"):
        check_output(rec, TRIANGULATED, overwrite=True)
    assert (rec / "streams" / "emg.arrows").read_bytes() == before
    tri = tmp_path / "3d.mkrec"
    with RecordingWriter(tri, {}) as w:
        w.add_stream(StreamSpec("pose_3d_m", (33, 3), "m", 60.0, kind="pose_3d"))
        w.append("pose_3d_m", [0.0], np.zeros((1, 33, 3)))
    assert check_output(tri, TRIANGULATED, overwrite=True) == tri


def test_sqlite_refused_even_with_a_report_suffix(tmp_path):
    db = tmp_path / "report.html"
    sqlite3.connect(db).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(MovekitError, match="SQLite database"):
        check_output(db, HTML, overwrite=True)


def test_never_onto_an_input_or_into_a_recording(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("time_s,a\n0,1\n")
    with pytest.raises(MovekitError, match="also an input"):
        check_output(src, CSV, overwrite=True, inputs=[src])
    with pytest.raises(MovekitError, match="also an input"):  # same file by another spelling
        check_output(tmp_path / "." / "in.csv", CSV, overwrite=True, inputs=[str(src)])
    rec = _small_recording(tmp_path / "r.mkrec")
    for target in (rec / "meta.json", rec / "streams" / "emg.arrows", rec / "new.csv"):
        with pytest.raises(MovekitError, match="inside"):
            check_output(target, JSON, overwrite=True)
    assert open_recording(rec).closed


def test_missing_folder_and_directory_are_one_line_errors(tmp_path):
    with pytest.raises(MovekitError, match="does not exist") as e:
        check_output(tmp_path / "nope" / "a.csv", CSV)
    assert "\n" not in str(e.value)
    with pytest.raises(MovekitError, match="is a folder"):
        check_output(tmp_path, CSV, overwrite=True)


def test_recording_replaces_only_a_recording(tmp_path, umask_open):
    rec = _small_recording(tmp_path / "r.mkrec")
    assert _mode(rec) == 0o700 and _mode(rec / "streams") == 0o700
    assert {_mode(p) for p in (rec / "meta.json", rec / "events.jsonl", rec / "streams" / "emg.arrows")} == {0o600}
    with pytest.raises(MovekitError, match="already exists"):
        _small_recording(rec)
    _small_recording(rec, overwrite=True)  # a recording may replace a recording
    assert is_recording(rec)
    plain = tmp_path / "notes.txt"
    plain.write_text("keep me")
    video = tmp_path / "in.mp4"
    video.write_bytes(b"\x00\x00\x00\x18ftypmp42")
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(b"jpg")
    for victim in (plain, video, folder):
        with pytest.raises(MovekitError, match="not a recording|is a file"):
            RecordingWriter(victim, {}, overwrite=True)
    assert plain.read_text() == "keep me" and video.read_bytes().endswith(b"mp42") and (folder / "a.jpg").exists()
    with pytest.raises(MovekitError):
        check_output(video, RECORDING, overwrite=True)


def test_atomic_path_keeps_the_old_file_on_error(tmp_path):
    out = tmp_path / "a.csv"
    out.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(out) as tmp:
        tmp.write_text("half")
        raise RuntimeError("writer crashed")
    assert out.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["a.csv"]


def test_database_wal_and_backup_are_private(tmp_path, umask_open):
    from movekit.clinic.store import Store

    db = tmp_path / "clinic" / "c.sqlite3"
    with Store(db) as s:
        s.add_client("C-1")
        assert {_mode(p) for p in db.parent.iterdir()} == {0o600}  # database, -wal and -shm
        names = {p.name for p in db.parent.iterdir()}
        assert "c.sqlite3-wal" in names
    assert _mode(db) == 0o600


def test_report_is_private_and_never_replaces_the_database(tmp_path, umask_open):
    from movekit.cli import main
    from movekit.clinic.store import Store

    db = tmp_path / "clinic.sqlite3"
    with Store(db) as s:
        s.add_client("C-1")
    before = db.read_bytes()
    assert main(["report", "C-1", "-o", str(db), "--db", str(db), "--overwrite"]) == 2
    assert db.read_bytes() == before
    out = tmp_path / "r.html"
    assert main(["report", "C-1", "-o", str(out), "--db", str(db)]) == 0
    assert _mode(out) == 0o600 and "<html" in out.read_text().lower()
    assert main(["report", "C-1", "-o", str(out), "--db", str(db)]) == 2  # exists: refused
    assert main(["report", "C-1", "-o", str(out), "--db", str(db), "--overwrite"]) == 0


def test_client_id_cannot_steer_the_default_report_path(tmp_path, monkeypatch):
    from movekit.cli import main
    from movekit.clinic.store import Store

    db = tmp_path / "c.sqlite3"
    with Store(db) as s:
        s.add_client("../../x")
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    assert main(["report", "../../x", "--db", str(db)]) == 0
    assert [p.name for p in work.iterdir()] == ["_.._x-report.html"]
    assert not (tmp_path / "x-report.html").exists()


# --- espeak-ng ------------------------------------------------------------------------------------


def test_cue_text_starting_with_dash_f_is_spoken_not_read_as_a_file(tmp_path):
    from movekit.feedback.audio import Speech

    sp = Speech(cache_dir=tmp_path / "cache")
    if not sp.available:
        pytest.skip("espeak-ng is not installed")
    secret = tmp_path / "secret.txt"
    secret.write_text(" ".join(["confidential"] * 40))
    spoken_path = sp.say(f"-f{secret}")
    reading = sp.say(secret.read_text())
    # read as an option, espeak-ng would speak the file's forty words; spoken, it is one short path
    assert spoken_path is not None and reading is not None
    assert len(spoken_path) < 0.5 * len(reading)


# --- option types ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "parse, text",
    [
        (argtypes.positive_seconds, "nan"),
        (argtypes.positive_seconds, "0"),
        (argtypes.positive_seconds, "inf"),
        (argtypes.positive_seconds, "-1"),
        (argtypes.fraction, "5"),
        (argtypes.fraction, "-0.1"),
        (argtypes.finite_float, "nan"),
        (argtypes.count, "-3"),
        (argtypes.count, "2.5"),
        (argtypes.iso_date, "0001-01-01"),
        (argtypes.iso_date, "9999-12-31"),
        (argtypes.iso_date, "2026-02-30"),
        (argtypes.safe_name, "../../x"),
        (argtypes.safe_name, "a/b"),
        (argtypes.safe_name, ".hidden"),
        (argtypes.safe_name, ""),
        (argtypes.meta_item, "source=foo"),
        (argtypes.meta_item, "closed=yes"),
        (argtypes.meta_item, "novalue"),
    ],
)
def test_bad_option_values_are_refused(parse, text):
    with pytest.raises(argparse.ArgumentTypeError) as e:
        parse(text)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize(
    "parse, text, value",
    [
        (argtypes.positive_seconds, "2.5", 2.5),
        (argtypes.fraction, "0.5", 0.5),
        (argtypes.count, "0", 0),
        (argtypes.iso_date, "2026-03-01", "2026-03-01"),
        (argtypes.safe_name, "clinic-room_2.a", "clinic-room_2.a"),
        (argtypes.meta_item, "site=Leeds=2", ("site", "Leeds=2")),
        (argtypes.finite_list, "1.5, 3", [1.5, 3.0]),
    ],
)
def test_good_option_values_pass(parse, text, value):
    assert parse(text) == value


@given(st.text(max_size=30))
def test_finite_float_never_returns_a_non_finite_value(text):
    try:
        x = argtypes.finite_float(text)
    except argparse.ArgumentTypeError:
        return
    assert np.isfinite(x)


# --- readers on arbitrary bytes -----------------------------------------------------------------

_FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@_FUZZ
@given(
    meta=st.binary(max_size=200)
    | st.builds(
        lambda o: json.dumps(o).encode(),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=5),
            lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=6), c, max_size=4),
            max_leaves=8,
        ),
    ),
    events=st.binary(max_size=200),
)
def test_recording_reader_never_crashes_on_garbage_meta_or_events(tmp_path_factory, meta, events):
    rec = _small_recording(tmp_path_factory.mktemp("fz") / "r.mkrec")
    (rec / "meta.json").write_bytes(meta)
    (rec / "events.jsonl").write_bytes(events)
    try:
        r = open_recording(rec)
    except MovekitError as exc:
        assert "\n" not in str(exc)
        return
    assert all(isinstance(e, dict) and isinstance(e["kind"], str) for e in r.events)
    assert isinstance(r.closed, bool)


@_FUZZ
@given(body=st.binary(max_size=300))
def test_outcome_csv_reader_never_crashes(tmp_path_factory, body):
    from movekit.commands.outcome import read_outcome_csv

    f = tmp_path_factory.mktemp("oc") / "o.csv"
    f.write_bytes(b"client,date,measure,items,score\n" + body)
    try:
        rows = read_outcome_csv(str(f))
    except MovekitError as exc:
        assert "\n" not in str(exc)
        return
    assert all(set(r) >= {"client", "measure", "score"} for r in rows)


@_FUZZ
@given(
    doc=st.recursive(
        st.none() | st.booleans() | st.floats(allow_nan=True) | st.text(max_size=5),
        lambda c: (
            st.lists(c, max_size=3)
            | st.dictionaries(st.sampled_from(["test", "metrics", "value", "unit", "x"]), c, max_size=4)
        ),
        max_leaves=10,
    )
)
def test_assessment_json_reader_never_crashes(tmp_path_factory, doc):
    from movekit.clinic.store import Store

    d = tmp_path_factory.mktemp("aj")
    f = d / "r.json"
    f.write_text(json.dumps(doc))
    with Store(d / "c.sqlite3") as s:
        s.add_client("C-1")
        sid = s.start_session("C-1", "baseline")["id"]
        try:
            s.add_assessment(sid, str(f))
        except MovekitError as exc:
            assert "\n" not in str(exc)


def test_closed_cleanly_only_when_the_streams_are_all_there(tmp_path):
    import shutil

    rec = _small_recording(tmp_path / "r.mkrec")
    assert open_recording(rec).closed
    gone = tmp_path / "gone.mkrec"
    shutil.copytree(rec, gone)
    shutil.rmtree(gone / "streams")
    r = open_recording(gone)
    assert not r.closed and any("streams/ folder is missing" in p for p in r.problems)
    tampered = tmp_path / "tampered.mkrec"
    _small_recording(tampered)
    meta = json.loads((tampered / "meta.json").read_text())
    meta.update(closed=True)
    del meta["samples"]
    (tampered / "meta.json").write_text(json.dumps(meta))
    assert not open_recording(tampered).closed
    meta.update(closed="yes", samples={"emg": 5}, closed_unix_s=1.0)
    (tampered / "meta.json").write_text(json.dumps(meta))
    assert not open_recording(tampered).closed


# --- drill protocol TOML: shipped drills with fields replaced by values of any type ----------------


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {_toml_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(type(v))


def _toml(doc: dict) -> str:
    lines = [f"{json.dumps(k)} = {_toml_value(v)}" for k, v in doc.items()]
    return "\n".join(lines) + "\n"


_TOML_ANY = st.recursive(
    st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda c: (
        st.lists(c, max_size=3) | st.dictionaries(st.sampled_from(["id", "kind", "when", "say", "x"]), c, max_size=3)
    ),
    max_leaves=6,
)


@_FUZZ
@given(data=st.data())
def test_drill_toml_of_any_shape_is_a_one_line_error_or_a_protocol(tmp_path_factory, data):
    import tomllib

    from movekit.protocols.runner import PROTOCOL_DIR, load_protocol  # the loader itself gives one-line errors

    shipped = sorted(PROTOCOL_DIR.glob("*.toml"))
    doc = tomllib.loads(data.draw(st.sampled_from(shipped)).read_text())
    steps = doc.get("steps", [])
    target = data.draw(st.sampled_from(["top"] + [f"step{i}" for i in range(len(steps))]))
    holder = doc if target == "top" else steps[int(target[4:])]
    key = data.draw(st.sampled_from(sorted(holder)))
    holder[key] = data.draw(_TOML_ANY)
    f = tmp_path_factory.mktemp("toml") / "d.toml"
    f.write_text(_toml(doc))
    try:
        protocol = load_protocol(str(f))
    except MovekitError as exc:
        assert "\n" not in str(exc).strip()
        return
    assert protocol.name is not None
