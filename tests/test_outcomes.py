"""Outcome scoring against the published rules and worked examples."""

import pytest

from movekit.clinic import outcomes as oc
from movekit.errors import MovekitError


def test_odi_worked_examples_fairbank_2000():
    # Fairbank & Pynsent 2000 scoring instructions: 16 of 50 -> 32 %; one section missed: 16 of 45 -> 35.5 %
    items = [2, 2, 2, 2, 2, 2, 1, 1, 1, 1]
    assert sum(items) == 16
    assert oc.score_odi(items).score == pytest.approx(32.0)
    s = oc.score_odi([2, 2, 2, 2, 2, 2, 1, 1, 2, None])
    assert s.score == pytest.approx(16 / 45 * 100) and round(s.score, 1) == 35.6 and s.n_answered == 9
    assert oc.score_odi([0] * 10).score == 0 and oc.score_odi([5] * 10).score == 100


def test_odi_rejects_bad_items():
    with pytest.raises(MovekitError, match="item 3"):
        oc.score_odi([0, 1, 6, 0, 0, 0, 0, 0, 0, 0])
    with pytest.raises(MovekitError, match="10 items"):
        oc.score_odi([1, 2, 3])
    with pytest.raises(MovekitError, match="answered"):
        oc.score_odi([None] * 10)
    # the scoring instructions cover one missed section only: two or more missing are not scored
    with pytest.raises(MovekitError, match="8 of 10 sections answered; it is scored with at most one section missing"):
        oc.score_odi([1] * 8 + [None] * 2)
    with pytest.raises(MovekitError, match="2 of 10 sections answered"):
        oc.score_odi([3, 4] + [None] * 8)


def test_nprs_is_an_integer_0_to_10():
    assert oc.score_nprs("4").score == 4.0 and oc.score_nprs(10).score == 10.0
    for bad in ("4.5", 11, -1):
        with pytest.raises(MovekitError, match="is not an integer in 0-10"):
            oc.score_nprs(bad)


def test_a_stored_score_from_too_few_items_is_not_compared():
    few = {"taken_date": "2026-01-05", "n_answered": 2, "labels": None}
    full = {"taken_date": "2026-02-05", "n_answered": 10, "labels": None}
    assert oc.not_comparable("odi", few, full) == "the 2026-01-05 score has only 2 items answered: too few to score"
    assert oc.not_comparable("odi", full, {**full, "n_answered": 9}) == ""
    assert oc.not_comparable("nprs", {"n_answered": 1}, {"n_answered": None}) == ""


def test_dash_formula_and_missing_rule_hudak_1996():
    assert oc.score_dash([3] * 30).score == pytest.approx(50.0)  # (90/30 - 1) x 25
    assert oc.score_dash([1] * 30).score == 0.0
    assert oc.score_dash([5] * 30).score == 100.0
    items = [2] * 27 + [None] * 3  # 3 missing: still scored over the 27 answered
    s = oc.score_dash(items)
    assert s.score == pytest.approx(25.0) and s.n_answered == 27
    with pytest.raises(MovekitError, match="4 of 30 items missing"):
        oc.score_dash([2] * 26 + [None] * 4)


def test_quickdash_formula_and_missing_rule_beaton_2005():
    s = oc.score_quickdash([1, 2, 3, 4, 5, 1, 2, 3, 4, 5, None])  # 30 / 10 = 3 -> 50
    assert s.score == pytest.approx(50.0) and s.n_answered == 10
    assert oc.score_quickdash([2, 3, 2, 1, 3, 2, 2, 4, 2, 3, 2]).score == pytest.approx((26 / 11 - 1) * 25)
    with pytest.raises(MovekitError, match="2 of 11 items missing"):
        oc.score_quickdash([3] * 9 + [None, None])
    with pytest.raises(MovekitError, match="not an integer in 1-5"):
        oc.score_quickdash([0] + [3] * 10)


