"""``movekit triangulate``: one 3D pose from two or more calibrated cameras (issue 17).

Before triangulating, each view's skeleton is checked against the others'
(:func:`movekit.analysis.association.check_recorded_views`): a stretch where a camera followed
another person, or did not see the client while the others did, is left out for that camera and
recorded as a ``view_excluded`` event (camera, span, reason) in the triangulated recording.

Synchronisation by the geometry keeps two recordings of the same length and rate as recorded
when the geometry cannot tell their recorded alignment from its best offset
(:func:`movekit.analysis.sync.keeps_recorded`: a camera orientation a degree or two off looks
like a time shift while the subject walks). A landmark triangulated for less than
:data:`movekit.analysis.multiview.MIN_RUN_S` at a stretch is left out. When (almost) nothing
triangulates the refusal names the likeliest cause: cameras that followed different people
(two views further apart than one person's, with several people in view), views that never show
one body (calibration, camera order, clock), or one person whose torso joints do not meet."""

from __future__ import annotations

from pathlib import Path

from movekit.argtypes import float_range


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "triangulate",
        help="3D pose from two or more calibrated camera recordings or videos",
        description="Put each camera's pose on one clock (the epipolar geometry finds the offsets "
        "unless given), triangulate it in the calibration's lab frame (z up, m) and write a "
        "recording with the stream pose_3d_m; a stretch where one camera followed another person or "
        "lost the client while the others saw them is left out for that camera and recorded as an "
        "event; prints each angle with its measured two-camera "
        "error or why it is refused (docs/validity.md, two-camera rows).",
    )
    p.add_argument(
        "sources",
        nargs="+",
        metavar="SOURCE",
        help="one per camera, in the calibration's camera order (or --cameras): a recording "
        "made by movekit capture, or a video (captured first); or one multi-camera capture "
        "(movekit capture A B -o SET)",
    )
    p.add_argument(
        "--calibration",
        required=True,
        metavar="FILE",
        help="Qualisys .qca.txt or Anipose/Pose2Sim .toml calibration of these cameras",
    )
    p.add_argument(
        "--cameras", metavar="NAME,NAME", help="the calibration's camera for each source, by name (default: file order)"
    )
    p.add_argument(
        "--sync",
        default=None,
        metavar="geometry|movement|none|S,S",
        help="how to find each view's offset to the first: the epipolar geometry (default; recordings "
        "of the same length and rate are kept as recorded unless the geometry clearly shows them "
        "offset), the movement, none (recorded together; the default for webcams captured together by "
        "movekit capture 0 1), or the offsets in seconds",
    )
    p.add_argument(
        "--max-lag",
        type=float_range(0.0, 600.0, lo_open=True, unit="s"),
        default=3.0,
        metavar="S",
        help="largest offset searched (s)",
    )
    p.add_argument(
        "--model-complexity",
        type=int,
        choices=(1, 2),
        default=1,
        help="pose model for sources given as videos: 1 full (default), 2 heavy (two cameras agree better with "
        "a refined calibration; docs/validity-other.md); a recording keeps the model it was captured with",
    )
    p.add_argument("-o", "--output", required=True, metavar="OUT.mkrec", help="recording to write")
    p.add_argument("--overwrite", action="store_true", help="replace an existing recording of this kind")
    p.set_defaults(func=run)


def _load(source: str, model_complexity: int = 1):
    """PoseSeries and metadata of a recording, or of a video captured in memory with ``model_complexity``."""
    import sys

    from movekit.errors import MovekitError
    from movekit.recording import open_recording

    path = Path(source)
    if (path / "meta.json").is_file():
        rec = open_recording(path)
    elif path.is_file():
        from movekit.capture.pipeline import capture_in_memory

        rec = capture_in_memory(path, model_complexity)
    else:
        raise MovekitError(f"{source}: no such recording or video")
    if "pose_image_px" not in rec.streams:
        raise MovekitError(f"{source}: holds no pose (capture the camera's video with movekit capture)")
    for problem in rec.problems:  # a crashed or cut recording: used as far as it goes, and said so
        print(f"movekit: warning: {problem}", file=sys.stderr)
    meta = dict(rec.metadata)
    meta["_problems"] = list(rec.problems)
    meta["_people_in_view"] = _people_in_view(rec.metadata, rec.events)
    meta["_events"] = list(rec.events)  # the capture's live view check marks (view_excluded, check "live")
    return rec.pose(), meta


