"""``movekit pain-map add|show``: where it hurts, per session, on a front/back body chart.

Examples::

    movekit pain-map add 12 lower_back --side midline --intensity 6 --quality aching
    movekit pain-map add 12 thigh --side left --intensity 3 --quality referred
    movekit pain-map show C-0042 --svg chart.svg      # first and latest session side by side
"""

from __future__ import annotations

from movekit.argtypes import float_range, row_id
from movekit.clinic.painmap import QUALITIES, REGIONS, SIDES
from movekit.clinic.store import add_db_argument, store_from_args


def register(subparsers) -> None:
    p = subparsers.add_parser("pain-map", help="mark where it hurts (body chart regions, 0-10) per session")
    sub = p.add_subparsers(dest="painmap_cmd", metavar="ACTION", required=True)
    a = sub.add_parser("add", help="one region's pain in a session")
    a.add_argument("session", type=row_id, help="session id")
    a.add_argument("region", choices=tuple(REGIONS))
    a.add_argument("--side", choices=SIDES, required=True, help="the client's side (midline: head, trunk)")
    a.add_argument("--intensity", type=float_range(0.0, 10.0), required=True, help="NRS 0-10")
    a.add_argument("--quality", choices=QUALITIES)
    add_db_argument(a)
    a.set_defaults(func=_add)
    s = sub.add_parser("show", help="the first and the latest session's map, region by region")
    s.add_argument("client")
    s.add_argument("--svg", metavar="OUT.svg", help="also draw both sessions' body charts")
    s.add_argument("--overwrite", action="store_true", help="replace an existing SVG")
    add_db_argument(s)
    s.set_defaults(func=_show)


def _add(args) -> int:
    with store_from_args(args) as st:
        m = st.add_pain_mark(args.session, args.region, args.side, args.intensity, args.quality)
    print(
        f"session {m['session_id']}: {m['side']} {m['region']} {m['intensity_0_10']:g}/10 {m['quality'] or ''}".rstrip()
    )
    return 0


def _show(args) -> int:
    from movekit.clinic.painmap import body_chart_svg, first_and_latest
    from movekit.outputs import OutputKind, check_output, write_output

    with store_from_args(args) as st:
        marks = st.pain_marks(args.client)
    if not marks:
        print(f"no pain marks for {args.client}")
        return 0
    first, last, by, rows = first_and_latest(marks)
    print(f"{'region':<22} {first[0]:>10} {last[0]:>10}")
    for label, a, b in rows:
        print(f"{label:<22} {a:>10} {b:>10}")
    if args.svg:
        out = check_output(args.svg, OutputKind("SVG chart", (".svg",)), overwrite=args.overwrite)
        charts = [body_chart_svg(list(by[s].values()), f"{args.client} {s[0]}") for s in (first, last)]
        write_output(out, '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 690 330">'
                     + "".join(f'<g transform="translate({345 * i},0)">{c}</g>' for i, c in enumerate(charts)) + "</svg>")  # fmt: skip
        print(f"chart: {out}")
    return 0
