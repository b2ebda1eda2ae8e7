"""``movekit export SOURCE --format trc|mot|c3d|bids|csv|parquet -o OUT``.

A recording made by ``movekit triangulate`` (or a capture set's ``pose_3d.mkrec``; the set stands for
it) has no camera pose: its markers are the triangulated landmarks in the lab frame turned to Y up
(:func:`movekit.export.markers.from_lab`: ``X = x, Y = z, Z = -y``), its angles those of ``movekit
angles`` on it (:func:`movekit.commands.angles.triangulated_table`: zero-phase, each with its measured
two-camera error, NaN where that is over the limit unless --keep-invalid), and its CSV/Parquet adds
the landmark columns as recorded (lab frame, z up, m).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from movekit.argtypes import float_range, fraction, positive_float
from movekit.outputs import strict_json

FORMATS = ("trc", "mot", "c3d", "bids", "csv", "parquet")
NAN_NOTE = (
    "angles the error model refuses (expected error over the limit or unknown for the view) are NaN, "
    "not dropped; each angle <name>_deg has its expected error in <name>_err_deg"
)
KEPT_NOTE = (
    "--keep-invalid: angles the error model refuses are KEPT (research use, not for clinical results); "
    "NaN only where landmarks are missing; each angle <name>_deg has its expected error in <name>_err_deg"
)
TRI_NAN_NOTE = (
    "angles whose measured two-camera error is over the limit (or was not measured for this set-up) are NaN, "
    "not dropped, as are frames where they were not triangulated; each angle <name>_deg has its measured "
    "error in <name>_err_deg"
)
TRI_KEPT_NOTE = (
    "--keep-invalid: angles over their measured two-camera error limit are KEPT (research use, not for clinical "
    "results); NaN only where not triangulated; each angle <name>_deg has its measured error in <name>_err_deg"
)
TRI_FILTER_NOTE = (
    "a triangulated recording's angles are always zero-phase, as movekit angles computes them (its measured "
    "two-camera errors are the offline filter's)"
)
TRI_LANDMARKS_NOTE = (
    "<landmark>_x_m, _y_m, _z_m: the triangulated landmarks (pose_3d_m) as recorded, in the calibration's lab "
    "frame (x, y horizontal, z up from the floor; m); NaN where a landmark was not triangulated"
)


#: how each file's times relate to the session clock (``t0_s`` in the sidecar: its first row's time)
TIME_NOTES = {
    "trc": "Time is 0 at the first frame, t0_s s on the session clock: session time = Time + t0_s (a TRC "
    "header has no place for it)",
    "mot": "time is 0 at the first row, t0_s s on the session clock (movekit_t0_s in the header): session "
    "time = time + t0_s",
    "c3d": "frame 1 is time 0 of points, analog samples and events, t0_s s on the session clock (MOVEKIT:T0_S "
    "in the file): session time = time from frame 1 + t0_s",
    "csv": "time_s is the session clock itself; the first row is at t0_s",
    "parquet": "time_s is the session clock itself; the first row is at t0_s (also in the file's movekit metadata)",
}


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "export",
        help="export a recording for research tools (OpenSim TRC/MOT, C3D, BIDS-Motion, CSV, Parquet)",
        description="trc: landmarks as OpenSim/Pose2Sim markers (m, MediaPipe names, Y up); mot: joint angles "
        "as an OpenSim motion file (refused angles NaN, expected errors beside them); c3d: points, every "
        "other stream as analog channels, events; bids: a BIDS-Motion style folder, one tracking "
        "system per stream at its own rate; csv/parquet: the angles table of 'movekit angles'. "
        "A triangulated recording (movekit triangulate, or a capture set's pose_3d.mkrec): markers are "
        "its 3D landmarks, lab frame turned to Y up (X = x, Y = z, Z = -y), missing where not "
        "triangulated; angles are those of 'movekit angles' on it; csv/parquet add the landmark columns "
        "(lab frame, z up). "
        "Files are written 0600 and never replace an existing file unless --overwrite; a sidecar "
        "OUT.json says how every number was made.",
    )
    p.add_argument(
        "source",
        help="recording directory, a capture set (its pose_3d.mkrec), or a video file (pose runs first; no "
        "sensors or events)",
    )
    p.add_argument("--format", required=True, choices=FORMATS)
    p.add_argument("-o", "--out", required=True, metavar="OUT", help="output file (a folder for bids)")
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    p.add_argument(
        "--space",
        choices=("2d", "3d"),
        default=None,
        help="markers: 3d (MediaPipe world landmarks; the default when the recording has them) or 2d "
        "(camera plane, scaled); angles: 2d (default, as 'movekit angles') or 3d; a triangulated "
        "recording is 3D only",
    )
    p.add_argument("--m-per-px", type=positive_float, default=None, help="2D marker scale (m/px, above 0)")
    p.add_argument(
        "--height-m",
        type=float_range(0.0, 3.0, lo_open=True, unit="m"),
        default=1.70,
        help="subject's nose-to-heel height for the default 2D scale (m, above 0 and at most 3; default 1.70)",
    )
    p.add_argument(
        "--min-visibility",
        type=fraction,
        default=0.5,
        help="landmarks seen less than this (0..1) are missing markers / masked before angles",
    )
    p.add_argument(
        "--offline",
        action="store_true",
        help="angles: zero-phase filtering (default causal; a triangulated recording's are always zero-phase)",
    )
    p.add_argument(
        "--keep-invalid",
        action="store_true",
        help="angles: keep those the error model refuses instead of NaN (research use; said in the header and sidecar)",
    )
    p.set_defaults(func=run)


def check_extension(out: Path, fmt: str) -> None:
    """Refuse, with one line, an OUT whose extension is not the format's (``.trc`` for trc, ...); a
    bids OUT is a folder and must not carry a file format's extension."""
    from movekit.errors import MovekitError

    suffix = out.suffix.lower()
    if fmt == "bids":
        if suffix in {f".{f}" for f in FORMATS} | {".json"}:
            raise MovekitError(f"-o {out}: --format bids writes a folder; give a folder name without {suffix}")
    elif suffix != f".{fmt}":
        raise MovekitError(
            f"-o {out}: --format {fmt} writes a .{fmt} file, so OUT must end in .{fmt} "
            f"(it ends in {suffix or 'no extension'}); nothing was written"
        )


