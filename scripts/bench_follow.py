"""Person following on real multi-person footage: coverage against a reference that is not the
follower, and speed against the bare MediaPipe loop, whole process, runs interleaved.

For each clip:

* **reference**: where the client's mid-hip is in each frame and whether a person looking at the
  video finds him (see :data:`LABELS` for how each was made: hand-labelled keyframes read off
  exported frames, or, for the composed crossing clips, the client's track from his own clip
  alone and the share of his landmarks the walker covers, known from how the clip is composed);
* **follower**: the frames read with OpenCV, converted to RGB, and given to
  :class:`movekit.capture.follow.PersonFollower` (``process``) with the MediaPipe backend, in a
  process of its own; its mid-hip per frame is saved and scored: *client* when within the clip's
  tolerance of the reference, *wrong* when returned anywhere else (the worst outcome: a wrong
  number shown as valid);
* **bare**: OpenCV read, RGB, ``mediapipe.solutions.pose.Pose.process`` on every frame, in a
  process of its own (what the issue compares with); the speed ratio is bare wall time / follower
  wall time (start of the process to its exit; above 1.0x the follower finishes first).

Runs alternate (bare, follower, bare, ...), so both see the same machine state; the best of the
repeats is reported with the median in brackets. Composed clips are cached in movekit's data cache.

Usage: python scripts/bench_follow.py [--clips demo,demo_long,multi_cam01,multi_cam02,crossing,crossing_long]
       [--repeats N] [--baseline OLD_FOLLOW_PY] [--notes NOTES_MD] [--write]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from benchlib import read_frames  # noqa: E402

#: How each reference was made (written into docs/benchmarks.md with the table).
LABELS = {
    "sports2d_demo": (
        "hand-labelled: the man's mid-hip read off exported frames (every 10th frame with a 50 px "
        "grid; every 5th during his jump, frames 150-229) and interpolated between; he is on the box "
        "for frames 0-154, somersaults off it in the sun's glare (155-189) and walks right after "
        "landing; the woman walks right to left 40-205 and is at least 300 px from him in every "
        "frame. Frames 166-184 (he is a blur in the glare) are left out of the visible count, and a "
        "skeleton there counts as the wrong person only within 200 px of the woman's labelled track; "
        "tolerance 200 px (his torso is about 90-120 px)."
    ),
    "pose2sim_multi": (
        "hand-labelled: the man's mid-hip (top of his shorts) read off every 10th exported frame "
        "with a 50 px grid and interpolated between; he is visible in all 100 frames; the woman and "
        "the man standing at the back are at least 300 px from him. Tolerance 150 px (his torso is "
        "about 200 px). The follower is given his torso point of frame 0 (``--person X,Y``), as the "
        "woman's box is the larger."
    ),
    "crossing": (
        "composed (tests/test_follow.py ``_crossing_clip``): the client of pose2sim_single_cam02 "
        "with the woman of pose2sim_multi_cam01, cut out and scaled to his size, walking across "
        "in front of him; his track is the bare model's on his clip alone, and he counts as visible "
        "where she covers at most a fifth of his landmarks. Tolerance 100 px (his torso is about "
        "150 px)."
    ),
}

# The client's mid-hip (x, y px) at keyframes: frame -> (x, y); see LABELS for how they were read.
DEMO_KEYS = {
    0: (630, 290), 100: (620, 290), 110: (640, 290), 120: (665, 290), 130: (710, 290), 140: (750, 290),
    150: (740, 260), 155: (770, 255), 160: (810, 280), 165: (880, 255), 170: (850, 255), 175: (890, 225),
    180: (870, 325), 185: (1000, 500), 190: (1050, 705), 195: (1090, 755), 200: (1130, 780),
    210: (1320, 775), 220: (1440, 705), 225: (1545, 700), 229: (1600, 700),
}  # fmt: skip
DEMO_UNSEEN = range(166, 185)
# the woman's mid-hip, read the same way (she enters on the right at frame 40 and leaves on the left)
DEMO_OTHER_KEYS = {
    40: (1506, 700), 50: (1495, 700), 60: (1400, 700), 70: (1310, 700), 80: (1215, 700), 90: (1110, 700),
    100: (1030, 700), 110: (925, 700), 120: (830, 700), 130: (725, 700), 140: (630, 700), 150: (520, 700),
    160: (420, 700), 170: (307, 700), 180: (190, 700), 190: (100, 700), 200: (0, 700),
}  # fmt: skip
MULTI_KEYS = {
    "pose2sim_multi_cam01": {
        0: (416, 685), 10: (426, 685), 20: (440, 720), 30: (409, 720), 40: (447, 737), 50: (433, 737),
        60: (454, 754), 70: (475, 754), 80: (513, 789), 90: (551, 789), 99: (570, 789),
    },
    "pose2sim_multi_cam02": {
        0: (572, 720), 10: (565, 720), 20: (527, 737), 30: (495, 737), 40: (482, 754), 50: (520, 702),
        60: (540, 730), 70: (509, 730), 80: (513, 765), 90: (516, 765), 99: (516, 765),
    },
}  # fmt: skip
#: torso points of the man in frame 0 (px), given to the follower as ``--person``
MULTI_CHOICE = {"pose2sim_multi_cam01": (416, 600), "pose2sim_multi_cam02": (572, 640)}


@dataclass
class Reference:
    """The client's mid-hip per frame (px, (n, 2)), whether a person finds him (n,), the tolerance
    (px), how the reference was made, and optionally another person's mid-hip per frame (px,
    (n, 2), NaN when out of view): in frames where the client is not findable, a skeleton counts as
    the wrong person only when within the tolerance of that person (else it may be the client drawn
    badly: the demo's man upside down mid-somersault, hips drawn at his head)."""

    hips_px: np.ndarray
    visible: np.ndarray
    tolerance_px: float
    how: str
    other_px: np.ndarray | None = None


def _interpolate(keys: dict[int, tuple[float, float]], n: int) -> np.ndarray:
    frames = np.array(sorted(keys))
    xy = np.array([keys[f] for f in frames], np.float64)
    i = np.arange(n)
    return np.stack([np.interp(i, frames, xy[:, 0]), np.interp(i, frames, xy[:, 1])], axis=1)


def _bounce(n_src: int, n_out: int) -> np.ndarray:
    """Source frame of each output frame of a clip played forward then backward, repeated."""
    order = list(range(n_src)) + list(range(n_src - 2, 0, -1))
    return np.array([order[i % len(order)] for i in range(n_out)])


def _write(frames: list, order: np.ndarray, fps: float, out: Path) -> Path:
    import cv2

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.stem + ".tmp.mkv")
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    for i in order:
        writer.write(frames[i])
    writer.release()
    tmp.rename(out)
    return out


