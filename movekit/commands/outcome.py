"""``movekit outcome add|list|import``: outcome questionnaires with published scoring.

Examples::

    movekit outcome add C-0042 nprs 6
    movekit outcome add C-0042 odi --items 3,2,1,2,,1,2,2,1,2
    movekit outcome add C-0042 quickdash --items "2 3 2 1 3 2 2 4 2 3 2" --date 2026-03-01
    movekit outcome import answers.csv

CSV columns: ``client, date, measure`` and either ``items`` ("3;2;;1", blank = missing)
or ``score`` (an already scored total, e.g. from a paper form).
"""

from __future__ import annotations

import contextlib
import csv

from movekit.argtypes import iso_date, row_id
from movekit.clinic import outcomes as oc
from movekit.clinic.store import add_db_argument, store_from_args
from movekit.errors import MovekitError


def register(subparsers) -> None:
    p = subparsers.add_parser("outcome", help="add, list and import outcome measures (NPRS, ODI, DASH, ...)")
    sub = p.add_subparsers(dest="outcome_cmd", metavar="ACTION", required=True)

    a = sub.add_parser("add", help="score and store one questionnaire")
    a.add_argument("client")
    a.add_argument("measure", help=", ".join(oc.MEASURES))
    a.add_argument("value", nargs="?", default=None, help="the rating, for NPRS")
    a.add_argument("--items", default=None, help='item answers "3,2,,1" (blank, - or ? = missing)')
    a.add_argument(
        "--activities",
        default=None,
        metavar='"A; B; C"',
        help="psfs: the activity the client named for each rating, separated by ';' (stored with the ratings)",
    )
    a.add_argument("--date", type=iso_date, default=None, help="YYYY-MM-DD (default today)")
    a.add_argument("--session", type=row_id, default=None, help="session id it belongs to")
    add_db_argument(a)
    a.set_defaults(func=_add)

    ls = sub.add_parser("list", help="list a client's outcomes with change from baseline")
    ls.add_argument("client")
    ls.add_argument("--measure", default=None)
    add_db_argument(ls)
    ls.set_defaults(func=_list)

    im = sub.add_parser("import", help="import outcomes from CSV (client,date,measure,items|score)")
    im.add_argument("csv")
    add_db_argument(im)
    im.set_defaults(func=_import)


def _score(measure: str, value, items_text):
    m = oc.measure(measure)
    if items_text is not None and str(items_text).strip():
        items = oc.parse_items(str(items_text))
        if m.key == "nprs" and len(items) != 1:
            raise MovekitError(f"nprs is one rating; --items gave {len(items)} ({items_text!r})")
        return oc.score(m.key, items)
    if value is None or not str(value).strip():
        raise MovekitError(
            f"{m.key}: give the item answers with --items" + (" or the rating" if m.key == "nprs" else "")
        )
    if m.key == "nprs":
        return oc.score_nprs(value)
    try:
        s = float(value)
    except ValueError:
        raise MovekitError(f"{m.key} score {value!r} is not a number") from None
    lo, hi = m.range
    if not lo <= s <= hi:
        raise MovekitError(f"{m.key} score {s:g} is outside {lo:g}-{hi:g}")
    return oc.OutcomeScore(m.key, s, 0, 0, ())


def _add(args) -> int:
    sc = _score(args.measure, args.value, args.items)
    labels = oc.parse_labels(sc.measure, args.activities, len(sc.items))
    with store_from_args(args) as st:
        oid = st.add_outcome(
            args.client,
            sc.measure,
            sc.score,
            date=args.date,
            items=sc.items or None,
            n_answered=sc.n_answered or None,
            session_id=args.session,
            labels=labels,
        )
        m = oc.MEASURES[sc.measure]
        extra = f" ({sc.n_answered} of {sc.n_items} items answered)" if sc.n_items > 1 else ""
        print(f"{args.client}: {m.title} = {sc.score:.1f} {m.unit}{extra}")
        _print_change(st, args.client, sc.measure, entered_id=oid)
    return 0


