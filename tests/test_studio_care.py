"""The studio's care forms (issues 18, 23): goals with their progress, the pain map, the treatment log.

Starlette's TestClient against the real app (create_app) and a real clinic store in tmp_path: a form
is stored exactly as typed, bad input is refused with the library's message and stores nothing, the
goal progress shown matches stored results. A short headless-Chromium test clicks the body chart.
"""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from browser_helpers import chromium_page, serve

pytest.importorskip("starlette")
from starlette.testclient import TestClient  # noqa: E402

from movekit.clinic.painmap import body_chart_svg  # noqa: E402
from movekit.clinic.store import Store  # noqa: E402
from movekit.studio.app import StudioConfig, create_app  # noqa: E402
from movekit.studio.care import chart_shapes  # noqa: E402

TODAY = dt.date.today()


def _day(offset: int) -> str:
    return (TODAY + dt.timedelta(days=offset)).isoformat()


@pytest.fixture
def clinic(tmp_path):
    """A store with client C-0042: NPRS 6 twenty days ago, a sit-to-stand (12 valid stands) and a
    lumbar flexion (38 deg) ten days ago, and today's open session."""
    db = tmp_path / "clinic.sqlite3"
    with Store(db) as st:
        st.add_client("C-0042")
        first = st.start_session("C-0042", "baseline", date=_day(-20))
        st.add_outcome("C-0042", "nprs", 6.0, session_id=first["id"])
        visit = st.start_session("C-0042", "treatment", date=_day(-10))
        st.add_assessment(
            visit["id"], {"test": "sit-to-stand", "metrics": {"stands_count": {"value": 12, "unit": "count"}}}
        )
        st.add_assessment(visit["id"], {"test": "lumbar-flexion",
                                        "metrics": {"lumbar_flexion_deg": {"value": 38.0, "unit": "deg"}}})  # fmt: skip
        now = st.start_session("C-0042", "treatment")
    app = create_app(StudioConfig(db, [], tmp_path / "rec"))
    with TestClient(app, base_url="http://127.0.0.1") as client:
        yield client, db, now["id"]


def _error(response) -> str:
    m = re.search(r'id="error-message">(.*?)</p>', response.text)
    assert response.status_code == 400 and m, response.text[:400]
    return html.unescape(m.group(1))


def _goals(db) -> list[dict]:
    with Store(db) as st:
        return st.goals("C-0042")


GOAL = {"measure": "nprs", "target": "2", "deadline": _day(60), "baseline": "", "context": "during computer work"}


# -- goals -----------------------------------------------------------------------------------------
def test_goal_form_offers_what_is_measured_with_latest_values(clinic):
    client, _, _ = clinic
    page = client.get("/clients/C-0042").text
    options = dict(re.findall(r'<option value="([^"]+)" data-unit="[^"]*" data-latest="([^"]*)"', page))
    assert options["nprs"] == "6" and options["odi"] == ""  # questionnaires, stored or not
    assert options["lumbar-flexion:lumbar_flexion_deg"] == "38"
    assert options["sit-to-stand:stands_count"] == "12"
    assert '<optgroup label="Counts (valid reps, stands, steps)">' in page
    assert "Sit-to-stand: stands (count)" in page


