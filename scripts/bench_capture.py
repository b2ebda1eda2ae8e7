"""``movekit capture`` against a bare MediaPipe loop, whole process and steady state, in one run.

Two figures per clip, side by side:

* **whole process** (what a user waits for): wall time from starting the process to its exit,
  for ``movekit capture CLIP -o REC`` (the installed command, default options: the camera tilt
  measured from the video, person following, live angles, the crash-safe recording) and for a
  bare loop script (``cv2.VideoCapture.read``, RGB conversion, ``mediapipe.solutions.pose.Pose
  .process`` on every frame) run the same way; the ratio is bare time / movekit time (> 1: movekit
  is faster).
* **steady state** (inner): frames per second after the first ten, as each process reports it
  (movekit's capture summary line "processed N frames/s").

Clips: one person (Pose2Sim single-person camera 2, 100 frames; and the same looped to 40 s) and
several people (the Sports2D demo, 230 frames, somebody walks by; and the demo played forward and
backward to 46 s, so the second person crosses six times). The looped clips are composed once
into the cache folder. Runs alternate (bare, movekit, bare, ...) so both see the same machine
state; the best of the repeats is reported beside the median.

Usage: python scripts/bench_capture.py [--clips single,single_long,multi,multi_long] [--repeats N] [--write]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import machine, read_frames, write_section  # noqa: E402

BARE_LOOP = r"""
import json, sys, time
import cv2
import mediapipe as mp
pose = mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1)
cap = cv2.VideoCapture(sys.argv[1])
done = []
while True:
    ok, frame = cap.read()
    if not ok:
        break
    pose.process(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
    done.append(time.perf_counter())
pose.close()
print(json.dumps({"frames": len(done), "steady_fps": (len(done) - 11) / (done[-1] - done[10])}))
"""

CLIPS = {
    # key: (label, pinned clip, how it is composed: None, ("loop", seconds) or ("bounce", seconds))
    "single": ("one person, Pose2Sim cam02, 100 frames", "pose2sim_single_cam02", None),
    "single_long": ("one person, Pose2Sim cam02 looped to 40 s", "pose2sim_single_cam02", ("loop", 40.0)),
    "multi": ("two people, Sports2D demo, 230 frames", "sports2d_demo", None),
    "multi_long": ("two people, demo forward-backward to 46 s", "sports2d_demo", ("bounce", 46.0)),
}


def compose(name: str, how: tuple[str, float] | None) -> Path:
    """The clip's video: the pinned file, or a looped copy of it composed once (cached)."""
    from movekit.datasets import cache_dir, fetch

    src = Path(fetch(name))
    if how is None:
        return src
    mode, seconds = how
    out = cache_dir() / "bench" / f"{src.stem}_{mode}_{seconds:g}s.mkv"
    if out.exists():
        return out
    import cv2

    frames, fps = read_frames(src)
    order = frames if mode == "loop" else frames + frames[-2:0:-1]
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.stem + ".tmp.mkv")
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    for i in range(int(seconds * fps)):
        writer.write(order[i % len(order)])
    writer.release()
    tmp.rename(out)
    return out


def run_bare(video: Path) -> tuple[float, float, int]:
    """(whole-process s, steady frames/s, frames) of the bare loop in its own process."""
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", BARE_LOOP, str(video)], capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    out = json.loads(done.stdout.strip().splitlines()[-1])
    return wall, out["steady_fps"], out["frames"]


def run_movekit(video: Path) -> tuple[float, float, int, float]:
    """(whole-process s, steady frames/s, frames, share of frames with the person found) of the CLI."""
    exe = Path(sys.executable).with_name("movekit")
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        cmd = [str(exe), "capture", str(video), "-o", str(Path(tmp) / "b.mkrec"), "--no-progress"]
        done = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"movekit capture failed:\n{done.stderr[-2000:]}")
    text = done.stdout
    steady = float(re.search(r"processed ([\d.]+) frames/s", text).group(1))
    m = re.search(r"(\d+) frames over .*?person found in (\d+)", text)
    return wall, steady, int(m.group(1)), int(m.group(2)) / int(m.group(1))


def bench_clip(key: str, repeats: int) -> dict:
    label, name, how = CLIPS[key]
    video = compose(name, how)
    bare, mk = [], []
    for _ in range(repeats):
        bare.append(run_bare(video))
        mk.append(run_movekit(video))
        print(
            f"  {key}: bare {bare[-1][0]:6.2f} s whole, {bare[-1][1]:5.1f} fps steady | "
            f"movekit {mk[-1][0]:6.2f} s whole, {mk[-1][1]:5.1f} fps steady, found {100 * mk[-1][3]:.0f} %",
            flush=True,
        )
    return {
        "label": label,
        "frames": mk[0][2],
        "bare_s": min(r[0] for r in bare),
        "mk_s": min(r[0] for r in mk),
        "bare_med_s": statistics.median(r[0] for r in bare),
        "mk_med_s": statistics.median(r[0] for r in mk),
        "bare_fps": max(r[1] for r in bare),
        "mk_fps": max(r[1] for r in mk),
        "found": statistics.median(r[3] for r in mk),
    }


def table(results: dict[str, dict], repeats: int) -> str:
    rows = [
        "| clip | frames | whole process: bare / movekit (s, best; median) | whole-process ratio | "
        "steady state: bare / movekit (frames/s, best) | steady ratio | person found |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results.values():
        rows.append(
            f"| {r['label']} | {r['frames']} | {r['bare_s']:.2f} / {r['mk_s']:.2f} "
            f"({r['bare_med_s']:.2f} / {r['mk_med_s']:.2f}) | **{r['bare_s'] / r['mk_s']:.2f}x** "
            f"({r['bare_med_s'] / r['mk_med_s']:.2f}x) | {r['bare_fps']:.1f} / {r['mk_fps']:.1f} | "
            f"{r['mk_fps'] / r['bare_fps']:.2f}x | {100 * r['found']:.0f} % |"
        )
    return "\n".join(rows) + f"\n\nBest of {repeats} alternating runs (medians in brackets)."


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", default="single,single_long,multi,multi_long")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--write", action="store_true", help="write the table into docs/benchmarks.md (## Capture)")
    args = ap.parse_args()
    keys = [k.strip() for k in args.clips.split(",")]
    unknown = set(keys) - set(CLIPS)
    if unknown:
        ap.error(f"unknown clips {sorted(unknown)}; choose from {sorted(CLIPS)}")
    results = {k: bench_clip(k, args.repeats) for k in keys}
    where = machine("mediapipe", "opencv-contrib-python")
    body = (
        "`python scripts/bench_capture.py` — **whole process** is what a user waits for: start of the "
        "process to its exit (interpreter, imports, model, every frame, recording closed); the ratio is "
        "bare time / movekit time, so above 1.0x movekit finishes first. **Steady state** is the inner "
        "figure: frames per second after the first ten, as each process reports it. The bare loop reads "
        "with OpenCV, converts to RGB and runs MediaPipe Pose on every frame in one thread; movekit "
        "runs its default `movekit capture CLIP -o REC` (camera tilt measured from the video, person "
        "following, live angles, crash-safe recording). 'person found' is movekit's share of frames with "
        "the followed person (whether it is the right person: `scripts/bench_follow.py`).\n\n"
        + table(results, args.repeats)
        + f"\n\nMachine: {where}\n"
    )
    print(body)
    if args.write:
        write_section("Capture", body)


if __name__ == "__main__":
    main()
