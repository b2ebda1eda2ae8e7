"""``movekit calibrate camera|static|level|extrinsics ...``: calibration profiles and multi-camera calibrations."""

from __future__ import annotations

from pathlib import Path

from movekit.argtypes import float_range, int_range, safe_name
from movekit.outputs import PROFILE, add_overwrite_argument, check_output

_square_mm = float_range(1.0, 1000.0, unit="mm")
_SUFFIX = {"camera": ".camera.json", "static": ".static.json", "tilt": ".tilt.json"}


def guarded_load(loader, name, *args):
    """``loader(name, *args)`` with a malformed profile (wrong JSON shape) as a one-line error."""
    from movekit.errors import MovekitError

    try:
        return loader(name, *args)
    except MovekitError:
        raise
    except (AttributeError, KeyError, TypeError, ValueError, IndexError) as exc:
        raise MovekitError(f"{name}: not a valid calibration profile ({type(exc).__name__}: {exc})") from None


def profile_target(args, kind: str) -> Path | None:
    """The folder a new profile goes to, checked against the output policy before any work is done."""
    from movekit.calibration import profile_dir
    from movekit.errors import MovekitError

    if args.dir is not None:
        directory = Path(args.dir)
        if not directory.is_dir():
            raise MovekitError(f"--dir {directory}: " + ("not a folder" if directory.exists() else "no such folder"))
    else:
        directory = profile_dir()
    if directory.is_dir():
        inputs = [getattr(args, k, None) for k in ("video", "source", "board", "scene", "stance", "camera")]
        check_output(
            directory / f"{args.name}{_SUFFIX[kind]}",
            PROFILE,
            overwrite=args.overwrite,
            inputs=[i for i in inputs if i and Path(i).exists()],
            flag="--name",
        )
    return Path(args.dir) if args.dir else None


def _pattern(text: str) -> tuple[int, int]:
    from movekit.errors import MovekitError

    try:
        c, r = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise MovekitError(f"--pattern takes COLSxROWS inner corners, e.g. 9x6, not {text!r}") from None
    if c < 3 or r < 3:
        raise MovekitError("--pattern needs at least 3x3 inner corners")
    return c, r


_DIR_HELP = "profile folder (default: calibration/ in your user data folder, or $MOVEKIT_DATA_DIR/calibration)"


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "calibrate",
        help="camera and static-pose calibration profiles",
        description="Make calibration profiles (JSON) in your profile folder (movekit.calibration.profile_dir()), "
        "or a multi-camera calibration (.toml).",
    )
    sub = p.add_subparsers(dest="calibrate_what", metavar="WHAT")
    _add_camera(sub)
    _add_static(sub)
    _add_level(sub)
    _add_extrinsics(sub)
    _add_refine(sub)
    p.set_defaults(func=lambda args: (p.print_help(), 1)[1])


def _add_camera(sub) -> None:
    cam = sub.add_parser("camera", help="intrinsics and lens distortion from a checkerboard video")
    cam.add_argument("video")
    cam.add_argument("--pattern", default="9x6", help="inner corners COLSxROWS (default 9x6)")
    cam.add_argument("--square-mm", type=_square_mm, default=25.0, help="square side in mm (default 25)")
    cam.add_argument("--name", required=True, type=safe_name, help="profile name")
    cam.add_argument("--dir", default=None, help=_DIR_HELP)
    add_overwrite_argument(cam, "profiles")
    cam.set_defaults(func=run_camera)


