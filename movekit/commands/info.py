"""``movekit info REC`` (a recording, or a multi-camera capture: one summary per camera and one of its
triangulated ``pose_3d.mkrec`` when it has one)."""

from __future__ import annotations

import json
from pathlib import Path

from movekit.outputs import strict_json

#: a capture set's triangulated recording (movekit capture A B --calibration)
TRIANGULATED = "pose_3d.mkrec"


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "info", help="one-screen summary of a recording (or of each camera's and the triangulation of a capture set)"
    )
    p.add_argument("recording")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=run)


def rate_line(frame_rate: object) -> str | None:
    """The ``rate`` line: the source's rate, the rate analysed and the frames the rate limit
    skipped (the recording's ``frame_rate`` metadata; None for a recording made without it)."""
    if not isinstance(frame_rate, dict) or not frame_rate:
        return None

    def num(key: str) -> float:
        value = frame_rate.get(key)
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else float("nan")

    def shown(key: str, spec: str = ".3g") -> str:
        x = num(key)
        return "?" if x != x else format(x, spec)  # NaN: unknown

    limit = num("max_fps")
    text = f"rate       analysed at {shown('analysed_fps')} of the source's {shown('source_fps')} frames/s"
    text += f" (limit {limit:g})" if limit > 0 else " (no limit)"
    text += f", {shown('frames_skipped_rate_limit', '.0f')} skipped by the rate limit"
    return text + f", {shown('frames_dropped_late', '.0f')} dropped late"


def _summary(path: str) -> tuple[dict, str]:
    from movekit.recording import open_recording
    from movekit.summary import format_summary, summarise

    rec = open_recording(path)
    s = summarise(rec)
    frame_rate = rec.metadata.get("frame_rate")
    if frame_rate:
        s["frame_rate"] = frame_rate
    line = rate_line(frame_rate)
    return s, format_summary(s) + (f"\n{line}" if line else "")


def run(args) -> int:
    from movekit.capture.multicam import is_capture_set, read_capture_set

    if not is_capture_set(args.recording):
        s, text = _summary(args.recording)
        print(json.dumps(strict_json(s), indent=2, allow_nan=False) if args.json else text)
        return 0
    info = read_capture_set(args.recording)
    per_camera = {c["name"]: _summary(c["recording"]) for c in info["cameras"]}
    tri_path = Path(args.recording) / TRIANGULATED
    tri = _summary(str(tri_path)) if tri_path.is_dir() else None
    if args.json:
        out = {"clock": info["clock"], "cameras": {k: v[0] for k, v in per_camera.items()}, "triangulated": None}
        if tri is not None:
            out["triangulated"] = tri[0]
        print(json.dumps(strict_json(out), indent=2, allow_nan=False))
        return 0
    print(f"multi-camera capture, {len(per_camera)} cameras; clock: {info['clock']}")
    if tri is None:
        print(
            f"triangulated pose: none ({TRIANGULATED} is made by movekit capture --calibration, or run movekit "
            f"triangulate {args.recording} --calibration FILE -o OUT.mkrec)"
        )
    else:
        print(f"triangulated pose: {tri_path}")
    for name, (_, text) in per_camera.items():
        print(f"\n== {name}\n{text}")
    if tri is not None:
        print(f"\n== {TRIANGULATED} (triangulated)\n{tri[1]}")
    return 0
