"""Exports and ``movekit info`` of a triangulated recording (``movekit triangulate``, a capture set's
``pose_3d.mkrec``).

Real data: the pose model's landmarks of cam01 and cam04 on Pose2Sim 0.10.49's Demo_MultiPerson
(the man; the cached reference of scripts/build_reference.py, as tests/test_multiview.py uses it),
each written as a camera's recording into a capture set, cam04's cut after 40 frames and not closed
(a capture that crashed), then triangulated by ``movekit triangulate SET`` into SET/pose_3d.mkrec as
``movekit capture --calibration`` leaves it. Every file is read back by the readers of
tests/test_export.py (strict TRC/MOT parsers from OpenSim's file descriptions, py-c3d).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_export import read_mot, read_trc

from movekit.analysis.landmarks import NAMES
from movekit.cli import main
from movekit.datasets import fetch
from movekit.recording import open_recording

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
CUT = 40  # cam04's recording ends after this many frames


def _camera_recording(path: Path, ref: dict, i: int, cam, *, stop: int | None = None) -> Path:
    """Camera ``i``'s real pose-model output as movekit capture records it (frames of the calibrated size)."""
    from movekit.capture.pipeline import pose_stream_specs
    from movekit.recording import RecordingWriter

    c = ref["cameras"][i]
    cut = slice(0, stop)
    img = np.concatenate([c["image_px"], np.zeros(c["image_px"].shape[:2] + (1,))], axis=-1)[cut]
    meta = {"client": "P-7", "video": {"width_px": cam.width_px, "height_px": cam.height_px}}
    with RecordingWriter(path, meta) as rec:
        for spec in pose_stream_specs(60.0):
            rec.add_stream(spec)
        t = ref["t_s"][cut] - ref["t_s"][0]
        rec.append("pose_image_px", t, img.astype(np.float32))
        rec.append("pose_world_m", t, c["world_m"][cut].astype(np.float32))
        rec.append("pose_visibility", t, c["visibility"][cut].astype(np.float32))
        rec.append("pose_presence", t, c["visibility"][cut].astype(np.float32))
    return path


@pytest.fixture(scope="module")
def capture_set(tmp_path_factory) -> dict:
    """SET (cam01.mkrec, cam04.mkrec crashed after 40 frames, capture_set.json) and SET/pose_3d.mkrec."""
    import validate_angles as VA

    from movekit.analysis.cameras import read_qualisys_qca, write_calibration_toml
    from movekit.capture.multicam import SET_FILE, SET_FORMAT

    ref = VA.reference_for_tests()
    d = tmp_path_factory.mktemp("export3d")
    cams = {c.name: c for c in read_qualisys_qca(fetch("pose2sim_qca_calibration"))}
    calib = d / "rig.toml"
    write_calibration_toml(list(cams.values()), calib)
    s = d / "set"
    s.mkdir(mode=0o700)
    _camera_recording(s / "cam01.mkrec", ref, 0, cams["cam01"])
    _camera_recording(s / "cam04.mkrec", ref, 3, cams["cam04"], stop=CUT)
    meta = json.loads((s / "cam04.mkrec" / "meta.json").read_text())
    meta["closed"] = False  # as a capture killed mid-take leaves it
    (s / "cam04.mkrec" / "meta.json").write_text(json.dumps(meta))
    desc = {
        "format": SET_FORMAT,
        "cameras": [{"name": n, "source": f"{n}.mp4", "recording": f"{n}.mkrec"} for n in ("cam01", "cam04")],
        "clock": "one session clock: webcam frames stamped when grabbed (offsets 0 s)",
    }
    (s / SET_FILE).write_text(json.dumps(desc))
    shutil.copytree(s, d / "set_without_3d")
    assert main(["triangulate", str(s), "--calibration", str(calib), "-o", str(s / "pose_3d.mkrec")]) == 0
    rec = open_recording(s / "pose_3d.mkrec")
    return {"set": s, "tri": s / "pose_3d.mkrec", "rec": rec, "calib": calib, "bare": d / "set_without_3d"}


def _export(src, fmt, out, *extra) -> int:
    return main(["export", str(src), "--format", fmt, "-o", str(out), *extra])


