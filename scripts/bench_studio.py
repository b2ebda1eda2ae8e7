"""movekit studio: frame-to-screen latency and the frame rate the page reaches, in headless Chromium.

The real app (``movekit studio`` in a subprocess) runs the setup view of the painful arc on a video
file standing in for a webcam (frames released at real-time pace, so each frame's release time is
the moment a camera would have delivered it). Each frame message carries the frame's release time
(session clock -> Unix ms) and the server's send time; the page reports back when it received and
drew it (``Date.now()`` after ``drawImage`` and the skeleton). Same machine, same wall clock:

* **frame-to-screen** = drawn - released (pose model, live angles, setup check, JPEG, WebSocket,
  decode, draw);
* **send-to-screen** = drawn - sent (the web part alone);
* **frame rates**: frames the capture processed per second, frames the page drew per second, and
  the source's nominal rate.

Windows alternate between *no page open* and *page open* (A, B, A, B...) so the cost of serving the
page to the capture is a ratio of interleaved runs on the same machine state.

Usage: python scripts/bench_studio.py [--seconds S] [--repeats N] [--clips demo,cam02] [--write]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import machine, write_section  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CLIPS = {"demo": "sports2d_demo", "cam02": "pose2sim_single_cam02"}


def _post(url: str, data: dict) -> None:
    req = urllib.request.Request(url, data=urllib.parse.urlencode(data).encode())
    urllib.request.urlopen(req, timeout=30).read()


def _state(base: str) -> dict:
    with urllib.request.urlopen(base + "api/state?latencies", timeout=30) as r:
        return json.loads(r.read())


def _start(sources: list[str], tmp: Path) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "movekit.cli", "studio", "--no-browser", "--port", "0",
         "--db", str(tmp / "clinic.sqlite3"), "--recordings", str(tmp / "rec"),
         *[a for s in sources for a in ("--source", s)]],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT,
    )  # fmt: skip
    for line in proc.stdout:
        if line.startswith("movekit studio: "):
            return proc, line.split(": ", 1)[1].strip()
    raise SystemExit("the studio did not start")


def _window(base: str, seconds: float, page=None) -> dict:
    """Frames processed (and drawn, with their timings) during ``seconds``."""
    a = _state(base)
    if page is not None:
        page.goto(base + "live")
        page.wait_for_function("document.getElementById('setup').className !== 'setup pending'", timeout=60000)
        a = _state(base)
    t0 = time.monotonic()
    time.sleep(seconds)
    b = _state(base)
    dt = time.monotonic() - t0
    lat = b["latencies"][len(a["latencies"]) :]
    if page is not None:
        page.goto("about:blank")
    return {"capture_fps": (b["frames"] - a["frames"]) / dt, "drawn_fps": len(lat) / dt, "latencies": lat}


def measure(clip: str, seconds: float, repeats: int, browser) -> dict:
    from movekit.capture.frames import FrameSource
    from movekit.datasets import fetch

    path = fetch(CLIPS[clip])
    src = FrameSource(path)
    fps, size = src.fps, (src.width_px, src.height_px)
    src.close()
    with tempfile.TemporaryDirectory() as tmp:
        proc, base = _start([str(path)], Path(tmp))
        try:
            _post(base + "clients", {"code": "BENCH"})
            _post(base + "clients/BENCH/sessions", {"type": "other"})
            _post(base + "sessions/1/live", {"screen": "painful-arc", "camera": "0"})
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            _window(base, 2.0, page)  # warm-up: model loaded, tilt measured, page cached
            alone, served = [], []
            for _ in range(repeats):
                alone.append(_window(base, seconds))
                served.append(_window(base, seconds, page))
        finally:
            proc.terminate()
            proc.wait(30)
    return {"clip": clip, "fps": fps, "size": size, "alone": alone, "served": served}


def summarise(r: dict) -> dict:
    lat = [x for w in r["served"] for x in w["latencies"]]
    f2s = np.array([x["draw_unix_ms"] - x["frame_unix_ms"] for x in lat])
    s2s = np.array([x["draw_unix_ms"] - x["send_unix_ms"] for x in lat])
    ratios = [b["capture_fps"] / a["capture_fps"] for a, b in zip(r["alone"], r["served"]) if a["capture_fps"] > 0]
    return {
        "clip": r["clip"],
        "source": f"{r['size'][0]}x{r['size'][1]} at {r['fps']:g} fps",
        "frames_drawn": len(lat),
        "f2s_median_ms": float(np.median(f2s)) if len(f2s) else float("nan"),
        "f2s_p95_ms": float(np.percentile(f2s, 95)) if len(f2s) else float("nan"),
        "r2s_median_ms": float(np.median(f2s - s2s)) if len(s2s) else float("nan"),
        "s2s_median_ms": float(np.median(s2s)) if len(s2s) else float("nan"),
        "s2s_p95_ms": float(np.percentile(s2s, 95)) if len(s2s) else float("nan"),
        "capture_fps_alone": statistics.median(w["capture_fps"] for w in r["alone"]),
        "capture_fps_served": statistics.median(w["capture_fps"] for w in r["served"]),
        "drawn_fps": statistics.median(w["drawn_fps"] for w in r["served"]),
        "served_over_alone": statistics.median(ratios) if ratios else float("nan"),
        "ratios": ratios,
    }


def table(rows: list[dict]) -> str:
    head = (
        "| clip | source | frames drawn | frame-to-screen median / p95 (ms) | of which release-to-send median (ms) "
        "| send-to-screen median / p95 (ms) "
        "| capture fps, no page / page open | page drew fps | capture fps page open / no page (interleaved) |\n"
        "|---|---|---|---|---|---|---|---|---|\n"
    )
    return head + "\n".join(
        f"| {s['clip']} | {s['source']} | {s['frames_drawn']} | {s['f2s_median_ms']:.0f} / {s['f2s_p95_ms']:.0f} "
        f"| {s['r2s_median_ms']:.0f} | {s['s2s_median_ms']:.0f} / {s['s2s_p95_ms']:.0f} | {s['capture_fps_alone']:.1f} / "
        f"{s['capture_fps_served']:.1f} | {s['drawn_fps']:.1f} | {s['served_over_alone']:.2f} "
        f"({', '.join(f'{x:.2f}' for x in s['ratios'])}) |"
        for s in rows
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=6.0, help="length of each measuring window (s)")
    ap.add_argument("--repeats", type=int, default=3, help="pairs of windows (no page, page open)")
    ap.add_argument("--clips", default="demo,cam02")
    ap.add_argument("--write", action="store_true", help="write the Studio section of docs/benchmarks.md")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True)
        results = [summarise(measure(c, args.seconds, args.repeats, browser)) for c in args.clips.split(",")]
        browser.close()
    text = table(results)
    print(text)
    if args.write:
        body = (
            "`python scripts/bench_studio.py --write` (headless Chromium through Playwright, the studio in a "
            "subprocess, the painful-arc setup view of a video file released at real-time pace; "
            f"{args.repeats} interleaved pairs of {args.seconds:g}-s windows with no page open and with the page "
            "open). Frame-to-screen: from the moment the frame was released (as a webcam would deliver it) to "
            "the page's `drawImage` plus skeleton, so it includes the pose model; send-to-screen: the web part "
            "alone (JPEG at 960 px long side, WebSocket, decode, draw). The page draws at most 2 frames in "
            "flight and the rest are dropped for it (never queued), so a slow page lowers the drawn rate, not "
            "the latency.\n\n"
            + text
            + "\n\nReading it: the web part (send-to-screen) stays within ~20-30 ms median, but frame-to-screen is "
            "far over the issue's 150 ms because the capture processes fewer frames per second than the video "
            "releases on this machine, and a video file's frames queue up (every frame is analysed) where a "
            "webcam's would be dropped (movekit.capture.frames drops the oldest camera frame to stay live): "
            "the release-to-send column is that backlog, growing through each pass of the clip. Serving the page "
            "costs the capture the interleaved ratio above (the headless browser decodes and draws on the same "
            "2 cores)."
            + f"\n\nMachine: {machine('starlette', 'uvicorn', 'playwright')}. The machine was BUSY: up to 8 "
            "engineers share its 2 cores, so absolute rates are lower than on a dedicated machine; the "
            "interleaved ratio is the figure to compare."
        )
        write_section("Studio", body)


if __name__ == "__main__":
    main()
