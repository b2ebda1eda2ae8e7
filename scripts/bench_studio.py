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
  the source's nominal rate;
* **where the browser's CPU goes**: CPU time of every thread of Chromium's processes (read from
  /proc, grouped as process type/thread name: renderer/CrRendererMain, renderer/DedicatedWorker,
  renderer/ThreadPoolForeg (image decode), gpu-process/VizCompositorTh (compositing), ...) per
  frame drawn, and the page's own decode wait and draw time (``performance.now()``).

Windows alternate between *no page open* and *page open* (A, B, A, B...) so the cost of serving the
page to the capture is a ratio of interleaved runs on the same machine state. ``--before-tree``
measures an earlier version of movekit (a folder holding its ``movekit`` package) in the same run,
alternating studio starts (this, before, then before, this, ...: ``--rounds``).

The studio analyses a camera at most at ``--camera-fps`` frames/s (its default, 30, unless given;
a faster clip such as cam02 at 60 fps is thinned evenly): the table gives the clip's own rate and
the rate analysed.

Usage: python scripts/bench_studio.py [--seconds S] [--repeats N] [--rounds R] [--clips demo,cam02]
       [--camera-fps N] [--before-tree DIR] [--json FILE] [--write]
"""

from __future__ import annotations

import argparse
import json
import os
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


def _start(
    sources: list[str], tmp: Path, tree: Path = ROOT, camera_fps: float | None = None
) -> tuple[subprocess.Popen, str]:
    """``movekit studio`` from ``tree`` (a folder holding a ``movekit`` package: this checkout, or a
    copy of an earlier version to compare with) on a free port, with ``--camera-fps`` when given
    (None: the studio's default); its process and address."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    rate = [] if camera_fps is None else ["--camera-fps", f"{camera_fps:g}"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "movekit.cli", "studio", "--no-browser", "--port", "0",
         "--db", str(tmp / "clinic.sqlite3"), "--recordings", str(tmp / "rec"),
         *[a for s in sources for a in ("--source", s)], *rate],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=tree, env=env,
    )  # fmt: skip
    for line in proc.stdout:
        if line.startswith("movekit studio: "):
            return proc, line.split(": ", 1)[1].strip()
    raise SystemExit("the studio did not start")


def _kind(proc) -> str:
    """Chromium's process type (renderer, gpu-process, utility, ...; the browser process has none)."""
    for arg in proc.cmdline():
        if arg.startswith("--type="):
            return arg.split("=", 1)[1]
    return "browser"


def _thread_cpu(proc) -> dict:
    """CPU time (s) of each thread of ``proc`` by (pid, tid): (process type/thread name, seconds),
    read from /proc (Chromium names its threads: CrRendererMain, Compositor, VizCompositorTh, ...)."""
    tick, out, kind = os.sysconf("SC_CLK_TCK"), {}, _kind(proc)
    for task in Path(f"/proc/{proc.pid}/task").iterdir():
        try:
            name = (task / "comm").read_text().strip()
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # a thread that ended between listing and reading
            continue
        out[(proc.pid, int(task.name))] = (f"{kind}/{name}", (int(fields[11]) + int(fields[12])) / tick)
    return out


def _cpu_s(studio_pid: int) -> tuple[float, dict]:
    """CPU time (user + system, s) used so far by the studio process, and by each thread of the
    browser's processes (``_thread_cpu``)."""
    import psutil

    def used(p) -> float:
        try:
            t = p.cpu_times()
            return t.user + t.system
        except psutil.Error:  # a process that ended between listing and reading
            return 0.0

    threads = {}
    for p in psutil.Process().children(recursive=True):
        try:
            if p.pid != studio_pid and "chrom" in p.name():
                threads.update(_thread_cpu(p))
        except (psutil.Error, OSError):
            continue
    return used(psutil.Process(studio_pid)), threads


def _cpu_used(a: tuple, b: tuple, dt: float) -> tuple[float, float, dict]:
    """Cores used (CPU s per wall s) by the studio, by the browser, and by the browser's threads
    grouped by process type/thread name, between two ``_cpu_s`` samples."""
    groups: dict[str, float] = {}
    for key, (name, t) in b[1].items():
        groups[name] = groups.get(name, 0.0) + (t - a[1].get(key, (name, 0.0))[1]) / dt
    return (b[0] - a[0]) / dt, sum(groups.values()), groups


