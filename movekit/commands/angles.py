"""``movekit angles SOURCE -o OUT.csv [--offline] [--format csv|parquet]``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from movekit.argtypes import fraction
from movekit.outputs import (
    JSON,
    TABLE,
    add_overwrite_argument,
    atomic_path,
    check_output,
    strict_json,
    write_output,
)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "angles",
        help="clinical joint angles per frame from a recording or a video",
        description="Joint angles (0 deg at anatomical neutral, signed, never wrapped) per frame, with "
        "the camera view. SOURCE is a recording (*.mkrec) or a video (pose runs first). "
        "Angles not valid in the frame's view (e.g. knee valgus from a side view) are NaN "
        "unless --keep-invalid; a sidecar OUT.json describes every column.",
    )
    p.add_argument("source", help="recording directory or video file")
    p.add_argument("-o", "--out", required=True, metavar="OUT", help="output table (.csv or .parquet)")
    p.add_argument(
        "--offline",
        action="store_true",
        help="zero-phase filtering (no lag; for reports). Default: causal, as live cues see it; a "
        "triangulated recording is always zero-phase (its measured errors are)",
    )
    p.add_argument(
        "--format",
        choices=("csv", "parquet"),
        default=None,
        help="output format (default: from the file suffix, else csv)",
    )
    p.add_argument(
        "--space",
        choices=("2d", "3d"),
        default="2d",
        help="2d: image plane (default, valid only in the matching view); 3d: world landmarks",
    )
    p.add_argument("--keep-invalid", action="store_true", help="keep angles measured in the wrong view instead of NaN")
    p.add_argument("--raw", action="store_true", help="no cleaning (visibility mask only)")
    p.add_argument("--camera", metavar="PROFILE", help="camera calibration profile (undistorts landmarks)")
    p.add_argument("--static", metavar="PROFILE", help="static-pose offsets profile (subtracted per angle)")
    p.add_argument(
        "--tilt",
        metavar="PITCH,ROLL|level|PROFILE",
        help="camera tilt in deg (pitch + looking down, roll + clockwise seen from behind), 'level' "
        "for a camera checked level, or a profile from 'movekit calibrate level'; default: the "
        "one stored in the recording, else unknown (vertical-referenced angles are then refused "
        "where the tilt could matter)",
    )
    p.add_argument("--min-visibility", type=fraction, default=0.5, help="landmark visibility threshold (0..1)")
    add_overwrite_argument(p, "tables")
    p.set_defaults(func=run)


def load_trial(source: str):
    """(PoseSeries, calibration profiles it was captured with) from a recording directory, or
    from a video file (running the pose model; the camera tilt is measured from the video)."""
    from movekit.errors import MovekitError

    path = Path(source)
    if not path.exists():
        raise MovekitError(f"{source}: no such file or recording")
    if path.is_dir():
        from movekit.recording import open_recording

        rec = open_recording(path)
        for problem in rec.problems:  # a cut or damaged recording: say what was recovered
            print(f"movekit: warning: {problem}", file=sys.stderr)
        from movekit.calibration import profiles_from_metadata

        pose = rec.pose()
        return pose, profiles_from_metadata(pose.calibration)
    from movekit.calibration import profiles_from_metadata
    from movekit.capture.pipeline import capture_in_memory

    print(f"running pose on {path.name} ...", file=sys.stderr)
    pose = capture_in_memory(path).pose()  # the camera tilt measured from the video comes with it
    return pose, profiles_from_metadata(pose.calibration)


def load_pose(source: str):
    """PoseSeries from a recording directory or a video file (running the pose model)."""
    return load_trial(source)[0]


def err_column(name: str) -> str:
    """Column of an angle's expected error: ``left_knee_flexion_deg`` -> ``left_knee_flexion_err_deg``."""
    return name.removesuffix("_deg") + "_err_deg"