def targets(out: Path, fmt: str) -> list[Path]:
    """Every path the export writes: OUT, plus OUT.json for single-file formats."""
    return [out] if fmt == "bids" else [out, out.with_name(out.name + ".json")]


def _session(source: str):
    """(Recording or None, PoseSeries or None, stored calibration profiles)."""
    from movekit.calibration import profiles_from_metadata

    path = Path(source)
    if path.is_dir():
        from movekit.assess.sources import triangulated_in_set
        from movekit.recording import open_recording

        path = triangulated_in_set(path)  # a capture set stands for its pose_3d.mkrec
        rec = open_recording(path)
        for problem in rec.problems:
            print(f"movekit: warning: {problem}", file=sys.stderr)
        pose = _pose_or_none(rec) if has_pose_streams(rec) else None
        return rec, pose, profiles_from_metadata(pose.calibration) if pose is not None else {}
    from movekit.commands.angles import load_trial

    pose, stored = load_trial(source)
    return None, pose, stored


def has_pose_streams(rec) -> bool:
    """Any camera pose stream written to the recording: read, counted at close, or a file on disk."""
    from movekit.recording import POSE_STREAMS, STREAM_SUFFIX, STREAMS_DIR

    counted = rec.metadata.get("samples")
    written = set(rec.streams) | set(counted if isinstance(counted, dict) else {})
    written |= {f.name.removesuffix(STREAM_SUFFIX) for f in (rec.path / STREAMS_DIR).glob(f"*{STREAM_SUFFIX}")}
    return bool(written & set(POSE_STREAMS))