def _y_up(rec) -> np.ndarray:
    """pose_3d_m (lab frame, z up) turned to OpenSim's Y up as the exports state: X = x, Y = z, Z = -y."""
    lab = rec.streams["pose_3d_m"].data.astype(np.float64)
    return np.stack([lab[..., 0], lab[..., 2], -lab[..., 1]], axis=-1)


def test_trc_holds_the_triangulated_landmarks_y_up_with_gaps(capture_set, tmp_path):
    rec = capture_set["rec"]
    lab = rec.streams["pose_3d_m"]
    out = tmp_path / "tri.trc"
    assert _export(capture_set["tri"], "trc", out) == 0
    trc = read_trc(out)
    h = trc["header"]
    assert int(h["NumFrames"]) == len(lab) == 100 and int(h["NumMarkers"]) == 33 and h["Units"] == "m"
    assert float(h["DataRate"]) == pytest.approx(60.0, rel=1e-4) and tuple(trc["names"]) == NAMES
    np.testing.assert_allclose(trc["t"], lab.t_s - lab.t_s[0], atol=1e-6)
    want = _y_up(rec)
    gaps = np.isnan(lab.data).any(axis=-1)
    assert gaps.any() and gaps[CUT + 5 :].all()  # nothing triangulated once cam04 stopped
    assert np.array_equal(gaps, rec.streams["pose_3d_views"].data == 0)
    np.testing.assert_array_equal(np.isnan(trc["xyz"]).any(axis=-1), gaps)
    assert np.array_equal(np.isnan(trc["xyz"]).all(axis=-1), gaps)  # blank, never zeros
    np.testing.assert_allclose(trc["xyz"], want, atol=1e-6, equal_nan=True)
    lines = out.read_text().split("\n")
    assert lines[6 + CUT + 10].split("\t")[2:] == [""] * 99  # a frame with nothing triangulated: blank fields
    # Y is up: the hips stand 0.6-1.2 m above the floor, the nose above the heels
    seen = ~gaps
    assert 0.6 < np.nanmedian(trc["xyz"][:, [23, 24], 1]) < 1.2
    both = seen[:, 0] & seen[:, 29]
    assert both.sum() > 20 and (trc["xyz"][both, 0, 1] > trc["xyz"][both, 29, 1] + 1.0).all()
    side = json.loads((tmp_path / "tri.trc.json").read_text())
    assert side["space"] == "3d-triangulated" and "X = x, Y = z, Z = -y" in side["frame"]
    assert side["rotation_lab_to_markers"] == [[1, 0, 0], [0, 0, 1], [0, -1, 0]]
    assert "not triangulated" in side["missing"]
    # the capture set stands for its pose_3d.mkrec
    assert _export(capture_set["set"], "trc", tmp_path / "set.trc") == 0
    assert (tmp_path / "set.trc").read_text().split("\n")[4:] == out.read_text().split("\n")[4:]


def test_c3d_points_are_the_triangulated_landmarks(capture_set, tmp_path):
    pytest.importorskip("ezc3d", reason="the C3D export needs the 'export' extra (ezc3d)")
    c3d = pytest.importorskip("c3d", reason="py-c3d is the independent C3D reader of these tests")
    rec = capture_set["rec"]
    out = tmp_path / "tri.c3d"
    assert _export(capture_set["tri"], "c3d", out) == 0
    with open(out, "rb") as f:
        r = c3d.Reader(f)
        frames = list(r.read_frames(copy=True))
        labels = [s.strip() for s in r.point_labels]
        a_labels = [s.strip() for s in r.analog_labels]
        units = r.get("POINT").get("UNITS").string_value.strip()
        screen = (r.get("POINT").get("X_SCREEN").string_value, r.get("POINT").get("Y_SCREEN").string_value)
        frame = r.get("MOVEKIT").get("FRAME").string_value
        p_rate = r.point_rate
    assert labels == list(NAMES) and units == "mm" and screen == ("+X", "+Y") and "Y = z, Z = -y" in frame
    assert p_rate == pytest.approx(60.0, rel=1e-4) and len(frames) == 100
    pts = np.stack([fr[1] for fr in frames])  # (frames, points, 5): x y z residual cameras
    gaps = np.isnan(rec.streams["pose_3d_m"].data).any(axis=-1)
    assert np.array_equal(pts[..., 3] == -1, gaps) and (pts[~gaps][:, 3] >= 0).all()
    np.testing.assert_allclose(pts[~gaps][:, :3], _y_up(rec)[~gaps] * 1000.0, atol=1e-3)
    # the 3D pose is points, not analog channels; views and reprojection errors are channels
    assert not any(a.startswith("pose_3d_m.") for a in a_labels) and len(a_labels) == 66
    views = np.concatenate([fr[2] for fr in frames], axis=1)[a_labels.index("pose_3d_views.left_knee_views")]
    np.testing.assert_array_equal(views, rec.streams["pose_3d_views"].data[:, 25])