def _people_in_view(meta: dict, events: list[dict]) -> int:
    """Most people the capture's person follower saw at once (``people_in_view`` events, the
    ``person_selection`` metadata); 1 when it recorded none."""
    counts = [int(e.get("count", 0)) for e in events if e.get("kind") == "people_in_view"]
    counts.append(int((meta.get("person_selection") or {}).get("people_at_start") or 1))
    return max(counts)


def _offsets(args, poses, cams) -> tuple[list[float], list[str]]:
    from movekit.analysis.sync import epipolar_offset_s, keeps_recorded, keypoint_speed, movement_offset_s
    from movekit.errors import MovekitError

    n = len(poses)
    if args.sync == "none":
        return [0.0] * n, ["none: recorded together"]
    if args.sync not in ("geometry", "movement"):
        try:
            vals = [float(v) for v in args.sync.split(",")]
        except ValueError:
            raise MovekitError(
                f"--sync {args.sync!r}: geometry, movement, none or one offset (s) per source after the first"
            ) from None
        if len(vals) == n and vals[0] != 0.0:
            raise MovekitError(
                f"--sync {args.sync!r}: the first source is the clock the others are put on (its offset is 0); "
                f"give {n - 1} offsets (s), one per source after the first"
            )
        if len(vals) == n - 1:
            vals = [0.0] + vals
        if len(vals) != n or not all(abs(v) < 3600 for v in vals):
            raise MovekitError(f"--sync {args.sync!r}: give {n - 1} offsets (s), one per source after the first")
        return vals, ["given"]
    offs, notes = [0.0], []
    a = poses[0]
    for i in range(1, n):
        b = poses[i]
        if args.sync == "geometry":
            r = epipolar_offset_s(a.t_s, a.image_px, b.t_s, b.image_px, cams[0], cams[i], max_lag_s=args.max_lag)
            lo, hi = r.plausible_s
            fit = f"median epipolar distance {r.score:.1f} px; {lo:+.3f} to {hi:+.3f} s fit as well within 15 %"
            if _same_take(a.t_s, b.t_s) and keeps_recorded(r, 0.0):
                notes.append(
                    f"view {i + 1}: +0.000 s as recorded (both recordings have {len(a.t_s)} frames at one rate, "
                    f"and the geometry cannot tell 0 s from its best, {r.offset_s:+.3f} s: {fit}; a camera "
                    "orientation off by a degree looks like a time shift while the subject walks)"
                )
                offs.append(0.0)
                continue
            notes.append(f"view {i + 1}: {r.offset_s:+.3f} s by the geometry ({fit})")
        else:
            r = movement_offset_s(
                a.t_s,
                keypoint_speed(a.t_s, a.image_px),
                b.t_s,
                keypoint_speed(b.t_s, b.image_px),
                max_lag_s=args.max_lag,
            )
            notes.append(f"view {i + 1}: {r.offset_s:+.3f} s by the movement (correlation {r.score:.2f})")
        offs.append(r.offset_s)
    return offs, notes


def _same_take(t_a, t_b) -> bool:
    """Two recordings that look cut from one synchronised take: the same number of frames at the
    same rate (within 0.5 %). Videos started by hand practically never match to the frame."""
    import numpy as np

    if len(t_a) != len(t_b) or len(t_a) < 2:
        return False
    da, db = float(np.median(np.diff(t_a))), float(np.median(np.diff(t_b)))
    return abs(da - db) <= 0.005 * max(da, db)


