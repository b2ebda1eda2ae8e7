"""``movekit replay REC [--speed 1|max]``."""

from __future__ import annotations

import argparse
import sys

from movekit.outputs import CSV, add_overwrite_argument, atomic_path, check_output


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "replay",
        help="replay a recording through the live code path",
        description="Feed the stored pose through the same per-frame code as a live capture and check "
        "that it reproduces the live run's outputs bit for bit.",
    )
    p.add_argument("recording")
    p.add_argument("--speed", default="max", help="1 = real time, 2 = twice as fast, max = as fast as possible")
    p.add_argument("--csv", metavar="OUT.csv", help="write the recomputed live angles")
    p.add_argument(
        "--lsl",
        action="store_true",
        help="publish the recording's streams and events as Lab "
        "Streaming Layer outlets at their recorded times (real time unless --speed says otherwise; "
        "pip install movekit[lsl])",
    )
    add_overwrite_argument(p, "CSV files")
    p.set_defaults(func=run)


def parse_speed(text: str) -> float | None:
    from movekit.errors import MovekitError

    if text == "max":
        return None
    try:
        speed = float(text)
    except ValueError:
        raise MovekitError(f"--speed takes a number or 'max', not {text!r}") from None
    if not speed > 0 or speed == float("inf"):
        raise MovekitError(f"--speed must be a finite number above 0 or 'max', not {text!r}")
    return speed


def run(args) -> int:
    from movekit.capture.multicam import is_capture_set

    if is_capture_set(args.recording):
        return _run_set(args)
    return _run_one(args)


def _run_set(args) -> int:
    """A capture set: each camera's recording replayed in turn (the triangulation has no live
    outputs to compare); 1 when any camera's differs."""
    from movekit.capture.multicam import read_capture_set
    from movekit.errors import MovekitError

    if args.csv or args.lsl:
        raise MovekitError(f"{args.recording} is a capture set: give --csv or --lsl one camera's recording in it")
    worst = 0
    for cam in read_capture_set(args.recording)["cameras"]:
        print(f"camera {cam['name']}: {cam['recording']}")
        worst = max(worst, _run_one(argparse.Namespace(**{**vars(args), "recording": cam["recording"]})))
    return worst


def _run_one(args) -> int:
    import numpy as np

    from movekit.capture.replay import replay_pose
    from movekit.recording import POSE_STREAMS, open_recording

    speed = parse_speed(args.speed)
    if args.csv:
        check_output(args.csv, CSV, overwrite=args.overwrite, inputs=[args.recording], flag="--csv")
    rec = open_recording(args.recording)
    for problem in rec.problems:
        print(f"movekit: warning: {problem}", file=sys.stderr)
    if not rec.streams:
        from movekit.errors import MovekitError

        raise MovekitError(f"{rec.path} holds no streams to replay (streams/ is missing or empty)")
    if args.lsl:
        from movekit.lsl import publish_recording

        publish_recording(rec, speed=1.0 if args.speed == "max" else speed, linger_s=1.0)
        print(f"published {rec.path.name} to Lab Streaming Layer outlets")
        return 0
    # device-only session: replay every stream in time order (a camera recording missing a pose
    # stream goes to replay_pose, whose Recording.pose() says which)
    if not any(n in rec.streams for n in POSE_STREAMS):
        from collections import Counter

        from movekit.capture.replay import iter_samples

        counts = Counter(name for name, _, _ in iter_samples(rec, speed))
        for name, n in sorted(counts.items()):
            print(f"replayed {n} samples of {name}")
        return 0
    result = replay_pose(rec, speed)
    n = len(result.t_s)
    print(
        f"replayed {n} frames ({result.t_s[-1] - result.t_s[0]:.2f} s) through the live code path"
        if n
        else "replayed 0 frames"
    )
    if args.csv:
        header = "time_s," + ",".join(result.names)
        table = np.column_stack([result.t_s, result.angles_deg.astype(np.float64)])
        with atomic_path(args.csv) as tmp:
            np.savetxt(tmp, table, delimiter=",", header=header, comments="", fmt="%.9g")
        print(f"angles: {args.csv}")
    if result.identical is None:
        print("no live outputs stored in this recording: nothing to compare")
        return 0
    c = result.compared
    if result.identical:
        part = " of what was recovered (the warnings above say what is lost)" if rec.problems else ""
        what = f"{c['angles']} angle values, {c['angle_numbers']} of them shown angles"
        what += f", and their {c['errors']} expected errors" if c["errors"] else ""
        print(f"identical to the live run, bit for bit ({what}){part}")
        if not c["errors"]:
            print("this recording predates the stored live errors: only the angles were compared")
        if not c["angle_numbers"]:
            print(
                "no live angle was shown in this recording (every one refused: see 'movekit angles'); "
                + (
                    "the refusals and the errors behind them were compared"
                    if c["errors"]
                    else "only refusals were compared"
                )
            )
        return 0
    diff = _differing(result.angles_deg, result.stored)
    what = f"{int(diff.sum())} of {diff.size} angle values"
    if result.stored_errors is not None:
        diff_err = _differing(result.errors_deg, result.stored_errors)
        what += f" and {int(diff_err.sum())} of {diff_err.size} expected errors"
    print(f"DIFFERS from the live run in {what}", file=sys.stderr)
    if result.code_changed:
        print(
            "the live-angle code has changed since this recording was made (its fingerprint differs), "
            "which explains differences; the stored pose itself is unchanged",
            file=sys.stderr,
        )
    return 1


def _differing(a, b):
    """Where two equally shaped arrays differ (NaN equals NaN); all of them when the shapes differ."""
    import numpy as np

    if a.shape != b.shape:
        return np.ones(max(a.size, b.size), bool)
    return ~((a == b) | (np.isnan(a) & np.isnan(b)))