def _pose_or_none(rec):
    """The recording's pose; a damaged one (a pose stream missing or unreadable) is refused with one
    line, never exported as a recording without markers."""
    from movekit.errors import MovekitError
    from movekit.recording import POSE_STREAMS

    try:
        return rec.pose()
    except MovekitError:
        lost = ", ".join(n for n in POSE_STREAMS if n not in rec.streams)
        raise MovekitError(
            f"{rec.path}: its pose is damaged ({lost} missing or unreadable), so it has no markers or angles "
            "to export; movekit info shows what is readable"
        ) from None


def is_triangulated(rec) -> bool:
    """A recording made by ``movekit triangulate``: the 3D pose ``pose_3d_m``, no camera pose streams."""
    from movekit.export.signals import POSE_3D

    return rec is not None and POSE_3D in rec.streams and "pose_image_px" not in rec.streams


def _only_3d(args) -> None:
    from movekit.errors import MovekitError

    if args.space == "2d":
        raise MovekitError(
            f"{args.source} is a triangulated recording (3D landmarks in the lab frame, no camera image): "
            "--space 2d does not apply; leave --space out"
        )


def _triangulated_frames(rec, args):
    """The ``pose_3d_m`` stream, refused with one line when nothing was triangulated."""
    import numpy as np

    from movekit.errors import MovekitError
    from movekit.export.signals import POSE_3D

    _only_3d(args)
    s = rec.streams[POSE_3D]
    if not len(s.t_s) or not np.isfinite(np.asarray(s.data, np.float64)).any():
        raise MovekitError(f"{args.source}: no triangulated frames to export (movekit info shows what it holds)")
    return s


def triangulated_angles(rec, args) -> tuple[dict, dict]:
    """The table of ``movekit angles`` on a triangulated recording (zero-phase; refused angles NaN
    unless ``--keep-invalid``), with the notes the exports write."""
    from movekit.commands.angles import triangulated_table

    _triangulated_frames(rec, args)
    keep = bool(getattr(args, "keep_invalid", False))
    cols, meta = triangulated_table(rec, offline=True, keep_invalid=keep)
    meta["nan"] = TRI_KEPT_NOTE if keep else TRI_NAN_NOTE
    meta["filter_note"] = TRI_FILTER_NOTE
    meta["source"] = str(args.source)
    return cols, meta


def _lab_markers(rec, args):
    """OpenSim markers (Y up) of a triangulated recording (:func:`movekit.export.markers.from_lab`)."""
    from movekit.export.markers import from_lab

    s = _triangulated_frames(rec, args)
    v = rec.streams.get("pose_3d_views")
    views = v.data if v is not None and len(v.t_s) == len(s.t_s) else None
    return from_lab(s.t_s, s.data, views)


def angle_table(pose, stored: dict, args) -> tuple[dict, dict]:
    """The table of ``movekit angles`` with the profiles stored in the recording."""
    from movekit.commands.angles import compute_table

    keep = bool(getattr(args, "keep_invalid", False))
    cols, meta = compute_table(
        pose,
        offline=args.offline,
        space=args.space or "2d",
        keep_invalid=keep,
        camera=stored.get("camera"),
        static=stored.get("static"),
        tilt=stored.get("tilt"),
        min_visibility=args.min_visibility,
    )
    meta["nan"] = KEPT_NOTE if keep else NAN_NOTE
    meta["source"] = str(args.source)
    return cols, meta


def _marker_space(pose, args) -> str:
    import numpy as np

    if args.space:
        return args.space
    return "3d" if np.isfinite(np.asarray(pose.world_m)).any() else "2d"


