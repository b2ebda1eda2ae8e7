"""``movekit capture SOURCE -o REC``."""

from __future__ import annotations

import argparse
from pathlib import Path

from movekit.argtypes import float_range, meta_item, positive_seconds

#: ``--person`` help, shared by the commands that run the pose model on a camera or video.
PERSON_HELP = (
    "whom to follow when several people are in view: largest (default), centre, left, right "
    "(in the image as shown), or X,Y pixels in the first frame with somebody in it (the person "
    "whose box holds the point, else the nearest)"
)


#: ``--tilt`` help, shared by the commands that capture.
TILT_HELP = (
    "camera pitch and roll against gravity, applied to every angle referred to the vertical: auto "
    "(default for a video file: measured from the room's vertical edges), unknown (default for a "
    "webcam), level (checked with a level), PITCH,ROLL in deg (pitch + looking down, roll + clockwise "
    "seen from behind the camera) or a profile from movekit calibrate level"
)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "capture",
        help="run the pose model on a webcam or video and record the session",
        description="Run MediaPipe Pose on every frame of SOURCE (a webcam index such as 0, or a video "
        "file) and write a crash-safe recording. Keys while capturing (terminal or --show "
        "window): p pain, r pain resolved, m or space marker, q stop.",
    )
    p.add_argument(
        "sources",
        nargs="+",
        metavar="SOURCE",
        help="webcam index (0), video file, or a recording made with --save-video "
        "(its video is captured again, following the person chosen then); two or more sources "
        "(webcams: 0 1; or videos) are captured at once on one clock into a multi-camera capture",
    )
    _add_output_args(p)
    _add_model_args(p)
    _add_source_args(p)
    p.set_defaults(func=run)


def _add_output_args(p) -> None:
    """Where the recording goes and what it keeps."""
    p.add_argument(
        "-o",
        "--output",
        required=True,
        help="recording directory to create (e.g. s01.mkrec); with several sources, a folder that "
        "receives one recording per camera",
    )
    p.add_argument(
        "--cameras",
        metavar="NAME,NAME",
        help="with several sources: each camera's name (default cam1,cam2,...), e.g. as in the calibration",
    )
    p.add_argument(
        "--calibration",
        metavar="FILE",
        help="with several sources: the cameras' calibration (.qca.txt or .toml); the pose is then "
        "triangulated into SET/pose_3d.mkrec (as movekit triangulate SET does)",
    )
    p.add_argument(
        "--no-live-check",
        dest="live_check",
        action="store_false",
        help="with --calibration: do not check during the take that every camera follows the same person "
        "(for videos whose clocks are not aligned; movekit triangulate still checks after syncing them)",
    )
    p.add_argument(
        "--annotate",
        metavar="OUT.mkv",
        help="write frames with skeleton and live angles (.mkv survives a crash; .avi; .mp4 is lost if killed)",
    )
    p.add_argument("--show", action="store_true", help="live window when a display exists")
    p.add_argument("--save-video", action="store_true", help="also keep the raw video in the recording")
    p.add_argument("--overwrite", action="store_true", help="replace an existing recording")
    p.add_argument("--client", help="client id stored in the metadata")
    p.add_argument("--protocol", help="protocol or test name stored in the metadata")
    p.add_argument("--meta", action="append", default=[], type=meta_item, metavar="KEY=VALUE", help="extra metadata")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "--lsl",
        action="store_true",
        help="publish pose, live angles with their errors, devices, EMG envelopes and events as Lab Streaming Layer outlets (pip install movekit[lsl])",
    )


def _add_model_args(p) -> None:
    """The pose model, whom it follows, and the calibrations applied to the live angles."""
    p.add_argument(
        "--model-complexity",
        type=int,
        choices=(0, 1, 2),
        default=1,
        help="pose model: 1 full (ships with mediapipe); 0 lite, 2 heavy (fetched once from the npm registry, "
        "pinned; or --model-file)",
    )
    p.add_argument("--model-file", help="landmark .tflite for model complexity 0 or 2 (instead of the fetched one)")
    p.add_argument("--person", metavar="WHO", help=PERSON_HELP)
    p.add_argument("--tilt", metavar="auto|unknown|level|PITCH,ROLL|PROFILE", default=None, help=TILT_HELP)
    p.add_argument(
        "--camera",
        metavar="PROFILE",
        help="camera calibration profile (movekit calibrate camera): live angles undistorted",
    )
    p.add_argument(
        "--static",
        metavar="PROFILE",
        help="static-pose offsets profile (movekit calibrate static): subtracted from live angles",
    )


