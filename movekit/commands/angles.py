"""``movekit angles SOURCE -o OUT.csv [--offline] [--format csv|parquet]``."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "angles", help="clinical joint angles per frame from a recording or a video",
        description="Joint angles (0 deg at anatomical neutral, signed, never wrapped) per frame, with "
                    "the camera view. SOURCE is a recording (*.mkrec) or a video (pose runs first). "
                    "Angles not valid in the frame's view (e.g. knee valgus from a side view) are NaN "
                    "unless --keep-invalid; a sidecar OUT.json describes every column.")
    p.add_argument("source", help="recording directory or video file")
    p.add_argument("-o", "--out", required=True, metavar="OUT", help="output table (.csv or .parquet)")
    p.add_argument("--offline", action="store_true",
                   help="zero-phase filtering (no lag; for reports). Default: causal, as live cues see it")
    p.add_argument("--format", choices=("csv", "parquet"), default=None,
                   help="output format (default: from the file suffix, else csv)")
    p.add_argument("--space", choices=("2d", "3d"), default="2d",
                   help="2d: image plane (default, valid only in the matching view); 3d: world landmarks")
    p.add_argument("--keep-invalid", action="store_true",
                   help="keep angles measured in the wrong view instead of NaN")
    p.add_argument("--raw", action="store_true", help="no cleaning (visibility mask only)")
    p.add_argument("--camera", metavar="PROFILE", help="camera calibration profile (undistorts landmarks)")
    p.add_argument("--static", metavar="PROFILE", help="static-pose offsets profile (subtracted per angle)")
    p.add_argument("--min-visibility", type=float, default=0.5, help="landmark visibility threshold (0..1)")
    p.set_defaults(func=run)


def load_session(source: str):
    """(PoseSeries, calibration profiles it was captured with) from a recording directory, or
    (PoseSeries, {}) from a video file (running the pose model)."""
    from movekit.errors import MovekitError

    path = Path(source)
    if not path.exists():
        raise MovekitError(f"{source}: no such file or recording")
    if path.is_dir():
        from movekit.recording import open_recording

        rec = open_recording(path)
        return rec.pose(), _calibration_profiles(rec.metadata.get("calibration") or {})
    from movekit.capture.pipeline import run_pose_on_video

    print(f"running pose on {path.name} ...", file=sys.stderr)
    return run_pose_on_video(path), {}


def load_pose(source: str):
    """PoseSeries from a recording directory or a video file (running the pose model)."""
    return load_session(source)[0]


def _calibration_profiles(cal: dict) -> dict:
    """The profiles in a recording's ``calibration`` metadata (``movekit capture --camera/--static``)."""
    from movekit.calibration import CameraProfile, StaticProfile

    out = {}
    if cal.get("camera"):
        out["camera"] = CameraProfile(**{**cal["camera"], "pattern": tuple(cal["camera"]["pattern"])})
    if cal.get("static"):
        out["static"] = StaticProfile(**cal["static"])
    return out


def compute_table(pose, *, offline: bool, space: str = "2d", keep_invalid: bool = False,
                  raw: bool = False, camera=None, static=None, min_visibility: float = 0.5):
    """(columns dict, metadata dict) for a PoseSeries; see :func:`run`."""
    import numpy as np

    from movekit.analysis.angles import ANGLES
    from movekit.analysis.filters import CleanConfig
    from movekit.analysis.pipeline import analyse
    from movekit.analysis.view import angle_validity

    img = np.asarray(pose.image_px, dtype=np.float64)
    if camera is not None:
        from movekit.calibration import undistort_landmarks

        img = undistort_landmarks(img, camera, getattr(pose, "frame_size_px", None))
    cfg = CleanConfig(max_gap_s=0.0, hampel_half_window=0, cutoff_hz=None) if raw else CleanConfig()
    res = analyse(pose.t_s, img, pose.world_m, pose.visibility, space=space, offline=offline,
                  config=cfg, min_visibility=min_visibility,
                  offsets=static.offsets_deg if static is not None else None)
    valid = angle_validity(res.view, mode=space)
    cols = {"time_s": np.asarray(pose.t_s, dtype=np.float64)}
    for name, a in res.angles.items():
        cols[name] = a if keep_invalid else np.where(valid[name][0], a, np.nan)
    cols["view"] = np.asarray(res.view).astype(str)
    mode = "raw (visibility mask only)" if raw else res.mode
    meta = {
        "filter": mode, "space": space, "invalid_angles": "kept" if keep_invalid else "NaN",
        "camera_profile": getattr(camera, "name", None), "static_profile": getattr(static, "name", None),
        "columns": {name: {"plane": d.plane, "convention": d.convention, "proxy": d.proxy,
                           "valid_views_2d": list(d.valid_views_2d), "source": d.source}
                    for name, d in ANGLES.items()},
    }
    return cols, meta


