"""``movekit assess TEST SOURCE [--side left|right] [--json OUT.json]``."""

from __future__ import annotations

import json
from pathlib import Path

from movekit.assess import TESTS


def _times(text: str | None, kind: str) -> list[dict]:
    from movekit.errors import MovekitError

    if not text:
        return []
    try:
        return [{"t_s": float(x), "kind": kind, "source": "command line"} for x in text.split(",") if x.strip()]
    except ValueError:
        raise MovekitError(f"--pain-times/--pain-resolved-times must be comma-separated seconds, "
                           f"not {text!r}") from None


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "assess", help="run a clinical assessment on a recording, a video or a force-plate file",
        description="Run a clinical screen and print a short summary; --json writes the full result "
                    "(metrics with units, reps, flags, validity checks, references).")
    p.add_argument("test", choices=TESTS)
    p.add_argument("source", help="recording directory, video file, CoP CSV (time_s,cop_x_mm,cop_y_mm), "
                                  "inclinometer CSV (time_s + angle columns) or Kistler BioWare .txt")
    p.add_argument("--side", choices=("left", "right"), help="tested side (default: detected)")
    p.add_argument("--json", metavar="OUT.json", help="write the result as JSON")
    p.add_argument("--age", type=float, help="client age in years, for age norms")
    p.add_argument("--latency", type=float, default=0.0, metavar="S",
                   help="input latency of pain reports to subtract (s; painful arc)")
    p.add_argument("--pain-times", metavar="T1,T2", help="pain onset report times (s)")
    p.add_argument("--pain-resolved-times", metavar="T1,T2", help="pain resolved report times (s)")
    p.add_argument("--previous", metavar="PREV.json", help="earlier result of the same test: adds change in percent")
    p.add_argument("--min-duration", type=float, metavar="S",
                   help="shortest sway trial accepted (s; default 25 after Scoppa 2013)")
    p.set_defaults(func=run)


def run(args) -> int:
    from movekit.assess import run as run_test
    from movekit.assess.sources import load_session
    from movekit.errors import MovekitError

    previous = None
    if args.previous:
        try:
            previous = json.loads(Path(args.previous).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise MovekitError(f"{args.previous}: not a readable result JSON ({exc})") from None
        if previous.get("test") != args.test:
            raise MovekitError(f"{args.previous} is a {previous.get('test')!r} result, not {args.test!r}")
    session = load_session(args.source)
    pain = _times(args.pain_times, "pain") + _times(args.pain_resolved_times, "pain_resolved")
    result = run_test(args.test, session, side=args.side, age=args.age, latency_s=args.latency,
                      pain_events=pain, previous=previous, min_duration_s=args.min_duration)
    if args.json:
        Path(args.json).write_text(result.dumps() + "\n")
    print(result.summary())
    return 0
