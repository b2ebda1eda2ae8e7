"""The researcher's pages show a triangulated recording in 3D (issue 18).

Real data: Pose2Sim's two real views (cam02, cam03, Qualisys calibration), 1.5 s of each through
the real pose model, captured together with the calibration (``movekit capture A B -o SET
--calibration ...``), which triangulates ``SET/pose_3d.mkrec`` (56 of 90 frames: the last 34 have
fewer than two agreeing views). Beside it: a copy of that recording with one ``view_excluded``
event added (the 1.5 s hold none; the event's words are the triangulation's own format), and a
capture set whose cameras and triangulation are missing. The JSON endpoints are checked against
the recording's arrays and :func:`movekit.analysis.multiview.angles_3d` gated by the measured
two-camera error; the 3D view is turned in Debian's chromium (Playwright).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import urllib.parse
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from browser_helpers import chromium_page

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

from test_studio_research import _files, _get, _json, _nan, research_server  # noqa: E402

EXCLUDED = {"t_s": 0.5, "t_end_s": 0.8, "kind": "view_excluded", "camera": "cam03", "reason": "followed another person",
            "median_error_torso": 0.9, "text": "camera cam03 followed another person 0.50-0.80 s"}  # fmt: skip


@pytest.fixture(scope="module")
def sets(tmp_path_factory):
    from movekit.analysis.cameras import read_qualisys_qca, write_calibration_toml
    from movekit.datasets import fetch

    root = tmp_path_factory.mktemp("research3d")
    calib = root / "rig.toml"
    write_calibration_toml(read_qualisys_qca(fetch("pose2sim_qca_calibration")), calib)
    lab = root / "rec"
    lab.mkdir()
    videos = [str(fetch("pose2sim_single_cam02")), str(fetch("pose2sim_single_cam03"))]
    p = subprocess.run([sys.executable, "-m", "movekit.cli", "capture", *videos, "-o", str(lab / "set"), "--cameras",
                        "cam02,cam03", "--calibration", str(calib), "--duration", "1.5", "--save-video",
                        "--no-progress"], capture_output=True, text=True)  # fmt: skip
    assert p.returncode == 0, p.stderr
    found = re.search(r"56 of 90 frames triangulated from 2 cameras \(cam02, cam03, (\d+) deg apart\)", p.stdout)
    assert found and 115 <= int(found[1]) <= 122, p.stdout  # the views' median separation over the frames kept
    excluded = lab / "other" / "excluded.mkrec"
    shutil.copytree(lab / "set" / "pose_3d.mkrec", excluded)
    with open(excluded / "events.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps(EXCLUDED) + "\n")
    meta = json.loads((excluded / "meta.json").read_text())
    (excluded / "meta.json").write_text(json.dumps({**meta, "n_events": 1}))
    (lab / "bare").mkdir()
    shutil.copy(lab / "set" / "capture_set.json", lab / "bare" / "capture_set.json")
    return SimpleNamespace(sep=int(found[1]), root=lab, set=lab / "set", rec=lab / "set" / "pose_3d.mkrec", excluded=excluded,
                           bare=lab / "bare")  # fmt: skip


@pytest.fixture(scope="module")
def url(sets):
    with research_server(sets.root) as base:
        yield base


def _stream(path: Path, name: str) -> tuple[np.ndarray, np.ndarray]:
    from movekit.recording import open_recording

    st = open_recording(path).streams[name]
    return np.asarray(st.t_s, dtype=np.float64), np.asarray(st.data, dtype=np.float64)


def test_list_shows_sets_and_triangulated_recordings(url, sets):
    status, _, body = _get(url, "/research")
    page = body.decode()
    assert status == 200
    what = f"3D, triangulated from 2 cameras (cam02, cam03, {sets.sep} deg apart); 56 of 90 frames triangulated"
    assert page.count(what) == 3  # the set's recording in the list and in the set's row; the copy
    assert page.count("of a capture set") == 2  # camera cam02 / cam03 of a capture set
    assert "camera cam03 followed another person 0.50-0.80 s" in page  # the copy's view_excluded, as a note
    assert 'id="capture-sets"' in page and page.count('class="open-3d"') == 1
    assert "camera cam02: its recording" in page and "is missing" in page  # the bare set's problems
    assert f"not triangulated: movekit triangulate {sets.bare} --calibration FILE" in page
    # the set itself stands for its triangulated recording; a set without one says how to make it
    assert _json(url, "/research/api/recording", path=str(sets.set))["path"] == str(sets.rec.resolve())
    status, _, body = _get(url, "/research/view", path=str(sets.bare))
    assert status == 400 and "is a capture set without a triangulated pose: run movekit triangulate" in body.decode()


def test_recording_json_is_angles_3d(url, sets):
    from movekit.analysis.error_model import MAX_ERROR_DEG, multiview_errors
    from movekit.analysis.multiview import TriangulatedPose, angles_3d

    t, pts = _stream(sets.rec, "pose_3d_m")
    views = _stream(sets.rec, "pose_3d_views")[1]
    j = _json(url, "/research/api/recording", path=str(sets.rec))
    assert j["status"] == 200 and j["kind"] == "3d" and j["frames"] == len(t) == 90
    np.testing.assert_array_equal(_nan(j["t_s"]), t - t[0])
    assert j["cameras"] == ["cam02", "cam03"] and round(j["separation_deg"]) == sets.sep
    zeros = np.zeros(pts.shape[:2])
    ang = angles_3d(TriangulatedPose(t, pts, zeros.astype(int), zeros))
    err = dict(zip(ang, multiview_errors(list(ang), n_views=2, separation_deg=j["separation_deg"])))
    assert set(j["angles"]) == {n for n, e in err.items() if e <= MAX_ERROR_DEG} == {"trunk_lateral_lean_deg"}
    for name, a in ang.items():
        if name in j["angles"]:
            np.testing.assert_array_equal(_nan(j["angles"][name]["deg"]), a)  # angles_3d exactly
            np.testing.assert_array_equal(_nan(j["angles"][name]["err_deg"]), np.full(len(t), err[name]))
        else:
            why = j["refused"][name]
            assert why.startswith(name.removesuffix("_deg").replace("_", " ") + ": refused, ")
            assert ("measured error" in why and f"with 2 cameras {sets.sep} deg apart" in why) or "not measured" in why
    # frames with fewer than two views of the shoulders and hips: one stretch, with the reason
    torso_ok = np.isfinite(pts[:, [11, 12, 23, 24], 0]).all(axis=1)
    np.testing.assert_array_equal(_nan(j["views_torso"]), np.where(torso_ok, views[:, [11, 12, 23, 24]].min(axis=1), 0))
    assert [(g["i0"], g["i1"]) for g in j["few_views"]] == [(56, 89)] and not torso_ok[56:].any()
    assert j["few_views"][0]["reason"].startswith("fewer than two views: not triangulated (")
    gaps = j["angles"]["trunk_lateral_lean_deg"]["gaps"]
    missing = np.zeros(len(t), bool)
    for g in gaps:
        missing[g["i0"] : g["i1"] + 1] = True
    np.testing.assert_array_equal(missing, ~np.isfinite(ang["trunk_lateral_lean_deg"]))
    assert gaps[-1]["reason"] == f"trunk lateral lean: 34 of 34 frames here with {j['few_views'][0]['reason']}"
    # which way the subject's right pointed: the lab's x is the calibration's, here their forward
    d = pts[:, 12, :2] - pts[:, 11, :2]
    m = np.median(d[np.isfinite(d).all(axis=1)], axis=0)
    assert j["subject_right_xy"] == (m / np.hypot(*m)).tolist() and j["subject_right_xy"][1] < -0.9
    # each camera's own recording at each 3D frame: cam02 is the clock; cam03 kept as recorded (the geometry
    # cannot tell 0 s from its best offset on these two 90-frame recordings, movekit.analysis.sync)
    cams = {c["name"]: c for c in j["camera_views"]}
    assert cams["cam02"]["index"] == list(range(90)) and cams["cam02"]["video"]
    assert cams["cam03"]["index"] == list(range(90))
    assert cams["cam02"]["frame_size_px"] == [1080, 1920]
    # the copy's view_excluded stretch is an event with its end and the triangulation's words
    ex = _json(url, "/research/api/recording", path=str(sets.excluded))
    assert ex["events"] == [{"t_s": 0.5, "t_end_s": 0.8, "kind": "view_excluded", "label": EXCLUDED["text"]}]


def test_pose_json_is_the_recording(url, sets):
    before = _files(sets.root)
    t, pts = _stream(sets.rec, "pose_3d_m")
    views = _stream(sets.rec, "pose_3d_views")[1]
    reproj = _stream(sets.rec, "pose_3d_reproj_px")[1]
    tl = _json(url, "/research/api/recording", path=str(sets.rec))
    for k in (0, 40, 70, 89, 3):
        j = _json(url, "/research/api/pose", path=str(sets.rec), i=k)
        assert j["kind"] == "3d" and j["i"] == k and j["t_s"] == t[k] - t[0]
        np.testing.assert_array_equal(np.array(j["points_m"], dtype=np.float64), pts[k])
        np.testing.assert_array_equal(_nan(j["views"]), views[k])
        np.testing.assert_array_equal(_nan(j["reproj_px"]), reproj[k])
        assert j["angles_deg"]["trunk_lateral_lean_deg"] == tl["angles"]["trunk_lateral_lean_deg"]["deg"][k]
        assert [c["i"] for c in j["cameras"]] == [c["index"][k] for c in tl["camera_views"]]
    j = _json(url, "/research/api/pose", path=str(sets.rec), i=70)  # in the fewer-than-two-views stretch
    assert [None] * 3 in [j["points_m"][k] for k in (11, 12, 23, 24)] and j["views_torso"] == 0
    j = _json(url, "/research/api/pose", path=str(sets.rec), i=90)
    assert j["status"] == 400 and j["error"] == "frame 90 is outside this recording (0-89)"
    assert _json(url, "/research/api/frame", path=str(sets.rec), i=0)["status"] == 404  # the cameras hold the video
    assert _get(url, "/research/api/frame", path=str(sets.set / "cam03.mkrec"), i=1)[1] == "image/jpeg"
    assert _files(sets.root) == before


# -- the browser --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def page(url):
    with chromium_page(1400, 1100) as page:
        yield page


_PIXELS = """(sel) => { const c = document.querySelector(sel);
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; const g = [];
  for (let i = 0; i < d.length; i += 4 * 7) g.push((d[i] + d[i + 1] + d[i + 2]) / 3); return g; }"""


def _pixels(page, sel: str) -> np.ndarray:
    return np.array(page.evaluate(_PIXELS, sel), dtype=np.float64)


def _shown(page, frame: int, pane: str = "#pane") -> None:
    page.wait_for_function(f"document.querySelector('{pane}').dataset.shownFrame === '{frame}'", timeout=20000)


def test_turn_the_3d_view(page, url, sets, tmp_path):
    import cv2

    page.goto(url + "/research")
    page.click("a.open-3d")
    _shown(page, 0)
    canvas = "#pane canvas[data-role=canvas]"
    before = _pixels(page, canvas)
    assert before.std() > 10 and (np.abs(before - before[0]) > 30).mean() > 0.01  # grid, axes, skeleton: not blank
    assert page.get_attribute(canvas, "data-view") == "-30,20"
    assert f"triangulated from 2 calibrated cameras (cam02, cam03; {sets.sep} deg apart)" in page.inner_text("#set-up")
    for cam in ("cam02", "cam03"):  # each camera's saved video at the same instant
        assert _pixels(page, f"figure.cam[data-camera={cam}] canvas").std() > 20
    assert page.inner_text("figure.cam[data-camera=cam03] [data-role=cam-frame]") == "0"
    # turn by dragging across the canvas, then by the yaw slider: the picture changes each time
    box = page.locator(canvas).bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(cx, cy)
    page.mouse.down()
    page.mouse.move(cx - 120, cy + 40, steps=6)
    page.mouse.up()
    view = page.get_attribute(canvas, "data-view")
    yaw, pitch = (int(v) for v in view.split(","))
    assert yaw > -30 and pitch > 20
    dragged = _pixels(page, canvas)
    assert np.abs(dragged - before).mean() > 1 and (np.abs(dragged - before) > 30).mean() > 0.005
    page.locator("[data-role=yaw]").focus()
    for _ in range(45):
        page.keyboard.press("ArrowRight")
    assert page.get_attribute(canvas, "data-view") == f"{min(180, yaw + 45)},{pitch}"
    turned = _pixels(page, canvas)
    page.locator(canvas).screenshot(path=str(tmp_path / "research_3d_turned.png"))
    assert (np.abs(turned - dragged) > 30).mean() > 0.005 and turned.std() > 10
    # the plot: one gated angle, the fewer-than-two-views stretch as a band and as a gap with its reason
    assert page.locator("figure.research-figure").count() == 1
    assert page.locator("figure svg rect.few-views").count() == 1
    assert "fewer than two views: not triangulated" in page.inner_text("figure[data-angle=trunk_lateral_lean_deg]")
    cursor = page.locator("figure[data-angle=trunk_lateral_lean_deg] line.cursor")
    x_cursor = float(cursor.get_attribute("x1"))
    page.locator("#pane [data-role=slider]").focus()
    page.keyboard.press("End")
    _shown(page, 89)
    assert "fewer than two views" in page.inner_text("#pane [data-role=views-now]")
    assert float(cursor.get_attribute("x1")) > x_cursor + 400  # the plot's cursor followed
    cell = page.locator("#pane [data-role=values] tr[data-angle=trunk_lateral_lean_deg] td >> nth=1")
    assert cell.inner_text() == "refused" and "fewer than two views" in cell.get_attribute("title")
    assert page.inner_text("figure.cam[data-camera=cam03] [data-role=cam-frame]") == "89"
    empty = _pixels(page, canvas)  # no skeleton: grid and axes only, and the message
    assert empty.std() > 5
    shot = page.screenshot(path=str(tmp_path / "research_3d.png"), full_page=True)
    assert cv2.imdecode(np.frombuffer(shot, np.uint8), cv2.IMREAD_GRAYSCALE).std() > 20

    # two triangulated recordings side by side: the copy's view_excluded stretch is a band on the plot
    query = urllib.parse.urlencode({"a": str(sets.rec), "b": str(sets.excluded), "angle": "trunk_lateral_lean_deg"})
    page.goto(url + "/research/compare?" + query)
    _shown(page, 0, "#pane-a")
    _shown(page, 0, "#pane-b")
    assert page.locator("#compare-plot svg polyline.series").count() == 2
    band = page.locator("#compare-plot svg rect.event.view_excluded")
    assert band.count() == 1 and EXCLUDED["text"] in band.text_content()
    assert page.get_attribute("#pane-b canvas[data-role=canvas]", "data-view") == "-30,20"
    assert _pixels(page, "#pane-b canvas[data-role=canvas]").std() > 10