def test_goal_form_stored_exactly(clinic):
    client, db, _ = clinic
    r = client.post("/clients/C-0042/goals", data=GOAL)
    assert r.status_code == 200 and r.url.path == "/clients/C-0042"
    (g,) = _goals(db)
    assert (g["measure"], g["baseline"], g["target"], g["unit"]) == ("nprs", 6.0, 2.0, "points")  # baseline: stored
    assert (g["set_date"], g["deadline"], g["context"]) == (TODAY.isoformat(), _day(60), "during computer work")
    r = client.post("/clients/C-0042/goals", data={**GOAL, "measure": "lumbar-flexion:lumbar_flexion_deg",
                                                   "baseline": "35.5", "target": "50", "context": ""})  # fmt: skip
    g = _goals(db)[1]
    assert (g["measure"], g["baseline"], g["target"], g["unit"]) == (
        "lumbar-flexion:lumbar_flexion_deg",
        35.5,
        50,
        "deg",
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"measure": "grip"}, "measure 'grip': choose one of the list"),
        ({"target": "two"}, "target must be a number, not 'two'"),
        ({"target": "nan"}, "target must be a finite number, not 'nan'"),
        ({"target": "11"}, "target 11 is outside the Numeric Pain Rating Scale's range 0-10"),
        ({"baseline": "-1"}, "baseline -1 is outside the Numeric Pain Rating Scale's range 0-10"),
        ({"baseline": "2"}, "goal baseline 2.0 must be finite and differ from the target 2.0"),
        ({"deadline": "15/01/2027"}, "deadline must be a date YYYY-MM-DD, not '15/01/2027'"),
        ({"deadline": _day(-1)}, f"goal deadline {_day(-1)} must be after the day it is set ({TODAY})"),
        ({"context": "x" * 121}, "context: at most 120 characters"),
    ],
)
def test_goal_form_refusals(clinic, change, message):
    client, db, _ = clinic
    assert _error(client.post("/clients/C-0042/goals", data={**GOAL, **change})).startswith(message)
    assert _goals(db) == []


def test_the_same_goal_is_not_added_twice(clinic):
    client, db, _ = clinic
    client.post("/clients/C-0042/goals", data=GOAL)
    gid = _goals(db)[0]["id"]
    msg = _error(client.post("/clients/C-0042/goals", data=GOAL))
    assert msg == f"goal {gid} already sets nprs to 2 by {_day(60)}: not added twice"
    assert len(_goals(db)) == 1


def test_goal_progress_in_words(clinic):
    """Set 10 days ago, due in 10 (half the time gone): NPRS 6 -> 4 (half the change: on track),
    lumbar flexion 38 -> 40 of 58 (10%: at risk), stands 12 -> 15 of 15 (reached), one without data."""
    client, db, sid = clinic
    with Store(db) as st:
        for measure, target in (
            ("nprs", 2),
            ("lumbar-flexion:lumbar_flexion_deg", 58),
            ("sit-to-stand:stands_count", 15),
        ):
            st.add_goal("C-0042", measure, target, _day(10), date=_day(-10))
        st.add_goal("C-0042", "odi", 20, _day(30), baseline=40, date=_day(-1))
        st.add_outcome("C-0042", "nprs", 4.0, session_id=sid)
        st.add_assessment(
            sid, {"test": "lumbar-flexion", "metrics": {"lumbar_flexion_deg": {"value": 40.0, "unit": "deg"}}}
        )
        st.add_assessment(sid, {"test": "sit-to-stand", "metrics": {"stands_count": {"value": 15, "unit": "count"}}})
    page = html.unescape(client.get("/clients/C-0042").text)
    rows = re.findall(r'<tr class="goal ([a-z-]+)" title="([^"]+)"', page)
    assert rows == [
        ("on-track", f"Numeric Pain Rating Scale: 6 -> 4 -> 2 points by {_day(10)}: on track; 50% of the change in 50% of the time"),
        ("at-risk", f"Lumbar flexion: lumbar flexion: 38 -> 40 -> 58 deg by {_day(10)}: at risk (behind the straight line "
                    "from baseline to target); 10% of the change in 50% of the time"),
        ("reached", f"Sit-to-stand: stands: 12 -> 15 -> 15 count by {_day(10)}: reached; 100% of the change in 50% of the time"),
        ("no-data", f"Oswestry Disability Index: 40 -> no result yet -> 20 % by {_day(30)}: no result since the goal was set"),
    ]  # fmt: skip
    # the questionnaire's change judged against its MCID (movekit.clinic.outcomes), beside its status
    assert "<br><small>improved beyond the MCID: 2 points or 30% (Farrar 2001" in page


# -- the pain map ----------------------------------------------------------------------------------
MARKS = {"region": ["knee", "lumbar"], "side": ["left", "midline"], "intensity": ["6.5", "3"],
         "quality": ["sharp", ""]}  # fmt: skip