def run(args) -> int:
    import sys

    import numpy as np

    from movekit.analysis.association import check_recorded_views
    from movekit.analysis.cameras import calibration_vertical, check_frame_sizes
    from movekit.analysis.multiview import MIN_RUN_S, separation_deg, triangulate_views
    from movekit.errors import MovekitError
    from movekit.outputs import TRIANGULATED, check_output

    _expand_capture_set(args)
    if len(args.sources) < 2:
        raise MovekitError("triangulation needs two or more sources, one per calibrated camera")
    out = check_output(
        args.output, TRIANGULATED, overwrite=args.overwrite, inputs=list(args.sources) + [args.calibration]
    )
    cams = _cameras(args)
    loaded = [_load(s, args.model_complexity) for s in args.sources]
    poses = [p for p, _ in loaded]
    check_frame_sizes(cams, [p.frame_size_px for p in poses], args.sources)
    if any(len(p.t_s) < 2 for p in poses):
        raise MovekitError("a source has fewer than two frames of pose: nothing to triangulate")
    lengths = [float(p.t_s[-1] - p.t_s[0]) for p in poses]
    uneven = max(lengths) > 1.2 * min(lengths) + 0.1
    if uneven:
        print(
            "movekit: warning: the sources last "
            + ", ".join(f"{c.name} {d:.2f} s" for c, d in zip(cams, lengths))
            + ": one take filmed at the rates recorded should last about as long in every camera "
            "(a recording cut short, or a wrong frame rate in a video's header)",
            file=sys.stderr,
        )
    offsets, notes = _offsets(args, poses, cams)
    check, visibility = check_recorded_views(
        [p.t_s for p in poses],
        [p.image_px for p in poses],
        [p.visibility for p in poses],
        cams,
        offsets,
        marked=[m["_events"] for _, m in loaded],
    )
    tp = triangulate_views([p.t_s for p in poses], [p.image_px for p in poses], visibility, cams, offsets_s=offsets)
    seen = np.isfinite(tp.points_m[:, [11, 12, 23, 24], 0]).all(axis=1)
    if seen.sum() < 3:
        raise MovekitError(_refusal(check, tp, cams, [m for _, m in loaded], notes))
    short = tp.short_run if tp.short_run is not None else np.zeros(tp.n_views.shape, bool)
    passing = int(short[:, [11, 12, 23, 24]].any(axis=1).sum())
    sep = (
        separation_deg(cams[0], cams[1], np.nanmedian(0.5 * (tp.points_m[:, 23] + tp.points_m[:, 24]), axis=0))
        if len(cams) == 2
        else float("nan")
    )
    meta = {
        "source": {"views": [str(s) for s in args.sources]},
        "client": next((m.get("client") for _, m in loaded if m.get("client")), None),
        "multiview": {
            "calibration": str(args.calibration),
            "cameras": [c.name for c in cams],
            "offsets_s": offsets,
            "sync": notes,
            "separation_deg": sep,
            "frames_triangulated": int(seen.sum()),
            "views_excluded": [e["text"] for e in check.events],
            "frames_left_out_short_runs": passing,
            "pose_models": _pose_models([m for _, m in loaded]),
            "source_problems": [p for _, m in loaded for p in m["_problems"]],
            "vertical_from": calibration_vertical(args.calibration),
            "durations_s": lengths,
        },
    }
    _write_3d(out, meta, tp, check.events, overwrite=args.overwrite)
    print(
        f"{out}: {int(seen.sum())} of {len(tp.t_s)} frames triangulated from {len(cams)} cameras "
        f"({', '.join(c.name for c in cams)}" + (f", {sep:.0f} deg apart" if np.isfinite(sep) else "") + ")"
    )
    for n in notes:
        print(f"  sync {n}")
    for e in check.events:
        print(f"  excluded: {e['text']} (not triangulated from that view)")
    if passing:
        print(f"  left out: {passing} frames whose torso the views agreed on for under {MIN_RUN_S:g} s at a stretch")
    _print_angles(tp, len(cams), sep, meta["multiview"]["pose_models"], meta["multiview"]["vertical_from"])
    if any(Path(s).is_file() for s in args.sources):
        print(
            "note: the pose of the videos was not kept; movekit capture VIDEO VIDEO -o SET --cameras ... keeps "
            "each camera's recording, so that triangulate SET runs again (another calibration or --sync) "
            "without the pose model"
        )
    return 0


def _pose_models(metas: list[dict]) -> list[int | None]:
    """Each view's pose model (``model_complexity``; None when its recording does not say)."""
    out = []
    for m in metas:
        c = (m.get("pose_model") or {}).get("model_complexity")
        out.append(int(c) if isinstance(c, int | float) else None)
    return out


