"""Report figures: matplotlib (Agg) rendered to inline SVG, each with the table behind it.

Every function returns a :class:`Figure` (or ``None`` when there is nothing to draw)
holding the SVG text, the table rows plotted, and a plain-language caption.
"""

from __future__ import annotations

import io
import itertools
import math
import re
from dataclasses import dataclass, field

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

_counter = itertools.count()


@dataclass
class Figure:
    key: str  #: stable id, e.g. "rom", "sway"
    title: str
    svg: str
    columns: list[str]
    rows: list[list]
    meaning: str  #: what the numbers mean, for the therapist
    notes: list[str] = field(default_factory=list)


def _svg(fig) -> str:
    """Inline SVG without the XML prolog; ids salted so several SVGs in one page never clash."""
    salt = f"mk{next(_counter)}"
    with matplotlib.rc_context({"svg.hashsalt": salt, "svg.fonttype": "path"}):
        buf = io.StringIO()
        fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    start = text.find("<svg")
    text = text[start:]
    # ids must be unique across the page: prefix every id and its references
    ids = set(re.findall(r'id="([^"]+)"', text))
    for i in sorted(ids, key=len, reverse=True):
        new = f"{salt}-{i}"
        text = text.replace(f'id="{i}"', f'id="{new}"').replace(f"#{i})", f"#{new})").replace(f'"#{i}"', f'"#{new}"')
    # scale with the page (keep the aspect ratio from viewBox)
    text = re.sub(r'<svg([^>]*?) width="[^"]+" height="[^"]+"', r'<svg\1 width="100%"', text, count=1)
    return text.replace("<svg", f'<svg role="img" class="plot" data-salt="{salt}"', 1)


def _fig(w=7.5, h=3.2, nrows=1, ncols=1, **kw):
    fig, ax = plt.subplots(nrows, ncols, figsize=(w, h), squeeze=False, layout="constrained", **kw)
    fig.patch.set_facecolor("white")
    return fig, ax


def _fmt(v, nd=1):
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    return f"{v:.{nd}f}"


def _decimate(t: np.ndarray, y: np.ndarray, n_max: int = 1500):
    """Min/max decimation for plotting: keeps peaks, bounds the SVG size."""
    n = len(t)
    if n <= n_max:
        return t, y
    k = int(math.ceil(n / (n_max / 2)))
    m = n // k
    tt = t[: m * k].reshape(m, k)
    yy = y[: m * k].reshape(m, k)
    lo, hi = np.nanargmin(np.where(np.isnan(yy), np.inf, yy), 1), np.nanargmax(np.where(np.isnan(yy), -np.inf, yy), 1)
    idx = np.sort(np.stack([lo, hi], 1), 1)
    rows = np.arange(m)[:, None]
    return tt[rows, idx].ravel(), yy[rows, idx].ravel()


