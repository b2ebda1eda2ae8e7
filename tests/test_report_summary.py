"""The one-page client and referrer summary at the front of the client report (issue 18).

Real data: 3 s of the Sports2D demo clip captured through the real pose model with its raw video
kept (``save_video``), and a copy of that recording without its video. The questionnaire scores,
goniometer-style metrics and notes are entered as a clinic would enter them.

The page is printed to PDF by Chromium's own print path (``--print-to-pdf``) and read back with
pypdf: A4, the summary on exactly one page, the technical appendix from page 2, no links left in
print, and every number on page 1 traced to a value in the store (or a cited constant).
"""

from __future__ import annotations

import base64
import datetime as _dt
import re
import shutil
import subprocess
import tempfile
import unicodedata
from pathlib import Path

import numpy as np
import pytest

from movekit.cli import main
from movekit.clinic import outcomes as oc
from movekit.clinic import reassess
from movekit.clinic.store import Store
from movekit.datasets import SHIPPED
from movekit.report import render_client_report
from movekit.report.clinic import load_clinic
from movekit.report.keyframes import pick_frames
from movekit.report.summary import SHORT_VERDICT, summary_context

CLIP = SHIPPED["sports2d_demo"]
CLINIC_TOML = """[clinic]
name = "Northside Physiotherapy"
address = ["12 High Street", "Leeds LS1 4AB"]
phone = "0113 496 0000"
logo = "logo.png"
"""
NOTES = "Sleeps through the night again; hinge pattern cleaner. Continue the home program."


def _day(offset: int) -> str:
    return (_dt.date.today() + _dt.timedelta(days=offset)).isoformat()


def _metric(test: str, name: str, value: float, unit: str) -> dict:
    return {"test": test, "metrics": {name: {"value": value, "unit": unit}}, "reps": [], "flags": [], "validity": {}}


LONG_NOTES = (
    "Sleeps through the night again; hinge pattern cleaner and less guarded. Lifting the grandchild from "
    "the floor is still the hardest task (PSFS). Continue the home program at the same dose for two weeks, "
    "then progress the hinge to a loaded kettlebell deadlift if pain stays below 3. Discussed pacing at work "
    "and a sit-stand desk. Next review in three weeks; discharge planned if goals are met by then."
)


def _busy_client(st: Store, recording) -> None:
    """C-9: everything a full first page can hold: five questionnaires, five screens, five goals, long notes."""
    st.add_client("C-9", "Bea Busy")
    sess = [st.start_session("C-9", t, _day(k), "") for t, k in (("baseline", -30), ("reassessment", -3))]
    st.end_session(sess[-1]["id"], notes=LONG_NOTES)
    screens = (("tug", "tug_time_s", "s", 14.2, 11.8), ("single-leg-stance", "stance_time_s", "s", 8, 15),
               ("balance", "sway_ellipse95_area_mm2", "mm2", 410, 250), ("hip-hinge", "hip_flexion_deg", "deg", 60, 75),
               ("painful-arc", "max_pain_free_elevation_deg", "deg", 85, 120))  # fmt: skip
    answers = {"nprs": ([7], [4]), "odi": ([3] * 10, [2] * 10), "dash": ([3] * 30, [2] * 30),
               "quickdash": ([3] * 11, [2] * 11), "psfs": ([3, 4, 2], [6, 6, 5])}  # fmt: skip
    for k, s in enumerate(sess):
        for test, name, unit, *vals in screens:
            st.add_assessment(s["id"], _metric(test, name, vals[k], unit))
        for key, items in answers.items():
            sc = oc.score(key, items[k])
            st.add_outcome("C-9", key, sc.score, date=s["session_date"], items=sc.items, n_answered=sc.n_answered)
    for measure, target, due in (("nprs", 2, 30), ("odi", 10, 40), ("psfs", 8, 50), ("quickdash", 10, 60),
                                 ("tug:tug_time_s", 10, 70)):  # fmt: skip
        st.add_goal("C-9", measure, target, _day(due), date=sess[0]["session_date"], context="")
    st.link_recording(sess[-1]["id"], recording)