def _marks(db) -> list[tuple]:
    with Store(db) as st:
        return [
            (m["session_id"], m["region"], m["side"], m["intensity_0_10"], m["quality"])
            for m in st.pain_marks("C-0042")
        ]


def test_pain_map_stored_exactly_and_shown(clinic):
    client, db, sid = clinic
    r = client.post(f"/sessions/{sid}/painmap", data=MARKS)
    assert r.status_code == 200 and r.url.path == f"/sessions/{sid}/painmap" and "2 region(s) stored" in r.text
    assert _marks(db) == [(sid, "knee", "left", 6.5, "sharp"), (sid, "lumbar", "midline", 3.0, None)]
    session = client.get(f"/sessions/{sid}").text
    assert "left knee: 6.5/10 sharp" in session and "midline lumbar: 3/10" in session
    assert "<svg" in session.split('id="session-care"')[1]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"intensity": ["6", "11"]}, "intensity of midline lumbar must be at most 10, not 11"),
        ({"intensity": ["6", ""]}, "intensity of midline lumbar must be a number, not ''"),
        ({"side": ["midline", "midline"]}, "knee is on a side: left or right"),
        ({"region": ["knee", "spleen"]}, "region 'spleen': one of "),
        ({"quality": ["sharp", "dull"]}, "quality 'dull': one of aching, burning"),
        ({"region": ["knee", "knee"], "side": ["left", "left"]}, "left knee is marked twice in this form"),
        ({"quality": ["sharp"]}, "each mark needs a region, a side, an intensity and a quality"),
        ({k: [] for k in MARKS}, "no region marked: click the chart where it hurts"),
    ],
)
def test_pain_map_refusals_store_nothing(clinic, change, message):
    client, db, sid = clinic
    assert _error(client.post(f"/sessions/{sid}/painmap", data={**MARKS, **change})).startswith(message)
    assert _marks(db) == []


def test_a_region_is_not_marked_twice_in_a_session(clinic):
    """A second mark of a stored region and side amends it, which needs a reason (issue 23)."""
    client, db, sid = clinic
    client.post(f"/sessions/{sid}/painmap", data=MARKS)
    again = {"region": ["thigh", "knee"], "side": ["left", "left"], "intensity": ["2", "1"], "quality": ["", ""]}
    assert _error(client.post(f"/sessions/{sid}/painmap", data=again)) == (
        "left knee is already marked in this session (6.5/10): give a reason to amend it"
    )
    assert len(_marks(db)) == 2  # the thigh of the refused form was not stored either


def test_client_page_compares_first_and_latest_maps(clinic):
    client, db, sid = clinic
    with Store(db) as st:
        first = st.sessions("C-0042")[0]["id"]
    client.post(f"/sessions/{first}/painmap", data=MARKS)
    client.post(
        f"/sessions/{sid}/painmap", data={"region": ["knee"], "side": ["left"], "intensity": ["2"], "quality": [""]}
    )
    page = client.get("/clients/C-0042").text
    assert page.count("<figure><svg") == 2 and f"first: session of {_day(-20)}" in page
    rows = re.findall(r'<tr><td>([a-z_ ]+)</td><td class="num">([-\d.]+)</td><td class="num">([-\d.]+)</td>', page)
    assert rows == [("left knee", "6.5", "2"), ("midline lumbar", "3", "-")]


def test_chart_regions_are_where_the_chart_draws_marks():
    """Each clickable region lies exactly where body_chart_svg draws a mark of that region and side."""
    picks = [s for s in chart_shapes() if s["home"]]
    assert {(s["region"], s["side"]) for s in picks} >= {("knee", "left"), ("knee", "right"), ("cervical", "midline")}
    assert len(picks) == len({(s["region"], s["side"]) for s in picks})  # one clickable place per mark
    for s in picks:
        svg = body_chart_svg([{"region": s["region"], "side": s["side"], "intensity_0_10": 5}])
        assert f'cx="{s["cx"]:.1f}" cy="{s["cy"]:.1f}" rx="{s["rx"]}" ry="{s["ry"]}" fill="rgb(' in svg, s
    knee = {s["side"]: s["cx"] for s in picks if s["region"] == "knee"}
    assert knee["left"] > 60 > knee["right"]  # front chart: the client's left is on the viewer's right


