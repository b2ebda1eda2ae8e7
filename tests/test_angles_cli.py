"""``movekit angles`` on a real recording and a real video."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from movekit.analysis.angles import ANGLES
from movekit.cli import main


def _read_csv(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


@pytest.mark.slow
def test_angles_csv_from_recording(demo_recording, tmp_path, capsys):
    out = tmp_path / "angles.csv"
    assert main(["angles", str(demo_recording), "-o", str(out)]) == 0
    header, rows = _read_csv(out)
    assert header[0] == "time_s" and header[-1] == "view"
    assert header[1:-1] == list(ANGLES)
    assert len(rows) > 200
    col = {h: i for i, h in enumerate(header)}
    views = [r[col["view"]] for r in rows]
    side = [r for r, v in zip(rows, views) if v.startswith("sagittal")]
    front = [r for r, v in zip(rows, views) if v == "frontal"]
    assert len(side) > 60 and len(front) > 40
    # valid angles measured, invalid ones NaN, never a wrapped value
    assert sum(r[col["right_knee_flexion_deg"]] != "NaN" for r in side) > 40
    assert all(r[col["right_knee_fppa_deg"]] == "NaN" for r in side)
    assert all(r[col["right_knee_flexion_deg"]] == "NaN" for r in front)
    vals = np.array([float(r[col["left_shoulder_abduction_deg"]]) for r in front])
    assert np.nanmax(vals) > 120 and np.nanmax(vals) < 180
    meta = json.loads((tmp_path / "angles.csv.json").read_text())
    assert meta["filter"] == "causal" and meta["columns"]["right_knee_fppa_deg"]["plane"] == "frontal"
    assert "view" in capsys.readouterr().out


@pytest.mark.slow
def test_angles_parquet_offline(demo_recording, tmp_path):
    import pyarrow.parquet as pq

    out = tmp_path / "angles.parquet"
    assert main(["angles", str(demo_recording), "-o", str(out), "--offline", "--keep-invalid"]) == 0
    table = pq.read_table(out)
    assert table.column_names[0] == "time_s" and table.column_names[-1] == "view"
    meta = json.loads(table.schema.metadata[b"movekit"])
    assert meta["filter"].startswith("offline") and meta["invalid_angles"] == "kept"
    knee = table.column("right_knee_fppa_deg").to_numpy()
    assert np.isfinite(knee).sum() > 150  # kept in every view


def test_angles_cli_errors(tmp_path, capsys):
    assert main(["angles", str(tmp_path / "missing.mkrec"), "-o", str(tmp_path / "a.csv")]) == 2
    assert "missing.mkrec" in capsys.readouterr().err
    assert main(["angles", str(tmp_path), "-o", str(tmp_path / "nodir" / "a.csv")]) == 2


@pytest.mark.slow
def test_angles_from_video(demo_clip, tmp_path):
    out = tmp_path / "v.csv"
    assert main(["angles", str(demo_clip), "-o", str(out), "--offline"]) == 0
    header, rows = _read_csv(out)
    assert len(rows) == 230 and header[-1] == "view"


@pytest.mark.slow
def test_angles_with_camera_and_static_profiles(demo_recording, tmp_path):
    import pyarrow.parquet as pq

    from movekit.calibration import CameraProfile, StaticProfile, save_profile

    k = [[1500.0, 0, 884.0], [0, 1500.0, 497.0], [0, 0, 1]]
    save_profile(CameraProfile("flat", 1768, 994, k, [0.0] * 5, 0.2, 20, (9, 6), 25.0), tmp_path)
    save_profile(StaticProfile("client", {"right_knee_flexion_deg": 10.0}, {"right_knee_flexion_deg": 1.0},
                               "sagittal_right", 90), tmp_path)
    plain, cal = tmp_path / "plain.parquet", tmp_path / "cal.parquet"
    assert main(["angles", str(demo_recording), "-o", str(plain)]) == 0
    assert main(["angles", str(demo_recording), "-o", str(cal), "--camera", str(tmp_path / "flat.camera.json"),
                 "--static", str(tmp_path / "client.static.json")]) == 0
    a, b = pq.read_table(plain), pq.read_table(cal)
    knee = a.column("right_knee_flexion_deg").to_numpy() - b.column("right_knee_flexion_deg").to_numpy()
    np.testing.assert_allclose(knee[np.isfinite(knee)], 10.0, atol=1e-6)  # no distortion: offset only
    hip = a.column("right_hip_flexion_deg").to_numpy() - b.column("right_hip_flexion_deg").to_numpy()
    np.testing.assert_allclose(hip[np.isfinite(hip)], 0.0, atol=1e-6)
    meta = json.loads(b.schema.metadata[b"movekit"])
    assert meta["camera_profile"] == "flat" and meta["static_profile"] == "client"