def _bench_dir() -> Path:
    from movekit.datasets import cache_dir

    return cache_dir() / "bench_follow"


def demo_clip(seconds: float | None, reverse: bool = False) -> tuple[Path, Reference, object]:
    """The Sports2D demo (230 frames), or played forward and backward to ``seconds``, or (``reverse``)
    played backward once: the man walks in reverse from the right, is lost in the glare of his
    somersault and must be found again on his box, backlit, while the woman walks by below him."""
    from movekit.datasets import fetch

    src = Path(fetch("sports2d_demo"))
    n = 230
    order = np.arange(n) if seconds is None else _bounce(n, int(seconds * 30))
    order = order[::-1] if reverse else order
    video = src
    if seconds is not None or reverse:
        video = _bench_dir() / ("demo_reverse.mkv" if reverse else f"demo_bounce_{seconds:g}s.mkv")
        if not video.exists():
            frames, fps = read_frames(src)
            _write(frames, order, fps, video)
    hips = _interpolate(DEMO_KEYS, n)[order]
    her = _interpolate(DEMO_OTHER_KEYS, n)
    her[(np.arange(n) < 40) | (np.arange(n) > 200)] = np.nan
    visible = ~np.isin(order, DEMO_UNSEEN)
    return video, Reference(hips, visible, 200.0, LABELS["sports2d_demo"], her[order]), "largest"