# ----------------------------------------------------------------------------- ROM
def rom_over_sessions(points: list[dict]) -> Figure | None:
    """points: dicts with session_date, label, value, unit, source ("assessment"/"recording")."""
    pts = [p for p in points if p.get("value") is not None and math.isfinite(p["value"])]
    if not pts:
        return None
    labels = sorted({p["label"] for p in pts})
    dates = sorted({p["session_date"] for p in pts})
    x_of = {d: i for i, d in enumerate(dates)}
    fig, axs = _fig(7.5, 3.4)
    ax = axs[0, 0]
    for lab in labels:
        ser = sorted((x_of[p["session_date"]], p["value"]) for p in pts if p["label"] == lab)
        xs, ys = zip(*ser)
        ax.plot(xs, ys, marker="o", lw=1.6, label=lab)
    ax.set_xticks(range(len(dates)), dates, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("degrees")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    rows = [
        [p["session_date"], p["label"], _fmt(p["value"]), p.get("unit", "deg"), p.get("source", "")]
        for p in sorted(pts, key=lambda p: (p["label"], p["session_date"]))
    ]
    return Figure(
        "rom",
        "Range of motion over sessions",
        _svg(fig),
        ["date", "measure", "value", "unit", "from"],
        rows,
        "Each line is one joint movement measured at each session; higher means more range. "
        "Values from a recording are the 5th-95th percentile range of the angle seen in it "
        "(2D, camera plane, valid for sagittal angles in a side view only). A change smaller "
        "than the noise floor in the comparison table may be measurement noise.",
    )


# ----------------------------------------------------------------------------- painful arc
def painful_arc(reps: list[dict]) -> Figure | None:
    """reps: dicts with label (e.g. "2026-01-05 rep 1 raising"), onset_deg, offset_deg (may be None)."""
    reps = [r for r in reps if r.get("onset_deg") is not None]
    if not reps:
        return None
    fig, axs = _fig(7.5, max(2.6, 0.32 * len(reps) + 1.4))
    ax = axs[0, 0]
    ax.axvspan(60, 120, color="#f4c27a", alpha=0.35, lw=0, label="painful-arc band 60-120 deg (Flynn 2008)")
    for i, r in enumerate(reps):
        on, off = r["onset_deg"], r.get("offset_deg")
        if off is not None:
            ax.plot([on, off], [i, i], color="#b3361b", lw=5, solid_capstyle="butt")
        ax.plot([on], [i], marker="|", color="black", ms=14, mew=2)
    ax.set_yticks(range(len(reps)), [r["label"] for r in reps], fontsize=7)
    vals = [r["onset_deg"] for r in reps] + [r["offset_deg"] for r in reps if r.get("offset_deg") is not None]
    ax.set_xlim(min(0.0, min(vals) - 10), max(180.0, max(vals) + 10))
    ax.set_xlabel("arm elevation at pain onset (|) to pain offset (bar), degrees")
    ax.grid(axis="x", alpha=0.3)
    ax.set_ylim(len(reps) - 0.4, -0.6)
    ax.legend(fontsize=7, loc="lower right", bbox_to_anchor=(1.0, 1.0), frameon=False)
    rows = [
        [r["label"], _fmt(r["onset_deg"]), _fmt(r.get("offset_deg")), "yes" if 60 <= r["onset_deg"] <= 120 else "no"]
        for r in reps
    ]
    return Figure(
        "painful_arc",
        "Painful-arc onsets per rep",
        _svg(fig),
        ["rep", "onset deg", "offset deg", "onset in 60-120"],
        rows,
        "Where in the arm's elevation the client reported pain starting (and easing). A painful arc "
        "is consistent when the onset falls between about 60 and 120 deg on at least 2 of 3 reps "
        "(Flynn 2008). Onsets moving later or disappearing over sessions mean a wider pain-free range.",
    )


# ----------------------------------------------------------------------------- sway
from movekit.assess.sway import prediction_ellipse  # noqa: E402  (one definition: the assessment's)


def sway_ellipses(entries: list[dict]) -> Figure | None:
    """entries: dicts with label, xy (N, 2) array, unit ("mm" or "px"), source note."""
    entries = [e for e in entries if e.get("xy") is not None and len(e["xy"]) >= 4]
    if not entries:
        return None
    from matplotlib.patches import Ellipse

    fig, axs = _fig(7.5, 4.0)
    ax = axs[0, 0]
    rows = []
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, e in enumerate(entries):
        xy = np.asarray(e["xy"], float)
        xy = xy[np.isfinite(xy).all(1)]
        pe = prediction_ellipse(xy[:, 0], xy[:, 1])  # the assessment layer's (movekit.assess.sway)
        if not np.isfinite(pe["area"]):
            continue
        a, b, ang, area = pe["semi_major"], pe["semi_minor"], pe["angle_deg"], pe["area"]
        d = xy - xy.mean(0)  # centre each trial so sessions overlay
        col = colors[i % len(colors)]
        ax.plot(d[:, 0], d[:, 1], lw=0.6, alpha=0.5, color=col)
        ax.add_patch(
            Ellipse(
                (0, 0),
                2 * a,
                2 * b,
                angle=ang,
                fill=False,
                lw=2,
                color=col,
                label=f"{e['label']}: {area:.0f} {e['unit']}²",
            )
        )
        path = float(np.sum(np.hypot(*np.diff(xy, axis=0).T)))
        rows.append(
            [e["label"], len(xy), _fmt(a), _fmt(b), _fmt(area, 0), _fmt(path, 0), e["unit"], e.get("source", "")]
        )
    if not rows:
        plt.close(fig)
        return None
    ax.set_aspect("equal", adjustable="datalim")
    units = "/".join(sorted({e["unit"] for e in entries}))
    axes = entries[0].get("axes") or ["x", "y"]
    ax.set_xlabel(f"{axes[0]} ({units}), centred on each trial's mean")
    ax.set_ylabel(f"{axes[1]} ({units})")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    return Figure(
        "sway",
        "Sway ellipses",
        _svg(fig),
        ["trial", "samples", "semi-axis a", "semi-axis b", "ellipse area", "path length", "unit", "from"],
        rows,
        "The path of the centre of pressure (force plate / balance board) or of trunk inclination while "
        "standing, with the ellipse expected to hold 95% of it (prediction ellipse, Schubert & Kirchner "
        "2014). A smaller ellipse and a shorter path mean steadier standing (Prieto 1996). Sway measures "
        "need >= 25 s at >= 50 Hz to compare with norms (Scoppa 2013).",
    )


# ----------------------------------------------------------------------------- EMG
def emg_envelopes(entries: list[dict]) -> Figure | None:
    """entries: dicts with label, t_s (N,), env (N, ch), channels, unit, cues [(t, text)], pains [t]."""
    entries = [e for e in entries if e.get("env") is not None and len(e["t_s"]) > 1]
    if not entries:
        return None
    n_ax = sum(e["env"].shape[1] for e in entries)
    fig, axs = _fig(7.5, 1.9 * n_ax + 0.6, nrows=n_ax, ncols=1)
    rows = []
    k = 0
    for e in entries:
        t = e["t_s"]
        for j, ch in enumerate(e["channels"]):
            ax = axs[k, 0]
            k += 1
            tt, yy = _decimate(t, e["env"][:, j])
            ax.plot(tt, yy, lw=1.0, color="#1f5fa8")
            for tc, _text in e.get("cues", []):
                ax.axvline(tc, color="#2e8b57", lw=1.1, ls="--")
            for tp in e.get("pains", []):
                ax.axvline(tp, color="#c0392b", lw=1.1, ls=":")
            ax.set_ylabel(e["unit"], fontsize=8)
            ax.set_title(f"{e['label']} - {ch}", fontsize=9, loc="left")
            ax.grid(alpha=0.3)
            env = e["env"][:, j]
            rows.append(
                [
                    e["label"],
                    ch,
                    _fmt(float(np.nanmax(env))),
                    _fmt(float(np.nanmean(env))),
                    e["unit"],
                    len(e.get("cues", [])),
                    len(e.get("pains", [])),
                ]
            )
    axs[-1, 0].set_xlabel("time (s); green dashed = cue, red dotted = pain report")
    return Figure(
        "emg",
        "EMG envelopes with cue marks",
        _svg(fig),
        ["recording", "channel", "peak", "mean", "unit", "cues", "pain marks"],
        rows,
        "Muscle activity over time (surface EMG band-passed 20-450 Hz, rectified, 100 ms moving RMS; "
        "offline zero-phase filtering). Green dashed lines mark the biofeedback cues given; red dotted "
        "lines mark pain reports. Amplitudes in microvolts are not comparable between sessions unless "
        "normalised to the same muscle's maximal contraction (%MVC; SENIAM, De Luca 2010).",
    )


# ----------------------------------------------------------------------------- outcomes
def outcome_trends(series: dict[str, list[dict]], measures: dict) -> Figure | None:
    """series: measure key -> rows (taken_date, score); measures: key -> outcomes.Measure."""
    keys = [k for k in series if series[k]]
    if not keys:
        return None
    fig, axs = _fig(7.5, 2.2 * len(keys) + 0.4, nrows=len(keys), ncols=1)
    rows = []
    for ax, k in zip(axs[:, 0], keys):
        m = measures[k]
        ds = [r["taken_date"] for r in series[k]]
        ys = [r["score"] for r in series[k]]
        ax.plot(range(len(ds)), ys, marker="o", color="#6a3d9a", lw=1.6)
        base = ys[0]
        # the MCID is met by the points OR the percent rule, so the line is at the easier of the two
        step = m.mcid.points
        rule = f"{m.mcid.points:g} points"
        if m.mcid.percent is not None and abs(base) * m.mcid.percent / 100 < step:
            step = abs(base) * m.mcid.percent / 100
            rule = f"{m.mcid.percent:g}% of baseline"
        target = base - step if m.mcid.lower_is_better else base + step
        ax.axhline(
            target,
            color="#2e8b57",
            ls="--",
            lw=1,
            label=f"baseline {'-' if m.mcid.lower_is_better else '+'} MCID ({rule})",
        )
        ax.set_xticks(range(len(ds)), ds, fontsize=7, rotation=20, ha="right")
        ax.set_ylim(*m.range)
        ax.set_title(f"{m.title} ({'lower' if m.mcid.lower_is_better else 'higher'} is better)", fontsize=9, loc="left")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper right")
        for d, y in zip(ds, ys):
            rows.append([m.title, d, _fmt(y)])
    return Figure(
        "outcomes",
        "Outcome measures over time",
        _svg(fig),
        ["measure", "date", "score"],
        rows,
        "Questionnaire scores over the weeks. The dashed line is the baseline score moved by the "
        "measure's minimal clinically important difference (MCID): crossing it means a change the "
        "client is likely to feel, not only a statistical one.",
    )


# ----------------------------------------------------------------------------- adherence
def adherence(weeks: list) -> Figure | None:
    weeks = [w for w in weeks if w.prescribed > 0]
    if not weeks:
        return None
    all_weeks = weeks
    weeks = weeks[-16:]
    fig, axs = _fig(7.5, 3.0)
    ax = axs[0, 0]
    xs = np.arange(len(weeks))
    pct = [w.adherence_pct or 0.0 for w in weeks]
    ax.bar(xs, pct, color="#4c9f70", width=0.7, label="adherence %")
    ax.set_ylim(0, 105)
    ax.set_ylabel("% of prescribed sessions done")
    ax.set_xticks(xs, [w.week_start for w in weeks], fontsize=7, rotation=30, ha="right")
    ax.grid(axis="y", alpha=0.3)
    pains = [(i, w.mean_pain_0_10) for i, w in enumerate(weeks) if w.mean_pain_0_10 is not None]
    if pains:
        ax2 = ax.twinx()
        ax2.plot(
            [p[0] for p in pains],
            [p[1] for p in pains],
            color="#c0392b",
            marker="o",
            lw=1.4,
            label="mean pain during exercise (0-10)",
        )
        ax2.set_ylim(0, 10.5)
        ax2.set_ylabel("pain 0-10", color="#c0392b")
        ax2.legend(fontsize=7, loc="upper right")
    rows = [
        [
            w.week_start,
            _fmt(w.prescribed),
            _fmt(w.done),
            w.done_raw,
            _fmt(w.adherence_pct, 0),
            _fmt(w.mean_pain_0_10),
            _fmt(w.mean_difficulty_0_10),
        ]
        for w in all_weeks
    ]
    return Figure(
        "adherence",
        "Home-program adherence",
        _svg(fig),
        ["week of", "prescribed", "done (capped)", "logged done", "adherence %", "mean pain", "mean difficulty"],
        rows,
        "How much of the prescribed home program was done each week (done sessions capped per "
        "exercise at its prescription, so extra sets of one exercise do not hide a skipped one), "
        "with the pain the client logged while doing it.",
    )


# ----------------------------------------------------------------------------- angle traces
def angle_traces(label: str, t_s: np.ndarray, angles: dict[str, np.ndarray], pains=(), cues=()) -> Figure | None:
    names = [n for n, a in angles.items() if np.isfinite(a).sum() >= 5]
    if not names:
        return None
    fig, axs = _fig(7.5, 3.2)
    ax = axs[0, 0]
    rows = []
    for n in names:
        a = angles[n]
        ax.plot(t_s, a, lw=1.2, label=n)
        fin = a[np.isfinite(a)]
        rows.append(
            [
                n,
                _fmt(float(np.percentile(fin, 5))),
                _fmt(float(np.percentile(fin, 95))),
                _fmt(float(np.percentile(fin, 95) - np.percentile(fin, 5))),
                f"{100 * np.isfinite(a).mean():.0f}%",
            ]
        )
    for tp in pains:
        ax.axvline(tp, color="#c0392b", ls=":", lw=1.1)
    for tc in cues:
        ax.axvline(tc, color="#2e8b57", ls="--", lw=1.1)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("degrees")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    return Figure(
        "angles",
        f"Joint angles - {label}",
        _svg(fig),
        ["angle", "p5 deg", "p95 deg", "range deg", "frames measured"],
        rows,
        "Joint angles through the recording (2D, camera plane; only sagittal angles in a side view are "
        "valid). 0 deg is anatomical neutral (Wu 2002/2005). Gaps are frames where the joint was not "
        "seen clearly.",
    )
