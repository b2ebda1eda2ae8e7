"""``movekit treatment log|list``: the session's manual-therapy and movement log.

Examples::

    movekit treatment log 12 myofascial-release --region lumbar --muscle quadratus_lumborum --side left \\
        --minutes 8 --pressure 6 --response "less tight on bending"
    movekit treatment log 12 "glute bridge" --movement --sets 3 --reps 10 --feedback emg
    movekit treatment list C-0042
"""

from __future__ import annotations

from movekit.argtypes import finite_float, row_id
from movekit.clinic.store import add_db_argument, store_from_args
from movekit.clinic.treatment import FEEDBACK, REGIONS, SIDES, TECHNIQUES, describe


def register(subparsers) -> None:
    p = subparsers.add_parser("treatment", help="log what was done in a session (manual therapy, movement)")
    sub = p.add_subparsers(dest="treatment_cmd", metavar="ACTION", required=True)

    a = sub.add_parser("log", help="one technique on one region, or one exercise (--movement)")
    a.add_argument("session", type=row_id, help="session id (movekit session start prints it)")
    a.add_argument("technique", help=f"manual: one of {', '.join(TECHNIQUES)}; with --movement: the exercise")
    a.add_argument("--movement", action="store_true", help="the movement part: an exercise, not a technique")
    a.add_argument("--region", choices=tuple(REGIONS), help="body region (manual)")
    a.add_argument("--muscle", help="muscle within the region, e.g. quadratus_lumborum")
    a.add_argument("--side", choices=SIDES, help="the client's side")
    a.add_argument("--minutes", type=finite_float, help="duration (min)")
    a.add_argument("--pressure", type=finite_float, help="pressure or tolerance the client reported, 0-10")
    a.add_argument("--sets", type=int, help="movement: sets")
    a.add_argument("--reps", type=int, help="movement: reps per set")
    a.add_argument("--feedback", choices=FEEDBACK, help="movement: the feedback used")
    a.add_argument("--response", default="", help="the client's response, in words")
    add_db_argument(a)
    a.set_defaults(func=_log)

    ls = sub.add_parser("list", help="a client's treatment log, session by session")
    ls.add_argument("client")
    add_db_argument(ls)
    ls.set_defaults(func=_list)


def _log(args) -> int:
    with store_from_args(args) as st:
        t = st.add_treatment(
            args.session, args.technique, part="movement" if args.movement else "manual", region=args.region,
            muscle=args.muscle, side=args.side, duration_min=args.minutes, pressure_0_10=args.pressure,
            sets=args.sets, reps=args.reps, feedback=args.feedback, response=args.response,
        )  # fmt: skip
    print(f"logged {t['part']} entry {t['id']} in session {t['session_id']}: {t['technique']}")
    return 0


def _list(args) -> int:
    with store_from_args(args) as st:
        rows = st.treatments(args.client)
    if not rows:
        print(f"no treatment logged for {args.client}")
        return 0
    for r in rows:
        where, dose = describe(r)
        resp = f": {r['response']}" if r["response"] else ""
        print(
            f"{r['session_date']}  {r['part']:<8} {r['technique']} {where}".rstrip()
            + (f" ({dose})" if dose else "")
            + resp
        )
    return 0