# -- the treatment log -----------------------------------------------------------------------------
MANUAL = {"part": "manual", "technique": "myofascial-release", "region": "lumbar", "muscle": "quadratus_lumborum",
          "side": "left", "minutes": "8", "pressure": "6", "response": "less tight on bending"}  # fmt: skip
MOVEMENT = {"part": "movement", "exercise": "glute bridge", "sets": "3", "reps": "10", "feedback": "emg",
            "minutes": "", "response": ""}  # fmt: skip


def _treatments(db) -> list[dict]:
    with Store(db) as st:
        return st.treatments("C-0042")


def test_treatment_log_stored_exactly_and_listed(clinic):
    client, db, sid = clinic
    r = client.post(f"/sessions/{sid}/treatment", data={**MANUAL, "exercise": "ignored", "sets": "9"})
    assert r.status_code == 200 and "Entry 1 stored" in r.text
    client.post(f"/sessions/{sid}/treatment", data={**MOVEMENT, "technique": "deep-tissue", "pressure": "2"})
    keys = ("session_id", "part", "technique", "region", "muscle", "side", "duration_min", "pressure_0_10", "sets",
            "reps", "feedback", "response")  # fmt: skip
    assert [tuple(t[k] for k in keys) for t in _treatments(db)] == [
        (sid, "manual", "myofascial-release", "lumbar", "quadratus_lumborum", "left", 8.0, 6.0, None, None, None,
         "less tight on bending"),
        (sid, "movement", "glute bridge", None, None, None, None, None, 3, 10, "emg", ""),
    ]  # fmt: skip
    page = client.get(f"/sessions/{sid}").text
    assert "<td>left lumbar quadratus_lumborum</td><td>8 min, pressure 6/10</td>" in page
    assert "<td>glute bridge</td><td></td><td>3x10, feedback emg</td>" in page


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({**MANUAL, "muscle": "hamstrings"}, "muscle 'hamstrings' is not in region lumbar"),
        ({**MANUAL, "technique": "cupping"}, "technique 'cupping': one of myofascial-release"),
        ({**MANUAL, "side": ""}, "side '': one of left, right, both, midline"),
        ({**MANUAL, "pressure": "11"}, "pressure must be at most 10, not 11"),
        ({**MANUAL, "minutes": "0"}, "minutes must be above 0 min, not 0"),
        ({**MANUAL, "part": ""}, "part '': manual therapy or movement"),
        ({**MOVEMENT, "exercise": ""}, "a movement entry needs the exercise's name"),
        ({**MOVEMENT, "sets": "three"}, "sets must be a whole number, not 'three'"),
        ({**MOVEMENT, "feedback": "telepathy"}, "feedback 'telepathy': one of none, mirror"),
        ({**MOVEMENT, "response": "y" * 501}, "response: at most 500 characters"),
    ],
)
def test_treatment_refusals_store_nothing(clinic, form, message):
    client, db, sid = clinic
    assert _error(client.post(f"/sessions/{sid}/treatment", data=form)).startswith(message)
    assert _treatments(db) == []


def test_unknown_session_is_refused(clinic):
    client, _, _ = clinic
    assert _error(client.get("/sessions/999/painmap")).startswith("no session 999")
    assert _error(client.post("/sessions/999/treatment", data=MANUAL)).startswith("no session 999")


