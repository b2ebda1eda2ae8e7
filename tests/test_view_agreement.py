"""The same person in every camera, checked during the take (issue 17; movekit.capture.multicam
ViewAgreement): two of Pose2Sim's real calibrated views (Demo_MultiPerson, 60 fps, a man and a
walking woman) through the real capture pipeline, 1 s each; and the check's logic on exact
projections of one skeleton.

Who is who (stated, not learned; as tests/test_association.py): in frame 0 the man's torso centre
is at (434, 617) px in cam01 and (574, 647) px in cam02, the woman's at (799, 1193) and (206, 933).
cam01 and cam02 are a pair whose epipolar geometry tells the two apart (docs/benchmarks.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from movekit.analysis.association import MAX_PAIR_ERROR_TORSO, pair_error_torso, torso_centre_px
from movekit.analysis.cameras import read_qualisys_qca, write_calibration_toml
from movekit.capture.multicam import ViewAgreement, capture_cameras
from movekit.capture.pipeline import CaptureOptions
from movekit.datasets import fetch
from movekit.recording import open_recording

NAMES = ["cam01", "cam02"]
MAN = ["434,617", "574,647"]
WOMAN = ["799,1193", "206,933"]
SECONDS = 1.0
LIVE_KINDS = {"view_switched", "views_disagree", "view_excluded"}


@pytest.fixture(scope="module")
def cameras():
    by = {c.name: c for c in read_qualisys_qca(fetch("pose2sim_qca_calibration"))}
    return [by[n] for n in NAMES]


@pytest.fixture(scope="module")
def rig(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("rig") / "rig.toml"
    write_calibration_toml(read_qualisys_qca(fetch("pose2sim_qca_calibration")), path)
    return path


def _capture(out: Path, rig: Path, sources=None, people=None) -> list:
    sources = sources or [fetch(f"pose2sim_multi_{n}") for n in NAMES]
    return capture_cameras(sources, out, CaptureOptions(duration_s=SECONDS), names=NAMES, calibration=rig,
                           people=people)  # fmt: skip


def _pair_errors(out: Path, cameras) -> np.ndarray:
    p = [open_recording(out / f"{n}.mkrec").pose() for n in NAMES]
    return pair_error_torso(p[0].image_px, p[0].visibility, p[1].image_px, p[1].visibility, *cameras)


def _live(out: Path, name: str) -> list[dict]:
    return [e for e in open_recording(out / f"{name}.mkrec").events if e["kind"] in LIVE_KINDS]


def test_a_camera_started_on_the_other_person_is_switched_within_a_second(tmp_path, rig, cameras):
    """cam02 told to follow the woman while cam01 follows the man: cam02 is switched to the man,
    with one event naming cam02 and when; every frame after it is one person in both views."""
    out = tmp_path / "set"
    summaries = _capture(out, rig, people=[MAN[0], WOMAN[1]])
    assert _live(out, "cam01") == []
    ev = _live(out, "cam02")
    assert [e["kind"] for e in ev] == ["view_switched"], ev
    ev = ev[0]
    assert ev["camera"] == "cam02" and ev["consistent_with"] == "cam01"
    assert 0.0 <= ev["since_s"] <= ev["searched_s"] <= ev["t_s"] < 1.0 and ev["error_torso"] < MAX_PAIR_ERROR_TORSO
    x, y = (float(v) for v in ev["person"].split(","))
    assert np.hypot(x - 574, y - 647) < 60  # the man (he moves little in this second)
    assert ev["text"] in summaries[1].notices
    rec = open_recording(out / "cam02.mkrec")
    assert rec.metadata["person_selection"]["switched"][0]["person"] == ev["person"]
    assert rec.metadata["view_check"]["checks"] >= 2
    t = rec.pose().t_s
    err = _pair_errors(out, cameras)
    before, after = t < ev["t_s"] - 1e-9, t > ev["t_s"] + 1e-9
    assert before.sum() >= 1 and np.nanmin(err[before]) > 2 * MAX_PAIR_ERROR_TORSO
    assert np.nanmean(err[after] < MAX_PAIR_ERROR_TORSO) > 0.95, np.round(err, 2)
    last = rec.pose().image_px[-1, :, :2]  # still the man at the end, not the woman
    assert np.linalg.norm(torso_centre_px(last) - [574, 647]) < np.linalg.norm(torso_centre_px(last) - [206, 933])
    from movekit.capture.replay import replay_pose

    assert replay_pose(rec).identical  # the switch is in the stored pose: replay as today, bit for bit
    from movekit.summary import format_summary, summarise

    assert f"switched   {ev['text']}" in format_summary(summarise(rec))  # movekit info says so


def test_cameras_that_agree_record_no_event(tmp_path, rig, cameras):
    """The first-frame association (the largest person in cam01: the woman, walking) and two views
    that follow her: checked every 0.5 s, nothing recorded."""
    out = tmp_path / "set"
    _capture(out, rig)
    for name in NAMES:
        assert _live(out, name) == []
        check = open_recording(out / f"{name}.mkrec").metadata["view_check"]
        assert check["checks"] >= 2 and check["status"].startswith("views agree"), check
    assert np.nanmax(_pair_errors(out, cameras)) < MAX_PAIR_ERROR_TORSO


def test_three_cameras_the_one_on_the_other_person_is_switched(tmp_path, rig):
    """cam01 and cam02 on the man, cam04 on the woman (her frame-0 point (758, 607) px): the two
    that agree pin cam04, which is switched to the man (frame 0 at (341, 849) px)."""
    names = ["cam01", "cam02", "cam04"]
    out = tmp_path / "set"
    capture_cameras([fetch(f"pose2sim_multi_{n}") for n in names], out, CaptureOptions(duration_s=SECONDS),
                    names=names, calibration=rig, people=[MAN[0], MAN[1], "758,607"])  # fmt: skip
    assert _live(out, "cam01") == _live(out, "cam02") == []
    ev = _live(out, "cam04")
    assert [e["kind"] for e in ev] == ["view_switched"] and ev[0]["consistent_with"] == "cam01+cam02", ev
    x, y = (float(v) for v in ev[0]["person"].split(","))
    assert ev[0]["t_s"] < 1.0 and np.hypot(x - 341, y - 849) < 60
    assert open_recording(out / "cam04.mkrec").metadata["view_check"]["status"].startswith("views agree")


@pytest.fixture(scope="module")
def cam02_without_the_man(tmp_path_factory) -> Path:
    """cam02's first second with the man blanked (a black box over where he moves), so that only
    the woman is there to follow."""
    import cv2

    cap = cv2.VideoCapture(str(fetch("pose2sim_multi_cam02")))
    path = tmp_path_factory.mktemp("composed") / "cam02_no_man.mp4"
    writer = None
    for _ in range(int(SECONDS * 60) + 1):
        ok, image = cap.read()
        assert ok
        if writer is None:
            writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 60.0, image.shape[1::-1])
        image[380:1160, 290:770] = 0  # the man's landmarks lie in x 300-741, y 408-1129 px this second
        writer.write(image)
    writer.release()
    cap.release()
    return path


def test_views_that_cannot_be_reconciled_are_marked(tmp_path, rig, cam02_without_the_man):
    """cam01 on the man, cam02 can only see the woman: no switch; both recordings say so at once
    (views_disagree) and with the stretch's span (view_excluded, shown by movekit info)."""
    out = tmp_path / "set"
    _capture(out, rig, sources=[fetch("pose2sim_multi_cam01"), cam02_without_the_man], people=[MAN[0], WOMAN[1]])
    for name in NAMES:
        ev = _live(out, name)
        assert [e["kind"] for e in ev] == ["views_disagree", "view_excluded"], ev
        start, span = ev
        assert start["camera"] == span["camera"] == "cam01+cam02"
        assert 0.0 <= start["t_s"] < 0.5 and span["t_s"] == start["t_s"]
        assert span["t_end_s"] >= SECONDS - 0.05 and span["reason"] == "views disagree" and span["check"] == "live"
        assert span["median_error_torso"] > MAX_PAIR_ERROR_TORSO
    info = subprocess.run([sys.executable, "-m", "movekit.cli", "info", str(out)], capture_output=True, text=True)
    assert info.returncode == 0, info.stderr
    assert "excluded   camera cam01+cam02 views disagree 0." in info.stdout and "(live check)" in info.stdout