def _add_static(sub) -> None:
    st = sub.add_parser(
        "static",
        help="angle offsets from a static neutral-stance trial",
        description="Angle offsets from a trial of the client standing still in neutral, "
        "alone in view. A trial in which the person moved, was not alone, or was "
        "not upright with straight knees is refused with the reason.",
    )
    st.add_argument("source", help="recording or video of the client standing still in neutral")
    st.add_argument(
        "--person",
        metavar="WHO",
        help="video source: whom to measure when somebody else is in view (as movekit capture "
        "--person); such a trial is still refused as not alone",
    )
    st.add_argument("--name", required=True, type=safe_name, help="profile name (e.g. client-camera-date)")
    st.add_argument("--camera", default=None, help="camera profile to undistort with first")
    st.add_argument(
        "--tilt",
        metavar="PITCH,ROLL|level|PROFILE",
        help="camera tilt in deg (as movekit angles --tilt); default: the recording's, else unknown",
    )
    st.add_argument("--space", choices=("2d", "3d"), default="2d")
    st.add_argument("--dir", default=None, help=_DIR_HELP)
    add_overwrite_argument(st, "profiles")
    st.set_defaults(func=run_static)


def _add_level(sub) -> None:
    lv = sub.add_parser(
        "level",
        help="camera pitch and roll against gravity (for angles referred to the vertical)",
        description="Measure the camera's tilt once per set-up and save it as a profile for "
        "capture/angles --tilt. One source: a level reading typed in, a checkerboard "
        "lying flat on the floor, the room's vertical edges in a video, or a quiet "
        "standing trial (roll only).",
    )
    how = lv.add_mutually_exclusive_group(required=True)
    how.add_argument(
        "--reading",
        metavar="PITCH,ROLL",
        help="deg from a level or a phone's level app on the camera (pitch + looking down, roll + "
        "clockwise seen from behind), or 'level'",
    )
    how.add_argument("--board", metavar="VIDEO", help="video of a checkerboard lying flat on the floor")
    how.add_argument(
        "--scene", metavar="VIDEO", help="video of the room: its vertical edges (door frames, cupboards, wall corners)"
    )
    how.add_argument(
        "--stance",
        metavar="SOURCE",
        help="recording or video of the client standing still, upright (gives the roll; pitch stays unknown)",
    )
    lv.add_argument("--name", required=True, type=safe_name, help="profile name (e.g. clinic-room-2)")
    lv.add_argument("--camera", default=None, help="camera profile (intrinsics) of this camera")
    lv.add_argument("--pattern", default="9x6", help="board inner corners COLSxROWS (default 9x6)")
    lv.add_argument("--square-mm", type=_square_mm, default=25.0, help="board square side in mm (default 25)")
    lv.add_argument("--dir", default=None, help=_DIR_HELP)
    add_overwrite_argument(lv, "profiles")
    lv.set_defaults(func=run_level)


def _add_extrinsics(sub) -> None:
    ex = sub.add_parser(
        "extrinsics",
        help="where each of several cameras is (a multi-camera .toml), from a board or from the person",
        description="Camera positions and orientations in one lab frame (m, z up), written as an "
        "Anipose/Pose2Sim .toml for movekit triangulate. Either a board (ChArUco or checkerboard) "
        "seen by every camera: lay it on the floor at the start, where every camera sees it, so it "
        "gives the floor and the vertical; or the person walking about in view of every camera "
        "(bundle adjustment on the pose model's keypoints; scale from --height-m). The videos must "
        "be synchronised (frame i the same instant in each). Each camera's reprojection error is "
        "printed in px and mm; a calibration too poor to trust is refused with the reason.",
    )
    ex.add_argument(
        "sources", nargs="+", metavar="VIDEO_OR_REC", help="one video (or, with --from-person, recording) per camera"
    )
    how = ex.add_mutually_exclusive_group(required=True)
    how.add_argument(
        "--board",
        metavar="SPEC",
        help="charuco:SQUARES_X,SQUARES_Y,SQUARE_M,MARKER_M[,DICT] or checker:COLS,ROWS,SQUARE_M (metres)",
    )
    how.add_argument("--from-person", action="store_true", help="from the person's keypoints (bundle adjustment)")
    ex.add_argument(
        "--intrinsics",
        nargs="+",
        required=True,
        metavar="PROFILE",
        help="one camera profile (movekit calibrate camera) per source, or one calibration file "
        "(.toml / .qca.txt) whose cameras are taken in order",
    )
    ex.add_argument("--height-m", type=float_range(0.5, 2.5, unit="m"), help="the person's standing height (m)")
    ex.add_argument(
        "--floor-board",
        metavar="SPEC",
        help="with --from-person: a board lying on the floor (as --board) seen in --floor-videos; it gives "
        "the vertical and the origin (and the scale when two cameras see it), better than the person does",
    )
    ex.add_argument(
        "--floor-videos",
        nargs="+",
        metavar="VIDEO",
        help="one per source, '-' for a camera that did not film the floor board",
    )
    ex.add_argument(
        "--max-frames",
        type=int_range(2, 1000),
        default=30,
        help="frames read per video for the board (default 30); the person: twice as many (default 60)",
    )
    ex.add_argument("-o", "--output", required=True, help="calibration file to write (.toml)")
    add_overwrite_argument(ex, "calibration files")
    ex.set_defaults(func=run_extrinsics)


