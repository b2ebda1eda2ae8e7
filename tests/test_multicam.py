"""Two cameras captured at once (movekit.capture.multicam): real videos through the real pose
model, one recording per camera, each the same as capturing that camera alone, and on to 3D."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from movekit.capture.multicam import capture_cameras, is_capture_set, read_capture_set
from movekit.capture.pipeline import CaptureOptions
from movekit.datasets import fetch
from movekit.errors import MovekitError
from movekit.recording import open_recording


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "movekit.cli", *args], capture_output=True, text=True)


@pytest.fixture(scope="module")
def rig_calibration(tmp_path_factory) -> Path:
    from movekit.analysis.cameras import read_qualisys_qca, write_calibration_toml

    calib = tmp_path_factory.mktemp("rig") / "rig.toml"
    write_calibration_toml(read_qualisys_qca(fetch("pose2sim_qca_calibration")), calib)
    return calib


@pytest.fixture(scope="module")
def two_cameras(tmp_path_factory, rig_calibration) -> Path:
    out = tmp_path_factory.mktemp("multicam") / "set"
    p = _cli(
        "capture",
        str(fetch("pose2sim_single_cam02")),
        str(fetch("pose2sim_single_cam03")),
        "-o",
        str(out),
        "--cameras",
        "cam02,cam03",
        "--client",
        "P-9",
        "--calibration",
        str(rig_calibration),
        "--no-progress",
    )
    assert p.returncode == 0, p.stderr
    assert "frames triangulated from 2 cameras (cam02, cam03" in p.stdout, p.stdout
    return out


def test_each_camera_recorded_as_if_alone(two_cameras, captured):
    """Running two models at once in threads changes nothing in either camera's pose."""
    info = read_capture_set(two_cameras)
    assert [c["name"] for c in info["cameras"]] == ["cam02", "cam03"]
    assert "container time" in info["clock"]
    assert (os.stat(two_cameras).st_mode & 0o777) == 0o700
    assert (os.stat(two_cameras / "capture_set.json").st_mode & 0o777) == 0o600
    for cam in ("cam02", "cam03"):
        rec = open_recording(two_cameras / f"{cam}.mkrec")
        alone = open_recording(captured(f"pose2sim_single_{cam}")).pose()
        pose = rec.pose()
        assert len(pose) == len(alone) == 100
        np.testing.assert_array_equal(pose.t_s, alone.t_s)
        np.testing.assert_allclose(pose.image_px, alone.image_px, atol=1e-3, equal_nan=True)
        assert rec.metadata["camera"]["name"] == cam and rec.metadata["client"] == "P-9"
        assert not rec.problems


def test_info_lists_every_camera(two_cameras):
    p = _cli("info", str(two_cameras))
    assert p.returncode == 0, p.stderr
    assert "2 cameras" in p.stdout and "== cam02" in p.stdout and "== cam03" in p.stdout
    assert p.stdout.count("100 frames, person found in 100.0%") == 2
    j = json.loads(_cli("info", str(two_cameras), "--json").stdout)
    assert set(j["cameras"]) == {"cam02", "cam03"}


def test_set_triangulates(two_cameras, rig_calibration, tmp_path):
    """capture --calibration wrote SET/pose_3d.mkrec; movekit triangulate SET gives the same 3D
    (the set stands for its cameras, named as captured, which are the calibration's names)."""
    inside = open_recording(two_cameras / "pose_3d.mkrec").streams["pose_3d_m"].data
    hips = np.nanmedian(inside[:, [23, 24], 2])
    assert 0.6 < hips < 1.2  # hip height above the floor (m), lab frame z up
    # two views of this trial agree on the torso in about 60 % of frames (the rest: one view's model
    # drifts or the reprojection check drops it; four views give 100 %: docs/validity.md)
    assert np.isfinite(inside[:, [11, 12, 23, 24], 0]).all(axis=1).mean() > 0.5
    out = tmp_path / "3d.mkrec"
    p = _cli("triangulate", str(two_cameras), "--calibration", str(rig_calibration), "-o", str(out))
    assert p.returncode == 0, p.stderr
    rec = open_recording(out)
    assert rec.metadata["multiview"]["cameras"] == ["cam02", "cam03"]
    np.testing.assert_array_equal(rec.streams["pose_3d_m"].data, inside)
    # movekit angles takes the set too (its pose_3d.mkrec), as assess does
    q = _cli("angles", str(two_cameras), "-o", str(tmp_path / "set.csv"))
    assert q.returncode == 0, q.stderr
    assert "frames triangulated from 2 cameras" in q.stdout and (tmp_path / "set.csv").stat().st_mode & 0o777 == 0o600


