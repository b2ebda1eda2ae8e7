"""``movekit info REC``."""

from __future__ import annotations

import json


def register(subparsers) -> None:
    p = subparsers.add_parser("info", help="one-screen summary of a recording")
    p.add_argument("recording")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    from movekit.recording import open_recording
    from movekit.summary import format_summary, summarise

    s = summarise(open_recording(args.recording))
    print(json.dumps(s, indent=2) if args.json else format_summary(s))
    return 0