# -- the check's logic on exact projections (no model) -------------------------------------------------


def _skeleton(at_m) -> np.ndarray:
    rng = np.random.default_rng(3)
    body = rng.normal(0, 0.25, (33, 3)) * [1, 1, 2] + [at_m[0], at_m[1], 1.0]
    body[[11, 12, 23, 24]] = [[0, 0.2, 1.4], [0, -0.2, 1.4], [0, 0.12, 0.9], [0, -0.12, 0.9]] + np.array(
        [at_m[0], 0, 0]
    )
    body[[11, 12, 23, 24], 1] += at_m[1]
    return body


def _est(px) -> SimpleNamespace:
    return SimpleNamespace(image_px=np.asarray(px, np.float32), visibility=np.ones(33, np.float32), found=True)


def test_three_cameras_the_wrong_one_is_searched_and_switched():
    """Four calibrated views, the client and somebody 1.3 m away: camera 3 follows the other
    person from 0.2 s; the check at 0.5 s pins it, asks for a search, and names the client's point.
    Both stand where every camera sees them (landmarks beyond an image's edge count as unseen: the
    other person had stood outside camera 3's picture)."""
    all_cams = read_qualisys_qca(fetch("pose2sim_qca_calibration"))
    client, other = _skeleton((-1.4, 0.0)), _skeleton((-0.1, -0.3))
    for cam in all_cams:  # the scene as the test means it
        px = cam.project(other)
        assert ((px >= 0) & (px < [cam.width_px, cam.height_px])).all(axis=1).sum() >= 32
    agree = ViewAgreement(all_cams)
    t = np.arange(0, 0.75, 1 / 60)
    switched = None
    for ti in t:
        for v, cam in enumerate(all_cams):
            body = other if (v == 2 and ti >= 0.2) else client
            if agree.wants_search(v):
                agree.searched(v, ti, _est(cam.project(body)), [_est(cam.project(b)) for b in (other, client)])
            agree.publish(v, ti, _est(cam.project(body)))
            switched = agree.take_switch(v) or switched
            if switched is not None:
                break
        if switched is not None:
            break
    assert switched is not None and 0.5 <= ti < 0.6
    np.testing.assert_allclose(switched, torso_centre_px(all_cams[2].project(client)), atol=1e-6)
    assert agree.take_outbox(2) == []  # recorded once the camera has switched
    agree.switched(2, ti + 1 / 60)
    (kind, ev), (say, text) = agree.take_outbox(2)
    assert ev["t_s"] == pytest.approx(ti + 1 / 60)
    assert ev["kind"] == "view_switched" and ev["camera"] == all_cams[2].name and ev["since_s"] == pytest.approx(0.5)
    assert "cam01+cam02+cam04" in ev["consistent_with"] and say == "say" and "switched" in text
    assert agree.take_outbox(0) == [] and agree.checks_run >= 2