def compute_table(
    pose,
    *,
    offline: bool,
    space: str = "2d",
    keep_invalid: bool = False,
    raw: bool = False,
    camera=None,
    static=None,
    tilt=None,
    min_visibility: float = 0.5,
):
    """(columns dict, metadata dict) for a PoseSeries; see :func:`run`.

    Every angle column ``<name>_deg`` has its expected error beside it, ``<name>_err_deg``
    (:mod:`movekit.analysis.error_model`); an angle whose error is over the limit or unknown is
    NaN unless ``keep_invalid``.
    """
    import numpy as np

    from movekit.analysis.error_model import finite_or_nan
    from movekit.analysis.filters import CleanConfig
    from movekit.calibration import analyse_calibrated

    cfg = CleanConfig(max_gap_s=0.0, hampel_half_window=0, cutoff_hz=None) if raw else CleanConfig()
    profiles = {k: v for k, v in (("camera", camera), ("tilt", tilt)) if v is not None}
    res = analyse_calibrated(
        pose,
        profiles,
        space=space,
        offline=offline,
        config=cfg,
        min_visibility=min_visibility,
        gate=not keep_invalid,
        offsets=static.offsets_deg if static is not None else None,
    )
    cols = {"time_s": np.asarray(pose.t_s, dtype=np.float64)}
    for name, a in res.angles.items():
        cols[name] = a
        cols[err_column(name)] = finite_or_nan(res.error_deg[name])
    cols["body_yaw_deg"] = res.yaw_deg
    cols["view"] = np.asarray(res.view).astype(str)
    mode = "raw (visibility mask only)" if raw else res.mode
    meta = {
        "filter": mode,
        "space": space,
        "invalid_angles": "kept"
        if keep_invalid
        else f"NaN where the expected error is over {res.max_error_deg:g} deg or unknown",
        "camera_profile": getattr(camera, "name", None),
        "static_profile": getattr(static, "name", None),
        "camera_tilt": tilt.to_dict() if tilt is not None else None,
        "camera_tilt_note": tilt.describe()
        if tilt is not None
        else "camera tilt unknown: every tilt the error model has validated is assumed",
        "error_model": "expected error = mean absolute error against a multi-camera reference for this "
        "estimated body yaw and residual camera tilt (docs/validity.md)",
        "columns": column_notes(),
    }
    return cols, meta


def column_notes() -> dict[str, dict]:
    """Each angle column's plane, sign convention (0 at anatomical neutral; left/right the
    subject's), whether it is a proxy, its error column and its source: the same definitions on
    the 2D and the triangulated path."""
    from movekit.analysis.angles import ANGLES

    return {
        name: {
            "plane": d.plane,
            "convention": d.convention,
            "proxy": d.proxy,
            "error_column": err_column(name),
            "source": d.source,
        }
        for name, d in ANGLES.items()
    }


def write_table(cols: dict, meta: dict, out: Path, fmt: str) -> None:
    import numpy as np
    import pyarrow as pa

    arrays = {
        k: (pa.array(v) if k == "view" else pa.array(np.asarray(v, np.float64), pa.float64())) for k, v in cols.items()
    }
    table = pa.table(arrays)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        table = table.replace_schema_metadata({"movekit": json.dumps(strict_json(meta), allow_nan=False)})
        pq.write_table(table, out)
        return
    from movekit.export.table import write_csv

    write_csv(cols, out)  # one CSV writer with the export's (6 decimals)