def _add_refine(sub) -> None:
    rf = sub.add_parser(
        "refine",
        help="correct each camera's orientation in a calibration from the person's keypoints (3+ cameras)",
        description="Keep each camera's position and lens and turn it by the small angle (at most 5 deg) that "
        "brings its pose keypoints onto the other cameras' triangulation of the same person "
        "(movekit.analysis.extrinsics.refine_rotations). A calibration's orientations are its weak part: on "
        "Pose2Sim's Qualisys demo rig two cameras are 1-2 deg off, 20-35 px at the subject, which moves "
        "two-camera joint angles by several degrees (docs/validity.md). Needs three or more synchronised "
        "cameras (frame i the same instant in each), one source each in the calibration's camera order. "
        "Prints each camera's correction and the distance from its keypoints to the others' triangulation, "
        "before and after, on these same frames (check on another trial with movekit triangulate).",
    )
    rf.add_argument("sources", nargs="+", metavar="VIDEO_OR_REC", help="one video or recording per camera")
    rf.add_argument("--calibration", required=True, metavar="FILE", help="the rig's .qca.txt or .toml calibration")
    rf.add_argument("-o", "--output", required=True, help="refined calibration to write (.toml)")
    add_overwrite_argument(rf, "calibration files")
    rf.set_defaults(func=run_refine)


def run_refine(args) -> int:
    import numpy as np

    from movekit.analysis.cameras import calibration_toml_text, calibration_vertical, read_calibration
    from movekit.analysis.extrinsics import refine_rotations
    from movekit.analysis.triangulation import fix_left_right_swaps
    from movekit.errors import MovekitError
    from movekit.outputs import check_output, write_output

    if not args.output.lower().endswith(".toml"):
        raise MovekitError(f"-o {args.output}: write the calibration as a .toml")
    sources, recorded = _sources_and_names(args.sources)
    cams = _by_name(read_calibration(args.calibration), recorded, len(sources), args.calibration)
    if len(cams) < 3:
        raise MovekitError("refining orientations needs three or more cameras (the others fix each one)")
    out = check_output(args.output, PROFILE, overwrite=args.overwrite, inputs=[*sources, args.calibration])
    kp, vis = _person_views(sources, cams)
    kp, vis, _ = fix_left_right_swaps(kp, np.nan_to_num(vis), cams)
    result = refine_rotations(kp, vis, cams)
    for cam, deg, before, after, n in zip(
        result.cameras,
        result.correction_deg,
        result.loo_median_px_before,
        result.loo_median_px_after,
        result.observations,
    ):
        print(
            f"{cam.name}: turned {deg:.2f} deg; its keypoints to the other cameras' triangulation "
            f"{before:.1f} -> {after:.1f} px (median of {int(n)} keypoints)"
        )
    write_output(out, calibration_toml_text(result.cameras, vertical=calibration_vertical(args.calibration)))
    print(f"calibration: {out}")
    return 0


