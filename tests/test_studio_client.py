"""The client's home flow of movekit studio in headless Chromium (issue 18's "done when", client).

The real app (``movekit studio`` in a subprocess) and a simulated generic BLE EMG sensor served by
the mock BlueZ on a private D-Bus (as tests/test_drill_ble.py), reached through the real bleak
stack. The therapist pairs the sensor (scan, pick, label, muscles, test signal); the client records
the MVC step, opens today's drill from the home program, starts, pauses and resumes it, sees the
set and rep progress change, and lands on the logged result. Then the store holds the guided log,
the recording holds the spoken cues one after another (never overlapping, set summaries in
order), and the cue WAV is written, 0600. Screenshots are checked for content.
"""

from __future__ import annotations

import json
import re
import shutil
import wave
from pathlib import Path

import numpy as np
import pytest

from movekit.errors import MovekitError

pytest.importorskip("starlette")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
browser_test = pytest.mark.skipif(
    not Path(CHROMIUM).exists() or not shutil.which("dbus-daemon"), reason="needs Debian's chromium and dbus-daemon"
)
ADDRESS = "C0:FF:EE:00:00:04"
CLIENT = "C-0100"
#: A short quadriceps-setting drill (2 sets of 3 reps on VMO %MVC) so the flow takes seconds.
PROTOCOL = """
name = "quad_sets_test"
title = "Quad sets (test)"
emg_channels = ["vmo", "vl"]

[[steps]]
id = "setup"
kind = "instruction"
duration_s = 1.5
say = "Sit with your leg straight."

[[steps]]
id = "quad_sets"
kind = "reps"
sets = 2
reps = 3
rest_s = 2.0
say = "Tighten your thigh, then relax."
rep_by = [{ start = "vmo_pct_mvc > 20", end = "vmo_pct_mvc < 8" }]

[[cues]]
id = "vmo_on"
kind = "confirm"
when = "vmo_pct_mvc > 20"
hysteresis = 5.0
min_duration_s = 0.05
cooldown_s = 0.3
during = ["drill"]
"""


def _bursts(seconds=6.0, rate=1000.0, seed=3):
    """Noise (3 uV) with 0.4-s bursts (150 uV, 40-200 Hz) every 0.9 s on two channels."""
    from scipy import signal

    rng = np.random.default_rng(seed)
    x = rng.normal(0, 3.0, (int(seconds * rate), 2))
    sos = signal.butter(4, [40, 200], "bandpass", fs=rate, output="sos")
    for t0 in np.arange(1.0, seconds, 0.9):
        i0 = int(t0 * rate)
        b = signal.sosfilt(sos, rng.normal(0, 1, (600, 2)), axis=0)[200:]
        x[i0 : i0 + 400] += 150.0 * b / b.std(axis=0)
    return x


def _image_std(png: bytes) -> float:
    import cv2

    return float(cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE).std())


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    """The studio with a client whose home program has the drill, and the simulated sensor in range."""
    from test_studio import _start

    from movekit.capture.ble.mock_bluez import PrivateSystemBus, mock_in_thread
    from movekit.capture.ble.simulate import SimulatedGenericEMG
    from movekit.clinic import program
    from movekit.clinic.store import Store

    tmp = tmp_path_factory.mktemp("studio_client")
    (tmp / "data" / "protocols").mkdir(parents=True)
    (tmp / "data" / "protocols" / "quad_sets_test.toml").write_text(PROTOCOL)
    with Store(tmp / "clinic.sqlite3") as st:
        st.add_client(CLIENT, "Home Client")
        program.assign(st, CLIENT, "Quad sets", drill_id="quad_sets_test", per_week=5, notes="after breakfast")
        program.assign(st, CLIENT, "Calf stretch", sets=3, hold_s=30, per_week=7)
    with PrivateSystemBus(set_env=True), mock_in_thread([SimulatedGenericEMG(ADDRESS, _bursts(), 1000.0)]):
        proc, url, _ = _start([], tmp)  # the studio inherits the private bus's address
        try:
            yield url, tmp
        finally:
            proc.terminate()
            proc.wait(30)


@pytest.fixture(scope="module")
def page(studio):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield browser.new_context(viewport={"width": 1100, "height": 900}).new_page()
        browser.close()