def test_triangulation_takes_the_live_marks(cameras):
    """check_recorded_views(marked=...): a live "views disagree" stretch excludes those frames of
    both views even where the per-frame check finds nothing (exact projections of one skeleton)."""
    from movekit.analysis.association import check_recorded_views

    body = _skeleton((-1.4, 0.0))
    t = np.arange(30) / 60
    px = [np.repeat(c.project(body)[None], 30, axis=0) for c in cameras]
    vis = [np.ones((30, 33)) for _ in cameras]
    mark = {"t_s": t[10], "kind": "view_excluded", "t_end_s": t[19], "camera": "cam01+cam02",
            "reason": "views disagree", "check": "live", "text": "camera cam01+cam02 views disagree"}  # fmt: skip
    plain, _ = check_recorded_views([t, t], px, vis, cameras, [0.0, 0.0])
    assert plain.events == [] and not plain.exclude.any()
    check, visibility = check_recorded_views([t, t], px, vis, cameras, [0.0, 0.0], marked=[[mark], [mark]])
    assert check.events == [mark]
    assert check.exclude[:, 10:20].all() and check.exclude.sum() == 20
    assert (visibility[1][10:20] == 0).all() and (visibility[1][20:] == 1).all()


def test_per_camera_choices_are_checked_before_anything_is_created(tmp_path, rig):
    from movekit.errors import MovekitError

    videos = [fetch(f"pose2sim_multi_{n}") for n in NAMES]
    for kwargs, message in (
        ({"people": MAN}, "goes with a calibration"),
        ({"people": MAN[:1], "calibration": rig}, "one person choice per camera"),
        ({"people": [MAN[0], "nobody"], "calibration": rig}, "nobody"),
    ):
        with pytest.raises(MovekitError, match=message):
            capture_cameras(videos, tmp_path / "set", names=NAMES, **kwargs)
        assert not (tmp_path / "set").exists()