def run_camera(args) -> int:
    from movekit.calibration import calibrate_camera, save_profile

    directory = profile_target(args, "camera")
    prof = calibrate_camera(args.video, pattern=_pattern(args.pattern), square_mm=args.square_mm, name=args.name)
    path = save_profile(prof, directory)
    K = prof.K
    print(
        f"camera {prof.width_px}x{prof.height_px}: fx {K[0, 0]:.1f} fy {K[1, 1]:.1f} cx {K[0, 2]:.1f} "
        f"cy {K[1, 2]:.1f} px, k1 {prof.dist[0]:+.3f}; RMS reprojection {prof.rms_reprojection_px:.2f} px "
        f"over {prof.n_views} views"
    )
    print(f"profile: {path}")
    return 0


def static_trial(source: str, person: str | None = None):
    """(PoseSeries, most people in view at once, problems with the person followed, camera tilt
    stored in the recording or None) of a static trial: a recording, or a video whose pose is run
    here (following ``person``)."""
    import sys

    from movekit.calibration import profiles_from_metadata
    from movekit.capture.follow import parse_person
    from movekit.errors import MovekitError

    if person is not None:
        parse_person(person)  # a bad value fails before the pose model runs
    path = Path(source)
    if not path.exists():
        raise MovekitError(f"{source}: no such file or recording")
    if path.is_dir():
        from movekit.recording import open_recording

        if person is not None:
            raise MovekitError("--person applies to a video; a recording's person was chosen when it was captured")
        rec = open_recording(path)
    else:
        from movekit.capture.pipeline import capture_in_memory

        print(f"running pose on {path.name} ...", file=sys.stderr)
        rec = capture_in_memory(path, person=person)
    selection = rec.metadata.get("person_selection") or {}
    people = [selection.get("people_at_start", 1)]
    people += [e.get("count", 1) for e in rec.events if e.get("kind") == "people_in_view"]
    problems = []
    if selection.get("point_outside_px"):
        problems.append(
            f"nobody was found at --person {selection.get('strategy')} (the nearest person's box "
            f"was {selection['point_outside_px']:.0f} px away)"
        )
    tilt = profiles_from_metadata(rec.metadata.get("calibration") or {}).get("tilt")
    return rec.pose(), int(max(people)), problems, tilt


def run_static(args) -> int:
    import numpy as np

    from movekit.analysis.camera_tilt import level_image_points
    from movekit.analysis.error_model import ungated
    from movekit.analysis.pipeline import analyse
    from movekit.calibration import (
        load_camera_profile,
        load_tilt,
        save_profile,
        static_offsets,
        static_trial_problems,
        undistort_landmarks,
    )
    from movekit.errors import MovekitError

    directory = profile_target(args, "static")
    tilt = guarded_load(load_tilt, args.tilt, directory) if args.tilt else None
    cam = guarded_load(load_camera_profile, args.camera, directory) if args.camera else None
    pose, people, problems, stored_tilt = static_trial(args.source, args.person)
    tilt = tilt or stored_tilt
    img = pose.image_px
    size = getattr(pose, "frame_size_px", None)
    if cam is not None:
        img = undistort_landmarks(img, cam, size)
    # upright is judged against the true vertical when the camera's tilt is known
    level = img if tilt is None else level_image_points(img, tilt, size, cam.K if cam is not None else None)
    problems += static_trial_problems(level, pose.visibility, people_in_view=people)
    if problems:
        raise MovekitError("the static trial cannot be used: " + "; ".join(problems))

    # the offset is the pipeline's own reading at neutral, taken whether or not the error model
    # shows that angle in this view: it is subtracted only from angles that are shown (or from an
    # ungated research run), so an angle refused here never reaches a client through its offset
    with ungated():
        res = analyse(
            pose.t_s,
            img,
            pose.world_m,
            pose.visibility,
            space=args.space,
            offline=True,
            tilt=tilt,
            frame_size_px=size,
            camera_matrix_px=cam.K if cam is not None else None,
        )
    prof = static_offsets(
        res.angles, res.view, name=args.name, space=args.space, camera_profile=cam.name if cam else None
    )
    path = save_profile(prof, directory)
    print(f"static trial: {prof.n_frames} frames, view {prof.view}; offsets (deg):")
    for k, v in prof.offsets_deg.items():
        err = res.error_deg.get(k)  # what the gate would have done: shown where the expected error is within the limit
        shown = err is not None and bool((np.isfinite(res.angles[k]) & (err <= res.max_error_deg)).any())
        refused = "" if shown else "  (refused in this view by the error model)"
        print(f"  {k:<32} {v:+6.1f}  (IQR {prof.spread_deg[k]:.1f}){refused}")
    print(f"profile: {path}")
    return 0