def write_table(cols: dict, meta: dict, out: Path, fmt: str) -> None:
    import numpy as np
    import pyarrow as pa

    arrays = {k: (pa.array(v) if k == "view" else pa.array(np.asarray(v, np.float64), pa.float64()))
              for k, v in cols.items()}
    table = pa.table(arrays)
    if fmt == "parquet":
        import pyarrow.parquet as pq

        table = table.replace_schema_metadata({"movekit": json.dumps(meta)})
        pq.write_table(table, out)
        return
    names = list(cols)
    n = len(cols["time_s"])
    with open(out, "w", newline="") as f:
        f.write(",".join(names) + "\n")
        for i in range(n):
            row = []
            for k in names:
                v = cols[k][i]
                row.append(str(v) if k == "view" else ("NaN" if not np.isfinite(v) else
                                                       (f"{v:.4f}" if k == "time_s" else f"{v:.3f}")))
            f.write(",".join(row) + "\n")


def run(args) -> int:
    from movekit.errors import MovekitError

    out = Path(args.out)
    fmt = args.format or ("parquet" if out.suffix.lower() == ".parquet" else "csv")
    if not out.parent.exists():
        raise MovekitError(f"{out.parent}: output folder does not exist")
    if out.is_dir():
        raise MovekitError(f"{out} is a folder; give a file name for the table")
    from movekit.calibration import load_camera_profile, load_static_profile

    camera = load_camera_profile(args.camera) if args.camera else None
    static = load_static_profile(args.static) if args.static else None
    pose, stored = load_session(args.source)
    if camera is None and "camera" in stored:
        camera = stored["camera"]
        print(f"using the camera profile stored in the recording ({camera.name})", file=sys.stderr)
    if static is None and "static" in stored:
        static = stored["static"]
        print(f"using the static-pose offsets stored in the recording ({static.name})", file=sys.stderr)
    cols, meta = compute_table(pose, offline=args.offline, space=args.space,
                               keep_invalid=args.keep_invalid, raw=args.raw, camera=camera,
                               static=static, min_visibility=args.min_visibility)
    meta["source"] = str(args.source)
    if args.space == "3d":
        meta["caution_3d"] = ("3D angles come from MediaPipe's world landmarks, whose axes follow the camera: "
                              "vertical references (trunk inclination, lean) assume a level camera, and "
                              "depth is the model's guess")
        print(f"note: {meta['caution_3d']}", file=sys.stderr)
    side = out.with_suffix(out.suffix + ".json")
    try:
        write_table(cols, meta, out, fmt)
        side.write_text(json.dumps(meta, indent=2))
    except OSError as exc:
        raise MovekitError(f"cannot write {exc.filename or out}: {exc.strerror or exc}") from None
    import numpy as np

    views, counts = np.unique(cols["view"], return_counts=True)
    print(f"{len(cols['time_s'])} frames, {len(cols) - 2} angles, filter: {meta['filter']}; "
          "view: " + ", ".join(f"{v} {100 * c / max(1, counts.sum()):.0f}%" for v, c in zip(views, counts)))
    print(f"angles: {out} ({fmt}); column notes: {side}")
    return 0