def _refusal(check, tp, cams, metas: list[dict], notes: list[str]) -> str:
    """Why (almost) nothing was triangulated, the likeliest cause first.

    Two views whose skeletons are further apart than one person's two views ever are
    (:data:`movekit.analysis.association.MAX_PAIR_ERROR_TORSO`, median over the take) show two
    people when a capture saw several (its follower took one of them, the largest by default),
    else a calibration, camera order or clock that does not fit. Views that do show one person
    but triangulate in too few frames point at the joints: the calibration or the detections."""
    import numpy as np

    from movekit.analysis.association import MAX_PAIR_ERROR_TORSO
    from movekit.analysis.multiview import MIN_RUN_S
    from movekit.analysis.triangulation import DEFAULT_MAX_REPROJ_PX

    names = [c.name for c in cams]
    excluded = "".join(f"; {e['text']}" for e in check.events[:3])
    err = check.errors_torso[0] if len(cams) == 2 else np.full(1, np.nan)
    med = float(np.nanmedian(err)) if np.isfinite(err).any() else float("nan")
    crowded = [(n, m) for n, m in zip(names, metas) if m.get("_people_in_view", 1) > 1]
    if np.isfinite(med) and med > MAX_PAIR_ERROR_TORSO and crowded:
        chose = "; ".join(
            f"{n} saw {m['_people_in_view']} people and followed the "
            f"{(m.get('person_selection') or {}).get('strategy', 'largest')}"
            for n, m in crowded
        )
        return (
            f"cameras {' and '.join(names)} followed different people: their skeletons lie a median "
            f"{med:.2f} torso lengths apart where one person's two views lie within {MAX_PAIR_ERROR_TORSO:g} ({chose}). "
            "Capture each video again following the same person (movekit capture VIDEO --person X,Y at that "
            "person in the first frame), then triangulate" + excluded
        )
    if np.isfinite(med) and med > MAX_PAIR_ERROR_TORSO or not np.isfinite(med):
        return (
            "the views never show one body (fewer than 3 frames triangulated"
            + (f"; skeletons a median {med:.2f} torso lengths apart" if np.isfinite(med) else "")
            + "): check the calibration, the camera order (--cameras) and the synchronisation (--sync: "
            + "; ".join(notes)
            + ")"
            + excluded
        )
    torso = {11: "left shoulder", 12: "right shoulder", 23: "left hip", 24: "right hip"}
    with np.errstate(all="ignore"):
        rp = np.array(
            [np.nanmedian(tp.reproj_px[:, j]) if np.isfinite(tp.reproj_px[:, j]).any() else -1.0 for j in torso]
        )
    worst = list(torso)[int(np.argmax(rp))]
    return (
        f"the views show one person but agree on all four torso joints in fewer than 3 frames for {MIN_RUN_S:g} s "
        f"at a stretch (the {torso[worst]} reprojects a median {rp.max():.0f} px off; a joint is used within "
        f"{DEFAULT_MAX_REPROJ_PX:g} px): a camera's orientation is off, the model misplaces that joint in one "
        "view, or the offset between the views is wrong (sync: " + "; ".join(notes) + "). With a third camera "
        "movekit calibrate refine corrects the orientations" + excluded
    )


def check_calibration(path: str, n_sources: int) -> None:
    """Read a calibration now (MovekitError if unreadable or with fewer cameras than sources)."""
    from movekit.analysis.cameras import read_calibration
    from movekit.errors import MovekitError

    cams = read_calibration(path)
    if len(cams) < n_sources:
        raise MovekitError(f"{path} has {len(cams)} cameras for {n_sources} sources")


def _expand_capture_set(args) -> None:
    """A capture set (``movekit capture A B -o SET``) stands for its cameras' recordings, named as
    captured (``--cameras`` default when the calibration has those names); webcams captured together
    share one clock, so ``--sync`` defaults to none for them."""
    from movekit.capture.multicam import is_capture_set, read_capture_set

    if len(args.sources) == 1 and is_capture_set(args.sources[0]):
        info = read_capture_set(args.sources[0])
        args.sources = [c["recording"] for c in info["cameras"]]
        if args.cameras is None:
            from movekit.analysis.cameras import read_calibration

            names = [c["name"] for c in info["cameras"]]
            known = {c.name for c in read_calibration(args.calibration)}
            args.cameras = ",".join(names) if set(names) <= known else None
        if args.sync is None and info["clock"].startswith("one session clock"):
            args.sync = "none"
    if args.sync is None:
        args.sync = "geometry"


def _cameras(args) -> list:
    """The calibration's cameras, one per source, in the order ``--cameras`` names them (default: file order)."""
    from movekit.analysis.cameras import read_calibration
    from movekit.errors import MovekitError

    cams = read_calibration(args.calibration)
    from movekit.capture.multicam import recorded_camera_names

    recorded = recorded_camera_names(args.sources)
    if not args.cameras and recorded and set(recorded) <= {c.name for c in cams}:
        args.cameras = ",".join(recorded)  # each recording knows its camera: take the calibration's by name
    if args.cameras:
        names = [s.strip() for s in args.cameras.split(",")]
        if len(names) != len(args.sources) or len(set(names)) != len(names):
            raise MovekitError(
                f"--cameras {args.cameras!r}: give {len(args.sources)} distinct camera names, one per source"
            )
        by = {c.name: c for c in cams}
        missing = [n for n in names if n not in by]
        if missing:
            raise MovekitError(f"--cameras: {', '.join(missing)} not in {args.calibration} (it has {', '.join(by)})")
        cams = [by[n] for n in names]
    if len(cams) < len(args.sources):
        raise MovekitError(f"{args.calibration} has {len(cams)} cameras for {len(args.sources)} sources")
    return cams[: len(args.sources)]


