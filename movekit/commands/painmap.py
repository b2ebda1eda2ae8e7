"""``movekit pain-map add|list|amend|remove|history|show``: where it hurts, per session, on a front/back body chart.

Regions are the one vocabulary of :mod:`movekit.clinic.regions` (shared with the treatment log);
the names used before schema v9 (``neck``, ``lower_back`` ...) are accepted and mapped, with a note.
A mark is never deleted: an amendment keeps the earlier version, a removal marks it removed; both
need a reason and show in ``history``.

Examples::

    movekit pain-map add 12 lumbar --side midline --intensity 6 --quality aching
    movekit pain-map add 12 thigh --side left --intensity 3 --quality referred
    movekit pain-map list C-0042                       # every current mark with its id
    movekit pain-map amend 7 --intensity 4 --reason "typed 6, the client said 4"
    movekit pain-map remove 8 --reason "marked on the wrong client"
    movekit pain-map history 7
    movekit pain-map show C-0042 --svg chart.svg      # first and latest session side by side
"""

from __future__ import annotations

from movekit.argtypes import float_range, row_id
from movekit.clinic.painmap import QUALITIES, SIDES
from movekit.clinic.regions import REGIONS, renamed_text
from movekit.clinic.store import add_db_argument, history_lines, store_from_args
from movekit.commands._record_changes import add_change_commands, note_old_region_name

_REGION_HELP = f"body region: {', '.join(REGIONS)} (older names accepted: {renamed_text()})"


def register(subparsers) -> None:
    p = subparsers.add_parser("pain-map", help="mark where it hurts (body chart regions, 0-10) per session")
    sub = p.add_subparsers(dest="painmap_cmd", metavar="ACTION", required=True)
    a = sub.add_parser("add", help="one region's pain in a session")
    a.add_argument("session", type=row_id, help="session id")
    a.add_argument("region", help=_REGION_HELP)
    a.add_argument("--side", choices=SIDES, required=True, help="the client's side (midline: head, trunk)")
    a.add_argument("--intensity", type=float_range(0.0, 10.0), required=True, help="NRS 0-10")
    a.add_argument("--quality", choices=QUALITIES)
    add_db_argument(a)
    a.set_defaults(func=_add)
    ls = sub.add_parser("list", help="a client's current marks with their ids, session by session")
    ls.add_argument("client")
    ls.add_argument("--removed", action="store_true", help="also the removed marks")
    add_db_argument(ls)
    ls.set_defaults(func=_list)
    _register_changes(sub)
    s = sub.add_parser("show", help="the first and the latest session's map, region by region")
    s.add_argument("client")
    s.add_argument("--svg", metavar="OUT.svg", help="also draw both sessions' body charts")
    s.add_argument("--overwrite", action="store_true", help="replace an existing SVG")
    add_db_argument(s)
    s.set_defaults(func=_show)


def _register_changes(sub) -> None:
    def options(m) -> None:
        m.add_argument("--intensity", type=float_range(0.0, 10.0), help="NRS 0-10")
        m.add_argument("--quality", choices=(*QUALITIES, "none"), help="none: no quality")
        m.add_argument("--region", help=_REGION_HELP)
        m.add_argument("--side", choices=SIDES)

    add_change_commands(
        sub, record="mark", id_name="mark", listed_by="movekit pain-map list",
        amend_help="correct a mark (the earlier version is kept in its history)",
        history_help="every version of a mark: created, amended, renamed, removed",
        amend_options=options, amend=_amend, remove=_remove, history=_history,
    )  # fmt: skip


def _mark_text(m: dict) -> str:
    return f"{m['side']} {m['region']} {m['intensity_0_10']:g}/10 {m['quality'] or ''}".rstrip()


def _add(args) -> int:
    note_old_region_name(args.region)
    with store_from_args(args) as st:
        m = st.add_pain_mark(args.session, args.region, args.side, args.intensity, args.quality)
    print(f"session {m['session_id']}: mark {m['id']}: {_mark_text(m)}")
    return 0


def _list(args) -> int:
    with store_from_args(args, read_only=True) as st:
        marks = st.pain_marks(args.client, include_removed=args.removed)
    if not marks:
        print(f"no pain marks for {args.client}")
    for m in marks:
        gone = f"  REMOVED: {m['removed_reason']}" if m["removed_utc"] else ""
        edited = " (amended)" if m["updated_utc"] else ""
        print(f"mark {m['id']:<5} {m['session_date']} session {m['session_id']}: {_mark_text(m)}{edited}{gone}")
    return 0


def _amend(args) -> int:
    note_old_region_name(args.region)
    changes = {"intensity_0_10": args.intensity, "region": args.region, "side": args.side, "quality": args.quality}
    changes = {k: v for k, v in changes.items() if v is not None}
    if changes.get("quality") == "none":
        changes["quality"] = None
    with store_from_args(args) as st:
        m = st.amend_pain_mark(args.mark, args.reason, who=args.who, **changes)
    print(f"mark {m['id']} amended: {_mark_text(m)}")
    return 0


def _remove(args) -> int:
    with store_from_args(args) as st:
        m = st.remove_pain_mark(args.mark, args.reason, who=args.who)
    print(f"mark {m['id']} removed ({_mark_text(m)}): {m['removed_reason']}")
    return 0


def _history(args) -> int:
    with store_from_args(args, read_only=True) as st:
        m = st.record("pain_mark", args.mark)
        lines = history_lines(st.history("pain_mark", args.mark))
    print(f"mark {m['id']} of {m['client_code']}, session {m['session_id']}: now {_mark_text(m)}"
          + (" (removed)" if m["removed_utc"] else ""))  # fmt: skip
    for line in lines:
        print(f"  {line}")
    return 0


def _show(args) -> int:
    from movekit.clinic.painmap import body_chart_svg, first_and_latest
    from movekit.outputs import OutputKind, check_output, write_output

    with store_from_args(args, read_only=True) as st:
        marks = st.pain_marks(args.client)
    if not marks:
        print(f"no pain marks for {args.client}")
        return 0
    shown, by, rows = first_and_latest(marks)
    if len(shown) == 1:
        print(f"only session {shown[0][1]} ({shown[0][0]}) has marks: nothing to compare yet")
    print(f"{'region':<22} " + " ".join(f"{s[0]:>10}" for s in shown))
    for label, *values in rows:
        print(f"{label:<22} " + " ".join(f"{v:>10}" for v in values))
    if args.svg:
        out = check_output(args.svg, OutputKind("SVG chart", (".svg",)), overwrite=args.overwrite)
        charts = [body_chart_svg(list(by[s].values()), f"{args.client} {s[0]}") for s in shown]
        write_output(out, '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 690 330">'
                     + "".join(f'<g transform="translate({345 * i},0)">{c}</g>' for i, c in enumerate(charts)) + "</svg>")  # fmt: skip
        print(f"chart: {out}")
    return 0