@pytest.fixture(scope="module")
def recordings(tmp_path_factory):
    """(recording with its raw video, the same recording without video)."""
    if not CLIP.exists():
        pytest.skip(f"sample clip {CLIP} is missing")
    pytest.importorskip("mediapipe")
    from movekit.capture.pipeline import capture

    d = tmp_path_factory.mktemp("rec")
    with_video = d / "hinge-trial.mkrec"
    capture(CLIP, with_video, metadata={"client": "C-7"}, keys=False, save_video=True, duration_s=3.0)
    assert (with_video / "video.mkv").stat().st_size > 10_000
    bare = d / "stance-trial.mkrec"
    shutil.copytree(with_video, bare, ignore=shutil.ignore_patterns("video.*"))
    return with_video, bare


@pytest.fixture(scope="module")
def clinic(tmp_path_factory, recordings):
    import cv2

    d = tmp_path_factory.mktemp("clinic")
    logo = np.zeros((40, 120, 3), np.uint8)
    logo[:] = (168, 95, 31)
    cv2.imwrite(str(d / "logo.png"), logo)
    (d / "clinic.toml").write_text(CLINIC_TOML)
    db = d / "clinic.sqlite3"
    with Store(db) as st:
        st.add_client("C-7", "Ann Example")
        plan = (("baseline", -21, "first visit"), ("treatment", -14, ""), ("reassessment", -2, NOTES))
        sess = [st.start_session("C-7", t, _day(k), n) for t, k, n in plan]
        for s in sess:
            st.end_session(s["id"])
        base, _, last = sess
        for s, hip, lumbar, stance in ((base, 60.0, 38.0, 12.0), (last, 72.5, 51.0, 20.0)):
            st.add_assessment(s["id"], _metric("hip-hinge", "hip_flexion_deg", hip, "deg"))
            st.add_assessment(s["id"], _metric("hip-hinge", "lumbar_flexion_deg", lumbar, "deg"))
            st.add_assessment(s["id"], _metric("hip-hinge", "reps_count", 5, "count"))
            st.add_assessment(s["id"], _metric("single-leg-stance", "stance_time_s", stance, "s"))
        for s, nprs, odi in ((base, 6, [3, 2, 3, 2, 3, 2, 3, 1, 2, 3]), (last, 3, [2, 1, 2, 1, 2, 1, 1, 1, 1, 2])):
            for key, items in (("nprs", [nprs]), ("odi", odi)):
                sc = oc.score(key, items)
                st.add_outcome("C-7", key, sc.score, date=s["session_date"], items=sc.items, n_answered=sc.n_answered)
        st.add_goal("C-7", "nprs", 2, _day(30), date=base["session_date"], context="during computer work")
        st.link_recording(last["id"], recordings[0])
        _busy_client(st, recordings[0])
        st.add_client("C-8")
        other = st.start_session("C-8", "baseline", _day(-1), "")
        st.link_recording(other["id"], recordings[1])
    return {"db": db, "dir": d, "toml": d / "clinic.toml"}


def _summary_html(html: str) -> str:
    return html[html.index('<section id="summary"') : html.index("</section>", html.index('<section id="summary"'))]


def _images(html: str) -> list[np.ndarray]:
    import cv2

    out = []
    for b64 in re.findall(r'src="data:image/jpeg;base64,([^"]+)"', html):
        buf = np.frombuffer(base64.b64decode(b64), np.uint8)
        out.append(cv2.imdecode(buf, cv2.IMREAD_COLOR))
    return out


