"""A camera pair no other test triangulates: Pose2Sim 0.10.49 Demo_MultiPerson cam03 + cam04
(75 deg apart), each captured following the man. movekit triangulates only 0.07-0.27 s of it
(13 of 100 frames); ``movekit angles --raw`` used to clean the triangulated pose anyway (the flag
was ignored on that path), and the causal hold carried trunk_lateral_lean_deg 0.2 s past the last
triangulated frame (25 frames shown for 13 triangulated).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from run_cli import movekit

from movekit.datasets import fetch
from movekit.recording import open_recording


@pytest.fixture(scope="module")
def tri34(captured, tmp_path_factory):
    out = tmp_path_factory.mktemp("tri34") / "tri34.mkrec"
    a, b = captured("pose2sim_multi_cam03"), captured("pose2sim_multi_cam04")
    p = movekit(
        "triangulate", a, b, "--calibration", fetch("pose2sim_qca_calibration"), "--cameras", "cam03,cam04", "-o", out
    )
    assert p.returncode == 0, p.stderr
    return out


def test_raw_angles_of_a_triangulated_recording_exist_only_where_it_was_triangulated(tri34, tmp_path):
    s = open_recording(tri34).streams["pose_3d_m"]
    pts = np.asarray(s.data, dtype=np.float64).reshape(len(s.t_s), 33, 3)
    torso = np.isfinite(pts[:, [11, 12, 23, 24], 0]).all(axis=1)
    assert 5 <= torso.sum() < 60  # a short stretch only: the rest is refused by triangulate
    out = tmp_path / "raw.csv"
    p = movekit("angles", tri34, "--raw", "-o", out)
    assert p.returncode == 0, p.stderr
    lean = pd.read_csv(out)["trunk_lateral_lean_deg"].to_numpy()
    assert np.isfinite(lean).sum() == torso.sum()
    assert np.array_equal(np.isfinite(lean), torso)
    assert "raw" in (tmp_path / "raw.csv.json").read_text()