def run_level(args) -> int:
    import numpy as np

    from movekit.analysis.camera_tilt import parse_tilt, roll_from_stance
    from movekit.calibration import (
        TiltProfile,
        load_camera_profile,
        save_profile,
        tilt_from_board_video,
        tilt_from_scene,
        video_frames,
    )
    from movekit.errors import MovekitError

    directory = profile_target(args, "tilt")
    cam = guarded_load(load_camera_profile, args.camera, directory) if args.camera else None
    if args.reading:
        tilt = parse_tilt(args.reading)
    elif args.board:
        if not (np.isfinite(args.square_mm) and args.square_mm > 0):
            raise MovekitError(f"--square-mm must be a positive number of mm, not {args.square_mm}")
        tilt = tilt_from_board_video(args.board, cam, pattern=_pattern(args.pattern), square_mm=args.square_mm)
    elif args.scene:
        tilt = tilt_from_scene(video_frames(args.scene), cam)
    else:
        pose = static_trial(args.stance)[0]
        size = tuple(pose.frame_size_px) if all(pose.frame_size_px) else None
        tilt = roll_from_stance(
            pose.image_px,
            visibility=pose.visibility,
            frame_size_px=size,
            camera_matrix_px=cam.K if cam is not None else None,
        )
    path = save_profile(TiltProfile.of(args.name, tilt), directory)
    print(tilt.describe())
    print(f"profile: {path}  (use: movekit capture ... --tilt {args.name})")
    return 0


def _sources_and_names(sources: list[str]) -> tuple[list[str], list[str] | None]:
    """The sources, a capture set (``movekit capture A B -o SET``) standing for its cameras'
    recordings, and the camera name each recording was captured as (None unless all say)."""
    from movekit.capture.multicam import recorded_camera_names

    if len(sources) == 1 and (Path(sources[0]) / "capture_set.json").is_file():
        from movekit.capture.multicam import is_capture_set, read_capture_set

        if is_capture_set(sources[0]):
            sources = [c["recording"] for c in read_capture_set(sources[0])["cameras"]]
    return list(sources), recorded_camera_names(sources)


def _by_name(cams: list, names: list[str] | None, n: int, what: str) -> list:
    """The calibration's cameras for ``n`` sources: by the names the recordings were captured as
    when the calibration has them all, else all of them in file order (then one per source)."""
    from movekit.errors import MovekitError

    by = {c.name: c for c in cams}
    if names and set(names) <= set(by):
        return [by[name] for name in names]
    if len(cams) != n:
        raise MovekitError(
            f"{what} holds {len(cams)} cameras for {n} sources; give recordings captured with the calibration's "
            f"camera names (movekit capture --cameras {','.join(by)}), or one source per camera in file order"
        )
    return cams