def test_bad_sets_fail_before_anything_is_created(tmp_path):
    video = fetch("pose2sim_single_cam02")
    for sources, message in (
        ([video], "two or more"),
        ([video, video], "same video"),
        ([0, video], "webcams together or videos together"),
        ([video, tmp_path / "missing.mp4"], "no such video"),
    ):
        with pytest.raises(MovekitError, match=message):
            capture_cameras(sources, tmp_path / "set")
        assert not (tmp_path / "set").exists()
    # webcams that do not open (none here): nothing was recorded, so nothing is left behind and the
    # same command can run again
    for _ in range(2):
        with pytest.raises(MovekitError, match="does not open"):
            capture_cameras([0, 1], tmp_path / "webcams")
        assert not (tmp_path / "webcams").exists()
    with pytest.raises(MovekitError, match="single-camera"):
        capture_cameras([video, fetch("pose2sim_single_cam03")], tmp_path / "set", CaptureOptions(ble=["x:y"]))
    with pytest.raises(MovekitError, match="distinct camera name"):
        capture_cameras([video, fetch("pose2sim_single_cam03")], tmp_path / "set", names=["a", "a"])
    # a name becomes a file in the set: never a path out of it, hidden or empty
    for bad in ("../../evil", "", ".hidden", "a b"):
        with pytest.raises(MovekitError, match="camera name"):
            capture_cameras([video, fetch("pose2sim_single_cam03")], tmp_path / "set", names=["cam01", bad])
        assert not (tmp_path / "set").exists() and not (tmp_path.parent / "evil.mkrec").exists()
    # names given with a calibration must be its cameras' (not silently its file order)
    calib = fetch("pose2sim_qca_calibration")
    with pytest.raises(MovekitError, match="--cameras: camX not in"):
        capture_cameras([video, fetch("pose2sim_single_cam03")], tmp_path / "set", names=["cam02", "camX"],
                        calibration=calib)  # fmt: skip
    assert not (tmp_path / "set").exists()
    p = _cli(
        "capture", str(video), str(fetch("pose2sim_single_cam03")), "-o", str(tmp_path / "s"), "--annotate", "a.mkv"
    )
    assert p.returncode == 2 and "only with one source" in p.stderr
    assert not is_capture_set(tmp_path / "s")
    p = _cli("capture", str(video), "-o", str(tmp_path / "one.mkrec"), "--calibration", "x.toml")
    assert p.returncode == 2 and "two or more sources" in p.stderr
    p = _cli("capture", str(video), str(fetch("pose2sim_single_cam03")), "-o", str(tmp_path / "s"),
             "--calibration", str(tmp_path / "missing.toml"))  # fmt: skip
    assert p.returncode == 2 and "missing.toml" in p.stderr and not (tmp_path / "s").exists()


def test_a_cameras_notices_name_it(capsys):
    """Cameras captured together print their notices interleaved: each names its camera."""
    from movekit.capture.pipeline import CaptureRun

    video = fetch("pose2sim_single_cam02")
    CaptureRun(video, None, CaptureOptions(metadata={"camera": {"name": "cam02"}})).say(
        "movekit: notice: 2 people in view at the start: following 574,647"
    )
    CaptureRun(video, None, CaptureOptions()).say("movekit: notice: 2 people in view")
    err = capsys.readouterr().err.splitlines()
    assert err == ["movekit: notice: cam02: 2 people in view at the start: following 574,647",
                   "movekit: notice: 2 people in view"]  # fmt: skip
