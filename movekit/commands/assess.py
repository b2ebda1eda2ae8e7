"""``movekit assess TEST SOURCE [--side left|right] [--json OUT.json] [-o REC.mkrec] [--duration S]``.

SOURCE is a recording, a video file, a force-plate or inclinometer file, or a webcam index
(``0``). A recording with a triangulated pose (``movekit triangulate``, or a capture set made with
``--calibration``) is assessed from its 3D angles (:mod:`movekit.assess._pose`). From a webcam the session is captured first with
:func:`movekit.capture.pipeline.capture` (terminal keys while capturing: p pain, r pain resolved,
m or space marker, q stop; pain keys become the events the painful arc reads), the recording is
kept (``-o`` or a dated default path, printed) and then assessed. A video file with ``-o`` (or
``--live``, which also releases its frames in real time so key presses line up with the video)
goes through the same capture and keeps the recording; a video without them is analysed directly.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from movekit.argtypes import finite_list, float_range, positive_seconds
from movekit.assess import TESTS
from movekit.outputs import (
    JSON,
    RECORDING,
    add_overwrite_argument,
    check_output,
    write_output,
)


def _times(text: str | None, kind: str) -> list[dict]:
    from movekit.errors import MovekitError

    if not text:
        return []
    try:
        times = finite_list(text)
    except (ValueError, argparse.ArgumentTypeError):
        times = None
    if times is None or any(t < 0 for t in times):
        raise MovekitError(
            f"--pain-times/--pain-resolved-times must be comma-separated seconds, finite and at least 0, not {text!r}"
        )
    return [{"t_s": t, "kind": kind, "source": "command line"} for t in times]


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "assess",
        help="run a clinical assessment on a recording, a video or a force-plate file",
        description="Run a clinical screen and print a short summary; --json writes the full result "
        "(metrics with units, reps, flags, validity checks, references).",
    )
    p.add_argument(
        "test",
        choices=TESTS + ("fms",),
        help="the screen; fms: the Functional Movement Screen composite from a JSON file of the "
        "seven tests' scores (SOURCE)",
    )
    p.add_argument(
        "source",
        help="webcam index (0: capture live, then assess), recording directory (a triangulated one, "
        "from movekit triangulate, or a capture set with its pose_3d.mkrec, is assessed in 3D: "
        "any view, each angle gated by its measured multi-camera error), video "
        "file, CoP CSV (time_s,cop_x_mm,cop_y_mm), inclinometer CSV (time_s + "
        "angle columns) or Kistler BioWare .txt",
    )
    _add_capture_options(p)
    _add_result_options(p)
    _add_sensor_options(p)
    _add_jps_options(p)
    p.add_argument("--squat", metavar="SQUAT.json", help="fms: a movekit squat result giving the deep squat score")
    p.add_argument(
        "--ungated",
        action="store_true",
        help="RESEARCH USE: do not refuse joint angles whose expected error is over the limit "
        "(the result is flagged; not a clinical result)",
    )
    add_overwrite_argument(p, "JSON results and recordings")
    p.set_defaults(func=run)


def _add_capture_options(p) -> None:
    """Where a live or video capture goes and how long it runs."""
    p.add_argument(
        "-o",
        "--output",
        metavar="REC.mkrec",
        help="keep the capture as this recording (webcam: default assess-TEST-DATE-TIME.mkrec; "
        "a video file is then captured through the same path)",
    )
    p.add_argument(
        "--duration",
        type=positive_seconds,
        metavar="S",
        help="stop the capture after S seconds (webcam or --live; default: until q or Ctrl-C)",
    )
    p.add_argument(
        "--live",
        action="store_true",
        help="treat a video file as a live source: frames in real time, keys recorded, recording kept",
    )


def _add_result_options(p) -> None:
    """Client, side, age, pain reports, JSON output and the previous result."""
    p.add_argument("--client", help="client id stored in a new recording's metadata")
    p.add_argument("--side", choices=("left", "right"), help="tested side (default: detected)")
    p.add_argument("--json", metavar="OUT.json", help="write the result as JSON")
    p.add_argument("--age", type=float_range(0.0, 120.0, unit="years"), help="client age in years, for age norms")
    p.add_argument(
        "--latency",
        type=float_range(0.0, 10.0, unit="s"),
        default=0.0,
        metavar="S",
        help="input latency of pain reports to subtract (s; painful arc)",
    )
    p.add_argument("--pain-times", metavar="T1,T2", help="pain onset report times (s)")
    p.add_argument("--pain-resolved-times", metavar="T1,T2", help="pain resolved report times (s)")
    p.add_argument("--previous", metavar="PREV.json", help="earlier result of the same test: adds change in percent")


def _add_sensor_options(p) -> None:
    """Options of the force-plate, sway and gait sources."""
    p.add_argument(
        "--min-duration",
        type=positive_seconds,
        metavar="S",
        help="shortest sway trial accepted (s; default 25 after Scoppa 2013)",
    )
    p.add_argument(
        "--columns",
        metavar="NAME,NAME,...",
        help="balance: the column names of a headerless force-plate text/CSV file, e.g. "
        "time_s,fx_n,fy_n,fz_n,mx_nm,my_nm,mz_nm or time_s,cop_x_mm,cop_y_mm (unknown names "
        "are ignored)",
    )
    p.add_argument(
        "--axis", choices=("x", "y", "z"), help="gait: the gyroscope axis the shank swings about (refused when unknown)"
    )
    p.add_argument(
        "--distance",
        type=float_range(0.0, 10000.0, lo_open=True, unit="m"),
        metavar="M",
        help="gait: distance walked (m), for the speed",
    )


def _add_jps_options(p) -> None:
    """Options of the joint-position-sense test."""
    p.add_argument(
        "--protocol",
        choices=("target", "return_to_start"),
        default="target",
        help="joint-position-sense: target matching, or back to the start position (Revel 1991)",
    )
    p.add_argument("--joint", help="joint-position-sense: e.g. knee, cervical (cervical adds Revel's 4.5 deg limit)")
    p.add_argument(
        "--target",
        type=float_range(-360.0, 360.0, unit="deg"),
        metavar="DEG",
        help="joint-position-sense: the target angle when it was set otherwise",
    )
    p.add_argument("--channel", help="joint-position-sense: the angle channel when the recording has several")
    p.add_argument(
        "--hold", type=positive_seconds, metavar="S", help="joint-position-sense: shortest hold (s, default 1)"
    )


def run(args) -> int:
    from movekit.assess import run as run_test
    from movekit.assess.sources import load_trial, parse_columns
    from movekit.errors import MovekitError

    inputs = [args.source, args.previous]
    if args.json:
        check_output(args.json, JSON, overwrite=args.overwrite, inputs=[*inputs, args.output], flag="--json")
    if args.output:
        check_output(args.output, RECORDING, overwrite=args.overwrite, inputs=inputs)
    pain = _times(args.pain_times, "pain") + _times(args.pain_resolved_times, "pain_resolved")
    previous = None
    if args.previous:
        try:
            previous = json.loads(Path(args.previous).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise MovekitError(f"{args.previous}: not a readable result JSON ({exc})") from None
        if not isinstance(previous, dict):
            raise MovekitError(f"{args.previous}: not a result JSON (a {type(previous).__name__}, not an object)")
        if previous.get("test") != args.test:
            raise MovekitError(f"{args.previous} is a {previous.get('test')!r} result, not {args.test!r}")
    if args.test == "fms":
        result = _fms(args)
        if args.json:
            write_output(args.json, result.dumps() + "\n")
        print(result.summary())
        from movekit.cli import EXIT_NOT_VALID

        return 0 if result.valid else EXIT_NOT_VALID
    columns = parse_columns(args.columns) if args.test == "balance" else None
    if args.columns and columns is None:
        raise MovekitError("--columns applies to the balance test (a headerless force-plate file)")
    session = load_trial(_captured(args) or args.source, columns=columns)
    from contextlib import nullcontext

    from movekit.analysis.error_model import ungated

    with ungated() if args.ungated else nullcontext():
        result = run_test(
            args.test,
            session,
            side=args.side,
            age=args.age,
            latency_s=args.latency,
            pain_events=pain,
            previous=previous,
            min_duration_s=args.min_duration,
            axis=args.axis,
            distance_m=args.distance,
            protocol=args.protocol,
            joint=args.joint,
            target_deg=args.target,
            channel=args.channel,
            hold_s=args.hold,
        )
    if args.json:
        write_output(args.json, result.dumps() + "\n")
    print(result.summary())
    from movekit.cli import EXIT_NOT_VALID

    return 0 if result.valid else EXIT_NOT_VALID  # NOT VALID has its own exit status


def _read_json_object(path: str, what: str) -> dict:
    from movekit.errors import MovekitError

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise MovekitError(f"{path}: not a readable {what} JSON ({exc})") from None
    if not isinstance(data, dict):
        raise MovekitError(f"{path}: not a {what} JSON (a {type(data).__name__}, not an object)")
    return data


def _fms(args):
    """The FMS composite from a JSON file of the seven tests' scores (movekit.assess.fms)."""
    from movekit.assess.fms import assess_fms

    scores = _read_json_object(args.source, "FMS scores")
    squat = _read_json_object(args.squat, "squat result") if args.squat else None
    return assess_fms(scores, squat=squat)


