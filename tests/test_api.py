"""The notebook API (movekit.api): its docstring examples run, and every function gives the same
numbers as the layer it wraps, on real data."""

from __future__ import annotations

import doctest
import subprocess
import sys

import numpy as np
import pytest

import movekit
from movekit import api
from movekit.datasets import fetch


def test_docstring_examples_run():
    res = doctest.testmod(api, verbose=False)
    assert res.attempted >= 5 and res.failed == 0


def test_import_movekit_stays_light():
    code = "import sys, movekit; print('movekit.api' in sys.modules, 'pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.split()
    assert out == ["False", "False"]
    assert movekit.angles is api.angles  # loaded on first use


def test_angles_and_views_on_the_demo_recording(demo_recording):
    from movekit.analysis.error_model import finite_or_nan
    from movekit.analysis.pipeline import analyse
    from movekit.recording import open_recording

    pose = open_recording(demo_recording).pose()
    table, info = movekit.angles(pose.image_px, pose.t_s, visibility=pose.visibility)
    res = analyse(pose.t_s, pose.image_px, None, pose.visibility)
    assert list(table.columns[:3]) == ["time_s", "left_knee_flexion_deg", "left_knee_flexion_err_deg"]
    for name, a in res.angles.items():
        np.testing.assert_array_equal(table[name].to_numpy(), a)
        np.testing.assert_array_equal(
            table[name.removesuffix("_deg") + "_err_deg"].to_numpy(), finite_or_nan(res.error_deg[name])
        )
    assert all(c.endswith(("_s", "_deg")) or c == "view" for c in table.columns)
    assert info["refused"] and all("refused" in why or "deg" in why for why in info["refused"].values())
    v, vinfo = movekit.views(pose.image_px, pose.t_s)
    assert len(v) == len(pose.t_s) and set(v.view) <= {
        "sagittal_left",
        "sagittal_right",
        "frontal",
        "oblique",
        "unknown",
    }
    assert vinfo["bands_deg"]["sagittal"][1] == 90.0


def test_emg_sway_and_assess_on_real_files():
    from movekit.analysis.emg import process
    from movekit.assess.sources import load_trial
    from movekit.assess.sway import sway_metrics
    from movekit.emg_io import read_emg

    sig = read_emg(fetch("plux_emg_bursts"))
    n = int(5 * sig.rate_hz)
    table, info = movekit.emg(sig.t_s[:n], sig.data_uv[:n], sig.rate_hz, sig.channel_names)
    direct = process(sig.t_s[:n], sig.data_uv[:n], sig.rate_hz, list(sig.channel_names))
    col = f"{sig.channel_names[0]}_envelope_uv"
    np.testing.assert_array_equal(table[col].to_numpy(), np.asarray(direct.envelope_uv).reshape(n, -1)[:, 0])
    assert len(info["events"]) == len(direct.events) and set(info["events"].columns) == {"channel", "kind", "t_s"}

    cop = load_trial(fetch("kistler_cop")).cop
    s, sinfo = movekit.sway(cop.t_s, cop.y_mm, cop.x_mm)
    ref = sway_metrics(cop.t_s, cop.y_mm, cop.x_mm)
    for k, (v, u) in ref.items():
        assert s[k].iloc[0] == pytest.approx(v, nan_ok=True) and sinfo["units"][k] == u

    metrics, ainfo = movekit.screen("balance", fetch("kistler_cop"), min_duration_s=5.0)
    assert ainfo["valid"] and set(metrics.metric) == set(ainfo["result"]["metrics"])


def test_angles_of_a_recordings_pose_are_the_command_lines(demo_recording, tmp_path):
    """movekit.angles(pose) applies the calibration stored with the recording (the camera tilt the
    capture measured), so it gives `movekit angles`' numbers; the bare arrays, without the tilt,
    do not (the README's example had passed arrays and differed by up to 21 deg)."""
    import pandas as pd

    from movekit.cli import main
    from movekit.recording import open_recording

    rec = open_recording(demo_recording)
    assert rec.metadata["calibration"].get("tilt")  # the capture measured it
    pose = rec.pose()
    table, _ = movekit.angles(pose, offline=False, gate=False)
    out = tmp_path / "a.csv"
    assert main(["angles", str(demo_recording), "-o", str(out), "--keep-invalid"]) == 0
    cli = pd.read_csv(out)
    names = [c for c in cli.columns if c.endswith("_deg")]
    assert len(names) == 2 * 21 + 1 and np.isfinite(cli[names].to_numpy()).sum() > 5000
    np.testing.assert_allclose(table[names].to_numpy(), cli[names].to_numpy(), atol=1e-6, equal_nan=True)
    bare, _ = movekit.angles(pose.image_px, pose.t_s, visibility=pose.visibility, offline=False, gate=False)
    assert np.nanmax(np.abs(bare["trunk_inclination_deg"] - cli["trunk_inclination_deg"])) > 1.0
    from movekit.errors import MovekitError

    with pytest.raises(MovekitError, match="alone"):
        movekit.angles(pose, pose.t_s)