def _window(base: str, seconds: float, studio_pid: int, page=None) -> dict:
    """Frames processed (and drawn, with their timings) and CPU used during ``seconds``."""
    a = _state(base)
    if page is not None:
        page.goto(base + "live")
        page.wait_for_function("document.getElementById('setup').className !== 'setup pending'", timeout=60000)
        a = _state(base)
    cpu_a, t0 = _cpu_s(studio_pid), time.monotonic()
    time.sleep(seconds)
    b = _state(base)
    cpu_b, dt = _cpu_s(studio_pid), time.monotonic() - t0  # before the page goes: its renderer may end
    lat = b["latencies"][len(a["latencies"]) :]
    if page is not None:
        page.goto("about:blank")
    studio_cores, browser_cores, threads = _cpu_used(cpu_a, cpu_b, dt)
    return {"capture_fps": (b["frames"] - a["frames"]) / dt, "drawn_fps": len(lat) / dt, "latencies": lat,
            "studio_cores": studio_cores, "browser_cores": browser_cores, "threads": threads,
            "offered_fps": (b.get("sent", 0) - a.get("sent", 0)) / dt}  # fmt: skip


def measure(
    clip: str, seconds: float, repeats: int, browser, tree: Path = ROOT, camera_fps: float | None = None
) -> dict:
    """``repeats`` pairs of windows (no page, page open) of the studio from ``tree`` on ``clip``
    (``camera_fps``: the studio's ``--camera-fps``, None: its default; only for this tree)."""
    from movekit.capture.frames import FrameSource, kept_fps
    from movekit.datasets import fetch
    from movekit.studio.live import STUDIO_CAMERA_FPS

    path = fetch(CLIPS[clip])
    src = FrameSource(path)
    fps, size = src.fps, (src.width_px, src.height_px)
    src.close()
    camera_fps = camera_fps if tree == ROOT else None  # an earlier version has no --camera-fps
    limit = (STUDIO_CAMERA_FPS if camera_fps is None else camera_fps) if tree == ROOT else 0.0
    analysed = kept_fps(fps, limit or None)
    with tempfile.TemporaryDirectory() as tmp:
        proc, base = _start([str(path)], Path(tmp), tree, camera_fps)
        try:
            _post(base + "clients", {"code": "BENCH"})
            _post(base + "clients/BENCH/sessions", {"type": "other"})
            _post(base + "sessions/1/live", {"screen": "painful-arc", "camera": "0"})
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            _window(base, 2.0, proc.pid, page)  # warm-up: model loaded, tilt measured, page cached
            alone, served = [], []
            for _ in range(repeats):
                alone.append(_window(base, seconds, proc.pid))
                served.append(_window(base, seconds, proc.pid, page))
        finally:
            proc.terminate()
            proc.wait(30)
    return {"clip": clip, "fps": fps, "analysed_fps": analysed, "size": size, "alone": alone, "served": served,
            "tree": str(tree)}  # fmt: skip


def merge(runs: list[dict]) -> dict:
    """One clip's runs (studio restarts, interleaved with another tree's) as one set of windows."""
    return {**runs[0], "alone": [w for r in runs for w in r["alone"]], "served": [w for r in runs for w in r["served"]]}


def _page_ms(lat: list[dict], key: str) -> float:
    """Median of a page-side timing (ms) the page reported with each drawn frame (NaN if it did not)."""
    v = [x[key] for x in lat if key in x]
    return float(np.median(v)) if v else float("nan")


def _thread_groups(windows: list[dict], drawn_fps: float, top: int = 6) -> list[tuple[str, float]]:
    """The browser threads that cost most: (process type/thread name, median CPU ms per drawn frame)."""
    names = {n for w in windows for n in w["threads"]}
    per = {n: statistics.median(w["threads"].get(n, 0.0) for w in windows) for n in names}
    ranked = sorted(per.items(), key=lambda kv: -kv[1])[:top]
    return [(n, 1000.0 * c / drawn_fps if drawn_fps > 0 else float("nan")) for n, c in ranked]


def summarise(r: dict) -> dict:
    lat = [x for w in r["served"] for x in w["latencies"]]
    f2s = np.array([x["draw_unix_ms"] - x["frame_unix_ms"] for x in lat])
    s2s = np.array([x["draw_unix_ms"] - x["send_unix_ms"] for x in lat])
    ratios = [b["capture_fps"] / a["capture_fps"] for a, b in zip(r["alone"], r["served"]) if a["capture_fps"] > 0]
    return {
        "clip": r["clip"],
        "source": f"{r['size'][0]}x{r['size'][1]} at {r['fps']:g} fps, analysed at {r.get('analysed_fps', r['fps']):.3g}",
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
        "studio_cores_alone": statistics.median(w["studio_cores"] for w in r["alone"]),
        "studio_cores_served": statistics.median(w["studio_cores"] for w in r["served"]),
        "browser_cores": statistics.median(w["browser_cores"] for w in r["served"]),
        "offered_fps": statistics.median(w.get("offered_fps", float("nan")) for w in r["served"]),
        "decode_ms": _page_ms(lat, "decode_ms"),
        "draw_ms": _page_ms(lat, "draw_ms"),
        "threads": _thread_groups(r["served"], statistics.median(w["drawn_fps"] for w in r["served"])),
    }


