"""``movekit goal add|list|progress|measures|amend|remove|history``: a client's goals and how far the
stored results have come.

A goal may name a measure not yet stored for the client (``movekit goal measures`` lists them): its
baseline is then typed (``--baseline``) or the first result that arrives. A goal is never deleted:
an amendment keeps the earlier version, a removal marks it removed; both need a reason.

Examples::

    movekit goal add C-0042 nprs --target 2 --by 2027-01-15 --context "during computer work"
    movekit goal add C-0042 lumbar-flexion:lumbar_flexion_deg --target 45 --by 2027-02-01
    movekit goal add C-0042 tug:tug_time_s --target 10 --by 2027-03-01   # baseline: the first TUG stored
    movekit goal progress C-0042
    movekit goal amend 3 --target 3 --reason "agreed a smaller step with the client"
    movekit goal remove 4 --reason "duplicate of goal 3"
    movekit goal history 3
"""

from __future__ import annotations

from movekit.argtypes import finite_float, iso_date
from movekit.clinic.store import add_db_argument, history_lines, store_from_args
from movekit.commands._record_changes import add_change_commands


def register(subparsers) -> None:
    p = subparsers.add_parser("goal", help="set goals and see progress toward them from the stored results")
    sub = p.add_subparsers(dest="goal_cmd", metavar="ACTION", required=True)

    a = sub.add_parser("add", help="a measure, a target, a deadline (baseline: the latest stored value)")
    a.add_argument("client")
    a.add_argument("measure", help="an outcome (nprs, odi, dash, quickdash, psfs) or TEST:METRIC from an assessment")
    a.add_argument("--target", type=finite_float, required=True, help="the value to reach, in the measure's unit")
    a.add_argument("--by", type=iso_date, required=True, metavar="YYYY-MM-DD", help="deadline")
    a.add_argument("--baseline", type=finite_float,
                   help="starting value (default: the latest stored one, else the first result to arrive)")  # fmt: skip
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
    ms = sub.add_parser("measures", help="what a goal can be set on: questionnaires, assessment metrics, counts")
    ms.add_argument("client")
    add_db_argument(ms)
    ms.set_defaults(func=_measures)
    _register_changes(sub)


def _register_changes(sub) -> None:
    def options(m) -> None:
        m.add_argument("--target", type=finite_float)
        m.add_argument("--by", type=iso_date, metavar="YYYY-MM-DD", help="deadline")
        m.add_argument("--baseline", help="a number, or 'first' for the first result that arrives")
        m.add_argument("--context", help='when it matters, e.g. "during computer work"')

    add_change_commands(
        sub, record="goal", id_name="goal", listed_by="movekit goal list",
        amend_help="change a goal's target, deadline, baseline or context (history kept)",
        history_help="every version of a goal: created, amended, removed",
        amend_options=options, amend=_amend, remove=_remove, history=_history,
    )  # fmt: skip


def _goal_text(g: dict) -> str:
    base = "the first result" if g["baseline"] is None else f"{g['baseline']:g}"
    return (f"{g['measure']} from {base} to {g['target']:g} {g['unit']} by {g['deadline']}"
            + (f" ({g['context']})" if g["context"] else ""))  # fmt: skip


def _add(args) -> int:
    with store_from_args(args) as st:
        g = st.add_goal(args.client, args.measure, args.target, args.by, baseline=args.baseline,
                        context=args.context, date=args.date)  # fmt: skip
    print(f"goal {g['id']}: {_goal_text(g)}")
    return 0


def _amend(args) -> int:
    import argparse

    from movekit.argtypes import finite_float as number
    from movekit.errors import MovekitError

    changes = {"target": args.target, "deadline": args.by, "context": args.context}
    changes = {k: v for k, v in changes.items() if v is not None}
    if args.baseline is not None:
        try:
            changes["baseline"] = None if args.baseline.strip().lower() == "first" else number(args.baseline)
        except argparse.ArgumentTypeError:  # say which option
            raise MovekitError(f"--baseline {args.baseline!r}: a finite number or 'first'") from None
    with store_from_args(args) as st:
        g = st.amend_goal(args.goal, args.reason, who=args.who, **changes)
    print(f"goal {g['id']} amended: {_goal_text(g)}")
    return 0


def _remove(args) -> int:
    with store_from_args(args) as st:
        g = st.remove_goal(args.goal, args.reason, who=args.who)
    print(f"goal {g['id']} removed ({_goal_text(g)}): {g['removed_reason']}")
    return 0


def _history(args) -> int:
    with store_from_args(args, read_only=True) as st:
        g = st.record("goal", args.goal)
        lines = history_lines(st.history("goal", args.goal))
    print(f"goal {g['id']} of {g['client_code']}: now {_goal_text(g)}" + (" (removed)" if g["removed_utc"] else ""))
    for line in lines:
        print(f"  {line}")
    return 0


def _measures(args) -> int:
    from movekit.clinic.goals import goal_measures

    with store_from_args(args, read_only=True) as st:
        rows = goal_measures(st, args.client)
    for m in rows:
        latest = "nothing stored yet" if m["latest"] is None else f"latest {m['latest']:g} on {m['date']}"
        better = f", {m['better']} is better" if m["better"] else ""
        print(f"{m['key']:<48} {m['unit'] or '-':<10} {m['group']}{better}; {latest}")
    return 0


def _progress(args) -> int:
    from movekit.clinic.goals import client_goal_progress

    with store_from_args(args, read_only=True) as st:
        rows = client_goal_progress(st, args.client, args.on)
    if not rows:
        print(f"no goals for {args.client}")
        return 0
    for p in rows:
        now = "no value since it was set" if p.latest is None else f"{p.latest:g} on {p.latest_date}"
        share = "" if p.progress is None else f", {100 * p.progress:.0f}% of the change (time {100 * p.expected:.0f}%)"
        ctx = f" ({p.context})" if p.context else ""
        base = "?" if p.baseline is None else f"{p.baseline:g}"
        if p.baseline_from != "given":
            base += f" ({p.baseline_from})"
        print(f"goal {p.goal_id}: {p.measure}{ctx} {base} -> {p.target:g} by {p.deadline}: {now}{share}: "
              f"{p.status.upper()}" + (f" ({p.mcid})" if p.mcid else ""))  # fmt: skip
    return 0