def test_mot_and_csv_hold_the_gated_triangulated_angles(capture_set, tmp_path):
    from movekit.commands.angles import triangulated_table

    rec = capture_set["rec"]
    cols, meta = triangulated_table(rec, offline=True)
    numeric = [k for k in cols if k not in ("time_s", "view")]
    assert _export(capture_set["tri"], "mot", tmp_path / "tri.mot") == 0
    mot = read_mot(tmp_path / "tri.mot")
    assert mot["columns"] == ["time"] + numeric
    want = np.column_stack([cols[k] for k in numeric])
    np.testing.assert_array_equal(np.isnan(mot["data"][:, 1:]), np.isnan(want))
    np.testing.assert_allclose(mot["data"][:, 1:], want, atol=1e-6, equal_nan=True)
    refused = meta["refused_angles"]
    assert "left_knee_flexion_deg" in refused and "trunk_lateral_lean_deg" not in refused
    for k in refused:  # refused stays refused: the whole column NaN, its measured error beside it
        j = mot["columns"].index(k)
        assert np.isnan(mot["data"][:, j]).all()
    lean = mot["data"][:, mot["columns"].index("trunk_lateral_lean_deg")]
    assert np.isfinite(lean[:CUT]).mean() > 0.5 and np.isnan(lean[CUT + 5 :]).all()
    h = mot["header"]
    assert h["movekit_space"] == "3d-triangulated" and h["movekit_cameras"] == "cam01,cam04"
    assert "left_knee_flexion_deg" in h["movekit_refused"].split(",") and "NaN" in h["movekit_nan"]
    assert h["movekit_filter"].startswith("offline")
    # --keep-invalid: the refused angles' numbers, as movekit angles --keep-invalid gives them
    assert _export(capture_set["tri"], "mot", tmp_path / "kept.mot", "--keep-invalid") == 0
    kept = read_mot(tmp_path / "kept.mot")
    free, _ = triangulated_table(rec, offline=True, keep_invalid=True)
    np.testing.assert_allclose(kept["data"][:, 1:], np.column_stack([free[k] for k in numeric]), atol=1e-6)
    assert "KEPT" in kept["header"]["movekit_nan"]
    # csv: the angles table of movekit angles, then the landmark columns as recorded (lab frame, z up)
    assert _export(capture_set["tri"], "csv", tmp_path / "tri.csv") == 0
    df = pd.read_csv(tmp_path / "tri.csv")
    lab = rec.streams["pose_3d_m"]
    assert list(df.columns) == list(cols) + list(lab.spec.columns())
    for k in numeric:
        np.testing.assert_allclose(df[k].to_numpy(float), cols[k], atol=1e-3, equal_nan=True)
    got = df[list(lab.spec.columns())].to_numpy(float).reshape(len(df), 33, 3)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(lab.data))
    np.testing.assert_allclose(got, lab.data, atol=1e-6, equal_nan=True)
    assert "z up" in json.loads((tmp_path / "tri.csv.json").read_text())["landmarks"]


def test_refusals_are_one_line(capture_set, tmp_path, capsys):
    assert _export(capture_set["tri"], "trc", tmp_path / "x.trc", "--space", "2d") == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "triangulated recording" in err and "--space 2d" in err
    assert _export(capture_set["bare"], "trc", tmp_path / "y.trc") == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "without a triangulated pose" in err and "movekit triangulate" in err
    assert not (tmp_path / "x.trc").exists() and not (tmp_path / "y.trc").exists()