def test_psfs_mean_of_3_to_5_stratford_1995():
    assert oc.score_psfs([3, 5, 4]).score == pytest.approx(4.0)
    assert oc.score_psfs([2, 4, 6, 8, 10]).score == pytest.approx(6.0)
    assert oc.score_psfs([2.5, 4, None, 6]).score == pytest.approx(12.5 / 3)
    for bad in ([3, 4], [1, 2, 3, 4, 5, 6]):
        with pytest.raises(MovekitError, match="3-5"):
            oc.score_psfs(bad)


def test_mcid_rules():
    # NPRS: 2 points or 30 % (Farrar 2001)
    assert oc.change_from_baseline("nprs", 7, 4).meets_mcid
    assert not oc.change_from_baseline("nprs", 5, 4).meets_mcid  # 1 point, 20 %
    assert oc.change_from_baseline("nprs", 3, 2).meets_mcid  # 1 point but 33 %
    assert oc.change_from_baseline("nprs", 4, 7).verdict().startswith("worse")
    # ODI: 10 points or 30 % (Ostelo 2008)
    assert not oc.change_from_baseline("odi", 40, 31).meets_mcid  # 9 points, 22.5 %
    assert oc.change_from_baseline("odi", 20, 13).meets_mcid  # 7 points, 35 %
    assert oc.change_from_baseline("odi", 50, 40).meets_mcid  # exactly 10 points
    # QuickDASH 15.91 / DASH 10.83 (Franchignoni 2014): points only
    assert not oc.change_from_baseline("quickdash", 50, 36).meets_mcid
    assert oc.change_from_baseline("quickdash", 50, 34).meets_mcid
    assert oc.change_from_baseline("dash", 40, 29).meets_mcid
    # PSFS: higher is better, 2 points
    up = oc.change_from_baseline("psfs", 3, 5)
    assert up.meets_mcid and up.improvement == 2 and up.change_pct == pytest.approx(66.666, rel=1e-3)
    assert not oc.change_from_baseline("psfs", 5, 3).meets_mcid
    zero = oc.change_from_baseline("nprs", 0, 1)
    assert zero.change_pct is None and not zero.meets_mcid


def test_every_measure_cites_a_source():
    for m in oc.MEASURES.values():
        assert any(ch.isdigit() for ch in m.mcid.source), m.key
    assert oc.measure("QDASH").key == "quickdash" and oc.measure("Oswestry").key == "odi"
    with pytest.raises(MovekitError, match="unknown outcome"):
        oc.measure("sf36")


def test_parse_items():
    assert oc.parse_items("3,2,,1") == ["3", "2", None, "1"]
    assert oc.parse_items("3 - 2 ?") == ["3", None, "2", None]


def test_psfs_activities_are_stored_with_their_ratings(tmp_path):
    """PSFS items are activities the client names (Stratford 1995): stored beside the ratings,
    listed, and refused when they do not match the ratings or go with another questionnaire."""
    import subprocess
    import sys

    db = str(tmp_path / "c.db")

    def cli(*a):
        return subprocess.run([sys.executable, "-m", "movekit.cli", *a, "--db", db], capture_output=True, text=True)

    assert cli("client", "add", "C-1").returncode == 0
    p = cli(
        "outcome", "add", "C-1", "psfs", "--items", "3,5,4", "--activities", "walking 30 min; stairs; lifting a child"
    )
    assert p.returncode == 0, p.stderr
    from movekit.clinic.store import Store

    with Store(db) as st:
        row = st.outcomes("C-1", "psfs")[0]
    assert row["labels"] == ["walking 30 min", "stairs", "lifting a child"] and row["items"] == [3, 5, 4]
    assert row["score"] == pytest.approx(4.0)
    listed = cli("outcome", "list", "C-1").stdout
    assert "walking 30 min 3; stairs 5; lifting a child 4" in listed
    p = cli("outcome", "add", "C-1", "psfs", "--items", "3,5,4", "--activities", "walking; stairs")
    assert p.returncode == 2 and "2 activities for 3 ratings" in p.stderr
    p = cli("outcome", "add", "C-1", "odi", "--items", "1,1,1,1,1,1,1,1,1,1", "--activities", "a")
    assert p.returncode == 2 and "psfs only" in p.stderr
    with Store(db) as st:
        assert len(st.outcomes("C-1")) == 1  # nothing stored by the refused commands
