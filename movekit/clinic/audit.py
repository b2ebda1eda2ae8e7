"""The clinic's own audit (issue 23): across clients, de-identified, how outcomes changed over a
course of care, judged against each measure's MCID (:mod:`movekit.clinic.outcomes`).

For every client with at least two scores of a measure since ``since``: the first and the latest
score, the change, and whether it meets the MCID. Per measure: the number of clients, the median
change and its interquartile range, and the share improved beyond the MCID, worse by more than it,
or within it. Clients appear only as counts: no code, name or date reaches the summary.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from movekit.clinic import outcomes as oc


@dataclass(frozen=True)
class MeasureAudit:
    measure: str
    title: str
    clients: int
    median_change: float
    q1_change: float
    q3_change: float
    improved: int  #: beyond the MCID
    worse: int  #: worse by more than the MCID
    unchanged: int  #: within the MCID
    mcid: str


def audit(store, since: str | None = None) -> list[MeasureAudit]:
    """Per outcome measure, the distribution of change from first to latest score (see module docstring)."""
    changes: dict[str, list[oc.Change]] = {}
    for c in store.clients():
        for key in oc.MEASURES:
            rows = [r for r in store.outcomes(c["code"], key) if since is None or r["taken_date"] >= since]
            if len(rows) >= 2 and not oc.not_comparable(key, rows[0], rows[-1]):  # e.g. other PSFS activities
                changes.setdefault(key, []).append(oc.change_from_baseline(key, rows[0]["score"], rows[-1]["score"]))
    out = []
    for key, ch in changes.items():
        d = np.array([x.change for x in ch], dtype=np.float64)
        verdicts = [x.verdict() for x in ch]
        q1, med, q3 = np.percentile(d, [25, 50, 75])
        out.append(MeasureAudit(
            key, oc.MEASURES[key].title, len(ch), float(med), float(q1), float(q3),
            sum(v.startswith("improved") for v in verdicts), sum(v.startswith("worse") for v in verdicts),
            sum(v.startswith("within") for v in verdicts), oc.MEASURES[key].mcid.describe(),
        ))  # fmt: skip
    return out


def audit_html(rows: list[MeasureAudit], since: str | None) -> str:
    """A self-contained HTML page of the audit table (no client codes, names or dates)."""
    from html import escape

    head = ("<tr><th>measure</th><th>clients</th><th>median change (IQR)</th><th>improved beyond MCID</th>"
            "<th>worse beyond MCID</th><th>within MCID</th><th>MCID</th></tr>")  # fmt: skip
    body = "".join(
        f"<tr><td>{escape(r.title)}</td><td>{r.clients}</td><td>{r.median_change:+.1f} ({r.q1_change:+.1f} to "
        f"{r.q3_change:+.1f})</td><td>{r.improved} ({100 * r.improved / r.clients:.0f}%)</td><td>{r.worse}</td>"
        f"<td>{r.unchanged}</td><td>{escape(r.mcid)}</td></tr>"
        for r in rows
    )
    scope = f"since {escape(since)}" if since else "all dates"
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>movekit clinic audit</title>"
        "<style>body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px}</style></head><body>"
        f"<h1>Clinic audit: change over a course of care ({scope})</h1>"
        "<p>First to latest score of each client with two or more scores of a measure; clients are counted, "
        "never named. Change is in score units (negative = lower score; lower is better for NPRS, ODI, DASH, "
        "QuickDASH, higher for PSFS).</p>"
        f"<table>{head}{body}</table>"
        + ("" if rows else "<p>No client has two scores of any measure yet.</p>")
        + "</body></html>"
    )


__all__ = ["MeasureAudit", "audit", "audit_html"]
