"""``movekit goal add|list|progress``: a client's goals and how far the stored results have come.

Examples::

    movekit goal add C-0042 nprs --target 2 --by 2027-01-15 --context "during computer work"
    movekit goal add C-0042 lumbar-flexion:lumbar_flexion_deg --target 45 --by 2027-02-01
    movekit goal progress C-0042
"""

from __future__ import annotations

from movekit.argtypes import finite_float, iso_date
from movekit.clinic.store import add_db_argument, store_from_args


def register(subparsers) -> None:
    p = subparsers.add_parser("goal", help="set goals and see progress toward them from the stored results")
    sub = p.add_subparsers(dest="goal_cmd", metavar="ACTION", required=True)

    a = sub.add_parser("add", help="a measure, a target, a deadline (baseline: the latest stored value)")
    a.add_argument("client")
    a.add_argument("measure", help="an outcome (nprs, odi, dash, quickdash, psfs) or TEST:METRIC from an assessment")
    a.add_argument("--target", type=finite_float, required=True, help="the value to reach, in the measure's unit")
    a.add_argument("--by", type=iso_date, required=True, metavar="YYYY-MM-DD", help="deadline")
    a.add_argument("--baseline", type=finite_float, help="starting value (default: the latest stored one)")
    a.add_argument("--context", default="", help='when it matters, e.g. "during computer work"')
    a.add_argument("--date", type=iso_date, default=None, help="the day the goal is set (default today)")
    add_db_argument(a)
    a.set_defaults(func=_add)

    for name, helptext in (("list", "list a client's goals"), ("progress", "progress of every goal")):
        q = sub.add_parser(name, help=helptext)
        q.add_argument("client")
        q.add_argument("--on", type=iso_date, default=None, metavar="YYYY-MM-DD", help="as of this day (default today)")
        add_db_argument(q)
        q.set_defaults(func=_progress)


def _add(args) -> int:
    with store_from_args(args) as st:
        g = st.add_goal(args.client, args.measure, args.target, args.by, baseline=args.baseline,
                        context=args.context, date=args.date)  # fmt: skip
    print(f"goal {g['id']}: {g['measure']} from {g['baseline']:g} to {g['target']:g} {g['unit']} by {g['deadline']}"
          + (f" ({g['context']})" if g["context"] else ""))  # fmt: skip
    return 0


def _progress(args) -> int:
    from movekit.clinic.goals import client_goal_progress

    with store_from_args(args) as st:
        rows = client_goal_progress(st, args.client, args.on)
    if not rows:
        print(f"no goals for {args.client}")
        return 0
    for p in rows:
        now = "no value since it was set" if p.latest is None else f"{p.latest:g} on {p.latest_date}"
        share = "" if p.progress is None else f", {100 * p.progress:.0f}% of the change (time {100 * p.expected:.0f}%)"
        ctx = f" ({p.context})" if p.context else ""
        print(f"goal {p.goal_id}: {p.measure}{ctx} {p.baseline:g} -> {p.target:g} by {p.deadline}: {now}{share}: "
              f"{p.status.upper()}" + (f" ({p.mcid})" if p.mcid else ""))  # fmt: skip
    return 0
