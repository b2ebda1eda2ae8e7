"""movekit studio without a browser: the setup check on real video, the frame messages, the plot,
the command's access token and the forms' refusals (a real server in a subprocess)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from movekit.analysis.camera_tilt import CameraTilt
from movekit.assess.setup_check import SCREEN_SETUP, check_setup, tilt_problem
from movekit.errors import MovekitError

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def first_second():
    """One second of real pose from a side-and-front clip (Sports2D demo: the man faces the camera
    at the start) and an oblique, tilted camera (Pose2Sim cam01), with their frame sizes and tilts."""
    from movekit.capture.pipeline import capture_in_memory
    from movekit.datasets import fetch

    out = {}
    for name in ("sports2d_demo", "pose2sim_single_cam01"):
        rec = capture_in_memory(fetch(name), duration_s=1.0)
        p = rec.pose()
        tilt = rec.metadata.get("calibration", {}).get("tilt")
        out[name] = (p, CameraTilt.from_dict(tilt) if tilt else None)
    return out


def test_setup_check_on_real_views(first_second):
    pose, tilt = first_second["sports2d_demo"]
    ok = check_setup("painful-arc", pose.image_px, pose.visibility, pose.frame_size_px, tilt=tilt)
    assert ok.valid, ok.problems
    assert ok.text() == "setup valid for painful arc"
    assert ok.yaw_deg < 20  # facing the camera

    side = check_setup("hip-hinge", pose.image_px, pose.visibility, pose.frame_size_px, tilt=tilt)
    assert not side.valid
    assert side.problems[0].startswith("turn the client 90 deg to the camera")

    pose1, tilt1 = first_second["pose2sim_single_cam01"]
    wrong = check_setup("painful-arc", pose1.image_px, pose1.visibility, pose1.frame_size_px, tilt=tilt1)
    assert not wrong.valid
    assert any(p.startswith("turn the client to face the camera") for p in wrong.problems)
    assert 20 < wrong.yaw_deg < 45
    # the elevated camera: about 21 deg of pitch and 13 of roll, known only from the scene (+-8 deg)
    assert any(re.match(r"the camera is tilted 1[0-9] deg \(rolled\): level it", p) for p in wrong.problems)


def test_setup_check_words(first_second):
    pose, _ = first_second["sports2d_demo"]
    img, vis, size = pose.image_px.copy(), pose.visibility, pose.frame_size_px
    nobody = check_setup("balance", np.full_like(img, np.nan), vis, size)
    assert not nobody.valid and nobody.problems[0].startswith("nobody in view")
    two = check_setup("painful-arc", img, vis, size, people_in_view=2)
    assert "two people in view: click the client" in two.problems
    chosen = check_setup("painful-arc", img, vis, size, people_in_view=2, person_chosen=True)
    assert chosen.valid and "two people in view: following the client you clicked" in chosen.notes
    cut = img.copy()
    cut[:, 27:33, 1] = size[1] + 50  # feet below the bottom edge
    feet = check_setup("single-leg-stance", cut, vis, size)
    assert any(p.startswith("feet out of frame") for p in feet.problems)
    assert feet.parts_out == ("feet",)
    assert check_setup("painful-arc", cut, vis, size).valid  # the arm test does not need the feet
    with pytest.raises(MovekitError, match="no setup check for 'gait'"):
        check_setup("gait", img, vis, size)
    with pytest.raises(MovekitError, match=r"\(frames, 33"):
        check_setup("balance", img[:, :20], vis, size)


def test_tilt_words():
    assert tilt_problem(None) is None
    assert tilt_problem(CameraTilt(12.0, 1.0, 8.0, "scene verticals")).startswith(
        "the camera is tilted 12 deg (pitched)"
    )
    assert tilt_problem(CameraTilt(12.0, 1.0, 2.0, "level reading")) is None  # calibrated: corrected
    assert tilt_problem(CameraTilt(8.0, 4.0, 8.0, "scene verticals")) is None
    assert set(SCREEN_SETUP) == {"painful-arc", "hip-hinge", "balance", "single-leg-stance", "step-down",
                                 "sit-to-stand", "tug", "squat", "lumbar-flexion", "posture"}  # fmt: skip


def test_frame_message_and_angles():
    import cv2

    from movekit.studio.live import encode_frame, shown_angles

    img = np.zeros((1920, 1080, 3), np.uint8)
    img[:960] = (0, 0, 255)
    msg, scale = encode_frame(img, {"index": 7})
    n = int.from_bytes(msg[:4], "big")
    head = json.loads(msg[4 : 4 + n])
    jpg = cv2.imdecode(np.frombuffer(msg[4 + n :], np.uint8), cv2.IMREAD_COLOR)
    assert head["index"] == 7 and scale == pytest.approx(0.5)
    assert jpg.shape == (960, 540, 3) == (head["height_px"], head["width_px"], 3)
    assert jpg[100, 100, 2] > 200 and jpg[800, 100, 2] < 50  # the red half is still on top
    shown = shown_angles({"a_deg": 10.04, "b_deg": float("nan")}, {"a_deg": 3.26, "b_deg": 9.0})
    assert shown == [{"name": "a_deg", "value_deg": 10.0, "error_deg": 3.3}]


def test_plot_gaps_and_events():
    from movekit.studio.plot import angle_plot_svg

    t = np.arange(10) / 10
    v = np.array([0, 10, 20, np.nan, np.nan, 50, 60, 70, 80, 90], float)
    svg = angle_plot_svg(t, {"left_shoulder_abduction": v}, [{"t_s": 0.5, "kind": "pain"}])
    assert svg.count('class="series"') == 2  # the refused stretch is a gap, not a line
    assert svg.count('class="event pain"') == 1
    assert "left shoulder abduction (deg)" in svg


def _start(args: list[str], tmp_path: Path) -> tuple[subprocess.Popen, str, list[str]]:
    env = {**os.environ, "MOVEKIT_DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "movekit.cli", "studio", "--no-browser", "--port", "0",
         "--db", str(tmp_path / "clinic.sqlite3"), "--recordings", str(tmp_path / "rec"), *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=REPO,
    )  # fmt: skip
    lines: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.strip())
        if line.startswith("stop with Ctrl-C"):
            url = next(x.split(": ", 1)[1] for x in lines if x.startswith("movekit studio: "))
            return proc, url, lines
    proc.kill()
    raise AssertionError("the studio did not start: " + "\n".join(lines))


def _get(url: str, data: dict | None = None, headers: dict | None = None) -> tuple[int, str, dict]:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    req = urllib.request.Request(url, data=body, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            return r.status, r.read().decode(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), dict(e.headers)


def test_network_host_needs_the_token(tmp_path):
    proc, url, lines = _start(["--host", "0.0.0.0"], tmp_path)
    try:
        token = next(x.rsplit(": ", 1)[1] for x in lines if x.startswith("access token"))
        assert len(token) >= 20 and url.endswith(f"?token={token}")
        base = url.split("?")[0]
        assert _get(base)[0] == 403
        assert _get(base + "?token=wrong")[0] == 403
        status, text, headers = _get(url)
        assert status == 200 and "Add a client" in text
        cookie = headers["set-cookie"].split(";")[0]
        assert _get(base + "clients/nobody", headers={"Cookie": cookie})[0] == 400  # past the check: no client
        assert _get(base + "static/live.js", headers={"Cookie": "movekit_studio_token=x"})[0] == 403
    finally:
        proc.terminate()
        proc.wait(20)


def test_local_forms_refuse_bad_input(tmp_path):
    proc, url, _ = _start([], tmp_path)
    try:
        assert url.startswith("http://127.0.0.1:") and "token" not in url
        status, _, _ = _get(url + "clients", {"code": "C-1", "name": "Ann"})
        assert status == 200  # followed the redirect to the client page
        # another site's page cannot post into the local studio
        assert _get(url + "clients", {"code": "C-2"}, {"Origin": "http://evil.example"})[0] == 403
        assert _get(url, headers={"Host": "evil.example"})[0] == 403  # DNS rebinding: not a loopback name
        assert _get(url.replace("127.0.0.1", "localhost"))[0] == 200
        status, text, _ = _get(url + "clients/C-1/outcomes/odi", {f"item{i}": "7" for i in range(1, 11)})
        assert status == 400 and "ODI item 1: &#39;7&#39; is not an integer in 0-5" in text
        status, text, _ = _get(url + "clients/C-1/outcomes/psfs", {"activity1": "stairs", "item1": "4"})
        assert status == 400 and "PSFS needs 3-5 rated activities, got 1" in text
        status, text, _ = _get(url + "clients/C-1/outcomes/quickdash", {f"item{i}": "3" for i in range(1, 12)})
        assert status == 200 and "<td>quickdash</td><td>50.0</td>" in text
        assert "<td>odi</td>" not in text and "<td>psfs</td>" not in text  # nothing stored by the refusals
        psfs = {"activity1": "stairs", "item1": "4", "activity2": "lifting a bag", "item2": "6",
                "activity3": "sitting 1 h", "item3": "5"}  # fmt: skip
        assert _get(url + "clients/C-1/outcomes/psfs", psfs)[0] == 200
        from movekit.clinic.store import Store

        with Store(tmp_path / "clinic.sqlite3") as st:
            row = st.outcomes("C-1", "psfs")[0]
        assert row["labels"] == ["stairs", "lifting a bag", "sitting 1 h"] and row["items"] == [4, 6, 5]
        assert _get(url + "clients", {"code": "C-1"})[0] == 400  # exists already
    finally:
        proc.terminate()
        proc.wait(20)


def test_slow_page_gets_fewer_frames_not_a_queue():
    import asyncio

    from movekit.studio.live import MAX_IN_FLIGHT, Hub

    hub = Hub()
    assert not hub.ready()  # no page: nothing is encoded
    hub.loop = asyncio.new_event_loop()
    try:
        hub.add(object())
        for _ in range(MAX_IN_FLIGHT):
            assert hub.ready()
            hub.publish(b"frame")
        assert not hub.ready()  # the page has not drawn them yet: the next frame is dropped for it
        hub.drawn({"index": 1, "frame_unix_ms": 1.0, "send_unix_ms": 2.0, "receive_unix_ms": 3.0, "draw_unix_ms": 4.0})
        assert hub.ready() and len(hub.latencies) == 1
        hub.drawn({"type": "drawn"})  # a frame skipped by a busy page: no timings kept
        assert hub.in_flight == 0 and len(hub.latencies) == 1
        assert hub.stats()["sent"] == MAX_IN_FLIGHT
    finally:
        hub.loop.close()


def test_setup_table_matches_the_screens(first_second, monkeypatch):
    """SCREEN_SETUP says what each screen's own analyse_pose call needs (guard against drift)."""
    import importlib

    from movekit.assess import run
    from movekit.assess.sources import Trial

    class Seen(Exception):
        pass

    asked = {}

    def spy(pose, result, *, need_view, landmarks, **kw):
        asked["need"] = (need_view, tuple(landmarks))
        raise Seen

    mods = (
        "_pose",
        "balance",
        "hinge",
        "lumbar_flexion",
        "painful_arc",
        "posture",
        "sit_to_stand",
        "squat",
        "step_down",
        "tug",
    )
    for m in mods:
        mod = importlib.import_module(f"movekit.assess.{m}")
        if hasattr(mod, "analyse_pose"):
            monkeypatch.setattr(mod, "analyse_pose", spy)
    pose, _ = first_second["sports2d_demo"]
    for screen, need in SCREEN_SETUP.items():
        asked.clear()
        with pytest.raises(Seen):
            run(screen, Trial("x", pose=pose, events=[], metadata={}))
        assert asked["need"] == (need.view, need.landmarks), screen
