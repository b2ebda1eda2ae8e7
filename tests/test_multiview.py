"""Calibration files and triangulated pose from several calibrated views (issue 17).

Real data: the pose model's landmarks in the four views of Pose2Sim 0.10.49's Demo_MultiPerson
(the man) and its Qualisys calibration; the reference is the four-view triangulation of
scripts/build_reference.py (tests/test_validity_sweep.py builds and caches it).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pytest

from movekit.analysis.cameras import read_calibration, read_qualisys_qca, write_calibration_toml
from movekit.analysis.multiview import MIN_RUN_S, angles_3d, drop_short_triangulated_runs, triangulate_views
from movekit.datasets import fetch
from movekit.errors import MovekitError

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import validate_angles as VA  # noqa: E402

FLEXION = ["left_knee_flexion_deg", "right_knee_flexion_deg", "left_hip_flexion_deg", "right_hip_flexion_deg"]


@pytest.fixture(scope="module")
def ref():
    r = VA.reference_for_tests()
    r["truth"] = VA.truth_angles(r["lab_m"])
    return r


def test_toml_calibration_round_trip_and_refusals(tmp_path):
    cams = read_qualisys_qca(fetch("pose2sim_qca_calibration"))
    out = tmp_path / "calib.toml"
    write_calibration_toml(cams, out, error_px=1.5)
    assert out.stat().st_mode & 0o777 == 0o600
    back = read_calibration(out)
    assert [c.name for c in back] == [c.name for c in cams]
    for a, b in zip(cams, back):
        assert (a.width_px, a.height_px) == (b.width_px, b.height_px)
        np.testing.assert_allclose(b.K, a.K, atol=1e-9)
        np.testing.assert_allclose(b.R, a.R, atol=1e-9)
        np.testing.assert_allclose(b.t, a.t, atol=1e-12)
        np.testing.assert_allclose(b.dist, a.dist, atol=1e-15)
    with pytest.raises(FileExistsError):  # never replaces a file
        write_calibration_toml(cams, out)
    # a file as Pose2Sim writes it: four distortion terms, a Rodrigues rotation
    p2s = tmp_path / "p2s.toml"
    p2s.write_text(
        '[cam_01]\nname = "cam01"\nsize = [ 1920.0, 1080.0,]\n'
        "matrix = [ [ 1500.0, 0.0, 959.5,], [ 0.0, 1500.0, 539.5,], [ 0.0, 0.0, 1.0,],]\n"
        "distortions = [ -0.05, 0.01, 0.0, 0.0,]\nrotation = [ 0.0, 0.0, 1.5707963267948966,]\n"
        "translation = [ 0.1, 0.2, 3.0,]\nfisheye = false\n\n[metadata]\nadjusted = false\nerror = 0.3\n"
    )
    (c,) = read_calibration(p2s)
    np.testing.assert_allclose(c.R, [[0, -1, 0], [1, 0, 0], [0, 0, 1]], atol=1e-12)
    assert c.dist[:2].tolist() == [-0.05, 0.01] and c.width_px == 1920
    bad = {
        "fisheye": p2s.read_text().replace("fisheye = false", "fisheye = true"),
        "no 'matrix'": p2s.read_text().replace("matrix = ", "matrixx = "),
        "not a readable TOML": "[cam_01\nname=",
        "no camera tables": "[metadata]\nerror = 1.0\n",
        "is not an image": p2s.read_text().replace("size = [ 1920.0,", "size = [ inf,"),
    }
    for message, text in bad.items():
        f = tmp_path / "bad.toml"
        f.write_text(text)
        with pytest.raises(MovekitError, match=message):
            read_calibration(f)
    # a Qualisys file with a non-numeric view rotation or an absurd image: one-line errors
    qca = Path(fetch("pose2sim_qca_calibration")).read_text()
    assert 'viewrotation="0"' in qca and "<fov_video " in qca
    for message, text in (
        ("viewrotation=abc", qca.replace('viewrotation="0"', 'viewrotation="abc"', 1)),
        ("image", re.sub(r'(<fov_video [^>]*right=")[0-9.]+', r"\g<1>1e30", qca, count=1)),
    ):
        f = tmp_path / "bad.qca.txt"
        f.write_text(text)
        with pytest.raises(MovekitError, match=re.escape(message)):
            read_calibration(f)
    with pytest.raises(MovekitError, match="unknown calibration format"):
        read_calibration(tmp_path / "x.json")


def _views(ref, idx):
    cams = [ref["cameras"][i] for i in idx]
    return (
        [ref["t_s"]] * len(cams),
        [c["image_px"] for c in cams],
        [c["visibility"] for c in cams],
        [c["camera"] for c in cams],
    )


def _mae(ang, truth, name):
    e = np.abs(ang[name] - truth[name])
    return float(np.nanmean(e)), float(np.isfinite(ang[name]).mean())


def test_four_views_reproduce_the_reference(ref):
    """All four views through triangulate_views and angles_3d (cleaned like the 2D path) agree
    with the reference built by scripts/build_reference.py (which also drops views that disagree
    on the torso): knee and hip flexion within 5 deg MAE (measured 2.4-4.6) in most frames. The
    frames where the low-pass moved the angle by over MAX_FILTER_DEPARTURE_DEG are refused: 0-6 %
    of them, but 21 % of the right (kicking) knee's, whose unfiltered four-view angle jumps by up
    to 70 deg from one frame to the next (31 -> 102 deg), faster than a knee moves."""
    ang = angles_3d(triangulate_views(*_views(ref, [0, 1, 2, 3])))
    for name in FLEXION:
        mae, cov = _mae(ang, ref["truth"], name)
        assert mae <= 5.0 and cov >= 0.75, (name, mae, cov)


def test_two_views_measured_against_four(ref):
    """cam01 + cam04 (117 deg apart): knee and hip flexion within 10 deg MAE of the four-view
    reference (measured 4.3-9.4: two views of the pose model do not reach the 3-5 deg of the
    literature's marker comparisons; docs/validity.md, two-camera rows) in most frames (the
    stretches triangulated for under MIN_RUN_S are left out: 55-70 % of the frames remain, and
    left knee flexion goes from 9.2 to 4.8 deg MAE)."""
    ang = angles_3d(triangulate_views(*_views(ref, [0, 3])))
    maes = []
    for name in FLEXION:
        mae, cov = _mae(ang, ref["truth"], name)
        assert cov >= 0.5 and mae <= 10.0, (name, mae, cov)
        maes.append(mae)
    assert min(maes) <= 5.5


def test_drop_short_triangulated_runs_exact():
    """Per landmark, a run of n frames lasts n frame intervals: at 60 fps 15 frames (0.25 s) stay,
    14 go, and so does a single frame; a landmark seen throughout is untouched."""
    t = np.arange(100) / 60.0
    X = np.full((100, 2, 3), np.nan)
    X[0:14, 0] = 1.0
    X[20:35, 0] = 2.0
    X[50, 0] = 3.0
    X[:, 1] = 4.0
    out, dropped = drop_short_triangulated_runs(t, X, 0.25)
    assert np.isnan(out[0:14, 0]).all() and np.isnan(out[50, 0]).all()
    assert (out[20:35, 0] == 2.0).all() and (out[:, 1] == 4.0).all()
    want = np.zeros((100, 2), bool)
    want[0:14, 0] = want[50, 0] = True
    assert np.array_equal(dropped, want)
    assert np.isfinite(X[0:14, 0]).all()  # the input is not changed
    kept, none = drop_short_triangulated_runs(t, X, 0.0)
    assert not none.any() and np.array_equal(np.isnan(kept), np.isnan(X))


def test_short_triangulated_runs_are_where_pairs_go_wrong(ref):
    """Every pair of the four views (the man): the frames a pair triangulates only in passing
    (runs under MIN_RUN_S) are far off the four-view reference, so they are left out by default;
    with three views or more nothing is left out. Measured over 13 angles: a mean 36.0 deg, median
    16.2, in 83 angle-frames, against 6.7 and 3.7 in the 3141 kept (references built 2026-12-05
    after issue 22's follower changes; the build before gave 22.4 / 11.9 against 6.7 / 4.1 in over
    100 frames: the pose model's sub-pixel changes move which runs are short)."""
    import itertools

    short_err, kept_err = [], []
    for combo in itertools.combinations(range(4), 2):
        every = triangulate_views(*_views(ref, list(combo)), min_run_s=0.0)
        default = triangulate_views(*_views(ref, list(combo)))
        assert default.short_run is not None
        gone = default.short_run[:, [11, 12, 23, 24]].any(axis=1) & np.isfinite(every.points_m[:, 23, 0])
        assert np.isnan(default.points_m[default.short_run]).all()
        ang = angles_3d(every)
        for name in VA.MULTIVIEW_NAMES:
            e = np.abs(ang[name] - ref["truth"][name])
            short_err.append(e[gone & np.isfinite(e)])
            kept_err.append(e[~gone & np.isfinite(e)])
    short, kept = np.concatenate(short_err), np.concatenate(kept_err)
    assert short.size > 50 and kept.size > 3000
    assert short.mean() > 2.5 * kept.mean(), (short.mean(), kept.mean())
    four = triangulate_views(*_views(ref, [0, 1, 2, 3]))
    assert not four.short_run.any()
    assert MIN_RUN_S == 0.25


def test_a_late_view_on_the_first_views_clock(ref):
    """A view that started 15 frames late, with its own clock, given the offset: the same 3D
    landmarks as the synchronised pair on the frames both cover; without the offset they differ."""
    t, ip, vis, cams = _views(ref, [0, 3])
    sync = triangulate_views(t, ip, vis, cams)
    k = 15
    late_t = t[1][k:] - t[1][k]
    moved = triangulate_views(
        [t[0], late_t], [ip[0], ip[1][k:]], [vis[0], vis[1][k:]], cams, offsets_s=[0.0, float(t[0][k])]
    )
    both = np.isfinite(sync.points_m[k:, :, 0]) & np.isfinite(moved.points_m[k:, :, 0])
    assert both.mean() > 0.8
    np.testing.assert_allclose(moved.points_m[k:][both], sync.points_m[k:][both], atol=1e-6)
    assert np.isnan(moved.points_m[:k, :, 0]).all()  # before the late view started: one view only
    naive = triangulate_views([t[0], late_t], [ip[0], ip[1][k:]], [vis[0], vis[1][k:]], cams)
    d = np.linalg.norm(naive.points_m[k:] - sync.points_m[k:], axis=-1)
    assert np.nanmedian(d) > 0.01 or np.isnan(d).mean() > 0.5


def test_triangulation_refuses_unmatched_input(ref):
    t, ip, vis, cams = _views(ref, [0, 3])
    with pytest.raises(MovekitError, match="two or more views"):
        triangulate_views(t[:1], ip[:1], vis[:1], cams[:1])
    with pytest.raises(MovekitError, match="two or more views"):
        triangulate_views(t, ip, vis, cams[:1])


def _camera_recording(path, ref, i, *, start: int = 0, stop: int | None = None, meta: dict | None = None):
    """A recording of camera ``i``'s real pose-model output (as movekit capture writes it), its own
    clock starting at frame ``start`` (and ending before ``stop``)."""
    from movekit.capture.pipeline import pose_stream_specs
    from movekit.recording import RecordingWriter

    c = ref["cameras"][i]
    cut = slice(start, stop)
    t = ref["t_s"][cut] - ref["t_s"][start]
    img = np.concatenate([c["image_px"], np.zeros(c["image_px"].shape[:2] + (1,))], axis=-1)[cut]
    with RecordingWriter(path, {"client": "P-7", **(meta or {})}) as rec:
        for spec in pose_stream_specs(60.0):
            rec.add_stream(spec)
        rec.append("pose_image_px", t, img.astype(np.float32))
        rec.append("pose_world_m", t, c["world_m"][cut].astype(np.float32))
        rec.append("pose_visibility", t, c["visibility"][cut].astype(np.float32))
        rec.append("pose_presence", t, c["visibility"][cut].astype(np.float32))
    return path


def test_triangulate_says_what_a_crashed_source_lost(ref, tmp_path):
    """A camera's recording that crashed 0.67 s in, with three samples whose time was lost: the
    triangulation uses it as far as it goes and says so (the reader's problems as warnings and in
    the output's metadata, the sources' lengths, "has no frames" where that camera has none)."""
    import json
    import subprocess

    from movekit.recording import open_recording

    calib = tmp_path / "rig.toml"
    write_calibration_toml(read_qualisys_qca(fetch("pose2sim_qca_calibration")), calib)
    a = _camera_recording(tmp_path / "a.mkrec", ref, 0)
    b = _camera_recording(tmp_path / "b.mkrec", ref, 3, stop=40)
    meta = json.loads((b / "meta.json").read_text())
    meta["closed"] = False  # as a capture killed mid-take leaves it
    (b / "meta.json").write_text(json.dumps(meta))
    rec = open_recording(b)
    assert rec.streams["pose_image_px"].t_s.size == 40
    out = tmp_path / "3d.mkrec"
    cmd = [sys.executable, "-m", "movekit.cli", "triangulate", str(a), str(b), "--calibration", str(calib)]
    p = subprocess.run(
        cmd + ["--cameras", "cam01,cam04", "--sync", "none", "-o", str(out)], capture_output=True, text=True
    )
    assert p.returncode == 0, p.stderr
    assert "warning:" in p.stderr and "was not closed cleanly" in p.stderr, p.stderr
    assert "the sources last cam01 1.65 s, cam04 0.65 s" in p.stderr, p.stderr
    assert "excluded: camera cam04 has no frames 0.67-1.65 s (its recording ends at 0.65 s)" in p.stdout, p.stdout
    mv = open_recording(out).metadata["multiview"]
    assert any("not closed cleanly" in q for q in mv["source_problems"]) and mv["durations_s"][1] < 0.7


def test_frames_of_another_size_than_calibrated_are_refused(ref, tmp_path):
    """A camera recorded at half the calibrated size (544x960 against 1088x1920): its intrinsics do
    not describe those pixels, so triangulate and calibrate refine refuse it in one line naming both
    sizes, before anything is written."""
    import subprocess

    calib = tmp_path / "rig.toml"
    write_calibration_toml(read_qualisys_qca(fetch("pose2sim_qca_calibration")), calib)
    full = {"video": {"width_px": 1088, "height_px": 1920}}
    a = _camera_recording(tmp_path / "a.mkrec", ref, 0, meta=full)
    b = _camera_recording(tmp_path / "b.mkrec", ref, 3, meta={"video": {"width_px": 544, "height_px": 960}})
    c = _camera_recording(tmp_path / "c.mkrec", ref, 1, meta=full)
    base = [sys.executable, "-m", "movekit.cli"]
    out = tmp_path / "3d.mkrec"
    tri = [*base, "triangulate", str(a), str(b), "--calibration", str(calib), "--cameras", "cam01,cam04"]
    p = subprocess.run(tri + ["-o", str(out)], capture_output=True, text=True)
    assert p.returncode == 2 and "frames are 544x960 px but camera cam04" in p.stderr and "1088x1920" in p.stderr
    assert not out.exists()
    ok = subprocess.run([*tri[:4], str(a), str(c), *tri[6:8], "--cameras", "cam01,cam02", "-o", str(out)],
                        capture_output=True, text=True)  # fmt: skip
    assert ok.returncode == 0, ok.stderr  # the calibrated size passes
    refine = [
        *base,
        "calibrate",
        "refine",
        str(a),
        str(c),
        str(b),
        str(_camera_recording(tmp_path / "d.mkrec", ref, 2)),
    ]
    r = subprocess.run(
        refine + ["--calibration", str(calib), "-o", str(tmp_path / "r.toml")], capture_output=True, text=True
    )
    assert r.returncode == 2 and "frames are 544x960 px" in r.stderr and not (tmp_path / "r.toml").exists(), r.stderr


def test_a_vertical_from_the_person_refuses_the_angles_against_it(ref, tmp_path):
    """A calibration whose lab vertical came from the person's standing axis (calibrate extrinsics
    --from-person without a floor board: 10-12 deg off on this demo) is recorded as such, and the
    angles measured against the vertical (lean, inclination, pelvic obliquity) are refused with
    that reason in triangulate's summary and movekit angles; the same rig from Qualisys shows lean."""
    import json
    import subprocess

    from movekit.analysis.cameras import calibration_toml_text, calibration_vertical
    from movekit.recording import open_recording

    cams = read_qualisys_qca(fetch("pose2sim_qca_calibration"))
    person = tmp_path / "person.toml"
    person.write_text(calibration_toml_text(cams, error_px=2.0, vertical="person"))
    assert (
        calibration_vertical(person) == "person"
        and calibration_vertical(fetch("pose2sim_qca_calibration")) == "qualisys"
    )
    unsaid = tmp_path / "plain.toml"
    write_calibration_toml(cams, unsaid)
    assert calibration_vertical(unsaid) is None
    a = _camera_recording(tmp_path / "a.mkrec", ref, 0)
    b = _camera_recording(tmp_path / "b.mkrec", ref, 3)
    out = tmp_path / "3d.mkrec"
    cmd = [sys.executable, "-m", "movekit.cli", "triangulate", str(a), str(b), "--cameras", "cam01,cam04"]
    p = subprocess.run(cmd + ["--calibration", str(person), "-o", str(out)], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    lean = next(ln for ln in p.stdout.splitlines() if "trunk_lateral_lean_deg" in ln)
    assert "refused" in lean and "vertical came from the person (their standing axis" in lean, lean
    knee = next(ln for ln in p.stdout.splitlines() if "left_knee_flexion_deg" in ln)
    assert "vertical" not in knee  # a joint angle does not use the lab vertical
    assert open_recording(out).metadata["multiview"]["vertical_from"] == "person"
    q = subprocess.run([sys.executable, "-m", "movekit.cli", "angles", str(out), "-o", str(tmp_path / "a.csv")],
                       capture_output=True, text=True)  # fmt: skip
    assert q.returncode == 0, q.stderr
    side = json.loads((tmp_path / "a.csv.json").read_text())
    refused = side["refused_angles"]
    lean_notes = side["columns"]["trunk_lateral_lean_deg"]  # the 2D path's definitions, stated
    assert "lean to the subject's right +" in lean_notes["convention"]
    assert lean_notes["error_column"] == "trunk_lateral_lean_err_deg"
    assert "standing axis" in refused["trunk_lateral_lean_deg"]["set_up_advice"]
    assert "standing axis" in refused["pelvis_obliquity_deg"]["set_up_advice"]
    qualisys = subprocess.run(
        cmd + ["--calibration", str(fetch("pose2sim_qca_calibration")), "-o", str(tmp_path / "q.mkrec")],
        capture_output=True,
        text=True,
    )
    lean = next(ln for ln in qualisys.stdout.splitlines() if "trunk_lateral_lean_deg" in ln)
    assert "+-" in lean and "lean to the subject's right +)" in lean, lean


def test_samples_without_a_time_are_left_out_and_said(ref, tmp_path):
    """A recording whose stream holds rows with a NaN time (a damaged file): the reader leaves them
    out and says how many, and the triangulation runs on the rest (it raised an IndexError)."""
    import pyarrow as pa

    from movekit.recording import open_recording

    b = _camera_recording(tmp_path / "b.mkrec", ref, 3)
    path = b / "streams" / "pose_visibility.arrows"
    reader = pa.ipc.open_stream(path.read_bytes())
    table, schema = reader.read_all(), reader.schema
    t = table.column(0).to_numpy().copy()
    t[[5, 6, 7]] = np.nan
    table = table.set_column(0, schema.field(0), pa.array(t))
    with pa.OSFile(str(path), "wb") as f, pa.ipc.new_stream(f, schema) as w:
        w.write_table(table)
    rec = open_recording(b)
    assert rec.streams["pose_visibility"].t_s.size == len(ref["t_s"]) - 3
    assert any("3 samples without a finite time (s) left out" in q for q in rec.problems), rec.problems
    import subprocess

    calib = tmp_path / "rig.toml"
    write_calibration_toml(read_qualisys_qca(fetch("pose2sim_qca_calibration")), calib)
    a = _camera_recording(tmp_path / "a.mkrec", ref, 0)
    cmd = [sys.executable, "-m", "movekit.cli", "triangulate", str(a), str(b), "--calibration", str(calib)]
    p = subprocess.run(
        cmd + ["--cameras", "cam01,cam04", "-o", str(tmp_path / "3d.mkrec")], capture_output=True, text=True
    )
    assert p.returncode == 0 and "samples without a finite time" in p.stderr, p.stderr


def test_infinite_pose_values_are_read_as_missing_and_said(ref, tmp_path):
    """A pose stream holding infinite coordinates (a damaged file): the reader gives them as
    missing (NaN) and says how many, so no analysis computes with them (they printed numpy
    RuntimeWarnings and reached the angles)."""
    import pyarrow as pa

    from movekit.recording import open_recording

    b = _camera_recording(tmp_path / "b.mkrec", ref, 3)
    path = b / "streams" / "pose_image_px.arrows"
    reader = pa.ipc.open_stream(path.read_bytes())
    table, schema = reader.read_all(), reader.schema
    before = open_recording(b).streams["pose_image_px"].data.copy()
    col = table.column(1).to_numpy().copy()
    col[[5, 6]] = np.inf
    col[7] = -np.inf
    table = table.set_column(1, schema.field(1), pa.array(col, type=schema.field(1).type))
    with pa.OSFile(str(path), "wb") as f, pa.ipc.new_stream(f, schema) as w:
        w.write_table(table)
    rec = open_recording(b)
    data = rec.streams["pose_image_px"].data
    assert not np.isinf(data).any() and np.isnan(data[[5, 6, 7], 0, 0]).all()
    before[[5, 6, 7], 0, 0] = np.nan
    np.testing.assert_array_equal(data, before)  # nothing else changed
    assert any("3 infinite values read as missing" in q for q in rec.problems), rec.problems


def test_summary_needs_half_a_second_of_frames(ref, capsys):
    """triangulate's summary prints an angle's median only from 0.5 s of frames or more: the same
    real triangulation cut to 4 frames (0.07 s at 60 fps) says "too few" for the lean it shows
    over the whole take; a refused angle still names its error and the set-up that would show it."""
    from movekit.analysis.multiview import TriangulatedPose
    from movekit.commands.triangulate import MIN_MEDIAN_S, _print_angles

    n = len(ref["t_s"])
    pts = np.array(ref["lab_m"], dtype=np.float64)
    pose = TriangulatedPose(ref["t_s"], pts, np.full((n, 33), 2), np.zeros((n, 33)))
    _print_angles(pose, 2, 117.0, (1, 1))
    whole = capsys.readouterr().out
    lean = next(ln for ln in whole.splitlines() if "trunk_lateral_lean_deg" in ln)
    assert "median" in lean and "+-" in lean and " s of frames; 0 upright, lean to the subject's right +)" in lean
    few = pts.copy()
    few[4:] = np.nan
    _print_angles(TriangulatedPose(ref["t_s"], few, np.full((n, 33), 2), np.zeros((n, 33))), 2, 117.0, (1, 1))
    out = capsys.readouterr().out
    lean = next(ln for ln in out.splitlines() if "trunk_lateral_lean_deg" in ln)
    assert "+-" not in lean and f"too few for a median (at least {MIN_MEDIAN_S:g} s)" in lean, lean
    knee = next(ln for ln in out.splitlines() if "left_knee_flexion_deg" in ln)
    assert "refused: measured error" in knee and "no measured two-camera set-up" in knee


def test_triangulate_command_syncs_writes_and_gates(ref, tmp_path):
    """movekit triangulate on two cameras' recordings, the second started 0.25 s late: the
    geometry finds the offset, the recording holds pose_3d_m on the first camera's clock, and
    each angle is printed with its measured two-camera error or refused with the figure."""
    import subprocess

    from movekit.recording import open_recording

    calib = tmp_path / "rig.toml"
    write_calibration_toml(read_qualisys_qca(fetch("pose2sim_qca_calibration")), calib)
    a = _camera_recording(tmp_path / "a.mkrec", ref, 0)
    b = _camera_recording(tmp_path / "b.mkrec", ref, 3, start=15)
    out = tmp_path / "3d.mkrec"
    cmd = [
        sys.executable,
        "-m",
        "movekit.cli",
        "triangulate",
        str(a),
        str(b),
        "--calibration",
        str(calib),
        "--cameras",
        "cam01,cam04",
        "-o",
        str(out),
    ]
    p = subprocess.run(cmd, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert "+0.25" in p.stdout and "by the geometry" in p.stdout, p.stdout
    import re

    sep = float(re.search(r"(\d+) deg apart", p.stdout).group(1))
    assert 110 <= sep <= 125  # cam01 and cam04 seen from the subject
    lean = next(line for line in p.stdout.splitlines() if "trunk_lateral_lean_deg" in line)
    assert "+-" in lean  # measured within the limit for two cameras
    knee = next(line for line in p.stdout.splitlines() if "left_knee_flexion_deg" in line)
    assert "refused: measured error" in knee
    assert knee.endswith("no measured two-camera set-up keeps it within 5 deg")  # flexion: nowhere
    abd = next(line for line in p.stdout.splitlines() if "left_shoulder_abduction_deg" in line)
    # the full model's views: the painful-arc angle is shown with the heavy model at 60-120 deg apart
    assert "shown with 2 cameras 60-120 deg apart, MediaPipe's heavy pose model (--model-complexity 2)" in abd
    rec = open_recording(out)
    pts = rec.streams["pose_3d_m"]
    assert pts.data.shape[1:] == (33, 3) and pts.spec.unit == "m"
    np.testing.assert_allclose(pts.t_s, ref["t_s"], atol=1e-6)  # the first camera's clock
    assert rec.metadata["multiview"]["cameras"] == ["cam01", "cam04"]
    assert abs(rec.metadata["multiview"]["offsets_s"][1] - ref["t_s"][15]) < 1.5 / 60
    assert rec.metadata["client"] == "P-7"
    # movekit angles on the triangulated recording: each angle with its two-camera error
    import csv

    table = tmp_path / "a.csv"
    q = subprocess.run([sys.executable, "-m", "movekit.cli", "angles", str(out), "-o", str(table)],
                       capture_output=True, text=True)  # fmt: skip
    assert q.returncode == 0, q.stderr
    assert "left_shoulder_abduction_deg: refused here, shown with 2 cameras 60-120 deg apart" in q.stdout
    assert "no measured two-camera set-up shows these: left_knee_flexion_deg" in q.stdout
    import json

    side = json.loads((tmp_path / "a.csv.json").read_text())
    refused = side["refused_angles"]
    lean_notes = side["columns"]["trunk_lateral_lean_deg"]  # the 2D path's definitions, stated
    assert "lean to the subject's right +" in lean_notes["convention"]
    assert lean_notes["error_column"] == "trunk_lateral_lean_err_deg"
    assert "trunk_lateral_lean_deg" not in refused and refused["left_knee_flexion_deg"]["measured_error_deg"] > 5
    assert refused["left_shoulder_abduction_deg"]["set_up_advice"].startswith("shown with 2 cameras 60-120")
    rows = list(csv.DictReader(table.open()))
    assert len(rows) == len(ref["t_s"]) and rows[0]["view"] == "triangulated"
    lean = np.array([float(r["trunk_lateral_lean_deg"] or "nan") for r in rows])
    knee = np.array([float(r["left_knee_flexion_deg"] or "nan") for r in rows])
    assert np.isfinite(lean).mean() > 0.5 and np.isnan(knee).all()
    assert 0 < float(rows[0]["trunk_lateral_lean_err_deg"]) <= 5 < float(rows[0]["left_knee_flexion_err_deg"])
    truth = ref["truth"]["trunk_lateral_lean_deg"]
    both = np.isfinite(lean) & np.isfinite(truth)
    # shown means within the limit against the reference (measured 2.9 deg here: the late start and
    # the interpolation onto the first camera's frames add to the 1.7 deg of the synchronised pair)
    assert np.mean(np.abs(lean[both] - truth[both])) <= 5.0
    # the same again is refused without --overwrite; a wrong camera name is a one-line error
    again = subprocess.run(cmd, capture_output=True, text=True)
    assert again.returncode == 2 and "exists" in again.stderr and len(again.stderr.strip().splitlines()) == 1
    bad = subprocess.run(
        cmd[:-4] + ["--cameras", "cam01,cam09", "-o", str(tmp_path / "x.mkrec")], capture_output=True, text=True
    )
    assert bad.returncode == 2 and "cam09" in bad.stderr
    # one distinct name per source; the first source is the reference clock; a lag is a duration
    for opts, message in (
        (["--cameras", "cam01,cam04,cam02"], "give 2 distinct camera names"),
        (["--cameras", "cam01,cam01"], "give 2 distinct camera names"),
        (["--cameras", "cam01"], "give 2 distinct camera names"),
        (["--cameras", "cam01,cam04", "--sync", "5,0.5"], "the first source is the clock"),
        (["--cameras", "cam01,cam04", "--max-lag", "-1"], "--max-lag"),
        (["--cameras", "cam01,cam04", "--max-lag", "nan"], "--max-lag"),
    ):
        r = subprocess.run(cmd[:-4] + opts + ["-o", str(tmp_path / "x.mkrec")], capture_output=True, text=True)
        assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr, (opts, r.stderr)
        assert not (tmp_path / "x.mkrec").exists()


def _held_out_inputs():
    """Demo_SinglePerson (held out of every fit): the reference's own inputs (labels fixed across
    the four views, views that disagree unused) and the harness's reference dict."""
    import build_reference as BR  # type: ignore
    import diagnose_multiview as DM  # type: ignore

    path = BR.reference_path("Demo_SinglePerson", "man")
    if not path.exists():
        BR.build_reference("Demo_SinglePerson", "man", verbose=False)
    held = VA.load_reference(path)
    return held, DM.prepared(held, np.load(path))


def _median_mae(held, cams, truth, combos) -> float:
    import diagnose_multiview as DM  # type: ignore

    return float(np.median([row["mae"] for c in combos for row in DM.pair_series(held, cams, truth, c)]))


def test_the_reference_moves_with_its_calibration_and_pairs_agree_once_it_is_refined(ref):
    """What the two-camera error against the four-view reference is made of (issue 17; numbers
    from scripts/diagnose_multiview.py). With the Qualisys calibration, three of the four views
    already disagree with all four by a median 6.7 deg MAE (knee, hip, elbow flexion) on the
    held-out trial: the reference is not a 3-5 deg yardstick. The camera orientations refined on
    Demo_MultiPerson's man (:func:`refine_rotations`) and applied to Demo_SinglePerson move the
    four-view reference's own angles by a median 6.1 deg MAE, bring three views within 5 deg of
    four (measured 4.5) and the two pairs 60-120 deg apart (cam03+cam04, cam01+cam04) to a median
    4.4 deg MAE (from 7.5). The refined reference is the more consistent one (each camera's
    leave-one-out reprojection falls, tests/test_extrinsics.py); it is not checked against markers."""
    import diagnose_multiview as DM  # type: ignore

    from movekit.analysis.extrinsics import refine_rotations, rotate_cameras

    z = np.load(ref["path"])
    P, W, cams = DM.prepared(ref, z)
    fit = refine_rotations(P, W, cams)
    held, (Ph, Wh, qualisys) = _held_out_inputs()
    refined = rotate_cameras(qualisys, fit.rotvec_rad)
    t_old = VA.truth_angles(held["lab_m"])
    t_new = VA.truth_angles(DM.reference_lab(Ph, Wh, refined))
    moved = np.median([np.nanmean(np.abs(t_old[k] - t_new[k])) for k in DM.NAMES])
    threes = [tuple(o for o in range(4) if o != c) for c in range(4)]
    mid = [(2, 3), (0, 3)]  # 73 and 117 deg apart
    loo_before, loo_after = _median_mae(held, qualisys, t_old, threes), _median_mae(held, refined, t_new, threes)
    mid_before, mid_after = _median_mae(held, qualisys, t_old, mid), _median_mae(held, refined, t_new, mid)
    assert moved > 3.0
    assert loo_before > 5.5 and loo_after < 5.0, (loo_before, loo_after)
    assert mid_before > 6.0 and mid_after < 5.0, (mid_before, mid_after)


def _standing_pose(n: int = 120, fs: float = 60.0):
    """A still, upright figure in the lab frame (m, z up): shoulders, hips, knees, ankles."""
    from movekit.analysis.multiview import TriangulatedPose

    X = np.full((n, 33, 3), np.nan)
    for j, xyz in {11: (-0.2, 0, 1.45), 12: (0.2, 0, 1.45), 23: (-0.1, 0, 0.95), 24: (0.1, 0, 0.95),
                   25: (-0.1, 0.02, 0.5), 26: (0.1, 0.02, 0.5), 27: (-0.1, 0, 0.08), 28: (0.1, 0, 0.08),
                   0: (0, 0.05, 1.65)}.items():  # fmt: skip
        X[:, j] = xyz
    X[:, 13], X[:, 14] = X[:, 11] - [0.05, 0, 0.3], X[:, 12] + [0.05, 0, -0.3]
    X[:, 15], X[:, 16] = X[:, 13] - [0.0, 0, 0.28], X[:, 14] - [0.0, 0, 0.28]
    X += np.random.default_rng(3).normal(0, 0.002, X.shape)
    t = np.arange(n) / fs
    return TriangulatedPose(t, X, np.full((n, 33), 2), np.zeros((n, 33)))


def test_angles_the_low_pass_moved_are_refused():
    """A left hip that jumps 25 cm forward for 4 frames (one view relabelling it): the zero-phase
    filter smears the jump into the hip flexion of the frames on either side (over
    MAX_FILTER_DEPARTURE_DEG from the unfiltered angle there); those frames are NaN, the jump's own
    frames keep the (wrong, but measured) value, every shown frame is within the limit of the
    unfiltered angle, no frame-to-frame step over 10 deg is left, and a figure that does not jump
    loses no frame."""
    from movekit.analysis.filters import CleanConfig
    from movekit.analysis.multiview import MAX_FILTER_DEPARTURE_DEG, TriangulatedPose

    name = "left_hip_flexion_deg"
    pose = _standing_pose()
    X = pose.points_m.copy()
    X[60:64, 23] += [0.0, 0.25, 0.0]
    jumped = TriangulatedPose(pose.t_s, X, pose.n_views, pose.reproj_px)
    raw = angles_3d(jumped, config=CleanConfig(max_gap_s=0.0, hampel_half_window=0, cutoff_hz=None))[name]
    smeared = angles_3d(jumped, max_departure_deg=np.inf)[name]
    shown = angles_3d(jumped)[name]
    moved = np.abs(smeared - raw) > MAX_FILTER_DEPARTURE_DEG
    assert moved[55:60].any() and moved[64:69].any() and not moved[:50].any()  # both sides of the jump
    assert np.array_equal(np.isnan(shown), moved)
    assert np.nanmax(np.abs(shown - raw)) <= MAX_FILTER_DEPARTURE_DEG
    assert np.nanmax(np.abs(np.diff(shown))) < 10.0
    assert np.isfinite(angles_3d(pose)[name]).all()


def test_real_pairs_lose_few_frames_to_the_filter_check(ref):
    """Every pair of the man's four views, 13 angles: refusing the frames the low-pass moved by
    over MAX_FILTER_DEPARTURE_DEG costs under 2 % of the frames (measured 0.7 %) and leaves no
    more series with a step over 10 deg in one frame than without (the man's pairs: 1 and 1; all
    three references: 23 -> 3 of 195 series; scripts/diagnose_multiview.py --frame-checks)."""
    import itertools

    with_check, without = [0, 0], [0, 0]  # frames, series stepping > 10 deg
    for combo in itertools.combinations(range(4), 2):
        tp = triangulate_views(*_views(ref, list(combo)))
        plain = angles_3d(tp, max_departure_deg=np.inf)
        checked = angles_3d(tp)
        for name in VA.MULTIVIEW_NAMES:
            for acc, a in ((with_check, checked[name]), (without, plain[name])):
                acc[0] += int(np.isfinite(a).sum())
                acc[1] += int(np.nanmax(np.abs(np.diff(a)), initial=0.0) > 10.0)
    assert 0.98 * without[0] <= with_check[0] < without[0], (with_check, without)
    assert with_check[1] <= without[1], (with_check, without)
