"""The researcher's pages of movekit studio (issue 18): open, scrub, compare.

Two real recordings of the Sports2D demo through the real pose model, the camera tilt measured
automatically from the room's verticals as any video capture does (pitch 1.8 deg up, roll 1.3 deg,
+-8 deg: the scene method's measured uncertainty, docs/validity.md). With that uncertainty the
error model refuses every angle of this clip (the trunk angles need a tilt known to a few degrees),
so these pages show each refusal with its reason; the plots, gaps and cursors are driven on a
triangulated recording in tests/test_studio_research_3d.py. The recordings: the whole clip with its
video kept and pain / pain-gone / marker events recorded during the capture (the baseline), and its
first 4 s without video (the re-assessment: the skeleton alone). Beside them a copy cut short and
a folder whose meta.json is not an object. The JSON endpoints are checked against the recording's
arrays and the analysis; the pages are driven in Debian's chromium (Playwright).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from browser_helpers import chromium_page, serve

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

EVENTS = (("pain", 2.0), ("pain_resolved", 3.0), ("marker", 5.0))  # (kind, s after the first frame)


class _Events:
    """A capture observer that records the EVENTS at their times, as the studio's keys would."""

    def __init__(self) -> None:
        self.t0, self.todo = None, list(EVENTS)

    def start(self, writer, clock, ble) -> None:
        self.writer = writer

    def frame(self, t_s, estimate) -> None:
        self.t0 = t_s if self.t0 is None else self.t0
        while self.todo and t_s - self.t0 >= self.todo[0][1]:
            self.writer.event(t_s, self.todo.pop(0)[0], source="test")

    def stop(self, t_s) -> None:
        return None