def _markers(pose, args):
    import numpy as np

    from movekit.errors import MovekitError
    from movekit.export.markers import from_pose

    if not (np.isfinite(np.asarray(pose.image_px)).any() or np.isfinite(np.asarray(pose.world_m)).any()):
        raise MovekitError(
            f"{args.source}: nobody was found in any of its {len(pose.t_s)} frames, so there are no "
            "markers to export (movekit info shows the detection rate)"
        )
    return from_pose(
        pose,
        space=_marker_space(pose, args),
        m_per_px=args.m_per_px,
        height_m=args.height_m,
        min_visibility=args.min_visibility,
    )


def _need_pose(pose, source: str, fmt: str):
    from movekit.errors import MovekitError

    if pose is None:
        raise MovekitError(f"{source} has no pose streams; {fmt} needs landmarks")
    return pose


def _bids_tracksys(rec, pose, cols: dict | None) -> list:
    import numpy as np

    from movekit.analysis.landmarks import NAMES
    from movekit.export.bids import tracksys_label
    from movekit.export.signals import Signal, from_stream, signals

    out = []
    if is_triangulated(rec) and len(rec.streams["pose_3d_m"]):
        sig = from_stream(rec.streams["pose_3d_m"])
        desc = ["triangulated landmark"] * len(sig.channels)
        opts = {"components": 3, "descriptions": desc, "types": ["POS"] * len(desc), "frame": "lab"}
        out.append(("triangulated", sig, opts))
    if rec is not None:
        for name, sys_name, frame in (
            ("pose_image_px", "mediapipeImage", "image"),
            ("pose_world_m", "mediapipeWorld", "camera"),
            ("pose_visibility", "mediapipeVisibility", None),
        ):
            if name in rec.streams and len(rec.streams[name]):
                sig = from_stream(rec.streams[name])
                comps = 3 if sig.data.shape[1] == 3 * len(NAMES) else 1
                out.append((sys_name, sig, {"components": comps, "frame": frame}))
    if cols is not None:
        names = [k for k in cols if k.endswith("_deg") and k != "time_s"]
        data = np.column_stack([np.asarray(cols[k], np.float64) for k in names])
        types = [
            "JNTANG" if k.endswith("_deg") and not k.endswith("_err_deg") and k != "body_yaw_deg" else "MISC"
            for k in names
        ]
        desc = [
            (
                "expected error of " + k.removesuffix("_err_deg") + "_deg (error model)"
                if k.endswith("_err_deg")
                else "estimated body yaw to the camera"
                if k == "body_yaw_deg"
                else "joint angle, NaN where the error model refuses it (or where not triangulated)"
                if is_triangulated(rec)
                else "joint angle, NaN where the error model refuses it"
            )
            for k in names
        ]
        sig = Signal(
            "angles",
            "angles",
            np.asarray(cols["time_s"], np.float64),
            data,
            tuple(k.removesuffix("_deg") for k in names),
            "deg",
            _rate(cols["time_s"]),
            False,
            {},
        )
        out.append(("movekitAngles", sig, {"types": types, "descriptions": desc}))
    if rec is not None:
        for sig in signals(rec):
            out.append((tracksys_label(sig.name), sig, {}))
    return out


def _rate(t_s) -> float:
    from movekit.analysis.pipeline import frame_rate

    return frame_rate(t_s)


def _export_trc(args, out: Path, source: Path, rec, pose, stored, side: dict) -> str:
    from movekit.export.files import write_text
    from movekit.export.trc import trc_text

    if is_triangulated(rec):
        m = _lab_markers(rec, args)
        missing = "blank field where a landmark was not triangulated"
    else:
        m = _markers(_need_pose(pose, args.source, "trc"), args)
        missing = "blank field where a landmark is not detected or seen less than min_visibility"
    write_text(out, trc_text(m, out.name), overwrite=args.overwrite)
    side.update(
        m.notes,
        frames=len(m.t_s),
        rate_hz=m.rate_hz,
        t0_s=float(m.t_s[0]) if len(m.t_s) else None,
        missing=missing,
    )
    return f"{len(m.t_s)} frames, {len(m.names)} markers ({side['space']}) at {m.rate_hz:.4g} Hz"