def _pair_and_mvc(page, url: str, tmp: Path, shots: Path) -> None:
    """The therapist pairs the sensor and tests it; the client records the MVC step."""
    page.goto(url + "devices")
    page.click("#scan")
    form = page.locator(f"form.pair-form[data-address='{ADDRESS}']")
    form.wait_for(timeout=20000)
    assert form.locator("input[name=profile]").input_value() == "generic_emg"  # guessed from the name
    form.locator("input[name=label]").fill("thigh")
    form.locator("input[name=role_ch1]").fill("vmo")
    form.locator("input[name=role_ch2]").fill("VL")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("#saved")
    stored = tmp / "data" / "studio" / "devices.json"
    assert (stored.stat().st_mode & 0o777) == 0o600
    dev = json.loads(stored.read_text())["devices"]
    assert dev == [{"address": ADDRESS, "profile": "generic_emg", "label": "thigh",
                    "roles": {"ch1": "vmo", "ch2": "vl"}, "name": "MK-EMG-01"}]  # fmt: skip
    page.click("button.test-signal[data-label=thigh]")
    page.wait_for_function("document.querySelectorAll('#signal-thigh .signal-channel').length === 2", timeout=20000)
    rms = [float(t.split()[0]) for t in page.locator("#signal-thigh .rms").all_inner_texts()]
    assert all(r > 5 for r in rms), rms  # bursts of 150 uV over 3-uV noise, not a flat line
    assert _image_std(page.screenshot(path=str(shots / "pairing.png"))) > 10

    page.goto(url + f"home/{CLIENT}")
    assert "record your maximal contraction first" in page.inner_text("#drills")
    page.click("a.mvc-link")
    page.click("#record-mvc")
    page.wait_for_selector("#mvc-values", timeout=30000)
    mvc = json.loads((tmp / "data" / "studio" / "mvc.json").read_text())[CLIENT]["mvc_uv"]
    assert set(mvc) == {"vmo", "vl"} and all(40 < v < 400 for v in mvc.values()), mvc


def _run_drill(page, url: str, shots: Path) -> list[str]:
    """The client starts today's drill, pauses and resumes it; returns the progress seen."""
    page.goto(url + f"home/{CLIENT}")
    home = page.inner_text("main")
    assert "Quad sets (test)" in home and "after breakfast" in home and "Calf stretch" in home
    assert _image_std(page.screenshot(path=str(shots / "today.png"))) > 5
    refused = page.request.post(url + f"home/{CLIENT}/drills/999")  # not one of today's drills
    assert refused.status == 400 and "item 999 is not one of C-0100" in refused.text()
    page.click("button.start-drill")
    page.wait_for_url(re.compile(r".*/home/C-0100/run$"))
    page.wait_for_selector("#start:not([disabled])", timeout=20000)
    page.click("#start")
    page.wait_for_function("document.getElementById('set').textContent === '1 of 2'", timeout=20000)
    page.wait_for_function("document.getElementById('reps').textContent === '1 / 3'", timeout=20000)
    band = page.inner_text("#bands")
    assert "vmo" in band and "target above 20" in band, band
    shot = page.screenshot(path=str(shots / "drill_running.png"))
    assert _image_std(shot) > 10
    page.click("#pause")
    page.wait_for_function("document.getElementById('status').textContent === 'paused'", timeout=10000)
    paused = page.inner_text("#reps")
    n0 = page.evaluate("window.movekitDrillStates")
    page.wait_for_timeout(2000)  # bursts keep coming every 0.9 s: no reps are counted while paused
    assert page.inner_text("#reps") == paused
    states_per_s = (page.evaluate("window.movekitDrillStates") - n0) / 2.0
    print(f"drill states drawn per s: {states_per_s:.1f}")
    assert states_per_s >= 5, states_per_s  # pushed every 0.1 s; a busy machine may lose a few
    page.wait_for_function("document.getElementById('cue').textContent === 'Paused.'", timeout=5000)
    page.screenshot(path=str(shots / "drill_paused.png"))
    page.click("#resume")
    page.wait_for_function("document.getElementById('set').textContent === '2 of 2'", timeout=30000)
    seen = [page.inner_text("#set")]
    page.wait_for_url(re.compile(r".*/run/result$"), timeout=30000)
    return [paused, *seen]