def multi_clip(name: str) -> tuple[Path, Reference, object]:
    """A view of Pose2Sim's multi-person trial (100 frames at 60 fps)."""
    from movekit.datasets import fetch

    hips = _interpolate(MULTI_KEYS[name], 100)
    ref = Reference(hips, np.ones(100, bool), 150.0, LABELS["pose2sim_multi"])
    return Path(fetch(name)), ref, MULTI_CHOICE[name]


def crossing_clip(seconds: float | None) -> tuple[Path, Reference, object]:
    """The tests' crossing clip (100 frames at 60 fps, she walks left to right in front of him), or
    played forward and backward to ``seconds`` (she crosses him every 1.65 s)."""
    sys.path.insert(0, str(ROOT / "tests"))
    from test_follow import _crossing_clip

    base = _bench_dir() / "crossing.mkv"
    meta = base.with_suffix(".npz")
    hips = _alone_landmarks((1088, 1920))[:, 23:25].mean(axis=1)
    if not meta.exists():
        tmp = base.with_name("crossing.tmp.mp4")
        base.parent.mkdir(parents=True, exist_ok=True)
        _, covered = _crossing_clip(tmp, client_px=_alone_landmarks((1088, 1920)))
        frames, fps = read_frames(tmp)
        _write(frames, np.arange(len(frames)), fps, base)
        tmp.unlink()
        np.savez(meta, covered=covered)
    covered = np.load(meta)["covered"]
    order = np.arange(100) if seconds is None else _bounce(100, int(seconds * 60))
    video = base
    if seconds is not None:
        video = _bench_dir() / f"crossing_bounce_{seconds:g}s.mkv"
        if not video.exists():
            frames, fps = read_frames(base)
            _write(frames, order, fps, video)
    ref = Reference(hips[order], covered[order] <= 0.2, 100.0, LABELS["crossing"])
    return video, ref, "largest"


def _alone_landmarks(size: tuple[int, int]) -> np.ndarray:
    """The bare model's 33 landmarks (px) on pose2sim_single_cam02 resized to ``size``."""
    cached = _bench_dir() / f"single_cam02_landmarks_{size[0]}x{size[1]}.npy"
    if cached.exists():
        return np.load(cached)
    import cv2
    import mediapipe as mp

    from movekit.datasets import fetch

    frames, _ = read_frames(Path(fetch("pose2sim_single_cam02")))
    pose = mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1)
    out = np.full((len(frames), 33, 2), np.nan)
    for i, f in enumerate(frames):
        res = pose.process(cv2.cvtColor(cv2.resize(f, size), cv2.COLOR_BGR2RGB))
        if res.pose_landmarks is not None:
            out[i] = [(p.x * size[0], p.y * size[1]) for p in res.pose_landmarks.landmark]
    pose.close()
    cached.parent.mkdir(parents=True, exist_ok=True)
    np.save(cached, out)
    return out


CLIPS = {
    "demo": ("Sports2D demo, 230 frames, a woman walks by", lambda: demo_clip(None)),
    "demo_long": ("the demo forward-backward to 46 s (she passes six times)", lambda: demo_clip(46.0)),
    "demo_reverse": ("the demo played backward (found again on his box)", lambda: demo_clip(None, reverse=True)),
    "multi_cam01": ("Pose2Sim multi-person, camera 1 (100 frames)", lambda: multi_clip("pose2sim_multi_cam01")),
    "multi_cam02": ("Pose2Sim multi-person, camera 2 (100 frames)", lambda: multi_clip("pose2sim_multi_cam02")),
    "crossing": ("composed crossing, she walks in front of him (100 frames)", lambda: crossing_clip(None)),
    "crossing_long": ("the crossing forward-backward to 10 s (six crossings)", lambda: crossing_clip(10.0)),
}


