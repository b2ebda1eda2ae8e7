"""Recordings whose streams hold no samples (a capture killed in its first second, a triangulation
cut short): every reader says so in words, none raises a numpy reshape error."""

from __future__ import annotations

import pytest

from movekit.cli import main


@pytest.fixture
def empty_triangulation(tmp_path):
    """A triangulated recording as `movekit triangulate` writes it, killed before its first samples."""
    from movekit.analysis.landmarks import NAMES
    from movekit.recording import RecordingWriter, StreamSpec

    path = tmp_path / "t3d.mkrec"
    meta = {"multiview": {"cameras": ["cam01", "cam04"], "separation_deg": 117.0, "pose_models": ["full"]}}
    with RecordingWriter(path, meta) as rec:
        rec.add_stream(StreamSpec("pose_3d_m", (33, 3), "m", 60.0, tuple(NAMES), kind="pose_3d"))
        rec.add_stream(StreamSpec("pose_3d_views", (33,), "1", 60.0, tuple(NAMES), kind="pose_3d"))
    return path


def test_an_empty_triangulation_is_said_not_raised(empty_triangulation, tmp_path, capsys):
    from movekit.recording import open_recording

    rec = open_recording(empty_triangulation)
    assert rec.streams["pose_3d_m"].channels.shape == (0, 99)
    assert main(["info", str(empty_triangulation)]) == 0
    out = capsys.readouterr().out
    assert "pose_3d_m" in out and "0 samples" in out
    code = main(["assess", "single-leg-stance", str(empty_triangulation)])
    out = capsys.readouterr()
    assert code != 0 or "NOT VALID" in out.out, out
    assert "a person was found in 0 of 0 frames" in out.out
    assert main(["angles", str(empty_triangulation), "-o", str(tmp_path / "a.csv")]) == 2
    assert "no triangulated" in capsys.readouterr().err.lower()


@pytest.mark.parametrize("lost", ["pose_world_m", "pose_image_px"])
def test_a_camera_recording_missing_a_pose_stream(demo_recording, tmp_path, capsys, lost):
    """A recording closed cleanly whose pose stream was deleted afterwards: `info` shows what is
    there and says the pose is unreadable and why; `replay` refuses instead of replaying the rest
    as a device session."""
    import shutil

    copy = tmp_path / "damaged.mkrec"
    shutil.copytree(demo_recording, copy)
    (copy / "streams" / f"{lost}.arrows").unlink()
    assert main(["info", str(copy)]) == 0
    out = capsys.readouterr().out
    assert "(closed cleanly, but damaged since: see the warnings)" in out
    assert f"pose       unreadable: {copy}: its pose streams are incomplete ({lost} missing)" in out
    assert "live_angles_deg" in out  # the rest is listed
    assert main(["replay", str(copy)]) == 2
    assert f"its pose streams are incomplete ({lost} missing)" in capsys.readouterr().err