# -- the app's routes, one list per page module -------------------------------------------------------
def test_each_page_module_registers_its_routes(tmp_path):
    from starlette.routing import Route

    from movekit.studio import care, client_app, pages, research

    config = StudioConfig(tmp_path / "c.db", [], tmp_path)
    app = create_app(config)
    served = [(r.path, m) for r in app.router.routes if isinstance(r, Route) for m in sorted(r.methods or ())]
    assert len(served) == len(set(served))  # no path and method served twice
    for module in (pages, care, client_app, research):
        for r in module.routes(config, None):
            if isinstance(r, Route):
                assert (r.path, sorted(r.methods)[0]) in served, r.path
    for path in ("/live", "/api/state", "/clients/{code}/goals", "/sessions/{sid:int}/painmap"):
        assert any(p == path for p, _ in served), path


# -- the body chart in a browser -------------------------------------------------------------------
@pytest.fixture
def browser_page():
    with chromium_page(1280, 900) as page:
        yield page


def test_clicking_the_body_chart_stores_the_map(clinic, browser_page, tmp_path):
    _, db, sid = clinic
    page = browser_page
    with serve(create_app(StudioConfig(db, [], tmp_path / "rec"))) as base:
        page.goto(f"{base}/sessions/{sid}")
        page.click("#painmap-link")
        # its script replaces the form's no-JS rows on load: a row found before then is removed under the
        # test's hands, and a click on the chart before then adds none (a clean-clone run caught it)
        page.wait_for_url(re.compile(r".*/painmap$"), wait_until="load")
        chart = page.locator("#body-chart").bounding_box()
        knee = page.locator('ellipse.pick[data-region="knee"][data-side="left"]').bounding_box()
        front_mid_x = chart["x"] + chart["width"] * 60 / 230  # the front figure's midline
        assert knee["x"] > front_mid_x  # the client's left knee is drawn on the viewer's right
        page.mouse.click(knee["x"] + knee["width"] / 2, knee["y"] + knee["height"] / 2)  # a real click there
        page.locator("tr.mark-row").last.locator("[name=intensity]").fill("7")
        page.locator("tr.mark-row").last.locator("[name=quality]").select_option("throbbing")
        page.click('ellipse.pick[data-region="lumbar"]')
        page.locator("tr.mark-row").last.locator("[name=intensity]").fill("4")
        assert page.locator("ellipse.chosen").count() == 2
        page.click('ellipse.pick[data-region="lumbar"]')  # a second click edits the same row
        assert page.locator("tr.mark-row").count() == 2
        page.click("#save-marks")
        page.wait_for_url(re.compile(r".*/painmap\?saved=2$"))
        assert _marks(db) == [(sid, "knee", "left", 7.0, "throbbing"), (sid, "lumbar", "midline", 4.0, None)]
        page.click('ellipse.pick[data-region="knee"][data-side="left"]')  # stored: the new row amends it
        assert "already stored" in page.inner_text("#painmap-note") and page.locator("tr.mark-row.amend").count() == 1


# -- amend and remove with history (issue 23, schema v9) ---------------------------------------------
def _history(db, kind: str, record_id: int) -> list[dict]:
    with Store(db) as st:
        return st.history(kind, record_id)


def test_a_second_mark_with_a_reason_amends_the_stored_one(clinic):
    client, db, sid = clinic
    client.post(f"/sessions/{sid}/painmap", data=MARKS)
    again = {"region": ["knee", "thigh"], "side": ["left", "left"], "intensity": ["4", "2"], "quality": ["sharp", ""],
             "reason": ["the client said 4, not 6.5", ""]}  # fmt: skip
    r = client.post(f"/sessions/{sid}/painmap", data=again)
    assert r.status_code == 200 and "2 region(s) stored" in r.text
    assert _marks(db) == [(sid, "knee", "left", 4.0, "sharp"), (sid, "lumbar", "midline", 3.0, None),
                          (sid, "thigh", "left", 2.0, None)]  # fmt: skip
    (created, amended) = _history(db, "pain_mark", 1)
    assert created["values"]["intensity_0_10"] == 6.5 and amended["reason"] == "the client said 4, not 6.5"
    page = html.unescape(r.text)
    assert "amended by " in page and "intensity_0_10 6.5 -> 4 (reason: the client said 4, not 6.5)" in page
    same = {**again, "region": ["knee"], "side": ["left"], "intensity": ["4"], "quality": ["sharp"], "reason": ["x"]}
    assert (
        _error(client.post(f"/sessions/{sid}/painmap", data=same))
        == "left knee already has 4/10 sharp: nothing to amend"
    )