def table(rows: list[dict]) -> str:
    head = (
        "| clip | source | frames drawn | frame-to-screen median / p95 (ms) | of which release-to-send median (ms) "
        "| send-to-screen median / p95 (ms) "
        "| capture fps, no page / page open | page drew fps | capture fps page open / no page (interleaved) "
        "| cores used: studio no page / page open, browser | browser CPU per drawn frame (ms) |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|\n"
    )
    return head + "\n".join(
        f"| {s['clip']} | {s['source']} | {s['frames_drawn']} | {s['f2s_median_ms']:.0f} / {s['f2s_p95_ms']:.0f} "
        f"| {s['r2s_median_ms']:.0f} | {s['s2s_median_ms']:.0f} / {s['s2s_p95_ms']:.0f} | {s['capture_fps_alone']:.1f} / "
        f"{s['capture_fps_served']:.1f} | {s['drawn_fps']:.1f} | {s['served_over_alone']:.2f} "
        f"({', '.join(f'{x:.2f}' for x in s['ratios'])}) | {s['studio_cores_alone']:.2f} / "
        f"{s['studio_cores_served']:.2f}, {s['browser_cores']:.2f} | {_per_frame_ms(s):.1f} |"
        for s in rows
    )


def _per_frame_ms(s: dict) -> float:
    """Browser CPU (ms) per frame the page drew: cores used / frames drawn per second."""
    return 1000.0 * s["browser_cores"] / s["drawn_fps"] if s["drawn_fps"] > 0 else float("nan")


def breakdown(rows: list[dict]) -> str:
    """Where the browser's CPU goes: page-side timings and the costliest threads, per drawn frame."""
    out = ["| clip | page: decode wait / draw median (ms) | costliest browser threads, CPU ms per drawn frame |",
           "|---|---|---|"]  # fmt: skip
    for s in rows:
        threads = ", ".join(f"{n} {ms:.1f}" for n, ms in s.get("threads", []))
        out.append(f"| {s['clip']} | {s['decode_ms']:.1f} / {s['draw_ms']:.1f} | {threads} |")
    return "\n".join(out)


def _before(paths: list[Path]) -> str:
    """The previous live view's tables (``--json`` files of runs made alternately with this one)."""
    if not paths:
        return ""
    loaded = [json.loads(p.read_text()) for p in paths]
    tables = "\n\n".join(table(x["before"] if isinstance(x, dict) else x) for x in loaded)
    return (
        "\n\nBefore (issue 18's first live view: JPEG encoded in the capture's recording thread at 960 px, "
        "2 frames in flight, the skeleton as JSON lists, the whole side panel rewritten every frame), the same "
        "script run alternately with runs of this version on the same busy machine (the last just before the table above), one table per run:\n\n"
        + tables
    )