def _print_change(st, client, measure, label: str = "", entered_id: int | None = None) -> None:
    """Print a score's change from the measure's baseline (its earliest score in time, as the
    MCIDs are defined and the report compares): the score ``entered_id``, else the latest."""
    rows = st.outcomes(client, measure)  # in date order
    if len(rows) < 2:
        return
    row = next((r for r in rows if r["id"] == entered_id), rows[-1])
    base = rows[0]
    if row["id"] == base["id"]:
        print(
            f"  {label}this {row['taken_date']} score is now the earliest: the baseline later scores are compared with"
        )
        return
    if why := oc.not_comparable(measure, base, row):
        print(f"  {label}{row['taken_date']} vs baseline {base['taken_date']}: {why}")
        return
    ch = oc.change_from_baseline(measure, base["score"], row["score"])
    pct = f" ({ch.change_pct:+.0f}%)" if ch.change_pct is not None else ""
    print(
        f"  {label}{row['taken_date']} vs baseline {base['taken_date']}: {base['score']:.1f} -> {row['score']:.1f} "
        f"{ch.change:+.1f}{pct}; MCID {ch.mcid.describe()}: {ch.verdict()}"
    )


def _list(args) -> int:
    with store_from_args(args, read_only=True) as st:
        rows = st.outcomes(args.client, oc.measure(args.measure).key if args.measure else None)
        if not rows:
            print(f"no outcomes for {args.client}")
            return 0
        print(f"{'date':<10}  {'measure':<10} {'score':>7}  {'answered':>8}")
        for r in rows:
            print(f"{r['taken_date']:<10}  {r['measure']:<10} {r['score']:>7.1f}  {r['n_answered'] or '':>8}")
            if r.get("labels"):
                rated = zip(r["labels"], r["items"] or [])
                print("            " + "; ".join(f"{a} {'-' if v is None else f'{v:g}'}" for a, v in rated))
        for m in sorted({r["measure"] for r in rows}):
            if m in oc.MEASURES:
                _print_change(st, args.client, m, label=f"{m}: ")
    return 0


@contextlib.contextmanager
def _text_errors(path: str):
    """A file that is not UTF-8 text, or a CSV row that is not one, as a one-line error naming the file."""
    try:
        yield
    except UnicodeDecodeError:
        raise MovekitError(f"{path}: not a UTF-8 text file") from None
    except csv.Error as exc:
        raise MovekitError(f"{path}: not a readable CSV ({exc})") from None


def read_outcome_csv(path: str) -> list[dict]:
    """Parse and score an outcome CSV; raises MovekitError naming the bad line."""
    try:
        f = open(path, newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise MovekitError(f"cannot read {path}: {exc}") from None
    out = []
    with f, _text_errors(path):
        reader = csv.DictReader(f)
        cols = {c.strip().lower() for c in (reader.fieldnames or [])}
        if not {"client", "measure"} <= cols or not ({"items", "score"} & cols):
            raise MovekitError(f"{path}: needs columns client, date, measure and items or score")
        for line, raw in enumerate(reader, 2):
            row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()}
            try:
                sc = _score(row["measure"], row.get("score") or None, row.get("items") or None)
            except MovekitError as exc:
                raise MovekitError(f"{path} line {line}: {exc}") from None
            out.append(
                {
                    "client": row["client"],
                    "date": row.get("date") or None,
                    "measure": sc.measure,
                    "score": sc.score,
                    "items": list(sc.items) or None,
                    "n_answered": sc.n_answered or None,
                }
            )
    return out


def _import(args) -> int:
    entries = read_outcome_csv(args.csv)
    with store_from_args(args) as st:
        n = st.add_outcomes(entries)
        print(f"imported {n} outcome(s) from {args.csv} into {st.path}")
    return 0
