"""``movekit treatment log|list|amend|remove|history``: the session's manual-therapy and movement log.

Regions are the one vocabulary of :mod:`movekit.clinic.regions` (shared with the pain map); the
names used before schema v9 (``hip_gluteal``, ``foot``) are accepted and mapped, with a note. An
entry is never deleted: an amendment keeps the earlier version, a removal marks it removed; both need
a reason and show in ``history``.

Examples::

    movekit treatment log 12 myofascial-release --region lumbar --muscle quadratus_lumborum --side left \\
        --minutes 8 --pressure 6 --response "less tight on bending"
    movekit treatment log 12 "glute bridge" --movement --sets 3 --reps 10 --feedback emg
    movekit treatment list C-0042                     # each entry with its id
    movekit treatment amend 5 --minutes 10 --reason "ran 10 min, not 8"
    movekit treatment remove 6 --reason "logged in the wrong session"
    movekit treatment history 5
"""

from __future__ import annotations

from movekit.argtypes import finite_float, row_id
from movekit.clinic.regions import REGIONS, renamed_text
from movekit.clinic.store import add_db_argument, history_lines, store_from_args
from movekit.clinic.treatment import FEEDBACK, SIDES, TECHNIQUES, describe
from movekit.commands._record_changes import add_change_commands, note_old_region_name

_REGION_HELP = f"body region (manual): {', '.join(REGIONS)} (older names accepted: {renamed_text()})"


def register(subparsers) -> None:
    p = subparsers.add_parser("treatment", help="log what was done in a session (manual therapy, movement)")
    sub = p.add_subparsers(dest="treatment_cmd", metavar="ACTION", required=True)

    a = sub.add_parser("log", help="one technique on one region, or one exercise (--movement)")
    a.add_argument("session", type=row_id, help="session id (movekit session start prints it)")
    a.add_argument("technique", help=f"manual: one of {', '.join(TECHNIQUES)}; with --movement: the exercise")
    a.add_argument("--movement", action="store_true", help="the movement part: an exercise, not a technique")
    _entry_options(a)
    a.add_argument("--response", default="", help="the client's response, in words")
    add_db_argument(a)
    a.set_defaults(func=_log)

    ls = sub.add_parser("list", help="a client's treatment log, session by session, with entry ids")
    ls.add_argument("client")
    ls.add_argument("--removed", action="store_true", help="also the removed entries")
    add_db_argument(ls)
    ls.set_defaults(func=_list)
    _register_changes(sub)


def _entry_options(a) -> None:
    a.add_argument("--region", help=_REGION_HELP)
    a.add_argument("--muscle", help="muscle within the region, e.g. quadratus_lumborum")
    a.add_argument("--side", choices=SIDES, help="the client's side")
    a.add_argument("--minutes", type=finite_float, help="duration (min)")
    a.add_argument("--pressure", type=finite_float, help="pressure or tolerance the client reported, 0-10")
    a.add_argument("--sets", type=int, help="movement: sets")
    a.add_argument("--reps", type=int, help="movement: reps per set")
    a.add_argument("--feedback", choices=FEEDBACK, help="movement: the feedback used")


def _register_changes(sub) -> None:
    def options(m) -> None:
        m.add_argument("--technique", help="manual: the technique; movement: the exercise")
        _entry_options(m)
        m.add_argument("--response", help="the client's response, in words")

    add_change_commands(
        sub, record="entry", id_name="entry", listed_by="movekit treatment list",
        amend_help="correct an entry (the earlier version is kept in its history)",
        history_help="every version of an entry: created, amended, renamed, removed",
        amend_options=options, amend=_amend, remove=_remove, history=_history,
    )  # fmt: skip


def _log(args) -> int:
    note_old_region_name(args.region)
    with store_from_args(args) as st:
        t = st.add_treatment(
            args.session, args.technique, part="movement" if args.movement else "manual", region=args.region,
            muscle=args.muscle, side=args.side, duration_min=args.minutes, pressure_0_10=args.pressure,
            sets=args.sets, reps=args.reps, feedback=args.feedback, response=args.response,
        )  # fmt: skip
    print(f"logged {t['part']} entry {t['id']} in session {t['session_id']}: {t['technique']}")
    return 0


def _line(r: dict) -> str:
    where, dose = describe(r)
    resp = f": {r['response']}" if r["response"] else ""
    gone = f"  REMOVED: {r['removed_reason']}" if r.get("removed_utc") else ""
    edited = " (amended)" if r.get("updated_utc") else ""
    return (f"{r['part']:<8} {r['technique']} {where}".rstrip() + (f" ({dose})" if dose else "") + resp
            + edited + gone)  # fmt: skip


def _list(args) -> int:
    with store_from_args(args, read_only=True) as st:
        rows = st.treatments(args.client, include_removed=args.removed)
    if not rows:
        print(f"no treatment logged for {args.client}")
        return 0
    for r in rows:
        print(f"{r['session_date']}  {_line(r)}  [entry {r['id']}]")
    return 0


def _amend(args) -> int:
    note_old_region_name(args.region)
    names = {"technique": "technique", "region": "region", "muscle": "muscle", "side": "side",
             "minutes": "duration_min", "pressure": "pressure_0_10", "sets": "sets", "reps": "reps",
             "feedback": "feedback", "response": "response"}  # fmt: skip
    changes = {col: getattr(args, opt) for opt, col in names.items() if getattr(args, opt) is not None}
    with store_from_args(args) as st:
        t = st.amend_treatment(args.entry, args.reason, who=args.who, **changes)
    print(f"entry {t['id']} amended: {_line(t)}")
    return 0


def _remove(args) -> int:
    with store_from_args(args) as st:
        t = st.remove_treatment(args.entry, args.reason, who=args.who)
    print(f"entry {t['id']} removed ({t['technique']}): {t['removed_reason']}")
    return 0


def _history(args) -> int:
    with store_from_args(args, read_only=True) as st:
        t = st.record("treatment", args.entry)
        lines = history_lines(st.history("treatment", args.entry))
    print(f"entry {t['id']} of {t['client_code']}, session {t['session_id']}: now {_line(t)}")
    for line in lines:
        print(f"  {line}")
    return 0