def test_first_page_content(clinic):
    with Store(clinic["db"]) as st:
        html = render_client_report(st, "C-7", clinic=load_clinic(clinic["toml"]))
        first = st.sessions("C-7")[0]["session_date"]
    page = _summary_html(html)
    assert html.index('id="summary"') < html.index("<header")  # the summary comes first
    assert "Northside Physiotherapy" in page and "12 High Street, Leeds LS1 4AB" in page
    assert 'src="data:image/png;base64,' in page  # the logo, embedded
    assert "Summary for client C-7 (Ann Example)" in page and f"3 session(s) from {first} to {_day(-2)}" in page
    assert (
        "Pain (NPRS) fell from 6 to 3 since baseline: a clinically important improvement (MCID 2 points or 30%)."
        in page
    )
    # ODI 24/50 = 48% -> 14/50 = 28%: 20 points, beyond its 10-point MCID
    assert "Disability (ODI) fell from 48 to 28 since baseline: a clinically important" in page
    assert f'<td>Pain (NPRS)</td><td class="num">6 <span class="sub">({first})</span>' in page
    assert "<td>2 points or 30%</td><td>important improvement</td>" in page
    assert "Pain (NPRS) Farrar 2001; Salaffi 2004; Ostelo 2008; Disability (ODI) Ostelo 2008." in page
    # screens: the metric with a noise floor it exceeds (hip flexion, 6 deg, Stenum 2021) comes first
    assert "Hip hinge: hip flexion rose from 60 to 72.5 deg since baseline" in page
    assert "larger than its noise floor (6 deg, Stenum 2021)" in page
    assert "Single leg stance: stance time rose from 12 to 20 s" in page
    assert "within its noise floor (24.1 s, Goldberg 2011): no real change shown" in page
    assert "lumbar flexion rose" not in page  # one sentence per screen
    assert "during computer work: from 6 to 2 by" in page and "75% of the planned change reached" in page
    assert NOTES in page and f"Notes session of {_day(-2)}." in page
    imgs = _images(page)
    assert len(imgs) == 3
    for img in imgs:
        assert img.shape[1] == 360 and img.std() > 20  # a real frame, not a flat background
        # the skeleton, drawn: the subject's left side in orange (BGR 0,140,255)
        orange = (img[..., 2] > 200) & (img[..., 1] > 100) & (img[..., 1] < 180) & (img[..., 0] < 80)
        assert orange.sum() > 30
    assert "Frames of the video kept with hinge-trial.mkrec" in page
    # the technical appendix follows, starting on its own page
    assert 'class="appendix-start"' in html and "Technical appendix" in html


def test_no_video_kept_is_said_and_skeleton_shown(clinic):
    with Store(clinic["db"]) as st:
        page = _summary_html(render_client_report(st, "C-8"))
    assert "No video was kept for stance-trial.mkrec (captured without --save-video)" in page
    imgs = _images(page)
    assert len(imgs) == 3
    for img in imgs:
        flat = (np.abs(img.astype(int) - 48) <= 6).all(axis=2).mean()
        assert flat > 0.6  # the plain background
        assert (img[..., 2] > 200).any()  # and the skeleton drawn on it
    assert "No results measured twice yet" in page and "No therapist notes recorded." in page
    assert "No goals set." in page


def test_page_one_values_are_the_stored_ones(clinic, recordings):
    """The summary reads the store's values; nothing is recomputed from raw data."""
    from movekit.clinic.goals import client_goal_progress
    from movekit.recording import open_recording
    from movekit.report import _latest_keyframes, _Recordings

    with Store(clinic["db"]) as st:
        cmp = reassess.compare(st, "C-7")
        s = summary_context(st, "C-7", cmp, notes=None)
        nprs = st.outcomes("C-7", "nprs")
        rows = {r["measure"]: r for r in s.outcome_rows}
        assert rows["Pain (NPRS)"]["baseline"] == f"{nprs[0]['score']:g}"
        assert rows["Pain (NPRS)"]["current"] == f"{nprs[-1]['score']:g}"
        assert rows["Pain (NPRS)"]["baseline_date"] == nprs[0]["taken_date"]
        odi = st.outcomes("C-7", "odi")
        assert rows["Disability (ODI)"]["change"] == f"{odi[-1]['score'] - odi[0]['score']:g}"
        assert (
            rows["Disability (ODI)"]["verdict"]
            == SHORT_VERDICT[oc.change_from_baseline("odi", odi[0]["score"], odi[-1]["score"]).verdict()]
        )
        series = {r["value"] for r in st.metric_series("C-7", name="hip_flexion_deg")}
        assert series == {60.0, 72.5}
        (goal,) = client_goal_progress(st, "C-7")
        assert f"{100 * goal.progress:.0f}% of the planned change" in s.goal_lines[0]
        assert s.notes == st.sessions("C-7")[-1]["therapist_notes"]
        kf, _ = _latest_keyframes(st, st.sessions("C-7"), _Recordings())
    pose = open_recording(recordings[0]).pose()
    for k in kf.frames:
        assert k.t_s == float(pose.t_s[k.frame_index]) and pose.detected[k.frame_index]
    assert kf.video_kept and len({k.frame_index for k in kf.frames}) == 3


def test_pick_frames_prefers_pain_reports():
    t = np.arange(100) / 10.0
    det = np.ones(100, bool)
    det[:10] = False
    assert pick_frames(t, det, [5.02, 20.0]) == [(32, False), (50, True), (54, False)]  # 20 s: after the end
    assert [i for i, _ in pick_frames(t, det, [])] == [32, 54, 77]
    assert pick_frames(t, np.zeros(100, bool), [1.0]) == []