def _add_source_args(p) -> None:
    """How long, at what pace, and the Bluetooth devices recorded beside the camera."""
    p.add_argument("--duration", type=positive_seconds, metavar="S", help="stop after S seconds")
    p.add_argument(
        "--ble",
        action="append",
        default=[],
        metavar="ADDRESS:PROFILE[@LABEL][,rate=HZ]",
        help="record a Bluetooth LE device beside the camera (repeatable); profiles: movekit devices profiles",
    )
    p.add_argument(
        "--realtime",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="release a video file's frames at its frame rate on the wall clock, like a webcam (default: on "
        "when --ble devices are recorded, so video and devices share one clock and --duration is wall time; "
        "--no-realtime: as fast as the model runs)",
    )
    p.add_argument(
        "--max-fps",
        type=float_range(0, unit="frames/s"),
        default=None,
        metavar="N",
        help="analyse at most N frames/s: a webcam is asked for N and a faster camera or video is "
        "thinned evenly (the recording says the source's rate, the rate analysed and the frames "
        "skipped); default and 0: every frame",
    )


def _check_profiles(args) -> None:
    """Load the calibration profiles once before the capture starts: a malformed one is a one-line error."""
    from movekit.calibration import load_camera_profile, load_static_profile
    from movekit.commands.calibrate import guarded_load

    if args.camera:
        guarded_load(load_camera_profile, args.camera)
    if args.static:
        guarded_load(load_static_profile, args.static)


def run(args) -> int:
    if len(args.sources) > 1:
        return _run_cameras(args)
    if args.calibration or args.cameras:
        from movekit.errors import MovekitError

        raise MovekitError("--calibration and --cameras go with two or more sources (a multi-camera capture)")
    from movekit.capture.pipeline import capture
    from movekit.outputs import RECORDING, VIDEO, check_output

    args.source = args.sources[0]
    meta = {"client": args.client, "protocol": args.protocol, **dict(args.meta)}
    inputs = [args.source, args.camera, args.static, args.model_file]
    check_output(args.output, RECORDING, overwrite=args.overwrite, inputs=inputs)
    _check_profiles(args)
    if args.annotate:
        check_output(args.annotate, VIDEO, overwrite=args.overwrite, inputs=[*inputs, args.output], flag="--annotate")
    lsl = None
    if args.lsl:
        from movekit.lsl import LslPublisher

        lsl = LslPublisher(Path(args.output).name if args.output else "capture")
    summary = capture(
        args.source,
        args.output,
        duration_s=args.duration,
        model_complexity=args.model_complexity,
        model_file=args.model_file,
        annotate=args.annotate,
        show=args.show,
        save_video=args.save_video,
        overwrite=args.overwrite,
        metadata=meta,
        progress=not args.no_progress,
        ble=args.ble,
        camera_profile=args.camera,
        static_profile=args.static,
        person=args.person,
        tilt=args.tilt,
        realtime=args.realtime,
        lsl=lsl,
        max_fps=args.max_fps,
    )
    print(summary.text())
    return 0


def _run_cameras(args) -> int:
    """Several sources at once: a multi-camera capture (movekit.capture.multicam)."""
    from movekit.capture.multicam import capture_cameras
    from movekit.capture.pipeline import CaptureOptions
    from movekit.errors import MovekitError
    from movekit.outputs import RECORDING, check_output

    if args.calibration:
        from movekit.commands.triangulate import check_calibration

        check_calibration(args.calibration, len(args.sources))  # a bad calibration fails before the capture
    single = [
        f
        for f, on in (
            ("--annotate", args.annotate),
            ("--show", args.show),
            ("--ble", args.ble),
            ("--lsl", args.lsl),
            ("--camera", args.camera),
            ("--overwrite", args.overwrite),
        )
        if on
    ]
    if single:
        raise MovekitError(f"{', '.join(single)}: only with one source (a multi-camera capture takes none of these)")
    check_output(args.output, RECORDING, inputs=[*args.sources, args.static, args.model_file])
    _check_profiles(args)
    names = [n.strip() for n in args.cameras.split(",")] if args.cameras else None
    options = CaptureOptions(
        duration_s=args.duration,
        model_complexity=args.model_complexity,
        model_file=args.model_file,
        save_video=args.save_video,
        metadata={"client": args.client, "protocol": args.protocol, **dict(args.meta)},
        static_profile=args.static,
        person=args.person,
        tilt=args.tilt,
        realtime=args.realtime,
        max_fps=args.max_fps,
    )
    summaries = capture_cameras(
        args.sources,
        args.output,
        options,
        names=names,
        calibration=args.calibration or None,
        live_check=args.live_check,
    )
    for source, summary in zip(args.sources, summaries):
        print(f"== {source}")
        print(summary.text())
    if args.calibration:
        from movekit.commands import triangulate

        return triangulate.run(
            argparse.Namespace(
                sources=[args.output],
                calibration=args.calibration,
                cameras=None,
                sync=None,
                max_lag=3.0,
                model_complexity=args.model_complexity,
                output=str(Path(args.output) / "pose_3d.mkrec"),
                overwrite=False,
            )
        )
    print(f"3D: movekit triangulate {args.output} --calibration FILE -o OUT.mkrec")
    return 0
