"""Self-contained HTML reports: one per client (the course of care) and one per session.

The client report opens with a one-page summary for the client and the referrer
(:mod:`movekit.report.summary`: clinic header, key results in plain language, change since
baseline with MCID verdicts, goals, keyframes with the skeleton, therapist notes); the full
technical appendix below starts on a new printed page (A4 print stylesheet in ``template.CSS``).

``build_client_report(store, "C-0042", "report.html")`` writes one HTML file with inline
SVG plots (ROM over sessions, painful-arc onsets per rep, sway ellipses, EMG envelopes
with cue marks, outcome trends, adherence), the table behind each plot, the
baseline-vs-now comparison with noise floors / MCIDs, and what each number means.
Nothing is fetched when the file is opened: it can be emailed or printed (a print
stylesheet is included).

Linked recordings are read with :func:`movekit.recording.open_recording`; a missing or
unreadable one is named in the report instead of failing it.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
import re
from pathlib import Path

import numpy as np

from movekit.clinic import outcomes as oc
from movekit.clinic import program as pg
from movekit.clinic import reassess
from movekit.clinic.store import Store
from movekit.clinic.store.models import result_is_valid
from movekit.errors import MovekitError
from movekit.report import plots
from movekit.report.clinic import ClinicHeader
from movekit.report.summary import summary_context

__all__ = ["build_client_report", "build_session_report", "render_client_report", "render_session_report"]

REFERENCES = [
    "Farrar JT et al. 2001. Clinical importance of changes in chronic pain intensity measured on an 11-point "
    "numerical pain rating scale. Pain 94:149-158.",
    "Salaffi F et al. 2004. Minimal clinically important changes in chronic musculoskeletal pain intensity "
    "measured on a numerical rating scale. Eur J Pain 8:283-291.",
    "Fairbank JCT, Pynsent PB. 2000. The Oswestry Disability Index. Spine 25:2940-2953.",
    "Ostelo RW et al. 2008. Interpreting change scores for pain and functional status in low back pain. "
    "Spine 33:90-94.",
    "Hudak PL et al. 1996. Development of an upper extremity outcome measure: the DASH. Am J Ind Med 29:602-608.",
    "Beaton DE et al. 2005. Development of the QuickDASH. J Bone Joint Surg Am 87:1038-1046.",
    "Franchignoni F et al. 2014. Minimal clinically important difference of the DASH and QuickDASH. "
    "J Orthop Sports Phys Ther 44:30-39.",
    "Mintken PE et al. 2009. Psychometric properties of the QuickDASH and NPRS in patients with shoulder pain. "
    "J Shoulder Elbow Surg 18:920-926.",
    "Stratford P et al. 1995. Assessing disability and change on individual patients: a report of a patient "
    "specific measure. Physiother Can 47:258-263.",
    "Abbott JH, Schmitt JS. 2014. Minimum important differences for the PSFS, 4 region-specific outcome "
    "measures, and the NPRS. J Orthop Sports Phys Ther 44:560-564.",
    "Goldberg A et al. 2011. Minimum detectable change for single-leg-stance-time in older adults. "
    "Gait Posture 33:737-739.",
    "Goldberg A et al. 2012. The five-times-sit-to-stand test: validity, reliability and detectable change in "
    "older females. Aging Clin Exp Res 24:339-344.",
    "Alghadir A et al. 2015. Reliability and minimal detectable change of the Timed Up and Go test in knee "
    "osteoarthritis. BMC Musculoskelet Disord 16:174.",
    "Laird RA, Kent P, Keating JL. 2016. How consistent are lordosis, range of movement and lumbo-pelvic rhythm "
    "in people with and without back pain? BMC Musculoskelet Disord 17:403.",
    "Stenum J et al. 2021. Two-dimensional video-based analysis of human gait using pose estimation. "
    "PLoS Comput Biol 17:e1008935.",
    "Michener LA et al. 2009. Reliability and diagnostic accuracy of 5 physical examination tests and combination "
    "of tests for subacromial impingement. Arch Phys Med Rehabil 90:1898-1903.",
    "Calis M et al. 2000. Diagnostic values of clinical diagnostic tests in subacromial impingement syndrome. "
    "Ann Rheum Dis 59:44-47.",
    "Park HB et al. 2005. Diagnostic accuracy of clinical tests for the different degrees of subacromial "
    "impingement syndrome. J Bone Joint Surg Am 87:1446-1455.",
    "Prieto TE et al. 1996. Measures of postural steadiness. IEEE Trans Biomed Eng 43:956-966.",
    "Schubert P, Kirchner M. 2014. Ellipse area calculations and their applicability in posturography. "
    "Gait Posture 39:518-522.",
    "Wu G et al. 2002 / 2005. ISB recommendations on joint coordinate systems. J Biomech 35:543, 38:981.",
]

GLOSSARY = [
    (
        "NPRS",
        "Numeric Pain Rating Scale, 0 (no pain) to 10 (worst imaginable). A drop of 2 points or 30% is "
        "clinically important (Farrar 2001; Salaffi 2004).",
    ),
    (
        "ODI",
        "Oswestry Disability Index, 0-100%: 10 sections of daily activities scored 0-5; "
        "sum / (5 x sections answered) x 100, at most one section missing (Fairbank & Pynsent 2000). 0-20 minimal, 21-40 moderate, "
        "41-60 severe disability. Important change: 10 points or 30% (Ostelo 2008).",
    ),
    (
        "DASH / QuickDASH",
        "Arm, shoulder and hand disability, 0 (none) to 100: ((sum / n answered) - 1) x 25; "
        "DASH allows 3 of 30 items missing, QuickDASH 1 of 11 (Hudak 1996; Beaton 2005). "
        "Important change: DASH 10.8, QuickDASH 15.9 points (Franchignoni 2014; "
        "Mintken 2009 found 8.0 for QuickDASH in shoulder pain).",
    ),
    (
        "PSFS",
        "Patient-Specific Functional Scale: the client rates 3-5 activities they find hard, 0 (unable) to "
        "10 (as before); the score is the mean. Higher is better; about 2 points is an important change "
        "(Stratford 1995; Abbott & Schmitt 2014).",
    ),
    (
        "MCID",
        "Minimal clinically important difference: the smallest change in a score that clients notice as meaningful.",
    ),
    (
        "Noise floor / MDC",
        "Minimal detectable change: how much a measurement varies when nothing has changed. "
        "Changes below it may be noise. 'No published noise floor known' means the change "
        "cannot yet be judged against one.",
    ),
    (
        "Range of motion from video",
        "Angles from one camera are valid in the camera's plane only (side view for "
        "flexion/extension); 0 deg is anatomical neutral.",
    ),
    ("Adherence", "Share of prescribed home-program sessions done in a week."),
]


# ----------------------------------------------------------------------------------- helpers
def _fmt(v, nd=1) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    return f"{v:.{nd}f}"


def _signed(v, nd=1, suffix="") -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    v = round(float(v), nd) + 0.0  # no "-0.0"
    return f"{v:+.{nd}f}{suffix}" if v != 0 else f"{0:.{nd}f}{suffix}"


class _Recordings:
    """Opens each linked recording once; remembers why one could not be read."""

    def __init__(self):
        self.cache: dict[str, object] = {}
        self.pose_cache: dict[str, object] = {}
        self.problems: list[str] = []

    def get(self, row: dict, session: dict):
        path = row["path"]
        if path in self.cache:
            return self.cache[path]
        rec = None
        where = f"session {session['id']} ({session['session_date']})"
        if row.get("status") == "missing":
            self.problems.append(f"Recording {path} linked to {where} is missing: its plots are left out.")
        else:
            try:
                from movekit.recording import open_recording

                rec = open_recording(path)
                if row.get("status") == "changed":
                    self.problems.append(
                        f"Recording {path} ({where}) changed since it was linked "
                        "(meta.json differs); shown as it is now."
                    )
                for p in getattr(rec, "problems", [])[:2]:
                    self.problems.append(f"Recording {path}: {p}")
            except ImportError:
                self.problems.append("movekit.recording is not available: linked recordings are not shown.")
            except _UNUSABLE as exc:  # a damaged or missing recording: said in the report
                self.problems.append(f"Recording {path} ({where}) could not be read: {exc}; its plots are left out.")
        self.cache[path] = rec
        return rec


def _pose_angles(rec):
    """(t_s, {sagittal angle: deg array}, note, pose) or None: the analysis layer's angles of the
    recording (:func:`movekit.calibration.analyse_calibrated`: its calibration and camera tilt, the
    error model's gate), sagittal non-proxy angles only; a refused frame is NaN."""
    try:
        pose = rec.pose()
    except (MovekitError, AttributeError, KeyError):
        return None
    if len(pose) < 5:
        return None
    from movekit.analysis.angles import ANGLES
    from movekit.calibration import analyse_calibrated

    an = analyse_calibrated(pose, space="2d", offline=True)
    out = {}
    for name, a in an.angles.items():
        d = ANGLES.get(name)
        if d is None or d.plane != "sagittal" or d.proxy:
            continue
        if np.isfinite(a).sum() >= 10:
            out[name] = a
    shown = sum(int(np.isfinite(a).sum()) for a in out.values())
    note = (
        "angles shown only where their expected error is within "
        f"{an.max_error_deg:g} deg (docs/validity.md); {shown} angle samples kept"
    )
    return pose.t_s, out, note, pose


#: stored metrics plotted as range of motion (not e.g. painful-arc onset angles)
_ROM_NAME = re.compile(
    r"(flexion|extension|abduction|adduction|rotation|dorsiflexion|plantarflexion|"
    r"inclination|elevation|rom)(_angle)?_deg$",
    re.I,
)
#: video angles used for ROM: sagittal lower-limb and trunk angles, where single-camera 2D
#: accuracy is known (~4-6 deg MAE, Stenum 2021)
_VIDEO_ROM = re.compile(r"((left|right)_(hip|knee)_flexion|trunk_inclination)_deg$")


def _rom_from_angles(angles: dict) -> dict[str, float]:
    """Range of motion of each angle (deg) as the analysis layer defines it
    (:func:`movekit.analysis.rom.session_rom`: max minus min of the reported frames)."""
    from movekit.analysis.rom import session_rom

    return {name: r.range_deg for name, r in session_rom(angles).items() if np.isfinite(angles[name]).sum() >= 10}


def _emg_entries(rec, label):
    """EMG envelopes of a recording's EMG streams as the analysis layer computes them
    (:func:`movekit.analysis.emg.process`: the same causal band-pass and moving RMS as live)."""
    from movekit.analysis.emg import process

    out = []
    scale = {"uv": 1.0, "mv": 1e3, "v": 1e6}
    cues = [
        (float(e["t_s"]), str(e.get("message") or e.get("text") or e.get("rule") or "cue"))
        for e in rec.events
        if e.get("kind") == "cue" and "t_s" in e
    ]
    pains = [float(e["t_s"]) for e in rec.events if e.get("kind") == "pain" and "t_s" in e]
    for name, s in rec.streams.items():
        if s.spec.kind != "emg" or len(s.t_s) < 50:
            continue
        k = scale.get(str(s.spec.unit).lower().replace("µ", "u"))
        if k is None:
            continue
        x = s.data.reshape(len(s.t_s), -1).astype(np.float64) * k
        fs = float(s.spec.rate_hz or 1.0 / np.median(np.diff(s.t_s)))
        chans = list(s.spec.channel_names or [f"ch{i}" for i in range(x.shape[1])])
        try:
            res = process(s.t_s.astype(float), x, fs, chans)
        except MovekitError:  # e.g. a rate too low for EMG: the EMG command says why
            continue
        out.append(
            {
                "label": f"{label} {name}",
                "t_s": res.t_s,
                "env": res.envelope_uv,
                "channels": chans,
                "unit": "uV RMS",
                "cues": cues,
                "pains": pains,
            }
        )
    return out


def _arc_reps_from_result(result: dict, date: str) -> list[dict]:
    """Per-rep pain onsets/offsets from a painful-arc result: keys ``<phase>_pain_onset_angle_deg`` /
    ``<phase>_pain_offset_angle_deg`` (movekit.assess.painful_arc) or ``onset_deg`` / ``offset_deg``."""
    reps = []
    for i, r in enumerate(result.get("reps") or []):
        if not isinstance(r, dict):
            continue
        for key in r:
            m = re.fullmatch(r"(?:(\w+?)_)?(?:pain_)?onset(?:_angle)?_deg", key)
            if not m or not isinstance(r[key], (int, float)):
                continue
            off = r.get(key.replace("onset", "offset"))
            phase = m.group(1) or r.get("phase", "")
            reps.append(
                {
                    "label": f"{date} rep {r.get('rep', i + 1)} {phase}".strip(),
                    "onset_deg": float(r[key]),
                    "offset_deg": float(off) if isinstance(off, (int, float)) else None,
                }
            )
    return reps


def _sway_from_result(result: dict, label: str) -> dict | None:
    for src in (result, result.get("series") or {}):
        for key, unit in (("com_xy_mm", "mm"), ("cop_xy_mm", "mm"), ("com_xy_px", "px")):
            if isinstance(src, dict) and src.get(key):
                xy = np.asarray(src[key], float)
                if xy.ndim == 2 and xy.shape[1] == 2:
                    return {"label": label, "xy": xy, "unit": unit, "source": f"assessment {key}"}
    return None


_SWAY_KINDS = ("cop", "force_plate", "forceplate", "balance_board", "com")
_LENGTH_MM = {"mm": 1.0, "cm": 10.0, "m": 1000.0}


def _sway_from_recording(rec, label: str) -> list[dict]:
    """Two horizontal axes of sway from a recording: a centre-of-pressure / centre-of-mass stream
    (kind cop, force_plate, balance_board or com; 2 channels in mm, cm or m) or a trunk
    inclinometer/IMU stream in deg with antero-posterior and medio-lateral channels.

    Video pose is not used: one camera sees only one horizontal axis, and the ellipse needs two
    (as in movekit.assess.balance)."""
    out = []
    for name, st in rec.streams.items():
        spec = st.spec
        if len(st.t_s) < 10:  # also an empty stream (a capture killed in its first second)
            continue
        d = np.asarray(st.data, dtype=np.float64).reshape(len(st.t_s), -1)
        if spec.kind in _SWAY_KINDS and d.shape[1] >= 2 and str(spec.unit).lower() in _LENGTH_MM:
            xy = d[:, :2] * _LENGTH_MM[str(spec.unit).lower()]
            chans = list(spec.channel_names or ("x", "y"))[:2]
            out.append(
                {
                    "label": f"{label} {name}",
                    "xy": xy,
                    "unit": "mm",
                    "source": f"{spec.kind} stream ({', '.join(chans)})",
                    "axes": chans,
                }
            )
        elif spec.kind in ("imu", "inclinometer") and str(spec.unit) == "deg":
            chans = [c.lower() for c in (spec.channel_names or ())]
            ap = next((i for i, c in enumerate(chans) if any(k in c for k in ("pitch", "ap", "sagittal"))), None)
            ml = next((i for i, c in enumerate(chans) if any(k in c for k in ("roll", "ml", "frontal"))), None)
            if ap is not None and ml is not None:
                out.append(
                    {
                        "label": f"{label} {name}",
                        "xy": d[:, [ml, ap]],
                        "unit": "deg",
                        "source": "trunk inclination (ml, ap)",
                        "axes": ["ml", "ap"],
                    }
                )
    return out


#: what reading a damaged or truncated recording can raise; the report names the recording instead
_UNUSABLE = (MovekitError, OSError, ValueError, KeyError, IndexError, TypeError)


def _recording_figures(rec, path: str, date: str, recs: _Recordings, *, angle_traces: bool) -> dict:
    """What one linked recording adds to a report, all or nothing.

    Parameters
    ----------
    rec : the opened recording
    path : its path as linked in the store
    date : the session's date (labels)
    recs : the report's recordings (pose cache, problems said in the report)
    angle_traces : also plot the video angles over time (the session report)

    Returns
    -------
    dict with lists ``rom``, ``traces``, ``emg`` and ``sway``; an exception in ``_UNUSABLE`` leaves
    the caller's lists untouched.
    """
    name = Path(path).name
    got = {"rom": [], "traces": [], "emg": [], "sway": []}
    if not any(len(st.t_s) for st in rec.streams.values()):
        recs.problems.append(f"Recording {path} holds no samples: nothing from it is shown.")
        return got
    if path not in recs.pose_cache:
        recs.pose_cache[path] = _pose_angles(rec)
    info = recs.pose_cache[path]
    if info is not None:
        t_s, angles, note, _pose = info
        video = {k: a for k, a in angles.items() if _VIDEO_ROM.match(k)}
        if not video:
            recs.problems.append(
                f"Recording {name}: its video joint angles are not shown: the error model refused them "
                "in this camera view (expected error over the limit; docs/validity.md)"
            )
        for angle, v in _rom_from_angles(video).items():
            got["rom"].append({"session_date": date, "label": f"{angle} (video ROM)", "value": v,
                               "unit": "deg", "source": f"recording {name}"})  # fmt: skip
        if angle_traces:
            pains = [float(e["t_s"]) for e in rec.events if e.get("kind") == "pain" and "t_s" in e]
            cues = [float(e["t_s"]) for e in rec.events if e.get("kind") == "cue" and "t_s" in e]
            fig = plots.angle_traces(f"{date} {name}", t_s, video, pains, cues)
            if fig is not None:
                fig.notes += [note] if note else []
                got["traces"].append(fig)
    got["emg"] = _emg_entries(rec, date)
    got["sway"] = _sway_from_recording(rec, f"{date} {name}")
    return got


# ----------------------------------------------------------------------------------- collection
def _collect(store: Store, client: str, sessions: list[dict], recs: _Recordings, *, angle_traces: bool):
    rom_points, arc_reps, sway, emg, traces, flags = [], [], [], [], [], []
    for s in sessions:
        date = s["session_date"]
        for a in store.assessments(s["id"]):
            res = a["result"]
            for f in res.get("flags") or []:
                if isinstance(f, dict):
                    flags.append([date, a["test"], f.get("code", ""), f.get("message", "")])
            if not result_is_valid(res):  # kept in the store; never a point of the client's progress
                continue
            for name, m in (res.get("metrics") or {}).items():
                if (
                    isinstance(m, dict)
                    and str(m.get("unit", "")).lower() in ("deg", "°")
                    and isinstance(m.get("value"), (int, float))
                    and _ROM_NAME.search(name)
                ):
                    rom_points.append(
                        {
                            "session_date": date,
                            "label": name,
                            "value": float(m["value"]),
                            "unit": "deg",
                            "source": f"assessment {a['test']}",
                        }
                    )
            if re.search(r"painful|arc", a["test"], re.I):
                arc_reps += _arc_reps_from_result(res, date)
            sw = _sway_from_result(res, f"{date} {a['test']}")
            if sw:
                sway.append(sw)
        for row in store.recordings(s["id"]):
            rec = recs.get(row, s)
            if rec is None:
                continue
            try:
                got = _recording_figures(rec, row["path"], date, recs, angle_traces=angle_traces)
            except _UNUSABLE as exc:  # one damaged recording must not stop the report
                recs.problems.append(
                    f"Recording {row['path']} could not be analysed ({type(exc).__name__}: {exc}): "
                    "its plots are left out."
                )
                continue
            rom_points += got["rom"]
            traces += got["traces"]
            emg += got["emg"]
            sway += got["sway"]
    return rom_points, arc_reps, sway, emg, traces, flags


def _comparison_ctx(cmp: reassess.Comparison) -> dict:
    metrics = []
    for m in cmp.metrics:
        if m.baseline is None and m.current is None:
            continue  # never measured (e.g. a frequency the trial was too short for)
        verdict = {True: "yes", False: "no (within noise)", None: "-"}[m.beyond_noise]
        metrics.append(
            {
                "test": m.test,
                "name": m.name,
                "unit": m.unit,
                "baseline": _fmt(m.baseline),
                "baseline_date": m.baseline_date,
                "current": _fmt(m.current),
                "current_date": m.current_date,
                "change": _signed(m.change),
                "change_pct": _signed(m.change_pct, 0, "%"),
                "floor": m.floor.describe() if m.floor else "none published",
                "verdict": verdict,
                "beyond_noise": m.beyond_noise,
            }
        )
    outs = []
    for o in cmp.outcomes:
        ch = o.change
        m = oc.MEASURES[o.measure]
        if o.n < 2:
            verdict, cls = "one score so far", ""
        elif o.not_comparable:
            verdict, cls = o.not_comparable, ""
        else:
            verdict = ch.verdict()
            cls = "beyond" if ch.meets_mcid else ("worse" if verdict.startswith("worse") else "")
        mcid = ch.mcid.describe() + (f"; {ch.mcid.note}" if ch.mcid.note else "")
        outs.append(
            {
                "title": f"{m.title} ({m.unit})",
                "baseline": _fmt(ch.baseline),
                "baseline_date": o.baseline_date,
                "current": _fmt(ch.current),
                "current_date": o.current_date,
                "change": "-" if o.not_comparable else _signed(ch.change),
                "change_pct": "-" if o.not_comparable else _signed(ch.change_pct, 0, "%"),
                "mcid": mcid,
                "verdict": verdict,
                "cls": cls,
            }
        )
    return {"metrics": metrics, "outcomes": outs, "not_compared": cmp.not_compared}


def _render(**ctx) -> str:
    import jinja2

    from movekit import __version__
    from movekit.report.template import CSS, TEMPLATE

    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    base = {
        "version": __version__,
        "css": CSS,
        "generated": _dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "notes": [],
        "schedule": None,
        "comparison": None,
        "sections_before": [],
        "sections_after": [],
        "figures": [],
        "missing_plots": [],
        "glossary": GLOSSARY,
        "references": REFERENCES,
        "nav": [],
        "summary": None,
    }
    base.update(ctx)
    return env.from_string(TEMPLATE).render(**base)


CLIENT_PLOTS = ("rom", "painful_arc", "sway", "emg", "outcomes", "adherence")
_MISSING = {
    "rom": "No range-of-motion plot: no angle metrics (unit deg) stored, and no linked pose recording with an "
    "angle within its measured error (a single camera measures none: docs/validity.md).",
    "painful_arc": "No painful-arc plot: no painful-arc assessment with per-rep onsets and no pain marks in "
    "pose recordings.",
    "sway": "No sway ellipse: no linked centre-of-pressure (force plate, balance board) or trunk-inclination "
    "recording. Video alone sees one horizontal axis, so it gives sway measures but no ellipse.",
    "emg": "No EMG plot: no linked recording has an EMG stream.",
    "outcomes": "No outcome trend: no questionnaires entered (movekit outcome add).",
    "adherence": "No adherence plot: no home program assigned (movekit program assign).",
}


def _care_sections(store: Store, client: str):
    """Rows for the goals, pain map and treatment log sections (and the pain map's SVG), read from
    the store: goal progress from movekit.clinic.goals, the chart from movekit.clinic.painmap."""
    from movekit.clinic.goals import client_goal_progress
    from movekit.clinic.painmap import body_chart_svg, first_and_latest
    from movekit.clinic.treatment import describe as describe_treatment

    goals = []
    for p in client_goal_progress(store, client):
        label = p.measure + (f" ({p.context})" if p.context else "")
        latest = "-" if p.latest is None else f"{_fmt(p.latest)} ({p.latest_date})"
        share = "-" if p.progress is None else f"{100 * p.progress:.0f}%"
        base = "first result to come" if p.baseline is None else f"{_fmt(p.baseline)} {p.unit}"
        if p.baseline is not None and p.baseline_from != "given":
            base += f" ({p.baseline_from})"
        goals.append([label, base, f"{_fmt(p.target)} {p.unit}", p.deadline, latest, share,
                      p.status, p.mcid or "-"])  # fmt: skip
    marks = store.pain_marks(client)
    pain, svg = [], ""
    if marks:
        shown, by, rows = first_and_latest(marks)
        pain = [list(r) for r in rows]
        svg = "".join(body_chart_svg(list(by[s].values()), f"{client} {s[0]}") for s in shown)
    treat = []
    for t in store.treatments(client):
        where, dose = describe_treatment(t)
        treat.append([t["session_date"], t["part"], t["technique"], where or "-", dose or "-", t["response"] or "-"])
    return goals, pain, svg, treat


def _pain_beside_treatment_rows(store: Store, client: str) -> list[list]:
    """Each pain-map region beside the manual work logged on it (movekit.clinic.treatment.pain_beside_treatment:
    pain and treatment regions matched through the one vocabulary of movekit.clinic.regions)."""
    from movekit.clinic.treatment import pain_beside_treatment

    rows = []
    for r in pain_beside_treatment(store.pain_marks(client), store.treatments(client)):
        once = r["latest_0_10"] is None
        rows.append([f"{r['side']} {r['label']}", f"{_fmt(r['first_0_10'])} ({r['first_date']})",
                     "marked once so far" if once else f"{_fmt(r['latest_0_10'])} ({r['latest_date']})",
                     "-" if once else _signed(r["change_0_10"]),
                     r["sessions_treated"] or "-", ", ".join(r["techniques"]) or "none logged",
                     f"{_fmt(r['minutes'])} min" if r["minutes"] else "-"])  # fmt: skip
    return rows


def _section(sid: str, title: str, columns: list[str], rows: list, missing: str, text: str = "", **extra) -> dict:
    """One table section of a report; ``missing`` is shown when ``rows`` is empty."""
    return {
        "id": sid,
        "title": title,
        "text": text,
        **extra,
        "columns": columns,
        "rows": rows,
        "missing": [] if rows else [missing],
    }


def _client_figures(store: Store, client: str, rom_points, arc_reps, sway, emg) -> dict:
    """The client report's plots by key (``None`` where there is nothing to plot)."""
    series = {k: store.outcomes(client, k) for k in oc.MEASURES}
    weeks = pg.client_adherence(store, client)  # up to today: a client who stopped logging shows it
    figs = {
        "rom": plots.rom_over_sessions(rom_points),
        "painful_arc": plots.painful_arc(arc_reps),
        "sway": plots.sway_ellipses(sway[-6:]),
        "emg": plots.emg_envelopes(emg[-3:]),
        "outcomes": plots.outcome_trends(series, oc.MEASURES),
        "adherence": plots.adherence(weeks),
    }
    if figs["adherence"] is not None:
        figs["adherence"].notes.append(
            "Weeks run to today; the current week counts only the days so far. "
            "End items at discharge (movekit program end) so later weeks are not counted."
        )
    if len(emg) > 3 and figs["emg"] is not None:
        figs["emg"].notes.append(f"Showing the last 3 of {len(emg)} EMG recordings; see the session reports.")
    return figs


def _session_rows(store: Store, sessions: list[dict]) -> list[list]:
    rows = []
    for s in sessions:
        rstat = ", ".join(f"{Path(r['path']).name} ({r['status']})" for r in store.recordings(s["id"])) or "-"
        rows.append([s["id"], s["session_date"], s["type"], s["therapist_notes"] or "-", s["n_assessments"], rstat])
    return rows


def _program_rows(store: Store, client: str) -> list[list]:
    rows = []
    for it in store.program_items(client):
        dose = ", ".join(
            x
            for x in (
                f"{it['sets']} sets" if it["sets"] else "",
                f"{it['reps']} reps" if it["reps"] else "",
                f"hold {it['hold_s']:g} s" if it["hold_s"] else "",
            )
            if x
        )
        rows.append(
            [
                it["name"] + (f" (guided drill {it['drill_id']})" if it["drill_id"] else ""),
                dose or "-",
                f"{it['per_week']}x/week",
                it["assigned_date"],
                it["ended_date"] or "active",
            ]
        )
    return rows


def _measure_title(measure: str) -> str:
    return oc.MEASURES[measure].title if measure in oc.MEASURES else measure


def _client_sections_before(store: Store, client: str, sessions: list[dict]) -> tuple[list[dict], list[list]]:
    """Sessions, goals and pain map; also the treatment rows (shown after the plots)."""
    goal_rows, pain_rows, pain_svg, treat_rows = _care_sections(store, client)
    srows = _session_rows(store, sessions)
    before = [
        _section(
            "sessions",
            "Sessions",
            ["id", "date", "type", "therapist notes", "tests", "recordings"],
            srows,
            "No sessions yet.",
        ),
        _section(
            "goals",
            "Goals",
            ["goal", "baseline", "target", "by", "latest", "progress", "status", "MCID"],
            goal_rows,
            "No goals set (movekit goal add).",
            text="Progress = share of the planned change reached by the latest stored value; on track = "
            "within a quarter of the straight line from baseline to target (movekit.clinic.goals).",
        ),
        _section(
            "pain-map",
            "Pain map",
            ["region", "first", "latest"] if pain_rows and len(pain_rows[0]) == 3 else ["region", "only session"],
            pain_rows,
            "No pain map recorded (movekit pain-map add).",
            text="NRS 0-10 by body-chart region, the first and the latest session with marks "
            "(one column while only one session has marks).",
            svg=pain_svg,
        ),
    ]
    return before, treat_rows


def _client_sections_after(store: Store, client: str, treat_rows: list, flags: list) -> list[dict]:
    """Home program, outcome scores, treatment log and assessment flags."""
    orow = [
        [_measure_title(o["measure"]), o["taken_date"], _fmt(o["score"]), o["n_answered"] or "-"]
        for o in store.outcomes(client)
    ]
    return [
        _section(
            "program",
            "Home program",
            ["exercise", "dose", "frequency", "from", "until"],
            _program_rows(store, client),
            "No home program assigned.",
        ),
        _section(
            "outcome-scores",
            "Outcome scores",
            ["measure", "date", "score", "items answered"],
            orow,
            "No outcome measures entered.",
        ),
        _section(
            "treatment",
            "Treatment log",
            ["date", "part", "technique", "where", "dose", "response"],
            treat_rows,
            "No treatment logged (movekit treatment log).",
            text="What was done, session by session, beside the outcomes above.",
        ),
        _section(
            "pain-and-treatment",
            "Pain beside what was done there",
            ["region", "first pain 0-10", "latest pain 0-10", "change", "sessions treated", "techniques", "minutes"],
            _pain_beside_treatment_rows(store, client),
            "No pain map recorded (movekit pain-map add).",
            text="Each marked region with the manual work logged on the same region and side (one region "
            "vocabulary for both, movekit.clinic.regions). Side by side, not cause and effect.",
        ),
        _section(
            "flags",
            "Assessment flags",
            ["date", "test", "code", "message"],
            flags,
            "No flags raised by the assessments.",
        ),
    ]


_CLIENT_NAV = [
    ("schedule", "Re-assessment"),
    ("comparison", "Changes"),
    ("sessions", "Sessions"),
    ("goals", "Goals"),
    ("pain-map", "Pain map"),
    ("plots", "Plots"),
    ("program", "Home program"),
    ("treatment", "Treatment"),
    ("pain-and-treatment", "Pain and treatment"),
    ("glossary", "Meaning"),
]


def _latest_keyframes(store: Store, sessions: list[dict], recs: _Recordings):
    """``(KeyframeSet or None, note)``: keyframes of the latest session's recording that holds a pose."""
    from movekit.report.keyframes import keyframes

    for s in reversed(sessions):
        for row in reversed(store.recordings(s["id"])):
            rec = recs.get(row, s)
            try:
                ks = keyframes(rec, s["session_date"]) if rec is not None else None
            except _UNUSABLE as exc:
                recs.problems.append(f"Recording {row['path']}: no keyframes ({type(exc).__name__}: {exc}).")
                continue
            if ks is not None:
                return ks, ""
    return None, "No keyframes: no linked recording holds a pose with the client in view."


def render_client_report(
    store: Store,
    client: str,
    *,
    show_name: bool = True,
    summary: bool = True,
    clinic: ClinicHeader | None = None,
    notes: str | None = None,
) -> str:
    """HTML progress report of one client over all their sessions.

    Parameters
    ----------
    store, client : the clinic store and the client's code
    show_name : print the client's name beside the code
    summary : put the one-page client and referrer summary (:mod:`movekit.report.summary`) first,
        the technical appendix after a page break
    clinic : the clinic header of the summary (:func:`movekit.report.clinic.load_clinic`)
    notes : therapist notes for the summary; None takes the latest session's notes from the store
    """
    c = store.client(client)
    sessions = store.sessions(client)
    recs = _Recordings()
    rom_points, arc_reps, sway, emg, _traces, flags = _collect(store, client, sessions, recs, angle_traces=False)
    figs = _client_figures(store, client, rom_points, arc_reps, sway, emg)
    sched = reassess.schedule(store, client)
    cls = {"due": "due", "overdue": "overdue", "not due": "ok"}.get(sched.status, "")
    cmp = reassess.compare(store, client)
    before, treat_rows = _client_sections_before(store, client, sessions)
    name = f" ({c['name']})" if c["name"] and show_name else ""
    first_page = None
    if summary:
        kf, kf_note = _latest_keyframes(store, sessions, recs)
        first_page = summary_context(
            store, client, cmp, clinic=clinic, keyframes=kf, keyframe_note=kf_note, notes=notes,
            client_name=c["name"] if c["name"] and show_name else "",
        )  # fmt: skip
    return _render(
        summary=first_page,
        title=f"Progress report - client {c['code']}{name}",
        subtitle=f"{len(sessions)} session(s)"
        + (f", {sessions[0]['session_date']} to {sessions[-1]['session_date']}" if sessions else ""),
        notes=[{"text": p, "cls": "warn"} for p in recs.problems],
        schedule={"status": sched.status, "cls": cls, "text": sched.describe()},
        comparison=_comparison_ctx(cmp) if (cmp.metrics or cmp.outcomes or cmp.not_compared) else None,
        sections_before=before,
        figures=[f for k in CLIENT_PLOTS if (f := figs[k]) is not None],
        missing_plots=[_MISSING[k] for k in CLIENT_PLOTS if figs[k] is None],
        sections_after=_client_sections_after(store, client, treat_rows, flags),
        nav=_CLIENT_NAV,
    )


def result_method(result: dict) -> str:
    """How an assessment result's numbers were measured, in a few words, from what the result
    records (:mod:`movekit.assess`): the ``triangulation`` check (3D from N calibrated cameras), the
    ``source`` check (a force plate's centre of pressure, a trunk IMU / inclinometer), the
    ``angle_source`` check (two inclinometers; a video proxy), the ``sensor_axis`` check (a shank
    gyroscope), an FMS (rated by the therapist), else the pose checks of one camera (2D)."""
    v = result.get("validity") if isinstance(result.get("validity"), dict) else {}
    val = {k: (c.get("value") if isinstance(c, dict) else None) for k, c in v.items()}
    tri = val.get("triangulation")
    proxy = ", proxy" if str(val.get("angle_source", "")).endswith("proxy") else ""
    source = str((v.get("source") or {}).get("message") or "")
    if isinstance(tri, dict) and tri.get("method") == "triangulated":
        return f"3D, triangulated from {len(tri.get('cameras') or [])} cameras{proxy}"
    for start, method in (("centre of pressure", "force plate (centre of pressure)"), ("trunk sway", "trunk IMU")):
        if source.startswith(start):
            return method
    if val.get("angle_source") == "inclinometers":
        return "two inclinometers"
    if "sensor_axis" in v:
        return "shank gyroscope (IMU)"
    if result.get("test") == "fms":
        return "rated by the therapist"
    return f"single camera, 2D{proxy}" if "view" in v or "person" in v else "not recorded in the result"


def _metric_rows(store: Store, session_id: int) -> tuple[list[list], list[list]]:
    """The rows of a session's valid results, one per metric with its method and published noise
    floor, and one row per stored result that does not count (test, why)."""
    from movekit.clinic.store.models import result_refusals

    rows, refused = [], []
    for a in store.assessments(session_id):
        if why := result_refusals(a["result"]):
            refused.append([a["test"], "; ".join(why)])
            continue
        method = result_method(a["result"])
        for name, m in (a["result"].get("metrics") or {}).items():
            if not isinstance(m, dict):
                continue
            v = m.get("value")
            nf = reassess.noise_floor(a["test"], name)
            shown = (
                _fmt(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else ("-" if v is None else str(v))
            )
            rows.append([a["test"], name, shown, m.get("unit", ""), method,
                         nf.describe() if nf else "no published noise floor known"])  # fmt: skip
    return rows, refused


def _session_sections(store: Store, s: dict, flags: list) -> list[dict]:
    """Notes, results, outcomes, recordings and flags of one session."""
    rrows = [
        [Path(r["path"]).name, r["status"], r["meta_sha256"][:12] if r["meta_sha256"] else "-", r["path"]]
        for r in store.recordings(s["id"])
    ]
    orow = [
        [_measure_title(o["measure"]), _fmt(o["score"])]
        for o in store.outcomes(s["client_code"])
        if o["session_id"] == s["id"] or (o["session_id"] is None and o["taken_date"] == s["session_date"])
    ]
    notes = {"id": "notes", "title": "Therapist notes", "text": s["therapist_notes"] or "(none)"}
    rows, refused = _metric_rows(store, s["id"])
    none = (
        f"No valid assessment result in this session: {len(refused)} stored and refused (below)."
        if refused
        else "No assessment results stored for this session."
    )
    return [
        {**notes, "columns": [], "rows": [], "missing": []},
        _section("metrics", "Assessment results", ["test", "metric", "value", "unit", "method", "noise floor"],
                 rows, none, text="Method: how each number was measured, as the assessment recorded it."),
        _section("refused", "Results stored but NOT VALID", ["test", "why it does not count"], refused,
                 "None: every stored result passed its checks.",
                 text="Kept with the session; their numbers are not shown and count in no comparison or plot."),
        _section(
            "outcomes", "Outcome measures this session", ["measure", "score"], orow, "None entered for this session."
        ),
        _section(
            "recordings",
            "Linked recordings",
            ["recording", "status", "meta.json sha256", "path"],
            rrows,
            "No recordings linked.",
        ),
        _section("flags", "Flags", ["date", "test", "code", "message"], flags, "No flags."),
    ]  # fmt: skip


def render_session_report(store: Store, session_id: int) -> str:
    """HTML report of one session: results, outcomes, recordings, flags and plots."""
    s = store.session(session_id)
    client = s["client_code"]
    recs = _Recordings()
    rom_points, arc_reps, sway, emg, traces, flags = _collect(store, client, [s], recs, angle_traces=True)
    figs = [f for f in (plots.painful_arc(arc_reps), plots.sway_ellipses(sway), plots.emg_envelopes(emg)) if f]
    figs = traces + figs
    return _render(
        title=f"Session {s['id']} - client {client} - {s['session_date']} ({s['type']})",
        subtitle=f"started {s['started_utc']}" + (f", ended {s['ended_utc']}" if s["ended_utc"] else ", still open"),
        notes=[{"text": p, "cls": "warn"} for p in recs.problems],
        sections_before=_session_sections(store, s, flags),
        figures=figs,
        missing_plots=[]
        if figs
        else ["No plots: this session has no linked readable recording and no per-rep or sway data in its results."],
    )


def _write(html: str, out: str | os.PathLike) -> Path:
    from movekit.outputs import (
        write_output,  # atomic (temporary file, fsync, rename) and private (0600)
    )

    out = Path(out)
    if not out.parent.is_dir():
        raise MovekitError(f"cannot write report {out}: folder {out.parent} does not exist")
    return write_output(out, html)


def build_client_report(store: Store, client: str, out: str | os.PathLike, **options) -> Path:
    """Write :func:`render_client_report` (``options``: its keyword arguments) to ``out`` (0600, atomic)."""
    return _write(render_client_report(store, client, **options), out)


def build_session_report(store: Store, session_id: int, out: str | os.PathLike) -> Path:
    return _write(render_session_report(store, session_id), out)
