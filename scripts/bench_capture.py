"""Frame rate of ``movekit capture`` against a bare MediaPipe loop on the same video, in one run.

The bare loop is what anyone would write: ``cv2.VideoCapture.read`` then ``Pose.process``
on the RGB frame. movekit adds timestamps, person following, live angles and the
crash-safe recording, and decodes the next frame in a background thread while the model
runs. Runs alternate (bare, movekit, bare, movekit, ...) so both see the same machine
state; the best run of each is compared.

Usage: python scripts/bench_capture.py [VIDEO] [--repeats N]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import machine  # noqa: E402


def bare_loop(video: str) -> tuple[int, float]:
    import cv2
    import mediapipe as mp

    pose = mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1)
    cap = cv2.VideoCapture(video)
    n = 0
    t0 = time.perf_counter()
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        pose.process(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
        n += 1
    elapsed = time.perf_counter() - t0
    pose.close()
    return n, elapsed


def movekit_capture(video: str) -> tuple[int, float]:
    from movekit.capture.pipeline import capture

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        s = capture(video, Path(tmp) / "b.mkrec", keys=False)
        return s.frames, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("video", nargs="?")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    video = args.video
    if video is None:
        from movekit.datasets import fetch

        video = str(fetch("sports2d_demo"))
    bare, mk = [], []
    for _ in range(args.repeats):
        n, t = bare_loop(video)
        bare.append(n / t)
        n2, t2 = movekit_capture(video)
        mk.append(n2 / t2)
        print(f"  bare {n} frames {n / t:6.1f} fps   movekit {n2} frames {n2 / t2:6.1f} fps", flush=True)
    print(f"video: {video}")
    print(f"machine: {machine('mediapipe', 'opencv-contrib-python')}")
    print(f"bare MediaPipe loop: {max(bare):.1f} frames/s (best of {args.repeats})")
    print(f"movekit capture:     {max(mk):.1f} frames/s (best of {args.repeats})")
    print(f"ratio movekit / bare: {max(mk) / max(bare):.3f}x (target >= 0.95x)")


if __name__ == "__main__":
    main()