@browser_test
def test_client_home_flow(page, studio, tmp_path):  # long: one client's home session, step after step
    from movekit.clinic.store import Store
    from movekit.recording import open_recording

    url, tmp = studio
    _pair_and_mvc(page, url, tmp, tmp_path)
    progress = _run_drill(page, url, tmp_path)
    assert progress[0] in ("1 / 3", "2 / 3") and progress[1] == "2 of 2"

    # the result page: logged, with the spoken set summaries
    assert page.inner_text("h1") == "Quad sets (test): complete"
    logged = page.inner_text("#logged")
    assert logged.startswith(f"logged in {CLIENT}'s home program: 2 set(s), 6 rep(s)"), logged
    summaries = page.locator("#summaries li").all_inner_texts()
    assert len(summaries) == 2 and summaries[0].startswith("Set 1 of 2") and summaries[1].startswith("Set 2 of 2")
    assert _image_std(page.screenshot(path=str(tmp_path / "drill_done.png"), full_page=True)) > 5
    with Store(tmp / "clinic.sqlite3") as st:
        logs = st.program_logs(CLIENT)
    assert [(lg["source"], lg["sets"], lg["reps"], bool(lg["done"])) for lg in logs] == [("guided", 2, 6, True)]
    page.click("text=Back to today's drills")
    assert "done today" in page.inner_text("#drills")

    # the cues in the recording: in order, never overlapping; the summaries said after each set
    rec_path = _recording_path(tmp)
    events = open_recording(rec_path).events
    said = [e for e in events if e["kind"] == "speech"]
    spans = [(e["t_end_s"] - e["duration_s"], e["t_end_s"], e["text"]) for e in said]
    assert all(b[0] >= a[1] - 1e-9 for a, b in zip(spans, spans[1:])), spans  # one voice at a time
    texts = [s[2] for s in spans]
    order = ["Sit with your leg straight.", "Paused.", summaries[0], summaries[1]]
    assert [texts.index(t) for t in order] == sorted(texts.index(t) for t in order), texts
    assert [e["action"] for e in events if e["kind"] == "drill_control"][:3] == ["start", "pause", "resume"]

    wav = rec_path.with_suffix(".wav")
    assert (wav.stat().st_mode & 0o777) == 0o600
    with wave.open(str(wav)) as w:
        pcm = np.frombuffer(w.readframes(w.getnframes()), "<i2")
        rate = w.getframerate()
    assert len(pcm) / rate >= spans[-1][1] - 2.0 / rate  # every spoken cue is in the file, whole
    start, end = (int(spans[0][0] * rate), int(spans[0][1] * rate))
    assert np.abs(pcm[start:end]).max() > 1000  # the first cue is audible where the recording says


def _recording_path(tmp: Path) -> Path:
    """The one drill recording (the refused start made none)."""
    (rec,) = (tmp / "rec" / CLIENT).glob("drill-quad_sets_test-*.mkrec")
    return rec


def test_pairing_book_refuses_clashes_and_stays_private(tmp_path, monkeypatch):
    from movekit.studio import home

    monkeypatch.setenv("MOVEKIT_DATA_DIR", str(tmp_path / "data"))
    thigh = home.PairedDevice(ADDRESS, "generic_emg", "thigh", {"ch1": "vmo", "ch2": "vl"}, "MK-EMG-01")
    home.save_device(thigh)
    path = tmp_path / "data" / "studio" / "devices.json"
    assert (path.stat().st_mode & 0o777) == 0o600 and (path.parent.stat().st_mode & 0o777) == 0o700
    before = path.read_text()
    clashes = {
        "already paired as 'thigh'": home.PairedDevice(ADDRESS, "generic_emg", "belly", {"ch1": "core"}),
        "channel ch1 already has a muscle": home.PairedDevice(
            "C0:FF:EE:00:00:05", "generic_emg", "belly", {"ch1": "core"}
        ),
        "already measured by 'thigh'": home.PairedDevice("C0:FF:EE:00:00:05", "ganglion", "belly", {"ch3": "vmo"}),
        "one short word": home.PairedDevice("C0:FF:EE:00:00:05", "generic_emg", "left thigh/2"),
        "6-byte address": home.PairedDevice("C0:FF:EE", "generic_emg", "belly"),
    }
    for message, dev in clashes.items():
        with pytest.raises(MovekitError, match=re.escape(message)):
            home.save_device(dev)
    assert path.read_text() == before  # nothing overwritten by a refused pairing
    assert home.load_devices() == [thigh] and thigh.spec == f"{ADDRESS}:generic_emg@thigh"


def test_drill_lookup_and_readiness(tmp_path, monkeypatch):
    from movekit.studio import home

    monkeypatch.setenv("MOVEKIT_DATA_DIR", str(tmp_path / "data"))
    (tmp_path / "data" / "protocols").mkdir(parents=True)
    (tmp_path / "data" / "protocols" / "quad_sets_test.toml").write_text(PROTOCOL)
    for bad in ("../quad_sets_test", "/etc/passwd", ""):
        with pytest.raises(MovekitError, match="is not a drill name"):
            home.resolve_protocol(bad)
    with pytest.raises(MovekitError, match="not shipped and not in"):
        home.resolve_protocol("no_such_drill")
    assert home.resolve_protocol("core_bracing_hold").emg_channels == ("core",)  # a shipped drill
    p = home.resolve_protocol("quad_sets_test")
    assert home.readiness(p, [], None) == [f"no sensor is paired for {r}: ask your therapist" for r in ("vmo", "vl")]
    thigh = home.PairedDevice(ADDRESS, "generic_emg", "thigh", {"ch1": "vmo", "ch2": "vl"})
    assert home.readiness(p, [thigh], None) == ["record your maximal contraction first (MVC step)"]
    assert home.readiness(p, [thigh], {"mvc_uv": {"vmo": 80.0}}) == ["record your maximal contraction first (MVC step)"]
    assert home.readiness(p, [thigh], {"mvc_uv": {"vmo": 80.0, "vl": 90.0}}) == []
