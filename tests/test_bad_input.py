"""Catalogue of hostile inputs (issue 21): every case runs the real CLI in-process and must end in a
clean error (exit 2, no traceback, the last stderr line ``movekit...error: ...``) or a correct
result, and must leave every input file byte for byte as it was.

Inputs are real data: the demo recording (one pose run per test session, shared with the other
tests), 5 s of a real PLUX EMG file, a clinic database built through the store."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from movekit.cli import main

# id, argv (with {in}: the inputs folder, {out}: an empty output folder), expected exit code,
# text the error (or, for exit 0, stdout) must contain
CASES = [
    # --- outputs: never onto an input, the database, a recording; no silent overwrite
    (
        "report onto its database",
        ["report", "C-1", "-o", "{in}/clinic.sqlite3", "--db", "{in}/clinic.sqlite3"],
        2,
        "input",
    ),
    (
        "report onto the database with --overwrite",
        ["report", "C-1", "-o", "{in}/clinic.sqlite3", "--db", "{in}/clinic.sqlite3", "--overwrite"],
        2,
        "input",
    ),
    (
        "report onto another database",
        ["report", "C-1", "-o", "{in}/other.sqlite3", "--db", "{in}/clinic.sqlite3", "--overwrite"],
        2,
        "SQLite database",
    ),
    (
        "report onto an existing report",
        ["report", "C-1", "-o", "{in}/old.html", "--db", "{in}/clinic.sqlite3"],
        2,
        "already exists",
    ),
    (
        "report onto a folder",
        ["report", "C-1", "-o", "{in}", "--db", "{in}/clinic.sqlite3", "--overwrite"],
        2,
        "folder",
    ),
    (
        "report in a missing folder",
        ["report", "C-1", "-o", "{out}/no/r.html", "--db", "{in}/clinic.sqlite3"],
        2,
        "does not exist",
    ),
    ("capture onto a regular file", ["capture", "{in}/emg.csv", "-o", "{in}/notes.txt", "--overwrite"], 2, "is a file"),
    ("capture onto its input video", ["capture", "{in}/clip.mp4", "-o", "{in}/clip.mp4", "--overwrite"], 2, "input"),
    (
        "capture onto its input recording",
        ["capture", "{in}/demo.mkrec", "-o", "{in}/demo.mkrec", "--overwrite"],
        2,
        "input",
    ),
    (
        "capture onto a non-recording folder",
        ["capture", "{in}/clip.mp4", "-o", "{in}/photos", "--overwrite"],
        2,
        "not a recording",
    ),
    (
        "capture --annotate onto the input",
        ["capture", "{in}/clip.mp4", "-o", "{out}/r.mkrec", "--annotate", "{in}/clip.mp4", "--overwrite"],
        2,
        "input",
    ),
    ("emg onto its input", ["emg", "{in}/emg.csv", "-o", "{in}/emg.csv"], 2, "input"),
    ("emg onto its input with --overwrite", ["emg", "{in}/emg.csv", "-o", "{in}/emg.csv", "--overwrite"], 2, "input"),
    ("emg onto an existing CSV", ["emg", "{in}/emg.csv", "-o", "{in}/old.csv"], 2, "already exists"),
    (
        "emg --events onto the input",
        ["emg", "{in}/emg.csv", "-o", "{out}/e.csv", "--events", "{in}/emg.csv"],
        2,
        "input",
    ),
    ("emg in a missing folder", ["emg", "{in}/emg.csv", "-o", "{out}/no/e.csv"], 2, "does not exist"),
    (
        "angles onto the recording's meta.json",
        ["angles", "{in}/demo.mkrec", "-o", "{in}/demo.mkrec/meta.json", "--overwrite"],
        2,
        "demo.mkrec",
    ),
    (
        "angles into the recording's streams",
        ["angles", "{in}/demo.mkrec", "-o", "{in}/demo.mkrec/streams/x.csv"],
        2,
        "inside",
    ),
    ("angles onto an existing CSV", ["angles", "{in}/demo.mkrec", "-o", "{in}/old.csv"], 2, "already exists"),
    ("angles in a missing folder", ["angles", "{in}/demo.mkrec", "-o", "{out}/no/a.csv"], 2, "does not exist"),
    ("angles onto a folder", ["angles", "{in}/demo.mkrec", "-o", "{in}/photos"], 2, "folder"),
    ("replay --csv in a missing folder", ["replay", "{in}/demo.mkrec", "--csv", "{out}/no/a.csv"], 2, "does not exist"),
    ("replay --csv onto a folder", ["replay", "{in}/demo.mkrec", "--csv", "{in}/photos"], 2, "folder"),
    ("replay --csv onto an existing CSV", ["replay", "{in}/demo.mkrec", "--csv", "{in}/old.csv"], 2, "already exists"),
    ("replay --csv into the recording", ["replay", "{in}/demo.mkrec", "--csv", "{in}/demo.mkrec/a.csv"], 2, "inside"),
    (
        "assess --json in a missing folder",
        ["assess", "posture", "{in}/demo.mkrec", "--json", "{out}/no/r.json"],
        2,
        "does not exist",
    ),
    ("assess --json onto a folder", ["assess", "posture", "{in}/demo.mkrec", "--json", "{in}/photos"], 2, "folder"),
    (
        "assess --json onto an existing file",
        ["assess", "posture", "{in}/demo.mkrec", "--json", "{in}/prev.json"],
        2,
        "already exists",
    ),
    (
        "calibrate --dir onto a file",
        ["calibrate", "static", "{in}/demo.mkrec", "--name", "s", "--dir", "{in}/notes.txt"],
        2,
        "not a folder",
    ),
    (
        "calibrate --dir missing",
        ["calibrate", "static", "{in}/demo.mkrec", "--name", "s", "--dir", "{out}/no"],
        2,
        "no such folder",
    ),
    (
        "drill --log onto the input",
        ["drill", "core_bracing_hold", "{in}/emg.csv", "--log", "{in}/emg.csv", "--no-sound", "--quiet"],
        2,
        "input",
    ),
    # --- names stay inside their folder
    (
        "calibrate static --name ../../x",
        ["calibrate", "static", "{in}/demo.mkrec", "--name", "../../x", "--dir", "{out}"],
        2,
        "--name",
    ),
    (
        "calibrate camera --name a/b",
        ["calibrate", "camera", "{in}/clip.mp4", "--name", "a/b", "--dir", "{out}"],
        2,
        "--name",
    ),
    (
        "devices calibrate --name ../x",
        [
            "devices",
            "calibrate",
            "{in}/demo.mkrec",
            "--joint",
            "knee_flexion",
            "--proximal",
            "a",
            "--distal",
            "b",
            "--static",
            "0:1",
            "--functional",
            "1:2",
            "--name",
            "../x",
        ],
        2,
        "--name",
    ),
    # --- options: finite, in range, in the right unit
    (
        "capture --duration nan",
        ["capture", "{in}/clip.mp4", "-o", "{out}/r.mkrec", "--duration", "nan"],
        2,
        "--duration",
    ),
    ("capture --duration 0", ["capture", "{in}/clip.mp4", "-o", "{out}/r.mkrec", "--duration", "0"], 2, "--duration"),
    (
        "capture --meta source=foo",
        ["capture", "{in}/clip.mp4", "-o", "{out}/r.mkrec", "--meta", "source=foo"],
        2,
        "--meta",
    ),
    (
        "capture --meta closed=yes",
        ["capture", "{in}/clip.mp4", "-o", "{out}/r.mkrec", "--meta", "closed=yes"],
        2,
        "--meta",
    ),
    (
        "capture --meta calibration=x",
        ["capture", "{in}/clip.mp4", "-o", "{out}/r.mkrec", "--meta", "calibration=x"],
        2,
        "--meta",
    ),
    ("replay --speed nan", ["replay", "{in}/demo.mkrec", "--speed", "nan"], 2, "--speed"),
    ("replay --speed inf", ["replay", "{in}/demo.mkrec", "--speed", "inf"], 2, "--speed"),
    (
        "angles --min-visibility 5",
        ["angles", "{in}/demo.mkrec", "-o", "{out}/a.csv", "--min-visibility", "5"],
        2,
        "--min-visibility",
    ),
    ("assess --age -5", ["assess", "posture", "{in}/demo.mkrec", "--age", "-5"], 2, "--age"),
    (
        "assess --pain-times nan,inf",
        ["assess", "painful-arc", "{in}/demo.mkrec", "--pain-times", "nan,inf"],
        2,
        "--pain-times",
    ),
    ("assess --duration 0", ["assess", "posture", "0", "--duration", "0"], 2, "--duration"),
    ("emg --k nan", ["emg", "{in}/emg.csv", "-o", "{out}/e.csv", "--k", "nan"], 2, "--k"),
    ("emg --window-ms 1e9", ["emg", "{in}/emg.csv", "-o", "{out}/e.csv", "--window-ms", "1e9"], 2, "--window-ms"),
    (
        "emg --lowpass 0",
        ["emg", "{in}/emg.csv", "-o", "{out}/e.csv", "--lowpass", "0", "--envelope", "linear"],
        2,
        "--lowpass",
    ),
    (
        "emg --baseline 100,200 on a 5 s file",
        ["emg", "{in}/emg.csv", "-o", "{out}/e.csv", "--baseline", "100,200"],
        2,
        "lasts only",
    ),
    ("emg --baseline nan,1", ["emg", "{in}/emg.csv", "-o", "{out}/e.csv", "--baseline", "nan,1"], 2, "--baseline"),
    (
        "calibrate camera --square-mm 0",
        ["calibrate", "camera", "{in}/clip.mp4", "--name", "c", "--square-mm", "0"],
        2,
        "--square-mm",
    ),
    (
        "calibrate level --square-mm -25",
        ["calibrate", "level", "--board", "{in}/clip.mp4", "--name", "c", "--square-mm", "-25"],
        2,
        "--square-mm",
    ),
    ("program show --weeks 0", ["program", "show", "C-1", "--weeks", "0", "--db", "{in}/clinic.sqlite3"], 2, "--weeks"),
    (
        "program log --date 9999-12-31",
        ["program", "log", "C-1", "bird dog", "--date", "9999-12-31", "--db", "{in}/clinic.sqlite3"],
        2,
        "--date",
    ),
    (
        "program log --date 0001-01-01",
        ["program", "log", "C-1", "bird dog", "--date", "0001-01-01", "--db", "{in}/clinic.sqlite3"],
        2,
        "--date",
    ),
    (
        "program log --sets -2",
        ["program", "log", "C-1", "bird dog", "--sets", "-2", "--db", "{in}/clinic.sqlite3"],
        2,
        "--sets",
    ),
    (
        "program assign --reps -8",
        ["program", "assign", "C-1", "plank", "--reps", "-8", "--db", "{in}/clinic.sqlite3"],
        2,
        "--reps",
    ),
    (
        "program log --pain nan",
        ["program", "log", "C-1", "bird dog", "--pain", "nan", "--db", "{in}/clinic.sqlite3"],
        2,
        "pain",
    ),
    (
        "session start --date 9999-12-31",
        ["session", "start", "C-1", "--date", "9999-12-31", "--db", "{in}/clinic.sqlite3"],
        2,
        "--date",
    ),
    (
        "outcome add nprs --items 3,4",
        ["outcome", "add", "C-1", "nprs", "--items", "3,4", "--db", "{in}/clinic.sqlite3"],
        2,
        "one rating",
    ),
    (
        "outcome add --date 0001-01-01",
        ["outcome", "add", "C-1", "nprs", "3", "--date", "0001-01-01", "--db", "{in}/clinic.sqlite3"],
        2,
        "--date",
    ),
    (
        "session compare with another client's session",
        ["session", "compare", "C-1", "--baseline", "2", "--db", "{in}/clinic.sqlite3"],
        2,
        "belongs to C-2",
    ),
    # --- files read: encoding, garbage, wrong shape
    ("emg of a non-UTF-8 file", ["emg", "{in}/latin1.csv", "-o", "{out}/e.csv"], 2, "latin1.csv"),
    (
        "assess --previous non-UTF-8",
        ["assess", "posture", "{in}/demo.mkrec", "--previous", "{in}/latin1.csv"],
        2,
        "latin1.csv",
    ),
    (
        "assess --previous a JSON list",
        ["assess", "posture", "{in}/demo.mkrec", "--previous", "{in}/list.json"],
        2,
        "list.json",
    ),
    (
        "outcome import non-UTF-8",
        ["outcome", "import", "{in}/latin1.csv", "--db", "{in}/clinic.sqlite3"],
        2,
        "latin1.csv",
    ),
    (
        "session add-result non-UTF-8",
        ["session", "add-result", "1", "{in}/latin1.csv", "--db", "{in}/clinic.sqlite3"],
        2,
        "latin1.csv",
    ),
    (
        "session add-result a JSON list",
        ["session", "add-result", "1", "{in}/list.json", "--db", "{in}/clinic.sqlite3"],
        2,
        "JSON object",
    ),
    (
        "angles with a camera profile of the wrong shape",
        ["angles", "{in}/demo.mkrec", "-o", "{out}/a.csv", "--camera", "{in}/list.json"],
        2,
        "list.json",
    ),
    (
        "angles with a static profile of the wrong shape",
        ["angles", "{in}/demo.mkrec", "-o", "{out}/a.csv", "--static", "{in}/wrongkeys.json"],
        2,
        "wrongkeys.json",
    ),
    (
        "capture with a camera profile of the wrong shape",
        ["capture", "{in}/clip.mp4", "-o", "{out}/r.mkrec", "--camera", "{in}/list.json"],
        2,
        "list.json",
    ),
    (
        "calibrate static with a camera profile of the wrong shape",
        ["calibrate", "static", "{in}/demo.mkrec", "--name", "s", "--dir", "{out}", "--camera", "{in}/wrongkeys.json"],
        2,
        "wrongkeys.json",
    ),
    (
        "drill with a TOML of the wrong types",
        ["drill", "{in}/bad_drill.toml", "{in}/emg.csv", "--no-sound", "--quiet"],
        2,
        "bad_drill.toml",
    ),
    ("info of a recording with a garbage meta.json", ["info", "{in}/garbage_meta.mkrec"], 2, "meta.json"),
    ("info of a recording whose meta.json is a list", ["info", "{in}/list_meta.mkrec"], 2, "meta.json"),
    (
        "info of a recording with garbage events",
        ["info", "{in}/garbage_events.mkrec"],
        0,
        "closed cleanly, but damaged since",
    ),
    ("info of a recording without streams/", ["info", "{in}/no_streams.mkrec"], 0, "closed cleanly, but damaged since"),
    ("info of a recording with closed=yes", ["info", "{in}/closed_yes.mkrec"], 0, "NOT closed"),
    (
        "info of a recording with a stream of the wrong shape",
        ["info", "{in}/bad_shape.mkrec"],
        0,
        "closed cleanly, but damaged since",
    ),
    (
        "angles of a recording cut short warns",
        ["angles", "{in}/cut.mkrec", "-o", "{out}/a.csv"],
        0,
        "not closed cleanly",
    ),
    # --- correct results (the same inputs, used properly)
    ("info of the demo recording", ["info", "{in}/demo.mkrec"], 0, "closed cleanly"),
    ("emg to a new file", ["emg", "{in}/emg.csv", "-o", "{out}/e.csv", "--events", "{out}/e.json"], 0, ""),
    ("report to a new file", ["report", "C-1", "-o", "{out}/r.html", "--db", "{in}/clinic.sqlite3"], 0, "wrote"),
]

#: SQLite's own side files come and go with every connection; the database file itself is hashed
_SIDE = ("-wal", "-shm")


def _hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.name.endswith(_SIDE)
    }


def _copy_recording(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


@pytest.fixture(scope="module")
def inputs(demo_recording, demo_clip, tmp_path_factory) -> Path:
    """The inputs folder, made once: copied for every case."""
    from movekit.clinic.store import Store
    from movekit.datasets import fetch
    from movekit.emg_io import read_emg

    d = tmp_path_factory.mktemp("inputs")
    rec = _copy_recording(demo_recording, d / "demo.mkrec")
    shutil.copy(demo_clip, d / "clip.mp4")
    sig = read_emg(fetch("plux_emg_bursts"))
    n = int(5 * sig.rate_hz)
    table = np.column_stack([sig.t_s[:n] - sig.t_s[0], sig.data_uv[:n]])
    np.savetxt(
        d / "emg.csv", table, delimiter=",", header="time_s," + ",".join(sig.channel_names), comments="", fmt="%.6f"
    )
    (d / "latin1.csv").write_bytes("time_s,canal_é\n0,1\n".encode("latin-1"))
    (d / "list.json").write_text("[1, 2, 3]")
    (d / "wrongkeys.json").write_text(json.dumps({"kind": "static", "unexpected": 1}))
    (d / "prev.json").write_text(json.dumps({"test": "posture", "metrics": {}}))
    (d / "old.csv").write_text("keep,me\n1,2\n")
    (d / "old.html").write_text("<html>keep me</html>")
    (d / "notes.txt").write_text("keep me")
    (d / "photos").mkdir()
    (d / "photos" / "a.jpg").write_bytes(b"\xff\xd8\xff")
    (d / "bad_drill.toml").write_text('name = "bad"\ntitle = 5\nsteps = ["not a table"]\n')
    import sqlite3

    other = sqlite3.connect(d / "other.sqlite3")
    other.execute("CREATE TABLE t (x)")
    other.commit()
    other.close()
    with Store(d / "clinic.sqlite3") as st:
        st.add_client("C-1")
        st.add_client("C-2")
        st.start_session("C-1", "baseline", "2026-01-05")
        st.start_session("C-2", "baseline", "2026-01-06")
        st.add_program_item("C-1", "bird dog", sets=2, reps=8)
    # damaged recordings (small: the demo recording's meta and events, one stream)
    for name in ("garbage_meta", "list_meta", "garbage_events", "no_streams", "closed_yes", "bad_shape"):
        r = _copy_recording(rec, d / f"{name}.mkrec")
        for s in sorted((r / "streams").iterdir())[1:]:
            s.unlink()
        meta = json.loads((r / "meta.json").read_text())
        meta["samples"] = {k: v for k, v in meta["samples"].items() if (r / "streams" / f"{k}.arrows").exists()}
        (r / "meta.json").write_text(json.dumps(meta))
    (d / "garbage_meta.mkrec" / "meta.json").write_bytes(b"\x00\xffnot json")
    (d / "list_meta.mkrec" / "meta.json").write_text("[]")
    (d / "garbage_events.mkrec" / "events.jsonl").write_text('[1, 2]\n"text"\n{"kind": 5}\n')
    shutil.rmtree(d / "no_streams.mkrec" / "streams")
    meta = json.loads((d / "closed_yes.mkrec" / "meta.json").read_text())
    meta.update(closed="yes")
    (d / "closed_yes.mkrec" / "meta.json").write_text(json.dumps(meta))
    _reshape_first_stream(d / "bad_shape.mkrec")
    cut = _copy_recording(rec, d / "cut.mkrec")  # as after a SIGKILL: not closed, a stream's tail cut
    meta = json.loads((cut / "meta.json").read_text())
    meta["closed"] = False
    (cut / "meta.json").write_text(json.dumps(meta))
    stream = cut / "streams" / "pose_image_px.arrows"
    stream.write_bytes(stream.read_bytes()[:-1000])
    return d


def _reshape_first_stream(rec: Path) -> None:
    """Rewrite the one stream with a spec whose shape disagrees with its columns."""
    import pyarrow as pa

    path = min((rec / "streams").iterdir())
    with pa.ipc.open_stream(pa.py_buffer(path.read_bytes())) as r:
        table = r.read_all()
    meta = dict(table.schema.metadata)
    spec = json.loads(meta[b"movekit.stream"])
    spec["shape"] = [7, 5]
    spec["channel_names"] = None
    spec["component_names"] = None
    meta[b"movekit.stream"] = json.dumps(spec).encode()
    table = table.replace_schema_metadata(meta)
    with pa.OSFile(str(path), "wb") as f, pa.ipc.new_stream(f, table.schema) as w:
        w.write_table(table)


def _run(argv: list[str], capsys) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse: usage, then one "error:" line
        code = exc.code if isinstance(exc.code, int) else 2
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.mark.parametrize("case, argv, expected, text", CASES, ids=[c[0] for c in CASES])
def test_bad_input(case, argv, expected, text, inputs, tmp_path, capsys, monkeypatch):
    d = tmp_path / "in"
    shutil.copytree(inputs, d)
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.chdir(out)
    monkeypatch.setenv("MOVEKIT_DATA_DIR", str(tmp_path / "data"))
    before = _hashes(d)
    args = [a.replace("{in}", str(d)).replace("{out}", str(out)) for a in argv]
    code, stdout, stderr = _run(args, capsys)
    assert "Traceback" not in stderr
    assert code == expected, f"{case}: exit {code}\n{stdout}\n{stderr}"
    if expected == 2:
        last = stderr.strip().splitlines()[-1]
        assert last.startswith("movekit") and "error:" in last, stderr
        assert text in last, last
    else:
        assert text in stdout + stderr, stdout
    assert _hashes(d) == before, f"{case} changed an input"
    if expected == 2:
        assert not any(p.is_file() for p in out.rglob("*")), f"{case} left output behind"