def triangulated_table(rec, *, offline: bool = True, keep_invalid: bool = False, raw: bool = False):
    """(columns, metadata) of a recording made by ``movekit triangulate``: the clinical angles of
    its ``pose_3d_m`` (lab frame; :func:`movekit.analysis.multiview.angles_3d`), each with the
    measured error of its set-up (:func:`movekit.analysis.error_model.multiview_errors`: the
    number of cameras and, for two, their separation) and NaN where that is over the limit.
    ``raw``: no cleaning (no outlier filter, gap fill or low-pass), as on the 2D path."""
    import numpy as np

    from movekit.analysis.error_model import MAX_ERROR_DEG, multiview_alternative, multiview_errors
    from movekit.analysis.filters import CleanConfig
    from movekit.analysis.multiview import TriangulatedPose, angles_3d

    s = rec.streams["pose_3d_m"]
    n = len(s.t_s)
    mv = rec.metadata.get("multiview") or {}
    n_views = len(mv.get("cameras") or []) or 2
    sep = mv.get("separation_deg")
    tp = TriangulatedPose(np.asarray(s.t_s, dtype=np.float64), np.asarray(s.data, dtype=np.float64).reshape(n, 33, 3),
                          np.zeros((n, 33), int), np.zeros((n, 33)))  # fmt: skip
    cfg = CleanConfig(max_gap_s=0.0, hampel_half_window=0, cutoff_hz=None) if raw else CleanConfig()
    ang = angles_3d(tp, offline=offline, config=cfg)
    models = mv.get("pose_models") or ()
    set_up = {
        "n_views": n_views,
        "separation_deg": None if sep is None else float(sep),
        "pose_models": models,
        "vertical_from": mv.get("vertical_from"),
    }
    err = multiview_errors(list(ang), **set_up)
    cols, refused = {"time_s": tp.t_s}, {}
    for (name, a), e in zip(ang.items(), err):
        ok = np.isfinite(e) and e <= MAX_ERROR_DEG
        cols[name] = a if (ok or keep_invalid) else np.full(n, np.nan)
        cols[err_column(name)] = np.full(n, e)
        if not ok:
            refused[name] = {
                "measured_error_deg": float(e) if np.isfinite(e) else None,
                "set_up_advice": multiview_alternative(name, **set_up),
            }
    cols["view"] = np.full(n, "triangulated")
    mode = "raw (no cleaning)" if raw else "offline (zero-phase)" if offline else "causal"
    meta = {"filter": mode, "space": "3d-triangulated",
            "cameras": mv.get("cameras"), "separation_deg": sep, "pose_models": list(models),
            "invalid_angles": "kept" if keep_invalid else f"NaN where the measured error is over {MAX_ERROR_DEG:g} deg",
            "error_model": "expected error = the error 9 of 10 frames stayed within, from two cameras this "
            "far apart, against a four-camera reference (docs/validity.md, two-camera rows); frames where the "
            "low-pass moved an angle by over 10 deg are NaN",
            "camera_tilt_note": "lab frame from the calibration (z up)",
            "refused_angles": refused, "columns": column_notes(),
            "frames_triangulated": int(np.isfinite(tp.points_m[:, [11, 12, 23, 24]]).all(axis=(1, 2)).sum())}  # fmt: skip
    return cols, meta


def _sideways_warning(pose) -> str | None:
    """A warning when the person never stands upright in the image (a video turned on its side:
    the vertical-referenced angles and the view are then read along the wrong image axis)."""
    import numpy as np

    from movekit.assess._pose import MAX_UPRIGHT_TILT_DEG, UPRIGHT_QUANTILE, trunk_tilt_from_image_vertical_deg

    tilt = trunk_tilt_from_image_vertical_deg(pose.image_px)
    tilt = tilt[np.isfinite(tilt)]
    if not tilt.size or np.percentile(tilt, UPRIGHT_QUANTILE) <= MAX_UPRIGHT_TILT_DEG:
        return None
    return (
        f"the person is never upright in the image (trunk {np.percentile(tilt, UPRIGHT_QUANTILE):.0f} deg or "
        "more from the image vertical): the video looks rotated; rotate it upright and capture it again"
    )


def _is_triangulated(source: Path) -> bool:
    """A recording made by ``movekit triangulate`` (3D pose, no camera pose streams), told by its
    stream files without reading them (the 2D path reads the recording itself)."""
    from movekit.recording import STREAM_SUFFIX, STREAMS_DIR

    streams = source / STREAMS_DIR
    return (streams / f"pose_3d_m{STREAM_SUFFIX}").is_file() and not (
        streams / f"pose_image_px{STREAM_SUFFIX}"
    ).is_file()


def _write(out: Path, side: Path, fmt: str, cols: dict, meta: dict) -> None:
    """The table and its JSON sidecar, each atomically (the output policy was checked before)."""
    from movekit.errors import MovekitError

    if fmt == "csv":
        from movekit.export.table import PRECISION

        meta = {**meta, "precision": PRECISION}
    try:
        with atomic_path(out) as tmp:
            write_table(cols, meta, tmp, fmt)
        write_output(side, json.dumps(strict_json(meta), indent=2, default=float, allow_nan=False))
    except OSError as exc:
        raise MovekitError(f"cannot write {exc.filename or out}: {exc.strerror or exc}") from None