@pytest.fixture(scope="module")
def recs(tmp_path_factory):
    from movekit.capture.pipeline import capture
    from movekit.datasets import fetch

    root = tmp_path_factory.mktemp("research") / "rec"
    (root / "C-1").mkdir(parents=True)
    clip = fetch("sports2d_demo")
    base, again = root / "C-1" / "baseline.mkrec", root / "C-1" / "reassess.mkrec"
    capture(clip, base, keys=False, save_video=True, observer=_Events(), metadata={"client": "C-1"})
    capture(clip, again, keys=False, duration_s=4.0, metadata={"client": "C-1"})
    cut = root / "C-1" / "cut.mkrec"
    shutil.copytree(again, cut)
    stream = cut / "streams" / "pose_image_px.arrows"
    stream.write_bytes(stream.read_bytes()[: stream.stat().st_size // 2])
    (root / "bad.mkrec").mkdir()
    (root / "bad.mkrec" / "meta.json").write_text("[]")
    return SimpleNamespace(root=root, base=base, again=again, cut=cut, bad=root / "bad.mkrec")


@contextlib.contextmanager
def research_server(root: Path):
    """The researcher's pages alone (routes and static files) over the recordings in ``root``: the base URL."""
    from starlette.applications import Starlette
    from starlette.routing import Mount
    from starlette.staticfiles import StaticFiles

    from movekit.studio import research

    config = SimpleNamespace(recordings_dir=root, live=None)
    static = Mount("/static", StaticFiles(directory=research.HERE / "static"))
    with serve(Starlette(routes=[*research.routes(config), static])) as base:
        yield base


@pytest.fixture(scope="module")
def url(recs):
    with research_server(recs.root) as base:
        yield base


def _get(url: str, route: str, **query) -> tuple[int, str, bytes]:
    full = url + route + ("?" + urllib.parse.urlencode(query) if query else "")
    try:
        with urllib.request.urlopen(full, timeout=60) as r:
            return r.status, r.headers.get("content-type", ""), r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("content-type", ""), exc.read()


def _json(url: str, route: str, **query) -> dict:
    status, kind, body = _get(url, route, **query)
    assert kind.startswith("application/json"), (status, body[:200])
    return {"status": status, **json.loads(body)}


def _nan(values) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def _files(path: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(path.rglob("*"))}


def test_list_shows_problems_instead_of_crashing(url, recs):
    status, _, body = _get(url, "/research")
    page = body.decode()
    assert status == 200
    for name in ("baseline.mkrec", "reassess.mkrec", "cut.mkrec", "bad.mkrec"):
        assert name in page
    assert "cut short or corrupt" in page  # the truncated stream: what was recovered
    assert "cannot be opened:" in page and "is not a JSON object" in page
    assert page.count('class="open"') == 3  # the bad one has no link
    # any other path: a recording outside the folder, or a path that is none
    elsewhere = _get(url, "/research", path=str(recs.base.parent.parent.parent / "nothing"))[2].decode()
    assert "cannot be opened: no recording at" in elsewhere
    status, _, body = _get(url, "/research/view", path=str(recs.bad))
    assert status == 400 and "is not a JSON object" in body.decode()


def test_recording_json_is_the_analysis(url, recs):
    from movekit.calibration import analyse_calibrated
    from movekit.recording import open_recording

    rec = open_recording(recs.base)
    pose = rec.pose()
    an = analyse_calibrated(pose, space="2d", offline=True)
    j = _json(url, "/research/api/recording", path=str(recs.base))
    assert j["status"] == 200 and j["frames"] == len(pose) == 230 and j["video"] and j["video_frames"] == 230
    np.testing.assert_array_equal(_nan(j["t_s"]), pose.t_s - pose.t_s[0])
    tilt = rec.metadata["calibration"]["tilt"]  # measured by the capture, not assumed
    assert tilt["source"].startswith("scene verticals") and tilt["uncertainty_deg"] == 8.0
    assert abs(tilt["pitch_deg"]) < 5 and abs(tilt["roll_deg"]) < 5
    assert j["angles"] == {} and set(j["refused"]) == set(an.angles)  # gated: none passes with +-8 deg
    for name, a in an.angles.items():
        assert not np.isfinite(a).any()
        what = name.removesuffix("_deg").replace("_", " ")
        assert j["refused"][name] == an.reason(name)
        assert j["refused"][name].startswith(f"{what}: refused, expected error ")
        assert not (an.error_deg[name] <= 5.0).any()  # no frame within the limit
    assert "is over 5 deg" in j["refused"]["trunk_inclination_deg"]
    kinds = [(e["kind"], e["t_s"]) for e in j["events"] if e["kind"] != "people_in_view"]  # the capture's own
    assert [k for k, _ in kinds] == [k for k, _ in EVENTS]
    for (_, t), (_, want) in zip(kinds, EVENTS):
        assert want <= t < want + 0.05  # the first frame at or after the press (30 fps)


def test_pose_and_frame_endpoints(url, recs):
    import cv2

    from movekit.recording import open_recording
    from movekit.studio.research import JPEG_MAX_SIDE_PX, VideoFrames

    before = _files(recs.root)
    pose = open_recording(recs.base).pose()
    for k in (0, 117, 229, 3):  # forwards, to the end, back again
        j = _json(url, "/research/api/pose", path=str(recs.base), i=k)
        assert j["i"] == k and j["t_s"] == pose.t_s[k] - pose.t_s[0]
        np.testing.assert_array_equal(np.array(j["image_px"], dtype=np.float64), pose.image_px[k])
        np.testing.assert_array_equal(_nan(j["visibility"]), pose.visibility[k])
    # the saved video's frame k is pose frame k: the same picture by random access and in order
    status, kind, body = _get(url, "/research/api/frame", path=str(recs.base), i=117)
    assert status == 200 and kind == "image/jpeg"
    got = cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR)
    w, h = pose.frame_size_px
    assert max(got.shape[:2]) == JPEG_MAX_SIDE_PX and abs(got.shape[1] / got.shape[0] - w / h) < 0.01
    cap = cv2.VideoCapture(str(recs.base / "video.mkv"))
    frames = [cap.read()[1] for _ in range(118)]
    diffs = [float(np.abs(got.astype(int) - cv2.resize(f, got.shape[1::-1], interpolation=cv2.INTER_AREA)).mean())
             for f in frames[100:]]  # fmt: skip
    assert int(np.argmin(diffs)) + 100 == 117 and min(diffs) < 3  # that frame, not a neighbour; JPEG only
    video = VideoFrames(recs.base / "video.mkv")
    for k in (117, 20, 100, 5):  # seeks back and jumps ahead land on the right frame
        np.testing.assert_array_equal(video.read(k), frames[k])
    video.close()
    # refusals: no video kept, a frame out of range, not a recording; nothing written anywhere
    assert _json(url, "/research/api/frame", path=str(recs.again), i=5)["status"] == 404
    j = _json(url, "/research/api/pose", path=str(recs.base), i=230)
    assert j["status"] == 400 and j["error"] == "frame 230 is outside this recording (0-229)"
    j = _json(url, "/research/api/pose", path=str(recs.root), i=0)
    assert j["status"] == 400 and "is not a movekit recording" in j["error"]
    assert _json(url, "/research/api/pose", path=str(recs.base), i="x")["error"] == "frame 'x' is not a whole number"
    assert _files(recs.root) == before


def test_compare_refuses_an_angle_neither_shows(url, recs):
    status, _, body = _get(url, "/research/compare", a=str(recs.base), b=str(recs.again), angle="left_knee_flexion_deg")
    assert status == 400 and "left_knee_flexion_deg is not shown in either recording" in body.decode()


def test_full_app_serves_the_research_pages(recs, tmp_path):
    """Through create_app (access check, static files); the routes are added here if app.py
    does not mount them yet."""
    from starlette.routing import Route

    from movekit.studio import research
    from movekit.studio.app import StudioConfig, create_app

    config = StudioConfig(tmp_path / "clinic.db", [], recs.root, token="t0ken")
    app = create_app(config)
    if not any(isinstance(r, Route) and r.path == "/research" for r in app.router.routes):
        app.router.routes[0:0] = research.routes(config)
    with serve(app) as base:
        assert _get(base, "/research")[0] == 403
        status, _, body = _get(base, "/research", token="t0ken")
        assert status == 200 and "baseline.mkrec" in body.decode()
        status, kind, body = _get(base, "/static/research.js", token="t0ken")
        assert status == 200 and b"movekitResearch" in body


# -- the browser --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def page(url):
    with chromium_page(1400, 1000) as page:
        yield page


def _shown(page, pane: str, frame: int) -> None:
    page.wait_for_function(f"document.querySelector('{pane}').dataset.shownFrame === '{frame}'", timeout=20000)


def _canvas_stats(page, pane: str) -> tuple[float, float]:
    """(grey-level std, fraction of pixels off the blank background) of a pane's canvas."""
    return tuple(
        page.evaluate(
            f"""() => {{ const c = document.querySelector('{pane} canvas');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let s = 0, s2 = 0, n = 0, off = 0;
        for (let i = 0; i < d.length; i += 4 * 31) {{ const g = (d[i] + d[i + 1] + d[i + 2]) / 3; s += g; s2 += g * g; n++;
          if (Math.abs(d[i] - 0x1c) + Math.abs(d[i + 1] - 0x24) + Math.abs(d[i + 2] - 0x30) > 30) off++; }}
        const m = s / n; return [Math.sqrt(Math.max(0, s2 / n - m * m)), off / n]; }}"""
        )
    )


def _readout(page, pane: str) -> tuple[int, str, dict]:
    frame = int(page.inner_text(f"{pane} [data-role=frame]"))
    values = page.evaluate(
        f"""() => Object.fromEntries([...document.querySelectorAll('{pane} [data-role=values] tr[data-angle]')].map(
        r => [r.dataset.angle, r.cells[1].dataset.value !== undefined ? parseFloat(r.cells[1].dataset.value)
              : r.cells[1].textContent + ' | ' + r.cells[1].title]))"""
    )
    return frame, page.inner_text(f"{pane} [data-role=time]"), values


def _check_readout(page, pane: str, tl: dict) -> int:
    """The frame, time and angle values a pane shows are the recording's at that frame."""
    frame, time_text, values = _readout(page, pane)
    assert time_text == f"{tl['t_s'][frame]:.3f}"
    for name, a in tl["angles"].items():
        v = a["deg"][frame]
        if v is None:
            gap = next(g for g in a["gaps"] if g["i0"] <= frame <= g["i1"])
            assert values[name] == f"refused | {gap['reason']}"
        else:
            assert values[name] == v
    return frame


def test_researcher_flow(page, url, recs, tmp_path):  # long: open, scrub, compare, step after step
    import cv2

    tl = _json(url, "/research/api/recording", path=str(recs.base))
    page.goto(url + "/research")
    assert page.locator("#recordings tr.bad").count() == 2  # the cut copy and the unreadable one
    assert "cut short or corrupt" in page.inner_text("#recordings tr.bad >> nth=0") + page.inner_text(
        "#recordings tr.bad >> nth=1"
    )
    shot = page.screenshot(path=str(tmp_path / "research_list.png"), full_page=True)
    assert cv2.imdecode(np.frombuffer(shot, np.uint8), cv2.IMREAD_GRAYSCALE).std() > 10
    page.click("a.open:text('baseline.mkrec')")
    _shown(page, "#pane", 0)
    assert _check_readout(page, "#pane", tl) == 0
    # no angle passes the gate: no plot, the page says so and lists every refusal with its reason
    assert page.locator("figure.research-figure").count() == 0
    assert "No angle passed the error gate" in page.inner_text("#pane [data-role=plots]")
    assert page.locator("#pane details.refused").get_attribute("open") is not None
    refused = page.inner_text("#pane [data-role=refused]")
    assert refused.count("refused, expected error") == len(tl["refused"]) == 21
    assert page.inner_text("#pane [data-role=values]") == "no angle valid in this recording"
    legend = page.inner_text("#pane [data-role=events-legend]")
    assert all(f"{k}," in legend + "," for k in ("pain", "pain resolved", "marker"))
    std, _ = _canvas_stats(page, "#pane")
    assert std > 20  # the video frame is drawn

    slider = page.locator("#pane [data-role=slider]")
    box = slider.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.11, box["y"] + box["height"] / 2)  # ~frame 25
    page.wait_for_function("document.querySelector('#pane').dataset.shownFrame !== '0'", timeout=20000)
    frame = _check_readout(page, "#pane", tl)
    assert 15 <= frame <= 35
    page.keyboard.press("ArrowRight")
    _shown(page, "#pane", frame + 1)
    assert _check_readout(page, "#pane", tl) == frame + 1
    before = _canvas_stats(page, "#pane")
    page.keyboard.press("End")
    _shown(page, "#pane", 229)
    assert _check_readout(page, "#pane", tl) == 229
    assert _canvas_stats(page, "#pane") != before  # another frame drawn
    shot = page.screenshot(path=str(tmp_path / "research_scrub.png"), full_page=True)
    img = cv2.imdecode(np.frombuffer(shot, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert img.std() > 20

    # compare: baseline left, re-assessment (no video: the skeleton alone) right
    page.goto(url + "/research")
    page.select_option("#compare-a", str(recs.base))
    page.select_option("#compare-b", str(recs.again))
    page.click("#compare-form button")
    _shown(page, "#pane-a", 0)
    _shown(page, "#pane-b", 0)
    tl_b = _json(url, "/research/api/recording", path=str(recs.again))
    assert tl_b["angles"] == {}
    assert "No angle passed the error gate in either recording" in page.inner_text("#no-angle")
    assert page.locator("#compare-plot").count() == 0
    page.locator("#pane-b [data-role=slider]").focus()
    for _ in range(30):
        page.keyboard.press("ArrowRight")
    _shown(page, "#pane-b", 30)
    assert _check_readout(page, "#pane-b", tl_b) == 30
    assert _check_readout(page, "#pane-a", tl) == 0  # each side scrubs on its own
    std_b, off_b = _canvas_stats(page, "#pane-b")
    assert "no video kept" in page.inner_text("#pane-b [data-role=source]")
    assert 0.002 < off_b < 0.2  # the skeleton on the blank canvas: some pixels, not a picture
    shot = page.screenshot(path=str(tmp_path / "research_compare.png"), full_page=True)
    assert cv2.imdecode(np.frombuffer(shot, np.uint8), cv2.IMREAD_GRAYSCALE).std() > 20