def _export_mot(args, out: Path, source: Path, rec, pose, stored, side: dict) -> str:
    import numpy as np

    from movekit.export.files import write_text
    from movekit.export.mot import mot_text

    tri = is_triangulated(rec)
    cols, meta = (
        triangulated_angles(rec, args) if tri else angle_table(_need_pose(pose, args.source, "mot"), stored, args)
    )
    numeric = {k: v for k, v in cols.items() if k not in ("time_s", "view")}
    notes = {
        "movekit_source": source.name,
        "movekit_nan": meta["nan"],
        "movekit_filter": meta["filter"],
        "movekit_space": meta["space"],
        "movekit_camera_tilt": meta["camera_tilt_note"],
        "movekit_t0_s": f"{float(cols['time_s'][0]):.6f}" if len(cols["time_s"]) else "n/a",
    }
    if tri:
        sep = meta.get("separation_deg")
        notes.update(
            movekit_cameras=",".join(str(c) for c in meta.get("cameras") or []) or "not recorded",
            movekit_separation_deg=f"{float(sep):.1f}" if isinstance(sep, int | float) else "n/a",
            movekit_refused=",".join(meta["refused_angles"]) or "none",
            movekit_filter_note=TRI_FILTER_NOTE,
        )
    write_text(out, mot_text(cols["time_s"], numeric, out.stem, notes), overwrite=args.overwrite)
    side.update(
        meta,
        view="per-frame view label is in the csv/parquet export only (MOT holds numbers)",
        t0_s=float(cols["time_s"][0]) if len(cols["time_s"]) else None,
    )
    n_ang = sum(1 for k in numeric if not k.endswith("_err_deg") and k != "body_yaw_deg")
    n_nan = sum(int(np.isnan(v).sum()) for k, v in numeric.items() if not k.endswith("_err_deg"))
    return (
        f"{len(cols['time_s'])} rows, {n_ang} angles with their errors, {n_nan} NaN values (refused or not measurable)"
    )


def _export_table(args, out: Path, source: Path, rec, pose, stored, side: dict) -> str:
    from movekit.commands.angles import write_table
    from movekit.export.files import atomic_output
    from movekit.export.table import PRECISION, write_csv

    tri = is_triangulated(rec)
    if tri:
        from movekit.export.signals import POSE_3D
        from movekit.export.table import landmark_columns

        cols, meta = triangulated_angles(rec, args)
        cols.update(landmark_columns(rec.streams[POSE_3D]))
        meta["landmarks"] = TRI_LANDMARKS_NOTE
    else:
        cols, meta = angle_table(_need_pose(pose, args.source, args.format), stored, args)
    if args.format == "csv":
        meta["precision"] = PRECISION
    meta["t0_s"] = float(cols["time_s"][0]) if len(cols["time_s"]) else None  # in the Parquet's metadata too
    with atomic_output(out, overwrite=args.overwrite) as tmp:
        if args.format == "csv":
            write_csv(cols, tmp)
        else:
            write_table(cols, meta, tmp, args.format)
    side.update(meta)
    return f"{len(cols['time_s'])} rows of angles{' and triangulated landmarks' if tri else ''} ({args.format})"


#: the frame of a triangulated recording's C3D points, short enough for one C3D string parameter
C3D_LAB_FRAME = "calibration lab frame (z up) turned -90 deg about x to Y up: X = x, Y = z, Z = -y"