def test_screen_sentence_reports_the_screens_headline_metric():
    from movekit.report.summary import screen_sentences

    def mc(test, name, unit, b, c):
        return reassess.MetricChange(test, name, unit, b, "2026-01-01", c, "2026-02-01", c - b, None,
                                     reassess.noise_floor(test, name), 2)  # fmt: skip

    lines = screen_sentences(
        [
            mc("balance", "sway_duration_s", "s", 30.0, 30.02),
            mc("balance", "sway_ellipse95_area_mm2", "mm2", 410.0, 250.0),
            mc("painful-arc", "reps_count", "count", 3, 3),
            mc("painful-arc", "peak_elevation_deg", "deg", 150.0, 162.0),
            mc("tug", "tug_time_s", "s", 14.2, 11.8),
        ]
    )
    assert lines[0].startswith(
        "Timed Up and Go (TUG): tug time fell from 14.2 to 11.8 s"
    )  # beyond its 1.1 s floor: first
    assert "larger than its noise floor (1.1 s, Alghadir 2015)" in lines[0]
    assert lines[1].startswith("Balance: sway ellipse95 area fell from 410 to 250 mm2")
    assert lines[2].startswith("Painful arc: peak elevation rose from 150 to 162 deg")  # not the rep count
    assert len(lines) == 3


# --------------------------------------------------------------------------- printed
def _chromium() -> str | None:
    return next((p for n in ("chromium", "chromium-browser") if (p := shutil.which(n))), None)


def _print_pdf(html: Path, pdf: Path) -> None:
    with tempfile.TemporaryDirectory() as prof:
        cmd = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={prof}", "--no-pdf-header-footer", f"--print-to-pdf={pdf}", html.resolve().as_uri()]  # fmt: skip
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert pdf.exists() and pdf.stat().st_size > 10_000, r.stderr[-2000:]


_NUMBER = re.compile(r"\d{4}-\d{2}-\d{2}|\d+(?:\.\d+)?")


def _allowed_numbers(st: Store, code: str, toml_text: str, kf_times: list[float]) -> set:
    """Every number page 1 may print: stored values, their changes, goal figures, the dates, the
    clinic file's text, keyframe times, and the cited constants (MCIDs, noise floors, years)."""
    from movekit.clinic.goals import client_goal_progress

    vals: set = {float(len(st.sessions(code)))}  # the session count
    texts = [toml_text, _dt.date.today().isoformat()] + [s["session_date"] for s in st.sessions(code)]
    for key in oc.MEASURES:
        scores = [o["score"] for o in st.outcomes(code, key)]
        vals |= set(scores) | ({scores[-1] - scores[0]} if scores else set())
        texts.append(oc.MEASURES[key].mcid.describe())
    by_name: dict = {}
    for r in st.metric_series(code):
        by_name.setdefault((r["test"], r["name"]), []).append(r["value"])
        texts.append((reassess.noise_floor(r["test"], r["name"]) or reassess.NoiseFloor(0, "", "", "", "")).describe())
    for v in by_name.values():
        vals |= {v[0], v[-1], v[-1] - v[0]}
    for g in client_goal_progress(st, code):
        vals |= {g.baseline, g.target, g.latest, round(100 * g.progress)}
        texts += [g.deadline, g.latest_date]
    vals |= set(kf_times)
    for text in texts:
        for tok in _NUMBER.findall(text):
            vals.add(tok if "-" in tok else float(tok))
    return {round(v, 1) if isinstance(v, float) else v for v in vals}