def score(hips_px: np.ndarray, ref: Reference) -> dict:
    """Frames, visible frames, frames with the client returned (within the tolerance), frames with
    somebody else returned (anywhere else), of a follower's mid-hip per frame."""
    n = min(len(hips_px), len(ref.hips_px))
    hips, want = hips_px[:n], ref.hips_px[:n]
    found = np.isfinite(hips[:, 0])
    off = np.linalg.norm(np.where(found[:, None], hips, 0) - want, axis=1)
    right = found & (off <= ref.tolerance_px)
    vis = ref.visible[:n]
    near_other = np.zeros(n, bool)
    if ref.other_px is not None:
        near_other = found & (
            np.linalg.norm(np.nan_to_num(hips - ref.other_px[:n], nan=1e9), axis=1) <= ref.tolerance_px
        )
    wrong = found & ~right & (vis | near_other)
    return {
        "frames": int(n),
        "visible": int(vis.sum()),
        "client": int((right & vis).sum()),
        "wrong": int(wrong.sum()),
        "coverage": float((right & vis).sum() / max(vis.sum(), 1)),
        "wrong_frames": np.flatnonzero(wrong).tolist()[:20],
    }


# --- the two processes -----------------------------------------------------------------------------


def worker_bare(video: str) -> None:
    """OpenCV read, RGB, MediaPipe Pose on every frame (what the issue compares with)."""
    import cv2
    import mediapipe as mp

    pose = mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1)
    cap = cv2.VideoCapture(video)
    n = 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        pose.process(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
        n += 1
    pose.close()
    print(json.dumps({"frames": n}))


def _follow_module(path: str | None):
    """:mod:`movekit.capture.follow`, or the same module read from ``path`` (an earlier version, for
    a before/after comparison in the same interleaved runs)."""
    if not path:
        import movekit.capture.follow as module

        return module
    import importlib.util

    spec = importlib.util.spec_from_file_location("movekit_follow_baseline", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


def worker_follow(video: str, choose: str, out: str, module_path: str | None = None) -> None:
    """The same loop with the person follower (its counts of model runs printed, mid-hips saved)."""
    import cv2

    from movekit.capture.pose import MediaPipePose

    follow = _follow_module(module_path)
    PersonFollower, parse_person = follow.PersonFollower, follow.parse_person

    class Counting(MediaPipePose):
        runs = looks = 0

        def process(self, image_bgr, image_rgb=None):
            self.runs += 1
            return super().process(image_bgr, image_rgb)

        def detect_people(self, image_bgr):
            self.looks += 1
            return super().detect_people(image_bgr)

    backend, follower = Counting(), PersonFollower(choose=parse_person(choose))
    cap = cv2.VideoCapture(video)
    fps = cap.get(cv2.CAP_PROP_FPS)
    hips = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        est = follower.process(backend, frame, len(hips) / fps, cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))
        hips.append(est.image_px[[23, 24], :2].mean(axis=0))
    follower.close()
    backend.close()
    np.save(out, np.array(hips, np.float64))
    print(json.dumps({"frames": len(hips), "model_runs": backend.runs, "detector_runs": backend.looks}))


def _run(args: list[str]) -> tuple[float, dict]:
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"{args[0]} failed:\n{done.stderr[-3000:]}")
    return wall, json.loads(done.stdout.strip().splitlines()[-1])


def _follow_run(key: str, video: Path, choice: str, ref: Reference, out: str, module_path: str | None, bare_s: float):
    """One follower process; its wall time (s), counts and score, printed."""
    args = ["--worker", "follow", str(video), choice, out] + ([module_path] if module_path else [])
    wall, counts = _run(args)
    s = score(np.load(out), ref)
    print(
        f"  {key} {'baseline' if module_path else 'follower'}: {wall:6.2f} s ({bare_s / wall:.2f}x of bare "
        f"{bare_s:.2f} s), model {counts['model_runs']}, detector {counts['detector_runs']} | client "
        f"{s['client']}/{s['visible']} visible, wrong {s['wrong']} {s['wrong_frames'][:8]}",
        flush=True,
    )
    return wall, counts, s


