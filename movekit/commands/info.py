"""``movekit info REC`` (a recording, or a multi-camera capture: one summary per camera)."""

from __future__ import annotations

import json


def register(subparsers) -> None:
    p = subparsers.add_parser("info", help="one-screen summary of a recording (or of each camera's)")
    p.add_argument("recording")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    from movekit.capture.multicam import is_capture_set, read_capture_set
    from movekit.recording import open_recording
    from movekit.summary import format_summary, summarise

    if not is_capture_set(args.recording):
        s = summarise(open_recording(args.recording))
        print(json.dumps(s, indent=2) if args.json else format_summary(s))
        return 0
    info = read_capture_set(args.recording)
    per_camera = {c["name"]: summarise(open_recording(c["recording"])) for c in info["cameras"]}
    if args.json:
        print(json.dumps({"clock": info["clock"], "cameras": per_camera}, indent=2))
        return 0
    print(f"multi-camera capture, {len(per_camera)} cameras; clock: {info['clock']}")
    for name, s in per_camera.items():
        print(f"\n== {name}\n{format_summary(s)}")
    return 0