@pytest.mark.skipif(_chromium() is None, reason="chromium is not installed (apt-get install chromium)")
def test_printed_first_page(clinic):
    import pypdf  # the test extra (pyproject.toml)

    out = clinic["dir"] / "printed.html"
    args = ["report", "C-7", "-o", str(out), "--db", str(clinic["db"]), "--clinic", str(clinic["toml"])]
    assert main([*args, "--notes", "Referred back to GP for sleep review."]) == 0
    assert out.stat().st_mode & 0o777 == 0o600
    pdf = clinic["dir"] / "printed.pdf"
    _print_pdf(out, pdf)
    reader = pypdf.PdfReader(pdf)
    assert len(reader.pages) >= 3
    w_pt, h_pt = float(reader.pages[0].mediabox.width), float(reader.pages[0].mediabox.height)
    assert abs(w_pt - 595.3) < 2 and abs(h_pt - 841.9) < 2  # A4
    page1 = reader.pages[0].extract_text()
    page2 = reader.pages[1].extract_text()
    flat1 = " ".join(unicodedata.normalize("NFKC", page1).split())  # NFKC: the "fl" ligature
    for text in ("Northside Physiotherapy", "Summary for client C-7 (Ann Example)", "Key results",
                 "Pain (NPRS) fell from 6 to 3", "Hip hinge: hip flexion rose from 60 to 72.5 deg",
                 "Change since baseline", "Pain (NPRS) 6 (" + _day(-21) + ") 3 (" + _day(-2) + ") -3", "Goals", "Movement", "Therapist notes",
                 "Referred back to GP for sleep review.", "Notes for this report.", "End of summary"):  # fmt: skip
        assert text in flat1, text
    # the summary is one page: its end is on page 1 and the appendix starts page 2
    assert "technical appendix" not in page1.lower().replace("technical appendix follows", "").replace(
        "technical appendix from", ""
    )
    assert " ".join(page2.split()).upper().startswith("TECHNICAL APPENDIX PROGRESS REPORT - CLIENT C-7")
    # print shows no interactive elements: no page keeps a link (the appendix's navigation is gone)
    for page in reader.pages:
        annots = page.get("/Annots") or []
        assert not [a for a in annots if a.get_object().get("/Subtype") == "/Link"]
    # every number on page 1 is a stored value (or a cited constant), never a recomputed one
    from movekit.report import _latest_keyframes, _Recordings

    with Store(clinic["db"]) as st:
        kf, _ = _latest_keyframes(st, st.sessions("C-7"), _Recordings())
        allowed = _allowed_numbers(st, "C-7", CLINIC_TOML, [k.t_s for k in kf.frames])
    tokens = _NUMBER.findall(flat1.replace("C-7", "C-"))
    stray = [tok for tok in tokens if (tok if "-" in tok else round(float(tok), 1)) not in allowed]
    assert not stray, f"numbers on page 1 not traced to the store: {stray}"


@pytest.mark.skipif(_chromium() is None, reason="chromium is not installed (apt-get install chromium)")
def test_full_first_page_still_prints_on_one_page(clinic):
    """Five questionnaires, five screens (four shown), five goals (four shown), long notes, a clinic
    header and three keyframes: the summary still ends on page 1 and the appendix starts page 2."""
    import pypdf

    out = clinic["dir"] / "busy.html"
    assert main(["report", "C-9", "-o", str(out), "--db", str(clinic["db"]), "--clinic", str(clinic["toml"])]) == 0
    html = out.read_text()
    assert html.count("<li>") >= 4 + 5 + 5  # key results (5 outcomes + 4 screens), 4 goals + "1 more"
    assert "1 more goal(s) in the appendix" in html
    pdf = clinic["dir"] / "busy.pdf"
    _print_pdf(out, pdf)
    pages = [" ".join(unicodedata.normalize("NFKC", p.extract_text()).split()) for p in pypdf.PdfReader(pdf).pages]
    assert "End of summary" in pages[0] and "discharge planned if goals are met by then." in pages[0]
    assert pages[1].upper().startswith("TECHNICAL APPENDIX PROGRESS REPORT - CLIENT C-9")


def test_cli_refuses_bad_clinic_file_and_writes_nothing(clinic, tmp_path, capsys):
    out = tmp_path / "r.html"
    base = ["report", "C-7", "-o", str(out), "--db", str(clinic["db"])]
    bad = tmp_path / "bad.toml"
    bad.write_text('[clinic]\nname = "X"\ncolour = "red"\n')
    assert main([*base, "--clinic", str(bad)]) == 2
    assert "unknown clinic key(s) colour" in capsys.readouterr().err and not out.exists()
    bad.write_text("[clinic\nname=")
    assert main([*base, "--clinic", str(bad)]) == 2
    assert "not a valid TOML clinic file" in capsys.readouterr().err
    bad.write_text('name = "X"\nlogo = "missing.png"\n')
    assert main([*base, "--clinic", str(bad)]) == 2
    assert "cannot read the clinic logo" in capsys.readouterr().err and not out.exists()
    assert main([*base, "--session", "1", "--notes", "x"]) == 2
    assert "apply to the client report" in capsys.readouterr().err
    assert main([*base, "--no-summary"]) == 0
    assert 'id="summary"' not in out.read_text()