def _body(args, text: str, before: str) -> str:
    """The Studio section of docs/benchmarks.md."""
    return (
        "`python scripts/bench_studio.py --write` (headless Chromium through Playwright, the studio in a "
        "subprocess, the painful-arc setup view of a video file released at real-time pace with late frames "
        f"dropped as a webcam would; {args.repeats} interleaved pairs of {args.seconds:g}-s windows with no page "
        "open and with the page open). **Frame-to-screen**: from the moment the frame was released (as a webcam "
        "would deliver it) to the page's `drawImage` plus skeleton (`Date.now()` in the page, same machine "
        "clock), so it includes the pose model, live angles, setup check, the wait for the page, JPEG, "
        "WebSocket and decode; the screen shows it at the next paint (up to one refresh, 17 ms at 60 Hz, not "
        "included). **Release-to-send**: the capture part (model, live angles, the wait for the page's "
        "previous frame). **Send-to-screen**: the web part alone (scaling to the page's canvas, JPEG, "
        "WebSocket, decode, draw). **Cores used**: CPU seconds per second of the studio process and of the "
        "browser's processes (psutil) in the same windows.\n\n"
        "How the page is fed (movekit/studio/live.py, static/live.js): the capture's recording thread only "
        "hands the frame to the hub (a one-frame mailbox: a newer frame replaces a waiting one, never a queue) "
        "and never encodes; the hub's own thread (`movekit-studio-frames`, niceness +5) scales the newest "
        "frame to the canvas box the page reports in device pixels (at most 960 px), encodes the JPEG "
        "(quality 60) and sends it when the page has drawn the previous frame (1 in flight); landmarks travel "
        "as a float32 array beside the JPEG. In the page a worker owns the WebSocket and the canvas (an "
        "OffscreenCanvas): it decodes the JPEG, draws picture and skeleton in one task and acknowledges the "
        "frame, so the page's own thread does nothing per frame; the side panel is updated at most 5 times a "
        "second, and a hidden tab asks for no frames. At most 30 frames/s are offered; while the capture "
        "drops camera frames (falls behind), fewer (`PageRate`: each 1-s window with more than 5% dropped "
        "sets the page's rate to 0.75 x the lower of its rate and the capture's, down to 5 frames/s; a "
        "window without adds 2 frames/s), and the page says when it shows fewer frames than the camera "
        "gives. The studio analyses a camera at most at `--camera-fps` frames/s (default 30; "
        f"{'this run: ' + format(args.camera_fps, 'g') if args.camera_fps is not None else 'this run: the default'}): "
        "a faster camera is asked for that rate or thinned evenly where it is decoded, so a 60-fps clip is "
        "analysed at 30 and the frames it skips are not drops (the recording's `frame_rate` metadata, "
        "`movekit info`).\n\n"
        + text
        + before
        + "\n\nReading it: the page's cost is mostly the browser's (decode, canvas, compositing, layout; "
        "headless Chromium without a GPU here) and grows with every frame drawn; the studio's own "
        "part (scaling + JPEG ~2-3 ms CPU a frame, measured in-process, plus the WebSocket in the event loop) "
        "is small and runs beside the capture's threads, not in them. On 2 cores shared with other "
        "engineers' jobs any CPU the browser takes is taken from the capture, so the interleaved "
        "page-open / no-page ratio stays below 1 on this machine and swings widely between windows; compare "
        "medians of many windows, and the cores used."
        + f"\n\nMachine: {machine('starlette', 'uvicorn', 'playwright')}. The machine was BUSY: up to 8 "
        "engineers share its 2 cores (see the load average above), so absolute rates are lower than "
        "on a dedicated machine and vary from window to window; the interleaved ratio and the alternating "
        "before/after runs are the figures to compare."
    )


def run_all(args, browser) -> dict[str, list[dict]]:
    """Every clip on this tree and, with ``--before-tree``, on the earlier one, in interleaved rounds
    (A B, then B A, ...): the summaries by tree label."""
    trees = {"this": ROOT} | ({"before": args.before_tree.resolve()} if args.before_tree else {})
    out: dict[str, list[dict]] = {label: [] for label in trees}
    for clip in args.clips.split(","):
        runs: dict[str, list[dict]] = {label: [] for label in trees}
        for k in range(args.rounds):
            order = list(trees) if k % 2 == 0 else list(trees)[::-1]
            for label in order:
                runs[label].append(measure(clip, args.seconds, args.repeats, browser, trees[label], args.camera_fps))
        for label in trees:
            out[label].append(summarise(merge(runs[label])))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=6.0, help="length of each measuring window (s)")
    ap.add_argument("--repeats", type=int, default=3, help="pairs of windows (no page, page open) per round")
    ap.add_argument("--rounds", type=int, default=1, help="studio starts per clip and tree (alternating trees)")
    ap.add_argument("--clips", default="demo,cam02")
    ap.add_argument(
        "--camera-fps",
        type=float,
        default=None,
        help="the studio's --camera-fps (default: the studio's own default, 30; 0: the clip's own rate)",
    )
    ap.add_argument(
        "--before-tree",
        type=Path,
        help="a folder holding an earlier movekit package: measured interleaved with this one",
    )
    ap.add_argument("--write", action="store_true", help="write the Studio section of docs/benchmarks.md")
    ap.add_argument("--json", type=Path, help="also save the summaries to this JSON file")
    ap.add_argument(
        "--before",
        type=Path,
        nargs="*",
        default=[],
        help="--json files of the previous live view, run alternately with this one (shown below it)",
    )
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True)
        results = run_all(args, browser)
        browser.close()
    for label, rows in results.items():
        print(f"\n{label}:\n{table(rows)}\n\n{breakdown(rows)}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    if args.write:
        text = table(results["this"]) + "\n\n" + breakdown(results["this"])
        if "before" in results:
            text += (
                f"\n\nThe version in `{args.before_tree}`, measured in the same run (studio starts alternating "
                f"with this one's, {args.rounds} per clip):\n\n"
                + table(results["before"])
                + "\n\n"
                + breakdown(results["before"])
            )
        write_section("Studio", _body(args, text, _before(args.before)))


if __name__ == "__main__":
    main()