def test_info_describes_the_triangulation_and_the_set_lists_it(capture_set, capsys):
    tri, calib = capture_set["tri"], capture_set["calib"]
    assert main(["info", str(tri)]) == 0
    out = capsys.readouterr().out
    n = int(np.isfinite(capture_set["rec"].streams["pose_3d_m"].data[:, [11, 12, 23, 24]]).all(axis=(1, 2)).sum())
    assert 20 < n <= CUT
    assert "source None" not in out and "source triangulation of 2 views" in out
    sep = capture_set["rec"].metadata["multiview"]["separation_deg"]
    assert 110 < sep < 125  # cam01 and cam04 seen from the subject
    assert f"{n} of 100 frames triangulated" in out and f"from 2 cameras (cam01, cam04, {sep:.0f} deg apart)" in out
    assert f"calibration {calib}" in out and "pose models not recorded" in out
    assert "view       cam04: " in out and "cam04.mkrec" in out
    assert "warning    source: " in out and "not closed cleanly" in out  # multiview.source_problems
    assert main(["info", "--json", str(tri)]) == 0
    t = json.loads(capsys.readouterr().out)["triangulated"]
    assert t["cameras"] == ["cam01", "cam04"] and t["frames_triangulated"] == n and t["frames"] == 100
    assert t["calibration"] == str(calib) and t["separation_deg"] == sep and t["pose_models"] == [None, None]
    assert t["vertical_from"] is None  # a .toml written without saying what gave its vertical
    # a capture set: each camera, then its pose_3d.mkrec
    assert main(["info", str(capture_set["set"])]) == 0
    out = capsys.readouterr().out
    assert f"triangulated pose: {tri}" in out and "== cam01" in out and "== pose_3d.mkrec (triangulated)" in out
    assert f"{n} of 100 frames triangulated" in out
    assert main(["info", "--json", str(capture_set["set"])]) == 0
    j = json.loads(capsys.readouterr().out)
    assert set(j["cameras"]) == {"cam01", "cam04"} and j["triangulated"]["triangulated"]["frames_triangulated"] == n
    assert main(["info", str(capture_set["bare"])]) == 0
    assert "triangulated pose: none" in capsys.readouterr().out


def test_bids_has_the_triangulated_landmarks_as_positions_and_the_gated_angles(capture_set, tmp_path):
    from movekit.commands.angles import triangulated_table

    rec = capture_set["rec"]
    assert _export(capture_set["tri"], "bids", tmp_path / "b") == 0
    m = tmp_path / "b" / "sub-P7" / "motion"
    stem = "sub-P7_task-movekit_tracksys-"
    chans = pd.read_csv(m / f"{stem}triangulated_channels.tsv", sep="\t", keep_default_na=False)
    assert list(chans["type"].iloc[1:].unique()) == ["POS"] and list(chans["component"][1:4]) == ["x", "y", "z"]
    assert set(chans["reference_frame"].iloc[1:]) == {"lab"} and chans["reference_frame"].iloc[0] == "n/a"
    lab_frame = json.loads((m / f"{stem}triangulated_channels.json").read_text())["reference_frame"]["Levels"]["lab"]
    assert lab_frame["SpatialAxes"] == "__S" and "z up from the floor" in lab_frame["Description"]
    data = pd.read_csv(m / f"{stem}triangulated_motion.tsv", sep="\t", header=None, na_values="n/a")
    lab = rec.streams["pose_3d_m"]
    np.testing.assert_array_equal(data.iloc[:, 1:].to_numpy(np.float32), lab.data.reshape(len(lab), -1))
    ang = pd.read_csv(m / f"{stem}movekitAngles_motion.tsv", sep="\t", header=None, na_values="n/a")
    names = pd.read_csv(m / f"{stem}movekitAngles_channels.tsv", sep="\t")["name"].iloc[1:]
    cols, _ = triangulated_table(rec, offline=True)
    for j, k in enumerate(names, start=1):
        np.testing.assert_allclose(ang[j].to_numpy(float), cols[k + "_deg"], rtol=1e-6, equal_nan=True)