def _write_3d(out, meta: dict, tp, events: list[dict], *, overwrite: bool) -> None:
    """The recording of the triangulated pose: ``pose_3d_m`` (lab frame, z up), views used, reprojection
    error (px), and a ``view_excluded`` event per stretch a view was left out of (camera, span, reason)."""
    import numpy as np

    from movekit.analysis.landmarks import NAMES as LANDMARK_ORDER
    from movekit.recording import RecordingWriter, StreamSpec

    fs = 1.0 / float(np.median(np.diff(tp.t_s))) if len(tp.t_s) > 1 else None
    names = tuple(LANDMARK_ORDER)  # columns named by landmark (left_knee_x_m), as the camera streams
    with RecordingWriter(out, meta, overwrite=overwrite) as rec:
        rec.add_stream(
            StreamSpec(
                "pose_3d_m",
                (33, 3),
                "m",
                fs,
                names,
                kind="pose_3d",
                attrs={"frame": "lab, z up (the calibration's world frame)"},
            )
        )
        rec.add_stream(
            StreamSpec(
                "pose_3d_views",
                (33,),
                "1",
                fs,
                tuple(f"{n}_views" for n in names),
                kind="pose_3d",
                attrs={"what": "views each landmark was triangulated from (0: not triangulated)"},
            )
        )
        rec.add_stream(
            StreamSpec(
                "pose_3d_reproj_px", (33,), "px", fs, names, kind="pose_3d", attrs={"what": "mean reprojection error"}
            )
        )
        rec.append("pose_3d_m", tp.t_s, tp.points_m.astype(np.float32))
        rec.append("pose_3d_views", tp.t_s, tp.n_views.astype(np.float32))
        rec.append("pose_3d_reproj_px", tp.t_s, tp.reproj_px.astype(np.float32))
        for e in events:
            rec.event(e["t_s"], **{k: v for k, v in e.items() if k != "t_s"})


#: A summary median is printed from at least this much of the take (s) with the angle triangulated:
#: the two-camera rows were measured over whole takes of 1.65 s; a handful of frames where the views
#: agree in passing is no summary (a 4-of-100-frames triangulation printed a shoulder abduction).
MIN_MEDIAN_S = 0.5


def _signs(name: str) -> str:
    """An angle's zero and signs in a few words ("0 upright, lean to the subject's right +")."""
    from movekit.analysis.angles import ANGLES

    parts = [p.strip() for p in ANGLES[name].convention.split(";")]
    return next((p for p in parts[1:] if "+" in p or "=" in p), parts[0])


def _print_angles(tp, n_cameras: int, sep: float, pose_models=(), vertical_from: str | None = None) -> None:
    """Median 3D joint angles with their measured two-camera error, or why each is refused (docs/validity.md)."""
    import numpy as np

    from movekit.analysis.error_model import MAX_ERROR_DEG, multiview_alternative, multiview_errors, pose_model_note
    from movekit.analysis.multiview import angles_3d
    from movekit.analysis.pipeline import frame_rate

    ang = angles_3d(tp)
    names = list(ang)
    set_up = {"n_views": n_cameras, "separation_deg": sep, "pose_models": pose_models, "vertical_from": vertical_from}
    err = multiview_errors(names, **set_up)
    note = pose_model_note(pose_models)
    unmeasured = f"no measured error with {note}" if note else "no measured error for this set-up"
    fs = frame_rate(tp.t_s)
    for name, e in zip(names, err):
        v = ang[name]
        n = int(np.isfinite(v).sum())
        if np.isfinite(e) and e <= MAX_ERROR_DEG:
            if n / fs < MIN_MEDIAN_S:
                print(
                    f"  {name:32s} not shown: triangulated in {n} frames ({n / fs:.2f} s), too few for a median "
                    f"(at least {MIN_MEDIAN_S:g} s)"
                )
            else:
                print(
                    f"  {name:32s} median {float(np.nanmedian(v)):7.1f} +-{e:.1f} deg ({n / fs:.2f} s of frames; "
                    f"{_signs(name)})"
                )
        else:
            why = f"measured error {e:.1f} deg > {MAX_ERROR_DEG:g}" if np.isfinite(e) else unmeasured
            alt = multiview_alternative(name, **set_up)
            print(f"  {name:32s} refused: {why} (docs/validity.md, two-camera rows); {alt}")
