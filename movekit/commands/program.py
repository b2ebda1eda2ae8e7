"""``movekit program assign|log|show|end``: the client's home program and its log."""

from __future__ import annotations

from movekit.argtypes import count, float_range, int_range, iso_date
from movekit.clinic import program as pg
from movekit.clinic.store import add_db_argument, store_from_args


def register(subparsers) -> None:
    p = subparsers.add_parser("program", help="assign home exercises/drills, log them, show adherence")
    sub = p.add_subparsers(dest="program_cmd", metavar="ACTION", required=True)

    a = sub.add_parser("assign", help="assign an exercise or guided drill")
    a.add_argument("client")
    a.add_argument("name", help='exercise name, e.g. "glute bridge"')
    a.add_argument("--drill", default=None, help="id of a guided drill (logged automatically when run)")
    a.add_argument("--sets", type=count, default=None)
    a.add_argument("--reps", type=count, default=None)
    a.add_argument(
        "--hold", type=float_range(0.0, 3600.0, unit="s"), default=None, metavar="SECONDS", help="hold time per rep (s)"
    )
    a.add_argument("--per-week", type=int_range(1, 21), default=7, help="prescribed sessions per week (default 7)")
    a.add_argument("--notes", default="")
    a.add_argument("--date", type=iso_date, default=None, help="start date YYYY-MM-DD (default today)")
    add_db_argument(a)
    a.set_defaults(func=_assign)

    lg = sub.add_parser("log", help="log one home session of an item")
    lg.add_argument("client")
    lg.add_argument("item", help="item id, name or drill id")
    g = lg.add_mutually_exclusive_group()
    g.add_argument("--done", dest="done", action="store_true", default=True, help="done (default)")
    g.add_argument("--not-done", dest="done", action="store_false", help="skipped")
    lg.add_argument("--sets", type=count, default=None)
    lg.add_argument("--reps", type=count, default=None)
    lg.add_argument("--pain", type=float, default=None, help="pain during it, 0-10")
    lg.add_argument("--difficulty", type=float, default=None, help="difficulty, 0-10")
    lg.add_argument("--notes", default="")
    lg.add_argument("--date", type=iso_date, default=None, help="YYYY-MM-DD (default today)")
    add_db_argument(lg)
    lg.set_defaults(func=_log)

    sh = sub.add_parser("show", help="show the program, recent logs and weekly adherence")
    sh.add_argument("client")
    sh.add_argument("--weeks", type=int_range(1, 5200), default=6, help="weeks of adherence to show (default 6)")
    add_db_argument(sh)
    sh.set_defaults(func=_show)

    e = sub.add_parser("end", help="stop an item (kept in the history)")
    e.add_argument("client")
    e.add_argument("item")
    e.add_argument("--date", type=iso_date, default=None)
    add_db_argument(e)
    e.set_defaults(func=_end)


def _dose(it) -> str:
    parts = []
    if it["sets"]:
        parts.append(f"{it['sets']} sets")
    if it["reps"]:
        parts.append(f"{it['reps']} reps")
    if it["hold_s"]:
        parts.append(f"hold {it['hold_s']:g} s")
    parts.append(f"{it['per_week']}x/week")
    return ", ".join(parts)


def _check_drill(drill: str | None) -> None:
    if not drill:
        return
    try:
        from movekit.protocols.runner import shipped_drills

        known = shipped_drills()
    except Exception:  # noqa: BLE001 (the drill runner is optional here)
        return
    if drill not in known and not drill.endswith(".toml"):
        print(
            f"note: {drill!r} is not a shipped drill ({', '.join(known)}); it is logged automatically "
            "only when a drill with that id is run"
        )


def _assign(args) -> int:
    _check_drill(args.drill)
    with store_from_args(args) as st:
        it = pg.assign(
            st,
            args.client,
            args.name,
            drill_id=args.drill,
            sets=args.sets,
            reps=args.reps,
            hold_s=args.hold,
            per_week=args.per_week,
            notes=args.notes,
            date=args.date,
        )
        print(f"assigned item {it['id']} to {args.client}: {it['name']} ({_dose(it)})")
    return 0


def _log(args) -> int:
    with store_from_args(args) as st:
        pg.log(
            st,
            args.client,
            args.item,
            done=args.done,
            date=args.date,
            sets=args.sets,
            reps=args.reps,
            pain_0_10=args.pain,
            difficulty_0_10=args.difficulty,
            notes=args.notes,
        )
        it = pg.find_item(st, args.client, args.item)
        print(f"logged {it['name']} for {args.client}: {'done' if args.done else 'not done'}")
    return 0


def _end(args) -> int:
    with store_from_args(args) as st:
        it = pg.find_item(st, args.client, args.item)
        st.end_program_item(it["id"], args.date)
        print(f"ended item {it['id']} ({it['name']})")
    return 0


def _show(args) -> int:
    with store_from_args(args, read_only=True) as st:
        items = st.program_items(args.client)
        if not items:
            print(f"{args.client} has no home program (assign one with: movekit program assign)")
            return 0
        print(f"home program of {args.client}:")
        for it in items:
            state = f"ended {it['ended_date']}" if it["ended_date"] else f"since {it['assigned_date']}"
            drill = f" [guided drill {it['drill_id']}]" if it["drill_id"] else ""
            print(f"  {it['id']:>3}  {it['name']}{drill}: {_dose(it)} ({state})")
        weeks = pg.client_adherence(st, args.client)[-args.weeks :]
        print("adherence per week (prescribed sessions done, capped per item):")
        for w in weeks:
            pct = "-" if w.adherence_pct is None else f"{w.adherence_pct:.0f}%"
            pain = "" if w.mean_pain_0_10 is None else f"  mean pain {w.mean_pain_0_10:.1f}/10"
            print(f"  week of {w.week_start}: {w.done:g} of {w.prescribed:g} = {pct}{pain}")
        logs = st.program_logs(args.client)[-10:]
        if logs:
            print("last logs:")
            for log in logs:
                extra = " ".join(
                    x
                    for x in (
                        f"sets {log['sets']}" if log["sets"] is not None else "",
                        f"reps {log['reps']}" if log["reps"] is not None else "",
                        f"pain {log['pain_0_10']:g}" if log["pain_0_10"] is not None else "",
                        f"difficulty {log['difficulty_0_10']:g}" if log["difficulty_0_10"] is not None else "",
                        f"({log['source']})" if log["source"] != "manual" else "",
                        log["notes"],
                    )
                    if x
                )
                print(f"  {log['log_date']}  {log['item_name']}: {'done' if log['done'] else 'not done'} {extra}")
    return 0