def run(args) -> int:
    from movekit.assess.sources import triangulated_in_set

    if Path(args.source).is_dir():  # a capture set (movekit capture A B -o SET) stands for its pose_3d.mkrec
        args.source = str(triangulated_in_set(Path(args.source)))
    out = Path(args.out)
    fmt = args.format or ("parquet" if out.suffix.lower() == ".parquet" else "csv")
    inputs = [args.source, args.camera, args.static, args.tilt if args.tilt and Path(args.tilt).exists() else None]
    check_output(out, TABLE, overwrite=args.overwrite, inputs=inputs)
    side = check_output(
        out.with_suffix(out.suffix + ".json"), JSON, overwrite=args.overwrite, inputs=inputs, flag="-o (its sidecar)"
    )
    from movekit.calibration import load_camera_profile, load_static_profile, load_tilt
    from movekit.commands.calibrate import guarded_load

    camera = guarded_load(load_camera_profile, args.camera) if args.camera else None
    static = guarded_load(load_static_profile, args.static) if args.static else None
    tilt = guarded_load(load_tilt, args.tilt) if args.tilt else None
    if _is_triangulated(Path(args.source)):  # movekit triangulate's recording: the 3D path
        from movekit.errors import MovekitError
        from movekit.recording import open_recording

        rec = open_recording(args.source)
        for problem in rec.problems:  # a cut or damaged recording: say what was recovered
            print(f"movekit: warning: {problem}", file=sys.stderr)
        if not len(rec.streams["pose_3d_m"].t_s):
            raise MovekitError(f"{args.source}: no triangulated frames to compute angles from")
        # always zero-phase: a triangulated recording is made after the take, and its measured
        # two-camera errors are the offline filter's (causal was 2-4 deg worse on lateral lean)
        cols, meta = triangulated_table(rec, offline=True, keep_invalid=args.keep_invalid, raw=args.raw)
        meta["source"] = str(args.source)
        _write(out, side, fmt, cols, meta)
        shown = [k for k in cols if k.endswith("_deg") and not k.endswith("_err_deg")]
        within = [k for k in shown if k not in meta["refused_angles"] and (cols[k] == cols[k]).any()]
        print(
            f"{meta['frames_triangulated']} of {len(cols['time_s'])} frames triangulated from {len(meta['cameras'] or [])} cameras: "
            f"{len(within)} of {len(shown)} angles within their measured error ({', '.join(within) or 'none'})"
            + (
                "; with --keep-invalid the refused angles' columns hold their numbers too (research only)"
                if args.keep_invalid
                else ""
            )
        )
        advice = {k: v["set_up_advice"] for k, v in meta["refused_angles"].items()}
        for name, why in advice.items():
            if why.startswith("shown with"):
                print(f"  {name}: refused here, {why}")
        if nowhere := [k for k, why in advice.items() if not why.startswith("shown with")]:
            print(f"  no measured two-camera set-up shows these: {', '.join(nowhere)}")
        print(f"angles: {out} ({fmt}); column notes: {side}")
        return 0
    pose, stored = load_trial(args.source)
    if tilt is None and "tilt" in stored:
        tilt = stored["tilt"]
        print(f"using the camera tilt stored in the recording ({tilt.describe()})", file=sys.stderr)
    if camera is None and "camera" in stored:
        camera = stored["camera"]
        print(f"using the camera profile stored in the recording ({camera.name})", file=sys.stderr)
    if static is None and "static" in stored:
        static = stored["static"]
        print(f"using the static-pose offsets stored in the recording ({static.name})", file=sys.stderr)
    cols, meta = compute_table(
        pose,
        offline=args.offline,
        space=args.space,
        keep_invalid=args.keep_invalid,
        raw=args.raw,
        camera=camera,
        static=static,
        tilt=tilt,
        min_visibility=args.min_visibility,
    )
    meta["source"] = str(args.source)
    sideways = _sideways_warning(pose)
    if sideways:
        meta["warning"] = sideways
        print(f"movekit: warning: {sideways}", file=sys.stderr)
    if args.space == "3d":
        meta["caution_3d"] = (
            "3D angles come from MediaPipe's world landmarks, whose axes follow the camera "
            "(levelled only when the camera tilt is given) and whose depth is the model's "
            "guess; each keeps only the frames where its measured error allows"
        )
        print(f"note: {meta['caution_3d']}", file=sys.stderr)
    _write(out, side, fmt, cols, meta)
    import numpy as np

    views, counts = np.unique(cols["view"], return_counts=True)
    n_angles = sum(1 for k in cols if k.endswith("_deg") and not k.endswith("_err_deg") and k != "body_yaw_deg")
    print(
        f"{len(cols['time_s'])} frames, {n_angles} angles (each with its expected error), "
        f"filter: {meta['filter']}; {meta['camera_tilt_note']}; "
        "view: " + ", ".join(f"{v} {100 * c / max(1, counts.sum()):.0f}%" for v, c in zip(views, counts))
    )
    print(f"angles: {out} ({fmt}); column notes: {side}")
    return 0