def bench_clip(key: str, repeats: int, baseline: str | None = None) -> dict:
    """Bare loop, follower and (with ``baseline``, a path to an earlier follow.py) the earlier
    follower, alternating, ``repeats`` times each."""
    label, make = CLIPS[key]
    video, ref, choose = make()
    choice = choose if isinstance(choose, str) else f"{choose[0]},{choose[1]}"
    runs = {"bare": [], "follow": [], "baseline": []}
    kept = {}
    with tempfile.TemporaryDirectory() as tmp:
        out = str(Path(tmp) / "hips.npy")
        for _ in range(repeats):
            runs["bare"].append(_run(["--worker", "bare", str(video)])[0])
            for name, path in (("follow", None), ("baseline", baseline)):
                if name == "follow" or baseline:
                    wall, counts, s = _follow_run(key, video, choice, ref, out, path, runs["bare"][-1])
                    runs[name].append(wall)
                    kept[name] = (counts, s)
    return {"label": label, "runs": runs, "kept": kept, "ref": ref}


def table(results: dict[str, dict], repeats: int, which: str = "follow") -> str:
    """Markdown table of ``which`` ("follow" or "baseline") against the bare loop."""
    rows = [
        "| clip | frames | client visible (reference) | follower: client / wrong person | "
        "model / detector runs | whole process bare / follower (s, best; median) | ratio (best; median) |",
        "|---|---:|---:|---:|---:|---|---|",
    ]
    for r in results.values():
        (c, s), bare, fol = r["kept"][which], r["runs"]["bare"], r["runs"][which]
        best = min(bare) / min(fol)
        med = statistics.median(bare) / statistics.median(fol)
        rows.append(
            f"| {r['label']} | {s['frames']} | {s['visible']} | {s['client']} ({100 * s['coverage']:.0f} %) / "
            f"**{s['wrong']}** | {c['model_runs']} / {c['detector_runs']} | {min(bare):.2f} / "
            f"{min(fol):.2f} ({statistics.median(bare):.2f} / {statistics.median(fol):.2f})"
            f" | **{best:.2f}x** ({med:.2f}x) |"
        )
    return "\n".join(rows) + f"\n\nBest of {repeats} alternating runs (medians in brackets)."


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", default=",".join(CLIPS))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument(
        "--baseline",
        metavar="FOLLOW_PY",
        help="an earlier movekit/capture/follow.py (e.g. from `git show HEAD:movekit/capture/follow.py`), "
        "run in the same alternation (bare, follower, baseline, ...) for a before/after table",
    )
    ap.add_argument("--notes", metavar="MD", help="a markdown file appended to the section (what changed)")
    ap.add_argument("--write", action="store_true", help="write docs/benchmarks.md (## Person following)")
    args = ap.parse_args()
    keys = [k.strip() for k in args.clips.split(",")]
    unknown = set(keys) - set(CLIPS)
    if unknown:
        ap.error(f"unknown clips {sorted(unknown)}; choose from {sorted(CLIPS)}")
    if args.baseline and not Path(args.baseline).is_file():
        ap.error(f"--baseline {args.baseline}: no such file")
    results = {k: bench_clip(k, args.repeats, args.baseline) for k in keys}
    from benchlib import machine, write_section

    refs = "\n".join(f"- {name}: {how}" for name, how in LABELS.items())
    body = (
        "`python scripts/bench_follow.py` — the person follower (`movekit.capture.follow`) on real "
        "footage with several people. *client*: frames where it returned the client (mid-hip within the "
        "clip's tolerance of the reference) among the frames where a person looking at the video finds "
        "him; *wrong person*: frames where it returned a skeleton anywhere else (the worst outcome). "
        "Speed: the bare loop (OpenCV read, RGB, MediaPipe Pose on every frame) against the same loop "
        "with the follower, each a whole process, runs alternating; the ratio is bare / follower time.\n\n"
        + table(results, args.repeats)
        + (
            "\n\nBefore (the previous follow.py, given as `--baseline`, in the same alternating runs: bare, "
            "follower, before, ...):\n\n" + table(results, args.repeats, "baseline")
            if args.baseline
            else ""
        )
        + f"\n\nReferences:\n{refs}\n\nMachine: {machine('mediapipe', 'opencv-contrib-python')}\n"
        + ("\n" + Path(args.notes).read_text() if args.notes else "")
    )
    print(body)
    if args.write:
        write_section("Person following", body)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--worker":
        if sys.argv[2] == "bare":
            worker_bare(sys.argv[3])
        else:
            worker_follow(*sys.argv[3:7])
    else:
        main()