def _intrinsics(specs: list[str], n: int, names: list[str], recorded: list[str] | None = None):
    """One PinholeCamera (intrinsics) per source from camera profiles or a calibration file (its
    cameras by the recordings' names, ``recorded``, when it has them all)."""
    from dataclasses import replace

    import numpy as np

    from movekit.analysis.cameras import PinholeCamera, read_calibration
    from movekit.calibration import load_camera_profile
    from movekit.errors import MovekitError

    if len(specs) == 1 and Path(specs[0]).suffix.lower() in (".toml", ".txt", ".xml", ".qca"):
        cams = _by_name(read_calibration(specs[0]), recorded, n, f"--intrinsics {specs[0]}")
        return [replace(c, R=np.eye(3), t=np.zeros(3)) for c in cams]
    if len(specs) != n:
        raise MovekitError(f"--intrinsics: {len(specs)} profiles for {n} sources (one per camera)")
    out = []
    for spec, name in zip(specs, names):
        prof = guarded_load(load_camera_profile, spec, None)
        out.append(PinholeCamera(name, prof.width_px, prof.height_px, prof.K, prof.dist))
    return out


def _person_views(sources: list[str], cameras=None):
    """(keypoints (cams, frames, 33, 2), visibility (cams, frames, 33)) on the first source's
    frames: each recording's (or video's, pose run here) nearest frame in time; with ``cameras``
    each source's frame size is checked against its camera's calibrated one."""
    import sys

    import numpy as np

    from movekit.errors import MovekitError

    series = []
    for src in sources:
        path = Path(src)
        if not path.exists():
            raise MovekitError(f"{src}: no such file or recording")
        if path.is_dir():
            from movekit.recording import open_recording

            rec = open_recording(path)
            for problem in rec.problems:  # a crashed or cut recording: used as far as it goes, and said so
                print(f"movekit: warning: {problem}", file=sys.stderr)
            series.append(rec.pose())
        else:
            from movekit.capture.pipeline import capture_in_memory

            print(f"running pose on {path.name} ...", file=sys.stderr)
            series.append(capture_in_memory(path).pose())
    if cameras is not None:
        from movekit.analysis.cameras import check_frame_sizes

        check_frame_sizes(cameras, [s.frame_size_px for s in series], sources)
    t0 = np.asarray(series[0].t_s, np.float64)
    kp, vis = [], []
    for s in series:
        t = np.asarray(s.t_s, np.float64)
        if len(t) < 2:
            raise MovekitError("a source has fewer than two frames of pose")
        idx = np.clip(np.searchsorted(t, t0), 1, len(t) - 1)
        idx = np.where(np.abs(t[idx - 1] - t0) <= np.abs(t[idx] - t0), idx - 1, idx)
        far = np.abs(t[idx] - t0) > 0.5 * np.median(np.diff(t))
        v = np.asarray(s.visibility, np.float64)[idx]
        v[far] = 0.0
        kp.append(np.asarray(s.image_px, np.float64)[idx, :, :2])
        vis.append(v)
    return np.stack(kp), np.stack(vis)


def _on_floor_board(result, args):
    """The person's rig put on the floor board's frame (``--floor-board``, ``--floor-videos``)."""
    from movekit.analysis.extrinsics import align_to_floor_board
    from movekit.capture.board import detect_in_video, parse_board
    from movekit.errors import MovekitError

    spec = parse_board(args.floor_board)
    videos = args.floor_videos or []
    if len(videos) != len(result.cameras):
        raise MovekitError(f"--floor-videos: {len(videos)} given for {len(result.cameras)} cameras ('-' for none)")
    seen = []
    for video in videos:
        det = {} if video == "-" else detect_in_video(video, spec, max_frames=args.max_frames)[0]
        seen.append(max(det.values(), key=lambda d: len(d[0])) if det else None)
    return align_to_floor_board(result, seen, spec.points_m)