def test_each_stored_mark_can_be_amended_or_removed_with_a_reason(clinic):
    client, db, sid = clinic
    client.post(f"/sessions/{sid}/painmap", data=MARKS)
    form = {"action": "amend", "intensity": "5", "quality": "aching", "reason": ""}
    assert _error(client.post(f"/sessions/{sid}/painmap/2", data=form)).startswith("a reason is required")
    assert _error(client.post(f"/sessions/{sid}/painmap/2", data={**form, "action": "drop", "reason": "x"})) == (
        "action 'drop': amend or remove"
    )
    assert _error(client.post(f"/sessions/{sid}/painmap/2", data={**form, "intensity": "12", "reason": "x"})) == (
        "intensity of midline lumbar must be at most 10, not 12"
    )
    assert len(_history(db, "pain_mark", 2)) == 1  # refused forms stored nothing
    r = client.post(f"/sessions/{sid}/painmap/2", data={**form, "reason": "felt it stiffen after the drill"})
    assert r.url.path == f"/sessions/{sid}/painmap" and "Mark amended" in r.text
    assert _marks(db)[1] == (sid, "lumbar", "midline", 5.0, "aching")
    r = client.post(f"/sessions/{sid}/painmap/1", data={"action": "remove", "reason": "marked on the wrong client"})
    assert "Mark removed" in r.text and [m[1] for m in _marks(db)] == ["lumbar"]
    removed = r.text.split('id="removed-marks"')[1]
    assert "left knee: 6.5/10 - removed: marked on the wrong client" in html.unescape(removed)
    assert "left knee" not in client.get(f"/sessions/{sid}").text.split('id="session-care"')[1]
    with Store(db) as st:
        other = st.start_session("C-0042", "treatment")["id"]
    assert _error(client.post(f"/sessions/{other}/painmap/2", data={**form, "reason": "x"})) == (
        f"mark 2 is not in session {other}"
    )


def test_each_treatment_entry_can_be_amended_or_removed_with_a_reason(clinic):
    client, db, sid = clinic
    client.post(f"/sessions/{sid}/treatment", data=MANUAL)
    client.post(f"/sessions/{sid}/treatment", data=MOVEMENT)
    page = client.get(f"/sessions/{sid}/treatment").text
    assert page.count('class="care-form entry-change"') == 2 and 'value="8"' in page  # prefilled edit forms
    amend = {**MANUAL, "action": "amend", "minutes": "10", "reason": "ran 10 min, not 8"}
    assert _error(client.post(f"/sessions/{sid}/treatment/1", data={**amend, "muscle": "hamstrings"})).startswith(
        "muscle 'hamstrings' is not in region lumbar"
    )
    r = client.post(f"/sessions/{sid}/treatment/1", data=amend)
    assert "Entry amended" in r.text and _treatments(db)[0]["duration_min"] == 10.0
    assert "duration_min 8 -> 10 (reason: ran 10 min, not 8)" in html.unescape(r.text)
    r = client.post(f"/sessions/{sid}/treatment/2", data={"action": "remove", "reason": "logged in the wrong session"})
    assert [t["technique"] for t in _treatments(db)] == ["myofascial-release"]
    assert "glute bridge  - removed: logged in the wrong session" in html.unescape(r.text)