def is_webcam(source: str) -> bool:
    """A webcam index such as ``0`` (digits only)."""
    return source.strip().isdigit()


def default_recording_path(test: str) -> Path:
    """``assess-TEST-YYYYmmdd-HHMMSS.mkrec`` in the current directory (a free name)."""
    base = f"assess-{test}-{time.strftime('%Y%m%d-%H%M%S')}"
    path, n = Path(f"{base}.mkrec"), 1
    while path.exists():
        n += 1
        path = Path(f"{base}-{n}.mkrec")
    return path


def _captured(args) -> Path | None:
    """Capture a webcam (or a video file with -o/--live) into a recording; its path, else None."""
    from movekit.errors import MovekitError

    src = str(args.source)
    webcam = is_webcam(src)
    video = Path(src).suffix.lower() in (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v")
    if not webcam and not (video and (args.output or args.live)):
        if args.output or args.live:
            raise MovekitError(f"-o/--live record a webcam or a video file; {src} is neither")
        if args.duration is not None:
            raise MovekitError("--duration applies to a webcam or --live capture")
        return None
    from movekit.capture.pipeline import capture

    out = Path(args.output) if args.output else default_recording_path(args.test)
    if webcam:
        print(
            f"capturing from webcam {int(src)} for {args.test}: keys p pain, r pain resolved, m marker, "
            f"q stop" + (f" (stops after {args.duration:g} s)" if args.duration else ""),
            flush=True,
        )
    summary = capture(
        int(src) if webcam else Path(src),
        out,
        duration_s=args.duration,
        keys=True,
        metadata={"client": args.client, "protocol": args.test},
        overwrite=args.overwrite,
        realtime=True if args.live else None,
    )
    print(summary.text())
    print(f"recording kept: {out}")
    return out
