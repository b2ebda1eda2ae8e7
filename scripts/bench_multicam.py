"""Two cameras at once: the frame rate each camera's pose model reaches when both run together.

``movekit capture A B -o SET`` runs one pose model per camera in its own thread. Live, each
camera must keep up with the frame rate it is given; this measures, on this machine, the steady
frames per second each camera reached (inner figure: after its first ten frames) and the whole
process (start to exit: what a user waits for, as frames of all cameras per second), on two real
views of the Pose2Sim rig looped to 20 s (no real-time pacing: as fast as the models run). A
camera keeps up live at any rate up to its steady figure; the issue's target is 15 frames/s
per camera with two cameras.

With ``--model-complexity 2`` both cameras run MediaPipe's heavy model (the one that makes two
cameras agree best, docs/validity-other.md), written as a section of its own: it is for video
files captured offline, and this says how far from live it is.

Usage: python scripts/bench_multicam.py [--seconds 20] [--repeats 2] [--model-complexity 1|2] [--write]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_capture import compose  # noqa: E402
from benchlib import machine, write_section  # noqa: E402


def run_set(videos: list[Path], model_complexity: int = 1) -> tuple[float, list[float], list[int]]:
    """(whole-process s, steady frames/s per camera, frames per camera) of one two-camera capture."""
    exe = Path(sys.executable).with_name("movekit")
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        done = subprocess.run(
            [
                str(exe),
                "capture",
                *map(str, videos),
                "-o",
                str(Path(tmp) / "set"),
                "--no-progress",
                "--model-complexity",
                str(model_complexity),
            ],  # fmt: skip
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
        )
        wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"movekit capture failed:\n{done.stderr[-2000:]}")
    fps = [float(x) for x in re.findall(r"processed ([\d.]+) frames/s", done.stdout)]
    frames = [int(x) for x in re.findall(r"(\d+) frames over", done.stdout)]
    return wall, fps, frames


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--model-complexity", type=int, choices=(1, 2), default=1, help="1 full (default), 2 heavy")
    ap.add_argument("--write", action="store_true", help="write the result into docs/benchmarks.md")
    args = ap.parse_args()
    heavy = args.model_complexity == 2
    videos = [compose(f"pose2sim_single_cam0{i}", ("loop", args.seconds)) for i in (2, 3)]
    runs = []
    for _ in range(args.repeats):
        runs.append(run_set(videos, args.model_complexity))
        wall, fps, frames = runs[-1]
        print(f"  whole {wall:.1f} s, steady per camera {', '.join(f'{f:.1f}' for f in fps)} frames/s", flush=True)
    best = min(runs, key=lambda r: r[0])
    wall, fps, frames = best
    body = (
        "`python scripts/bench_multicam.py` — two real views (Pose2Sim rig cam02 and cam03, 60 fps, "
        f"looped to {args.seconds:g} s) captured at once by `movekit capture A B -o SET`, one pose model per "
        "camera in its own thread, no real-time pacing"
        + (", MediaPipe's heavy model (`--model-complexity 2`; fetched from the npm registry)" if heavy else "")
        + ".\n\n"
        "| figure | value |\n|---|---|\n"
        f"| steady state per camera (inner: frames/s after its first ten) | "
        f"{' and '.join(f'{f:.1f}' for f in fps)} |\n"
        f"| whole process (start to exit, {sum(frames)} frames of both cameras) | {wall:.1f} s = "
        f"{sum(frames) / wall:.1f} frames/s in all, {sum(frames) / wall / 2:.1f} per camera |\n"
        f"| live target: 15 frames/s per camera with two cameras | "
        f"{'met' if min(fps) >= 15 else 'not met'} (slowest camera {min(fps):.1f}) |\n\n"
        f"Best of {args.repeats} runs (by whole-process time).\n\nMachine: {machine('mediapipe')}\n"
    )
    print(body)
    if args.write:
        write_section("Two cameras at once" + (", heavy pose model" if heavy else ""), body)


if __name__ == "__main__":
    main()
