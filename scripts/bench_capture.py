"""Frame rate of ``movekit capture`` against a bare MediaPipe loop on the same video, in one run.

The bare loop is what anyone would write: ``cv2.VideoCapture.read`` then ``Pose.process``
on the RGB frame. movekit adds timestamps, person following, live angles and the
crash-safe recording, and decodes the next frame in a background thread while the model
runs. Runs alternate (bare, movekit, bare, movekit, ...) so both see the same machine
state; the best runs of each are compared, and the medians (on a shared 2-core machine one
run can be 5-10 % off the next).

Usage: python scripts/bench_capture.py [VIDEO] [--repeats N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import machine  # noqa: E402


def bare_loop(video: str, seconds: float | None = None) -> tuple[float, float]:
    """(end-to-end fps, steady fps): end to end counts from before the model is created."""
    import cv2
    import mediapipe as mp

    t0 = time.perf_counter()
    pose = mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1)
    cap = cv2.VideoCapture(video)
    done = []
    while True:
        ok, frame = cap.read()
        if not ok or (seconds is not None and cap.get(cv2.CAP_PROP_POS_MSEC) / 1000 >= seconds):
            break
        pose.process(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
        done.append(time.perf_counter())
    pose.close()
    return len(done) / (done[-1] - t0), (len(done) - 1) / (done[-1] - done[0])


def movekit_capture(video: str, seconds: float | None = None) -> tuple[float, float]:
    """Same two figures for ``movekit capture`` writing a recording."""
    from movekit.capture.pipeline import capture

    done = []
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        capture(
            video,
            Path(tmp) / "b.mkrec",
            keys=False,
            duration_s=seconds,
            on_frame=lambda n, t: done.append(time.perf_counter()),
        )
        t1 = time.perf_counter()
    return len(done) / (t1 - t0), (len(done) - 1) / (done[-1] - done[0])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("video", nargs="?")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--seconds", type=float, help="only the first S seconds of the video")
    args = ap.parse_args()
    video = args.video
    if video is None:
        from movekit.datasets import fetch

        video = str(fetch("sports2d_demo"))
    bare, mk = [], []
    for _ in range(args.repeats):
        bare.append(bare_loop(video, args.seconds))
        mk.append(movekit_capture(video, args.seconds))
        print(
            f"  bare {bare[-1][0]:5.1f} fps end to end, {bare[-1][1]:5.1f} steady   "
            f"movekit {mk[-1][0]:5.1f} fps end to end, {mk[-1][1]:5.1f} steady",
            flush=True,
        )
    print(f"video: {video}" + (f", first {args.seconds:g} s" if args.seconds else ""))
    print(f"machine: {machine('mediapipe', 'opencv-contrib-python')}")
    for i, what in enumerate(
        ("end to end (model creation to last frame, recording closed)", "steady (first to last frame)")
    ):
        b, m = max(r[i] for r in bare), max(r[i] for r in mk)
        b_med, m_med = statistics.median(r[i] for r in bare), statistics.median(r[i] for r in mk)
        print(
            f"{what}: bare {b:.1f} frames/s, movekit {m:.1f} frames/s, ratio {m / b:.3f}x "
            f"(best of {args.repeats}; medians {b_med:.1f} and {m_med:.1f} frames/s, "
            f"{m_med / b_med:.3f}x; target >= 0.95x)"
        )


if __name__ == "__main__":
    main()