def _export_c3d(args, out: Path, source: Path, rec, pose, stored, side: dict) -> str:
    from movekit.errors import MovekitError
    from movekit.export.c3d import write_c3d
    from movekit.export.files import atomic_output
    from movekit.export.signals import signals

    sigs = signals(rec) if rec is not None else []
    tri = is_triangulated(rec)
    if tri:  # the triangulated landmarks are the points, Y up
        m = _lab_markers(rec, args)
    elif pose is None:  # sensors only: analog channels, points empty at the fastest stream's rate
        from movekit.export.markers import no_markers

        if not sigs:
            raise MovekitError(f"{args.source} has neither pose nor sensor streams to export")
        m = no_markers(
            min(float(s.t_s[0]) for s in sigs), max(float(s.t_s[-1]) for s in sigs), max(s.rate_hz for s in sigs)
        )
    else:
        m = _markers(pose, args)
    with atomic_output(out, overwrite=args.overwrite) as tmp:
        info = write_c3d(
            tmp,
            m,
            sigs,
            rec.events if rec is not None else [],
            {"space": m.notes["space"], "frame": C3D_LAB_FRAME if tri else m.notes["frame"]},
        )
    side.update(m.notes, **info, point_units="mm")
    if tri:
        side.update(missing="residual -1 where a landmark was not triangulated (C3D's invalid point)")
    return (
        f"{info['frames']} frames x {len(m.names)} points at {info['point_rate_hz']:.4g} Hz, "
        f"{len(info['analog_labels'])} analog channels at {info['analog_rate_hz']:.6g} Hz, "
        f"{info['events']} events"
        + (f" ({len(info['events_left_out'])} before frame 1 left out: see notes)" if info["events_left_out"] else "")
        + f"; frame 1 at {info['t0_s']:.6f} s on the session clock"
    )


def _export_bids(args, out: Path, source: Path, rec, pose, stored, side: dict) -> str:
    """A BIDS-Motion folder; its own sidecars replace the notes file (``side`` is not written)."""
    from movekit import __version__
    from movekit.export.bids import label, write_bids
    from movekit.export.files import atomic_output

    if is_triangulated(rec):
        _only_3d(args)
        has = len(rec.streams["pose_3d_m"].t_s) > 0
        cols = triangulated_angles(rec, args)[0] if has else None
    else:
        cols = angle_table(pose, stored, args)[0] if pose is not None else None
    meta = rec.metadata if rec is not None else {}
    proto = meta.get("protocol")
    task = label(meta.get("task") or (proto.get("drill") if isinstance(proto, dict) else proto), "movekit")
    with atomic_output(out, overwrite=args.overwrite, folder=True) as tmp:
        info = write_bids(
            tmp,
            subject=label(meta.get("client"), "01"),
            task=task,
            tracksys=_bids_tracksys(rec, pose, cols),
            events=rec.events if rec is not None else [],
            movekit_version=__version__,
            source=str(source),
        )
    return (
        f"{len(info['tracksys'])} tracking systems ("
        + ", ".join(f"{s['tracksys']} {s['rate_hz']:.4g} Hz" for s in info["tracksys"])
        + f"), {info['events']} events; latency and onsets from {info['onset_s']:.6f} s on the session clock"
    )


_EXPORTERS = {
    "trc": _export_trc,
    "mot": _export_mot,
    "csv": _export_table,
    "parquet": _export_table,
    "c3d": _export_c3d,
    "bids": _export_bids,
}


def run(args) -> int:
    from movekit import __version__
    from movekit.errors import MovekitError
    from movekit.export.files import check_targets, write_text

    source, out, fmt = Path(args.source), Path(args.out), args.format
    if not source.exists():
        raise MovekitError(f"{source}: no such file or recording")
    check_extension(out, fmt)
    paths = targets(out, fmt)
    check_targets(paths, source, overwrite=args.overwrite)  # before any work: refuse early
    rec, pose, stored = _session(args.source)
    side: dict = {"source": str(source), "format": fmt, "movekit_version": __version__}
    summary = _EXPORTERS[fmt](args, out, source, rec, pose, stored, side)
    if fmt == "bids":
        print(f"{fmt}: {out} ({summary})")
        return 0
    side["time"] = TIME_NOTES[fmt]
    write_text(
        paths[1], json.dumps(strict_json(side), indent=2, default=str, allow_nan=False), overwrite=args.overwrite
    )
    print(f"{fmt}: {out} ({summary}); notes: {paths[1]}")
    return 0
