"""Pain map (issue 23): marks per session, baseline beside latest, a body chart SVG."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from movekit.cli import main
from movekit.clinic.painmap import body_chart_svg
from movekit.clinic.store import Store
from movekit.errors import MovekitError


def test_marks_compare_first_and_latest_session_and_draw(tmp_path, capsys):
    db = tmp_path / "clinic.sqlite3"
    with Store(db) as st:
        st.add_client("C-1")
        s1 = st.start_session("C-1", "baseline", date="2026-10-01")["id"]
        s2 = st.start_session("C-1", "reassessment", date="2026-11-12")["id"]
    args = ["--db", str(db)]
    assert main(["pain-map", "add", str(s1), "lower_back", "--side", "midline", "--intensity", "6",
                 "--quality", "aching", *args]) == 0  # fmt: skip
    assert main(["pain-map", "add", str(s1), "thigh", "--side", "left", "--intensity", "4", "--quality",
                 "referred", *args]) == 0  # fmt: skip
    assert main(["pain-map", "add", str(s2), "lower_back", "--side", "midline", "--intensity", "3", *args]) == 0
    capsys.readouterr()
    svg = tmp_path / "chart.svg"
    assert main(["pain-map", "show", "C-1", "--svg", str(svg), *args]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["region", "2026-10-01", "2026-11-12"]
    assert out[1].split() == ["midline", "lumbar", "6", "3"] and out[2].split() == ["left", "thigh", "4", "-"]
    root = ET.fromstring(svg.read_text())  # well-formed; both sessions drawn
    titles = [t.text for t in root.iter("{http://www.w3.org/2000/svg}title")]
    assert "left thigh: 4/10 referred" in titles and "midline lumbar: 3/10" in titles
    assert svg.stat().st_mode & 0o777 == 0o600


def test_refusals_and_the_drawing_of_intensity():
    with pytest.raises(MovekitError, match="region 'spleen'"):
        from movekit.clinic.painmap import check_mark

        check_mark("spleen", "left", 3, None)
    with pytest.raises(MovekitError, match="on a side"):
        check_mark("knee", "midline", 3, None)
    with pytest.raises(MovekitError, match="outside 0-10"):
        check_mark("knee", "left", 11, None)
    with pytest.raises(MovekitError, match="quality"):
        check_mark("knee", "left", 3, "itchy")
    zero = body_chart_svg([{"region": "knee", "side": "left", "intensity_0_10": 0}])
    ten = body_chart_svg([{"region": "knee", "side": "left", "intensity_0_10": 10}])
    assert 'fill="rgb(255,255,255)"' in zero and 'fill="rgb(255,0,0)"' in ten
    # the client's left knee is drawn on the viewer's right of the front chart
    left = body_chart_svg([{"region": "knee", "side": "left", "intensity_0_10": 5}])
    right = body_chart_svg([{"region": "knee", "side": "right", "intensity_0_10": 5}])
    cx = lambda s: float(s.split('fill="rgb(255,127,127)"')[0].rsplit('cx="', 1)[1].split('"')[0])  # noqa: E731
    assert cx(left) > 60 > cx(right)


def test_one_session_with_marks_is_one_column_not_a_comparison(tmp_path, capsys):
    from movekit.clinic.treatment import pain_beside_treatment

    db = tmp_path / "clinic.sqlite3"
    with Store(db) as st:
        st.add_client("C-1")
        s1 = st.start_session("C-1", "baseline", date="2026-10-01")["id"]
        st.add_pain_mark(s1, "lower_back", "midline", 6, "aching")
        [row] = pain_beside_treatment(st.pain_marks("C-1"), st.treatments("C-1"))
    assert (row["first_0_10"], row["latest_0_10"], row["change_0_10"]) == (6.0, None, None)
    capsys.readouterr()
    assert main(["pain-map", "show", "C-1", "--db", str(db)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"only session {s1} (2026-10-01) has marks: nothing to compare yet"
    assert out[1].split() == ["region", "2026-10-01"] and out[2].split() == ["midline", "lumbar", "6"]
