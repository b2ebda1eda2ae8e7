"""Patient-reported outcome measures: published scoring and change against the MCID.

Pure functions, no I/O. Each scorer takes the item answers (``None`` for a missing
item) and returns an :class:`OutcomeScore`; :func:`change_from_baseline` compares
two scores with the measure's minimal clinically important difference (MCID).

Measures and sources
--------------------
- **NPRS** (numeric pain rating scale, an integer 0-10: the 11-point NRS, higher = worse). MCID: 2 points or a
  30 % reduction -- Farrar 2001 (Pain 94:149, "much improved", chronic pain trials);
  Salaffi 2004 (Eur J Pain 8:283, chronic musculoskeletal pain) found 1 point / 15 %
  for "slightly better" and 2 points / 33 % for "much better"; Ostelo 2008 (Spine 33:90)
  proposes 2 points or 30 % for low back pain.
- **ODI** (Oswestry Disability Index, 10 sections scored 0-5, 0-100 %, higher = worse):
  sum / (5 x sections answered) x 100 -- Fairbank & Pynsent 2000 (Spine 25:2940); worked
  example: 16 of 50 -> 32 %, one section missing 16 of 45 -> 35.6 % (printed 35.5). Their scoring
  instructions give this rule for one section "missed or not applicable" and no other case, so
  movekit scores an ODI with at most one section missing. MCID 10 points or 30 % (Ostelo 2008).
- **DASH** (30 items 1-5, 0-100, higher = worse): ((sum / n) - 1) x 25 with n the
  answered items, not scored when more than 3 are missing -- Hudak 1996 (Am J Ind Med
  29:602) and the IWH DASH manual. MCID 10.83 points (Franchignoni 2014, JOSPT 44:30;
  MDC90 10.81); 10.2 in Roy 2009's review.
- **QuickDASH** (11 items 1-5, 0-100, higher = worse): same formula, at most 1 item
  missing -- Beaton 2005 (JBJS Am 87:1038). MCID 15.91 points (Franchignoni 2014;
  MDC90 12.85); Mintken 2009 (J Shoulder Elbow Surg 18:920) found 8.0 in shoulder pain.
- **PSFS** (Patient-Specific Functional Scale, 3-5 client-chosen activities rated 0-10,
  higher = better): mean of the rated activities -- Stratford 1995 (Physiother Can
  47:258). MCID ~2 points on the mean (Stratford 1995, as commonly cited; Abbott &
  Schmitt 2014, JOSPT 44:560: 1.3 small / 2.3 medium / 2.7 large change).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from movekit.errors import MovekitError


@dataclass(frozen=True)
class MCID:
    """Minimal clinically important difference of one measure."""

    points: float  #: absolute change in score units
    percent: float | None  #: relative change from baseline (%) accepted instead, or None
    lower_is_better: bool
    source: str
    note: str = ""

    def describe(self) -> str:
        rule = f"{self.points:g} points"
        if self.percent is not None:
            rule += f" or {self.percent:g}%"
        return f"{rule} ({self.source})"


@dataclass(frozen=True)
class Measure:
    key: str
    title: str
    range: tuple[float, float]
    unit: str
    scoring: str
    mcid: MCID


MEASURES: dict[str, Measure] = {
    "nprs": Measure(
        "nprs",
        "Numeric Pain Rating Scale",
        (0, 10),
        "points",
        "single rating 0 (no pain) - 10 (worst imaginable pain)",
        MCID(
            2.0,
            30.0,
            True,
            "Farrar 2001; Salaffi 2004; Ostelo 2008",
            "Salaffi 2004: 1 point / 15% for 'slightly better' in chronic musculoskeletal pain",
        ),
    ),
    "odi": Measure(
        "odi",
        "Oswestry Disability Index",
        (0, 100),
        "%",
        "sum / (5 x sections answered) x 100 (Fairbank & Pynsent 2000)",
        MCID(10.0, 30.0, True, "Ostelo 2008"),
    ),
    "dash": Measure(
        "dash",
        "DASH (Disabilities of the Arm, Shoulder and Hand)",
        (0, 100),
        "points",
        "((sum / n answered) - 1) x 25, at most 3 of 30 missing (Hudak 1996)",
        MCID(10.83, None, True, "Franchignoni 2014", "Roy 2009 review: ~10.2"),
    ),
    "quickdash": Measure(
        "quickdash",
        "QuickDASH",
        (0, 100),
        "points",
        "((sum / n answered) - 1) x 25, at most 1 of 11 missing (Beaton 2005)",
        MCID(15.91, None, True, "Franchignoni 2014", "Mintken 2009: 8.0 in shoulder pain"),
    ),
    "psfs": Measure(
        "psfs",
        "Patient-Specific Functional Scale",
        (0, 10),
        "points",
        "mean of 3-5 activities rated 0 (unable) - 10 (as before the problem) (Stratford 1995)",
        MCID(
            2.0,
            None,
            False,
            "Stratford 1995; Abbott & Schmitt 2014",
            "Abbott & Schmitt 2014: 1.3 small, 2.3 medium, 2.7 large change",
        ),
    ),
}

ALIASES = {
    "nrs": "nprs",
    "pain": "nprs",
    "oswestry": "odi",
    "qdash": "quickdash",
    "quick-dash": "quickdash",
    "quick_dash": "quickdash",
}


def measure(key: str) -> Measure:
    k = ALIASES.get(key.strip().lower(), key.strip().lower())
    if k not in MEASURES:
        raise MovekitError(f"unknown outcome measure {key!r}; known: {', '.join(MEASURES)}")
    return MEASURES[k]


@dataclass(frozen=True)
class OutcomeScore:
    measure: str
    score: float
    n_answered: int
    n_items: int
    items: tuple = field(default=())

    def __float__(self) -> float:
        return self.score


def _clean(
    items: Sequence, n_expected: int | None, lo: float, hi: float, name: str, integer: bool = True
) -> list[float | None]:
    vals = list(items)
    if n_expected is not None and len(vals) != n_expected:
        raise MovekitError(f"{name} has {n_expected} items, got {len(vals)} (use None/blank for a missing item)")
    out: list[float | None] = []
    for i, v in enumerate(vals, 1):
        if v is None or (isinstance(v, str) and not v.strip()) or (isinstance(v, float) and math.isnan(v)):
            out.append(None)
            continue
        try:
            f = float(v)
        except (TypeError, ValueError):
            raise MovekitError(f"{name} item {i}: {v!r} is not a number") from None
        if not (lo <= f <= hi) or (integer and f != int(f)):
            kind = "an integer " if integer else ""
            raise MovekitError(f"{name} item {i}: {v!r} is not {kind}in {lo:g}-{hi:g}")
        out.append(f)
    return out


def score_nprs(value) -> OutcomeScore:
    """NPRS: the rating itself, an integer 0-10 (the 11-point numerical rating scale, Farrar 2001)."""
    (v,) = _clean([value], 1, 0, 10, "NPRS")
    if v is None:
        raise MovekitError("NPRS needs a rating 0-10")
    return OutcomeScore("nprs", v, 1, 1, (v,))


#: the fewest items a stored score may have been computed from (Fairbank & Pynsent 2000: one ODI
#: section missed; Hudak 1996: DASH, 3 of 30 missing; Beaton 2005: QuickDASH, 1 of 11)
MIN_ANSWERED = {"odi": 9, "dash": 27, "quickdash": 10}


def score_odi(items: Sequence) -> OutcomeScore:
    """Oswestry Disability Index (Fairbank & Pynsent 2000): 10 sections scored 0-5;
    index = sum / (5 x sections answered) x 100, so an unanswered section lowers the
    denominator by 5. Worked example from the scoring instructions: sum 16 with all 10
    answered -> 16/50 = 32 %; one section missed or not applicable -> 16/45 = 35.6 %
    (printed there as 35.5 %, truncated).

    The instructions give the proportional rule for one missed section and no other case:
    with two or more missing the ODI is not scored (:data:`MIN_ANSWERED`).
    """
    vals = _clean(items, 10, 0, 5, "ODI")
    ans = [v for v in vals if v is not None]
    if len(ans) < MIN_ANSWERED["odi"]:
        raise MovekitError(
            f"ODI: {len(ans)} of 10 sections answered; it is scored with at most one section missing "
            "(Fairbank & Pynsent 2000 scoring instructions)"
        )
    return OutcomeScore("odi", sum(ans) / (5 * len(ans)) * 100.0, len(ans), 10, tuple(vals))


def _dash_formula(vals: list[float | None], n_items: int, max_missing: int, key: str, name: str) -> OutcomeScore:
    ans = [v for v in vals if v is not None]
    missing = n_items - len(ans)
    if missing > max_missing:
        raise MovekitError(
            f"{name}: {missing} of {n_items} items missing; the score cannot be calculated "
            f"with more than {max_missing} missing"
        )
    return OutcomeScore(key, (sum(ans) / len(ans) - 1.0) * 25.0, len(ans), n_items, tuple(vals))


def score_dash(items: Sequence) -> OutcomeScore:
    """DASH disability/symptom score (Hudak 1996; IWH scoring manual): 30 items 1-5,
    score = ((sum / n) - 1) x 25 over the n answered items; not calculated when more
    than 3 items are missing. 0 = no disability, 100 = most severe.
    Worked example: all 30 items answered 3 -> (90/30 - 1) x 25 = 50."""
    return _dash_formula(_clean(items, 30, 1, 5, "DASH"), 30, 3, "dash", "DASH")


def score_quickdash(items: Sequence) -> OutcomeScore:
    """QuickDASH (Beaton 2005): 11 items 1-5, ((sum / n) - 1) x 25; at most 1 item missing.
    Worked example: answers 1,2,3,4,5,1,2,3,4,5,? -> sum 30 over 10 -> (3 - 1) x 25 = 50."""
    return _dash_formula(_clean(items, 11, 1, 5, "QuickDASH"), 11, 1, "quickdash", "QuickDASH")


def score_psfs(items: Sequence) -> OutcomeScore:
    """PSFS (Stratford 1995): the client names 3-5 activities and rates each 0 (unable)
    to 10 (able as before); the score is the mean rating. Missing ratings are dropped,
    but at least 3 must remain. Higher is better."""
    vals = _clean(items, None, 0, 10, "PSFS", integer=False)
    ans = [v for v in vals if v is not None]
    if not (3 <= len(ans) <= 5):
        raise MovekitError(f"PSFS needs 3-5 rated activities, got {len(ans)}")
    return OutcomeScore("psfs", sum(ans) / len(ans), len(ans), len(vals), tuple(vals))


SCORERS = {
    "nprs": lambda items: score_nprs(items[0] if isinstance(items, (list, tuple)) else items),
    "odi": score_odi,
    "dash": score_dash,
    "quickdash": score_quickdash,
    "psfs": score_psfs,
}


def score(measure_key: str, items) -> OutcomeScore:
    """Score any measure by key (nprs, odi, dash, quickdash, psfs)."""
    return SCORERS[measure(measure_key).key](items)


def parse_items(text: str) -> list[str | None]:
    """Parse "3,4,,2" or "3 4 - 2" (blank, '-', '?' or 'na' = missing) into items."""
    sep = "," if "," in text else (";" if ";" in text else None)
    parts = text.split(sep) if sep else text.split()
    return [None if p.strip().lower() in ("", "-", "?", "na", "n/a", "none") else p.strip() for p in parts]


def parse_labels(measure_key: str, text: str | None, n_items: int) -> list[str] | None:
    """Item labels from ``"walking 30 min; stairs; lifting a child"`` (``;`` or new lines between
    them): one per rated item, each 1-80 characters. PSFS only (its items are activities the client
    names, Stratford 1995); None when ``text`` is None. MovekitError otherwise."""
    if text is None:
        return None
    if measure_key != "psfs":
        raise MovekitError(f"{measure_key}: item names are fixed by the questionnaire; activities go with psfs only")
    labels = [t.strip() for t in text.replace("\n", ";").split(";")]
    if len(labels) != n_items:
        raise MovekitError(f"psfs: {len(labels)} activities for {n_items} ratings (separate activities with ';')")
    bad = [t for t in labels if not 1 <= len(t) <= 80]
    if bad:
        raise MovekitError("psfs: each activity needs a name of 1-80 characters")
    return labels


@dataclass(frozen=True)
class Change:
    measure: str
    baseline: float
    current: float
    change: float  #: current - baseline, in score units
    change_pct: float | None  #: relative to baseline; None when baseline is 0
    improvement: float  #: change in the measure's "better" direction
    improvement_pct: float | None
    meets_mcid: bool
    mcid: MCID

    def verdict(self) -> str:
        if self.meets_mcid:
            return "improved beyond the MCID"
        if self.improvement <= -self.mcid.points or (
            self.mcid.percent is not None
            and self.improvement_pct is not None
            and self.improvement_pct <= -self.mcid.percent
        ):
            return "worse by more than the MCID"
        return "within the MCID (no clinically important change)"


def not_comparable(measure_key: str, first: dict, later: dict) -> str:
    """Why two stored scores of a measure (``Store.outcomes`` rows) cannot be compared, "" when they
    can. The PSFS is patient-specific: its score is the mean rating of the activities the client
    named (Stratford 1995), so two scores of different activities are not a change. Activities are
    compared as a set, case and spacing aside; scores stored without activities are compared. A score
    stored from fewer answered items than :data:`MIN_ANSWERED` (before that rule) is not compared."""
    for r in (first, later):
        if (r.get("n_answered") or 99) < MIN_ANSWERED.get(measure_key, 0):
            return f"the {r['taken_date']} score has only {r['n_answered']} items answered: too few to score"
    if measure_key != "psfs":
        return ""
    a, b = first.get("labels") or [], later.get("labels") or []
    if sorted(x.strip().lower() for x in a) == sorted(x.strip().lower() for x in b) or not (a or b):
        return ""
    said = " vs ".join("; ".join(x) if x else "not recorded" for x in (a, b))
    return f"the PSFS activities differ ({said}): no change is reported"


def change_from_baseline(measure_key: str, baseline: float, current: float) -> Change:
    """Change between two scores of the same measure, judged against its MCID.

    Improvement counts in the measure's better direction (down for NPRS/ODI/DASH/
    QuickDASH, up for PSFS). It meets the MCID when the improvement reaches the
    MCID in points, or -- for measures whose source also gives a relative rule
    (NPRS, ODI: 30 %, Ostelo 2008 / Farrar 2001) -- that percentage of baseline.
    """
    m = measure(measure_key)
    b, c = float(baseline), float(current)
    delta = c - b
    pct = None if b == 0 else delta / abs(b) * 100.0
    imp = -delta if m.mcid.lower_is_better else delta
    imp_pct = None if pct is None else (-pct if m.mcid.lower_is_better else pct)
    eps = 1e-9
    meets = imp >= m.mcid.points - eps or (
        m.mcid.percent is not None and imp_pct is not None and imp_pct >= m.mcid.percent - eps
    )
    return Change(m.key, b, c, delta, pct, imp, imp_pct, bool(meets), m.mcid)