def _set_up_summary(cameras, where: str, subject_m=(0.0, 0.0, 0.0), vertical_from: str | None = None) -> str:
    """What two calibrated cameras will measure where the client stands (``subject_m``, lab m):
    their separation seen from there, and the angles each pose model's measured two-camera
    error shows from it (movekit.analysis.error_model.shown_angles; docs/validity.md, two-camera
    rows). Three or more cameras: the worst band's, as the triangulation is gated."""
    from movekit.analysis.error_model import MODEL_OPTION, POSE_MODELS, shown_angles, vertical_note
    from movekit.analysis.multiview import separation_deg

    n = len(cameras)
    sep = separation_deg(cameras[0], cameras[1], subject_m) if n == 2 else None
    head = (
        f"set-up: {cameras[0].name} and {cameras[1].name} are {sep:.0f} deg apart seen from {where}"
        if n == 2
        else f"set-up: {n} cameras (gated by the worst two-camera band)"
    )
    lines = [head]
    for model in (1, 2):
        shown = shown_angles(n_views=n, separation_deg=sep, pose_models=(model,) * n, vertical_from=vertical_from)
        names = ", ".join(k.removesuffix("_deg").replace("_", " ") for k in shown) or "none"
        lines.append(f"  angles shown, {POSE_MODELS[model]} pose model ({MODEL_OPTION[model]}): {names}")
    if note := vertical_note(vertical_from):
        lines.append(f"  trunk inclination, lateral lean, pelvic obliquity refused: {note}")
    if n == 2 and not 60 <= sep <= 120:
        lines.append(
            "  cameras 60-120 deg apart, seen from where the client stands, measure the most (docs/validity.md)"
        )
    return "\n".join(lines)


def run_extrinsics(args) -> int:
    from movekit.analysis.cameras import calibration_toml_text
    from movekit.analysis.extrinsics import board_extrinsics, keypoint_extrinsics
    from movekit.errors import MovekitError
    from movekit.outputs import check_output, write_output

    args.sources, recorded = _sources_and_names(args.sources)
    if len(args.sources) < 2:
        raise MovekitError("extrinsics need two or more cameras (one source each)")
    if not args.output.lower().endswith(".toml"):
        raise MovekitError(f"-o {args.output}: write the calibration as a .toml")
    if bool(args.floor_board) != bool(args.floor_videos) or (args.floor_board and not args.from_person):
        raise MovekitError("--floor-board and --floor-videos go together, with --from-person")
    floor = [v for v in args.floor_videos or [] if v != "-"]
    inputs = list(args.sources) + floor + [i for i in args.intrinsics if Path(i).exists()]
    out = check_output(args.output, PROFILE, overwrite=args.overwrite, inputs=inputs)
    names = recorded or [f"cam{i + 1:02d}" for i in range(len(args.sources))]
    cams = _intrinsics(args.intrinsics, len(args.sources), names, recorded)
    if args.board:
        from movekit.capture.board import detect_in_video, parse_board

        spec = parse_board(args.board)
        detections = []
        for src, cam in zip(args.sources, cams):
            det, size = detect_in_video(src, spec, max_frames=args.max_frames)
            if tuple(size) != (cam.width_px, cam.height_px):
                raise MovekitError(
                    f"{src}: {size[0]}x{size[1]} px, but its intrinsics are for {cam.width_px}x{cam.height_px}"
                )
            detections.append(det)
        result = board_extrinsics(cams, detections, spec.points_m)
    else:
        if args.height_m is None:
            raise MovekitError("--from-person needs --height-m (the person's standing height) for the scale")
        kp, vis = _person_views(args.sources, cams)
        result = keypoint_extrinsics(cams, kp, vis, height_m=args.height_m, max_frames=args.max_frames * 2)
        if args.floor_board:
            result = _on_floor_board(result, args)
    print(result.describe())
    result.require_usable()
    where = "the person" if result.method == "keypoints" else "the lab origin (the board)"
    print(_set_up_summary(result.cameras, where, vertical_from=result.vertical_from))
    write_output(out, calibration_toml_text(result.cameras, error_px=result.error_px, vertical=result.vertical_from))
    print(f"calibration: {out}")
    return 0