def test_goal_page_amends_and_removes_with_history(clinic):
    client, db, _ = clinic
    client.post("/clients/C-0042/goals", data=GOAL)
    gid = _goals(db)[0]["id"]
    assert f'href="/clients/C-0042/goals/{gid}"' in client.get("/clients/C-0042").text
    change = {"action": "amend", "baseline": "6", "target": "3", "deadline": _day(60), "context": "at work",
              "reason": "agreed a smaller step"}  # fmt: skip
    assert _error(client.post(f"/clients/C-0042/goals/{gid}", data={**change, "target": "12"})).startswith(
        "target 12 is outside the Numeric Pain Rating Scale's range 0-10"
    )
    assert _error(client.post(f"/clients/C-0999/goals/{gid}", data=change)) == f"goal {gid} is not a goal of C-0999"
    r = client.post(f"/clients/C-0042/goals/{gid}", data=change)
    assert r.url.path == f"/clients/C-0042/goals/{gid}" and "Goal amended" in r.text
    (g,) = _goals(db)
    assert (g["target"], g["context"], g["baseline"]) == (3.0, "at work", 6.0)
    history = html.unescape(r.text.split('id="goal-history"')[1])
    assert "target 2 -> 3; context during computer work -> at work (reason: agreed a smaller step)" in history
    r = client.post(f"/clients/C-0042/goals/{gid}", data={"action": "remove", "reason": "the client moved away"})
    assert "Removed on" in r.text and _goals(db) == [] and 'id="goal-change"' not in r.text
    assert "No goals yet." in client.get("/clients/C-0042").text


def test_goal_on_a_measure_not_yet_stored_waits_for_the_first_result(clinic):
    client, db, sid = clinic
    page = client.get("/clients/C-0042").text
    assert '<option value="tug:tug_time_s" data-unit="s" data-latest=""' in page and "lower is better" in page
    client.post("/clients/C-0042/goals", data={**GOAL, "measure": "tug:tug_time_s", "target": "10", "context": ""})
    (g,) = _goals(db)
    assert (g["measure"], g["baseline"], g["unit"]) == ("tug:tug_time_s", None, "s")
    with Store(db) as st:
        st.add_assessment(sid, {"test": "tug", "metrics": {"tug_time_s": {"value": 14.0, "unit": "s"}}})
    rows = re.findall(r'<tr class="goal ([a-z-]+)" title="([^"]+)"', html.unescape(client.get("/clients/C-0042").text))
    assert rows == [("no-data", f"Timed Up and Go: tug time: 14 -> no result yet -> 10 s by {_day(60)}: "
                                "no result since the goal was set")]  # fmt: skip


def test_clicking_a_stored_region_amends_it_with_a_reason(clinic, browser_page, tmp_path):
    client, db, sid = clinic
    client.post(f"/sessions/{sid}/painmap", data=MARKS)  # left knee 6.5 sharp, lumbar 3
    page = browser_page
    with serve(create_app(StudioConfig(db, [], tmp_path / "rec"))) as base:
        page.goto(f"{base}/sessions/{sid}/painmap")
        page.click('ellipse.pick[data-region="knee"][data-side="left"]')
        row = page.locator("tr.mark-row.amend")
        assert row.count() == 1 and row.locator("[name=intensity]").input_value() == "6.5"
        assert row.locator(".amend-note").inner_text() == "amends the stored 6.5/10 sharp"
        assert "saving amends it" in page.inner_text("#painmap-note")
        row.locator("[name=intensity]").fill("3")
        page.click("#save-marks")  # no reason: the browser keeps the form (the field is required)
        assert "saved=" not in page.url and _marks(db)[0][3] == 6.5
        row.locator("[name=reason]").fill("eased after the release")
        page.click("#save-marks")
        page.wait_for_url(re.compile(r".*/painmap\?saved=1$"))
        assert _marks(db)[0] == (sid, "knee", "left", 3.0, "sharp")
        assert [h["action"] for h in _history(db, "pain_mark", 1)] == ["created", "amend"]
        lumbar = page.locator('#stored-marks > li[data-region="lumbar"]')
        lumbar.locator("summary").click()
        lumbar.locator("[name=reason]").fill("not today's pain")
        lumbar.locator("button[value=remove]").click()
        page.wait_for_url(re.compile(r".*/painmap\?saved=removed$"))
        assert [m[1] for m in _marks(db)] == ["knee"] and "not today's pain" in page.inner_text("#removed-marks")
